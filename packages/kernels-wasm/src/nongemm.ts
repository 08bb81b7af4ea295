// The non-GEMM ops on the wasm kernels of assembly/nongemm.ts: clamps, table activations, add,
// pooling, mean. Checks, error codes and messages are @quint/kernels-js's (its ops-common.ts,
// elementwise.ts, activations.ts, pooling.ts), and so is every float formula: tables that depend on
// float library functions (exp, tanh, Sleef's expf, the FMA dequantize) are built here in JS with
// kernels-js's exact expressions, then applied in wasm. Per-element trace records carry the input
// code(s) and the output only (kernels-js reports every intermediate; use it for `quint explain`).
import { QuantError, sleefExpf } from '@quint/tensor';
import {
  QTensor,
  allocStorage,
  dequantizeVal,
  dequantizeValFma,
  quantizeVal,
  roundHalfToEven,
  type AvgPool2dParams,
  type ClampParams,
  type Engine,
  type HardtanhParams,
  type KernelOptions,
  type MaxPool2dParams,
  type MeanParams,
  type MemoryFormat,
  type OpName,
  type OutQparams,
  type PerTensorQparams,
} from '@quint/qtensor';
import type { KernelsAbi } from './abi.js';

const f32 = Math.fround;
// ATen's Vectorized<quint8> step: the vector body of cpu_kernel_vec covers whole multiples of 64.
const VEC_STEP_U8 = 64;

interface InputQ {
  readonly scale: number;
  readonly zeroPoint: number;
}

/** Engines per non-GEMM op with a wasm kernel (the rest of OP_NAMES' claims run on kernels-js). */
export const WASM_NON_GEMM_ENGINES: Partial<Record<OpName, readonly Engine[]>> = {
  add: ['qnnpack', 'onednn'],
  addRelu: ['qnnpack', 'onednn'],
  relu: ['qnnpack', 'onednn', 'ort'],
  relu6: ['qnnpack', 'onednn'],
  hardtanh: ['qnnpack', 'onednn'],
  clamp: ['qnnpack', 'onednn'],
  hardswish: ['qnnpack', 'onednn'],
  hardsigmoid: ['qnnpack', 'onednn'],
  sigmoid: ['qnnpack', 'onednn'],
  tanh: ['qnnpack', 'onednn'],
  maxPool2d: ['qnnpack', 'onednn', 'ort'],
  avgPool2d: ['qnnpack', 'onednn'],
  adaptiveAvgPool2d: ['qnnpack', 'onednn'],
  mean: ['qnnpack', 'onednn'],
};

// ---------------------------------------------------------------------------------------------
// Checks (kernels-js ops-common.ts, same codes and messages)

function engineOf(opts: KernelOptions | undefined): Engine {
  return opts?.engine ?? 'qnnpack';
}

function checkEngine(op: OpName, opts: KernelOptions | undefined): Engine {
  const engine = engineOf(opts);
  if (!(WASM_NON_GEMM_ENGINES[op] ?? []).includes(engine)) {
    throw new QuantError(
      'UNSUPPORTED_OP',
      `${op}: engine '${engine}' has no wasm kernel; use engine ${(WASM_NON_GEMM_ENGINES[op] ?? []).join('/')} or run this op on createJsBackend() from @quint/kernels-js.`,
    );
  }
  return engine;
}

function checkInput(op: OpName, x: QTensor, what = 'input'): InputQ {
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
  return { scale: p.scale, zeroPoint: p.zeroPoint };
}

function checkOut(op: OpName, out: OutQparams | undefined): InputQ {
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

function pair(op: OpName, name: string, v: number | readonly [number, number] | undefined, dflt: readonly [number, number]): [number, number] {
  const p: readonly number[] = v === undefined ? dflt : typeof v === 'number' ? [v, v] : v;
  if (p.length !== 2 || !p.every((e) => Number.isInteger(e))) {
    throw new QuantError('INVALID_ARGUMENT', `${op}: ${name} ${JSON.stringify(v)} must be an integer or a pair of integers.`);
  }
  return [p[0]!, p[1]!];
}

function makeOut(data: Uint8Array, shape: readonly number[], q: InputQ): QTensor {
  return new QTensor(data, shape, 'quint8', { qscheme: 'per_tensor_affine', scale: q.scale, zeroPoint: q.zeroPoint });
}

const invFloat = (scale: number): number => f32(1 / f32(scale));
const invDouble = (scale: number): number => f32(1 / scale);
const clampU8 = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : v);
const quantizeWithInvU8 = (x: number, inv: number, zp: number): number => clampU8(zp + roundHalfToEven(f32(x * inv)));

function isChannelsLastContiguous(shape: readonly number[], memoryFormat: MemoryFormat | undefined): boolean {
  if (shape.length !== 4) return false;
  if (memoryFormat === 'channels_last') return true;
  return shape[1] === 1 || shape[2]! * shape[3]! === 1;
}

/** Logical (NCHW) index of memory position `m` of a channels_last tensor. */
function nhwcToLogical(m: number, c: number, h: number, w: number): number {
  const ic = m % c;
  const p = (m - ic) / c;
  const iw = p % w;
  const q = (p - iw) / w;
  const ih = q % h;
  const n = (q - ih) / h;
  return ((n * c + ic) * h + ih) * w + iw;
}

type Tracer = ((index: number, inputs: readonly (readonly [number, InputQ])[], output: number) => void) | null;

function tracerOf(op: OpName, engine: Engine, opts: KernelOptions | undefined): { want: (i: number) => boolean; emit: NonNullable<Tracer> } | null {
  const t = opts?.trace;
  if (!t) return null;
  const index = t.index ?? 0;
  return {
    want: index === 'all' ? () => true : (i) => i === index,
    emit: (i, inputs, output) =>
      t.sink({
        kind: 'element',
        op,
        engine,
        index: i,
        inputs: inputs.map(([c, q]) => ({ codes: [c], zeroPoint: q.zeroPoint, scale: q.scale })),
        intermediates: {},
        preRound: null,
        output,
      }),
  };
}

function traceElementwise(op: OpName, engine: Engine, opts: KernelOptions | undefined, y: Uint8Array, ins: readonly (readonly [Uint8Array, InputQ, Int32Array | null])[]): void {
  const tr = tracerOf(op, engine, opts);
  if (!tr) return;
  for (let i = 0; i < y.length; i++) {
    if (tr.want(i)) tr.emit(i, ins.map(([d, q, idx]) => [d[idx ? idx[i]! : i]!, q] as const), y[i]!);
  }
}

function tracePool(op: OpName, engine: Engine, opts: KernelOptions | undefined, y: Uint8Array): void {
  const tr = tracerOf(op, engine, opts);
  if (!tr) return;
  for (let i = 0; i < y.length; i++) if (tr.want(i)) tr.emit(i, [], y[i]!);
}

// ---------------------------------------------------------------------------------------------
// Running a kernel: inputs copied into the reusable scratch, the output copied out.

function runU8(abi: KernelsAbi, what: string, inputs: readonly Uint8Array[], extra: readonly number[], outBytes: number, call: (ptrs: number[]) => void): Uint8Array {
  const heap = abi.heap;
  const ptrs = heap.scratch([...inputs.map((d) => d.length + 16), ...extra, outBytes + 16], what);
  const u8 = heap.u8();
  inputs.forEach((d, i) => u8.set(d, ptrs[i]!));
  call(ptrs);
  const yp = ptrs[ptrs.length - 1]!;
  const y = allocStorage('quint8', outBytes) as Uint8Array;
  y.set(heap.u8().subarray(yp, yp + outBytes));
  return y;
}

function applyTable(abi: KernelsAbi, op: OpName, x: QTensor, table: Uint8Array): Uint8Array {
  return runU8(abi, op, [x.data as Uint8Array, table], [], x.numel, ([xp, tp, yp]) => abi.lut({ x: xp!, y: yp!, n: x.numel, table: tp! }));
}

// ---------------------------------------------------------------------------------------------
// Clamps (spec §5.6)

function clampCodes(abi: KernelsAbi, op: OpName, x: QTensor, q: InputQ, lo: number, hi: number, opts: KernelOptions | undefined): QTensor {
  const engine = checkEngine(op, opts);
  // qnnpack_clamp walks a channels_last input in memory order into a contiguous output (PyTorch
  // 1.13 bug reproduced by kernels-js): the output is the NHWC-transposed codes, clamped.
  const scrambled = engine === 'qnnpack' && op !== 'relu' && opts?.memoryFormat === 'channels_last' && x.ndim === 4;
  const n = x.numel;
  const y = runU8(abi, op, [x.data as Uint8Array], scrambled ? [n] : [], n, ([xp, tp, yp]) => {
    if (scrambled) {
      const [N, C, H, W] = x.shape as [number, number, number, number];
      abi.nchwToNhwc({ x: xp!, y: tp!, n: N, c: C, hw: H * W });
      abi.clamp({ x: tp!, y: yp!, n, lo, hi });
    } else {
      abi.clamp({ x: xp!, y: tp!, n, lo, hi });
    }
  });
  const tr = tracerOf(op, engine, opts);
  if (tr) {
    const [, C, H, W] = (x.ndim === 4 ? x.shape : [1, 1, 1, n]) as [number, number, number, number];
    for (let i = 0; i < n; i++) if (tr.want(i)) tr.emit(i, [[x.data[scrambled ? nhwcToLogical(i, C, H, W) : i]!, q]], y[i]!);
  }
  return makeOut(y, x.shape, q);
}

export function relu(abi: KernelsAbi, x: QTensor, opts?: KernelOptions): QTensor {
  const q = checkInput('relu', x);
  return clampCodes(abi, 'relu', x, q, q.zeroPoint, 255, opts);
}

export function relu6(abi: KernelsAbi, x: QTensor, opts?: KernelOptions): QTensor {
  const q = checkInput('relu6', x);
  checkEngine('relu6', opts);
  return clampCodes(abi, 'relu6', x, q, q.zeroPoint, quantizeVal(6, q.scale, q.zeroPoint, 'quint8'), opts);
}

export function hardtanh(abi: KernelsAbi, x: QTensor, params: HardtanhParams, opts?: KernelOptions): QTensor {
  const q = checkInput('hardtanh', x);
  const { minVal, maxVal } = params ?? ({} as HardtanhParams);
  if (!Number.isFinite(minVal) || !Number.isFinite(maxVal)) {
    throw new QuantError('INVALID_ARGUMENT', `hardtanh: bounds (${minVal}, ${maxVal}) must be finite numbers; pass { minVal, maxVal }.`);
  }
  checkEngine('hardtanh', opts);
  return clampCodes(abi, 'hardtanh', x, q, quantizeVal(minVal, q.scale, q.zeroPoint, 'quint8'), quantizeVal(maxVal, q.scale, q.zeroPoint, 'quint8'), opts);
}

export function clamp(abi: KernelsAbi, x: QTensor, params: ClampParams, opts?: KernelOptions): QTensor {
  const q = checkInput('clamp', x);
  const { min, max } = params ?? {};
  for (const b of [min, max]) {
    if (b !== undefined && !Number.isFinite(b)) {
      throw new QuantError('INVALID_ARGUMENT', `clamp: bound ${b} must be a finite number or absent.`);
    }
  }
  checkEngine('clamp', opts);
  const lo = min === undefined ? 0 : quantizeVal(min, q.scale, q.zeroPoint, 'quint8');
  const hi = max === undefined ? 255 : quantizeVal(max, q.scale, q.zeroPoint, 'quint8');
  return clampCodes(abi, 'clamp', x, q, lo, hi, opts);
}

// ---------------------------------------------------------------------------------------------
// Table activations (spec §5.7, §12.C1–C4)

/** QNNPACK's input value of table entry i: `f32(f32(s) · f32(i − zp))`. */
const lutInput = (i: number, q: InputQ): number => f32(f32(q.scale) * (i - q.zeroPoint));

function hardswishFloat(v: number): number {
  const t = Math.min(Math.max(f32(v + 3), 0), 6);
  return f32(f32(v * t) / 6);
}

/** A QNNPACK lookup table: entry i = rne(pre(i)). */
function qnnpackTable(pre: (i: number) => number): Uint8Array {
  const t = new Uint8Array(256);
  for (let i = 0; i < 256; i++) t[i] = roundHalfToEven(pre(i));
  return t;
}

/**
 * ATen's generic unary kernel as two tables (its vector body with the FMA dequantize, its scalar tail
 * with `dequantize_val`): the vector table is applied to every element in wasm, then the last
 * `n mod 64` elements in memory order are patched with the tail table.
 */
function genericUnary(
  abi: KernelsAbi,
  op: OpName,
  x: QTensor,
  q: InputQ,
  out: InputQ,
  opts: KernelOptions | undefined,
  code: (v: number, vector: boolean) => number,
): QTensor {
  const engine = engineOf(opts);
  const vec = new Uint8Array(256);
  const tail = new Uint8Array(256);
  for (let c = 0; c < 256; c++) {
    vec[c] = code(dequantizeValFma(c, q.scale, q.zeroPoint), true);
    tail[c] = code(dequantizeVal(c, q.scale, q.zeroPoint), false);
  }
  const y = applyTable(abi, op, x, vec);
  const n = x.numel;
  const channelsLast = opts?.memoryFormat === 'channels_last' && x.ndim === 4;
  const [, C, H, W] = (channelsLast ? x.shape : [1, 1, 1, n]) as [number, number, number, number];
  for (let m = Math.floor(n / VEC_STEP_U8) * VEC_STEP_U8; m < n; m++) {
    const i = channelsLast ? nhwcToLogical(m, C, H, W) : m;
    y[i] = tail[x.data[i]!]!;
  }
  traceElementwise(op, engine, opts, y, [[x.data as Uint8Array, q, null]]);
  return makeOut(y, x.shape, out);
}

function lookup(abi: KernelsAbi, op: OpName, x: QTensor, q: InputQ, out: InputQ, table: Uint8Array, opts: KernelOptions | undefined): QTensor {
  const y = applyTable(abi, op, x, table);
  traceElementwise(op, engineOf(opts), opts, y, [[x.data as Uint8Array, q, null]]);
  return makeOut(y, x.shape, out);
}

export function hardswish(abi: KernelsAbi, x: QTensor, out: OutQparams, opts?: KernelOptions): QTensor {
  const op = 'hardswish';
  const q = checkInput(op, x);
  const o = checkOut(op, out);
  const engine = checkEngine(op, opts);
  if (engine === 'qnnpack') {
    const inv = invFloat(o.scale);
    const t = qnnpackTable((i) => Math.min(Math.max(f32(f32(hardswishFloat(lutInput(i, q)) * inv) + o.zeroPoint), 0), 255));
    return lookup(abi, op, x, q, o, t, opts);
  }
  const invVec = invDouble(o.scale);
  const invTail = invFloat(o.scale);
  return genericUnary(abi, op, x, q, o, opts, (v, vector) => quantizeWithInvU8(hardswishFloat(v), vector ? invVec : invTail, o.zeroPoint));
}

const SIGMOID_OUT = { scale: 1 / 256, zeroPoint: 0 } as const;
const TANH_OUT = { scale: 2 / 256, zeroPoint: 128 } as const;

function fixedOut(op: OpName, out: OutQparams | undefined, fixed: InputQ, engine: string, lutPath: boolean): InputQ {
  if (out === undefined) return fixed;
  const o = checkOut(op, out);
  if (lutPath && (f32(o.scale) !== f32(fixed.scale) || o.zeroPoint !== fixed.zeroPoint)) {
    throw new QuantError(
      'INVALID_QPARAMS',
      `${op}: output qparams (${o.scale}, ${o.zeroPoint}) are not the fixed (${fixed.scale}, ${fixed.zeroPoint}) that QNNPACK's ${op} requires on engine '${engine}'; omit them.`,
    );
  }
  return o;
}

export function hardsigmoid(abi: KernelsAbi, x: QTensor, out?: OutQparams, opts?: KernelOptions): QTensor {
  const op = 'hardsigmoid';
  const q = checkInput(op, x);
  const engine = checkEngine(op, opts);
  const o = fixedOut(op, out, SIGMOID_OUT, engine, false);
  const invVec = invDouble(o.scale);
  const invTail = invFloat(o.scale);
  return genericUnary(abi, op, x, q, o, opts, (v, vector) =>
    quantizeWithInvU8(f32(Math.min(Math.max(f32(v + 3), 0), 6) / 6), vector ? invVec : invTail, o.zeroPoint),
  );
}

export function sigmoid(abi: KernelsAbi, x: QTensor, out?: OutQparams, opts?: KernelOptions): QTensor {
  const op = 'sigmoid';
  const q = checkInput(op, x);
  const engine = checkEngine(op, opts);
  const o = fixedOut(op, out, SIGMOID_OUT, engine, engine === 'qnnpack');
  if (engine === 'qnnpack') {
    const t = qnnpackTable((i) => Math.min(Math.max(f32(256 / f32(1 + f32(Math.exp(-lutInput(i, q))))), 0), 255));
    return lookup(abi, op, x, q, o, t, opts);
  }
  const invVec = invDouble(o.scale);
  const invTail = invFloat(o.scale);
  return genericUnary(abi, op, x, q, o, opts, (v, vector) => {
    // Vector: Sleef expf in float; tail: `1.0f / (1.0 + std::exp(-x))`, the division in double.
    const s = vector ? f32(1 / f32(1 + sleefExpf(f32(-v)))) : f32(1 / (1 + f32(Math.exp(-v))));
    return quantizeWithInvU8(s, vector ? invVec : invTail, o.zeroPoint);
  });
}

export function tanh(abi: KernelsAbi, x: QTensor, out?: OutQparams, opts?: KernelOptions): QTensor {
  const op = 'tanh';
  const q = checkInput(op, x);
  const engine = checkEngine(op, opts);
  const o = fixedOut(op, out, TANH_OUT, engine, engine === 'qnnpack');
  const inv = invFloat(o.scale);
  if (engine === 'qnnpack') {
    const t = qnnpackTable((i) => Math.min(Math.max(f32(f32(inv * f32(Math.tanh(lutInput(i, q)))) + o.zeroPoint), 0), 255));
    return lookup(abi, op, x, q, o, t, opts);
  }
  return genericUnary(abi, op, x, q, o, opts, (v) => clampU8(o.zeroPoint + roundHalfToEven(f32(f32(Math.tanh(v)) * inv))));
}

// ---------------------------------------------------------------------------------------------
// add, addRelu (spec §5.3, §12.C4, §12.C8)

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** True when `b` broadcasts to `a` with a's shape as the result (quantized::add allocates a's sizes). */
function broadcastsTo(b: readonly number[], a: readonly number[]): boolean {
  return b.length <= a.length && b.every((d, i) => d === 1 || d === a[a.length - b.length + i]);
}

/** Memory strides (elements) of a dense tensor of `shape` in its memory format. */
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

/** kernels-js elementwise.ts innerLoop: ATen TensorIterator's coalesced inner loop of `f(a, b)`. */
function innerLoop(outShape: readonly number[], bShape: readonly number[], channelsLast: boolean): { length: number; vectorizable: boolean } {
  const nd = outShape.length;
  const perm = channelsLast && nd === 4 ? [0, 2, 3, 1] : [...Array(nd).keys()];
  const outStr = memoryStrides(outShape, channelsLast);
  const bFull = [...new Array<number>(nd - bShape.length).fill(1), ...bShape];
  const bMem = memoryStrides(bFull, channelsLast && bFull.length === 4);
  const bStr = bFull.map((d, i) => (d === 1 ? 0 : bMem[i]!));
  const order = [...perm].reverse();
  const shape = order.map((d) => outShape[d]!);
  const sOut = order.map((d) => outStr[d]!);
  const sB = order.map((d) => bStr[d]!);
  if (shape.length === 0) return { length: 1, vectorizable: true };
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

/** For each logical index of `outShape`, the logical index of the broadcast input element. */
function broadcastIndex(shape: readonly number[], outShape: readonly number[]): Int32Array {
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

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/** QNNPACK's add quantization parameters (qnnpack/src/qnnpack/params.h, spec §5.3). */
function qnnpackAddParams(aQ: InputQ, bQ: InputQ, oScale: number) {
  const aOs = f32(f32(aQ.scale) / f32(oScale));
  const bOs = f32(f32(bQ.scale) / f32(oScale));
  for (const [name, r] of [['A', aOs], ['B', bOs]] as const) {
    if (!(r >= 2 ** -14 && r < 2 ** 8)) {
      throw new QuantError(
        'INVALID_QPARAMS',
        `add: ${name}-to-output scale ratio ${r} is outside [2^-14, 2^8), the range of QNNPACK's fixed-point add (PyTorch 1.13 on qnnpack fails the same way); choose an output scale closer to the inputs' or use engine 'onednn'.`,
      );
    }
  }
  F32[0] = Math.max(aOs, bOs);
  const shift = 21 - ((U32[0]! >>> 23) - 127);
  if (shift > 31) {
    throw new QuantError(
      'INVALID_QPARAMS',
      `add: both input-to-output scale ratios (${aOs}, ${bOs}) are below 2^-10, where QNNPACK's fixed-point add shifts by ${shift} ≥ 32 (undefined in its C source); choose a smaller output scale or use engine 'onednn'.`,
    );
  }
  const aMult = roundHalfToEven(f32(aOs * 2 ** shift));
  const bMult = roundHalfToEven(f32(bOs * 2 ** shift));
  return { aMult, bMult, shift, zpp: -(aMult * aQ.zeroPoint + bMult * bQ.zeroPoint) };
}

function dequantTable(q: InputQ): Float32Array {
  const t = new Float32Array(512);
  for (let c = 0; c < 256; c++) {
    t[c] = dequantizeValFma(c, q.scale, q.zeroPoint);
    t[256 + c] = dequantizeVal(c, q.scale, q.zeroPoint);
  }
  return t;
}

/** Codes of `x` (logical NCHW) in NHWC memory order. */
function toNhwc(x: Uint8Array, shape: readonly number[]): Uint8Array {
  const [N, C, H, W] = shape as [number, number, number, number];
  const hw = H * W;
  const y = new Uint8Array(x.length);
  let m = 0;
  for (let n = 0; n < N; n++) for (let p = 0; p < hw; p++) for (let c = 0; c < C; c++) y[m++] = x[(n * C + c) * hw + p]!;
  return y;
}

export function add(abi: KernelsAbi, op: 'add' | 'addRelu', a: QTensor, b: QTensor, out: OutQparams, opts?: KernelOptions): QTensor {
  const aQ = checkInput(op, a, 'a');
  const bQ = checkInput(op, b, 'b');
  const o = checkOut(op, out);
  const engine = checkEngine(op, opts);
  if (!broadcastsTo(b.shape, a.shape)) {
    throw new QuantError('SHAPE_MISMATCH', `${op}: shapes [${a.shape.join(', ')}] and [${b.shape.join(', ')}] do not broadcast to the first input; pass b broadcastable to a.`);
  }
  const relu = op === 'addRelu';
  const n = a.numel;
  const ad = a.data as Uint8Array;
  const same = sameShape(a.shape, b.shape);
  let y: Uint8Array;
  if (engine === 'qnnpack' && same) {
    // QNNPACK q8vadd, fixed point, round half away from zero; layout-independent (spec §12.C8).
    const p = qnnpackAddParams(aQ, bQ, o.scale);
    y = runU8(abi, op, [ad, b.data as Uint8Array], [], n, ([ap, bp, yp]) =>
      abi.addQnnpack({ a: ap!, b: bp!, y: yp!, n, zpp: p.zpp, aMult: p.aMult, bMult: p.bMult, shift: p.shift, zeroPoint: o.zeroPoint, lo: relu ? o.zeroPoint : 0 }),
    );
  } else {
    // ATen's generic qadd in memory order: the FMA dequantize on the vector part of each inner loop,
    // dequantize_val on its tail (spec §5.3, §12.C4); b expanded to a's shape.
    const channelsLast = opts?.memoryFormat === 'channels_last' && a.ndim === 4;
    const loop = innerLoop(a.shape, b.shape, channelsLast);
    const vecEnd = loop.vectorizable ? Math.floor(loop.length / VEC_STEP_U8) * VEC_STEP_U8 : 0;
    let bFull = b.data as Uint8Array;
    if (!same) {
      const idx = broadcastIndex(b.shape, a.shape);
      bFull = new Uint8Array(n);
      for (let i = 0; i < n; i++) bFull[i] = b.data[idx[i]!]!;
    }
    const aMem = channelsLast ? toNhwc(ad, a.shape) : ad;
    const bMem = channelsLast ? toNhwc(bFull, a.shape) : bFull;
    const tabA = new Uint8Array(dequantTable(aQ).buffer);
    const tabB = new Uint8Array(dequantTable(bQ).buffer);
    const inv = invFloat(o.scale);
    const yMem = runU8(abi, op, [aMem, bMem, tabA, tabB], channelsLast ? [n] : [], n, (ptrs) => {
      const [ap, bp, ta, tb] = ptrs as [number, number, number, number];
      const yp = ptrs[ptrs.length - 1]!;
      abi.addGeneric({ a: ap, b: bp, y: channelsLast ? ptrs[4]! : yp, n, tabA: ta, tabB: tb, inv, zeroPoint: o.zeroPoint, relu, loopLen: loop.length, vecEnd });
      if (channelsLast) {
        const [N, C, H, W] = a.shape as [number, number, number, number];
        abi.nhwcToNchw({ x: ptrs[4]!, y: yp, n: N, c: C, hw: H * W });
      }
    });
    y = yMem;
  }
  if (opts?.trace) {
    traceElementwise(op, engine, opts, y, [
      [ad, aQ, null],
      [b.data as Uint8Array, bQ, same ? null : broadcastIndex(b.shape, a.shape)],
    ]);
  }
  return makeOut(y, a.shape, o);
}

// ---------------------------------------------------------------------------------------------
// Pooling (spec §5.8, §12.C6–C7)

function nchw(op: OpName, x: QTensor): [number, number, number, number] {
  if (x.ndim === 4) return x.shape as unknown as [number, number, number, number];
  if (x.ndim === 3) return [1, x.shape[0]!, x.shape[1]!, x.shape[2]!];
  throw new QuantError('SHAPE_MISMATCH', `${op}: input shape [${x.shape.join(', ')}] is not 3-D or 4-D; pass NCHW or CHW.`);
}

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

function checkWindow(op: OpName, k: [number, number], s: [number, number], p: [number, number], d: [number, number]): void {
  if (k.some((v) => v < 1) || s.some((v) => v < 1) || d.some((v) => v < 1) || p.some((v) => v < 0)) {
    throw new QuantError('INVALID_ARGUMENT', `${op}: kernel ${k}, stride ${s}, dilation ${d} must be ≥ 1 and padding ${p} ≥ 0.`);
  }
  if (p[0] > Math.floor(k[0] / 2) || p[1] > Math.floor(k[1] / 2)) {
    throw new QuantError('INVALID_ARGUMENT', `${op}: padding ${p} is more than half the kernel ${k}, which PyTorch rejects; use padding ≤ kernel/2.`);
  }
}

export function maxPool2d(abi: KernelsAbi, x: QTensor, params: MaxPool2dParams, opts?: KernelOptions): QTensor {
  const op = 'maxPool2d';
  const q = checkInput(op, x);
  const engine = checkEngine(op, opts);
  const k = pair(op, 'kernelSize', params.kernelSize, [1, 1]);
  const s = pair(op, 'stride', params.stride ?? params.kernelSize, k);
  const p = pair(op, 'padding', params.padding, [0, 0]);
  const dl = pair(op, 'dilation', params.dilation, [1, 1]);
  const ceil = params.ceilMode ?? false;
  checkWindow(op, k, s, p, dl);
  if (engine === 'qnnpack' && !ceil && k[0] * k[1] === 1) {
    throw new QuantError('INVALID_ARGUMENT', `${op}: a 1×1 kernel fails in QNNPACK's max pool ("1x1 pooling is meaningless") on engine qnnpack; drop the pool.`);
  }
  const [N, C, H, W] = nchw(op, x);
  const oH = poolOutSize(op, H, k[0], s[0], p[0], dl[0], ceil);
  const oW = poolOutSize(op, W, k[1], s[1], p[1], dl[1], ceil);
  const y = runU8(abi, op, [x.data as Uint8Array], [], N * C * oH * oW, ([xp, yp]) =>
    abi.maxPool2d({ x: xp!, y: yp!, planes: N * C, H, W, oH, oW, k, s, p, d: dl, edge: engine === 'qnnpack' && !ceil }),
  );
  tracePool(op, engine, opts, y);
  return makeOut(y, x.ndim === 3 ? [C, oH, oW] : [N, C, oH, oW], q);
}

export function avgPool2d(abi: KernelsAbi, x: QTensor, params: AvgPool2dParams, opts?: KernelOptions): QTensor {
  const op = 'avgPool2d';
  const q = checkInput(op, x);
  const engine = checkEngine(op, opts);
  const k = pair(op, 'kernelSize', params.kernelSize, [1, 1]);
  const s = pair(op, 'stride', params.stride ?? params.kernelSize, k);
  const p = pair(op, 'padding', params.padding, [0, 0]);
  const ceil = params.ceilMode ?? false;
  const cip = params.countIncludePad ?? true;
  const dov = params.divisorOverride;
  checkWindow(op, k, s, p, [1, 1]);
  if (dov !== undefined && dov !== null && (!Number.isInteger(dov) || dov === 0)) {
    throw new QuantError('INVALID_ARGUMENT', `${op}: divisorOverride ${dov} must be a non-zero integer.`);
  }
  const [N, C, H, W] = nchw(op, x);
  const path = engine === 'qnnpack' && !ceil ? 0 : isChannelsLastContiguous([N, C, H, W], x.ndim === 4 ? opts?.memoryFormat : 'contiguous') ? 1 : 2;
  if (path === 0 && k[0] * k[1] === 1) {
    throw new QuantError('INVALID_ARGUMENT', `${op}: a 1×1 kernel fails in QNNPACK's average pool ("1x1 pooling is meaningless") on engine qnnpack; drop the pool.`);
  }
  const oH = poolOutSize(op, H, k[0], s[0], p[0], 1, ceil);
  const oW = poolOutSize(op, W, k[1], s[1], p[1], 1, ceil);
  const qs = f32(f32(q.scale) / f32(f32(q.scale) * (k[0] * k[1])));
  const y = runU8(abi, op, [x.data as Uint8Array], [], N * C * oH * oW, ([xp, yp]) =>
    abi.avgPool2d({ x: xp!, y: yp!, planes: N * C, H, W, oH, oW, k, s, p, zeroPoint: q.zeroPoint, path, qs, cip, dov: dov ?? 0 }),
  );
  tracePool(op, engine, opts, y);
  return makeOut(y, x.ndim === 3 ? [C, oH, oW] : [N, C, oH, oW], q);
}

export function adaptiveAvgPool2d(abi: KernelsAbi, x: QTensor, outputSize: number | readonly [number | null, number | null], opts?: KernelOptions): QTensor {
  const op = 'adaptiveAvgPool2d';
  const q = checkInput(op, x);
  const engine = checkEngine(op, opts);
  const [N, C, H, W] = nchw(op, x);
  const req = typeof outputSize === 'number' ? [outputSize, outputSize] : outputSize;
  if (!Array.isArray(req) || req.length !== 2) {
    throw new QuantError('INVALID_ARGUMENT', `${op}: outputSize ${JSON.stringify(outputSize)} must be a number or a pair.`);
  }
  const oH = (req[0] as number | null) ?? H;
  const oW = (req[1] as number | null) ?? W;
  if (![oH, oW].every((v) => Number.isInteger(v) && v >= 1)) {
    throw new QuantError('INVALID_ARGUMENT', `${op}: outputSize (${oH}, ${oW}) must be positive integers.`);
  }
  const path =
    engine === 'qnnpack' && H % oH === 0 && W % oW === 0 && !(H === oH && W === oW)
      ? 0
      : isChannelsLastContiguous([N, C, H, W], x.ndim === 4 ? opts?.memoryFormat : 'contiguous')
        ? 1
        : 2;
  // Window bounds `floor(f32(o·In)/Out)`, `ceil(f32((o+1)·In)/Out)` in float (spec §5.8).
  const bounds = (inSize: number, outSize: number): Uint8Array => {
    const b = new Int32Array(2 * outSize);
    for (let o = 0; o < outSize; o++) {
      b[2 * o] = Math.floor(f32(f32(o * inSize) / outSize));
      b[2 * o + 1] = Math.ceil(f32(f32((o + 1) * inSize) / outSize));
    }
    return new Uint8Array(b.buffer);
  };
  const y = runU8(abi, op, [x.data as Uint8Array, bounds(H, oH), bounds(W, oW)], [], N * C * oH * oW, ([xp, hb, wb, yp]) =>
    abi.adaptiveAvgPool2d({ x: xp!, y: yp!, planes: N * C, H, W, oH, oW, hb: hb!, wb: wb!, zeroPoint: q.zeroPoint, path, scale: f32(q.scale) }),
  );
  tracePool(op, engine, opts, y);
  return makeOut(y, x.ndim === 3 ? [C, oH, oW] : [N, C, oH, oW], q);
}

export function mean(abi: KernelsAbi, x: QTensor, params: MeanParams, opts?: KernelOptions): QTensor {
  const op = 'mean';
  const q = checkInput(op, x);
  const engine = checkEngine(op, opts);
  const given = typeof params.dim === 'number' ? [params.dim] : [...params.dim];
  const nd = x.ndim;
  const dims = given.map((d) => {
    if (!Number.isInteger(d) || d < -nd || d >= nd) {
      throw new QuantError('AXIS_OUT_OF_RANGE', `${op}: dim ${d} is out of range for a ${nd}-D input; pass dims in [${-nd}, ${nd - 1}].`);
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
  const contiguous = opts?.memoryFormat !== 'channels_last' || nd !== 4 || x.shape[1] === 1 || x.shape[2]! * x.shape[3]! === 1;
  if (!qnnpack && !(contiguous && innermost)) {
    throw new QuantError(
      'UNSUPPORTED_OP',
      `${op}: dims ${JSON.stringify(given)} on a ${contiguous ? 'contiguous' : 'channels_last'} input take PyTorch's dequantize → float mean → quantize path, whose float summation order is not reproduced; reduce the innermost dims of a contiguous input${engine === 'qnnpack' ? ' or pass dim [2, 3]' : ''}.`,
    );
  }
  const inner = sorted.reduce((p, d) => p * x.shape[d]!, 1);
  const outer = x.numel / inner;
  const qs = f32(f32(q.scale) / f32(f32(q.scale) * inner));
  const y = runU8(abi, op, [x.data as Uint8Array], [], outer, ([xp, yp]) =>
    abi.meanRows({ x: xp!, y: yp!, outer, inner, zeroPoint: q.zeroPoint, qnnpack, qs }),
  );
  tracePool(op, engine, opts, y);
  const shape = x.shape.map((d, i) => (dims.includes(i) ? 1 : d)).filter((_, i) => keepdim || !dims.includes(i));
  return makeOut(y, shape, q);
}
