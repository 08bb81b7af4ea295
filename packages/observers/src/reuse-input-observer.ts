import { QuantError, type Tensor } from '@quint/tensor';
import { ObserverBase, type ObserverCommonOptions, type ObserverQparams } from './observer-base.js';

/**
 * Marks an op (e.g. `reshape`) whose output reuses its input's observer, in FX graph mode
 * (`torch.ao.quantization.observer.ReuseInputObserver`); itself an identity.
 *
 * @throws `INVALID_ARGUMENT` from `calculateQparams`, as PyTorch raises.
 * @example
 * defaultReuseInputQConfig.activation.create(); // a ReuseInputObserver
 * @see https://pytorch.org/docs/stable/quantization-support.html#torch-ao-quantization-observer
 */
export class ReuseInputObserver extends ObserverBase {
  readonly dtype = 'quint8' as const;

  constructor(options: ObserverCommonOptions = {}) {
    super(options);
  }

  /** Identity. */
  forward(x: Tensor): Tensor {
    return x;
  }

  calculateQparams(): ObserverQparams {
    throw new QuantError(
      'INVALID_ARGUMENT',
      'calculateQparams should not be called for ReuseInputObserver; the converter reuses the input observer.',
    );
  }
}
