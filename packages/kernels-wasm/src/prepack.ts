// Weight prepacking: checks (the same codes and rules as @quint/kernels-js), the int32 overflow
// bound, and the one-time copy of the weights into wasm memory, pre-widened to int16 `w − w_zp[c]`
// in the layout the micro-kernels read (assembly/gemm.ts, assembly/conv.ts).
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
import type { KernelsAbi } from './abi.js';

/** The largest int32. */
export const INT32_MAX = 2147483647;

/**
 * The smallest input scale the prepack check assumes (2^−16), as @quint/kernels-js; the kernels check
 * the exact bound again per call with the real input scale and zero point.
 */
export const DEFAULT_MIN_INPUT_SCALE = 2 ** -16;

/** Per-output-channel facts of a weight that requantization and the overflow bound need. */
export interface WeightChannels {
  readonly outChannels: number;
  /** The qint8 codes in the weight's C order (kept for traces). */
  readonly codes: Int8Array;
  readonly zeroPoints: Int32Array;
  /** Doubles, as `q_scale()` / `q_per_channel_scales()`. */
  readonly scales: Float64Array;
  readonly perChannel: boolean;
  /** `Σ_k |w_q − w_zp[c]|` per channel: the factor of the overflow bound. */
  readonly absSum: Float64Array;
  readonly symmetric: boolean;
}

/** The wasm side of a packed weight. */
export interface WasmWeights {
  /** Address of the packed int16 weights; 0 once freed. */
  ptr: number;
  readonly bytes: number;
  /** K rounded up to even. */
  readonly kp: number;
  /** Per-channel bias and multiplier buffers (4 bytes × channels each) for the requantization. */
  readonly bias: number;
  readonly mult: number;
  /**
   * The last call's requantization, reused while the input and output qparams, engine and ReLU stay
   * the same (a pure function of them): most calls of a converted model repeat them.
   */
  cache: { key: string; rq: import('@quint/qtensor').GemmRequantization } | null;
}

/** A linear weight packed into wasm memory: B panels of 8 output features. */
export interface WasmPackedLinear extends PackedLinear {
  readonly channels: WeightChannels;
  readonly inFeatures: number;
  readonly packed: WasmWeights;
}

/** A conv weight packed into wasm memory: GEMM A rows per group, or depthwise taps. */
export interface WasmPackedConv2d extends PackedConv2d {
  readonly channels: WeightChannels;
  readonly kernelShape: readonly [number, number, number, number];
  /** True when the depthwise kernel runs it (one input channel per group, groups > 1). */
  readonly depthwise: boolean;
  readonly packed: WasmWeights;
  /** Bytes of one group's packed rows (GEMM path). */
  readonly groupBytes: number;
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
    const z = zeroPoints[c]!;
    for (let i = c * k; i < (c + 1) * k; i++) s += Math.abs(codes[i]! - z);
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
    if (!Number.isFinite(bias[c]!)) throw new QuantError('NON_FINITE', `${what}: bias[${c}] is ${bias[c]}; pass finite biases.`);
  }
  return bias.slice();
}

// The prepack bound of @quint/kernels-js (prepack.ts `checkOverflow`), exact in integers:
// Σ_k |w_q − w_zp[c]|·255 + ⌈|b[c]| / (minInputScale·w_s[c])⌉ ≤ 2^31 − 1 for every channel.
// TODO(K1): import it from @quint/qtensor once it is exported there; it must stay identical.
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

function copyIn(abi: KernelsAbi, data: Int16Array, channels: number, kp: number, what: string): WasmWeights {
  const bytes = data.byteLength;
  const [ptr, bias, mult] = abi.heap.allocAll([bytes, channels * 4, channels * 4], what) as [number, number, number];
  abi.heap.i16(ptr, data.length).set(data);
  return { ptr, bytes, kp, bias, mult, cache: null };
}

/** Frees a packed weight's wasm memory (idempotent). */
export function freeWeights(abi: KernelsAbi | undefined, w: WasmWeights): void {
  if (w.ptr !== 0 && abi) for (const p of [w.ptr, w.bias, w.mult]) abi.heap.release(p);
  w.ptr = 0;
  w.cache = null;
}

/**
 * Packs a linear weight `[N, K]` as B panels of 8 output features: panel p, k-pair t, column c,
 * parity j at int16 index `p·kp·8 + t·16 + c·2 + j` (assembly/gemm.ts).
 */
export function prepackLinear(
  abi: KernelsAbi,
  backend: string,
  weight: QTensor,
  bias: Float32Array | null,
  opts: LinearPrepackOptions = {},
): WasmPackedLinear {
  const what = 'prepackLinear';
  if (weight instanceof QTensor && weight.ndim !== 2) {
    throw new QuantError('SHAPE_MISMATCH', `${what}: weight shape [${weight.shape.join(', ')}] is not 2-D; pass [outFeatures, inFeatures].`);
  }
  const channels = weightChannels(what, weight);
  const [n, k] = weight.shape as [number, number];
  const b = checkBias(what, bias, n);
  checkOverflow(what, `linear weight [${n}, ${k}] (K = ${k})`, channels, b, opts.minInputScale ?? DEFAULT_MIN_INPUT_SCALE);
  const kp = k + (k & 1);
  const panels = Math.ceil(n / 8);
  const data = new Int16Array(panels * kp * 8);
  const codes = channels.codes;
  for (let o = 0; o < n; o++) {
    const z = channels.zeroPoints[o]!;
    const base = (o >> 3) * kp * 8 + (o & 7) * 2;
    for (let j = 0; j < k; j++) data[base + (j >> 1) * 16 + (j & 1)] = codes[o * k + j]! - z;
  }
  const packed = copyIn(abi, data, n, kp, `${what} [${n}, ${k}]`);
  return { kind: 'linear', backend, weight, bias: b, channels, inFeatures: k, packed };
}

/**
 * Packs a conv weight `[OC, ICG, KH, KW]`: for the GEMM path, each group's OC/groups rows of
 * K = ICG·KH·KW in groups of 4 rows (row r of group g at `g·kp·4 + t·8 + (r mod 4)·2 + j`, zero rows
 * padding the last group); for the depthwise path (ICG = 1, groups > 1), KH·KW taps per channel.
 */
export function prepackConv2d(
  abi: KernelsAbi,
  backend: string,
  weight: QTensor,
  bias: Float32Array | null,
  opts: Conv2dPrepackOptions = {},
): WasmPackedConv2d {
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
  const k = icg * kh * kw;
  const kp = k + (k & 1);
  const codes = channels.codes;
  const depthwise = icg === 1 && groups > 1;
  let data: Int16Array;
  let groupBytes = 0;
  if (depthwise) {
    data = new Int16Array(oc * k);
    for (let o = 0; o < oc; o++) {
      const z = channels.zeroPoints[o]!;
      for (let j = 0; j < k; j++) data[o * k + j] = codes[o * k + j]! - z;
    }
  } else {
    const ocg = oc / groups;
    const rowGroups = Math.ceil(ocg / 4);
    const perGroup = rowGroups * kp * 4;
    groupBytes = perGroup * 2;
    data = new Int16Array(groups * perGroup);
    for (let o = 0; o < oc; o++) {
      const g = Math.floor(o / ocg);
      const r = o - g * ocg;
      const z = channels.zeroPoints[o]!;
      const base = g * perGroup + (r >> 2) * kp * 4 + (r & 3) * 2;
      for (let j = 0; j < k; j++) data[base + (j >> 1) * 8 + (j & 1)] = codes[o * k + j]! - z;
    }
  }
  const packed = copyIn(abi, data, oc, kp, `${what} [${oc}, ${icg}, ${kh}, ${kw}]`);
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
    depthwise,
    packed,
    groupBytes,
  };
}
