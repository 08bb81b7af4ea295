// Random quantized operands for the differential tests (seeded, so failures replay).
import { QTensor } from '@quint/qtensor';

/** mulberry32: a small seeded PRNG. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [lo, hi]. */
export function int(r: () => number, lo: number, hi: number): number {
  return lo + Math.floor(r() * (hi - lo + 1));
}

/** A quint8 activation with random codes, scale and zero point. */
export function activation(r: () => number, shape: readonly number[]): QTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Uint8Array(n);
  for (let i = 0; i < n; i++) data[i] = int(r, 0, 255);
  const scale = 0.002 + r() * 0.05;
  return new QTensor(data, shape, 'quint8', { qscheme: 'per_tensor_affine', scale, zeroPoint: int(r, 0, 255) });
}

/** A qint8 weight (per tensor or per channel on axis 0; symmetric or not). */
export function weight(
  r: () => number,
  shape: readonly number[],
  opts: { perChannel: boolean; symmetric: boolean },
): QTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Int8Array(n);
  for (let i = 0; i < n; i++) data[i] = int(r, -128, 127);
  const oc = shape[0]!;
  if (opts.perChannel) {
    const scales = new Float64Array(oc);
    const zeroPoints = new Int32Array(oc);
    for (let c = 0; c < oc; c++) {
      scales[c] = 0.001 + r() * 0.02;
      zeroPoints[c] = opts.symmetric ? 0 : int(r, -20, 20);
    }
    return new QTensor(data, shape, 'qint8', { qscheme: 'per_channel_affine', scales, zeroPoints, axis: 0 });
  }
  return new QTensor(data, shape, 'qint8', {
    qscheme: opts.symmetric ? 'per_tensor_symmetric' : 'per_tensor_affine',
    scale: 0.001 + r() * 0.02,
    zeroPoint: opts.symmetric ? 0 : int(r, -20, 20),
  });
}

/** A float32 bias or null. */
export function bias(r: () => number, n: number, present: boolean): Float32Array | null {
  if (!present) return null;
  const b = new Float32Array(n);
  for (let i = 0; i < n; i++) b[i] = (r() - 0.5) * 4;
  return b;
}
