import { QuantError, type Tensor } from '@quint/tensor';
import { ObserverBase, type ObserverCommonOptions, type ObserverDtype, type ObserverQparams } from './observer-base.js';

/** Constructor options of {@link NoopObserver}. */
export interface NoopObserverOptions extends ObserverCommonOptions {
  /** Default `'float16'`. */
  readonly dtype?: ObserverDtype | undefined;
  /** PyTorch's `custom_op_name`. Default `''`. */
  readonly customOpName?: string | undefined;
}

/**
 * An observer that does nothing (`torch.ao.quantization.NoopObserver`), e.g. the weight observer of
 * `defaultReuseInputQConfig`.
 *
 * @throws `INVALID_ARGUMENT` from `calculateQparams`, as PyTorch raises.
 * @example
 * new NoopObserver().dtype; // 'float16'
 * @see https://pytorch.org/docs/stable/generated/torch.ao.quantization.observer.NoopObserver.html
 */
export class NoopObserver extends ObserverBase {
  readonly dtype: ObserverDtype;
  readonly customOp: string;

  constructor(options: NoopObserverOptions = {}) {
    super(options);
    this.dtype = options.dtype ?? 'float16';
    this.customOp = options.customOpName ?? '';
  }

  /** Identity. */
  forward(x: Tensor): Tensor {
    return x;
  }

  calculateQparams(): ObserverQparams {
    throw new QuantError(
      'INVALID_ARGUMENT',
      'calculateQparams should not be called for NoopObserver; it observes nothing.',
    );
  }
}
