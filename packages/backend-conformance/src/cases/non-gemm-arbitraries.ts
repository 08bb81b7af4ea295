// fast-check arbitraries of quint8 tensors and qparams for the non-GEMM differential cases.
import { QTensor, type MemoryFormat } from '@quint/qtensor';
import * as fc from 'fast-check';

/** A float32-representable scale in [lo, hi] (what an observer produces). */
export function scaleArb(lo = 0.002, hi = 0.5): fc.Arbitrary<number> {
  return fc.float({ min: Math.fround(lo), max: Math.fround(hi), noNaN: true, noDefaultInfinity: true });
}

/** A quint8 zero point. */
export const zeroPointArb: fc.Arbitrary<number> = fc.integer({ min: 0, max: 255 });

/** Plain data for a quint8 tensor (so fast-check can print and shrink it). */
export interface QData {
  readonly shape: number[];
  readonly codes: number[];
  readonly scale: number;
  readonly zeroPoint: number;
}

/** A quint8 tensor of exactly `shape` with random codes and qparams. */
export function qdataArb(shape: readonly number[]): fc.Arbitrary<QData> {
  const n = shape.reduce((p, d) => p * d, 1);
  return fc.record({
    shape: fc.constant([...shape]),
    codes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: n, maxLength: n }),
    scale: scaleArb(),
    zeroPoint: zeroPointArb,
  });
}

/** An NCHW shape with each dim in the given range. */
export function nchwArb(maxN = 2, maxC = 40, maxH = 9, maxW = 9): fc.Arbitrary<[number, number, number, number]> {
  return fc.tuple(
    fc.integer({ min: 1, max: maxN }),
    fc.integer({ min: 1, max: maxC }),
    fc.integer({ min: 1, max: maxH }),
    fc.integer({ min: 1, max: maxW }),
  );
}

/** A memory format hint. */
export const memoryFormatArb: fc.Arbitrary<MemoryFormat> = fc.constantFrom('contiguous', 'channels_last');

/** The QTensor of {@link QData}. */
export function toQ(d: QData): QTensor {
  return new QTensor(Uint8Array.from(d.codes), d.shape, 'quint8', {
    qscheme: 'per_tensor_affine',
    scale: d.scale,
    zeroPoint: d.zeroPoint,
  });
}
