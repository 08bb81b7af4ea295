// What every non-GEMM backend (add, clamps, table activations, pooling, mean) checks and computes
// around its integer core, shared so that kernels-js and kernels-wasm reject the same inputs with the
// same codes and messages and walk the same memory order: argument checks, output qparams, the
// TensorIterator inner loop that splits vector body from scalar tail (spec §12.C4), QNNPACK's add
// parameters, pooling geometry, trace records and `supports()` rules. The per-element arithmetic
// belongs to a backend; the 256-entry tables and their formulas are in lookup-tables.ts.
import { QuantError } from '@quint/tensor';
import {
  DEFAULT_ENGINE,
  type AvgPool2dParams,
  type ClampParams,
  type ElementTraceRecord,
  type Engine,
  type HardtanhParams,
  type KernelOptions,
  type MaxPool2dParams,
  type MeanParams,
  type MemoryFormat,
  type OpName,
  type OutQparams,
  type SupportsParams,
  type TraceOperand,
} from './backend.js';
import type { QDtype } from './dtypes.js';
import { QTensor, type PerTensorQparams } from './qtensor.js';
import { roundHalfToEven } from './rounding.js';

const f32 = Math.fround;

/** Per-tensor quint8 qparams of a non-GEMM output (or of an input, without its dtype). */
export interface NonGemmQparams {
  readonly scale: number;
  readonly zeroPoint: number;
}

/** Per-tensor qparams of one input, after the checks of {@link checkNonGemmInput}. */
export interface NonGemmInput extends NonGemmQparams {
  readonly dtype: QDtype;
}

/**
 * The engine of a non-GEMM kernel call: `opts.engine`, default {@link DEFAULT_ENGINE} (qnnpack).
 *
 * @example
 * if (engineOf(opts) === 'ort') return ortAvgPool2d(x, params, opts);
 */
export function engineOf(opts: KernelOptions | undefined): Engine {
  return opts?.engine ?? DEFAULT_ENGINE;
}

/**
 * Checks that `x` is a non-empty per-tensor quint8 tensor: the dtype every non-GEMM kernel computes
 * (PyTorch routes qint8 activations to XNNPACK on qnnpack, spec §5.0, which is not reproduced).
 *
 * @throws `INVALID_ARGUMENT` for a non-QTensor; `INVALID_QPARAMS` for per-channel qparams;
 *   `DTYPE_MISMATCH` for another dtype; `EMPTY_TENSOR`.
 * @example
 * const aQ = checkNonGemmInput('add', a, 'a');
 */
export function checkNonGemmInput(op: OpName, x: QTensor, what = 'input'): NonGemmInput {
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
    throw new QuantError(
      'DTYPE_MISMATCH',
      `${op}: ${what} dtype is ${x.dtype}; this kernel computes quint8 activations only.`,
    );
  }
  if (x.numel === 0) {
    throw new QuantError(
      'EMPTY_TENSOR',
      `${op}: ${what} of shape [${x.shape.join(', ')}] is empty; pass at least one element.`,
    );
  }
  const p = x.qparams as PerTensorQparams;
  return { scale: p.scale, zeroPoint: p.zeroPoint, dtype: x.dtype };
}

/**
 * Checks explicit output qparams of a non-GEMM kernel (quint8 only).
 *
 * @throws `INVALID_ARGUMENT` when missing; `DTYPE_MISMATCH` for another dtype; `INVALID_QPARAMS` for
 *   a scale that is not a positive finite float32 or a zero point outside [0, 255].
 * @example
 * const o = checkNonGemmOut('hardswish', { scale: 0.04, zeroPoint: 20 });
 */
export function checkNonGemmOut(op: OpName, out: OutQparams | undefined): NonGemmQparams {
  if (out === undefined || out === null) {
    throw new QuantError('INVALID_ARGUMENT', `${op}: output qparams are missing; pass { scale, zeroPoint }.`);
  }
  const dtype = out.dtype ?? 'quint8';
  if (dtype !== 'quint8') {
    throw new QuantError('DTYPE_MISMATCH', `${op}: output dtype ${dtype} is not supported; use 'quint8'.`);
  }
  const { scale, zeroPoint } = out;
  if (!(scale > 0) || !Number.isFinite(scale) || !(f32(scale) > 0) || !Number.isFinite(f32(scale))) {
    throw new QuantError(
      'INVALID_QPARAMS',
      `${op}: output scale ${scale} must be a positive finite float32; pass a scale > 0.`,
    );
  }
  if (!Number.isInteger(zeroPoint) || zeroPoint < 0 || zeroPoint > 255) {
    throw new QuantError(
      'INVALID_QPARAMS',
      `${op}: output zero point ${zeroPoint} is outside [0, 255]; pass an integer in [0, 255].`,
    );
  }
  return { scale, zeroPoint };
}

/**
 * Builds a per-tensor affine quint8 result over `data` (not copied).
 *
 * @example
 * return makeQuint8Out(y, x.shape, q.scale, q.zeroPoint);
 */
export function makeQuint8Out(data: Uint8Array, shape: readonly number[], scale: number, zeroPoint: number): QTensor {
  return new QTensor(data, shape, 'quint8', { qscheme: 'per_tensor_affine', scale, zeroPoint });
}

/**
 * `clamp(v, 0, 255)`: quint8's `[qmin, qmax]`.
 *
 * @example
 * clampU8(zeroPoint + roundHalfToEven(pre));
 */
export function clampU8(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/**
 * `quantize_val` with a given reciprocal (spec §1.2, §5.12): `clamp(zp + rne(f32(x · inv)))`. Kernels
 * differ only in how `inv` is computed ({@link invFloat} or {@link invDouble}), so they pass it.
 *
 * @example
 * quantizeWithInvU8(0.25, invFloat(0.1), 10); // 12
 */
export function quantizeWithInvU8(x: number, inv: number, zeroPoint: number): number {
  return clampU8(zeroPoint + roundHalfToEven(f32(x * inv)));
}

/**
 * `1.0f / f32(s)`: the reciprocal of `quantize_val` and of most vectorized kernels (spec §5.12).
 *
 * @example
 * const inv = invFloat(out.scale);
 */
export function invFloat(scale: number): number {
  return f32(1 / f32(scale));
}

/**
 * `f32(1.0 / s)` with the division in double: hardswish, hardsigmoid, sigmoid, NHWC cat (spec §5.12).
 *
 * @example
 * const invVec = invDouble(out.scale);
 */
export function invDouble(scale: number): number {
  return f32(1 / scale);
}

/**
 * Elements per vectorized step of `cpu_kernel_vec` for 8-bit types under ATen's AVX2 kernels: two
 * `Vectorized<quint8>` of 32 lanes (spec §5.3, §11.3). In a loop of n elements the first `⌊n/64⌋·64`
 * take the vector body, the rest the scalar tail.
 *
 * @example
 * const vecEnd = Math.floor(n / VEC_STEP_U8) * VEC_STEP_U8;
 */
export const VEC_STEP_U8 = 64;

/**
 * True when PyTorch would find this 4-D tensor `is_contiguous(channels_last)`: a channels_last
 * tensor, and also every NCHW tensor with C == 1 or H = W = 1, whose strides satisfy both formats
 * (size-1 dims are ignored by the check). Several kernels pick their path by this flag (spec §5.8).
 *
 * @example
 * isChannelsLastContiguous([1, 1, 4, 4], 'contiguous'); // true
 */
export function isChannelsLastContiguous(shape: readonly number[], memoryFormat: MemoryFormat | undefined): boolean {
  if (shape.length !== 4) return false;
  if (memoryFormat === 'channels_last') return true;
  return shape[1] === 1 || shape[2]! * shape[3]! === 1;
}

/** The per-element trace hook of one call (see {@link elementTracer}). */
export interface ElementTracer {
  /** True for the output indices `opts.trace.index` asks for. */
  readonly want: (index: number) => boolean;
  /** Sends one record, with `kind`, `op` and `engine` filled in. */
  readonly emit: (record: Omit<ElementTraceRecord, 'kind' | 'op' | 'engine'>) => void;
}

/**
 * The trace hook for `opts.trace`, or null when tracing is off (then kernels pay one branch per
 * element).
 *
 * @example
 * const tracer = elementTracer('relu', engine, opts);
 * if (tracer?.want(i)) tracer.emit({ index: i, inputs: [perTensorOperand([code], q)], intermediates: {}, preRound: null, output: v });
 */
export function elementTracer(op: OpName, engine: Engine, opts: KernelOptions | undefined): ElementTracer | null {
  const t = opts?.trace;
  if (!t) return null;
  const index = t.index ?? 0;
  return {
    want: index === 'all' ? () => true : (i) => i === index,
    emit: (r) => t.sink({ kind: 'element', op, engine, ...r }),
  };
}

/**
 * A {@link TraceOperand} of a per-tensor input.
 *
 * @example
 * perTensorOperand([qa], aQ);
 */
export function perTensorOperand(codes: readonly number[], q: NonGemmQparams): TraceOperand {
  return { codes, zeroPoint: q.zeroPoint, scale: q.scale };
}

/**
 * Normalizes a number-or-pair argument (PyTorch's `_pair`); `undefined` gives `dflt`.
 *
 * @throws `INVALID_ARGUMENT` unless an integer or a pair of integers.
 * @example
 * const k = checkPair('maxPool2d', 'kernelSize', params.kernelSize, [1, 1]);
 */
export function checkPair(
  op: OpName,
  name: string,
  v: number | readonly [number, number] | undefined,
  dflt: readonly [number, number],
): [number, number] {
  const p: readonly number[] = v === undefined ? dflt : typeof v === 'number' ? [v, v] : v;
  if (p.length !== 2 || !p.every((e) => Number.isInteger(e))) {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `${op}: ${name} ${JSON.stringify(v)} must be an integer or a pair of integers.`,
    );
  }
  return [p[0]!, p[1]!];
}

const NON_GEMM_ANY_DTYPE: ReadonlySet<OpName> = new Set(['reshape', 'flatten']);
const NON_GEMM_OPS: ReadonlySet<OpName> = new Set([
  'add',
  'addRelu',
  'mul',
  'mulRelu',
  'cat',
  'relu',
  'relu6',
  'hardtanh',
  'clamp',
  'hardswish',
  'hardsigmoid',
  'sigmoid',
  'tanh',
  'maxPool2d',
  'avgPool2d',
  'adaptiveAvgPool2d',
  'mean',
  'reshape',
  'flatten',
]);

/**
 * The `supports()` rule of the non-GEMM kernels: quint8 activations (reshape/flatten: any dtype).
 * True for every other op (a channels_last `mean` off engine qnnpack included: backends run
 * PyTorch's float fallback, `atenMeanFallback`); engines are filtered by `OP_NAMES` (or a
 * backend's `engines`) before this is asked.
 *
 * @example
 * supports: (op, p) => supportsGemm(op, p) && supportsNonGemm(op, p),
 */
export function supportsNonGemm(op: OpName, p: SupportsParams): boolean {
  if (!NON_GEMM_OPS.has(op)) return true;
  if (!NON_GEMM_ANY_DTYPE.has(op) && p.dtype !== undefined && p.dtype !== 'quint8') return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// add, addRelu, mul, mulRelu (spec §5.3, §5.4, §12.C4, §12.C8)

/**
 * True when two shapes are equal.
 *
 * @example
 * sameShape(a.shape, b.shape);
 */
export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Broadcast shape of two shapes (numpy rules), or null when they do not broadcast.
 *
 * @example
 * broadcastShape([2, 3], [3]); // [2, 3]
 */
export function broadcastShape(a: readonly number[], b: readonly number[]): number[] | null {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return null;
    out.push(da === 1 ? db : da);
  }
  return out;
}

/**
 * The output shape of a quantized binary op: `quantized::add` allocates its output with a's sizes,
 * so only b may broadcast (qadd.cpp); `quantized::mul` broadcasts both ways (qmul.cpp, infer_size).
 *
 * @throws `SHAPE_MISMATCH` when the shapes do not broadcast so.
 * @example
 * const outShape = binaryOutShape('add', a.shape, b.shape);
 */
export function binaryOutShape(
  op: 'add' | 'addRelu' | 'mul' | 'mulRelu',
  a: readonly number[],
  b: readonly number[],
): number[] {
  const isAdd = op === 'add' || op === 'addRelu';
  const both = broadcastShape(a, b);
  const outShape = isAdd ? (both !== null && sameShape(both, a) ? [...a] : null) : both;
  if (outShape === null) {
    throw new QuantError(
      'SHAPE_MISMATCH',
      `${op}: shapes [${a.join(', ')}] and [${b.join(', ')}] do not broadcast${isAdd ? ' to the first input' : ''}; pass ${isAdd ? 'b broadcastable to a' : 'broadcastable shapes'}.`,
    );
  }
  return outShape;
}

/**
 * For each logical (C-order) index of `outShape`, the logical index of the element of a tensor of
 * `shape` that broadcasts to it (numpy rules, right-aligned).
 *
 * @example
 * broadcastIndex([3], [2, 3]); // Int32Array [0, 1, 2, 0, 1, 2]
 */
export function broadcastIndex(shape: readonly number[], outShape: readonly number[]): Int32Array {
  const strides = new Array<number>(outShape.length).fill(0);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const o = outShape.length - shape.length + i;
    strides[o] = shape[i] === 1 ? 0 : s;
    s *= shape[i]!;
  }
  const n = outShape.reduce((p, d) => p * d, 1);
  const idx = new Int32Array(n);
  const counter = new Array<number>(outShape.length).fill(0);
  let off = 0;
  for (let i = 0; i < n; i++) {
    idx[i] = off;
    for (let d = outShape.length - 1; d >= 0; d--) {
      counter[d]!++;
      off += strides[d]!;
      if (counter[d]! < outShape[d]!) break;
      off -= strides[d]! * outShape[d]!;
      counter[d] = 0;
    }
  }
  return idx;
}

/** Memory strides (in elements) of a dense tensor of `shape` held in its memory format. */
function memoryStrides(shape: readonly number[], channelsLast: boolean): number[] {
  if (channelsLast && shape.length === 4) {
    const [, c, h, w] = shape as [number, number, number, number];
    return [h * w * c, 1, w * c, c];
  }
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** The inner loop of a binary TensorIterator, as {@link elementwiseInnerLoop} returns it. */
export interface ElementwiseInnerLoop {
  /** Positions per inner loop: the coalesced innermost dims, walked in memory order. */
  readonly length: number;
  /** True when `cpu_kernel_vec` may take its vector body in this loop. */
  readonly vectorizable: boolean;
}

/**
 * The inner loop of ATen's TensorIterator for `out = f(a, b)` where `out` and `a` share a's shape and
 * memory format and `b` broadcasts to it: its length `L` (the coalesced innermost dims, walked in
 * memory order) and whether `cpu_kernel_vec` may take the vector body in it (every operand's inner
 * stride is 1, or b's is 0: `is_contiguous` / `is_contiguous_scalar` of ATen/native/cpu/Loops.h).
 * The out/a memory order is dense, so the loops are consecutive runs of `L` positions (spec §12.C4).
 *
 * @example
 * const loop = elementwiseInnerLoop([1, 8, 4, 4], [8, 1, 1], true);
 * const vecEnd = loop.vectorizable ? Math.floor(loop.length / VEC_STEP_U8) * VEC_STEP_U8 : 0;
 */
export function elementwiseInnerLoop(
  outShape: readonly number[],
  bShape: readonly number[],
  channelsLast: boolean,
): ElementwiseInnerLoop {
  const nd = outShape.length;
  const perm = channelsLast && nd === 4 ? [0, 2, 3, 1] : [...Array(nd).keys()];
  const outStr = memoryStrides(outShape, channelsLast);
  // b holds its own shape in the same memory format; broadcast dims read with stride 0.
  const bFull = [...new Array<number>(nd - bShape.length).fill(1), ...bShape];
  const bMem = memoryStrides(bFull, channelsLast && bFull.length === 4);
  const bStr = bFull.map((d, i) => (d === 1 ? 0 : bMem[i]!));
  // TensorIterator order: innermost (fastest) first.
  const order = [...perm].reverse();
  const shape = order.map((d) => outShape[d]!);
  const sOut = order.map((d) => outStr[d]!);
  const sB = order.map((d) => bStr[d]!);
  if (shape.length === 0) return { length: 1, vectorizable: true };
  // TensorIterator::coalesce_dimensions.
  let prev = 0;
  for (let dim = 1; dim < shape.length; dim++) {
    const s0 = shape[prev]!;
    const s1 = shape[dim]!;
    const can = s0 === 1 || s1 === 1 || (s0 * sOut[prev]! === sOut[dim]! && s0 * sB[prev]! === sB[dim]!);
    if (can) {
      if (s0 === 1) {
        sOut[prev] = sOut[dim]!;
        sB[prev] = sB[dim]!;
      }
      shape[prev] = s0 * s1;
    } else {
      prev++;
      if (prev !== dim) {
        sOut[prev] = sOut[dim]!;
        sB[prev] = sB[dim]!;
        shape[prev] = s1;
      }
    }
  }
  return { length: shape[0]!, vectorizable: sOut[0] === 1 && (sB[0] === 1 || sB[0] === 0) };
}

// ---------------------------------------------------------------------------------------------
// cat (spec §5.5, §12.C10)

/**
 * Checks the inputs of `cat`: a non-empty list of per-tensor quint8 tensors. Returns each input's
 * qparams, in order.
 *
 * @throws `INVALID_ARGUMENT` for an empty list; as {@link checkNonGemmInput} for each input.
 * @example
 * const qs = checkCatInputs([a, b]);
 */
export function checkCatInputs(xs: readonly QTensor[]): NonGemmInput[] {
  if (!xs || xs.length === 0) {
    throw new QuantError('INVALID_ARGUMENT', 'cat: the input list is empty; pass at least one tensor.');
  }
  return xs.map((x, k) => checkNonGemmInput('cat', x, `input ${k}`));
}

/** The shape of a `cat`, as {@link catGeometry} returns it. */
export interface CatGeometry {
  /** The concatenated dim, in [0, ndim). */
  readonly dim: number;
  /** The output qparams: `out`, or the first input's. */
  readonly out: NonGemmQparams;
  readonly outShape: number[];
  /** Product of the dims before `dim` (rows of every input). */
  readonly outer: number;
  /** Product of the dims after `dim`. */
  readonly inner: number;
}

/**
 * The output of `cat(xs, dim, out)`: dim normalized, shapes checked (equal except in dim), the output
 * qparams (`out`, or the first input's as `torch.cat`) and shape.
 *
 * @throws `AXIS_OUT_OF_RANGE` for a bad dim; `SHAPE_MISMATCH` when shapes differ outside dim;
 *   `INVALID_QPARAMS` for a bad `out`.
 * @example
 * const { outShape, outer, inner } = catGeometry(xs, qs, 1, undefined);
 */
export function catGeometry(
  xs: readonly QTensor[],
  qs: readonly NonGemmQparams[],
  dim: number,
  out: OutQparams | undefined,
): CatGeometry {
  const first = xs[0]!;
  const nd = first.ndim;
  const d = dim < 0 ? dim + nd : dim;
  if (!Number.isInteger(dim) || d < 0 || d >= nd) {
    throw new QuantError(
      'AXIS_OUT_OF_RANGE',
      `cat: dim ${dim} is out of range for ${nd}-D inputs; pass a dim in [${-nd}, ${nd - 1}].`,
    );
  }
  for (const [k, x] of xs.entries()) {
    if (x.ndim !== nd || x.shape.some((s, i) => i !== d && s !== first.shape[i])) {
      throw new QuantError(
        'SHAPE_MISMATCH',
        `cat: input ${k} has shape [${x.shape.join(', ')}], input 0 [${first.shape.join(', ')}]; shapes must match except in dim ${d}.`,
      );
    }
  }
  const o = out === undefined ? { scale: qs[0]!.scale, zeroPoint: qs[0]!.zeroPoint } : checkNonGemmOut('cat', out);
  const outShape = [...first.shape];
  outShape[d] = xs.reduce((s, x) => s + x.shape[d]!, 0);
  return {
    dim: d,
    out: o,
    outShape,
    outer: outShape.slice(0, d).reduce((p, e) => p * e, 1),
    inner: outShape.slice(d + 1).reduce((p, e) => p * e, 1),
  };
}

/** QNNPACK's fixed-point add parameters, as {@link qnnpackAddParams} returns them. */
export interface QnnpackAddParams {
  readonly aMult: number;
  readonly bMult: number;
  readonly shift: number;
  /** `−(aMult·zp_a + bMult·zp_b)`. */
  readonly zpp: number;
  /** `2^shift − 1` and `⌊mask/2⌋`: the round-half-away-from-zero of the right shift. */
  readonly mask: number;
  readonly threshold: number;
}

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/**
 * QNNPACK's add quantization parameters (qnnpack/src/qnnpack/params.h, spec §5.3):
 * `acc = zpp + a·aMult + b·bMult`, shifted right by `shift` with round half away from zero.
 *
 * @throws `INVALID_QPARAMS` for an input-to-output scale ratio outside [2^-14, 2^8), or a shift ≥ 32.
 * @example
 * const p = qnnpackAddParams(aQ, bQ, o.scale);
 */
export function qnnpackAddParams(aQ: NonGemmQparams, bQ: NonGemmQparams, oScale: number): QnnpackAddParams {
  const aOs = f32(f32(aQ.scale) / f32(oScale));
  const bOs = f32(f32(bQ.scale) / f32(oScale));
  for (const [name, r] of [
    ['A', aOs],
    ['B', bOs],
  ] as const) {
    if (!(r >= 2 ** -14 && r < 2 ** 8)) {
      throw new QuantError(
        'INVALID_QPARAMS',
        `add: ${name}-to-output scale ratio ${r} is outside [2^-14, 2^8), the range of QNNPACK's fixed-point add (PyTorch 1.13 on qnnpack fails the same way); choose an output scale closer to the inputs' or use engine 'onednn'.`,
      );
    }
  }
  const maxOs = Math.max(aOs, bOs);
  // Unbiased exponent from the float32 bits, as params.h does (the ratios are ≥ 2^-14: normal).
  F32[0] = maxOs;
  const exponent = (U32[0]! >>> 23) - 127;
  const shift = 21 - exponent;
  if (shift > 31) {
    // QNNPACK asserts shift < 32 only in debug builds; a release build shifts by ≥ 32, which x86
    // and SSE2 treat differently. Not reproduced rather than guessed.
    throw new QuantError(
      'INVALID_QPARAMS',
      `add: both input-to-output scale ratios (${aOs}, ${bOs}) are below 2^-10, where QNNPACK's fixed-point add shifts by ${shift} ≥ 32 (undefined in its C source); choose a smaller output scale or use engine 'onednn'.`,
    );
  }
  const aMult = roundHalfToEven(f32(aOs * 2 ** shift));
  const bMult = roundHalfToEven(f32(bOs * 2 ** shift));
  const zpp = -(aMult * aQ.zeroPoint + bMult * bQ.zeroPoint);
  const mask = 2 ** shift - 1;
  return { aMult, bMult, shift, zpp, mask, threshold: Math.floor(mask / 2) };
}

// ---------------------------------------------------------------------------------------------
// Clamps and fixed-qparams activations (spec §5.6, §5.7)

/**
 * Checks hardtanh's bounds and returns `[minVal, maxVal]`.
 *
 * @throws `INVALID_ARGUMENT` for a non-finite or missing bound.
 * @example
 * const [minVal, maxVal] = checkHardtanhBounds({ minVal: -1, maxVal: 1 });
 */
export function checkHardtanhBounds(params: HardtanhParams): [number, number] {
  const { minVal, maxVal } = params ?? ({} as HardtanhParams);
  if (!Number.isFinite(minVal) || !Number.isFinite(maxVal)) {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `hardtanh: bounds (${minVal}, ${maxVal}) must be finite numbers; pass { minVal, maxVal }.`,
    );
  }
  return [minVal, maxVal];
}

/**
 * Checks clamp's bounds (either may be absent) and returns them.
 *
 * @throws `INVALID_ARGUMENT` for a non-finite bound.
 * @example
 * const { min, max } = checkClampBounds({ min: 0, max: 2.5 });
 */
export function checkClampBounds(params: ClampParams): ClampParams {
  const { min, max } = params ?? {};
  for (const b of [min, max]) {
    if (b !== undefined && !Number.isFinite(b)) {
      throw new QuantError('INVALID_ARGUMENT', `clamp: bound ${b} must be a finite number or absent.`);
    }
  }
  return params ?? {};
}

/**
 * The fixed output qparams of quint8 sigmoid and hardsigmoid: (1/256, 0).
 *
 * @example
 * const o = fixedOutQparams('sigmoid', out, SIGMOID_OUT_QPARAMS, engine, engine === 'qnnpack');
 */
export const SIGMOID_OUT_QPARAMS: NonGemmQparams = Object.freeze({ scale: 1 / 256, zeroPoint: 0 });

/**
 * The fixed output qparams of quint8 tanh: (2/256, 128).
 *
 * @example
 * const o = fixedOutQparams('tanh', out, TANH_OUT_QPARAMS, engine, engine === 'qnnpack');
 */
export const TANH_OUT_QPARAMS: NonGemmQparams = Object.freeze({ scale: 2 / 256, zeroPoint: 128 });

/**
 * The output qparams of an activation with fixed qparams: `fixed` when `out` is absent, else the
 * checked `out`, which on a lookup-table path (`lutPath`: QNNPACK's sigmoid/tanh operators) must
 * equal `fixed`.
 *
 * @throws as {@link checkNonGemmOut}; `INVALID_QPARAMS` for other qparams on a lookup-table path.
 * @example
 * const o = fixedOutQparams('hardsigmoid', out, SIGMOID_OUT_QPARAMS, engine, false);
 */
export function fixedOutQparams(
  op: OpName,
  out: OutQparams | undefined,
  fixed: NonGemmQparams,
  engine: string,
  lutPath: boolean,
): NonGemmQparams {
  if (out === undefined) return fixed;
  const o = checkNonGemmOut(op, out);
  if (lutPath && (f32(o.scale) !== f32(fixed.scale) || o.zeroPoint !== fixed.zeroPoint)) {
    // QNNPACK's sigmoid/tanh operators accept only their fixed output qparams.
    throw new QuantError(
      'INVALID_QPARAMS',
      `${op}: output qparams (${o.scale}, ${o.zeroPoint}) are not the fixed (${fixed.scale}, ${fixed.zeroPoint}) that QNNPACK's ${op} requires on engine '${engine}'; omit them.`,
    );
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
// Pooling and mean (spec §5.8, §12.C6–C7)

/**
 * Views a 3-D (CHW) or 4-D (NCHW) pooling input as [N, C, H, W].
 *
 * @throws `SHAPE_MISMATCH` for another rank.
 * @example
 * const [N, C, H, W] = poolInputNchw('maxPool2d', x);
 */
export function poolInputNchw(op: OpName, x: QTensor): [number, number, number, number] {
  if (x.ndim === 4) return x.shape as unknown as [number, number, number, number];
  if (x.ndim === 3) return [1, x.shape[0]!, x.shape[1]!, x.shape[2]!];
  throw new QuantError(
    'SHAPE_MISMATCH',
    `${op}: input shape [${x.shape.join(', ')}] is not 3-D or 4-D; pass NCHW or CHW.`,
  );
}

/** `pooling_output_shape` of ATen (Pool.h), including ceil_mode's last-window rule. */
function poolOutSize(op: OpName, size: number, k: number, s: number, p: number, d: number, ceil: boolean): number {
  let o = Math.floor((size + 2 * p - d * (k - 1) - 1 + (ceil ? s - 1 : 0)) / s) + 1;
  if (ceil && (o - 1) * s >= size + p) o--;
  if (o < 1) {
    throw new QuantError(
      'SHAPE_MISMATCH',
      `${op}: input size ${size} with kernel ${k}, stride ${s}, padding ${p}, dilation ${d} gives output size ${o}; use a smaller kernel or more padding.`,
    );
  }
  return o;
}

function checkWindow(
  op: OpName,
  k: [number, number],
  s: [number, number],
  p: [number, number],
  d: [number, number],
): void {
  if (k.some((v) => v < 1) || s.some((v) => v < 1) || d.some((v) => v < 1) || p.some((v) => v < 0)) {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `${op}: kernel ${k}, stride ${s}, dilation ${d} must be ≥ 1 and padding ${p} ≥ 0.`,
    );
  }
  if (p[0] > Math.floor(k[0] / 2) || p[1] > Math.floor(k[1] / 2)) {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `${op}: padding ${p} is more than half the kernel ${k}, which PyTorch rejects; use padding ≤ kernel/2.`,
    );
  }
}

/** The checked window and sizes of a 2-D pooling call. */
export interface Pool2dGeometry {
  /** The input viewed as [N, C, H, W] (a 3-D input has N = 1). */
  readonly nchw: readonly [number, number, number, number];
  readonly outH: number;
  readonly outW: number;
  readonly kernel: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly ceilMode: boolean;
  /** `[C, oH, oW]` for a 3-D input, else `[N, C, oH, oW]`. */
  readonly outShape: number[];
}

function outShapeOf(x: QTensor, [N, C]: readonly [number, number, number, number], oH: number, oW: number): number[] {
  return x.ndim === 3 ? [C, oH, oW] : [N, C, oH, oW];
}

/**
 * Checks the parameters of `max_pool2d` and computes its output size. QNNPACK's max pool (engine
 * qnnpack, !ceilMode) rejects a 1×1 kernel, and so does this check there.
 *
 * @throws `INVALID_ARGUMENT` for bad window parameters; `SHAPE_MISMATCH` for non-3/4-D input or an
 *   empty output.
 * @example
 * const g = maxPool2dGeometry(x, { kernelSize: 3, stride: 2, padding: 1 }, 'qnnpack');
 */
export function maxPool2dGeometry(x: QTensor, params: MaxPool2dParams, engine: Engine): Pool2dGeometry {
  const op = 'maxPool2d';
  const k = checkPair(op, 'kernelSize', params.kernelSize, [1, 1]);
  const s = checkPair(op, 'stride', params.stride ?? params.kernelSize, k);
  const p = checkPair(op, 'padding', params.padding, [0, 0]);
  const dl = checkPair(op, 'dilation', params.dilation, [1, 1]);
  const ceil = params.ceilMode ?? false;
  checkWindow(op, k, s, p, dl);
  if (engine === 'qnnpack' && !ceil && k[0] * k[1] === 1) {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `${op}: a 1×1 kernel fails in QNNPACK's max pool ("1x1 pooling is meaningless") on engine qnnpack; drop the pool.`,
    );
  }
  const nchw = poolInputNchw(op, x);
  const oH = poolOutSize(op, nchw[2], k[0], s[0], p[0], dl[0], ceil);
  const oW = poolOutSize(op, nchw[3], k[1], s[1], p[1], dl[1], ceil);
  return {
    nchw,
    outH: oH,
    outW: oW,
    kernel: k,
    stride: s,
    padding: p,
    dilation: dl,
    ceilMode: ceil,
    outShape: outShapeOf(x, nchw, oH, oW),
  };
}

/**
 * Which of PyTorch's average-pool code paths runs (spec §5.8 table): QNNPACK's, the channels_last
 * (NHWC) kernel, or the contiguous NCHW `avg_pool2d_out_frame`.
 */
export type AvgPoolPath = 'qnnpack' | 'nhwc' | 'nchw';

/** The checked parameters of an `avg_pool2d` call, as {@link avgPool2dGeometry} returns them. */
export interface AvgPool2dGeometry extends Pool2dGeometry {
  readonly countIncludePad: boolean;
  readonly divisorOverride: number | undefined;
  readonly path: AvgPoolPath;
}

/**
 * Checks the parameters of `avg_pool2d`, picks PyTorch's code path (engine qnnpack and !ceilMode:
 * QNNPACK; else channels_last-contiguous: NHWC; else NCHW) and computes the output size. QNNPACK's
 * path rejects a 1×1 kernel, as PyTorch does.
 *
 * @throws `INVALID_ARGUMENT` for bad window parameters or divisorOverride; `SHAPE_MISMATCH` for
 *   non-3/4-D input or an empty output.
 * @example
 * const g = avgPool2dGeometry(x, { kernelSize: 2 }, 'onednn', 'channels_last'); // g.path === 'nhwc'
 */
export function avgPool2dGeometry(
  x: QTensor,
  params: AvgPool2dParams,
  engine: Engine,
  memoryFormat: MemoryFormat | undefined,
): AvgPool2dGeometry {
  const op = 'avgPool2d';
  const k = checkPair(op, 'kernelSize', params.kernelSize, [1, 1]);
  const s = checkPair(op, 'stride', params.stride ?? params.kernelSize, k);
  const p = checkPair(op, 'padding', params.padding, [0, 0]);
  const ceil = params.ceilMode ?? false;
  const cip = params.countIncludePad ?? true;
  const dov = params.divisorOverride;
  checkWindow(op, k, s, p, [1, 1]);
  if (dov !== undefined && dov !== null && (!Number.isInteger(dov) || dov === 0)) {
    throw new QuantError('INVALID_ARGUMENT', `${op}: divisorOverride ${dov} must be a non-zero integer.`);
  }
  const nchw = poolInputNchw(op, x);
  const path: AvgPoolPath =
    engine === 'qnnpack' && !ceil
      ? 'qnnpack'
      : isChannelsLastContiguous(nchw, x.ndim === 4 ? memoryFormat : 'contiguous')
        ? 'nhwc'
        : 'nchw';
  if (path === 'qnnpack' && k[0] * k[1] === 1) {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `${op}: a 1×1 kernel fails in QNNPACK's average pool ("1x1 pooling is meaningless") on engine qnnpack; drop the pool.`,
    );
  }
  const oH = poolOutSize(op, nchw[2], k[0], s[0], p[0], 1, ceil);
  const oW = poolOutSize(op, nchw[3], k[1], s[1], p[1], 1, ceil);
  return {
    nchw,
    outH: oH,
    outW: oW,
    kernel: k,
    stride: s,
    padding: p,
    dilation: [1, 1],
    ceilMode: ceil,
    outShape: outShapeOf(x, nchw, oH, oW),
    countIncludePad: cip,
    divisorOverride: dov ?? undefined,
    path,
  };
}

/** The checked output size and code path of an `adaptive_avg_pool2d` call. */
export interface AdaptiveAvgPool2dGeometry {
  readonly nchw: readonly [number, number, number, number];
  readonly outH: number;
  readonly outW: number;
  readonly path: AvgPoolPath;
  readonly outShape: number[];
}

/**
 * Checks `outputSize` of `adaptive_avg_pool2d` (`null` keeps that dimension) and picks PyTorch's code
 * path: engine qnnpack when In % Out == 0 in both dims and (H, W) ≠ (outH, outW); else NHWC for a
 * channels_last-contiguous input; else NCHW (spec §5.8, §12.C7).
 *
 * @throws `SHAPE_MISMATCH` for non-3/4-D input; `INVALID_ARGUMENT` for a bad output size.
 * @example
 * const g = adaptiveAvgPool2dGeometry(x, [1, 1], 'qnnpack', undefined);
 */
export function adaptiveAvgPool2dGeometry(
  x: QTensor,
  outputSize: number | readonly [number | null, number | null],
  engine: Engine,
  memoryFormat: MemoryFormat | undefined,
): AdaptiveAvgPool2dGeometry {
  const op = 'adaptiveAvgPool2d';
  const nchw = poolInputNchw(op, x);
  const [, , H, W] = nchw;
  const req = typeof outputSize === 'number' ? [outputSize, outputSize] : outputSize;
  if (!Array.isArray(req) || req.length !== 2) {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `${op}: outputSize ${JSON.stringify(outputSize)} must be a number or a pair.`,
    );
  }
  const oH = (req[0] as number | null) ?? H;
  const oW = (req[1] as number | null) ?? W;
  if (![oH, oW].every((v) => Number.isInteger(v) && v >= 1)) {
    throw new QuantError('INVALID_ARGUMENT', `${op}: outputSize (${oH}, ${oW}) must be positive integers.`);
  }
  const path: AvgPoolPath =
    engine === 'qnnpack' && H % oH === 0 && W % oW === 0 && !(H === oH && W === oW)
      ? 'qnnpack'
      : isChannelsLastContiguous(nchw, x.ndim === 4 ? memoryFormat : 'contiguous')
        ? 'nhwc'
        : 'nchw';
  return { nchw, outH: oH, outW: oW, path, outShape: outShapeOf(x, nchw, oH, oW) };
}

/**
 * The window `[start, end)` of adaptive pooling output `o`: `floor(f32(o·In)/Out)` and
 * `ceil(f32((o+1)·In)/Out)`, in float as ATen computes them (spec §5.8).
 *
 * @example
 * adaptiveWindow(1, 5, 3); // [1, 4]
 */
export function adaptiveWindow(o: number, inSize: number, outSize: number): [number, number] {
  return [Math.floor(f32(f32(o * inSize) / outSize)), Math.ceil(f32(f32((o + 1) * inSize) / outSize))];
}

/**
 * QNNPACK's average-pool multiplier for `count` taps: `f32(s / f32(s · count))` with input and output
 * scale `s` (spec §5.8); also the multiplier of QNNPACK's global average pool (mean over [2, 3]).
 *
 * @example
 * const qs = qnnpackPoolMultiplier(q.scale, k[0] * k[1]);
 */
export function qnnpackPoolMultiplier(scale: number, count: number): number {
  return f32(f32(scale) / f32(f32(scale) * count));
}

/** The checked reduction of a `mean` call, as {@link meanReduction} returns it. */
export interface MeanReduction {
  /** The reduced dims, non-negative, in the order given. */
  readonly dims: readonly number[];
  /** True on QNNPACK's global average pool (engine qnnpack, 4-D, dim exactly [2, 3]). */
  readonly qnnpack: boolean;
  /** True on PyTorch's dequantize → float `at::mean` → quantize path (see `atenMeanFallback`). */
  readonly fallback: boolean;
  /** The input's memory strides in elements (NHWC for a 4-D channels_last input), for the fallback. */
  readonly strides: number[];
  /** Elements per output (the product of the reduced dims) and the output count. */
  readonly inner: number;
  readonly outer: number;
  readonly outShape: number[];
}

/**
 * Checks the dims of `mean` and decides its path (spec §5.8): engine qnnpack with a 4-D input and
 * `dim` exactly `[2, 3]` (PyTorch compares the literal dims) takes QNNPACK's global average pool;
 * a contiguous input reduced over its innermost dims takes the integer row mean; anything else is
 * PyTorch's dequantize → float mean → quantize path (`fallback`), which kernels run with
 * `atenMeanFallback`.
 *
 * @throws `AXIS_OUT_OF_RANGE`; `INVALID_ARGUMENT` for repeated or no dims.
 * @example
 * const r = meanReduction(x, { dim: [2, 3], keepdim: true }, 'qnnpack', undefined);
 */
export function meanReduction(
  x: QTensor,
  params: MeanParams,
  engine: Engine,
  memoryFormat: MemoryFormat | undefined,
): MeanReduction {
  const op = 'mean';
  const given = typeof params.dim === 'number' ? [params.dim] : [...params.dim];
  const nd = x.ndim;
  const dims = given.map((d) => {
    if (!Number.isInteger(d) || d < -nd || d >= nd) {
      throw new QuantError(
        'AXIS_OUT_OF_RANGE',
        `${op}: dim ${d} is out of range for a ${nd}-D input; pass dims in [${-nd}, ${nd - 1}].`,
      );
    }
    return d < 0 ? d + nd : d;
  });
  if (new Set(dims).size !== dims.length || dims.length === 0) {
    throw new QuantError('INVALID_ARGUMENT', `${op}: dims ${JSON.stringify(given)} must be distinct and non-empty.`);
  }
  const keepdim = params.keepdim ?? false;
  const qnnpack = engine === 'qnnpack' && nd === 4 && given.length === 2 && given[0] === 2 && given[1] === 3;
  const sorted = [...dims].sort((a, b) => a - b);
  const innermost = sorted.every((d, i) => d === nd - sorted.length + i);
  // A channels_last tensor is `is_contiguous(Contiguous)` only when C == 1 or H = W = 1.
  const contiguous =
    memoryFormat !== 'channels_last' || nd !== 4 || x.shape[1] === 1 || x.shape[2]! * x.shape[3]! === 1;
  const fallback = !qnnpack && !(contiguous && innermost);
  const inner = sorted.reduce((p, d) => p * x.shape[d]!, 1);
  const outer = x.numel / inner;
  const outShape = x.shape.map((d, i) => (dims.includes(i) ? 1 : d)).filter((_, i) => keepdim || !dims.includes(i));
  return { dims, qnnpack, fallback, strides: memoryStrides(x.shape, !contiguous), inner, outer, outShape };
}
