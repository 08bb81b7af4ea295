import { QuantError, type Tensor } from '@quint/tensor';
import {
  ObserverBase,
  pyTensorRepr,
  type ObserverFloatQparams,
  type ObserverQparams,
  type ObserverStateDict,
} from './observer-base.js';
import {
  isPerTensorQScheme,
  UniformQuantizationObserverBase,
  type UniformQuantizationObserverOptions,
} from './uniform-quantization-observer-base.js';

/** Constructor options of {@link PerChannelMinMaxObserver}. */
export interface PerChannelMinMaxObserverOptions extends UniformQuantizationObserverOptions {
  /** The channel axis; negative counts from the end. Default 0. */
  readonly chAxis?: number | undefined;
}

/**
 * Running minimum and maximum per channel along `chAxis`
 * (`torch.ao.quantization.PerChannelMinMaxObserver`), and per-channel qparams from them (spec §2.5).
 * Buffers are empty until the first batch sets the channel count; every later batch must have the
 * same count. Defaults: `quint8`, `per_channel_affine`, `chAxis` 0 (the weight default is
 * `defaultPerChannelWeightObserver`: qint8, `per_channel_symmetric`).
 *
 * For `per_channel_affine_float_qparams` (embeddings) use {@link PerChannelMinMaxObserver.calculateFloatQparams}:
 * its zero points are floats.
 *
 * @throws `INVALID_ARGUMENT` for a per-tensor qscheme; `AXIS_OUT_OF_RANGE` from `forward` when
 *   `chAxis` is outside the tensor; `SHAPE_MISMATCH` when the channel count changes; `NON_FINITE`
 *   on NaN/±Inf unless `ignoreNonFinite`.
 * @example
 * const obs = new PerChannelMinMaxObserver({ dtype: 'qint8', qscheme: 'per_channel_symmetric' });
 * obs.forward(tensor([1, -2, 0.5, 4], [2, 2]));
 * obs.calculateQparams().scale; // Float32Array [f32(2/127.5), f32(4/127.5)]
 * @see https://pytorch.org/docs/stable/generated/torch.ao.quantization.observer.PerChannelMinMaxObserver.html
 */
export class PerChannelMinMaxObserver extends UniformQuantizationObserverBase {
  readonly chAxis: number;
  /** Per-channel running minima (float32); empty until data is seen. */
  minVal: Float32Array = new Float32Array(0);
  /** Per-channel running maxima (float32). */
  maxVal: Float32Array = new Float32Array(0);

  constructor(options: PerChannelMinMaxObserverOptions = {}) {
    super(options, { qscheme: 'per_channel_affine', owner: new.target.name });
    if (isPerTensorQScheme(this.qscheme)) {
      throw new QuantError(
        'INVALID_ARGUMENT',
        `${new.target.name}: qscheme '${this.qscheme}' is per-tensor; use per_channel_affine, per_channel_symmetric or per_channel_affine_float_qparams.`,
      );
    }
    this.chAxis = options.chAxis ?? 0;
    if (!Number.isInteger(this.chAxis)) {
      throw new QuantError(
        'AXIS_OUT_OF_RANGE',
        `${new.target.name}: chAxis ${this.chAxis} is not an integer; pass an axis of the observed tensors.`,
      );
    }
  }

  /** Per-channel min and max of one batch: `x` viewed with `chAxis` swapped to the front (as PyTorch). */
  protected batchMinMax(x: Tensor): { mins: Float32Array; maxs: Float32Array } | undefined {
    const nd = x.ndim;
    const axis = this.chAxis < 0 ? this.chAxis + nd : this.chAxis;
    if (axis < 0 || axis >= nd) {
      throw new QuantError(
        'AXIS_OUT_OF_RANGE',
        `${this.constructor.name}.forward: chAxis ${this.chAxis} is out of range for a ${nd}-d tensor of shape [${x.shape.join(', ')}]; use an axis in [${-nd}, ${nd - 1}].`,
      );
    }
    const perm = x.shape.map((_, i) => i);
    perm[axis] = 0;
    perm[0] = axis;
    const data = x.permute(perm).toFloat32Array();
    const channels = x.shape[axis]!;
    const rowLen = channels === 0 ? 0 : data.length / channels;
    const mins = new Float32Array(channels).fill(Infinity);
    const maxs = new Float32Array(channels).fill(-Infinity);
    let bad = 0;
    for (let c = 0; c < channels; c++) {
      let mn = Infinity;
      let mx = -Infinity;
      for (let i = c * rowLen, end = i + rowLen; i < end; i++) {
        const v = data[i]!;
        if (!Number.isFinite(v)) {
          bad++;
          continue;
        }
        if (v < mn) mn = v;
        if (v > mx) mx = v;
      }
      mins[c] = mn;
      maxs[c] = mx;
    }
    if (bad > 0) this.onNonFinite(bad, data.length);
    if (this.minVal.length !== 0 && this.minVal.length !== channels) {
      throw new QuantError(
        'SHAPE_MISMATCH',
        `${this.constructor.name}.forward: got ${channels} channels on axis ${this.chAxis}, earlier batches had ${this.minVal.length}; observe tensors with the same channel count.`,
      );
    }
    return { mins, maxs };
  }

  forward(x: Tensor): Tensor {
    if (x.numel === 0) return x;
    const b = this.batchMinMax(x);
    if (b === undefined) return x;
    this.update(b.mins, b.maxs);
    return x;
  }

  /** Folds one batch's per-channel min and max into the running state. */
  protected update(mins: Float32Array, maxs: Float32Array): void {
    if (this.minVal.length === 0) {
      this.minVal = mins;
      this.maxVal = maxs;
      return;
    }
    for (let c = 0; c < mins.length; c++) {
      this.minVal[c] = Math.min(mins[c]!, this.minVal[c]!);
      this.maxVal[c] = Math.max(maxs[c]!, this.maxVal[c]!);
    }
  }

  calculateQparams(): ObserverQparams {
    return this.qparamsFromMinMax(this.minVal, this.maxVal);
  }

  /**
   * Qparams of a `per_channel_affine_float_qparams` observer: `scale = f32((max − min)/(qmax − qmin))`
   * (1 where ≤ eps) and the float zero point `−min/scale`, as PyTorch.
   *
   * @throws `INVALID_ARGUMENT` when the qscheme is not `per_channel_affine_float_qparams`.
   */
  calculateFloatQparams(): ObserverFloatQparams {
    if (this.qscheme !== 'per_channel_affine_float_qparams') {
      throw new QuantError(
        'INVALID_ARGUMENT',
        `${this.constructor.name}.calculateFloatQparams: qscheme is '${this.qscheme}'; call calculateQparams() instead.`,
      );
    }
    return this.floatQparamsFromMinMax(this.minVal, this.maxVal);
  }

  /** Forgets the data seen (empty buffers). */
  resetMinMaxVals(): void {
    this.minVal = new Float32Array(0);
    this.maxVal = new Float32Array(0);
  }

  override stateDict(): ObserverStateDict {
    return { ...super.stateDict(), min_val: this.minVal.slice(), max_val: this.maxVal.slice() };
  }

  protected override loadBuffers(sd: ObserverStateDict): void {
    const mn = ObserverBase.buffer(sd, 'min_val', this.constructor.name);
    const mx = ObserverBase.buffer(sd, 'max_val', this.constructor.name, mn.length);
    super.loadBuffers(sd);
    this.minVal = mn.slice();
    this.maxVal = mx.slice();
  }

  protected override extraRepr(): string {
    return `min_val=${pyTensorRepr(this.minVal)}, max_val=${pyTensorRepr(this.maxVal)}`;
  }
}
