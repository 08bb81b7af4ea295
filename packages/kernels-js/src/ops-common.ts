// Shared checks and loop helpers of the non-GEMM kernels (elementwise.ts, activations.ts,
// pooling.ts, shape.ts). Internal: nothing here is exported from the package.
import { QuantError } from '@quint/tensor';
import {
  DTYPE_RANGE,
  QTensor,
  allocStorage,
  roundHalfToEven,
  type ElementTraceRecord,
  type Engine,
  type KernelOptions,
  type MemoryFormat,
  type OpName,
  type OutQparams,
  type PerTensorQparams,
  type SupportsParams,
  type QDtype,
  type TraceOperand,
} from '@quint/qtensor';

export const f32 = Math.fround;

/** Per-tensor qparams of one input, after the checks every non-GEMM kernel makes. */
export interface InputQ {
  readonly scale: number;
  readonly zeroPoint: number;
  readonly dtype: QDtype;
}

/** The engine of a call (default qnnpack, DESIGN.md "Numerics"). */
export function engineOf(opts: KernelOptions | undefined): Engine {
  return opts?.engine ?? 'qnnpack';
}

/**
 * Checks that `x` is a non-empty per-tensor quint8 tensor: the dtype every non-GEMM kernel of this
 * package computes (PyTorch routes qint8 activations to XNNPACK on qnnpack, spec §5.0, which is not
 * reproduced here).
 */
export function checkInput(op: OpName, x: QTensor, what = 'input'): InputQ {
  if (!(x instanceof QTensor)) {
    throw new QuantError('INVALID_ARGUMENT', `${op}: ${what} is not a QTensor; quantize it first (quantizePerTensor).`);
  }
  if (x.qparams.qscheme !== 'per_tensor_affine' && x.qparams.qscheme !== 'per_tensor_symmetric') {
    throw new QuantError(
      'INVALID_QPARAMS',
      `${op}: ${what} is ${x.qparams.qscheme}; activations must be quantized per tensor (requantize with quantizePerTensor).`,
    );
  }
  if (x.dtype !== 'quint8') {
    throw new QuantError('DTYPE_MISMATCH', `${op}: ${what} dtype is ${x.dtype}; this kernel computes quint8 activations only.`);
  }
  if (x.numel === 0) {
    throw new QuantError('EMPTY_TENSOR', `${op}: ${what} of shape [${x.shape.join(', ')}] is empty; pass at least one element.`);
  }
  const p = x.qparams as PerTensorQparams;
  return { scale: p.scale, zeroPoint: p.zeroPoint, dtype: x.dtype };
}

/** Checks explicit output qparams (quint8 only). */
export function checkOut(op: OpName, out: OutQparams | undefined): { scale: number; zeroPoint: number } {
  if (out === undefined || out === null) {
    throw new QuantError('INVALID_ARGUMENT', `${op}: output qparams are missing; pass { scale, zeroPoint }.`);
  }
  const dtype = out.dtype ?? 'quint8';
  if (dtype !== 'quint8') {
    throw new QuantError('DTYPE_MISMATCH', `${op}: output dtype ${dtype} is not supported; use 'quint8'.`);
  }
  const { scale, zeroPoint } = out;
  if (!(scale > 0) || !Number.isFinite(scale) || !(f32(scale) > 0) || !Number.isFinite(f32(scale))) {
    throw new QuantError('INVALID_QPARAMS', `${op}: output scale ${scale} must be a positive finite float32; pass a scale > 0.`);
  }
  if (!Number.isInteger(zeroPoint) || zeroPoint < 0 || zeroPoint > 255) {
    throw new QuantError('INVALID_QPARAMS', `${op}: output zero point ${zeroPoint} is outside [0, 255]; pass an integer in [0, 255].`);
  }
  return { scale, zeroPoint };
}

/** Builds a per-tensor quint8 result. */
export function makeOut(data: Uint8Array, shape: readonly number[], scale: number, zeroPoint: number): QTensor {
  return new QTensor(data, shape, 'quint8', { qscheme: 'per_tensor_affine', scale, zeroPoint });
}

/** Fresh quint8 storage. */
export function allocU8(n: number): Uint8Array {
  return allocStorage('quint8', n);
}

/** `clamp(v, qmin, qmax)` for quint8. */
export function clampU8(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/**
 * `quantize_val` with a given reciprocal (spec §1.2, §5.12): `clamp(zp + rne(f32(x · inv)))`. Kernels
 * differ only in how `inv` is computed (`1.0f/f32(s)` or `f32(1.0/s)` in double), so they pass it.
 */
export function quantizeWithInvU8(x: number, inv: number, zeroPoint: number): number {
  return clampU8(zeroPoint + roundHalfToEven(f32(x * inv)));
}

/** `1.0f / f32(s)`: the reciprocal of `quantize_val` and of most vectorized kernels (spec §5.12). */
export function invFloat(scale: number): number {
  return f32(1 / f32(scale));
}

/** `f32(1.0 / s)` with the division in double: hardswish, hardsigmoid, sigmoid, NHWC cat (spec §5.12). */
export function invDouble(scale: number): number {
  return f32(1 / scale);
}

export const U8_RANGE = DTYPE_RANGE.quint8;

/**
 * True when PyTorch would find this 4-D tensor `is_contiguous(channels_last)`: a channels_last
 * tensor, and also every NCHW tensor with C == 1 or H = W = 1, whose strides satisfy both formats
 * (size-1 dims are ignored by the check). Several kernels pick their path by this flag (spec §5.8).
 */
export function isChannelsLastContiguous(shape: readonly number[], memoryFormat: MemoryFormat | undefined): boolean {
  if (shape.length !== 4) return false;
  if (memoryFormat === 'channels_last') return true;
  return shape[1] === 1 || shape[2]! * shape[3]! === 1;
}

/**
 * The logical (C-order) index of each position in memory order: identity for contiguous tensors,
 * NHWC order for channels_last 4-D tensors. PyTorch's `cpu_kernel_vec` walks memory order, and its
 * vectorized body covers a prefix of it (spec §12.C4).
 */
export function memoryOrder(shape: readonly number[], memoryFormat: MemoryFormat | undefined): Int32Array | null {
  if (memoryFormat !== 'channels_last' || shape.length !== 4) return null;
  const [n, c, h, w] = shape as [number, number, number, number];
  const order = new Int32Array(n * c * h * w);
  let m = 0;
  for (let in_ = 0; in_ < n; in_++)
    for (let ih = 0; ih < h; ih++)
      for (let iw = 0; iw < w; iw++)
        for (let ic = 0; ic < c; ic++) order[m++] = ((in_ * c + ic) * h + ih) * w + iw;
  return order;
}

/**
 * Elements per vectorized step of `cpu_kernel_vec` for 8-bit types under ATen's AVX2 kernels:
 * two `Vectorized<quint8>` of 32 lanes (spec §5.3, §11.3). In a loop of n elements the first
 * `⌊n/64⌋·64` take the vector body, the rest the scalar tail.
 */
export const VEC_STEP_U8 = 64;

/** The trace hook of one call, or null when off (then kernels pay one branch per element). */
export interface Tracer {
  readonly want: (index: number) => boolean;
  readonly emit: (record: Omit<ElementTraceRecord, 'kind' | 'op' | 'engine'>) => void;
}

/** Returns a {@link Tracer} for `opts.trace`, or null. */
export function tracerOf(op: OpName, engine: Engine, opts: KernelOptions | undefined): Tracer | null {
  const t = opts?.trace;
  if (!t) return null;
  const index = t.index ?? 0;
  return {
    want: index === 'all' ? () => true : (i) => i === index,
    emit: (r) => t.sink({ kind: 'element', op, engine, ...r }),
  };
}

/** A {@link TraceOperand} of a per-tensor input. */
export function operand(codes: readonly number[], q: { scale: number; zeroPoint: number }): TraceOperand {
  return { codes, zeroPoint: q.zeroPoint, scale: q.scale };
}

/** Normalizes a number-or-pair argument (PyTorch's `_pair`). */
export function pair(op: OpName, name: string, v: number | readonly [number, number] | undefined, dflt: readonly [number, number]): [number, number] {
  const p: readonly number[] = v === undefined ? dflt : typeof v === 'number' ? [v, v] : v;
  if (p.length !== 2 || !p.every((e) => Number.isInteger(e))) {
    throw new QuantError('INVALID_ARGUMENT', `${op}: ${name} ${JSON.stringify(v)} must be an integer or a pair of integers.`);
  }
  return [p[0]!, p[1]!];
}

const NON_GEMM_ANY_DTYPE: ReadonlySet<OpName> = new Set(['reshape', 'flatten']);
const NON_GEMM_OPS: ReadonlySet<OpName> = new Set([
  'add', 'addRelu', 'mul', 'mulRelu', 'cat',
  'relu', 'relu6', 'hardtanh', 'clamp', 'hardswish', 'hardsigmoid', 'sigmoid', 'tanh',
  'maxPool2d', 'avgPool2d', 'adaptiveAvgPool2d', 'mean', 'reshape', 'flatten',
]);

/**
 * What the non-GEMM reference kernels compute: quint8 activations (reshape/flatten: any dtype), and
 * `mean` on a channels_last input only on engine qnnpack (the generic path dequantizes and runs the
 * float mean, not reproduced). Engines are filtered by OP_NAMES before this is asked.
 */
export function supportsNonGemm(op: OpName, p: SupportsParams): boolean {
  if (!NON_GEMM_OPS.has(op)) return true;
  if (!NON_GEMM_ANY_DTYPE.has(op) && p.dtype !== undefined && p.dtype !== 'quint8') return false;
  if (op === 'mean' && p.memoryFormat === 'channels_last' && (p.engine ?? 'qnnpack') !== 'qnnpack') return false;
  return true;
}
