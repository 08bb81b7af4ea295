// add, add_relu, mul, mul_relu and cat on quint8 codes, as PyTorch 1.13 computes them on the
// qnnpack and onednn engines (spec pytorch-semantics.md §5.0, §5.3–§5.5, §12.C8–C10).
import { QuantError } from '@quint/tensor';
import { dequantizeVal, dequantizeValFma, roundHalfToEven, type KernelOptions, type KernelTable, type OutQparams, type QTensor } from '@quint/qtensor';
import {
  VEC_STEP_U8,
  allocU8,
  checkInput,
  checkOut,
  clampU8,
  engineOf,
  f32,
  invDouble,
  invFloat,
  isChannelsLastContiguous,
  makeOut,
  memoryOrder,
  operand,
  quantizeWithInvU8,
  tracerOf,
  type InputQ,
} from './ops-common.js';
import { ortBinary, ortCat } from './ort-ops.js';

type BinaryOp = 'add' | 'addRelu' | 'mul' | 'mulRelu';

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Broadcast shape of two shapes (numpy rules), or null when they do not broadcast. */
function broadcastShape(a: readonly number[], b: readonly number[]): number[] | null {
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

/** C-order strides of `shape` as seen from `outShape` (0 on broadcast dims), right-aligned. */
function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const strides = new Array<number>(outShape.length).fill(0);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const o = outShape.length - shape.length + i;
    strides[o] = shape[i] === 1 ? 0 : s;
    s *= shape[i]!;
  }
  return strides;
}

/** For each logical output index, the logical index of the (broadcast) input element. */
function broadcastIndex(shape: readonly number[], outShape: readonly number[]): Int32Array {
  const strides = broadcastStrides(shape, outShape);
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

/** Memory strides (in elements) of a dense tensor of `shape` held in `memoryFormat`. */
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

/**
 * The inner loop of ATen's TensorIterator for `out = f(a, b)` where `out` and `a` share a's shape and
 * memory format and `b` broadcasts to it: its length `L` (the coalesced innermost dims, walked in
 * memory order) and whether `cpu_kernel_vec` may take the vector body in it (every operand's inner
 * stride is 1, or b's is 0: `is_contiguous` / `is_contiguous_scalar` of ATen/native/cpu/Loops.h).
 * The out/a memory order is dense, so the loops are consecutive runs of `L` positions.
 */
function innerLoop(outShape: readonly number[], bShape: readonly number[], channelsLast: boolean): { length: number; vectorizable: boolean } {
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

function binary(op: BinaryOp, a: QTensor, b: QTensor, out: OutQparams, opts: KernelOptions | undefined): QTensor {
  const aQ = checkInput(op, a, 'a');
  const bQ = checkInput(op, b, 'b');
  const o = checkOut(op, out);
  const engine = engineOf(opts);
  // Engine ort: ONNX Runtime's QLinearAdd/QLinearMul, ORT-web's formula (ort-ops.ts; x64 differs).
  if (engine === 'ort') return ortBinary(op, a, b, out, opts);
  if (engine !== 'qnnpack' && engine !== 'onednn') {
    throw new QuantError('UNSUPPORTED_OP', `${op}: engine '${engine}' is not implemented for this op; use 'qnnpack' or 'onednn'.`);
  }
  const relu = op === 'addRelu' || op === 'mulRelu';
  const isAdd = op === 'add' || op === 'addRelu';
  // quantized::add allocates its output with a's sizes, so only b may broadcast (qadd.cpp);
  // quantized::mul broadcasts both ways (qmul.cpp, infer_size).
  const outShape = isAdd ? (broadcastShape(a.shape, b.shape) !== null && sameShape(broadcastShape(a.shape, b.shape)!, a.shape) ? [...a.shape] : null) : broadcastShape(a.shape, b.shape);
  if (outShape === null) {
    throw new QuantError(
      'SHAPE_MISMATCH',
      `${op}: shapes [${a.shape.join(', ')}] and [${b.shape.join(', ')}] do not broadcast${isAdd ? ' to the first input' : ''}; pass ${isAdd ? 'b broadcastable to a' : 'broadcastable shapes'}.`,
    );
  }
  const n = outShape.reduce((p, d) => p * d, 1);
  const aIdx = sameShape(a.shape, outShape) ? null : broadcastIndex(a.shape, outShape);
  const bIdx = sameShape(b.shape, outShape) ? null : broadcastIndex(b.shape, outShape);
  const ad = a.data;
  const bd = b.data;
  const y = allocU8(n);
  const tracer = tracerOf(op, engine, opts);
  const lo = relu ? o.zeroPoint : 0;

  if (!isAdd) {
    // requantize_from_int (spec §5.4, §1.5): the same formula in the vector body and the scalar
    // tail, so memory order does not matter.
    const m = f32(f32(f32(aQ.scale) * f32(bQ.scale)) * invFloat(o.scale));
    for (let i = 0; i < n; i++) {
      const qa = ad[aIdx ? aIdx[i]! : i]!;
      const qb = bd[bIdx ? bIdx[i]! : i]!;
      const acc = (qa - aQ.zeroPoint) * (qb - bQ.zeroPoint);
      const pre = f32(acc * m);
      let v = clampU8(o.zeroPoint + roundHalfToEven(pre));
      if (relu && v < o.zeroPoint) v = o.zeroPoint;
      y[i] = v;
      if (tracer?.want(i)) {
        tracer.emit({ index: i, inputs: [operand([qa], aQ), operand([qb], bQ)], intermediates: { acc, multiplier: m }, preRound: pre, output: v });
      }
    }
    return makeOut(y, outShape, o.scale, o.zeroPoint);
  }

  if (engine === 'qnnpack' && sameShape(a.shape, b.shape)) {
    // QNNPACK q8vadd, fixed point with round half away from zero (spec §5.3; layout-independent,
    // §12.C8).
    const p = qnnpackAddParams(aQ, bQ, o.scale);
    for (let i = 0; i < n; i++) {
      const qa = ad[i]!;
      const qb = bd[i]!;
      const acc = p.zpp + qa * p.aMult + qb * p.bMult;
      const rem = (acc & p.mask) - (acc < 0 ? 1 : 0);
      const q = (acc >> p.shift) + (rem > p.threshold ? 1 : 0);
      const v = Math.min(Math.max(q + o.zeroPoint, lo), 255);
      y[i] = v;
      if (tracer?.want(i)) {
        tracer.emit({
          index: i,
          inputs: [operand([qa], aQ), operand([qb], bQ)],
          intermediates: { acc, aMult: p.aMult, bMult: p.bMult, zeroPointProduct: p.zpp, shift: p.shift, rounded: q },
          preRound: acc / 2 ** p.shift,
          output: v,
        });
      }
    }
    return makeOut(y, outShape, o.scale, o.zeroPoint);
  }

  // Generic ATen qadd_kernel (spec §5.3): the vector body dequantizes with an FMA, the scalar tail
  // with dequantize_val; both quantize with inv = 1.0f / f32(scale). Which elements take which body
  // follows the TensorIterator inner loop in memory order (spec §12.C4).
  const channelsLast = opts?.memoryFormat === 'channels_last' && a.ndim === 4;
  const loop = innerLoop(outShape, b.shape, channelsLast);
  const vecEnd = loop.vectorizable ? Math.floor(loop.length / VEC_STEP_U8) * VEC_STEP_U8 : 0;
  const order = memoryOrder(outShape, channelsLast ? 'channels_last' : 'contiguous');
  const inv = invFloat(o.scale);
  for (let m = 0; m < n; m++) {
    const i = order ? order[m]! : m;
    const qa = ad[aIdx ? aIdx[i]! : i]!;
    const qb = bd[bIdx ? bIdx[i]! : i]!;
    const vector = m % loop.length < vecEnd;
    const da = vector ? dequantizeValFma(qa, aQ.scale, aQ.zeroPoint) : dequantizeVal(qa, aQ.scale, aQ.zeroPoint);
    const db = vector ? dequantizeValFma(qb, bQ.scale, bQ.zeroPoint) : dequantizeVal(qb, bQ.scale, bQ.zeroPoint);
    let c = f32(da + db);
    if (relu && c < 0) c = 0;
    const v = quantizeWithInvU8(c, inv, o.zeroPoint);
    y[i] = v;
    if (tracer?.want(i)) {
      tracer.emit({
        index: i,
        inputs: [operand([qa], aQ), operand([qb], bQ)],
        intermediates: { a: da, b: db, sum: c, inverseScale: inv, vectorBody: vector ? 1 : 0 },
        preRound: f32(c * inv),
        output: v,
      });
    }
  }
  return makeOut(y, outShape, o.scale, o.zeroPoint);
}

/**
 * Quantized elementwise addition, bit-exact with PyTorch 1.13's `quantized::add`.
 *
 * - engine `qnnpack`, equal shapes: QNNPACK's fixed-point add: `acc = zpp + a·aMult + b·bMult`,
 *   shifted right with round-half-away-from-zero (spec §5.3). The input-to-output scale ratios must
 *   lie in [2^-14, 2^8), as in PyTorch.
 * - otherwise (engine `onednn`, or b broadcast to a): the generic kernel, `f32(da + db)` with
 *   FMA-dequantized inputs in its vector body and `dequantize_val` in its scalar tail, quantized with
 *   `zp + rne(f32(c · f32(1/f32(s_out))))`. Pass `memoryFormat: 'channels_last'` for tensors that came
 *   out of a quantized conv: the vector/tail split follows memory order (spec §12.C4).
 *
 * Output shape = a's shape; b broadcasts to it.
 * @throws `DTYPE_MISMATCH` for non-quint8 inputs; `SHAPE_MISMATCH` when b does not broadcast to a;
 *   `INVALID_QPARAMS` for a scale ratio QNNPACK rejects; `EMPTY_TENSOR`.
 * @example
 * const y = add(a, b, { scale: 0.2, zeroPoint: 3 }, { engine: 'qnnpack' });
 * @see https://pytorch.org/docs/stable/generated/torch.ao.nn.quantized.FloatFunctional.html
 */
export function add(a: QTensor, b: QTensor, out: OutQparams, opts?: KernelOptions): QTensor {
  return binary('add', a, b, out, opts);
}

/**
 * {@link add} with ReLU fused: the generic kernel clamps the float sum at 0 before quantizing, the
 * QNNPACK kernel clamps the code at the output zero point (spec §5.3).
 * @throws as {@link add}.
 * @example
 * const y = addRelu(a, b, { scale: 0.2, zeroPoint: 3 });
 * @see https://pytorch.org/docs/stable/generated/torch.ao.nn.quantized.FloatFunctional.html
 */
export function addRelu(a: QTensor, b: QTensor, out: OutQparams, opts?: KernelOptions): QTensor {
  return binary('addRelu', a, b, out, opts);
}

/**
 * Quantized elementwise multiplication, bit-exact with PyTorch 1.13's `quantized::mul` for quint8 on
 * every engine (spec §5.4): `acc = (a − zp_a)(b − zp_b)` in int32,
 * `y = clamp(zp_out + rne(f32(acc · M)))`, `M = f32(f32(f32(s_a)·f32(s_b)) · f32(1/f32(s_out)))`.
 * Dequantize-multiply-quantize is not the formula. Shapes broadcast both ways.
 * @throws `DTYPE_MISMATCH`, `SHAPE_MISMATCH`, `EMPTY_TENSOR`.
 * @example
 * const y = mul(a, b, { scale: 0.05, zeroPoint: 128 });
 * @see https://pytorch.org/docs/stable/generated/torch.ao.nn.quantized.FloatFunctional.html
 */
export function mul(a: QTensor, b: QTensor, out: OutQparams, opts?: KernelOptions): QTensor {
  return binary('mul', a, b, out, opts);
}

/**
 * {@link mul} with ReLU fused: `max(y, zp_out)` on the code (spec §5.4).
 * @throws as {@link mul}.
 * @example
 * const y = mulRelu(a, b, { scale: 0.05, zeroPoint: 128 });
 * @see https://pytorch.org/docs/stable/generated/torch.ao.nn.quantized.FloatFunctional.html
 */
export function mulRelu(a: QTensor, b: QTensor, out: OutQparams, opts?: KernelOptions): QTensor {
  return binary('mulRelu', a, b, out, opts);
}

/**
 * Quantized concatenation along `dim`, bit-exact with PyTorch 1.13 (spec §5.5, §12.C10).
 *
 * Without `out` this is `torch.cat` on quantized tensors: the output takes the first input's qparams
 * and the other inputs are requantized into them. With `out` it is `quantized::cat(xs, dim, scale,
 * zero_point)` (`FloatFunctional.cat`).
 * - 4-D inputs that are all channels_last (`memoryFormat: 'channels_last'`, or C == 1 / H = W = 1)
 *   with dim 1 take `qcat_nhwc_kernel`: inputs whose qparams equal the output's are copied; the
 *   others use the FMA dequantize and `inv = f32(1.0/s)` on channel blocks of 32, then of 8, and
 *   `dequantize_val`/`quantize_val` on the last < 8 channels.
 * - otherwise every input is dequantized with `dequantize_val` and quantized with `quantize_val`.
 * @throws `SHAPE_MISMATCH` when shapes differ outside `dim`; `INVALID_ARGUMENT` for an empty list
 *   or a bad dim; `DTYPE_MISMATCH`; `EMPTY_TENSOR`.
 * @example
 * const y = cat([a, b], 1, { scale: 0.1, zeroPoint: 5 });
 * @see https://pytorch.org/docs/stable/generated/torch.cat.html
 */
export function cat(xs: readonly QTensor[], dim: number, out?: OutQparams, opts?: KernelOptions): QTensor {
  const op = 'cat';
  if (!xs || xs.length === 0) {
    throw new QuantError('INVALID_ARGUMENT', 'cat: the input list is empty; pass at least one tensor.');
  }
  const qs = xs.map((x, k) => checkInput(op, x, `input ${k}`));
  const engine = engineOf(opts);
  // Engine ort: ONNX Runtime's QLinearConcat (ort-ops.ts, docs/numerics.md).
  if (engine === 'ort') return ortCat(xs, dim, out, opts);
  if (engine !== 'qnnpack' && engine !== 'onednn') {
    throw new QuantError('UNSUPPORTED_OP', `cat: engine '${engine}' is not implemented for this op; use 'qnnpack' or 'onednn'.`);
  }
  const first = xs[0]!;
  const nd = first.ndim;
  const d = dim < 0 ? dim + nd : dim;
  if (!Number.isInteger(dim) || d < 0 || d >= nd) {
    throw new QuantError('AXIS_OUT_OF_RANGE', `cat: dim ${dim} is out of range for ${nd}-D inputs; pass a dim in [${-nd}, ${nd - 1}].`);
  }
  for (const [k, x] of xs.entries()) {
    if (x.ndim !== nd || x.shape.some((s, i) => i !== d && s !== first.shape[i])) {
      throw new QuantError(
        'SHAPE_MISMATCH',
        `cat: input ${k} has shape [${x.shape.join(', ')}], input 0 [${first.shape.join(', ')}]; shapes must match except in dim ${d}.`,
      );
    }
  }
  const o = out === undefined ? { scale: qs[0]!.scale, zeroPoint: qs[0]!.zeroPoint } : checkOut(op, out);
  const outShape = [...first.shape];
  outShape[d] = xs.reduce((s, x) => s + x.shape[d]!, 0);
  const y = allocU8(outShape.reduce((p, e) => p * e, 1));
  const tracer = tracerOf(op, engine, opts);
  const nhwc = nd === 4 && d === 1 && xs.every((x) => isChannelsLastContiguous(x.shape, opts?.memoryFormat));
  const outer = outShape.slice(0, d).reduce((p, e) => p * e, 1);
  const inner = outShape.slice(d + 1).reduce((p, e) => p * e, 1);
  const outRow = outShape[d]! * inner;
  let offset = 0;
  for (const [k, x] of xs.entries()) {
    const q = qs[k]!;
    const c = x.shape[d]!;
    const row = c * inner;
    const copy = nhwc && q.scale === o.scale && q.zeroPoint === o.zeroPoint;
    // NHWC: per pixel, channels [0, 32⌊C/32⌋) and the next 8⌊rem/8⌋ take the vector path.
    const c32 = Math.floor(c / 32) * 32;
    const vecChannels = c - c32 >= 8 ? c32 + Math.floor((c - c32) / 8) * 8 : c32;
    const invVec = invDouble(o.scale);
    const invScalar = invFloat(o.scale);
    for (let i = 0; i < outer; i++) {
      for (let j = 0; j < row; j++) {
        const src = i * row + j;
        const dst = i * outRow + offset + j;
        const code = x.data[src]!;
        let v: number;
        let deq: number | null = null;
        let vector = false;
        if (copy) {
          v = code;
        } else if (nhwc) {
          vector = Math.floor(j / inner) < vecChannels;
          deq = vector ? dequantizeValFma(code, q.scale, q.zeroPoint) : dequantizeVal(code, q.scale, q.zeroPoint);
          v = quantizeWithInvU8(deq, vector ? invVec : invScalar, o.zeroPoint);
        } else {
          deq = dequantizeVal(code, q.scale, q.zeroPoint);
          v = quantizeWithInvU8(deq, invScalar, o.zeroPoint);
        }
        y[dst] = v;
        if (tracer?.want(dst)) {
          const inv = vector ? invVec : invScalar;
          tracer.emit({
            index: dst,
            inputs: [operand([code], q)],
            intermediates: deq === null ? { input: k, copied: 1 } : { input: k, dequantized: deq, inverseScale: inv, vectorBody: vector ? 1 : 0 },
            preRound: deq === null ? null : f32(deq * inv),
            output: v,
          });
        }
      }
    }
    offset += row;
  }
  return makeOut(y, outShape, o.scale, o.zeroPoint);
}

/** The elementwise kernels, for createJsBackend's kernel table. */
export const elementwiseKernels: Partial<KernelTable> = { add, addRelu, mul, mulRelu, cat };
