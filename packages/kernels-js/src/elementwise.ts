// add, add_relu, mul, mul_relu and cat on quint8 codes, as PyTorch 1.13 computes them on the
// qnnpack and onednn engines (spec pytorch-semantics.md §5.0, §5.3–§5.5, §12.C8–C10).
import { QuantError } from '@quint/tensor';
import {
  VEC_STEP_U8,
  binaryOutShape,
  broadcastIndex,
  catGeometry,
  checkCatInputs,
  checkNonGemmInput,
  checkNonGemmOut,
  clampU8,
  dequantizeVal,
  dequantizeValFma,
  elementTracer,
  elementwiseInnerLoop,
  engineOf,
  invDouble,
  invFloat,
  isChannelsLastContiguous,
  makeQuint8Out,
  perTensorOperand,
  qnnpackAddParams,
  quantizeWithInvU8,
  roundHalfToEven,
  sameShape,
  type KernelOptions,
  type KernelTable,
  type OutQparams,
  type QTensor,
} from '@quint/qtensor';
import { allocU8, f32, memoryOrder } from './ops-common.js';
import { ortBinary, ortCat } from './ort-ops.js';

type BinaryOp = 'add' | 'addRelu' | 'mul' | 'mulRelu';

function binary(op: BinaryOp, a: QTensor, b: QTensor, out: OutQparams, opts: KernelOptions | undefined): QTensor {
  const aQ = checkNonGemmInput(op, a, 'a');
  const bQ = checkNonGemmInput(op, b, 'b');
  const o = checkNonGemmOut(op, out);
  const engine = engineOf(opts);
  // Engine ort: ONNX Runtime's QLinearAdd/QLinearMul, per `opts.target` (ort-ops.ts).
  if (engine === 'ort') return ortBinary(op, a, b, out, opts);
  if (engine !== 'qnnpack' && engine !== 'onednn') {
    throw new QuantError(
      'UNSUPPORTED_OP',
      `${op}: engine '${engine}' is not implemented for this op; use 'qnnpack' or 'onednn'.`,
    );
  }
  const relu = op === 'addRelu' || op === 'mulRelu';
  const isAdd = op === 'add' || op === 'addRelu';
  // quantized::add: only b broadcasts (to a's sizes); quantized::mul: both ways.
  const outShape = binaryOutShape(op, a.shape, b.shape);
  const n = outShape.reduce((p, d) => p * d, 1);
  const aIdx = sameShape(a.shape, outShape) ? null : broadcastIndex(a.shape, outShape);
  const bIdx = sameShape(b.shape, outShape) ? null : broadcastIndex(b.shape, outShape);
  const ad = a.data;
  const bd = b.data;
  const y = allocU8(n);
  const tracer = elementTracer(op, engine, opts);
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
        tracer.emit({
          index: i,
          inputs: [perTensorOperand([qa], aQ), perTensorOperand([qb], bQ)],
          intermediates: { acc, multiplier: m },
          preRound: pre,
          output: v,
        });
      }
    }
    return makeQuint8Out(y, outShape, o.scale, o.zeroPoint);
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
          inputs: [perTensorOperand([qa], aQ), perTensorOperand([qb], bQ)],
          intermediates: { acc, aMult: p.aMult, bMult: p.bMult, zeroPointProduct: p.zpp, shift: p.shift, rounded: q },
          preRound: acc / 2 ** p.shift,
          output: v,
        });
      }
    }
    return makeQuint8Out(y, outShape, o.scale, o.zeroPoint);
  }

  // Generic ATen qadd_kernel (spec §5.3): the vector body dequantizes with an FMA, the scalar tail
  // with dequantize_val; both quantize with inv = 1.0f / f32(scale). Which elements take which body
  // follows the TensorIterator inner loop in memory order (spec §12.C4).
  const channelsLast = opts?.memoryFormat === 'channels_last' && a.ndim === 4;
  const loop = elementwiseInnerLoop(outShape, b.shape, channelsLast);
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
        inputs: [perTensorOperand([qa], aQ), perTensorOperand([qb], bQ)],
        intermediates: { a: da, b: db, sum: c, inverseScale: inv, vectorBody: vector ? 1 : 0 },
        preRound: f32(c * inv),
        output: v,
      });
    }
  }
  return makeQuint8Out(y, outShape, o.scale, o.zeroPoint);
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
 * - engine `ort`: ONNX Runtime 1.30's QLinearAdd (and QDQ Add, which it fuses), shapes broadcast
 *   both ways. `opts.target` picks the build: `'wasm'` (default, onnxruntime-web: dequantize, add,
 *   divide by s_out in float32, zero point added before rounding) or `'x64'` (onnxruntime-node with
 *   AVX2 + FMA: fused multiply-adds of the codes and the scale ratios) (docs/numerics.md "Engine ort").
 *
 * Output shape = a's shape; b broadcasts to it (both ways on engine `ort`).
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
 * QNNPACK kernel clamps the code at the output zero point (spec §5.3). Engine `ort` clamps ORT's
 * QLinearAdd code at the output zero point, as ORT computes `QLinearAdd → DQ → Relu → Q`, and QDQ
 * `Add → Relu → Q` when the output zero point is 0 (with another zero point ORT keeps that QDQ pair
 * in float: docs/numerics.md).
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
 * Engine `ort`: ONNX Runtime 1.30's QLinearMul; `opts.target: 'wasm'` (default, onnxruntime-web:
 * `f32(f32(va·vb)/s_out)`, zero point added before rounding) or `'x64'` (onnxruntime-node:
 * `f32(acc·f32(f32(s_a·s_b)/s_out)) + zp_out`) (docs/numerics.md "Engine ort").
 * @throws `DTYPE_MISMATCH`, `SHAPE_MISMATCH`, `EMPTY_TENSOR`; `INVALID_ARGUMENT` for another `target`.
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
  const qs = checkCatInputs(xs);
  const engine = engineOf(opts);
  // Engine ort: ONNX Runtime's QLinearConcat (ort-ops.ts, docs/numerics.md).
  if (engine === 'ort') return ortCat(xs, dim, out, opts);
  if (engine !== 'qnnpack' && engine !== 'onednn') {
    throw new QuantError(
      'UNSUPPORTED_OP',
      `cat: engine '${engine}' is not implemented for this op; use 'qnnpack' or 'onednn'.`,
    );
  }
  const { dim: d, out: o, outShape, outer, inner } = catGeometry(xs, qs, dim, out);
  const nd = xs[0]!.ndim;
  const y = allocU8(outShape.reduce((p, e) => p * e, 1));
  const tracer = elementTracer(op, engine, opts);
  const nhwc = nd === 4 && d === 1 && xs.every((x) => isChannelsLastContiguous(x.shape, opts?.memoryFormat));
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
            inputs: [perTensorOperand([code], q)],
            intermediates:
              deq === null
                ? { input: k, copied: 1 }
                : { input: k, dequantized: deq, inverseScale: inv, vectorBody: vector ? 1 : 0 },
            preRound: deq === null ? null : f32(deq * inv),
            output: v,
          });
        }
      }
    }
    offset += row;
  }
  return makeQuint8Out(y, outShape, o.scale, o.zeroPoint);
}

/** The elementwise kernels, for createJsBackend's kernel table. */
export const elementwiseKernels: Partial<KernelTable> = { add, addRelu, mul, mulRelu, cat };
