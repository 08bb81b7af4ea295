import { QuantError, type Tensor } from '@quint/tensor';
import { ObserverBase, type ObserverCommonOptions, type ObserverDtype, type ObserverQparams } from './observer-base.js';

/** Constructor options of {@link RecordingObserver}. */
export interface RecordingObserverOptions extends ObserverCommonOptions {
  /** Default `'quint8'`. */
  readonly dtype?: ObserverDtype | undefined;
}

/**
 * A debugging observer that keeps a copy of every tensor it sees (`torch.ao.quantization.RecordingObserver`).
 *
 * @throws `INVALID_ARGUMENT` from `calculateQparams`, as PyTorch raises.
 * @example
 * const obs = new RecordingObserver();
 * obs.forward(tensor([1, 2]));
 * obs.getTensorValue().length; // 1
 * @see https://pytorch.org/docs/stable/quantization-support.html#torch-ao-quantization-observer
 */
export class RecordingObserver extends ObserverBase {
  readonly dtype: ObserverDtype;
  /** Copies of the tensors seen, in order. */
  readonly tensorVal: Tensor[] = [];

  constructor(options: RecordingObserverOptions = {}) {
    super(options);
    this.dtype = options.dtype ?? 'quint8';
  }

  /** Stores a copy of `x` and returns `x`. */
  forward(x: Tensor): Tensor {
    this.tensorVal.push(x.clone());
    return x;
  }

  /** The tensors recorded so far. */
  getTensorValue(): Tensor[] {
    return this.tensorVal;
  }

  calculateQparams(): ObserverQparams {
    throw new QuantError(
      'INVALID_ARGUMENT',
      'calculateQparams should not be called for RecordingObserver; it only records tensors.',
    );
  }
}
