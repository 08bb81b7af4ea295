import { readFileSync } from 'node:fs';
import { Tensor } from '@quint/tensor';

/** A tensor as the golden generator stores it: shape plus base64 little-endian float32 or int32. */
export interface GoldenTensor {
  shape: number[];
  f32?: string;
  int32?: string;
}

export interface GoldenCase {
  name: string;
  observer: string;
  kwargs: Record<string, unknown>;
  quantMin: number;
  quantMax: number;
  batches: GoldenTensor[];
  stateDict: Record<string, GoldenTensor>;
  scale: GoldenTensor;
  zeroPoint?: GoldenTensor;
  zeroPointFloat?: GoldenTensor;
  repr: string;
}

export function loadGolden<T>(file: string): T {
  return JSON.parse(readFileSync(new URL(`./goldens/${file}`, import.meta.url), 'utf8')) as T;
}

export function f32(t: GoldenTensor): Float32Array {
  const b = Buffer.from(t.f32!, 'base64');
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

export function i32(t: GoldenTensor): Int32Array {
  const b = Buffer.from(t.int32!, 'base64');
  return new Int32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

export function toTensor(t: GoldenTensor): Tensor {
  return new Tensor(f32(t), t.shape);
}

export function stateDictOf(c: GoldenCase): Record<string, Float32Array | Int32Array> {
  return Object.fromEntries(Object.entries(c.stateDict).map(([k, v]) => [k, v.int32 !== undefined ? i32(v) : f32(v)]));
}

const snakeToCamel = (s: string) => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** PyTorch keyword arguments (snake_case, floats as {float: repr}) to our options object. */
export function toOptions(kwargs: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(kwargs)) {
    const value = typeof v === 'object' && v !== null && 'float' in v ? Number((v as { float: string }).float) : v;
    out[k === 'custom_op_name' ? 'customOpName' : snakeToCamel(k)] = value;
  }
  return out;
}

/** Bitwise equality of float arrays (distinguishes nothing NaN-related; goldens hold no NaN). */
export function bits(a: Float32Array): number[] {
  return Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
}
