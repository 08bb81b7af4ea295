import { PerChannelMinMaxObserver, type PerChannelMinMaxObserverOptions } from './per-channel-min-max-observer.js';
import { movingAverageStep } from './torch-numerics.js';

/** Constructor options of {@link MovingAveragePerChannelMinMaxObserver}. */
export interface MovingAveragePerChannelMinMaxObserverOptions extends PerChannelMinMaxObserverOptions {
  /** Weight of the new batch, used as float32. Default 0.01. */
  readonly averagingConstant?: number | undefined;
}

/**
 * {@link PerChannelMinMaxObserver} with a moving average per channel
 * (`torch.ao.quantization.MovingAveragePerChannelMinMaxObserver`): the first batch sets the buffers,
 * later ones do `min_val = f32(min_val + f32(c · f32(min(x) − min_val)))` per channel (spec §2.4–2.5).
 *
 * @throws as {@link PerChannelMinMaxObserver}.
 * @example
 * const obs = new MovingAveragePerChannelMinMaxObserver({ averagingConstant: 0.5 });
 * obs.forward(tensor([0, 1, 0, 3], [2, 2]));
 * @see https://pytorch.org/docs/stable/generated/torch.ao.quantization.observer.MovingAveragePerChannelMinMaxObserver.html
 */
export class MovingAveragePerChannelMinMaxObserver extends PerChannelMinMaxObserver {
  readonly averagingConstant: number;

  constructor(options: MovingAveragePerChannelMinMaxObserverOptions = {}) {
    super(options);
    this.averagingConstant = options.averagingConstant ?? 0.01;
  }

  protected override update(mins: Float32Array, maxs: Float32Array): void {
    if (this.minVal.length === 0) {
      this.minVal = mins;
      this.maxVal = maxs;
      return;
    }
    for (let i = 0; i < mins.length; i++) {
      this.minVal[i] = movingAverageStep(this.minVal[i]!, mins[i]!, this.averagingConstant);
      this.maxVal[i] = movingAverageStep(this.maxVal[i]!, maxs[i]!, this.averagingConstant);
    }
  }
}
