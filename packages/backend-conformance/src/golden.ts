import { readFileSync } from 'node:fs';
import { makePerChannelQuantizedTensor, QTensor, type QDtype } from '@quint/qtensor';
import { QuantError, Tensor } from '@quint/tensor';
import type { CaseOutput, ExpectedOutput } from './cases/types.js';

/** A quantized tensor as the golden generators write it (`tools/goldens/*.py`). */
export interface QTensorJson {
  readonly shape: readonly number[];
  readonly dtype: QDtype;
  readonly codes: readonly number[];
  /** Per tensor. */
  readonly scale?: number;
  readonly zeroPoint?: number;
  /** Per channel (doubles, as `q_per_channel_scales()`). */
  readonly scales?: readonly number[];
  readonly zeroPoints?: readonly number[];
  readonly axis?: number;
}

/**
 * Reads `goldens/<file>` of this package (JSON written by `tools/goldens/*.py`). Resolved relative to
 * the module, so it works from `src/` and `dist/` alike.
 *
 * @throws `QuantError('IO_ERROR')` when the file is missing.
 * @example
 * const g = loadGolden<{ cases: unknown[] }>('kernels_gemm.json');
 */
export function loadGolden<T>(file: string): T {
  const url = new URL(`../goldens/${file}`, import.meta.url);
  let text: string;
  try {
    text = readFileSync(url, 'utf8');
  } catch (e) {
    throw new QuantError(
      'IO_ERROR',
      `golden file ${url.pathname} cannot be read; run the generator in tools/goldens/ and commit its output.`,
      { cause: e },
    );
  }
  return JSON.parse(text) as T;
}

/**
 * Builds a QTensor from its golden JSON form (per tensor or per channel).
 *
 * @example
 * qtensorFromJson({ shape: [2], dtype: 'quint8', codes: [0, 255], scale: 0.1, zeroPoint: 3 });
 */
export function qtensorFromJson(j: QTensorJson): QTensor {
  const data =
    j.dtype === 'quint8'
      ? Uint8Array.from(j.codes)
      : j.dtype === 'qint8'
        ? Int8Array.from(j.codes)
        : Int32Array.from(j.codes);
  if (j.scales !== undefined) {
    return makePerChannelQuantizedTensor(
      { data, shape: j.shape },
      j.scales,
      j.zeroPoints ?? j.scales.map(() => 0),
      j.axis ?? 0,
    );
  }
  return new QTensor(data, j.shape, j.dtype, {
    qscheme: 'per_tensor_affine',
    scale: j.scale ?? 1,
    zeroPoint: j.zeroPoint ?? 0,
  });
}

/**
 * float32 values from their IEEE bit patterns (uint32), as goldens store floats.
 *
 * @example
 * floatsFromBits([0x3fc00000]); // Float32Array [1.5]
 */
export function floatsFromBits(bits: readonly number[]): Float32Array {
  return new Float32Array(Uint32Array.from(bits).buffer);
}

/**
 * The IEEE bit patterns (uint32) of float32 values: what float outputs are compared by.
 *
 * @example
 * bitsOfFloats(Float32Array.of(-0)); // [0x80000000]
 */
export function bitsOfFloats(values: Float32Array): number[] {
  return Array.from(new Uint32Array(values.buffer, values.byteOffset, values.length));
}

function describeOutput(o: CaseOutput): string {
  return o instanceof QTensor ? `QTensor ${o.dtype} [${o.shape.join(', ')}]` : `Tensor [${o.shape.join(', ')}]`;
}

function firstDiff(a: ArrayLike<number>, b: ArrayLike<number>): string | null {
  if (a.length !== b.length) return `length ${a.length} vs ${b.length}`;
  let count = 0;
  let first = -1;
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) {
      if (first < 0) first = i;
      count++;
    }
  }
  return first < 0
    ? null
    : `${count} of ${a.length} differ; first at flat index ${first}: got ${a[first]}, expected ${b[first]}`;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Compares an output with a golden expectation, bit for bit. Returns null when equal, else a
 * one-line description of the first difference and the number of differing elements.
 *
 * @example
 * diffExpected(y, { shape: [1, 2], codes: [170, 96], scale: 0.005, zeroPoint: 100 }); // null when equal
 */
export function diffExpected(actual: CaseOutput, expected: ExpectedOutput): string | null {
  if (!sameShape(actual.shape, expected.shape)) {
    return `shape [${actual.shape.join(', ')}], expected [${expected.shape.join(', ')}]`;
  }
  if ('codes' in expected) {
    if (!(actual instanceof QTensor)) return `${describeOutput(actual)}, expected a QTensor`;
    if ('scales' in expected) {
      if (!actual.isPerChannel()) return `per-tensor output, expected per channel`;
      const got = {
        scales: Array.from(actual.qPerChannelScales()),
        zeroPoints: Array.from(actual.qPerChannelZeroPoints()),
        axis: actual.qPerChannelAxis(),
      };
      const want = { scales: [...expected.scales], zeroPoints: [...expected.zeroPoints], axis: expected.axis };
      if (JSON.stringify(got) !== JSON.stringify(want))
        return `qparams ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`;
      return firstDiff(actual.data, expected.codes);
    }
    if (actual.isPerChannel()) return `per-channel output, expected per tensor`;
    if (Math.fround(actual.qScale()) !== Math.fround(expected.scale) || actual.qZeroPoint() !== expected.zeroPoint) {
      return `qparams (${actual.qScale()}, ${actual.qZeroPoint()}), expected (${expected.scale}, ${expected.zeroPoint})`;
    }
    return firstDiff(actual.data, expected.codes);
  }
  if (actual instanceof QTensor) return `${describeOutput(actual)}, expected float32 values`;
  return firstDiff(bitsOfFloats(actual.toFloat32Array()), expected.floatBits);
}

/**
 * Compares two outputs (backend under test vs reference), bit for bit: dtype, shape, qparams and codes,
 * or float32 bits. Returns null when equal, else a one-line description.
 *
 * @example
 * diffOutputs(wasm.kernels.relu(x), js.kernels.relu(x)); // null when bit-identical
 */
export function diffOutputs(actual: CaseOutput, reference: CaseOutput): string | null {
  if (actual instanceof QTensor && reference instanceof QTensor) {
    if (actual.dtype !== reference.dtype) return `dtype ${actual.dtype}, reference ${reference.dtype}`;
    if (!sameShape(actual.shape, reference.shape))
      return `shape [${actual.shape.join(', ')}], reference [${reference.shape.join(', ')}]`;
    const qa = JSON.stringify(qparamsOf(actual));
    const qr = JSON.stringify(qparamsOf(reference));
    if (qa !== qr) return `qparams ${qa}, reference ${qr}`;
    return firstDiff(actual.data, reference.data);
  }
  if (actual instanceof Tensor && reference instanceof Tensor) {
    if (!sameShape(actual.shape, reference.shape))
      return `shape [${actual.shape.join(', ')}], reference [${reference.shape.join(', ')}]`;
    return firstDiff(bitsOfFloats(actual.toFloat32Array()), bitsOfFloats(reference.toFloat32Array()));
  }
  return `${describeOutput(actual)}, reference ${describeOutput(reference)}`;
}

function qparamsOf(q: QTensor): unknown {
  const p = q.qparams;
  return 'scales' in p
    ? {
        qscheme: p.qscheme,
        scales: Array.from(p.scales, Math.fround),
        zeroPoints: Array.from(p.zeroPoints),
        axis: p.axis,
      }
    : { scale: Math.fround(p.scale), zeroPoint: p.zeroPoint };
}

/**
 * Codes from a golden hex string (one byte per code; qint8 as two's complement).
 *
 * @example
 * codesFromHex('00ff', 'qint8'); // [0, -1]
 */
export function codesFromHex(hex: string, dtype: 'quint8' | 'qint8'): number[] {
  const out = new Array<number>(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    const b = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
    out[i] = dtype === 'qint8' && b > 127 ? b - 256 : b;
  }
  return out;
}

/**
 * float32 bit patterns from a golden hex string (8 hex digits per value, big-endian).
 *
 * @example
 * bitsFromHex('3fc00000'); // [0x3fc00000]
 */
export function bitsFromHex(hex: string): number[] {
  const out = new Array<number>(hex.length / 8);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(8 * i, 8 * i + 8), 16) >>> 0;
  return out;
}
