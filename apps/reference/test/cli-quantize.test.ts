// `quint quantize` + `quint run` on ONNX exports of float PyTorch models, checked against PyTorch
// 1.13 FX graph mode (tools/goldens/cli_models.py, Debian python3-torch 1.13.1+dfsg-4):
// - end to end (quint calibrates from the float ONNX model itself): ≥ 99.5% identical output codes,
//   none more than one code apart, output scale within 1e-6 relative (DESIGN.md "Numerics");
// - given PyTorch's observer state (library API: prepareFx, loadStateDict, convertFx): identical.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { convertFx, prepareFx, type ObserverModule } from '@quint/converter';
import { createJsBackend } from '@quint/kernels-js';
import {
  MinMaxObserver,
  PerChannelMinMaxObserver,
  QConfig,
  getDefaultQConfigMapping,
  type QConfigMapping,
} from '@quint/observers';
import { inspectModel, loadModel } from '@quint/onnx';
import type { Engine } from '@quint/qtensor';
import { Tensor, npyToTensor } from '@quint/tensor';

const ROOT = resolve(__dirname, '../../..');
const FIX = join(ROOT, 'apps/reference/test/fixtures/cli');
const CLI = join(ROOT, 'apps/reference/bin/quint.mjs');

interface Golden {
  torchPackage: string;
  seed: number;
  batch: number;
  nTest: number;
  models: Record<
    string,
    {
      configs: Record<
        string,
        {
          observers: Record<
            string,
            {
              observer: string;
              class: string;
              state: Record<string, { shape: number[]; b64: string }>;
              scale: number[];
              zeroPoint: number[];
            }
          >;
          engines: Record<Engine, { scale: number; zeroPoint: number; codes: number[]; shape: number[] }>;
        }
      >;
    }
  >;
}
const golden = JSON.parse(readFileSync(join(FIX, 'golden.json'), 'utf8')) as Golden;

function quint(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const npy = (file: string): Tensor => npyToTensor(new Uint8Array(readFileSync(file)));

function decode(v: { shape: number[]; b64: string }): Tensor {
  const b = Buffer.from(v.b64, 'base64');
  return new Tensor(new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)), v.shape);
}

/** Output codes of `y` under PyTorch's output qparams, against PyTorch's codes. */
function agreement(
  y: Float32Array,
  g: { scale: number; zeroPoint: number; codes: number[] },
): { identical: number; maxDiff: number; total: number } {
  let identical = 0;
  let maxDiff = 0;
  g.codes.forEach((c, i) => {
    const ours = Math.round(y[i]! / g.scale) + g.zeroPoint;
    if (ours === c) identical++;
    maxDiff = Math.max(maxDiff, Math.abs(ours - c));
  });
  return { identical, maxDiff, total: g.codes.length };
}

/** The CLI flags for each golden qconfig. */
const FLAGS: Record<string, string[]> = {
  qnnpack: ['--qconfig', 'qnnpack', '--torch-compat', '1.13'],
  fbgemm: ['--qconfig', 'fbgemm', '--torch-compat', '1.13'],
  'minmax-pc': ['--qconfig', 'qnnpack', '--activation-observer', 'minmax', '--weight-observer', 'per-channel-minmax'],
};

/** quint's mapping for the golden's qconfig (what quantizeModel builds from the flags above). */
function mappingOf(config: string): QConfigMapping {
  if (config !== 'minmax-pc') return getDefaultQConfigMapping(config as 'qnnpack' | 'fbgemm', { torchCompat: '1.13' });
  const m = getDefaultQConfigMapping('qnnpack');
  const q = new QConfig({
    activation: MinMaxObserver.withArgs({ dtype: 'quint8', qscheme: 'per_tensor_affine', reduceRange: false }),
    weight: PerChannelMinMaxObserver.withArgs({ dtype: 'qint8', qscheme: 'per_channel_symmetric', chAxis: 0 }),
  });
  m.setGlobal(q);
  for (const [k, v] of m.objectTypeQConfigs) {
    const a = (v as QConfig | null)?.activation as unknown as { cls?: { name?: string }; name?: string } | undefined;
    if (v !== null && !(a?.cls?.name ?? a?.name ?? '').includes('FixedQParams')) m.objectTypeQConfigs.set(k, q);
  }
  return m;
}

const dir = mkdtempSync(join(tmpdir(), 'quint-cli-quantize-'));
const figures: string[] = [];
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  console.log(
    `quint CLI vs PyTorch 1.13 (${golden.torchPackage}), output codes on ${golden.nTest} test samples:\n${figures.join('\n')}`,
  );
});

test('goldens come from Debian python3-torch 1.13.1+dfsg-4', () => {
  expect(golden.torchPackage).toBe('1.13.1+dfsg-4');
  expect(Object.keys(golden.models)).toEqual(['mlp', 'cnn']);
});

// Engine onednn is compared under the fbgemm preset only: its activations are reduce_range (7-bit),
// which is what keeps PyTorch's onednn on CPUs without VNNI (this one: AVX2) from saturating u8·s8
// pair sums at int16 (vpmaddubsw); with 8-bit activations (qnnpack, minmax-pc) PyTorch's onednn
// results on such a CPU carry that saturation, which quint's onednn engine does not reproduce (it
// computes what a VNNI CPU computes; see packages/converter/test/fx-golden.test.ts).
const CASES = Object.keys(golden.models).flatMap((model) => [
  ...Object.keys(FLAGS).map((config) => [model, config, 'qnnpack'] as const),
  [model, 'fbgemm', 'onednn'] as const,
]);

describe.each(CASES)('%s, qconfig %s, engine %s', (model, config, engine) => {
  const g = golden.models[model]!.configs[config]!;
  const want = g.engines[engine];

  test('end to end: quint quantize + quint run agree with PyTorch (≥ 99.5% identical codes, none more than 1 apart)', async () => {
    // The static-batch export (default --batch-size: its batch of 4; run splits the 64 test samples
    // into 16 runs of 4) or the dynamic-batch export with --batch-size 4.
    const dynamic = engine === 'onednn' || config === 'minmax-pc';
    const onnx = join(FIX, dynamic ? `${model}-dyn.onnx` : `${model}.onnx`);
    const out = join(dir, `${model}-${config}-${engine}.int8.onnx`);
    const q = quint(
      'quantize',
      onnx,
      '--calib',
      join(FIX, `${model}.calib.npy`),
      '--out',
      out,
      '--engine',
      engine,
      ...FLAGS[config]!,
      ...(dynamic ? ['--batch-size', '4'] : []),
    );
    expect(q.stderr).not.toMatch(/^\s+at /m);
    expect(q.status, q.stderr).toBe(0);
    expect(q.stdout).toMatch(/^wrote .*16 calibration samples\n$/);
    const y = join(dir, `${model}-${config}-${engine}.y.npy`);
    const r = quint('run', out, '--input', join(FIX, `${model}.x64.npy`), '--out', y);
    expect(r.status, r.stderr).toBe(0);
    const ys = npy(y);
    expect(ys.shape).toEqual(want.shape);
    const a = agreement(ys.toFloat32Array(), want);
    // The output scale of the file, from its last quantized node.
    const info = inspectModel(await loadModel(out));
    const last = info.nodes.filter((n) => n.output !== null).at(-1)!;
    const rel = Math.abs(last.output!.scale - want.scale) / want.scale;
    figures.push(
      `  ${model}/${config}/${engine}${dynamic ? ' (dynamic batch)' : ''}: ${a.identical}/${a.total} identical (${((100 * a.identical) / a.total).toFixed(2)}%), max ${a.maxDiff} code apart, output scale rel. diff ${rel.toExponential(1)}`,
    );
    expect(a.identical / a.total).toBeGreaterThanOrEqual(0.995);
    expect(a.maxDiff).toBeLessThanOrEqual(1);
    expect(rel).toBeLessThanOrEqual(1e-6);
    expect(last.output!.zeroPoint).toBe(want.zeroPoint);
    // DESIGN.md's five provenance keys (the library may add more, e.g. quint.floatNodes).
    expect(info.provenance).toMatchObject({
      'quint.version': expect.any(String) as string,
      'quint.engine': engine,
      'quint.qconfig': JSON.stringify({
        preset: FLAGS[config]![1],
        ...(config === 'minmax-pc' ? { activation: 'minmax', weight: 'per-channel-minmax' } : {}),
      }),
      'quint.torchCompat': config === 'minmax-pc' ? 'latest' : '1.13',
      'quint.calibrationSamples': '16',
    });
  });

  test("given PyTorch's observer state (library API), every output code is identical", async () => {
    const m = await loadModel(join(FIX, `${model}-dyn.onnx`));
    const calib = npy(join(FIX, `${model}.calib.npy`));
    const per = calib.numel / calib.shape[0]!;
    const batch = (i: number): Tensor =>
      new Tensor(calib.toFloat32Array().slice(i * 4 * per, (i + 1) * 4 * per), [4, ...calib.shape.slice(1)]);
    const prepared = prepareFx(m.graphModule, mappingOf(config), [batch(0)], { onWarning: () => {} });
    // Observers PyTorch has no counterpart for (none in these models) keep quint's own calibration.
    for (let i = 0; i < 4; i++) prepared.call(batch(i));
    const loaded: string[] = [];
    const unmatched: string[] = [];
    for (const n of prepared.graph.nodes) {
      if (n.op !== 'call_module' || !String(n.target).startsWith('activation_post_process_')) continue;
      const observed = (n.args[0] as { name: string }).name;
      const o = g.observers[observed];
      if (o === undefined) {
        unmatched.push(observed);
        continue;
      }
      const sd = Object.fromEntries(Object.entries(o.state).map(([k, v]) => [`${String(n.target)}.${k}`, decode(v)]));
      prepared.loadStateDict(sd, { strict: false });
      const { scale, zeroPoint } = (
        prepared.getSubmodule(n.target as string) as ObserverModule
      ).observer.calculateQparams();
      expect([Array.from(scale), Array.from(zeroPoint)], observed).toEqual([o.scale, o.zeroPoint]);
      loaded.push(observed);
    }
    expect(unmatched).toEqual([]);
    expect(new Set(loaded)).toEqual(new Set(Object.keys(g.observers)));
    const q = convertFx(prepared, { engine, backend: createJsBackend() });
    const y = q.call(npy(join(FIX, `${model}.x64.npy`))) as Tensor;
    const a = agreement(y.toFloat32Array(), want);
    expect(a).toEqual({ identical: a.total, maxDiff: 0, total: golden.nTest * want.shape[1]! });
  });
});
