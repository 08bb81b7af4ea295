// What every conv2d/linear backend checks and computes around its integer core, shared so that the
// backends (kernels-js, kernels-wasm) reject the same inputs with the same codes and messages and
// requantize with the same numbers: weight prepack checks and the int32 overflow bound at prepack,
// the per-call argument and shape checks, the per-call requantization with the exact overflow bound,
// the dynamic linear's activation quantization and output, trace records and `supports()` rules.
// Only the accumulators (and how they are vectorized) belong to a backend.
import { QuantError, Tensor } from '@quint/tensor';
import {
  ENGINES,
  type Conv2dPrepackOptions,
  type Engine,
  type GemmTraceRecord,
  type KernelOptions,
  type LinearDynamicOptions,
  type LinearPrepackOptions,
  type OpName,
  type OutQparams,
  type SupportsParams,
  type TraceOptions,
} from './backend.js';
import { QTensor, type PerChannelQparams, type PerTensorQparams } from './qtensor.js';
import { quantizePerTensor } from './quantize.js';
import {
  chooseQuantizationParams,
  chooseQuantizationParamsDouble,
  onednnBias,
  onednnDynamicQuantize,
  onednnDynamicScales,
  onednnScaledAcc,
  prepareGemmRequantization,
  requantizePreRound,
  type GemmRequantization,
} from './requantize.js';

const f32 = Math.fround;
const INT32_MAX = 2147483647;

/**
 * The smallest input scale the prepack overflow check assumes (2^−16: an activation range of
 * 255·2^−16 ≈ 0.0039). The kernels repeat the check exactly at run time with the real scale and
 * zero point.
 *
 * @example
 * backend.prepackLinear(w, b, { minInputScale: DEFAULT_MIN_INPUT_SCALE * 4 });
 */
export const DEFAULT_MIN_INPUT_SCALE = 2 ** -16;

/**
 * What prepack records of a conv or linear weight, whatever a backend's packed layout: per output
 * channel the zero point, the scale (double, as `q_scale()`/`q_per_channel_scales()`), and
 * `Σ_k |w_q − w_zp|`, the factor of the overflow bound.
 */
export interface WeightChannels {
  readonly outChannels: number;
  /** Codes in the weight's C order (qint8; kept for traces). */
  readonly codes: Int8Array;
  readonly zeroPoints: Int32Array;
  readonly scales: Float64Array;
  readonly perChannel: boolean;
  /** `Σ_k |w_q − w_zp[c]|` per output channel. */
  readonly absSum: Float64Array;
  /** True when every zero point is 0 (onednn requires it, spec §5.2b). */
  readonly symmetric: boolean;
}

/** The checked parts of a linear weight, as {@link checkLinearPrepack} returns them. */
export interface CheckedLinearWeight {
  readonly channels: WeightChannels;
  /** A copy of the bias, or null. */
  readonly bias: Float32Array | null;
  readonly inFeatures: number;
}

/** The checked parts of a conv2d weight, as {@link checkConv2dPrepack} returns them. */
export interface CheckedConv2dWeight {
  readonly channels: WeightChannels;
  /** A copy of the bias, or null. */
  readonly bias: Float32Array | null;
  /** `[outC, inC/groups, kH, kW]`. */
  readonly kernelShape: readonly [number, number, number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;
}

function weightChannels(what: string, weight: QTensor): WeightChannels {
  if (!(weight instanceof QTensor)) {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `${what}: weight is not a QTensor; quantize it with quantizePerTensor/quantizePerChannel (qint8).`,
    );
  }
  if (weight.dtype !== 'qint8') {
    throw new QuantError(
      'DTYPE_MISMATCH',
      `${what}: weight dtype is ${weight.dtype}; quantized conv/linear weights are qint8.`,
    );
  }
  if (weight.numel === 0) {
    throw new QuantError(
      'EMPTY_TENSOR',
      `${what}: weight of shape [${weight.shape.join(', ')}] is empty; pass a non-empty weight.`,
    );
  }
  const outChannels = weight.shape[0]!;
  const k = weight.numel / outChannels;
  const zeroPoints = new Int32Array(outChannels);
  const scales = new Float64Array(outChannels);
  let perChannel = false;
  if (weight.isPerChannel()) {
    const p = weight.qparams as PerChannelQparams;
    if (p.axis !== 0) {
      throw new QuantError(
        'AXIS_OUT_OF_RANGE',
        `${what}: per-channel weight axis is ${p.axis}; quantize along the output-channel axis 0.`,
      );
    }
    zeroPoints.set(p.zeroPoints);
    scales.set(p.scales);
    perChannel = true;
  } else {
    const p = weight.qparams as PerTensorQparams;
    zeroPoints.fill(p.zeroPoint);
    scales.fill(p.scale);
  }
  const codes = Int8Array.from(weight.data as Int8Array);
  const absSum = new Float64Array(outChannels);
  for (let c = 0; c < outChannels; c++) {
    let s = 0;
    for (let i = c * k; i < (c + 1) * k; i++) s += Math.abs(codes[i]! - zeroPoints[c]!);
    absSum[c] = s;
  }
  return { outChannels, codes, zeroPoints, scales, perChannel, absSum, symmetric: zeroPoints.every((z) => z === 0) };
}

function checkBias(what: string, bias: Float32Array | null, outChannels: number): Float32Array | null {
  if (bias === null || bias === undefined) return null;
  if (!(bias instanceof Float32Array)) {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `${what}: bias must be a Float32Array or null, got ${Object.prototype.toString.call(bias)}.`,
    );
  }
  if (bias.length !== outChannels) {
    throw new QuantError(
      'SHAPE_MISMATCH',
      `${what}: bias has ${bias.length} values for ${outChannels} output channels; pass one per output channel.`,
    );
  }
  for (let c = 0; c < bias.length; c++) {
    if (!Number.isFinite(bias[c]!)) {
      throw new QuantError('NON_FINITE', `${what}: bias[${c}] is ${bias[c]}; pass finite biases.`);
    }
  }
  return bias.slice();
}

/**
 * The prepack overflow check, exact in integers: for every output channel c,
 * `Σ_k |w_q − w_zp[c]| · 255 + ⌈|b[c]| / (minInputScale · w_s[c])⌉ ≤ 2^31 − 1`.
 * 255 bounds `max(x_zp, 255 − x_zp)` for every input zero point; the bias term bounds `|bias_q|` for
 * every input scale ≥ `minInputScale`. A layer that passes cannot overflow int32 for such inputs; the
 * kernels check the exact bound again per call ({@link gemmCallRequantization}). `bias_q` saturates
 * to int32 (PyTorch's `quantize_per_tensor(b, x_s·w_s, 0, qint32)`), so the bias term is at most
 * 2^31 − 1 (2^31 for a negative bias, whose limit is −2^31): a channel whose weights all equal their
 * zero point (a pruned channel, whose scale is eps) never overflows, whatever its bias.
 */
function checkOverflow(
  what: string,
  layer: string,
  w: WeightChannels,
  bias: Float32Array | null,
  minInputScale: number,
): void {
  if (!(minInputScale > 0) || !Number.isFinite(minInputScale)) {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `${what}: minInputScale ${minInputScale} must be a positive finite number.`,
    );
  }
  for (let c = 0; c < w.outChannels; c++) {
    const limit = bias !== null && bias[c]! < 0 ? INT32_MAX + 1 : INT32_MAX;
    const biasBound =
      bias === null ? 0 : Math.min(Math.ceil(Math.abs(bias[c]!) / (minInputScale * w.scales[c]!)), limit);
    const bound = w.absSum[c]! * 255 + biasBound;
    if (bound > limit) {
      throw new QuantError(
        'OVERFLOW',
        `${what}: ${layer} can overflow the int32 accumulator in output channel ${c}: Σ|w_q − w_zp|·255 = ${w.absSum[c]! * 255}` +
          (bias === null ? '' : ` plus |bias_q| ≤ ${biasBound} (input scale ≥ ${minInputScale})`) +
          ` exceeds 2^31−1; split the reduction (fewer input channels per layer), use smaller weights, or pass a larger minInputScale if the input scale is known to be larger.`,
      );
    }
  }
}

function pair(
  what: string,
  name: string,
  v: number | readonly [number, number] | undefined,
  dflt: number,
  min: number,
): [number, number] {
  const p: readonly number[] = v === undefined ? [dflt, dflt] : typeof v === 'number' ? [v, v] : v;
  if (p.length !== 2 || !p.every((e) => Number.isInteger(e) && e >= min)) {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `${what}: ${name} ${JSON.stringify(v)} must be an integer ≥ ${min} or a pair of them.`,
    );
  }
  return [p[0]!, p[1]!];
}

/**
 * The checks of `prepackConv2d` before a backend packs anything: a 4-D qint8 weight
 * `[outC, inC/groups, kH, kW]` (per tensor, or per channel on axis 0), one finite float32 bias per
 * output channel or null, valid groups/stride/padding/dilation, and the int32 overflow bound for
 * inputs of scale ≥ `opts.minInputScale` (default {@link DEFAULT_MIN_INPUT_SCALE}).
 *
 * @throws `INVALID_ARGUMENT`, `DTYPE_MISMATCH`, `SHAPE_MISMATCH`, `EMPTY_TENSOR`, `AXIS_OUT_OF_RANGE`,
 *   `NON_FINITE`, or `OVERFLOW` when the layer could overflow the int32 accumulator.
 * @example
 * const { channels, bias: b, kernelShape, stride, padding, dilation, groups } = checkConv2dPrepack(weight, bias, opts);
 */
export function checkConv2dPrepack(
  weight: QTensor,
  bias: Float32Array | null,
  opts: Conv2dPrepackOptions = {},
): CheckedConv2dWeight {
  const what = 'prepackConv2d';
  if (weight instanceof QTensor && weight.ndim !== 4) {
    throw new QuantError(
      'SHAPE_MISMATCH',
      `${what}: weight shape [${weight.shape.join(', ')}] is not 4-D; pass [outChannels, inChannels/groups, kH, kW].`,
    );
  }
  const channels = weightChannels(what, weight);
  const [oc, icg, kh, kw] = weight.shape as [number, number, number, number];
  const groups = opts.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1 || oc % groups !== 0) {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `${what}: groups ${groups} must be a positive integer dividing the ${oc} output channels.`,
    );
  }
  const stride = pair(what, 'stride', opts.stride, 1, 1);
  const padding = pair(what, 'padding', opts.padding, 0, 0);
  const dilation = pair(what, 'dilation', opts.dilation, 1, 1);
  const b = checkBias(what, bias, oc);
  const layer = `conv2d weight [${oc}, ${icg}, ${kh}, ${kw}] (K = ${icg * kh * kw})`;
  checkOverflow(what, layer, channels, b, opts.minInputScale ?? DEFAULT_MIN_INPUT_SCALE);
  return { channels, bias: b, kernelShape: [oc, icg, kh, kw], stride, padding, dilation, groups };
}

/**
 * The checks of `prepackLinear` before a backend packs anything: a 2-D qint8 weight
 * `[outFeatures, inFeatures]`, one finite float32 bias per output feature or null, and the int32
 * overflow bound as in {@link checkConv2dPrepack}.
 *
 * @throws as {@link checkConv2dPrepack}.
 * @example
 * const { channels, bias: b, inFeatures } = checkLinearPrepack(weight, bias, opts);
 */
export function checkLinearPrepack(
  weight: QTensor,
  bias: Float32Array | null,
  opts: LinearPrepackOptions = {},
): CheckedLinearWeight {
  const what = 'prepackLinear';
  if (weight instanceof QTensor && weight.ndim !== 2) {
    throw new QuantError(
      'SHAPE_MISMATCH',
      `${what}: weight shape [${weight.shape.join(', ')}] is not 2-D; pass [outFeatures, inFeatures].`,
    );
  }
  const channels = weightChannels(what, weight);
  const [n, k] = weight.shape as [number, number];
  const b = checkBias(what, bias, n);
  checkOverflow(
    what,
    `linear weight [${n}, ${k}] (K = ${k})`,
    channels,
    b,
    opts.minInputScale ?? DEFAULT_MIN_INPUT_SCALE,
  );
  return { channels, bias: b, inFeatures: k };
}

/** Per-backend state the engine choice needs: the one-time fbgemm warning. */
export interface EngineContext {
  /** Called each time engine fbgemm is used; warns the first time only. */
  readonly warnFbgemm: () => void;
}

/**
 * The engine context of one backend instance: its first use of engine `fbgemm` prints the
 * experimental warning once, to `onWarning` (default `console.warn`).
 *
 * @example
 * const ctx = createEngineContext(options.onWarning);
 */
export function createEngineContext(onWarning?: (message: string) => void): EngineContext {
  let warned = false;
  return {
    warnFbgemm() {
      if (warned) return;
      warned = true;
      (onWarning ?? ((m: string) => console.warn(m)))(
        'quint: warning: engine fbgemm is experimental: implemented from FBGEMM source (spec §5.2c), never compared with a PyTorch FBGEMM build.',
      );
    },
  };
}

/**
 * The engine of a kernel call (default qnnpack), validated; warns once per backend on fbgemm.
 *
 * @throws `INVALID_ARGUMENT` for an engine not in {@link ENGINES}.
 * @example
 * const engine = resolveEngine('linear', opts, ctx);
 */
export function resolveEngine(op: OpName, opts: KernelOptions | undefined, ctx: EngineContext): Engine {
  const engine = opts?.engine ?? 'qnnpack';
  if (!ENGINES.includes(engine)) {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `${op}: unknown engine '${String(engine)}'; use one of ${ENGINES.join(', ')}.`,
    );
  }
  if (engine === 'fbgemm') ctx.warnFbgemm();
  return engine;
}

/**
 * Checks the input of a conv/linear: a non-empty quint8 per-tensor QTensor of rank `rank` (or ≥ 1
 * when null); returns its qparams.
 *
 * @throws `INVALID_ARGUMENT`, `DTYPE_MISMATCH`, `INVALID_QPARAMS`, `SHAPE_MISMATCH`, `EMPTY_TENSOR`.
 * @example
 * const xq = checkGemmActivation('conv2d', x, 4);
 */
export function checkGemmActivation(op: OpName, x: QTensor, rank: number | null): PerTensorQparams {
  if (!(x instanceof QTensor)) {
    throw new QuantError('INVALID_ARGUMENT', `${op}: input is not a QTensor; quantize it first (quantizePerTensor).`);
  }
  if (x.dtype !== 'quint8') {
    throw new QuantError(
      'DTYPE_MISMATCH',
      `${op}: input dtype is ${x.dtype}; conv/linear take quint8 activations (PyTorch's qnnpack and onednn kernels do), requantize to quint8.`,
    );
  }
  if (x.isPerChannel()) {
    throw new QuantError(
      'INVALID_QPARAMS',
      `${op}: input is ${x.qparams.qscheme}; activations must be quantized per tensor.`,
    );
  }
  if (rank !== null ? x.ndim !== rank : x.ndim < 1) {
    throw new QuantError(
      'SHAPE_MISMATCH',
      `${op}: input shape [${x.shape.join(', ')}] has rank ${x.ndim}; pass a ${rank !== null ? `${rank}-D (NCHW)` : 'rank ≥ 1'} tensor.`,
    );
  }
  if (x.numel === 0) {
    throw new QuantError(
      'EMPTY_TENSOR',
      `${op}: input of shape [${x.shape.join(', ')}] is empty; pass at least one element.`,
    );
  }
  return x.qparams as PerTensorQparams;
}

/**
 * Checks the output qparams of a conv/linear (quint8 only) and returns them with the dtype filled in.
 *
 * @throws `INVALID_ARGUMENT` when missing; `DTYPE_MISMATCH` for another dtype; `INVALID_QPARAMS` for
 *   a scale that is not a positive finite float32 or a zero point outside [0, 255].
 * @example
 * const o = checkGemmOutQparams('linear', { scale: 0.05, zeroPoint: 128 });
 */
export function checkGemmOutQparams(op: OpName, out: OutQparams): Required<OutQparams> {
  if (out === undefined || out === null || typeof out !== 'object') {
    throw new QuantError('INVALID_ARGUMENT', `${op}: output qparams are missing; pass { scale, zeroPoint }.`);
  }
  const dtype = out.dtype ?? 'quint8';
  if (dtype !== 'quint8') {
    throw new QuantError(
      'DTYPE_MISMATCH',
      `${op}: output dtype ${dtype} is not supported; conv/linear produce quint8.`,
    );
  }
  const s = Math.fround(out.scale);
  if (!(out.scale > 0) || !Number.isFinite(out.scale) || !(s > 0) || !Number.isFinite(s)) {
    throw new QuantError(
      'INVALID_QPARAMS',
      `${op}: output scale ${out.scale} must be a positive finite float32; pass a scale > 0.`,
    );
  }
  if (!Number.isInteger(out.zeroPoint) || out.zeroPoint < 0 || out.zeroPoint > 255) {
    throw new QuantError(
      'INVALID_QPARAMS',
      `${op}: output zero point ${out.zeroPoint} is outside [0, 255]; pass an integer in [0, 255].`,
    );
  }
  return { scale: out.scale, zeroPoint: out.zeroPoint, dtype };
}

/**
 * The size of a linear's reduction: the last dim of `shape`, which must equal the weight's
 * `inFeatures`.
 *
 * @throws `SHAPE_MISMATCH` otherwise.
 * @example
 * const k = checkInFeatures('linear', x.shape, w.inFeatures);
 */
export function checkInFeatures(op: OpName, shape: readonly number[], inFeatures: number): number {
  const k = shape[shape.length - 1]!;
  if (k !== inFeatures) {
    throw new QuantError(
      'SHAPE_MISMATCH',
      `${op}: input [${shape.join(', ')}] has ${k} features in its last dim, the weight expects ${inFeatures}; pass [..., ${inFeatures}].`,
    );
  }
  return k;
}

/** The sizes of one conv2d call (NCHW input, `[OC, ICG, KH, KW]` weight), as {@link conv2dGeometry} derives them. */
export interface Conv2dGeometry {
  readonly N: number;
  readonly C: number;
  readonly H: number;
  readonly W: number;
  readonly OC: number;
  readonly ICG: number;
  readonly KH: number;
  readonly KW: number;
  readonly G: number;
  /** Output channels per group. */
  readonly OCG: number;
  readonly sh: number;
  readonly sw: number;
  readonly ph: number;
  readonly pw: number;
  readonly dh: number;
  readonly dw: number;
  readonly OH: number;
  readonly OW: number;
}

/** Output size of one spatial dim, as PyTorch's `conv_output_size`. */
function outSize(inSize: number, k: number, stride: number, pad: number, dil: number): number {
  return Math.floor((inSize + 2 * pad - dil * (k - 1) - 1) / stride) + 1;
}

/**
 * The sizes of a conv2d call on input shape `xShape` (4-D, checked by {@link checkGemmActivation})
 * with a packed weight: the input must have `ICG·groups` channels and the output at least 1×1.
 *
 * @throws `SHAPE_MISMATCH` otherwise.
 * @example
 * const { OH, OW } = conv2dGeometry('conv2d', x.shape, w);
 */
export function conv2dGeometry(
  op: OpName,
  xShape: readonly number[],
  w: {
    readonly kernelShape: readonly [number, number, number, number];
    readonly groups: number;
    readonly stride: readonly [number, number];
    readonly padding: readonly [number, number];
    readonly dilation: readonly [number, number];
  },
): Conv2dGeometry {
  const [N, C, H, W] = xShape as [number, number, number, number];
  const [OC, ICG, KH, KW] = w.kernelShape;
  const G = w.groups;
  if (C !== ICG * G) {
    throw new QuantError(
      'SHAPE_MISMATCH',
      `${op}: input has ${C} channels, the weight [${w.kernelShape.join(', ')}] with groups ${G} expects ${ICG * G}; pass an input with ${ICG * G} channels.`,
    );
  }
  const [sh, sw] = w.stride;
  const [ph, pw] = w.padding;
  const [dh, dw] = w.dilation;
  const OH = outSize(H, KH, sh, ph, dh);
  const OW = outSize(W, KW, sw, pw, dw);
  if (OH < 1 || OW < 1) {
    throw new QuantError(
      'SHAPE_MISMATCH',
      `${op}: input [${xShape.join(', ')}] is smaller than the dilated kernel (${KH}×${KW}, dilation ${dh}×${dw}, padding ${ph}×${pw}): output would be ${OH}×${OW}; pass a larger input or more padding.`,
    );
  }
  return { N, C, H, W, OC, ICG, KH, KW, G, OCG: OC / G, sh, sw, ph, pw, dh, dw, OH, OW };
}

/** PyTorch's onednn prepack refuses weight zero points ≠ 0 (spec §5.2b); so does every onednn kernel here. */
function checkOnednnWeight(op: OpName, engine: Engine, w: WeightChannels, layer: string): void {
  if (engine === 'onednn' && !w.symmetric) {
    throw new QuantError(
      'UNSUPPORTED_OP',
      `${op}: engine onednn needs weight zero points 0 (PyTorch: "ONEDNN only supports symmetric quantization of weight"), ${layer} has [${Array.from(w.zeroPoints).slice(0, 4).join(', ')}${w.outChannels > 4 ? ', …' : ''}]; quantize the weight symmetrically or use engine qnnpack.`,
    );
  }
}

/**
 * The requantization of one conv/linear call, after the engine's own restrictions and the exact
 * overflow check now that the input's zero point and scale are known: for every output channel
 * `Σ_k |w_q − w_zp|·max(x_zp, 255 − x_zp) + |bias_q| ≤ 2^31 − 1` (bias_q as the engine quantizes it;
 * onednn and fbgemm add a float bias, so only the accumulator counts there).
 *
 * @throws `UNSUPPORTED_OP` for onednn with nonzero weight zero points; `OVERFLOW` when the
 *   accumulator could leave int32.
 * @example
 * const rq = gemmCallRequantization({ op, engine, input: xq, weight: w.channels, bias: w.bias, out: o, relu, layer: 'linear weight [4, 8]' });
 */
export function gemmCallRequantization(args: {
  readonly op: OpName;
  readonly engine: Engine;
  readonly input: PerTensorQparams;
  readonly weight: WeightChannels;
  readonly bias: Float32Array | null;
  readonly out: { readonly scale: number; readonly zeroPoint: number };
  readonly relu: boolean;
  /** How error messages name the layer, e.g. `linear weight [4, 8]`. */
  readonly layer: string;
}): GemmRequantization {
  const { op, engine, weight: w } = args;
  checkOnednnWeight(op, engine, w, args.layer);
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
    // bias_q ∈ [−2^31, 2^31 − 1]: a negative one may reach −2^31 when nothing is added to it.
    const limit = rq.biasKind === 'int32' && rq.bias[c]! < 0 ? INT32_MAX + 1 : INT32_MAX;
    const bound = w.absSum[c]! * xSpan + biasMag;
    if (bound > limit) {
      throw new QuantError(
        'OVERFLOW',
        `${op}: the int32 accumulator of ${args.layer}, output channel ${c}, can reach ${bound} > 2^31−1 with input (scale ${args.input.scale}, zero point ${args.input.zeroPoint}) on engine ${engine}; use a larger input scale, a smaller bias, or split the layer.`,
      );
    }
  }
  return rq;
}

/**
 * Checks the input of `linearDynamic` and returns the size of its reduction: an engine among
 * `engines` (the calling backend's; default qnnpack only, spec §5.10 determines qnnpack's and
 * onednn's dynamic linear), a non-empty float Tensor whose last dim is `inFeatures`.
 *
 * @throws `UNSUPPORTED_OP` for another engine; `INVALID_ARGUMENT`, `EMPTY_TENSOR`, `SHAPE_MISMATCH`.
 * @example
 * const k = checkLinearDynamicInput('linearDynamic', engine, x, w.inFeatures, OP_NAMES.linearDynamic.engines);
 */
export function checkLinearDynamicInput(
  op: OpName,
  engine: Engine,
  x: Tensor,
  inFeatures: number,
  engines: readonly Engine[] = ['qnnpack'],
): number {
  if (!engines.includes(engine)) {
    throw new QuantError(
      'UNSUPPORTED_OP',
      `${op}: engine ${engine} is not implemented by this backend's dynamic linear (it has ${engines.join(', ')}); use one of those.`,
    );
  }
  if (!(x instanceof Tensor)) {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `${op}: input must be a float Tensor (dynamic quantization quantizes it per call).`,
    );
  }
  if (x.ndim < 1 || x.numel === 0) {
    throw new QuantError(
      'EMPTY_TENSOR',
      `${op}: input of shape [${x.shape.join(', ')}] is empty; pass at least one element.`,
    );
  }
  return checkInFeatures(op, x.shape, inFeatures);
}

/**
 * The activation of `quantized::linear_dynamic` (spec §5.10), qparams from
 * `ChooseQuantizationParams(min(x), max(x), 0, 255)` over the whole tensor, then:
 * - qnnpack (default): `reduceRange` is ignored ("qnnpack incorrectly ignores reduce_range"; accepted
 *   for API parity with nnqd.Linear), codes by `quantize_per_tensor`;
 * - onednn: `reduceRange` honoured (0..127), the scale kept a double as PyTorch holds it
 *   (`chooseQuantizationParamsDouble`), codes by oneDNN's reorder, {@link onednnDynamicQuantize}
 *   with `inv = f32(1.0/x_s)`.
 *
 * @throws `NON_FINITE` for NaN or ±Inf in `x`.
 * @example
 * const xq = quantizeDynamicInput('linearDynamic', x, 'onednn', opts?.reduceRange ?? true);
 */
export function quantizeDynamicInput(op: OpName, x: Tensor, engine: Engine = 'qnnpack', reduceRange = true): QTensor {
  const xf = x.toFloat32Array();
  let mn = Infinity;
  let mx = -Infinity;
  for (let i = 0; i < xf.length; i++) {
    const v = xf[i]!;
    if (!Number.isFinite(v)) {
      throw new QuantError(
        'NON_FINITE',
        `${op}: input element ${i} is ${v}; dynamic quantization needs finite inputs.`,
      );
    }
    if (v < mn) mn = v;
    if (v > mx) mx = v;
  }
  if (engine !== 'onednn') {
    const qp = chooseQuantizationParams({ min: mn, max: mx, qmin: 0, qmax: 255 });
    return quantizePerTensor(x, qp.scale, qp.zeroPoint, 'quint8');
  }
  // onednn keeps PyTorch's double scale: ideep gets src_scales = 1.0/x_s, divided in double, stored as float
  const qp = chooseQuantizationParamsDouble({ min: mn, max: mx, qmin: 0, qmax: 255, reduceRange });
  const inv = f32(1 / qp.scale);
  const codes = new Uint8Array(xf.length);
  for (let i = 0; i < xf.length; i++) codes[i] = onednnDynamicQuantize(xf[i]!, inv, qp.zeroPoint);
  return new QTensor(codes, x.shape, 'quint8', {
    qscheme: 'per_tensor_affine',
    scale: qp.scale,
    zeroPoint: qp.zeroPoint,
  });
}

/**
 * The output of `quantized::linear_dynamic` from its int32 accumulators (spec §5.10), shaped
 * `[...x.shape[:-1], N]`; with `opts.trace`, the records of the traced elements:
 * - qnnpack (verified: 0 mismatches in 3.6×10^4 outputs): `y = f32(f32(f32(f32(w_s)·f32(x_s)) · f32(acc)) + b)`;
 * - onednn (verified: 0 of 440,600 outputs differ): `y = f32(f32(f32(acc) + f32(b·bs)) · f32(1/bs))`
 *   ({@link onednnDynamicScales}, {@link onednnScaledAcc}); `xq` must come from
 *   {@link quantizeDynamicInput} for the same engine.
 *
 * @throws `UNSUPPORTED_OP` on onednn for a weight zero point ≠ 0.
 * @example
 * const y = linearDynamicOutput({ op, engine, x, xq, weight: w.channels, bias: w.bias, opts, acc: (i) => accs[i]! });
 */
export function linearDynamicOutput(args: {
  readonly op: OpName;
  readonly engine: Engine;
  /** The float input (for the output shape). */
  readonly x: Tensor;
  /** The input as {@link quantizeDynamicInput} quantized it. */
  readonly xq: QTensor;
  readonly weight: WeightChannels;
  readonly bias: Float32Array | null;
  readonly opts: LinearDynamicOptions | undefined;
  /** The int32 accumulator of output element `index` (row-major `[rows, N]`). */
  readonly acc: (index: number) => number;
}): Tensor {
  const { op, xq, weight: w, bias: b } = args;
  const n = w.outChannels;
  const k = xq.shape[xq.shape.length - 1]!;
  checkOnednnWeight(op, args.engine, w, `linear weight [${n}, ${k}]`);
  const xqp = xq.qparams as PerTensorQparams;
  const onednn = args.engine === 'onednn';
  // qnnpack: f32(w_s·x_s); onednn: f32(1/bs)
  const mult = new Float32Array(n);
  // onednn: f32(b·bs), the bias as the pp kernel adds it
  const biasTerm = new Float32Array(n);
  const biasScale = new Float32Array(n);
  for (let f = 0; f < n; f++) {
    if (onednn) {
      const s = onednnDynamicScales(xqp.scale, w.scales[f]!, w.perChannel);
      mult[f] = s.outputScale;
      biasScale[f] = s.biasScale;
      if (b !== null) biasTerm[f] = onednnBias(b[f]!, s.biasScale);
    } else {
      mult[f] = f32(f32(w.scales[f]!) * f32(xqp.scale));
    }
  }
  const y = new Float32Array((xq.numel / k) * n);
  for (let i = 0; i < y.length; i++) {
    const f = i % n;
    if (onednn) {
      y[i] = onednnScaledAcc(args.acc(i), biasTerm[f]!, mult[f]!);
    } else {
      const v = f32(mult[f]! * f32(args.acc(i)));
      y[i] = b === null ? v : f32(v + b[f]!);
    }
  }
  const trace = args.opts?.trace;
  if (trace !== undefined) {
    for (const index of traceTargets(op, trace, y.length)) {
      const r = Math.floor(index / n);
      const f = index % n;
      trace.sink({
        kind: 'gemm',
        op,
        engine: args.engine,
        index,
        channel: f,
        input: { codes: Array.from(xq.data.subarray(r * k, (r + 1) * k)), zeroPoint: xqp.zeroPoint, scale: xqp.scale },
        weight: {
          codes: Array.from(w.codes.subarray(f * k, (f + 1) * k)),
          zeroPoint: w.zeroPoints[f]!,
          scale: w.scales[f]!,
        },
        acc: args.acc(index),
        biasKind: b === null ? 'none' : 'float',
        bias: b === null ? 0 : onednn ? biasTerm[f]! : b[f]!,
        multiplier: mult[f]!,
        extra: onednn ? { biasScale: biasScale[f]! } : {},
        preRound: y[index]!,
        output: y[index]!,
      });
    }
  }
  return new Tensor(y, [...args.x.shape.slice(0, -1), n]);
}

function traceTargets(op: OpName, trace: TraceOptions, numel: number): number[] {
  const index = trace.index ?? 0;
  if (index === 'all') return Array.from({ length: numel }, (_, i) => i);
  if (!Number.isInteger(index) || index < 0 || index >= numel) {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `${op}: trace index ${index} is outside the output (${numel} elements); pass 0..${numel - 1} or 'all'.`,
    );
  }
  return [index];
}

/** The operands of one traced output element of a conv/linear: its channel, codes and accumulator. */
export interface GemmTraceOperands {
  readonly channel: number;
  /** Input codes in the reduction's order (padding as the input zero point). */
  readonly inputCodes: number[];
  readonly weightCodes: number[];
  readonly acc: number;
}

/**
 * Sends the trace records a conv/linear call asks for (`trace.index`, default 0, or `'all'`) to
 * `trace.sink`: operands, int32 accumulator, the engine's bias and multiplier, the value before
 * rounding and the output code.
 *
 * @throws `INVALID_ARGUMENT` when `trace.index` is outside the output.
 * @example
 * emitGemmTrace({ op, trace, rq, input: xq, weight: w.channels, output: y, operands: (i) => linearTraceOperands(...) });
 */
export function emitGemmTrace(args: {
  readonly op: OpName;
  readonly trace: TraceOptions;
  readonly rq: GemmRequantization;
  readonly input: PerTensorQparams;
  readonly weight: WeightChannels;
  /** The output codes. */
  readonly output: ArrayLike<number>;
  readonly operands: (index: number) => GemmTraceOperands;
}): void {
  const { rq, weight: w } = args;
  for (const index of traceTargets(args.op, args.trace, args.output.length)) {
    const { channel: c, inputCodes, weightCodes, acc } = args.operands(index);
    const extra: Record<string, number> = {};
    if (rq.engine === 'onednn') extra['biasScale'] = rq.biasScales![c]!;
    if (rq.engine === 'fbgemm') extra['actTimesWScale'] = rq.biasScales![c]!;
    const record: GemmTraceRecord = {
      kind: 'gemm',
      op: args.op,
      engine: rq.engine,
      index,
      channel: c,
      input: { codes: inputCodes, zeroPoint: args.input.zeroPoint, scale: args.input.scale },
      weight: { codes: weightCodes, zeroPoint: w.zeroPoints[c]!, scale: w.scales[c]! },
      acc,
      biasKind: rq.biasKind,
      bias: rq.biasKind === 'none' ? 0 : rq.bias[c]!,
      multiplier: rq.multipliers[c]!,
      extra,
      preRound: requantizePreRound(rq, acc, c),
      output: args.output[index]!,
    };
    args.trace.sink(record);
  }
}

/**
 * The codes feeding output element `index` of a linear (`[rows, N]` output, reduction size `k`):
 * row `⌊index/N⌋` of the input and row `index mod N` of the weight.
 *
 * @example
 * const { channel, inputCodes, weightCodes } = linearTraceOperands(index, n, k, x.data, w.channels.codes);
 */
export function linearTraceOperands(
  index: number,
  n: number,
  k: number,
  xd: ArrayLike<number> & { subarray(b: number, e: number): ArrayLike<number> },
  wd: Int8Array,
): { channel: number; inputCodes: number[]; weightCodes: number[] } {
  const r = Math.floor(index / n);
  const f = index % n;
  return {
    channel: f,
    inputCodes: Array.from(xd.subarray(r * k, (r + 1) * k)),
    weightCodes: Array.from(wd.subarray(f * k, (f + 1) * k)),
  };
}

/**
 * The codes feeding output element `index` of a conv2d (NCHW output), in the reference's reduction
 * order (input channel of the group, kernel row, kernel column); padding reads as `xZeroPoint`.
 *
 * @example
 * const { channel, inputCodes, weightCodes } = conv2dTraceOperands(g, index, x.data, w.channels.codes, xq.zeroPoint);
 */
export function conv2dTraceOperands(
  g: Conv2dGeometry,
  index: number,
  xd: ArrayLike<number>,
  wd: ArrayLike<number>,
  xZeroPoint: number,
): { channel: number; inputCodes: number[]; weightCodes: number[] } {
  const { C, H, W, OC, ICG, KH, KW, OCG, sh, sw, ph, pw, dh, dw, OH, OW } = g;
  const ow = index % OW;
  const oh = Math.floor(index / OW) % OH;
  const oc = Math.floor(index / (OW * OH)) % OC;
  const n = Math.floor(index / (OW * OH * OC));
  const grp = Math.floor(oc / OCG);
  const inputCodes: number[] = [];
  const weightCodes: number[] = [];
  for (let icg = 0; icg < ICG; icg++) {
    for (let kh = 0; kh < KH; kh++) {
      for (let kw = 0; kw < KW; kw++) {
        const ih = oh * sh - ph + kh * dh;
        const iw = ow * sw - pw + kw * dw;
        const inside = ih >= 0 && ih < H && iw >= 0 && iw < W;
        inputCodes.push(inside ? xd[((n * C + grp * ICG + icg) * H + ih) * W + iw]! : xZeroPoint);
        weightCodes.push(wd[((oc * ICG + icg) * KH + kh) * KW + kw]!);
      }
    }
  }
  return { channel: oc, inputCodes, weightCodes };
}

const GEMM_OPS: ReadonlySet<OpName> = new Set(['conv2d', 'conv2dRelu', 'linear', 'linearRelu', 'linearDynamic']);

/**
 * The `supports()` rule of the conv/linear kernels every backend shares (true for other ops): quint8
 * activations (the dynamic linear takes float), qint8 weights, and on onednn only symmetric weights
 * (PyTorch's onednn conv/linear refuse asymmetric ones, spec §5.2b).
 *
 * @example
 * defineBackend({ name, kernels, supports: (op, p) => supportsGemm(op, p) });
 */
export function supportsGemm(op: OpName, p: SupportsParams): boolean {
  if (!GEMM_OPS.has(op)) return true;
  if (p.dtype !== undefined && p.dtype !== 'quint8' && op !== 'linearDynamic') return false;
  if (p.weightDtype !== undefined && p.weightDtype !== 'qint8') return false;
  if (p.engine === 'onednn' && p.symmetricWeight === false) return false;
  return true;
}
