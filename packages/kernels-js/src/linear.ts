// quantized::linear / linear_relu / linear_dynamic (spec pytorch-semantics.md §5.2, §5.10). The
// argument checks, the per-call requantization set-up and the trace records are @quint/qtensor's,
// shared with every backend; the accumulation below is the reference.
import type { Tensor } from '@quint/tensor';
import {
  OP_NAMES,
  QTensor,
  checkGemmActivation,
  checkGemmOutQparams,
  checkInFeatures,
  checkLinearDynamicInput,
  emitGemmTrace,
  gemmCallRequantization,
  linearDynamicOutput,
  linearTraceOperands,
  quantizeDynamicInput,
  requantizeOutputCode,
  requantizePreRound,
  resolveEngine,
  type EngineContext,
  type KernelOptions,
  type LinearDynamicOptions,
  type OpName,
  type OutQparams,
  type PerTensorQparams,
  type WeightChannels,
} from '@quint/qtensor';
import type { JsPackedLinear } from './prepack.js';

/** `acc = Σ_k (x_q − x_zp)·(w_q − w_zp[o])` in int32 for row `r` and output feature `o`. */
function accAt(xd: ArrayLike<number>, xzp: number, w: WeightChannels, k: number, r: number, o: number): number {
  const wzp = w.zeroPoints[o]!;
  let acc = 0;
  for (let j = 0; j < k; j++) acc = (acc + (xd[r * k + j]! - xzp) * (w.codes[o * k + j]! - wzp)) | 0;
  return acc;
}

/**
 * Runs a quantized linear over the last dimension of an input of any rank ≥ 1: every leading index is
 * a row, `y[r, o] = requant(Σ_k (x_q − x_zp)·(w_q − w_zp[o]))` per the call's engine.
 */
export function linear(
  ctx: EngineContext,
  x: QTensor,
  w: JsPackedLinear,
  out: OutQparams,
  opts: KernelOptions | undefined,
  relu: boolean,
): QTensor {
  const op: OpName = relu ? 'linearRelu' : 'linear';
  const engine = resolveEngine(op, opts, ctx);
  const xq = checkGemmActivation(op, x, null);
  const o = checkGemmOutQparams(op, out);
  const k = checkInFeatures(op, x.shape, w.inFeatures);
  const rows = x.numel / k;
  const n = w.channels.outChannels;
  const rq = gemmCallRequantization({
    op,
    engine,
    input: xq,
    weight: w.channels,
    bias: w.bias,
    out: o,
    relu,
    layer: `linear weight [${n}, ${k}]`,
  });
  const y = new Uint8Array(rows * n);
  for (let r = 0; r < rows; r++) {
    for (let f = 0; f < n; f++) {
      y[r * n + f] = requantizeOutputCode(
        rq,
        requantizePreRound(rq, accAt(x.data, xq.zeroPoint, w.channels, k, r, f), f),
      );
    }
  }
  const trace = opts?.trace;
  if (trace !== undefined) {
    emitGemmTrace({
      op,
      trace,
      rq,
      input: xq,
      weight: w.channels,
      output: y,
      operands: (index) => ({
        ...linearTraceOperands(index, n, k, x.data, w.channels.codes),
        acc: accAt(x.data, xq.zeroPoint, w.channels, k, Math.floor(index / n), index % n),
      }),
    });
  }
  const shape = [...x.shape.slice(0, -1), n];
  return new QTensor(y, shape, 'quint8', { qscheme: 'per_tensor_affine', scale: o.scale, zeroPoint: o.zeroPoint });
}

/**
 * `quantized::linear_dynamic` on engines qnnpack and onednn (spec §5.10): the activation is quantized
 * per call from its own min/max (qnnpack ignores `reduce_range`; onednn honours it and quantizes with
 * oneDNN's reorder), accumulated in int32 as {@link linear}, and each output is a float32:
 * `f32(f32(f32(f32(w_s)·f32(x_s)) · f32(acc)) + b)` on qnnpack, `f32(f32(f32(acc) + f32(b·bs)) · f32(1/bs))`
 * on onednn (`linearDynamicOutput` in @quint/qtensor).
 */
export function linearDynamic(
  ctx: EngineContext,
  x: Tensor,
  w: JsPackedLinear,
  opts: LinearDynamicOptions | undefined,
): Tensor {
  const op: OpName = 'linearDynamic';
  const engine = resolveEngine(op, opts, ctx);
  const k = checkLinearDynamicInput(op, engine, x, w.inFeatures, OP_NAMES.linearDynamic.engines);
  const xq = quantizeDynamicInput(op, x, engine, opts?.reduceRange ?? true);
  const xzp = (xq.qparams as PerTensorQparams).zeroPoint;
  const n = w.channels.outChannels;
  return linearDynamicOutput({
    op,
    engine,
    x,
    xq,
    weight: w.channels,
    bias: w.bias,
    opts,
    acc: (index) => accAt(xq.data, xzp, w.channels, k, Math.floor(index / n), index % n),
  });
}
