// Differential tests: the wasm kernels against @quint/kernels-js (the reference) on random and edge
// shapes, every claimed engine, with and without ReLU, bias, per-channel and asymmetric weights.
// Integer outputs must be identical, and so must trace records.
import { createJsBackend } from '@quint/kernels-js';
import { Tensor } from '@quint/tensor';
import { QTensor, type Engine, type PackedLinear, type QuantizedBackend, type TraceRecord } from '@quint/qtensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWasmBackend } from '../src/index.js';
import { activation, bias, int, rng, weight } from './helpers.js';

const ENGINES: readonly Engine[] = ['qnnpack', 'onednn', 'ort'];

let wasm: QuantizedBackend;
let js: QuantizedBackend;
beforeAll(async () => {
  wasm = createWasmBackend();
  js = createJsBackend();
  await wasm.init();
  await js.init();
});
afterAll(() => {
  wasm.dispose();
  js.dispose();
});

function same(a: QTensor, b: QTensor): void {
  expect(a.shape).toEqual(b.shape);
  expect(a.dtype).toBe(b.dtype);
  expect(a.qparams).toEqual(b.qparams);
  let first = -1;
  let count = 0;
  for (let i = 0; i < b.data.length; i++) {
    if (a.data[i] !== b.data[i]) {
      if (first < 0) first = i;
      count++;
    }
  }
  const where = first < 0 ? null : `${count} differ; first at ${first}: ${a.data[first]} vs ${b.data[first]}`;
  expect(where).toBeNull();
}

// Output scales near x_s·w_s·√K·40 keep most codes inside [0, 255]; a few cases use tiny scales so
// that the clamp and qnnpack's out-of-range rule are exercised too.
function outScale(r: () => number, xs: number, k: number, wide: boolean): number {
  return wide ? 1e-7 * (1 + r()) : xs * 0.01 * Math.sqrt(k) * (10 + r() * 60);
}

const LINEAR_SHAPES: readonly (readonly number[])[] = [
  [1, 1, 1],
  [1, 7, 3],
  [1, 1024, 37],
  [1, 64, 16],
  [1, 33, 24],
  [2, 5, 9],
  [3, 33, 17],
  [4, 8, 8],
  [5, 19, 37],
  [64, 128, 72],
  [7, 300, 130],
  [130, 40, 9],
  [2, 3, 20, 11],
];

describe('linear / linearRelu vs kernels-js', () => {
  let seed = 1;
  for (const shape of LINEAR_SHAPES) {
    for (const engine of ENGINES) {
      it(`[${shape.join('×')}] · ${engine}`, () => {
        const r = rng(seed++);
        const k = shape[shape.length - 2]!;
        const n = shape[shape.length - 1]!;
        const xShape = shape.slice(0, -1);
        for (let trial = 0; trial < 4; trial++) {
          const x = activation(r, xShape);
          const w = weight(r, [n, k], { perChannel: r() < 0.5, symmetric: engine === 'onednn' || r() < 0.5 });
          const b = bias(r, n, trial !== 1);
          const out = { scale: outScale(r, x.qScale(), k, trial === 3), zeroPoint: int(r, 0, 255) };
          const pw = wasm.prepackLinear(w, b);
          const pj = js.prepackLinear(w, b);
          for (const relu of [false, true]) {
            const op = relu ? 'linearRelu' : 'linear';
            same(wasm.kernels[op](x, pw, out, { engine }), js.kernels[op](x, pj, out, { engine }));
          }
        }
      });
    }
  }
});

describe('batch-1 int8 GEMV at the code extremes', () => {
  // Its weights travel as int16 lanes hi·256 + lo + 128 (assembly/gemm.ts): −128 and 127 in both
  // bytes, against activations 0 and 255 with zero points 0 and 255, give the largest terms of both
  // dot products; K = 4101 also takes the scalar tail of Σ a, and N = 37 a partial last block.
  it('int32 accumulators equal kernels-js', () => {
    const k = 4101;
    const n = 37;
    const codes = new Int8Array(n * k);
    for (let c = 0; c < n; c++) for (let i = 0; i < k; i++) codes[c * k + i] = (c + (i >> 1)) % 3 === 0 ? 127 : -128;
    const w = new QTensor(codes, [n, k], 'qint8', { qscheme: 'per_tensor_symmetric', scale: 0.01, zeroPoint: 0 });
    const pw = wasm.prepackLinear(w, null);
    const pj = js.prepackLinear(w, null);
    let largest = 0;
    for (const [fill, zeroPoint] of [
      [255, 0],
      [0, 255],
      [255, 255],
    ] as const) {
      const data = new Uint8Array(k).fill(fill);
      for (let i = 0; i < k; i += 7) data[i] = 255 - fill;
      const x = new QTensor(data, [1, k], 'quint8', { qscheme: 'per_tensor_affine', scale: 0.02, zeroPoint });
      const accs = (be: QuantizedBackend, pw: PackedLinear): number[] => {
        const out: number[] = [];
        be.kernels.linear(
          x,
          pw,
          { scale: 1, zeroPoint: 0 },
          { trace: { index: 'all', sink: (t) => 'acc' in t && out.push(t.acc) } },
        );
        return out;
      };
      const expected = accs(js, pj);
      expect(expected.length).toBe(n);
      expect(accs(wasm, pw)).toEqual(expected);
      largest = Math.max(largest, ...expected.map(Math.abs));
    }
    expect(largest).toBeGreaterThan(30_000_000);
  });
});

interface ConvCase {
  readonly x: readonly [number, number, number, number];
  readonly oc: number;
  readonly k: readonly [number, number];
  readonly stride?: number | readonly [number, number];
  readonly padding?: number | readonly [number, number];
  readonly dilation?: number | readonly [number, number];
  readonly groups?: number;
}

const CONV_CASES: readonly ConvCase[] = [
  { x: [1, 3, 8, 8], oc: 4, k: [3, 3], padding: 1 },
  { x: [2, 8, 7, 9], oc: 16, k: [1, 1] },
  { x: [1, 5, 11, 6], oc: 7, k: [3, 3], stride: 2, padding: 1 },
  { x: [1, 4, 9, 9], oc: 6, k: [3, 2], padding: [2, 1], dilation: 2 },
  { x: [1, 8, 10, 10], oc: 8, k: [3, 3], padding: 1, groups: 8 },
  { x: [1, 6, 13, 12], oc: 12, k: [3, 3], padding: 1, groups: 6 },
  { x: [2, 6, 13, 12], oc: 6, k: [5, 5], stride: 2, padding: 2, groups: 6 },
  { x: [1, 4, 9, 17], oc: 4, k: [3, 3], stride: [1, 2], padding: [0, 1], dilation: [2, 1], groups: 4 },
  { x: [1, 8, 6, 6], oc: 8, k: [3, 3], padding: 1, groups: 2 },
  { x: [1, 16, 20, 20], oc: 24, k: [3, 3], padding: 1 },
  { x: [1, 3, 1, 1], oc: 2, k: [1, 1] },
  // 1×1, stride 1, no padding: the input planes are the im2col rows (qs8_conv1x1_acc), here with
  // groups, an odd channel count (a zero-weight row evens K) and pixels not a multiple of 8.
  { x: [2, 6, 5, 11], oc: 9, k: [1, 1], groups: 3 },
  { x: [1, 33, 9, 9], oc: 20, k: [1, 1] },
  { x: [1, 2, 3, 40], oc: 3, k: [1, 3], padding: [0, 1] },
  { x: [1, 3, 5, 5], oc: 5, k: [5, 5] },
  { x: [1, 32, 14, 14], oc: 32, k: [3, 3], padding: 1, groups: 32 },
  { x: [1, 4, 12, 12], oc: 8, k: [3, 3], padding: [2, 1], dilation: [2, 1], groups: 4 },
  // Padded-plane im2col (stride 1 along x): 7-pixel rows (every panel spans two rows), stride 2
  // along y, a wide border, two images with groups.
  { x: [1, 6, 9, 7], oc: 5, k: [3, 3], padding: 1 },
  { x: [1, 5, 12, 11], oc: 6, k: [3, 3], stride: [2, 1], padding: 1 },
  { x: [1, 3, 5, 9], oc: 4, k: [1, 3], padding: [3, 4] },
  { x: [2, 8, 9, 10], oc: 6, k: [2, 2], dilation: [1, 2], groups: 2 },
  // The same with stride 2 along x.
  { x: [1, 3, 15, 17], oc: 5, k: [3, 3], stride: 2, padding: 1 },
  { x: [2, 4, 10, 32], oc: 6, k: [1, 1], stride: 2 },
  { x: [1, 6, 9, 20], oc: 4, k: [3, 2], stride: [1, 2], padding: [1, 0], dilation: [1, 2], groups: 2 },
  { x: [1, 2, 6, 14], oc: 3, k: [2, 2], stride: 2 },
  // Depthwise with stride 2 along x (8 outputs from every other input): rows of 9 and 17 outputs
  // (one full group and a tail), only a tail (7), a channel multiplier of 2, a 5×5 kernel, dilation.
  { x: [1, 24, 15, 17], oc: 24, k: [3, 3], stride: 2, padding: 1, groups: 24 },
  { x: [2, 16, 14, 14], oc: 32, k: [3, 3], stride: 2, padding: 1, groups: 16 },
  { x: [1, 8, 20, 33], oc: 8, k: [5, 5], stride: 2, padding: 2, groups: 8 },
  { x: [1, 8, 12, 30], oc: 8, k: [3, 3], stride: [1, 2], padding: 2, dilation: 2, groups: 8 },
  // Depthwise 5×5 with stride 1 (the general stride-1 loop; 3×3 has its own).
  { x: [1, 6, 11, 19], oc: 6, k: [5, 5], padding: 2, groups: 6 },
];

describe('conv2d / conv2dRelu vs kernels-js', () => {
  let seed = 1000;
  for (const c of CONV_CASES) {
    const g = c.groups ?? 1;
    const label = `x[${c.x.join('×')}] oc${c.oc} k${c.k.join('×')} s${JSON.stringify(c.stride ?? 1)} p${JSON.stringify(c.padding ?? 0)} d${JSON.stringify(c.dilation ?? 1)} g${g}`;
    for (const engine of ENGINES) {
      it(`${label} · ${engine}`, () => {
        const r = rng(seed++);
        const icg = c.x[1] / g;
        const kk = icg * c.k[0] * c.k[1];
        for (let trial = 0; trial < 3; trial++) {
          const x = activation(r, c.x);
          const w = weight(r, [c.oc, icg, c.k[0], c.k[1]], {
            perChannel: r() < 0.5,
            symmetric: engine === 'onednn' || r() < 0.5,
          });
          const b = bias(r, c.oc, trial !== 1);
          const out = { scale: outScale(r, x.qScale(), kk, trial === 2 && r() < 0.5), zeroPoint: int(r, 0, 255) };
          const opts = {
            ...(c.stride !== undefined ? { stride: c.stride } : {}),
            ...(c.padding !== undefined ? { padding: c.padding } : {}),
            ...(c.dilation !== undefined ? { dilation: c.dilation } : {}),
            groups: g,
          };
          const pw = wasm.prepackConv2d(w, b, opts);
          const pj = js.prepackConv2d(w, b, opts);
          for (const relu of [false, true]) {
            const op = relu ? 'conv2dRelu' : 'conv2d';
            same(wasm.kernels[op](x, pw, out, { engine }), js.kernels[op](x, pj, out, { engine }));
          }
        }
      });
    }
  }
});

// channels_last ops go through the byte transposes NCHW ↔ NHWC: 16×16 blocks, then the edge
// channels and pixels one by one. The conformance suite's small shapes (C ≤ 12) never fill a block.
describe('channels_last transposes (blocks and edges) vs kernels-js', () => {
  const SHAPES = [
    [1, 16, 4, 4],
    [2, 32, 7, 7],
    [1, 40, 6, 5],
    [1, 3, 17, 19],
    [1, 96, 14, 14],
    [2, 17, 16, 2],
  ] as const;
  for (const shape of SHAPES) {
    it(`[${shape.join('×')}]: qnnpack relu6 (NCHW → NHWC), onednn add (NHWC → NCHW)`, () => {
      const r = rng(shape.reduce((a: number, b) => a * 31 + b, 7));
      const x = activation(r, shape);
      const y = activation(r, shape);
      const out = { scale: 0.04, zeroPoint: 120 };
      const relu6 = { engine: 'qnnpack', memoryFormat: 'channels_last' } as const;
      same(wasm.kernels.relu6(x, relu6), js.kernels.relu6(x, relu6));
      const add = { engine: 'onednn', memoryFormat: 'channels_last' } as const;
      same(wasm.kernels.add(x, y, out, add), js.kernels.add(x, y, out, add));
    });
  }
});

// maxPool2d's vector path (16 outputs whose taps are all inside the image, stride 1 or 2 along x)
// needs rows of ≥ 16 such outputs, which the conformance suite's small shapes never have.
describe('maxPool2d on wide rows (vector interior, scalar borders) vs kernels-js', () => {
  const CASES = [
    { x: [2, 3, 40, 50], p: { kernelSize: 3, stride: 2, padding: 1 } },
    { x: [1, 4, 21, 37], p: { kernelSize: 3, stride: 1, padding: 1 } },
    { x: [1, 2, 18, 64], p: { kernelSize: 2, stride: 2 } },
    { x: [1, 2, 19, 47], p: { kernelSize: [3, 2], stride: [1, 2], padding: [1, 1], dilation: 2 } },
    { x: [1, 3, 17, 45], p: { kernelSize: 3, stride: 2, padding: 1, ceilMode: true } },
    { x: [1, 2, 9, 80], p: { kernelSize: 5, stride: 3, padding: 2 } },
  ] as const;
  for (const c of CASES) {
    it(`[${c.x.join('×')}] ${JSON.stringify(c.p)}`, () => {
      const r = rng(c.x.reduce((a: number, b) => a * 17 + b, 3));
      const x = activation(r, c.x);
      for (const engine of ['qnnpack', 'onednn', 'ort'] as const)
        same(wasm.kernels.maxPool2d(x, c.p, { engine }), js.kernels.maxPool2d(x, c.p, { engine }));
    });
  }
});

// quantizePerTensor: 16 codes per vector step, then a scalar tail; NaN, ±Infinity and values past
// int64 give qmin, ties go to even, as @quint/kernels-js (PyTorch's formula) gives them.
describe('quantizePerTensor vs kernels-js', () => {
  const special = [Number.NaN, Infinity, -Infinity, 1e30, -1e30, 0, -0, 0.5, 1.5, 2.5, -0.5, -2.5, 3e9, -3e9];
  for (const n of [1, 15, 16, 17, 100, 333]) {
    it(`${n} values, quint8 and qint8, engines qnnpack and onednn, contiguous and strided`, () => {
      const r = rng(n * 7 + 1);
      const data = Float32Array.from({ length: n }, (_, i) =>
        i % 5 === 0 ? special[(i / 5) % special.length]! : (r() - 0.5) * 8,
      );
      const flat = new Tensor(data, [n]);
      // The same values read through a view: a permuted 2-D tensor over a padded buffer.
      const buf = new Float32Array(2 * n + 3);
      for (let i = 0; i < n; i++) buf[3 + 2 * i] = data[i]!;
      const strided = new Tensor(buf, [n, 1], [2, 1], 3).permute([1, 0]);
      for (const [scale, zeroPoint, dtype] of [
        [1, 0, 'quint8'],
        [0.0173, 131, 'quint8'],
        [0.05, -7, 'qint8'],
        [1, 0, 'qint8'],
      ] as const) {
        for (const engine of ['qnnpack', 'onednn'] as const) {
          const out = { scale, zeroPoint, dtype };
          for (const x of [flat, strided])
            same(wasm.kernels.quantizePerTensor(x, out, { engine }), js.kernels.quantizePerTensor(x, out, { engine }));
        }
      }
    });
  }
});

describe('trace records equal the reference', () => {
  for (const engine of ENGINES) {
    it(`linear and conv2d · ${engine}`, () => {
      const r = rng(77);
      const collect = (be: QuantizedBackend, f: (sink: (t: TraceRecord) => void) => void): TraceRecord[] => {
        const recs: TraceRecord[] = [];
        f((t) => recs.push(t));
        void be;
        return recs;
      };
      const x = activation(r, [3, 10]);
      const w = weight(r, [6, 10], { perChannel: true, symmetric: true });
      const b = bias(r, 6, true);
      const out = { scale: 0.05, zeroPoint: 100 };
      const pw = wasm.prepackLinear(w, b);
      const pj = js.prepackLinear(w, b);
      const a = collect(wasm, (sink) => wasm.kernels.linear(x, pw, out, { engine, trace: { index: 'all', sink } }));
      const e = collect(js, (sink) => js.kernels.linear(x, pj, out, { engine, trace: { index: 'all', sink } }));
      expect(a).toEqual(e);
      const xc = activation(r, [1, 4, 5, 5]);
      const wc = weight(r, [4, 2, 3, 3], { perChannel: false, symmetric: true });
      const pcw = wasm.prepackConv2d(wc, null, { padding: 1, groups: 2 });
      const pcj = js.prepackConv2d(wc, null, { padding: 1, groups: 2 });
      const ca = collect(wasm, (sink) => wasm.kernels.conv2dRelu(xc, pcw, out, { engine, trace: { index: 37, sink } }));
      const ce = collect(js, (sink) => js.kernels.conv2dRelu(xc, pcj, out, { engine, trace: { index: 37, sink } }));
      expect(ca).toEqual(ce);
    });
  }
});
