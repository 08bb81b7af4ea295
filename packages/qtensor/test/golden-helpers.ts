import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** A base64 array as the golden generator writes it (`tools/goldens/qtensor_quantize.py`). */
export interface B64Array {
  dtype: '<f4' | '<f8' | '<i4' | '|u1' | '|i1';
  b64: string;
}

export function loadGolden<T>(name: string): T {
  return JSON.parse(readFileSync(fileURLToPath(new URL(`./goldens/${name}`, import.meta.url)), 'utf8')) as T;
}

export function decode(a: B64Array): Float32Array | Float64Array | Int32Array | Uint8Array | Int8Array {
  const buf = Buffer.from(a.b64, 'base64');
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  switch (a.dtype) {
    case '<f4':
      return new Float32Array(ab);
    case '<f8':
      return new Float64Array(ab);
    case '<i4':
      return new Int32Array(ab);
    case '|u1':
      return new Uint8Array(ab);
    case '|i1':
      return new Int8Array(ab);
    default:
      throw new Error(`unknown golden dtype ${String(a.dtype)}`);
  }
}

/** The first index where two arrays differ bit for bit (floats by their bits), or -1. */
export function firstBitMismatch(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  const fa = new Float64Array(1);
  const fb = new Float64Array(1);
  const ua = new BigUint64Array(fa.buffer);
  const ub = new BigUint64Array(fb.buffer);
  for (let i = 0; i < a.length; i++) {
    fa[0] = a[i]!;
    fb[0] = b[i]!;
    // Float32 values widen to doubles exactly, so comparing the float64 bits compares float32 bits
    // too (NaN payloads aside: both sides come from float32 quiet NaNs here).
    if (ua[0] !== ub[0]) return i;
  }
  return -1;
}

/** Describes a mismatch for an assertion message. */
export function mismatch(a: ArrayLike<number>, b: ArrayLike<number>): string {
  const i = firstBitMismatch(a, b);
  return i < 0 ? 'identical' : `index ${i}: got ${a[i]}, PyTorch ${b[i]} (lengths ${a.length}/${b.length})`;
}
