// Hand-computed cases, the trace hook, bad input and supports() of the non-GEMM kernels.
import { QTensor, type ElementTraceRecord, type TraceRecord } from '@quint/qtensor';
import { isQuantError } from '@quint/tensor';
import { describe, expect, it } from 'vitest';
import { createJsBackend } from '../src/index.js';

const be = createJsBackend();
const k = be.kernels;

function q(codes: number[], shape: number[], scale: number, zeroPoint: number): QTensor {
  return new QTensor(Uint8Array.from(codes), shape, 'quint8', { qscheme: 'per_tensor_affine', scale, zeroPoint });
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return isQuantError(e) ? e.code : `not a QuantError: ${String(e)}`;
  }
  return 'no error';
}

describe('hand-computed cases (spec §5.3 worked example, §5.4)', () => {
  it('add: codes [13, 20] (0.05, 10) + [5, 1] (0.1, 0) into (0.2, 3) gives [6, 6] on both engines', () => {
    const a = q([13, 20], [2], 0.05, 10);
    const b = q([5, 1], [2], 0.1, 0);
    for (const engine of ['qnnpack', 'onednn'] as const) {
      expect(Array.from(k.add(a, b, { scale: 0.2, zeroPoint: 3 }, { engine }).data)).toEqual([6, 6]);
    }
  });

  it('QNNPACK add rounds half away from zero where the generic kernel rounds half to even', () => {
    // a/out = 0.5 exactly: (1 − 0)·0.5 = 0.5 → fixed point rounds to 1, rne(0.5) = 0.
    const a = q([1, 3], [2], 0.5, 0);
    const b = q([0, 0], [2], 0.5, 0);
    expect(Array.from(k.add(a, b, { scale: 1, zeroPoint: 0 }, { engine: 'qnnpack' }).data)).toEqual([1, 2]);
    expect(Array.from(k.add(a, b, { scale: 1, zeroPoint: 0 }, { engine: 'onednn' }).data)).toEqual([0, 2]);
  });

  it('mul: (a − zp_a)(b − zp_b) in int32 times one float32 multiplier, mulRelu clamps at zp', () => {
    const a = q([12, 8], [2], 0.5, 10); // real 1, −1
    const b = q([14, 14], [2], 0.25, 10); // real 1, 1
    // acc = 2·4 = 8 and −8; M = 0.125/0.25 = 0.5 → ±4 around zp 100.
    expect(Array.from(k.mul(a, b, { scale: 0.25, zeroPoint: 100 }).data)).toEqual([104, 96]);
    expect(Array.from(k.mulRelu(a, b, { scale: 0.25, zeroPoint: 100 }).data)).toEqual([104, 100]);
  });

  it('relu6 clamps at quantize_val(6): zp + rne(6/0.5) = 12 + 10', () => {
    expect(Array.from(k.relu6(q([0, 10, 22, 30], [4], 0.5, 10)).data)).toEqual([10, 10, 22, 22]);
  });
});

describe('trace hook', () => {
  it('reports the fixed-point arithmetic of one element of the QNNPACK add', () => {
    const records: TraceRecord[] = [];
    const a = q([13, 20], [2], 0.05, 10);
    const b = q([5, 1], [2], 0.1, 0);
    const y = k.add(
      a,
      b,
      { scale: 0.2, zeroPoint: 3 },
      { engine: 'qnnpack', trace: { index: 1, sink: (r) => records.push(r) } },
    );
    expect(records).toHaveLength(1);
    const r = records[0] as ElementTraceRecord;
    expect(r).toMatchObject({ kind: 'element', op: 'add', engine: 'qnnpack', index: 1, output: y.data[1] });
    expect(r.inputs.map((o) => o.codes)).toEqual([[20], [1]]);
    // acc = zpp + a·aMult + b·bMult, and preRound = acc / 2^shift.
    const { acc, aMult, bMult, zeroPointProduct, shift } = r.intermediates as Record<string, number>;
    expect(acc).toBe(zeroPointProduct! + 20 * aMult! + 1 * bMult!);
    expect(r.preRound).toBe(acc! / 2 ** shift!);
  });

  it("reports every element with index 'all', and the generic add's operands", () => {
    const records: TraceRecord[] = [];
    const a = q([13, 20, 7], [3], 0.05, 10);
    const b = q([5, 1, 9], [3], 0.1, 0);
    k.add(
      a,
      b,
      { scale: 0.2, zeroPoint: 3 },
      { engine: 'onednn', trace: { index: 'all', sink: (r) => records.push(r) } },
    );
    expect(records.map((r) => r.index)).toEqual([0, 1, 2]);
    const r = records[2] as ElementTraceRecord;
    expect(r.intermediates['vectorBody']).toBe(0); // 3 elements: all in the scalar tail
    expect(r.preRound).toBe(
      Math.fround((r.intermediates['sum'] as number) * (r.intermediates['inverseScale'] as number)),
    );
  });

  it('reports the window of a pooled element', () => {
    const records: TraceRecord[] = [];
    const x = q([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3], 0.1, 0);
    k.maxPool2d(
      x,
      { kernelSize: 2, stride: 1 },
      { engine: 'onednn', trace: { index: 3, sink: (r) => records.push(r) } },
    );
    expect((records[0] as ElementTraceRecord).inputs[0]!.codes).toEqual([5, 6, 8, 9]);
    expect(records[0]!.output).toBe(9);
  });
});

describe('bad input fails before any work', () => {
  const a = q([1, 2, 3, 4], [1, 1, 2, 2], 0.1, 0);
  it('rejects qint8 activations, per-channel tensors and empty tensors', () => {
    const s8 = new QTensor(Int8Array.of(1, 2), [2], 'qint8', {
      qscheme: 'per_tensor_affine',
      scale: 0.1,
      zeroPoint: 0,
    });
    expect(codeOf(() => k.relu(s8))).toBe('DTYPE_MISMATCH');
    const pc = new QTensor(Uint8Array.of(1, 2), [2], 'quint8', {
      qscheme: 'per_channel_affine',
      scales: Float64Array.of(0.1, 0.2),
      zeroPoints: Int32Array.of(0, 0),
      axis: 0,
    });
    expect(codeOf(() => k.sigmoid(pc))).toBe('INVALID_QPARAMS');
    expect(codeOf(() => k.relu(q([], [0], 0.1, 0)))).toBe('EMPTY_TENSOR');
  });
  it('rejects shapes that do not broadcast, bad dims and bad windows', () => {
    expect(codeOf(() => k.add(a, q([1, 2, 3], [3], 0.1, 0), { scale: 0.1, zeroPoint: 0 }))).toBe('SHAPE_MISMATCH');
    expect(codeOf(() => k.cat([a, q([1, 2], [1, 1, 1, 2], 0.1, 0)], 1))).toBe('SHAPE_MISMATCH');
    expect(codeOf(() => k.cat([a], 4))).toBe('AXIS_OUT_OF_RANGE');
    expect(codeOf(() => k.maxPool2d(a, { kernelSize: 2, padding: 2 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => k.reshape(a, [3, -1]))).toBe('SHAPE_MISMATCH');
    expect(codeOf(() => k.add(a, a, { scale: 0.1, zeroPoint: 300 }))).toBe('INVALID_QPARAMS');
  });
  it('rejects output qparams QNNPACK sigmoid cannot produce, and unsupported engines', () => {
    expect(codeOf(() => k.sigmoid(a, { scale: 0.1, zeroPoint: 0 }, { engine: 'qnnpack' }))).toBe('INVALID_QPARAMS');
    expect(codeOf(() => k.add(a, a, { scale: 0.1, zeroPoint: 0 }, { engine: 'fbgemm' }))).toBe('UNSUPPORTED_OP');
  });
  it('runs the mean fallback path (dequantize → float mean → quantize; goldens: kernels-mean-cl.json)', () => {
    // PyTorch 1.13, onednn, channels_last: torch.mean(x, (2, 3)).int_repr() == [[2, 6]]
    expect(
      Array.from(
        k.mean(
          q([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 2, 2], 0.1, 0),
          { dim: [2, 3] },
          { engine: 'onednn', memoryFormat: 'channels_last' },
        ).data,
      ),
    ).toEqual([2, 6]);
  });
});

describe('supports()', () => {
  it("claims quint8 on qnnpack and onednn, ort where ONNX Runtime's formula is established, not fbgemm", () => {
    expect(be.supports('add', { engine: 'qnnpack' })).toBe(true);
    expect(be.supports('add', { engine: 'onednn', dtype: 'qint8' })).toBe(false);
    expect(be.supports('add', { engine: 'ort' })).toBe(true);
    expect(be.supports('add', { engine: 'fbgemm' })).toBe(false);
    expect(be.supports('relu', { engine: 'ort' })).toBe(true);
    expect(be.supports('maxPool2d', { engine: 'ort' })).toBe(true);
    expect(be.supports('mean', { engine: 'ort' })).toBe(true); // ReduceMean per `target` (docs/numerics.md)
    expect(be.supports('flatten', { engine: 'ort', dtype: 'qint8' })).toBe(true);
    expect(be.supports('mean', { engine: 'onednn', memoryFormat: 'channels_last' })).toBe(true); // the float-mean fallback
    expect(be.supports('mean', { engine: 'qnnpack', memoryFormat: 'channels_last' })).toBe(true);
  });
});
