// Weight prepacking for conv2d and linear, with the int32 overflow check (issue 4 "Bad input").
import { QuantError } from '@quint/tensor';
import {
  QTensor,
  type Conv2dPrepackOptions,
  type LinearPrepackOptions,
  type PackedConv2d,
  type PackedLinear,
  type PerChannelQparams,
  type PerTensorQparams,
} from '@quint/qtensor';
import { INT32_MAX, type WeightChannels } from './gemm-common.js';

/**
 * The smallest input scale the prepack check assumes (2^−16: an activation range of 255·2^−16 ≈
 * 0.0039). The kernels repeat the check exactly at run time with the real scale and zero point.
 */
export const DEFAULT_MIN_INPUT_SCALE = 2 ** -16;

/** A conv2d weight packed by kernels-js: the public fields plus the per-channel weight record. */
export interface JsPackedConv2d extends PackedConv2d {
  readonly channels: WeightChannels;
  /** `[outC, inC/groups, kH, kW]`. */
  readonly kernelShape: readonly [number, number, number, number];
}

/** A linear weight packed by kernels-js. */
export interface JsPackedLinear extends PackedLinear {
  readonly channels: WeightChannels;
  readonly inFeatures: number;
}

function weightChannels(what: string, weight: QTensor): WeightChannels {
  if (!(weight instanceof QTensor)) {
    throw new QuantError('INVALID_ARGUMENT', `${what}: weight is not a QTensor; quantize it with quantizePerTensor/quantizePerChannel (qint8).`);
  }
  if (weight.dtype !== 'qint8') {
    throw new QuantError('DTYPE_MISMATCH', `${what}: weight dtype is ${weight.dtype}; quantized conv/linear weights are qint8.`);
  }
  if (weight.numel === 0) {
    throw new QuantError('EMPTY_TENSOR', `${what}: weight of shape [${weight.shape.join(', ')}] is empty; pass a non-empty weight.`);
  }
  const outChannels = weight.shape[0]!;
  const k = weight.numel / outChannels;
  const zeroPoints = new Int32Array(outChannels);
  const scales = new Float64Array(outChannels);
  let perChannel = false;
  if (weight.isPerChannel()) {
    const p = weight.qparams as PerChannelQparams;
    if (p.axis !== 0) {
      throw new QuantError('AXIS_OUT_OF_RANGE', `${what}: per-channel weight axis is ${p.axis}; quantize along the output-channel axis 0.`);
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
    throw new QuantError('INVALID_ARGUMENT', `${what}: bias must be a Float32Array or null, got ${Object.prototype.toString.call(bias)}.`);
  }
  if (bias.length !== outChannels) {
    throw new QuantError('SHAPE_MISMATCH', `${what}: bias has ${bias.length} values for ${outChannels} output channels; pass one per output channel.`);
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
 * kernels check the exact bound again per call.
 */
function checkOverflow(what: string, layer: string, w: WeightChannels, bias: Float32Array | null, minInputScale: number): void {
  if (!(minInputScale > 0) || !Number.isFinite(minInputScale)) {
    throw new QuantError('INVALID_ARGUMENT', `${what}: minInputScale ${minInputScale} must be a positive finite number.`);
  }
  for (let c = 0; c < w.outChannels; c++) {
    const biasBound = bias === null ? 0 : Math.ceil(Math.abs(bias[c]!) / (minInputScale * w.scales[c]!));
    const bound = w.absSum[c]! * 255 + biasBound;
    if (bound > INT32_MAX) {
      throw new QuantError(
        'OVERFLOW',
        `${what}: ${layer} can overflow the int32 accumulator in output channel ${c}: Σ|w_q − w_zp|·255 = ${w.absSum[c]! * 255}` +
          (bias === null ? '' : ` plus |bias_q| ≤ ${biasBound} (input scale ≥ ${minInputScale})`) +
          ` exceeds 2^31−1; split the reduction (fewer input channels per layer), use smaller weights, or pass a larger minInputScale if the input scale is known to be larger.`,
      );
    }
  }
}

function pair(what: string, name: string, v: number | readonly [number, number] | undefined, dflt: number, min: number): [number, number] {
  const p: readonly number[] = v === undefined ? [dflt, dflt] : typeof v === 'number' ? [v, v] : v;
  if (p.length !== 2 || !p.every((e) => Number.isInteger(e) && e >= min)) {
    throw new QuantError('INVALID_ARGUMENT', `${what}: ${name} ${JSON.stringify(v)} must be an integer ≥ ${min} or a pair of them.`);
  }
  return [p[0]!, p[1]!];
}

/**
 * Packs a conv2d weight `[outC, inC/groups, kH, kW]` (qint8, per tensor or per channel on axis 0)
 * with its float32 bias, after the overflow check.
 */
export function prepackConv2d(backend: string, weight: QTensor, bias: Float32Array | null, opts: Conv2dPrepackOptions = {}): JsPackedConv2d {
  const what = 'prepackConv2d';
  if (weight instanceof QTensor && weight.ndim !== 4) {
    throw new QuantError('SHAPE_MISMATCH', `${what}: weight shape [${weight.shape.join(', ')}] is not 4-D; pass [outChannels, inChannels/groups, kH, kW].`);
  }
  const channels = weightChannels(what, weight);
  const [oc, icg, kh, kw] = weight.shape as [number, number, number, number];
  const groups = opts.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1 || oc % groups !== 0) {
    throw new QuantError('INVALID_ARGUMENT', `${what}: groups ${groups} must be a positive integer dividing the ${oc} output channels.`);
  }
  const stride = pair(what, 'stride', opts.stride, 1, 1);
  const padding = pair(what, 'padding', opts.padding, 0, 0);
  const dilation = pair(what, 'dilation', opts.dilation, 1, 1);
  const b = checkBias(what, bias, oc);
  const layer = `conv2d weight [${oc}, ${icg}, ${kh}, ${kw}] (K = ${icg * kh * kw})`;
  checkOverflow(what, layer, channels, b, opts.minInputScale ?? DEFAULT_MIN_INPUT_SCALE);
  return {
    kind: 'conv2d',
    backend,
    weight,
    bias: b,
    stride,
    padding,
    dilation,
    groups,
    channels,
    kernelShape: [oc, icg, kh, kw],
  };
}

/** Packs a linear weight `[outFeatures, inFeatures]` (qint8) with its float32 bias, after the overflow check. */
export function prepackLinear(backend: string, weight: QTensor, bias: Float32Array | null, opts: LinearPrepackOptions = {}): JsPackedLinear {
  const what = 'prepackLinear';
  if (weight instanceof QTensor && weight.ndim !== 2) {
    throw new QuantError('SHAPE_MISMATCH', `${what}: weight shape [${weight.shape.join(', ')}] is not 2-D; pass [outFeatures, inFeatures].`);
  }
  const channels = weightChannels(what, weight);
  const [n, k] = weight.shape as [number, number];
  const b = checkBias(what, bias, n);
  checkOverflow(what, `linear weight [${n}, ${k}] (K = ${k})`, channels, b, opts.minInputScale ?? DEFAULT_MIN_INPUT_SCALE);
  return { kind: 'linear', backend, weight, bias: b, channels, inFeatures: k };
}
