import { MinMaxObserver, type MinMaxObserverOptions } from './min-max-observer.js';
import { movingAverageStep } from './torch-numerics.js';

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
    this.minVal = movingAverageStep(this.minVal, curMin, this.averagingConstant);
    this.maxVal = movingAverageStep(this.maxVal, curMax, this.averagingConstant);
  }
}
