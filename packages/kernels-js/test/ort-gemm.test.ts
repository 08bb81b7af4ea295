// Engine 'ort' for conv2d, linear and quantize/dequantize, compared with ONNX Runtime 1.30:
// onnxruntime-node (native x64) and onnxruntime-web (wasm, 1 thread) run the QOperator models of
// tools/goldens/kernels_gemm_onnx.py (scales, zero points, weights and int32 bias are graph inputs)
// on the same codes. Every output code must be identical. The multiplier of 'ort',
// f32(f32(x_s·w_s)/y_s), differs in the last bit from qnnpack's f32(f32(w_s·x_s)·f32(1/y_s)) for some
// scale triples; the crafted test shows engine qnnpack then differs from ORT, and only then.
import { readFileSync } from 'node:fs';
import {
  ortBias,
  ortMultiplier,
  qnnpackMultiplier,
  QTensor,
  roundHalfToEven,
  type QuantizedBackend,
} from '@quint/qtensor';
import { Tensor } from '@quint/tensor';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { afterAll, describe, expect, it } from 'vitest';
import { createJsBackend } from '../src/index.js';

ortWeb.env.wasm.numThreads = 1;

type Ort = typeof ortNode;
// The largest |weight code| drawn per runtime. ORT's native x64 u8s8 kernels on a CPU without VNNI
// (this machine: AVX2 only) sum pairs of u8·s8 products with `vpmaddubsw`, saturating at int16 —
// ORT's docs recommend reduce_range there. |w| ≤ 64 keeps every pair sum ≤ 2·255·64 < 32767, so
// native and exact arithmetic agree; the wasm kernel (`i32x4.dot_i16x8_s`) never saturates and gets
// the full range.
const RUNTIMES = [
  ['onnxruntime-node', ortNode as Ort, 64],
  ['onnxruntime-web (wasm)', ortWeb as unknown as Ort, 127],
] as const;

const f32 = Math.fround;

/** mulberry32. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sessions = new Map<string, Promise<ortNode.InferenceSession>>();
function session(ort: Ort, runtime: string, model: string): Promise<ortNode.InferenceSession> {
  const key = `${runtime}/${model}`;
  let s = sessions.get(key);
  if (!s) {
    s = ort.InferenceSession.create(readFileSync(new URL(`./ort-models/${model}.onnx`, import.meta.url)));
    sessions.set(key, s);
  }
  return s;
}
afterAll(async () => {
  for (const s of sessions.values()) await (await s).release();
});

function scalar<T extends 'float32' | 'uint8' | 'int8'>(ort: Ort, type: T, v: number): ortNode.Tensor {
  const data = type === 'float32' ? Float32Array.of(v) : type === 'uint8' ? Uint8Array.of(v) : Int8Array.of(v);
  return new ort.Tensor(type, data, []);
}

function vector(ort: Ort, type: 'float32' | 'int8', values: readonly number[]): ortNode.Tensor {
  return new ort.Tensor(type, type === 'float32' ? Float32Array.from(values) : Int8Array.from(values), [values.length]);
}

/** A random scale triple: float32 scales whose multiplier spans 2^-12 .. 2^1. */
function scales(rand: () => number, perChannel: boolean, oc: number) {
  const xs = f32(2 ** (-9 + rand() * 8));
  const ws = Array.from({ length: perChannel ? oc : 1 }, () => f32(2 ** (-10 + rand() * 5)));
  const ys = f32((xs * ws[0]!) / 2 ** (-12 + rand() * 13));
  return { xs, ws: perChannel ? ws : new Array<number>(oc).fill(ws[0]!), ys, perChannel };
}

interface ConvModel {
  readonly name: string;
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  /** [C, OC, kH, kW] choices. */
  readonly draw: (rand: () => number) => [number, number, number, number];
}

const int = (rand: () => number, lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
const CONV_MODELS: readonly ConvModel[] = [
  {
    name: 'k3-s1-p1',
    stride: [1, 1],
    padding: [1, 1],
    dilation: [1, 1],
    groups: 1,
    draw: (r) => [int(r, 1, 5), int(r, 1, 6), 3, 3],
  },
  {
    name: 'k3-s2-d2',
    stride: [2, 2],
    padding: [0, 0],
    dilation: [2, 2],
    groups: 1,
    draw: (r) => [int(r, 1, 4), int(r, 1, 5), int(r, 1, 3), 3],
  },
  {
    name: 'g2-p12',
    stride: [1, 1],
    padding: [1, 2],
    dilation: [1, 1],
    groups: 2,
    draw: (r) => [2 * int(r, 1, 3), 2 * int(r, 1, 3), 3, 2],
  },
  {
    name: 'dw8-p1',
    stride: [1, 1],
    padding: [1, 1],
    dilation: [1, 1],
    groups: 8,
    draw: (r) => [8, 8 * int(r, 1, 2), 3, 3],
  },
  { name: 'k1-s1', stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1, draw: () => [64, 7, 1, 1] },
];

const TRIPLES_PER_MODEL = 8;

describe.each(RUNTIMES)('engine ort: conv2d vs QLinearConv on %s', (runtime, ort, wMax) => {
  const be: QuantizedBackend = createJsBackend();
  for (const m of CONV_MODELS) {
    for (const pc of [false, true]) {
      it(`${m.name} ${pc ? 'per-channel' : 'per-tensor'}: identical codes for ${TRIPLES_PER_MODEL} scale triples`, async () => {
        const s = await session(ort, runtime, `qlinearconv-${m.name}-${pc ? 'pc' : 'pt'}`);
        const rand = prng(0x5eed + m.name.length * 131 + (pc ? 7 : 0));
        let outputs = 0;
        for (let t = 0; t < TRIPLES_PER_MODEL; t++) {
          const [c, oc, kh, kw] = m.draw(rand);
          const n = int(rand, 1, 2);
          const h = int(rand, (kh - 1) * m.dilation[0] + 1, 9);
          const w = int(rand, (kw - 1) * m.dilation[1] + 1, 9);
          const sc = scales(rand, pc, oc);
          const xzp = int(rand, 0, 255);
          const yzp = int(rand, 0, 255);
          const xCodes = Uint8Array.from({ length: n * c * h * w }, () => int(rand, 0, 255));
          const wCodes = Int8Array.from({ length: oc * (c / m.groups) * kh * kw }, () => int(rand, -wMax, wMax));
          const bias = Float32Array.from({ length: oc }, (_, i) => (rand() * 2 - 1) * sc.xs * sc.ws[i]! * 2000);
          const x = new QTensor(xCodes, [n, c, h, w], 'quint8', {
            qscheme: 'per_tensor_affine',
            scale: sc.xs,
            zeroPoint: xzp,
          });
          const wq = pc
            ? new QTensor(wCodes, [oc, c / m.groups, kh, kw], 'qint8', {
                qscheme: 'per_channel_affine',
                scales: Float64Array.from(sc.ws),
                zeroPoints: new Int32Array(oc),
                axis: 0,
              })
            : new QTensor(wCodes, [oc, c / m.groups, kh, kw], 'qint8', {
                qscheme: 'per_tensor_affine',
                scale: sc.ws[0]!,
                zeroPoint: 0,
              });
          const packed = be.prepackConv2d(wq, bias, {
            stride: m.stride,
            padding: m.padding,
            dilation: m.dilation,
            groups: m.groups,
          });
          const ours = be.kernels.conv2d(x, packed, { scale: sc.ys, zeroPoint: yzp }, { engine: 'ort' });
          // The int32 bias ORT is given: the ort engine's bias convention (ORT takes it ready-made).
          const bq = Int32Array.from(bias, (b, i) => ortBias(b, sc.xs, sc.ws[i]!));
          const feeds = {
            x: new ort.Tensor('uint8', xCodes, [n, c, h, w]),
            x_scale: scalar(ort, 'float32', sc.xs),
            x_zp: scalar(ort, 'uint8', xzp),
            w: new ort.Tensor('int8', wCodes, [oc, c / m.groups, kh, kw]),
            w_scale: pc ? vector(ort, 'float32', sc.ws) : scalar(ort, 'float32', sc.ws[0]!),
            w_zp: pc ? vector(ort, 'int8', new Array<number>(oc).fill(0)) : scalar(ort, 'int8', 0),
            y_scale: scalar(ort, 'float32', sc.ys),
            y_zp: scalar(ort, 'uint8', yzp),
            b: new ort.Tensor('int32', bq, [oc]),
          };
          const y = (await s.run(feeds))['y']!;
          expect(y.dims).toEqual(ours.shape);
          expect(Array.from(ours.data)).toEqual(Array.from(y.data as Uint8Array));
          outputs += ours.numel;
        }
        expect(outputs).toBeGreaterThan(0);
      });
    }
  }
});

/**
 * Runs QLinearMatMul for `linear(x, W)` without bias: a = x [M, K], b = Wᵀ [K, N].
 */
async function ortLinear(
  ort: Ort,
  s: ortNode.InferenceSession,
  args: {
    x: Uint8Array;
    m: number;
    k: number;
    xs: number;
    xzp: number;
    w: Int8Array;
    n: number;
    ws: number[];
    perChannel: boolean;
    ys: number;
    yzp: number;
  },
): Promise<Uint8Array> {
  const bt = new Int8Array(args.k * args.n);
  for (let o = 0; o < args.n; o++) for (let j = 0; j < args.k; j++) bt[j * args.n + o] = args.w[o * args.k + j]!;
  const feeds = {
    a: new ort.Tensor('uint8', args.x, [args.m, args.k]),
    a_scale: scalar(ort, 'float32', args.xs),
    a_zp: scalar(ort, 'uint8', args.xzp),
    b: new ort.Tensor('int8', bt, [args.k, args.n]),
    b_scale: args.perChannel ? vector(ort, 'float32', args.ws) : scalar(ort, 'float32', args.ws[0]!),
    b_zp: args.perChannel ? vector(ort, 'int8', new Array<number>(args.n).fill(0)) : scalar(ort, 'int8', 0),
    y_scale: scalar(ort, 'float32', args.ys),
    y_zp: scalar(ort, 'uint8', args.yzp),
  };
  return (await s.run(feeds))['y']!.data as Uint8Array;
}

function linearWeight(w: Int8Array, n: number, k: number, ws: number[], perChannel: boolean): QTensor {
  return perChannel
    ? new QTensor(w, [n, k], 'qint8', {
        qscheme: 'per_channel_affine',
        scales: Float64Array.from(ws),
        zeroPoints: new Int32Array(n),
        axis: 0,
      })
    : new QTensor(w, [n, k], 'qint8', { qscheme: 'per_tensor_affine', scale: ws[0]!, zeroPoint: 0 });
}

type Triple = [number, number, number];
let crafted: { differing: Triple[]; agreeing: Triple[]; drawn: number; otherMultiplier: number } | undefined;

/**
 * Draws scale triples until 6 are found whose ort and qnnpack multipliers round some product
 * a·b (a in −128..127, b in 1..127) to different codes, and 6 whose multipliers are equal. Only the
 * products nearest each rounding boundary k + ½ can differ, so those are the ones checked.
 */
function craftedTriples() {
  if (crafted) return crafted;
  const rand = prng(4242);
  const differing: Triple[] = [];
  const agreeing: Triple[] = [];
  const representable = (acc: number) => {
    for (let b = 1; b <= 127; b++) if (acc % b === 0 && acc / b >= -128 && acc / b <= 127) return true;
    return false;
  };
  const codesDiffer = (m1: number, m2: number): boolean => {
    for (let k = -130; k <= 130; k++) {
      const center = Math.round((k + 0.5) / m1);
      for (let acc = center - 1; acc <= center + 1; acc++) {
        if (Math.abs(acc) > 128 * 127) continue;
        const fa = f32(acc);
        if (roundHalfToEven(f32(fa * m1)) !== roundHalfToEven(f32(fa * m2)) && representable(acc)) return true;
      }
    }
    return false;
  };
  let drawn = 0;
  let otherMultiplier = 0;
  while ((differing.length < 6 || agreeing.length < 6) && drawn < 100000) {
    drawn++;
    const xs = f32(2 ** (-8 + rand() * 4));
    const ws = f32(2 ** (-9 + rand() * 4));
    const ys = f32((xs * ws * 32512) / (100 + rand() * 27));
    const mOrt = ortMultiplier(xs, ws, ys);
    const mQnn = qnnpackMultiplier(xs, ws, ys);
    if (mOrt === mQnn) {
      if (agreeing.length < 6) agreeing.push([xs, ws, ys]);
      continue;
    }
    otherMultiplier++;
    if (differing.length < 6 && codesDiffer(mOrt, mQnn)) differing.push([xs, ws, ys]);
  }
  crafted = { differing, agreeing, drawn, otherMultiplier };
  return crafted;
}

describe.each(RUNTIMES)('engine ort: linear vs QLinearMatMul on %s', (runtime, ort, wMax) => {
  const be: QuantizedBackend = createJsBackend();

  for (const pc of [false, true]) {
    it(`random shapes ${pc ? 'per-column' : 'per-tensor'}: identical codes for 24 scale triples (incl. K = 2000)`, async () => {
      const s = await session(ort, runtime, `qlinearmatmul-${pc ? 'pc' : 'pt'}`);
      const rand = prng(pc ? 77 : 78);
      for (let t = 0; t < 24; t++) {
        const m = int(rand, 1, 6);
        const k = t === 0 ? 2000 : int(rand, 1, 80);
        const n = int(rand, 1, 9);
        const sc = scales(rand, pc, n);
        const xzp = int(rand, 0, 255);
        const yzp = int(rand, 0, 255);
        const x = Uint8Array.from({ length: m * k }, () => int(rand, 0, 255));
        const w = Int8Array.from({ length: n * k }, () => int(rand, -wMax, wMax));
        const ours = be.kernels.linear(
          new QTensor(x, [m, k], 'quint8', { qscheme: 'per_tensor_affine', scale: sc.xs, zeroPoint: xzp }),
          be.prepackLinear(linearWeight(w, n, k, sc.ws, pc), null),
          { scale: sc.ys, zeroPoint: yzp },
          { engine: 'ort' },
        );
        const theirs = await ortLinear(ort, s, {
          x,
          m,
          k,
          xs: sc.xs,
          xzp,
          w,
          n,
          ws: sc.ws,
          perChannel: pc,
          ys: sc.ys,
          yzp,
        });
        expect(Array.from(ours.data)).toEqual(Array.from(theirs));
      }
    });
  }

  // Every product (x − x_zp)·w for x in 0..255 and w in 1..127 (K = 1, so no pair sums): 32,512
  // accumulators per triple. Triples are drawn until 6 are found whose different multiplier changes
  // some code (see craftedTriples), plus 6 whose multipliers agree; ORT must equal
  // engine ort on all 12, and differ from engine qnnpack exactly on the first 6.
  it('crafted: multiplier-rounding differences — ort identical, qnnpack differs only where its multiplier does', async () => {
    const s = await session(ort, runtime, 'qlinearmatmul-pt');
    const x = Uint8Array.from({ length: 256 }, (_, i) => i);
    const w = Int8Array.from({ length: 127 }, (_, i) => i + 1);
    const packed = be.prepackLinear(linearWeight(w, 127, 1, [1 / 64], false), null);
    const run = (xs: number, ws: number, ys: number, engine: 'ort' | 'qnnpack') => {
      const xq = new QTensor(x, [256, 1], 'quint8', { qscheme: 'per_tensor_affine', scale: xs, zeroPoint: 128 });
      const p = be.prepackLinear(linearWeight(w, 127, 1, [ws], false), null);
      return be.kernels.linear(xq, p, { scale: ys, zeroPoint: 128 }, { engine }).data;
    };
    const { differing, agreeing, drawn, otherMultiplier } = craftedTriples();
    expect(packed.kind).toBe('linear');
    expect(differing.length).toBe(6);
    expect(agreeing.length).toBe(6);
    // About one triple in four has a different multiplier (DESIGN.md "Numerics").
    expect(otherMultiplier / drawn).toBeGreaterThan(0.1);
    let qnnpackDiffers = 0;
    for (const [group, triples] of [
      ['differing', differing],
      ['agreeing', agreeing],
    ] as const) {
      for (const [xs, ws, ys] of triples) {
        const theirs = await ortLinear(ort, s, {
          x,
          m: 256,
          k: 1,
          xs,
          xzp: 128,
          w,
          n: 127,
          ws: [ws],
          perChannel: false,
          ys,
          yzp: 128,
        });
        expect(Array.from(run(xs, ws, ys, 'ort'))).toEqual(Array.from(theirs));
        const qn = run(xs, ws, ys, 'qnnpack');
        const d = theirs.reduce((acc, v, i) => acc + (v !== qn[i] ? 1 : 0), 0);
        if (group === 'agreeing') expect(d).toBe(0);
        else expect(d).toBeGreaterThan(0);
        qnnpackDiffers += d;
      }
    }
    expect(qnnpackDiffers).toBeGreaterThan(0);
  });
});

describe.each(RUNTIMES)('engine ort: quantize/dequantize vs QuantizeLinear/DequantizeLinear on %s', (runtime, ort) => {
  const be: QuantizedBackend = createJsBackend();
  for (const dtype of ['quint8', 'qint8'] as const) {
    const dt = dtype === 'quint8' ? 'u8' : 's8';
    const zpType = dtype === 'quint8' ? 'uint8' : 'int8';
    it(`${dtype} per tensor and per axis 1: identical codes and float bits on 20 scale sets (ties included)`, async () => {
      const rand = prng(dtype === 'quint8' ? 11 : 12);
      for (let t = 0; t < 20; t++) {
        const rows = int(rand, 1, 5);
        const cols = 3;
        const sc = [0, 1, 2].map(() => f32(2 ** (-10 + rand() * 12)));
        const zps = [0, 1, 2].map(() => int(rand, 0, 255) - (dtype === 'qint8' ? 128 : 0));
        // Half the values on exact .5 ties of x / s.
        const xv = Float32Array.from({ length: rows * cols }, (_, i) => {
          const s = sc[i % cols]!;
          return rand() < 0.5 ? (int(rand, -600, 600) + 0.5) * s : (rand() * 2 - 1) * 300 * s;
        });
        const x = new Tensor(xv, [rows, cols]);
        // per tensor
        const qs = await session(ort, runtime, `quantizelinear-${dt}-pt`);
        const qt = (
          await qs.run({
            x: new ort.Tensor('float32', xv, [rows, cols]),
            s: scalar(ort, 'float32', sc[0]!),
            zp: scalar(ort, zpType, zps[0]!),
          })
        )['y']!;
        const ours = be.kernels.quantizePerTensor(x, { scale: sc[0]!, zeroPoint: zps[0]!, dtype }, { engine: 'ort' });
        expect(Array.from(ours.data)).toEqual(Array.from(qt.data as Uint8Array));
        const ds = await session(ort, runtime, `dequantizelinear-${dt}-pt`);
        const dt_ = (
          await ds.run({
            x: new ort.Tensor(zpType, ours.data as Uint8Array, [rows, cols]),
            s: scalar(ort, 'float32', sc[0]!),
            zp: scalar(ort, zpType, zps[0]!),
          })
        )['y']!;
        expect(Array.from(be.kernels.dequantize(ours, { engine: 'ort' }).toFloat32Array())).toEqual(
          Array.from(dt_.data as Float32Array),
        );
        // per axis 1
        const qc = await session(ort, runtime, `quantizelinear-${dt}-pc`);
        const zpv = new ort.Tensor(zpType, dtype === 'quint8' ? Uint8Array.from(zps) : Int8Array.from(zps), [3]);
        const qct = (
          await qc.run({ x: new ort.Tensor('float32', xv, [rows, cols]), s: vector(ort, 'float32', sc), zp: zpv })
        )['y']!;
        const oursC = be.kernels.quantizePerChannel(
          x,
          { scales: sc, zeroPoints: zps, axis: 1, dtype },
          { engine: 'ort' },
        );
        expect(Array.from(oursC.data)).toEqual(Array.from(qct.data as Uint8Array));
        const dc = await session(ort, runtime, `dequantizelinear-${dt}-pc`);
        const dct = (
          await dc.run({
            x: new ort.Tensor(zpType, oursC.data as Uint8Array, [rows, cols]),
            s: vector(ort, 'float32', sc),
            zp: zpv,
          })
        )['y']!;
        expect(Array.from(be.kernels.dequantize(oursC, { engine: 'ort' }).toFloat32Array())).toEqual(
          Array.from(dct.data as Float32Array),
        );
      }
    });
  }
});
