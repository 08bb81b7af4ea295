import { readFileSync } from 'node:fs';
import { Tensor } from '@quint/tensor';

/** A tensor as the golden scripts store it: shape + base64 little-endian float32. */
export interface EncodedTensor {
  readonly shape: number[];
  readonly b64: string;
}

export function decode(e: EncodedTensor): Tensor {
  const buf = Buffer.from(e.b64, 'base64');
  const data = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  return new Tensor(data, e.shape);
}

export function loadGolden<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`./goldens/${name}`, import.meta.url), 'utf8')) as T;
}

/** Indices where two float arrays differ in bits (NaN equal to NaN). */
export function bitDiffs(a: ArrayLike<number>, b: ArrayLike<number>): number[] {
  const out: number[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (!(Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y)))) out.push(i);
  }
  return out;
}

/** Integer codes as the golden scripts store them. */
export interface EncodedCodes {
  readonly shape: number[];
  readonly dtype: 'uint8' | 'int8' | 'int32' | 'float32';
  readonly b64: string;
}

export function decodeCodes(e: EncodedCodes): number[] {
  const buf = Buffer.from(e.b64, 'base64');
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  const arr =
    e.dtype === 'uint8'
      ? new Uint8Array(ab)
      : e.dtype === 'int8'
        ? new Int8Array(ab)
        : e.dtype === 'int32'
          ? new Int32Array(ab)
          : new Float32Array(ab);
  return Array.from(arr);
}
