// The trace hook of conv2d/linear/linearDynamic: what it reports equals the arithmetic recomputed
// here by hand from the reported operands, and tracing never changes the outputs.
import { isQuantError } from '@quint/tensor';
import {
  QTensor,
  onednnScales,
  qnnpackBias,
  qnnpackMultiplier,
  roundHalfToEven,
  type GemmTraceRecord,
  type TraceRecord,
} from '@quint/qtensor';
import { Tensor } from '@quint/tensor';
import { describe, expect, it } from 'vitest';
import { createJsBackend } from '../src/index.js';

const f32 = Math.fround;

function lcg(seed: number) {
  let s = seed >>> 0;
  return (lo: number, hi: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return lo + (s % (hi - lo + 1));
  };
}

function convFixture() {
  const r = lcg(9);
  const x = new QTensor(
    Uint8Array.from({ length: 2 * 4 * 5 * 6 }, () => r(0, 255)),
    [2, 4, 5, 6],
    'quint8',
    {
      qscheme: 'per_tensor_affine',
      scale: 0.02,
      zeroPoint: 117,
    },
  );
  const w = new QTensor(
    Int8Array.from({ length: 6 * 2 * 3 * 3 }, () => r(-127, 127)),
    [6, 2, 3, 3],
    'qint8',
    {
      qscheme: 'per_channel_affine',
      scales: Float64Array.from([0.004, 0.005, 0.006, 0.007, 0.008, 0.009]),
      zeroPoints: new Int32Array(6),
      axis: 0,
    },
  );
  const bias = Float32Array.from([0.3, -0.2, 0.1, 0, -0.5, 0.25]);
  return { x, w, bias, out: { scale: 0.05, zeroPoint: 100 }, opts: { stride: 2, padding: [1, 2] as const, groups: 2 } };
}

const handAcc = (r: GemmTraceRecord) =>
  r.input.codes.reduce((s, xq, i) => s + (xq - r.input.zeroPoint) * (r.weight.codes[i]! - r.weight.zeroPoint), 0);

describe('trace hook', () => {
  it("conv2d qnnpack, index 'all': every record's acc, bias, multiplier, preRound and output check by hand", () => {
    const be = createJsBackend();
    const { x, w, bias, out, opts } = convFixture();
    const packed = be.prepackConv2d(w, bias, opts);
    const records: TraceRecord[] = [];
    const y = be.kernels.conv2d(x, packed, out, { trace: { index: 'all', sink: (r) => records.push(r) } });
    expect(records).toHaveLength(y.numel);
    records.forEach((rec, i) => {
      const r = rec as GemmTraceRecord;
      expect(r).toMatchObject({ kind: 'gemm', op: 'conv2d', engine: 'qnnpack', index: i, biasKind: 'int32' });
      expect(r.input.codes).toHaveLength(2 * 3 * 3); // inC/groups · kH · kW, padding reported as x_zp
      expect(r.acc).toBe(handAcc(r));
      const c = r.channel;
      expect(c).toBe(Math.floor(i / (y.shape[2]! * y.shape[3]!)) % 6);
      expect(r.bias).toBe(qnnpackBias(bias[c]!, 0.02, w.qPerChannelScales()[c]!));
      expect(r.multiplier).toBe(qnnpackMultiplier(0.02, w.qPerChannelScales()[c]!, 0.05));
      expect(r.preRound).toBe(f32(f32(r.acc + r.bias) * r.multiplier));
      expect(r.output).toBe(Math.min(255, Math.max(0, 100 + roundHalfToEven(r.preRound))));
      expect(r.output).toBe(y.data[i]);
    });
    // Some windows overlap the padding: the padded taps appear as the input zero point.
    expect(records.some((r) => (r as GemmTraceRecord).input.codes.filter((v) => v === 117).length >= 3)).toBe(true);
  });

  it('conv2d onednn: a float bias term, ideep scales, zero point inside preRound', () => {
    const be = createJsBackend();
    const { x, w, bias, out, opts } = convFixture();
    const records: GemmTraceRecord[] = [];
    const y = be.kernels.conv2dRelu(x, be.prepackConv2d(w, bias, opts), out, {
      engine: 'onednn',
      trace: { index: 'all', sink: (r) => records.push(r as GemmTraceRecord) },
    });
    for (const r of records) {
      const ws = w.qPerChannelScales()[r.channel]!;
      const sc = onednnScales(0.02, ws, 0.05);
      expect(r.biasKind).toBe('float');
      expect(r.extra['biasScale']).toBe(sc.biasScale);
      expect(r.multiplier).toBe(sc.outputScale);
      expect(r.bias).toBe(f32(bias[r.channel]! * sc.biasScale));
      expect(r.acc).toBe(handAcc(r));
      const v = Math.max(0, f32(f32(f32(r.acc) + r.bias) * r.multiplier));
      expect(r.preRound).toBe(f32(v + 100));
      expect(r.output).toBe(Math.min(255, roundHalfToEven(r.preRound)));
      expect(r.output).toBe(y.data[r.index]);
    }
  });

  it('a numeric index reports that one element; no trace reports nothing and gives the same codes', () => {
    const be = createJsBackend();
    const { x, w, bias, out, opts } = convFixture();
    const packed = be.prepackConv2d(w, bias, opts);
    const plain = be.kernels.conv2d(x, packed, out);
    const records: TraceRecord[] = [];
    const traced = be.kernels.conv2d(x, packed, out, { trace: { index: 37, sink: (r) => records.push(r) } });
    expect(Array.from(traced.data)).toEqual(Array.from(plain.data));
    expect(records.map((r) => r.index)).toEqual([37]);
    expect(() => be.kernels.conv2d(x, packed, out, { trace: { index: plain.numel, sink: () => {} } })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });

  it('linear on a 3-D input: records per row and feature, accumulators equal the hand sum', () => {
    const be = createJsBackend();
    const r = lcg(3);
    const x = new QTensor(
      Uint8Array.from({ length: 2 * 3 * 7 }, () => r(0, 255)),
      [2, 3, 7],
      'quint8',
      { qscheme: 'per_tensor_affine', scale: 0.1, zeroPoint: 5 },
    );
    const w = new QTensor(
      Int8Array.from({ length: 4 * 7 }, () => r(-100, 100)),
      [4, 7],
      'qint8',
      { qscheme: 'per_tensor_affine', scale: 0.01, zeroPoint: -3 },
    );
    const records: GemmTraceRecord[] = [];
    const y = be.kernels.linear(
      x,
      be.prepackLinear(w, null),
      { scale: 0.2, zeroPoint: 128 },
      { trace: { index: 'all', sink: (rec) => records.push(rec as GemmTraceRecord) } },
    );
    expect(y.shape).toEqual([2, 3, 4]);
    for (const rec of records) {
      expect(rec.input.codes).toEqual(
        Array.from(x.data.subarray(Math.floor(rec.index / 4) * 7, Math.floor(rec.index / 4) * 7 + 7)),
      );
      expect(rec.weight.zeroPoint).toBe(-3);
      expect(rec.acc).toBe(handAcc(rec));
      expect(rec.biasKind).toBe('none');
      expect(rec.output).toBe(y.data[rec.index]);
    }
  });

  it('linearDynamic: the record holds the dynamic input qparams and the float output', () => {
    const be = createJsBackend();
    const x = Tensor.fromArray([0.5, -1.25, 2, 0.125, -0.5, 1], [2, 3]);
    const w = new QTensor(Int8Array.of(10, -20, 30, 40, 50, -60), [2, 3], 'qint8', {
      qscheme: 'per_tensor_affine',
      scale: 0.01,
      zeroPoint: 0,
    });
    const bias = Float32Array.of(0.1, -0.2);
    const records: GemmTraceRecord[] = [];
    const y = be.kernels.linearDynamic(x, be.prepackLinear(w, bias), {
      trace: { index: 'all', sink: (r) => records.push(r as GemmTraceRecord) },
    });
    expect(records).toHaveLength(4);
    const ys = y.toFloat32Array();
    for (const r of records) {
      expect(r.acc).toBe(handAcc(r));
      expect(r.multiplier).toBe(f32(f32(0.01) * f32(r.input.scale)));
      expect(r.output).toBe(f32(f32(r.multiplier * f32(r.acc)) + bias[r.channel]!));
      expect(r.output).toBe(ys[r.index]);
    }
  });

  it('rejects a trace index that is not an integer', () => {
    const be = createJsBackend();
    const { x, w, bias, out, opts } = convFixture();
    try {
      be.kernels.conv2d(x, be.prepackConv2d(w, bias, opts), out, { trace: { index: 1.5, sink: () => {} } });
      expect.unreachable();
    } catch (e) {
      expect(isQuantError(e) && e.code).toBe('INVALID_ARGUMENT');
    }
  });
});
