// Shared pieces of the conv2d and linear kernels: input checks, the packed-weight record, the
// per-call requantization with its exact run-time overflow check, and trace records.
// Internal: nothing here is exported from the package.
import { QuantError } from '@quint/tensor';
import {
  ENGINES,
  QTensor,
  prepareGemmRequantization,
  requantizePreRound,
  requantizeOutputCode,
  type Engine,
  type GemmRequantization,
  type GemmTraceRecord,
  type KernelOptions,
  type OpName,
  type OutQparams,
  type PerTensorQparams,
  type TraceOptions,
} from '@quint/qtensor';

export const INT32_MAX = 2147483647;

/**
 * What prepack stores for a conv or linear weight, whatever its layout: per output channel the zero
 * point, the scale (double, as `q_scale()`/`q_per_channel_scales()`), and `Σ_k |w_q − w_zp|`, the
 * factor of the overflow bound.
 */
export interface WeightChannels {
  readonly outChannels: number;
  /** Codes in the weight's C order (qint8). */
  readonly codes: Int8Array;
  readonly zeroPoints: Int32Array;
  readonly scales: Float64Array;
  readonly perChannel: boolean;
  /** `Σ_k |w_q − w_zp[c]|` per output channel. */
  readonly absSum: Float64Array;
  /** True when every zero point is 0 (onednn requires it, spec §5.2b). */
  readonly symmetric: boolean;
}

/** The per-call state the engine choice needs: which engine, and a one-time fbgemm warning. */
export interface EngineContext {
  /** Called once per backend the first time engine fbgemm is used. */
  readonly warnFbgemm: () => void;
}

/** The engine of a call (default qnnpack), validated. */
export function resolveEngine(op: OpName, opts: KernelOptions | undefined, ctx: EngineContext): Engine {
  const engine = opts?.engine ?? 'qnnpack';
  if (!ENGINES.includes(engine)) {
    throw new QuantError('INVALID_ARGUMENT', `${op}: unknown engine '${String(engine)}'; use one of ${ENGINES.join(', ')}.`);
  }
  if (engine === 'fbgemm') ctx.warnFbgemm();
  return engine;
}

/** Checks a quint8 per-tensor activation of rank `rank` (or ≥ 1 when null) and returns its qparams. */
export function checkActivation(op: OpName, x: QTensor, rank: number | null): PerTensorQparams {
  if (!(x instanceof QTensor)) {
    throw new QuantError('INVALID_ARGUMENT', `${op}: input is not a QTensor; quantize it first (quantizePerTensor).`);
  }
  if (x.dtype !== 'quint8') {
    throw new QuantError('DTYPE_MISMATCH', `${op}: input dtype is ${x.dtype}; conv/linear take quint8 activations (PyTorch's qnnpack and onednn kernels do), requantize to quint8.`);
  }
  if (x.isPerChannel()) {
    throw new QuantError('INVALID_QPARAMS', `${op}: input is ${x.qparams.qscheme}; activations must be quantized per tensor.`);
  }
  if (rank !== null ? x.ndim !== rank : x.ndim < 1) {
    throw new QuantError(
      'SHAPE_MISMATCH',
      `${op}: input shape [${x.shape.join(', ')}] has rank ${x.ndim}; pass a ${rank !== null ? `${rank}-D (NCHW)` : 'rank ≥ 1'} tensor.`,
    );
  }
  if (x.numel === 0) {
    throw new QuantError('EMPTY_TENSOR', `${op}: input of shape [${x.shape.join(', ')}] is empty; pass at least one element.`);
  }
  return x.qparams as PerTensorQparams;
}

/** Checks output qparams of a conv/linear (quint8 only) and returns them with the dtype filled in. */
export function checkOutQparams(op: OpName, out: OutQparams): Required<OutQparams> {
  if (out === undefined || out === null || typeof out !== 'object') {
    throw new QuantError('INVALID_ARGUMENT', `${op}: output qparams are missing; pass { scale, zeroPoint }.`);
  }
  const dtype = out.dtype ?? 'quint8';
  if (dtype !== 'quint8') {
    throw new QuantError('DTYPE_MISMATCH', `${op}: output dtype ${dtype} is not supported; conv/linear produce quint8.`);
  }
  const s = Math.fround(out.scale);
  if (!(out.scale > 0) || !Number.isFinite(out.scale) || !(s > 0) || !Number.isFinite(s)) {
    throw new QuantError('INVALID_QPARAMS', `${op}: output scale ${out.scale} must be a positive finite float32; pass a scale > 0.`);
  }
  if (!Number.isInteger(out.zeroPoint) || out.zeroPoint < 0 || out.zeroPoint > 255) {
    throw new QuantError('INVALID_QPARAMS', `${op}: output zero point ${out.zeroPoint} is outside [0, 255]; pass an integer in [0, 255].`);
  }
  return { scale: out.scale, zeroPoint: out.zeroPoint, dtype };
}

/**
 * The requantization of one call, after the engine's own restrictions and the exact overflow check
 * now that the input's zero point and scale are known: for every output channel
 * `Σ_k |w_q − w_zp|·max(x_zp, 255 − x_zp) + |bias_q| ≤ 2^31 − 1` (bias_q as the engine quantizes it;
 * onednn and fbgemm add a float bias, so only the accumulator counts there).
 */
export function callRequantization(args: {
  readonly op: OpName;
  readonly engine: Engine;
  readonly input: PerTensorQparams;
  readonly weight: WeightChannels;
  readonly bias: Float32Array | null;
  readonly out: Required<OutQparams>;
  readonly relu: boolean;
  readonly layer: string;
}): GemmRequantization {
  const { op, engine, weight: w } = args;
  if (engine === 'onednn' && !w.symmetric) {
    throw new QuantError(
      'UNSUPPORTED_OP',
      `${op}: engine onednn needs weight zero points 0 (PyTorch: "ONEDNN only supports symmetric quantization of weight"), ${args.layer} has [${Array.from(w.zeroPoints).slice(0, 4).join(', ')}${w.outChannels > 4 ? ', …' : ''}]; quantize the weight symmetrically or use engine qnnpack.`,
    );
  }
  const rq = prepareGemmRequantization(engine, {
    inputScale: args.input.scale,
    weightScales: w.scales,
    perChannel: w.perChannel,
    outputScale: args.out.scale,
    outputZeroPoint: args.out.zeroPoint,
    outputDtype: 'quint8',
    bias: args.bias,
    relu: args.relu,
  });
  const xSpan = Math.max(args.input.zeroPoint, 255 - args.input.zeroPoint);
  for (let c = 0; c < w.outChannels; c++) {
    const biasMag = rq.biasKind === 'int32' ? Math.abs(rq.bias[c]!) : 0;
    const bound = w.absSum[c]! * xSpan + biasMag;
    if (bound > INT32_MAX) {
      throw new QuantError(
        'OVERFLOW',
        `${op}: the int32 accumulator of ${args.layer}, output channel ${c}, can reach ${bound} > 2^31−1 with input (scale ${args.input.scale}, zero point ${args.input.zeroPoint}) on engine ${engine}; use a larger input scale, a smaller bias, or split the layer.`,
      );
    }
  }
  return rq;
}

/** The flat output indices a trace asks for. */
export function traceTargets(op: OpName, trace: TraceOptions, numel: number): number[] {
  const index = trace.index ?? 0;
  if (index === 'all') return Array.from({ length: numel }, (_, i) => i);
  if (!Number.isInteger(index) || index < 0 || index >= numel) {
    throw new QuantError('INVALID_ARGUMENT', `${op}: trace index ${index} is outside the output (${numel} elements); pass 0..${numel - 1} or 'all'.`);
  }
  return [index];
}

/** Builds the trace record of one output element from its operands and accumulator. */
export function gemmRecord(args: {
  readonly op: OpName;
  readonly index: number;
  readonly channel: number;
  readonly rq: GemmRequantization;
  readonly input: PerTensorQparams;
  readonly inputCodes: number[];
  readonly weight: WeightChannels;
  readonly weightCodes: number[];
  readonly acc: number;
  readonly output: number;
}): GemmTraceRecord {
  const { rq, channel: c } = args;
  const extra: Record<string, number> = {};
  if (rq.engine === 'onednn') extra['biasScale'] = rq.biasScales![c]!;
  if (rq.engine === 'fbgemm') extra['actTimesWScale'] = rq.biasScales![c]!;
  return {
    kind: 'gemm',
    op: args.op,
    engine: rq.engine,
    index: args.index,
    channel: c,
    input: { codes: args.inputCodes, zeroPoint: args.input.zeroPoint, scale: args.input.scale },
    weight: { codes: args.weightCodes, zeroPoint: args.weight.zeroPoints[c]!, scale: args.weight.scales[c]! },
    acc: args.acc,
    biasKind: rq.biasKind,
    bias: rq.biasKind === 'none' ? 0 : rq.bias[c]!,
    multiplier: rq.multipliers[c]!,
    extra,
    preRound: requantizePreRound(rq, args.acc, c),
    output: args.output,
  };
}

export { requantizeOutputCode, requantizePreRound };
export type { GemmRequantization };
