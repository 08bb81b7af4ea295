// quantized::linear / linear_relu / linear_dynamic (spec pytorch-semantics.md §5.2, §5.10).
import { QuantError, Tensor } from '@quint/tensor';
import {
  QTensor,
  chooseQuantizationParams,
  quantizePerTensor,
  type KernelOptions,
  type LinearDynamicOptions,
  type OpName,
  type OutQparams,
  type PerTensorQparams,
} from '@quint/qtensor';
import {
  callRequantization,
  checkActivation,
  checkOutQparams,
  gemmRecord,
  requantizeOutputCode,
  requantizePreRound,
  resolveEngine,
  traceTargets,
  type EngineContext,
  type WeightChannels,
} from './gemm-common.js';
import type { JsPackedLinear } from './prepack.js';

const f32 = Math.fround;

/** `acc = Σ_k (x_q − x_zp)·(w_q − w_zp[o])` in int32 for row `r` and output feature `o`. */
function accAt(xd: ArrayLike<number>, xzp: number, w: WeightChannels, k: number, r: number, o: number): number {
  const wzp = w.zeroPoints[o]!;
  let acc = 0;
  for (let j = 0; j < k; j++) acc = (acc + (xd[r * k + j]! - xzp) * (w.codes[o * k + j]! - wzp)) | 0;
  return acc;
}

function checkInFeatures(op: OpName, shape: readonly number[], w: JsPackedLinear): number {
  const k = shape[shape.length - 1]!;
  if (k !== w.inFeatures) {
    throw new QuantError(
      'SHAPE_MISMATCH',
      `${op}: input [${shape.join(', ')}] has ${k} features in its last dim, the weight expects ${w.inFeatures}; pass [..., ${w.inFeatures}].`,
    );
  }
  return k;
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
  const xq = checkActivation(op, x, null);
  const o = checkOutQparams(op, out);
  const k = checkInFeatures(op, x.shape, w);
  const rows = x.numel / k;
  const n = w.channels.outChannels;
  const rq = callRequantization({
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
      y[r * n + f] = requantizeOutputCode(rq, requantizePreRound(rq, accAt(x.data, xq.zeroPoint, w.channels, k, r, f), f));
    }
  }
  const trace = opts?.trace;
  if (trace !== undefined) {
    for (const index of traceTargets(op, trace, y.length)) {
      const r = Math.floor(index / n);
      const f = index % n;
      trace.sink(
        gemmRecord({
          op,
          index,
          channel: f,
          rq,
          input: xq,
          inputCodes: Array.from(x.data.subarray(r * k, (r + 1) * k)),
          weight: w.channels,
          weightCodes: Array.from(w.channels.codes.subarray(f * k, (f + 1) * k)),
          acc: accAt(x.data, xq.zeroPoint, w.channels, k, r, f),
          output: y[index]!,
        }),
      );
    }
  }
  const shape = [...x.shape.slice(0, -1), n];
  return new QTensor(y, shape, 'quint8', { qscheme: 'per_tensor_affine', scale: o.scale, zeroPoint: o.zeroPoint });
}

/**
 * `quantized::linear_dynamic` on engine qnnpack (spec §5.10, verified: 0 mismatches in 3.6×10^4
 * outputs): the activation's qparams come from `ChooseQuantizationParams(min(x), max(x), 0, 255)` over
 * the whole tensor — qnnpack ignores `reduce_range` ("qnnpack incorrectly ignores reduce_range") — the
 * activation is quantized with `quantize_per_tensor`, and each output is the float32
 * `f32(f32(f32(f32(w_s)·f32(x_s)) · f32(acc)) + b)`.
 */
export function linearDynamic(ctx: EngineContext, x: Tensor, w: JsPackedLinear, opts: LinearDynamicOptions | undefined): Tensor {
  const op: OpName = 'linearDynamic';
  const engine = resolveEngine(op, opts, ctx);
  if (engine !== 'qnnpack') {
    throw new QuantError(
      'UNSUPPORTED_OP',
      `${op}: engine ${engine} is not reproduced bit for bit (spec §5.10 determines only qnnpack's dynamic linear); use engine qnnpack.`,
    );
  }
  if (!(x instanceof Tensor)) {
    throw new QuantError('INVALID_ARGUMENT', `${op}: input must be a float Tensor (dynamic quantization quantizes it per call).`);
  }
  if (x.ndim < 1 || x.numel === 0) {
    throw new QuantError('EMPTY_TENSOR', `${op}: input of shape [${x.shape.join(', ')}] is empty; pass at least one element.`);
  }
  const k = checkInFeatures(op, x.shape, w);
  const xf = x.toFloat32Array();
  let mn = Infinity;
  let mx = -Infinity;
  for (let i = 0; i < xf.length; i++) {
    const v = xf[i]!;
    if (!Number.isFinite(v)) {
      throw new QuantError('NON_FINITE', `${op}: input element ${i} is ${v}; dynamic quantization needs finite inputs.`);
    }
    if (v < mn) mn = v;
    if (v > mx) mx = v;
  }
  // reduceRange is accepted for API parity with nnqd.Linear but qnnpack ignores it (spec §5.10).
  const qp = chooseQuantizationParams({ min: mn, max: mx, qmin: 0, qmax: 255, reduceRange: false });
  const xq = quantizePerTensor(x, qp.scale, qp.zeroPoint, 'quint8');
  const rows = xf.length / k;
  const n = w.channels.outChannels;
  const mult = new Float32Array(n);
  for (let f = 0; f < n; f++) mult[f] = f32(f32(w.channels.scales[f]!) * f32(qp.scale));
  const b = w.bias;
  const outAt = (acc: number, f: number): number => {
    const v = f32(mult[f]! * f32(acc));
    return b === null ? v : f32(v + b[f]!);
  };
  const y = new Float32Array(rows * n);
  for (let r = 0; r < rows; r++) {
    for (let f = 0; f < n; f++) y[r * n + f] = outAt(accAt(xq.data, qp.zeroPoint, w.channels, k, r, f), f);
  }
  const trace = opts?.trace;
  if (trace !== undefined) {
    const xqp = xq.qparams as PerTensorQparams;
    for (const index of traceTargets(op, trace, y.length)) {
      const r = Math.floor(index / n);
      const f = index % n;
      const acc = accAt(xq.data, qp.zeroPoint, w.channels, k, r, f);
      trace.sink({
        kind: 'gemm',
        op,
        engine,
        index,
        channel: f,
        input: { codes: Array.from(xq.data.subarray(r * k, (r + 1) * k)), zeroPoint: xqp.zeroPoint, scale: xqp.scale },
        weight: {
          codes: Array.from(w.channels.codes.subarray(f * k, (f + 1) * k)),
          zeroPoint: w.channels.zeroPoints[f]!,
          scale: w.channels.scales[f]!,
        },
        acc,
        biasKind: b === null ? 'none' : 'float',
        bias: b === null ? 0 : b[f]!,
        multiplier: mult[f]!,
        extra: {},
        preRound: y[index]!,
        output: y[index]!,
      });
    }
  }
  return new Tensor(y, [...x.shape.slice(0, -1), n]);
}
