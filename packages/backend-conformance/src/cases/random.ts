// Deterministic fillers for differential cases: fast-check draws a configuration and a seed, and the
// (possibly large) code arrays are derived from the seed, so shrinking works on the configuration.
import { QTensor } from '@quint/qtensor';

/** mulberry32: a tiny seeded PRNG returning uniform floats in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** How codes are drawn: the full range, a narrow band around a center, or only the extremes. */
export type CodeMode = 'full' | 'narrow' | 'extreme';

/** `n` integer codes in [lo, hi] drawn per `mode`. */
export function drawCodes(rand: () => number, n: number, lo: number, hi: number, mode: CodeMode): number[] {
  const out = new Array<number>(n);
  const mid = Math.round((lo + hi) / 2);
  for (let i = 0; i < n; i++) {
    const r = rand();
    out[i] =
      mode === 'extreme'
        ? r < 0.5
          ? lo
          : hi
        : mode === 'narrow'
          ? Math.min(hi, Math.max(lo, mid - 3 + Math.floor(r * 7)))
          : lo + Math.floor(r * (hi - lo + 1));
  }
  return out;
}

/** A per-tensor quint8 activation. */
export function quint8(shape: number[], codes: number[], scale: number, zeroPoint: number): QTensor {
  return new QTensor(Uint8Array.from(codes), shape, 'quint8', { qscheme: 'per_tensor_affine', scale, zeroPoint });
}

/** A qint8 weight, per channel on axis 0 when `perChannel`, else per tensor with the first scale and zero point. */
export function qint8Weight(
  shape: number[],
  codes: number[],
  scales: number[],
  zeroPoints: number[],
  perChannel: boolean,
): QTensor {
  const data = Int8Array.from(codes);
  return perChannel
    ? new QTensor(data, shape, 'qint8', {
        qscheme: 'per_channel_affine',
        scales: Float64Array.from(scales),
        zeroPoints: Int32Array.from(zeroPoints),
        axis: 0,
      })
    : new QTensor(data, shape, 'qint8', { qscheme: 'per_tensor_affine', scale: scales[0]!, zeroPoint: zeroPoints[0]! });
}
