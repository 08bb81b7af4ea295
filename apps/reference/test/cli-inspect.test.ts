// `quint inspect [--json]`: ops, qparams, model bytes, provenance, for float and quantized files.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';

const ROOT = resolve(__dirname, '../../..');
const FIX = join(ROOT, 'apps/reference/test/fixtures/cli');
const CLI = join(ROOT, 'apps/reference/bin/quint.mjs');
const dir = mkdtempSync(join(tmpdir(), 'quint-cli-inspect-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function quint(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Node {
  name: string;
  op: string;
  inputs: string[];
  outputs: string[];
  quantized: boolean;
  scale: number | null;
  zeroPoint: number | null;
  dtype: string | null;
  qscheme: string | null;
  axis: number | null;
  weight: {
    dtype: string;
    qscheme: string;
    axis: number | null;
    scale: number | number[];
    zeroPoint: number | number[];
  } | null;
}
interface Doc {
  kind: string;
  modelBytes: { fp32: number; int8: number };
  fileBytes: number;
  provenance: Record<string, string>;
  nodes: Node[];
}
const inspect = (p: string): Doc => {
  const r = quint('inspect', p, '--json');
  expect(r.status, r.stderr).toBe(0);
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout) as Doc;
};

const pc = join(dir, 'cnn.fbgemm.int8.onnx');
beforeAll(() => {
  const r = quint(
    'quantize',
    join(FIX, 'cnn.onnx'),
    '--calib',
    join(FIX, 'cnn.calib.npy'),
    '--qconfig',
    'fbgemm',
    '--engine',
    'ort',
    '--out',
    pc,
  );
  expect(r.status, r.stderr).toBe(0);
});

test('a float model: kind float, no node quantized, int8 bytes = its Conv/Linear weights per channel, no provenance', () => {
  const d = inspect(join(FIX, 'cnn.onnx'));
  expect(d.kind).toBe('float');
  expect(d.fileBytes).toBe(statSync(join(FIX, 'cnn.onnx')).size);
  expect(d.provenance).toEqual({});
  expect(d.nodes.every((n) => !n.quantized && n.scale === null && n.weight === null)).toBe(true);
  expect(d.nodes.map((n) => n.name)).toEqual([
    'conv1',
    'bn1',
    'relu1',
    'pool',
    'conv2',
    'bn2',
    'relu2',
    'conv3',
    'add',
    'avgpool',
    'flatten',
    'fc',
  ]);
  // conv1 3→8 3x3, conv2 8→8 3x3, conv3 8→8 1x1, fc 8→10; BN gamma/beta 2×(8+8).
  expect(d.modelBytes.fp32).toBe(4 * (216 + 8 + 576 + 8 + 64 + 8 + 80 + 10) + 4 * 32);
  const codes = 216 + 576 + 64 + 80;
  expect(d.modelBytes.int8).toBe(codes + 12 * (8 + 8 + 8 + 10) + 4 * 8);
  expect(d.nodes.find((n) => n.name === 'add')).toMatchObject({ inputs: ['pool', 'conv3'], outputs: ['avgpool'] });
});

test('a quantized file: per-channel weights as arrays (axis 0), output qparams, provenance, model bytes', () => {
  const d = inspect(pc);
  expect(d.kind).toBe('quantized');
  expect(d.provenance).toMatchObject({
    'quint.engine': 'ort',
    'quint.qconfig': '{"preset":"fbgemm"}',
    'quint.torchCompat': 'latest',
    'quint.calibrationSamples': '16',
  });
  expect(d.provenance['quint.version']).toMatch(/^\d+\.\d+\.\d+/);
  const conv1 = d.nodes.find((n) => n.op === 'QuantizedConvReLU2d')!;
  expect(conv1).toMatchObject({
    quantized: true,
    dtype: 'quint8',
    qscheme: 'per_tensor_affine',
    axis: null,
    zeroPoint: 0,
  });
  expect(conv1.scale).toBeGreaterThan(0);
  // As PyTorch: a per_channel_symmetric observer's weight is quantize_per_channel'ed, i.e. per_channel_affine with zero points 0.
  expect(conv1.weight).toMatchObject({ dtype: 'qint8', qscheme: 'per_channel_affine', axis: 0 });
  expect(conv1.weight!.scale).toHaveLength(8);
  expect(conv1.weight!.zeroPoint).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
  const fc = d.nodes.find((n) => n.op === 'QuantizedLinear')!;
  expect(fc.weight!.scale).toHaveLength(10);
  expect(d.modelBytes.fp32).toBe(4 * (216 + 8 + 576 + 8 + 64 + 8 + 80 + 10));
  expect(d.modelBytes.int8).toBeLessThan(d.modelBytes.fp32 / 2);
  expect(d.fileBytes).toBe(statSync(pc).size);
});

test('inspect text: summary, provenance and one line per node on stdout', () => {
  const r = quint('inspect', pc);
  expect(r.status).toBe(0);
  expect(r.stderr).toBe('');
  expect(r.stdout).toMatch(/: quantized model, opset 13, \d+ bytes on disk\n/);
  expect(r.stdout).toMatch(/model bytes: fp32 \d+, int8 \d+ \(x\d+\.\d+\)/);
  expect(r.stdout).toContain('provenance: quint.version=');
  expect(r.stdout).toMatch(/QuantizedConvReLU2d\s+scale \S+ zp 0\s+qint8 per_channel_affine scale \[.*8 channels\]/);
});
