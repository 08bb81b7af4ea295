import { MinMaxObserver, type MinMaxObserverOptions } from './min-max-observer.js';

const f32 = Math.fround;

/** Constructor options of {@link MovingAverageMinMaxObserver}. */
export interface MovingAverageMinMaxObserverOptions extends MinMaxObserverOptions {
  /** Weight of the new batch, used as float32. Default 0.01. */
  readonly averagingConstant?: number | undefined;
}

/**
 * Like {@link MinMaxObserver}, but keeps an exponential moving average of each batch's min and max
 * (`torch.ao.quantization.MovingAverageMinMaxObserver`): the first batch sets them, later ones do
 * `min_val = f32(min_val + f32(c · f32(min(x) − min_val)))` in float32 (spec §2.4).
 *
 * @throws as {@link MinMaxObserver}.
 * @example
 * const obs = new MovingAverageMinMaxObserver();
 * obs.forward(tensor([-1, 1])); obs.forward(tensor([-2, 3]));
 * obs.minVal; // -1.0099999904632568
 * @see https://pytorch.org/docs/stable/generated/torch.ao.quantization.observer.MovingAverageMinMaxObserver.html
 */
export class MovingAverageMinMaxObserver extends MinMaxObserver {
  readonly averagingConstant: number;

  constructor(options: MovingAverageMinMaxObserverOptions = {}) {
    super(options);
    this.averagingConstant = options.averagingConstant ?? 0.01;
  }

  protected override update(curMin: number, curMax: number): void {
    if (this.minVal === Infinity && this.maxVal === -Infinity) {
      this.minVal = curMin;
      this.maxVal = curMax;
      return;
    }
    // Tensor–Python-scalar arithmetic: the scalar c is cast to float32 first (spec §2 preamble).
    const c = f32(this.averagingConstant);
    this.minVal = f32(this.minVal + f32(c * f32(curMin - this.minVal)));
    this.maxVal = f32(this.maxVal + f32(c * f32(curMax - this.maxVal)));
  }
}
