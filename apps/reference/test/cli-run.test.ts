// `quint run`: float models against PyTorch's float outputs, several inputs and outputs, backends
// js and wasm bit for bit, the engine from the file or --engine, stdout discipline.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { encodeModel, type OnnxModel } from '@quint/onnx';
import { npyToTensor, writeNpy, type Tensor } from '@quint/tensor';

const ROOT = resolve(__dirname, '../../..');
const FIX = join(ROOT, 'apps/reference/test/fixtures/cli');
const CLI = join(ROOT, 'apps/reference/bin/quint.mjs');
const dir = mkdtempSync(join(tmpdir(), 'quint-cli-run-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function quint(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
const npy = (file: string): Tensor => npyToTensor(new Uint8Array(readFileSync(file)));
const maxAbsDiff = (a: Tensor, b: Tensor): number =>
  a.toFloat32Array().reduce((m, v, i) => Math.max(m, Math.abs(v - b.toFloat32Array()[i]!)), 0);

describe('float models', () => {
  test.each(['mlp', 'cnn'])('%s.onnx: PyTorch float output within 1e-5', (model) => {
    const out = join(dir, `${model}.float.y.npy`);
    const r = quint('run', join(FIX, `${model}.onnx`), '--input', join(FIX, `${model}.x.npy`), '--out', out);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(`y: [4, 10] float32 -> ${out}\n`);
    expect(r.stderr).toBe('');
    const y = npy(out);
    const want = npy(join(FIX, `${model}.y.npy`));
    expect(y.shape).toEqual(want.shape);
    expect(maxAbsDiff(y, want)).toBeLessThan(1e-5);
  });

  test('two inputs by name (any order), two outputs into a folder of <output-name>.npy', () => {
    const outDir = mkdtempSync(join(dir, 'two-'));
    const r = quint(
      'run',
      join(FIX, 'two.onnx'),
      '--input',
      `b=${join(FIX, 'two.b.npy')}`,
      '--input',
      `a=${join(FIX, 'two.a.npy')}`,
      '--out',
      outDir,
    );
    expect(r.status, r.stderr).toBe(0);
    expect(readdirSync(outDir).sort()).toEqual(['gate.npy', 'sum.npy']);
    expect(r.stdout.split('\n').filter(Boolean)).toEqual([
      `sum: [3, 5] float32 -> ${join(outDir, 'sum.npy')}`,
      `gate: [3, 2] float32 -> ${join(outDir, 'gate.npy')}`,
    ]);
    for (const k of ['sum', 'gate'])
      expect(maxAbsDiff(npy(join(outDir, `${k}.npy`)), npy(join(FIX, `two.${k}.npy`)))).toBeLessThan(1e-5);
  });

  test('float64 input is rounded to float32', () => {
    const x = npy(join(FIX, 'mlp.x.npy'));
    const p = join(dir, 'x64.npy');
    writeFileSync(p, writeNpy({ dtype: 'float64', shape: [...x.shape], data: Float64Array.from(x.toFloat32Array()) }));
    const a = join(dir, 'a.npy');
    const b = join(dir, 'b.npy');
    expect(quint('run', join(FIX, 'mlp.onnx'), '--input', join(FIX, 'mlp.x.npy'), '--out', a).status).toBe(0);
    expect(quint('run', join(FIX, 'mlp.onnx'), '--input', `x=${p}`, '--out', b).status).toBe(0);
    expect(Buffer.compare(readFileSync(a), readFileSync(b))).toBe(0);
  });
});

describe('quantized models', () => {
  const q = join(dir, 'cnn.int8.onnx');
  const qop = join(dir, 'cnn.qop.onnx');
  beforeAll(() => {
    expect(
      quint(
        'quantize',
        join(FIX, 'cnn-dyn.onnx'),
        '--calib',
        join(FIX, 'cnn.calib.npy'),
        '--batch-size',
        '4',
        '--out',
        q,
      ).status,
    ).toBe(0);
    expect(
      quint(
        'quantize',
        join(FIX, 'cnn-dyn.onnx'),
        '--calib',
        join(FIX, 'cnn.calib.npy'),
        '--batch-size',
        '4',
        '--format',
        'qoperator',
        '--out',
        qop,
      ).status,
    ).toBe(0);
  });

  test('--backend wasm gives the bits of --backend js; QOperator the bits of QDQ', () => {
    const outs = (['js', 'wasm'] as const).flatMap((backend) =>
      [q, qop].map((model, i) => {
        const out = join(dir, `y-${backend}-${i}.npy`);
        const r = quint('run', model, '--input', join(FIX, 'cnn.x64.npy'), '--out', out, '--backend', backend);
        expect(r.status, r.stderr).toBe(0);
        return readFileSync(out);
      }),
    );
    for (const o of outs.slice(1)) expect(Buffer.compare(o, outs[0]!)).toBe(0);
  });

  // conv1 (3→8, 3×3, on 64 images of 16×16: 3.5 M multiply-accumulates) and conv2 (2.4 M) are
  // above kernels-wasm's 2 M threshold, so they run on both lanes.
  test('--backend wasm --threads 2 gives the bits of one thread', () => {
    const outs = ['1', '2'].map((threads) => {
      const out = join(dir, `y-threads-${threads}.npy`);
      const r = quint(
        'run',
        q,
        '--input',
        join(FIX, 'cnn.x64.npy'),
        '--out',
        out,
        '--backend',
        'wasm',
        '--threads',
        threads,
      );
      expect(r.status, r.stderr).toBe(0);
      return readFileSync(out);
    });
    expect(Buffer.compare(outs[1]!, outs[0]!)).toBe(0);
  });

  test('--engine overrides the file quint.engine (qnnpack); ort moves at most one output code', () => {
    const a = join(dir, 'y-file-engine.npy');
    const b = join(dir, 'y-qnnpack.npy');
    const c = join(dir, 'y-ort.npy');
    expect(quint('run', q, '--input', join(FIX, 'cnn.x64.npy'), '--out', a).status).toBe(0);
    expect(quint('run', q, '--input', join(FIX, 'cnn.x64.npy'), '--out', b, '--engine', 'qnnpack').status).toBe(0);
    expect(quint('run', q, '--input', join(FIX, 'cnn.x64.npy'), '--out', c, '--engine', 'ort').status).toBe(0);
    expect(Buffer.compare(readFileSync(a), readFileSync(b))).toBe(0);
    // The output scale: every value is a multiple of it, so the largest step is one code.
    const scale = (JSON.parse(quint('inspect', q, '--json').stdout) as { nodes: { scale: number | null }[] }).nodes
      .filter((n) => n.scale !== null)
      .at(-1)!.scale!;
    expect(maxAbsDiff(npy(a), npy(c))).toBeLessThanOrEqual(scale * 1.0001);
  });

  test('an existing output file is replaced', () => {
    const out = join(dir, 'replace.npy');
    writeFileSync(out, 'old');
    expect(quint('run', q, '--input', join(FIX, 'cnn.x.npy'), '--out', out).status).toBe(0);
    expect(npy(out).shape).toEqual([4, 10]);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

describe('--target: the ONNX Runtime build engine ort reproduces', () => {
  // A QDQ Add (the form ORT's quantize_static writes) with power-of-two scale ratios, fed every
  // pair of input codes: onnxruntime-node (x64) and onnxruntime-web round some sums differently.
  const [sa, sb, sc] = [0.02, 0.04, 0.08].map(Math.fround) as [number, number, number];
  const n = 65536;
  const model = join(dir, 'ort-add.onnx');
  const inputs = { a: new Float32Array(n), b: new Float32Array(n) };
  beforeAll(() => {
    for (let i = 0; i < n; i++) {
      inputs.a[i] = Math.fround(sa * ((i >> 8) - 128));
      inputs.b[i] = Math.fround(sb * ((i & 255) - 120));
    }
    const q = (x: string, s: string, z: string, y: string) => ({
      name: y,
      opType: 'QuantizeLinear',
      domain: '',
      inputs: [x, s, z],
      outputs: [y],
      attributes: {},
    });
    const dq = (x: string, s: string, z: string, y: string) => ({
      name: y,
      opType: 'DequantizeLinear',
      domain: '',
      inputs: [x, s, z],
      outputs: [y],
      attributes: {},
    });
    const scalar = (name: string, v: number, float: boolean) => ({
      name,
      dataType: float ? ('float' as const) : ('uint8' as const),
      dims: [],
      data: float ? Float32Array.of(v) : Uint8Array.of(v),
    });
    const onnx: OnnxModel = {
      irVersion: 8,
      opsetImport: [{ domain: '', version: 13 }],
      producerName: 'test',
      producerVersion: '',
      domain: '',
      modelVersion: 0,
      docString: '',
      metadataProps: {},
      graph: {
        name: 'g',
        valueInfo: [],
        nodes: [
          q('a', 'sa', 'za', 'aq'),
          dq('aq', 'sa', 'za', 'ad'),
          q('b', 'sb', 'zb', 'bq'),
          dq('bq', 'sb', 'zb', 'bd'),
          { name: 's', opType: 'Add', domain: '', inputs: ['ad', 'bd'], outputs: ['s'], attributes: {} },
          q('s', 'sc', 'zc', 'cq'),
          dq('cq', 'sc', 'zc', 'y'),
        ],
        initializers: [
          scalar('sa', sa, true),
          scalar('za', 128, false),
          scalar('sb', sb, true),
          scalar('zb', 120, false),
          scalar('sc', sc, true),
          scalar('zc', 131, false),
        ],
        inputs: [
          { name: 'a', elemType: 'float', shape: [1, n] },
          { name: 'b', elemType: 'float', shape: [1, n] },
        ],
        outputs: [{ name: 'y', elemType: 'float', shape: null }],
      },
    };
    writeFileSync(model, encodeModel(onnx));
    for (const k of ['a', 'b'] as const)
      writeFileSync(join(dir, `ort-add.${k}.npy`), writeNpy({ dtype: 'float32', shape: [1, n], data: inputs[k] }));
  });

  async function ortY(ort: typeof ortNode | typeof ortWeb): Promise<Float32Array> {
    const s = await ort.InferenceSession.create(readFileSync(model), {
      graphOptimizationLevel: 'all',
      intraOpNumThreads: 1,
    });
    try {
      const r = await s.run({
        a: new ort.Tensor('float32', inputs.a, [1, n]),
        b: new ort.Tensor('float32', inputs.b, [1, n]),
      });
      return r['y']!.data as Float32Array;
    } finally {
      await s.release();
    }
  }
  const run = (out: string, ...extra: string[]) =>
    quint(
      'run',
      model,
      '--input',
      `a=${join(dir, 'ort-add.a.npy')}`,
      '--input',
      `b=${join(dir, 'ort-add.b.npy')}`,
      '--out',
      out,
      ...extra,
    );
  const differing = (x: ArrayLike<number>, y: ArrayLike<number>) =>
    Array.from(x).filter((v, i) => !Object.is(v, y[i])).length;

  test("--target x64 writes onnxruntime-node's outputs, the default onnxruntime-web's (the two differ on some codes)", async () => {
    const [node, web] = [await ortY(ortNode), await ortY(ortWeb)];
    expect(differing(node, web)).toBeGreaterThan(0);
    for (const [target, want] of [
      ['x64', node],
      ['wasm', web],
      [undefined, web],
    ] as const) {
      for (const backend of ['js', 'wasm']) {
        const out = join(dir, `ort-add.${target ?? 'default'}.${backend}.npy`);
        const r = run(out, '--backend', backend, ...(target === undefined ? [] : ['--target', target]));
        expect(r.status, r.stderr).toBe(0);
        expect(differing(npy(out).toFloat32Array(), want), `--target ${target} --backend ${backend}`).toBe(0);
      }
    }
  });

  test('--target on a model that does not run on engine ort is a one-line usage error', () => {
    const r = run(join(dir, 'ort-add.qnnpack.npy'), '--engine', 'qnnpack', '--target', 'x64');
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(
      /--target picks the ONNX Runtime build that engine ort reproduces, and .*ort-add\.onnx runs on engine qnnpack; drop --target/,
    );
    expect(
      quint(
        'run',
        join(FIX, 'mlp.onnx'),
        '--input',
        join(FIX, 'mlp.x.npy'),
        '--out',
        join(dir, 'f.npy'),
        '--target',
        'x64',
      ).stderr,
    ).toMatch(/is a float model/);
  });
});

test('--dynamic: no calibration, int8 weights (DynamicQuantizeLinear/MatMulInteger), close to the float output', () => {
  const out = join(dir, 'mlp.dyn.onnx');
  const q = quint('quantize', join(FIX, 'mlp-dyn.onnx'), '--dynamic', '--out', out);
  expect(q.status, q.stderr).toBe(0);
  expect(q.stdout).toMatch(/qconfig dynamic, .* 0 calibration samples/);
  const info = JSON.parse(quint('inspect', out, '--json').stdout) as {
    onnxOps: Record<string, number>;
    provenance: Record<string, string>;
  };
  expect(info.onnxOps).toMatchObject({ DynamicQuantizeLinear: 3, MatMulInteger: 3 });
  expect(info.provenance['quint.qconfig']).toBe('dynamic');
  const y = join(dir, 'mlp.dyn.y.npy');
  expect(quint('run', out, '--input', join(FIX, 'mlp.x.npy'), '--out', y).status).toBe(0);
  const want = npy(join(FIX, 'mlp.y.npy'));
  const range = want.toFloat32Array().reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  expect(maxAbsDiff(npy(y), want)).toBeLessThan(0.02 * range);
});
