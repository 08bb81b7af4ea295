import { QuantError, type Tensor } from '@quint/tensor';
import { roundHalfToEven } from '@quint/qtensor';
import { ObserverBase, pyFloatRepr, type ObserverQparams, type ObserverStateDict } from './observer-base.js';
import { aminmax } from './min-max-observer.js';
import { cumsumF32, divFloorFloating, histc, linspaceF32, torchSum } from './torch-numerics.js';
import {
  isPerTensorQScheme,
  UniformQuantizationObserverBase,
  type UniformQuantizationObserverOptions,
} from './uniform-quantization-observer-base.js';

const f32 = Math.fround;

/** Which PyTorch's HistogramObserver algorithm to run. */
export type HistogramTorchCompat = 'latest' | '1.13';

/** Constructor options of {@link HistogramObserver}. */
export interface HistogramObserverOptions extends UniformQuantizationObserverOptions {
  /** Number of histogram bins. Default 2048. */
  readonly bins?: number | undefined;
  /** Upsampling factor when combining histograms. Default 128 with `torchCompat: '1.13'`, 16 otherwise (as current PyTorch). */
  readonly upsampleRate?: number | undefined;
  /** `'latest'` (default): current PyTorch's algorithm; `'1.13'`: PyTorch 1.13 bit for bit, bugs included. */
  readonly torchCompat?: HistogramTorchCompat | undefined;
  /** SIMD width (floats) of the `torch.sum` order to emulate: 8 for AVX2 (default), 16 for AVX-512 machines. */
  readonly torchSumLanes?: number | undefined;
}

const BITS: Record<string, number> = { quint8: 8, qint8: 8, qint32: 32 };

/**
 * Records a running histogram of the values it sees and picks the range minimizing the L2
 * quantization error (`torch.ao.quantization.HistogramObserver`, spec §2.6).
 *
 * - `torchCompat: '1.13'` reproduces PyTorch 1.13 bit for bit: histogram, min/max and qparams,
 *   including its `int()` truncation of the histc range — values outside `[trunc(min), trunc(max)]`
 *   are dropped from the histogram once data leaves (−1, 1) — and its float32/float64 mix.
 * - `'latest'` (default) is current PyTorch's fixed algorithm: histc over the exact range,
 *   `_upscale_histogram` (upsample 16) to combine batches, no data dropped. No installable PyTorch
 *   runs it here, so it is checked by properties, not goldens.
 *
 * Both share `_non_linear_param_search` and `_compute_quantization_error`, emulated in float32 with
 * PyTorch's `torch.sum` order (AVX2, 8 lanes by default). Defaults: 2048 bins, `quint8`,
 * `per_tensor_affine`. Before any data, `calculateQparams` warns and returns scale 1, zero point 0.
 *
 * @throws `INVALID_ARGUMENT` for per-channel qschemes or bad bins; `NON_FINITE` from `forward` on
 *   NaN/±Inf unless `ignoreNonFinite`.
 * @example
 * const obs = new HistogramObserver({ torchCompat: '1.13' });
 * obs.forward(tensor([0, 0.1, 0.2, 0.5, 0.9]));
 * obs.calculateQparams(); // { scale: Float32Array [0.003527688328176737], zeroPoint: Int32Array [0] }
 * @see https://pytorch.org/docs/stable/generated/torch.ao.quantization.observer.HistogramObserver.html
 */
export class HistogramObserver extends UniformQuantizationObserverBase {
  readonly bins: number;
  readonly upsampleRate: number;
  readonly torchCompat: HistogramTorchCompat;
  readonly torchSumLanes: number;
  /** `2 ** bits(dtype)`: 256 for 8-bit dtypes even with reduceRange or a custom range, as PyTorch. */
  readonly dstNbins: number;
  /** The histogram (float32 counts). */
  histogram: Float32Array;
  /** Lower edge of the histogram (float32); +∞ until data is seen. */
  minVal = Infinity;
  /** Upper edge of the histogram (float32); −∞ until data is seen. */
  maxVal = -Infinity;

  constructor(options: HistogramObserverOptions = {}) {
    super(options, { qscheme: 'per_tensor_affine', owner: new.target.name });
    if (!isPerTensorQScheme(this.qscheme)) {
      throw new QuantError(
        'INVALID_ARGUMENT',
        `${new.target.name}: qscheme '${this.qscheme}' is not per-tensor; use per_tensor_affine or per_tensor_symmetric.`,
      );
    }
    this.torchCompat = options.torchCompat ?? 'latest';
    if (this.torchCompat !== 'latest' && this.torchCompat !== '1.13') {
      throw new QuantError(
        'INVALID_ARGUMENT',
        `${new.target.name}: torchCompat '${String(this.torchCompat)}' is unknown; use 'latest' or '1.13'.`,
      );
    }
    this.bins = options.bins ?? 2048;
    this.upsampleRate = options.upsampleRate ?? (this.torchCompat === '1.13' ? 128 : 16);
    this.torchSumLanes = options.torchSumLanes ?? 8;
    for (const [k, v] of [
      ['bins', this.bins],
      ['upsampleRate', this.upsampleRate],
      ['torchSumLanes', this.torchSumLanes],
    ] as const) {
      if (!Number.isInteger(v) || v < 1) {
        throw new QuantError(
          'INVALID_ARGUMENT',
          `${new.target.name}: ${k} ${v} must be a positive integer; pass e.g. ${k === 'bins' ? 2048 : 16}.`,
        );
      }
    }
    this.dstNbins = 2 ** BITS[this.dtype]!;
    this.histogram = new Float32Array(this.bins);
  }

  forward(x: Tensor): Tensor {
    if (x.numel === 0) return x;
    const data = this.finiteData(x);
    if (data.length === 0) return x;
    if (this.torchCompat === '1.13') this.forward113(data);
    else this.forwardLatest(data);
    return x;
  }

  // PyTorch 1.13 forward (spec §2.6 "forward(x), 1.13").
  private forward113(x: Float32Array): void {
    const sameValues = this.minVal === this.maxVal;
    const uninitialized = this.minVal === Infinity && this.maxVal === -Infinity;
    const [newMin, newMax] = aminmax(x);
    if (uninitialized || sameValues) {
      this.minVal = newMin;
      this.maxVal = newMax;
      // 1.13 passes int(min_val), int(max_val): truncation toward zero drops data outside them.
      this.histogram = histc(x, this.bins, Math.trunc(newMin), Math.trunc(newMax));
      return;
    }
    const cmin = Math.min(newMin, this.minVal);
    let cmax = Math.max(newMax, this.maxVal);
    // _adjust_min_max: a common grid of width hw = (max − min)/(bins·upsample), all float32.
    const hw = f32(f32(this.maxVal - this.minVal) / f32(this.bins * this.upsampleRate));
    const binsHw = f32(this.bins * hw);
    const down = Math.ceil(f32(f32(cmax - cmin) / binsHw));
    const e = f32(f32(f32(down) * binsHw) - f32(cmax - cmin));
    cmax = f32(cmax + e);
    const startIdx = roundHalfToEven(f32(f32(this.minVal - cmin) / hw));
    const newHist = histc(x, this.bins, Math.trunc(cmin), Math.trunc(cmax));
    if (cmin === this.minVal && cmax === this.maxVal) {
      for (let i = 0; i < this.bins; i++) newHist[i] = f32(newHist[i]! + this.histogram[i]!);
      this.histogram = newHist;
    } else {
      this.histogram = this.combineHistograms113(newHist, down, startIdx);
    }
    this.minVal = cmin;
    this.maxVal = cmax;
  }

  // 1.13 _combine_histograms: upsample the old histogram ×upsample, place it at startIdx in a
  // zero array of bins·down, take a float64 cumsum every `down` elements, difference, /upsample.
  // The zero array is never materialized: its cumsum is the prefix sum of the placed part.
  private combineHistograms113(newHist: Float32Array, down: number, startIdx: number): Float32Array {
    const N = this.bins;
    const up = this.upsampleRate;
    const U = N * up;
    if (startIdx < 0 || startIdx + U > N * down) {
      throw new QuantError(
        'INTERNAL',
        `HistogramObserver (torchCompat 1.13): the old histogram [${startIdx}, ${startIdx + U}) does not fit the combined grid of ${N * down}; PyTorch 1.13 fails here too. Use torchCompat 'latest'.`,
      );
    }
    const prefix = new Float64Array(U + 1);
    for (let j = 0; j < U; j++) prefix[j + 1] = prefix[j]! + this.histogram[Math.floor(j / up)]!;
    const out = new Float32Array(N);
    let prevIntegral = 0;
    for (let k = 0; k < N; k++) {
      const included = Math.min(Math.max(k * down + down - startIdx, 0), U);
      const integral = prefix[included]!;
      const shifted = k === 0 ? 0 : f32(prevIntegral); // the shifted copy is a float32 tensor
      out[k] = f32(newHist[k]! + f32((integral - shifted) / up));
      prevIntegral = integral;
    }
    return out;
  }

  // Current PyTorch's forward (spec §2.6 "main").
  private forwardLatest(x: Float32Array): void {
    const [xMin, xMax] = aminmax(x);
    if (this.minVal === Infinity || this.maxVal === -Infinity) {
      this.minVal = xMin;
      this.maxVal = xMax;
      this.histogram = histc(x, this.bins, xMin, xMax);
      return;
    }
    const newMin = Math.min(this.minVal, xMin);
    const newMax = Math.max(this.maxVal, xMax);
    const update = histc(x, this.bins, newMin, newMax);
    if (newMin === this.minVal && newMax === this.maxVal) {
      for (let i = 0; i < this.bins; i++) update[i] = f32(update[i]! + this.histogram[i]!);
      this.histogram = update;
      return;
    }
    let transformed: Float32Array;
    if (this.minVal === this.maxVal) {
      // All old data sits at one value: one histc bin carries the whole old count.
      let total = 0;
      for (const v of this.histogram) total += v;
      transformed = histc(Float32Array.of(this.minVal), this.bins, newMin, newMax);
      for (let i = 0; i < this.bins; i++) transformed[i] = f32(transformed[i]! * f32(total));
    } else {
      transformed = this.upscaleHistogram(newMin, newMax);
    }
    for (let i = 0; i < this.bins; i++) update[i] = f32(update[i]! + transformed[i]!);
    this.histogram = update;
    this.minVal = newMin;
    this.maxVal = newMax;
  }

  // _upscale_histogram: each old bin split into `up` sub-bins of count/up, each sub-bin moved to the
  // new bin holding its midpoint (bucketize right=True − 1, clamped), accumulated in float32.
  private upscaleHistogram(newMin: number, newMax: number): Float32Array {
    const N = this.bins;
    const up = this.upsampleRate;
    const binSize = f32(f32(this.maxVal - this.minVal) / f32(N * up));
    const half = f32(0.5 * binSize);
    const lin = linspaceF32(this.minVal, this.maxVal, N * up + 1);
    const bounds = linspaceF32(newMin, newMax, N + 1);
    const out = new Float32Array(N);
    let b = 0;
    for (let j = 0; j < N * up; j++) {
      const mid = f32(lin[j]! + half);
      // Midpoints increase with j, so the bucket index only moves forward.
      while (b < bounds.length && bounds[b]! <= mid) b++;
      while (b > 0 && bounds[b - 1]! > mid) b--;
      const idx = Math.min(Math.max(b - 1, 0), N - 1);
      out[idx] = f32(out[idx]! + f32(this.histogram[Math.floor(j / up)]! / up));
    }
    return out;
  }

  calculateQparams(): ObserverQparams {
    if (this.minVal === Infinity && this.maxVal === -Infinity) {
      return this.qparamsFromMinMax(Float32Array.of(Infinity), Float32Array.of(-Infinity));
    }
    if (this.histogram.length !== this.bins) {
      throw new QuantError(
        'INVALID_ARGUMENT',
        `HistogramObserver: histogram has ${this.histogram.length} bins, the observer ${this.bins}; load a state of the same bins.`,
      );
    }
    const [newMin, newMax] = this.nonLinearParamSearch();
    return this.qparamsFromMinMax(Float32Array.of(newMin), Float32Array.of(newMax));
  }

  // _compute_quantization_error(next_start_bin, next_end_bin): the L2 error of quantizing the
  // histogram to dstNbins bins over [start, end], with PyTorch's double/float32 mix (spec §2.6).
  private quantizationError(s: number, e: number): number {
    const bins = this.bins;
    const binWidth = (this.maxVal - this.minVal) / bins; // Python double from .item()
    const dstBinWidth = (binWidth * (e - s + 1)) / this.dstNbins;
    if (dstBinWidth === 0) return 0;
    const bw = f32(binWidth);
    const dbw = f32(dstBinWidth);
    const halfDbw = f32(dstBinWidth / 2);
    const negHalfDbw = f32(-dstBinWidth / 2);
    const last = this.dstNbins - 1;
    const getNorm = (db: number, de: number, density: number): number =>
      f32(density * f32(f32(f32(f32(de * de) * de) - f32(f32(db * db) * db)) / 3));
    const norm = new Float32Array(bins);
    for (let i = 0; i < bins; i++) {
      const srcBegin = f32(f32(i - s) * bw);
      const srcEnd = f32(srcBegin + bw);
      const dob = Math.min(Math.max(divFloorFloating(srcBegin, dbw), 0), last);
      const dobCenter = f32(f32(dob + 0.5) * dbw);
      const doe = Math.min(Math.max(divFloorFloating(srcEnd, dbw), 0), last);
      const density = f32(this.histogram[i]! / bw);
      let n = getNorm(f32(srcBegin - dobCenter), halfDbw, density);
      n = f32(n + f32(f32(f32(doe - dob) - 1) * getNorm(negHalfDbw, halfDbw, density)));
      const doeCenter = f32(f32(doe * dbw) + halfDbw);
      n = f32(n + getNorm(negHalfDbw, f32(srcEnd - doeCenter), density));
      norm[i] = n;
    }
    return torchSum(norm, this.torchSumLanes);
  }

  // _non_linear_param_search: shrink [start, end] one quantile step (1e-5) at a time from the side
  // that moves more bins, while the quantization error does not increase.
  private nonLinearParamSearch(): [number, number] {
    const bins = this.bins;
    const binWidth = f32(f32(this.maxVal - this.minVal) / f32(bins));
    const total = torchSum(this.histogram, this.torchSumLanes);
    const cSum = cumsumF32(this.histogram);
    const stepsize = 1e-5;
    let alpha = 0;
    let beta = 1;
    let startBin = 0;
    let endBin = bins - 1;
    let normMin = Infinity;
    while (alpha < beta) {
      const nextAlpha = alpha + stepsize;
      const nextBeta = beta - stepsize;
      // `cSum[l] < next_alpha * total` compares a float32 tensor with a Python float: in float32.
      const ta = f32(nextAlpha * total);
      const tb = f32(nextBeta * total);
      let l = startBin;
      let r = endBin;
      while (l < endBin && cSum[l]! < ta) l++;
      while (r > startBin && cSum[r]! > tb) r--;
      let nextStart = startBin;
      let nextEnd = endBin;
      if (l - startBin > endBin - r) {
        nextStart = l;
        alpha = nextAlpha;
      } else {
        nextEnd = r;
        beta = nextBeta;
      }
      if (nextStart === startBin && nextEnd === endBin) continue;
      const norm = this.quantizationError(nextStart, nextEnd);
      if (norm > normMin) break;
      normMin = norm;
      startBin = nextStart;
      endBin = nextEnd;
    }
    return [f32(this.minVal + f32(binWidth * startBin)), f32(this.minVal + f32(binWidth * (endBin + 1)))];
  }

  /** Forgets the data seen. */
  resetMinMaxVals(): void {
    this.minVal = Infinity;
    this.maxVal = -Infinity;
    this.histogram = new Float32Array(this.bins);
  }

  override stateDict(): ObserverStateDict {
    return {
      ...super.stateDict(),
      histogram: this.histogram.slice(),
      min_val: Float32Array.of(this.minVal),
      max_val: Float32Array.of(this.maxVal),
    };
  }

  protected override loadBuffers(sd: ObserverStateDict): void {
    super.loadBuffers(sd);
    this.histogram = ObserverBase.buffer(sd, 'histogram', this.constructor.name, this.bins).slice();
    this.minVal = ObserverBase.buffer(sd, 'min_val', this.constructor.name, 1)[0]!;
    this.maxVal = ObserverBase.buffer(sd, 'max_val', this.constructor.name, 1)[0]!;
  }

  protected override extraRepr(): string {
    return `min_val=${pyFloatRepr(this.minVal)}, max_val=${pyFloatRepr(this.maxVal)}`;
  }
}
