// `quint explain <model.onnx> --input <x.npy> --node <name>` through the built CLI (the root `test`
// command builds first). The models are made here: the committed MNIST float model quantized with
// @quint/onnx on ten real calibration digits, saved as QDQ (engine qnnpack, per-tensor weights) and as
// QOperator (engine ort, per-channel weights). Every number the CLI reports is recomputed here from
// the codes and qparams it reports — accumulators by an independent conv/linear loop, multipliers and
// output codes by the engine's formulas — and the codes are checked against an in-process forward hook.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Module } from '@quint/nn';
import { inspectModel, loadModel, quantizeModel, runModel, saveModel } from '@quint/onnx';
import { roundHalfToEven, type QTensor } from '@quint/qtensor';
import { Tensor, writeNpy } from '@quint/tensor';
import { CALIBRATION_PER_DIGIT, loadMnistSplit, mnistAssetsDir, mnistBatch } from '../src/mnist/data.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const bin = fileURLToPath(new URL('../bin/quint.mjs', import.meta.url));
const built = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const f32 = Math.fround;

function quint(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  expect(existsSync(built), `${built} is missing: build first (npx -y pnpm@10.34.9 run build)`).toBe(true);
  // A conv's full document is a few MB: above spawnSync's default 1 MB maxBuffer.
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Doc {
  engine: string;
  torchCompat: string | null;
  input: { scale: number; zeroPoint: number; codes: number[] };
  weight: { scales: number[]; zeroPoints: number[]; codes: number[] };
  output: { scale: number; zeroPoint: number; codes: number[] };
  elements: Array<{
    index: number;
    accumulator: number;
    bias: number;
    multiplier: number;
    preRound: number;
    outputCode: number;
    forwardCode: number;
  }>;
}

/** Runs explain --json and checks the stdout is exactly one JSON document and stderr is empty. */
function explainJson(...args: string[]): Doc {
  const r = quint('explain', ...args, '--json');
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const doc = JSON.parse(r.stdout) as Doc;
  expect(r.stdout).toBe(`${JSON.stringify(doc)}\n`);
  expect(Object.keys(doc)).toEqual(['engine', 'torchCompat', 'input', 'weight', 'output', 'elements']);
  for (const e of doc.elements) {
    expect(Object.keys(e)).toEqual([
      'index',
      'accumulator',
      'bias',
      'multiplier',
      'preRound',
      'outputCode',
      'forwardCode',
    ]);
  }
  return doc;
}

/** The last stderr line of a failed run, checked against the contract: one line, no stack, nothing on stdout. */
function failure(r: { status: number | null; stdout: string; stderr: string }, status: number, code: string): string {
  expect(r.stdout).toBe('');
  expect(r.status).toBe(status);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^quint: ${code}: `));
  expect(r.stderr).not.toMatch(/\n\s+at /);
  return lines[0]!;
}

/** A conv2d geometry (stride 1, as every conv of the MNIST model). */
interface ConvGeom {
  kind: 'conv';
  c: number;
  h: number;
  w: number;
  oc: number;
  k: number;
  pad: number;
}
interface LinearGeom {
  kind: 'linear';
  k: number;
  n: number;
}

/**
 * The int32 accumulator of every output element, recomputed from the document's codes and zero
 * points with plain loops (padding contributes nothing: x_q = x_zp there).
 */
function accumulators(doc: Doc, g: ConvGeom | LinearGeom): number[] {
  const x = doc.input.codes;
  const w = doc.weight.codes;
  const xzp = doc.input.zeroPoint;
  const wzp = (c: number): number => doc.weight.zeroPoints[doc.weight.zeroPoints.length === 1 ? 0 : c]!;
  const out: number[] = [];
  if (g.kind === 'linear') {
    const rows = x.length / g.k;
    for (let r = 0; r < rows; r++) {
      for (let o = 0; o < g.n; o++) {
        let acc = 0;
        for (let i = 0; i < g.k; i++) acc += (x[r * g.k + i]! - xzp) * (w[o * g.k + i]! - wzp(o));
        out.push(acc);
      }
    }
    return out;
  }
  const n = x.length / (g.c * g.h * g.w);
  for (let b = 0; b < n; b++) {
    for (let o = 0; o < g.oc; o++) {
      for (let oh = 0; oh < g.h; oh++) {
        for (let ow = 0; ow < g.w; ow++) {
          let acc = 0;
          for (let ic = 0; ic < g.c; ic++) {
            for (let kh = 0; kh < g.k; kh++) {
              for (let kw = 0; kw < g.k; kw++) {
                const ih = oh - g.pad + kh;
                const iw = ow - g.pad + kw;
                if (ih < 0 || ih >= g.h || iw < 0 || iw >= g.w) continue;
                acc +=
                  (x[((b * g.c + ic) * g.h + ih) * g.w + iw]! - xzp) *
                  (w[((o * g.c + ic) * g.k + kh) * g.k + kw]! - wzp(o));
              }
            }
          }
          out.push(acc);
        }
      }
    }
  }
  return out;
}

/** Checks every element: accumulator, multiplier, preRound and output code by the engine's formulas; forward codes. */
function checkElements(
  doc: Doc,
  g: ConvGeom | LinearGeom,
  opts: { relu: boolean; channels: number; perOutput: number },
): void {
  const accs = accumulators(doc, g);
  const xs = doc.input.scale;
  const ys = doc.output.scale;
  const yzp = doc.output.zeroPoint;
  const lo = opts.relu ? yzp : 0;
  for (const e of doc.elements) {
    const c = Math.floor(e.index / opts.perOutput) % opts.channels;
    const ws = doc.weight.scales[doc.weight.scales.length === 1 ? 0 : c]!;
    const multiplier =
      doc.engine === 'ort' ? f32(f32(f32(xs) * f32(ws)) / f32(ys)) : f32(f32(f32(ws) * f32(xs)) * f32(1 / f32(ys)));
    const preRound = f32(f32((e.accumulator + e.bias) | 0) * multiplier);
    expect(e, `element ${e.index}`).toEqual({
      index: e.index,
      accumulator: accs[e.index],
      bias: e.bias,
      multiplier,
      preRound,
      outputCode: Math.min(255, Math.max(lo, yzp + roundHalfToEven(preRound))),
      forwardCode: doc.output.codes[e.index],
    });
    expect(Number.isInteger(e.bias)).toBe(true);
    expect(e.outputCode).toBe(e.forwardCode);
  }
}

// The MNIST CNN (assets/mnist/README.md): conv1 Conv2d(1,8,3,p1) on 28×28, conv2 Conv2d(8,16,3,p1) on
// 14×14, fc1 Linear(784,32).
const CONV1: ConvGeom = { kind: 'conv', c: 1, h: 28, w: 28, oc: 8, k: 3, pad: 1 };
const CONV2: ConvGeom = { kind: 'conv', c: 8, h: 14, w: 14, oc: 16, k: 3, pad: 1 };
const FC1: LinearGeom = { kind: 'linear', k: 784, n: 32 };
const N = 2;

let dir: string;
let qdq: string;
let qop: string;
let floatModel: string;
let x: string;
/** Names of the quantized conv/linear nodes in model order: conv1, conv2, conv3, fc1, fc2. */
let names: { qdq: string[]; qop: string[] };
let addNode: string;
/** conv1's input and output codes as an in-process forward hook sees them (QDQ model). */
let conv1Codes: { input: number[]; output: number[] };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'quint-explain-'));
  const { calibration, evaluation } = loadMnistSplit();
  // One calibration digit of each class (the first of each digit's 20), in digit order.
  const calib = Array.from({ length: 10 }, (_, d) =>
    mnistBatch(calibration, d * CALIBRATION_PER_DIGIT, d * CALIBRATION_PER_DIGIT + 1),
  );
  const calibTensor = new Tensor(
    Float32Array.from(calib.flatMap((t) => Array.from(t.toFloat32Array()))),
    [10, 1, 28, 28],
  );
  floatModel = join(mnistAssetsDir(), 'mnist-cnn.onnx');
  const float = await loadModel(floatModel);
  const onWarning = (): void => {};
  qdq = join(dir, 'mnist.qdq.onnx');
  writeFileSync(qdq, saveModel(await quantizeModel(float, calibTensor, { onWarning }), { format: 'qdq' }));
  qop = join(dir, 'mnist.ort.qoperator.onnx');
  const qOrt = await quantizeModel(float, calibTensor, {
    engine: 'ort',
    weightObserver: 'per-channel-minmax',
    onWarning,
  });
  writeFileSync(qop, saveModel(qOrt, { format: 'qoperator' }));

  const input = mnistBatch(evaluation, 0, N);
  x = join(dir, 'x.npy');
  writeFileSync(x, writeNpy(input));
  writeFileSync(
    join(dir, 'x64.npy'),
    writeNpy({ dtype: 'float64', shape: [...input.shape], data: Float64Array.from(input.toFloat32Array()) }),
  );
  writeFileSync(
    join(dir, 'x-int32.npy'),
    writeNpy({ dtype: 'int32', shape: [...input.shape], data: new Int32Array(input.numel) }),
  );
  writeFileSync(join(dir, 'x-flat.npy'), writeNpy(new Tensor(input.toFloat32Array(), [N, 784])));

  const loaded = await loadModel(qdq);
  const gemmNodes = (m: typeof loaded): string[] =>
    inspectModel(m)
      .nodes.filter((n) => n.weight !== null)
      .map((n) => (Array.isArray(n.onnxName) ? n.onnxName[0]! : (n.onnxName ?? n.name)));
  names = { qdq: gemmNodes(loaded), qop: gemmNodes(await loadModel(qop)) };
  const add = inspectModel(loaded).nodes.find((n) => n.op === 'QuantizedOp');
  addNode = String(add?.onnxName ?? add?.name);

  // conv1's codes seen from inside this process, to compare with what the CLI reports.
  const conv1Node = loaded.graphModule.graph.nodes.find((n) => n.meta['onnxName'] === names.qdq[0]);
  const conv1 = loaded.graphModule.getSubmodule(conv1Node!.target as string) as Module;
  const h = conv1.registerForwardHook((_m, args, out) => {
    conv1Codes = { input: Array.from((args[0] as QTensor).intRepr()), output: Array.from((out as QTensor).intRepr()) };
  });
  await runModel(loaded, input);
  h.remove();
}, 300_000);

afterAll(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe('quint explain <model.onnx> (built CLI)', () => {
  it('the models have the expected quantized conv/linear nodes', () => {
    expect(names.qdq).toHaveLength(5);
    expect(names.qop).toHaveLength(5);
  });

  it('QDQ conv (ReLU fused, engine from the file): one JSON document, every number recomputed from its codes', () => {
    const doc = explainJson(qdq, '--input', x, '--node', names.qdq[0]!);
    expect(doc.engine).toBe('qnnpack'); // quint.engine of the file
    expect(doc.torchCompat).toBe('latest'); // quint.torchCompat of the file
    expect(doc.input.codes).toEqual(conv1Codes.input);
    expect(doc.output.codes).toEqual(conv1Codes.output);
    expect(doc.weight.codes).toHaveLength(8 * 9);
    expect(doc.elements.map((e) => e.index)).toEqual(Array.from({ length: N * 8 * 28 * 28 }, (_, i) => i));
    checkElements(doc, CONV1, { relu: true, channels: 8, perOutput: 28 * 28 });
    // Not a vacuous check: the accumulators vary and the ReLU clamps some outputs.
    expect(new Set(doc.elements.map((e) => e.accumulator)).size).toBeGreaterThan(50);
    expect(doc.elements.some((e) => e.outputCode === doc.output.zeroPoint && e.preRound < 0)).toBe(true);
  });

  it('--index gives one element, equal to the same element of the full run (linear node)', () => {
    const full = explainJson(qdq, '--input', x, '--node', names.qdq[3]!);
    expect(full.elements).toHaveLength(N * 32);
    checkElements(full, FC1, { relu: true, channels: 32, perOutput: 1 });
    const one = explainJson(qdq, '--input', x, '--node', names.qdq[3]!, '--index', '37');
    expect(one.elements).toHaveLength(1);
    expect(one.elements[0]).toEqual(full.elements[37]);
    expect({ ...one, elements: [] }).toEqual({ ...full, elements: [] });
  });

  it('QOperator file, engine ort, per-channel weights; --engine qnnpack keeps the integers, changes the multiplier', () => {
    const ort = explainJson(qop, '--input', x, '--node', names.qop[1]!);
    expect(ort.engine).toBe('ort');
    expect(ort.weight.scales).toHaveLength(16);
    expect(ort.elements).toHaveLength(N * 16 * 14 * 14);
    checkElements(ort, CONV2, { relu: false, channels: 16, perOutput: 14 * 14 });
    const qn = explainJson(qop, '--input', x, '--node', names.qop[1]!, '--engine', 'qnnpack', '--index', '300');
    expect(qn.engine).toBe('qnnpack');
    expect(qn.elements).toHaveLength(1);
    expect(qn.input).toEqual(ort.input);
    expect(qn.elements[0]!.accumulator).toBe(ort.elements[300]!.accumulator);
    expect(qn.elements[0]!.index).toBe(300);
  });

  it('float64 input is rounded to float32 and gives the same document', () => {
    const a = explainJson(qdq, '--input', x, '--node', names.qdq[0]!, '--index', '5');
    const b = explainJson(qdq, '--input', join(dir, 'x64.npy'), '--node', names.qdq[0]!, '--index', '5');
    expect(b).toEqual(a);
  });

  it('text form: the walk-through of the element, identical to forward(), and no JSON', () => {
    const r = quint('explain', qdq, '--input', x, '--node', names.qdq[0]!, '--index', '100');
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(`quint explain: node ${names.qdq[0]} of ${qdq}`);
    expect(r.stdout).toContain('engine qnnpack');
    expect(r.stdout).toMatch(/element 100, output channel 0/);
    expect(r.stdout).toMatch(/forward\(\) {4}\d+ {2}\(identical\)/);
    expect(r.stdout).toContain(`Output element 100 of ${N * 8 * 28 * 28} (outputCode === forwardCode: yes)`);
    expect(r.stdout.trimStart().startsWith('{')).toBe(false);
  });

  it('errors: one line, the contract codes and exit statuses', () => {
    const unknown = failure(quint('explain', qdq, '--input', x, '--node', 'no_such_node'), 2, 'USAGE');
    for (const n of names.qdq) expect(unknown).toContain(n);
    expect(failure(quint('explain', qdq, '--input', x, '--node', addNode), 1, 'UNSUPPORTED_OP')).toContain(
      'not a quantized conv or linear',
    );
    expect(
      failure(
        quint('explain', qdq, '--input', x, '--node', names.qdq[0]!, '--index', String(N * 8 * 28 * 28)),
        1,
        'OUT_OF_RANGE',
      ),
    ).toContain(`pass 0..${N * 8 * 28 * 28 - 1}`);
    failure(quint('explain', qdq, '--input', x, '--node', names.qdq[0]!, '--index', '-1'), 2, 'USAGE');
    failure(quint('explain', qdq, '--input', join(dir, 'x-flat.npy'), '--node', names.qdq[0]!), 1, 'SHAPE_MISMATCH');
    failure(quint('explain', qdq, '--input', join(dir, 'x-int32.npy'), '--node', names.qdq[0]!), 1, 'BAD_DTYPE');
    failure(quint('explain', qdq, '--node', names.qdq[0]!), 2, 'USAGE');
    failure(quint('explain', qdq, '--input', x), 2, 'USAGE');
    failure(quint('explain', '--node', names.qdq[0]!), 2, 'USAGE');
    failure(quint('explain', qdq, '--input', x, '--node', names.qdq[0]!, '--engine', 'tflite'), 2, 'USAGE');
    failure(quint('explain', floatModel, '--input', x, '--node', 'conv1'), 1, 'INVALID_ARGUMENT');
    failure(quint('explain', join(dir, 'missing.onnx'), '--input', x, '--node', 'conv1'), 1, 'IO_ERROR');
  });
});
