import type { Tensor } from '@quint/tensor';
import { ObserverBase, pyFloatRepr, type ObserverQparams, type ObserverStateDict } from './observer-base.js';
import {
  isPerTensorQScheme,
  UniformQuantizationObserverBase,
  type UniformQuantizationObserverOptions,
} from './uniform-quantization-observer-base.js';
import { QuantError } from '@quint/tensor';

/** Constructor options of {@link MinMaxObserver}: PyTorch's, camelCased. */
export type MinMaxObserverOptions = UniformQuantizationObserverOptions;

/** `[min, max]` of float32 data (non-empty, finite). */
export function aminmax(data: Float32Array): [number, number] {
  let mn = data[0]!;
  let mx = mn;
  for (let i = 1; i < data.length; i++) {
    const v = data[i]!;
    if (v < mn) mn = v;
    if (v > mx) mx = v;
  }
  return [mn, mx];
}

/**
 * Records the running minimum and maximum of everything it sees and derives per-tensor qparams from
 * them (`torch.ao.quantization.MinMaxObserver`): `min_val = min(min_val, min(x))`, likewise max,
 * starting from (+∞, −∞); then spec §2.2 in float32. Empty tensors are skipped; before any data,
 * `calculateQparams` warns and returns scale 1, zero point 0, as PyTorch.
 *
 * Defaults: `quint8`, `per_tensor_affine`, `reduceRange: false`, `eps` 2^−23.
 *
 * @throws `INVALID_ARGUMENT` for a per-channel qscheme, a bad custom range, or reduceRange with
 *   symmetric quint8; `NON_FINITE` from `forward` on NaN/±Inf unless `ignoreNonFinite`.
 * @example
 * const obs = new MinMaxObserver();
 * obs.forward(tensor([-1, 0.5, 3]));
 * obs.calculateQparams(); // { scale: Float32Array [0.01568627543747425], zeroPoint: Int32Array [64] }
 * @see https://pytorch.org/docs/stable/generated/torch.ao.quantization.observer.MinMaxObserver.html
 */
export class MinMaxObserver extends UniformQuantizationObserverBase {
  /** Running minimum (float32); +∞ until data is seen. */
  minVal = Infinity;
  /** Running maximum (float32); −∞ until data is seen. */
  maxVal = -Infinity;

  constructor(options: MinMaxObserverOptions = {}) {
    super(options, { qscheme: 'per_tensor_affine', owner: new.target.name });
    if (!isPerTensorQScheme(this.qscheme)) {
      throw new QuantError(
        'INVALID_ARGUMENT',
        `${new.target.name}: qscheme '${this.qscheme}' is not per-tensor; use per_tensor_affine or per_tensor_symmetric, or PerChannelMinMaxObserver.`,
      );
    }
  }

  forward(x: Tensor): Tensor {
    if (x.numel === 0) return x;
    const data = this.finiteData(x);
    if (data.length === 0) return x;
    const [mn, mx] = aminmax(data);
    this.update(mn, mx);
    return x;
  }

  /** Folds one batch's min and max into the running state. */
  protected update(curMin: number, curMax: number): void {
    this.minVal = Math.min(curMin, this.minVal);
    this.maxVal = Math.max(curMax, this.maxVal);
  }

  calculateQparams(): ObserverQparams {
    return this.qparamsFromMinMax(Float32Array.of(this.minVal), Float32Array.of(this.maxVal));
  }

  /** Forgets the data seen (min +∞, max −∞). */
  resetMinMaxVals(): void {
    this.minVal = Infinity;
    this.maxVal = -Infinity;
  }

  override stateDict(): ObserverStateDict {
    return { ...super.stateDict(), min_val: Float32Array.of(this.minVal), max_val: Float32Array.of(this.maxVal) };
  }

  protected override loadBuffers(sd: ObserverStateDict): void {
    super.loadBuffers(sd);
    this.minVal = ObserverBase.buffer(sd, 'min_val', this.constructor.name, 1)[0]!;
    this.maxVal = ObserverBase.buffer(sd, 'max_val', this.constructor.name, 1)[0]!;
  }

  protected override extraRepr(): string {
    return `min_val=${pyFloatRepr(this.minVal)}, max_val=${pyFloatRepr(this.maxVal)}`;
  }
}
