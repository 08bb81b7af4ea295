// `quint compare`: the numeric suite between a float ONNX model and its int8 file, and
// `--keep-float`: the named nodes stay float, and compare shows their SQNR go up.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';

const ROOT = resolve(__dirname, '../../..');
const FIX = join(ROOT, 'apps/reference/test/fixtures/cli');
const CLI = join(ROOT, 'apps/reference/bin/quint.mjs');
const dir = mkdtempSync(join(tmpdir(), 'quint-cli-compare-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function quint(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Row {
  name: string;
  op: string;
  floatName: string;
  sqnr: number | null;
  l2: number;
  cosine: number;
}

const float = join(FIX, 'cnn.onnx');
const full = join(dir, 'cnn.int8.onnx');
const kept = join(dir, 'cnn.keep.int8.onnx');
const compare = (model: string): Row[] => {
  const r = quint('compare', float, model, '--input', join(FIX, 'cnn.x64.npy').replace('x64', 'x'), '--json');
  expect(r.status, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { nodes: Row[] }).nodes;
};

beforeAll(() => {
  const calib = ['--calib', join(FIX, 'cnn.calib.npy'), '--torch-compat', '1.13'];
  expect(quint('quantize', float, ...calib, '--out', full).status).toBe(0);
  const k = quint('quantize', float, ...calib, '--keep-float', 'conv3,/fc/Gemm', '--out', kept);
  expect(k.status, k.stderr).toBe(0);
  expect(k.stdout).toContain('"keepFloat":["conv3","/fc/Gemm"]');
});

test('compare --json: one row per layer, with SQNR, L2 and cosine, every layer of the CNN matched', () => {
  const rows = compare(full);
  expect(rows.map((r) => [r.floatName, r.op])).toEqual([
    ['conv1', 'QuantizedConvReLU2d'],
    ['pool', 'MaxPool2d'],
    ['conv2', 'QuantizedConvReLU2d'],
    ['conv3', 'QuantizedConv2d'],
    ['add', 'QuantizedOp'],
    ['avgpool', 'QuantizedOp'],
    ['flatten', 'quantizedReshape'],
    ['fc', 'QuantizedLinear'],
  ]);
  for (const r of rows) {
    expect(Object.keys(r)).toEqual(['name', 'op', 'floatName', 'sqnr', 'l2', 'cosine']);
    // int8 on a small CNN: 30–50 dB, cosine within 1e-3 of 1.
    expect(r.sqnr).toBeGreaterThan(30);
    expect(r.sqnr).toBeLessThan(60);
    expect(r.cosine).toBeGreaterThan(0.999);
    expect(r.l2).toBeGreaterThan(0);
  }
});

test('--keep-float conv3,/fc/Gemm: those nodes run float, and their SQNR goes up', () => {
  const a = compare(full);
  const b = compare(kept);
  const by = (rows: Row[], n: string): Row => rows.find((r) => r.floatName === n)!;
  expect(by(b, 'conv3').op).toBe('Conv2d');
  expect(by(b, 'fc').op).toBe('Linear');
  expect(by(b, 'conv1').op).toBe('QuantizedConvReLU2d');
  const change = (n: string): number => by(b, n).sqnr! - by(a, n).sqnr!;
  console.log(
    `--keep-float SQNR change on cnn: conv3 ${by(a, 'conv3').sqnr!.toFixed(2)} -> ${by(b, 'conv3').sqnr!.toFixed(2)} dB, fc ${by(a, 'fc').sqnr!.toFixed(2)} -> ${by(b, 'fc').sqnr!.toFixed(2)} dB`,
  );
  expect(change('conv3')).toBeGreaterThan(0.5);
  expect(change('fc')).toBeGreaterThan(3);
  const info = JSON.parse(quint('inspect', kept, '--json').stdout) as {
    nodes: { name: string; op: string; quantized: boolean }[];
  };
  expect(info.nodes.filter((n) => ['conv3', 'fc'].includes(n.name)).map((n) => [n.name, n.op, n.quantized])).toEqual([
    ['conv3', 'Conv2d', false],
    ['fc', 'Linear', false],
  ]);
});

test('compare text output: a table on stdout, nothing on stderr', () => {
  const r = quint('compare', float, full, '--input', join(FIX, 'cnn.x.npy'));
  expect(r.status).toBe(0);
  expect(r.stderr).toBe('');
  expect(r.stdout.split('\n')[0]).toMatch(/^node\s+op\s+SQNR dB\s+L2\s+cosine\s+float node$/);
  expect(r.stdout.trimEnd().split('\n')).toHaveLength(9);
});
