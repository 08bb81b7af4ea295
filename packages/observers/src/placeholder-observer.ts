import { QuantError, type Tensor } from '@quint/tensor';
import { ObserverBase, type ObserverCommonOptions, type ObserverDtype, type ObserverQparams } from './observer-base.js';

/** Constructor options of {@link PlaceholderObserver}. */
export interface PlaceholderObserverOptions extends ObserverCommonOptions {
  /** The dtype handed to the converter. Default `'float32'`. */
  readonly dtype?: ObserverDtype | undefined;
  /** PyTorch's `custom_op_name`. Default `''`. */
  readonly customOpName?: string | undefined;
  /** When set, marks dynamic quantization (PyTorch 1.13's `compute_dtype`; `is_dynamic` in later versions). */
  readonly computeDtype?: ObserverDtype | undefined;
}

/**
 * An observer that observes nothing and only carries its dtype to the converter
 * (`torch.ao.quantization.PlaceholderObserver`): used for dynamic quantization
 * ({@link defaultDynamicQuantObserver}: quint8 with `computeDtype` quint8) and float16.
 *
 * @throws `INVALID_ARGUMENT` from `calculateQparams`, as PyTorch raises.
 * @example
 * const obs = defaultDynamicQuantObserver.create();
 * obs.isDynamic; // true
 * @see https://pytorch.org/docs/stable/generated/torch.ao.quantization.observer.PlaceholderObserver.html
 */
export class PlaceholderObserver extends ObserverBase {
  readonly dtype: ObserverDtype;
  readonly customOp: string;
  readonly computeDtype: ObserverDtype | undefined;

  constructor(options: PlaceholderObserverOptions = {}) {
    super(options);
    this.dtype = options.dtype ?? 'float32';
    this.customOp = options.customOpName ?? '';
    this.computeDtype = options.computeDtype;
  }

  /** True when `computeDtype` is set: the converter quantizes activations per batch. */
  get isDynamic(): boolean {
    return this.computeDtype !== undefined;
  }

  /** Identity. */
  forward(x: Tensor): Tensor {
    return x;
  }

  calculateQparams(): ObserverQparams {
    throw new QuantError(
      'INVALID_ARGUMENT',
      'calculateQparams should not be called for PlaceholderObserver; it carries a dtype only (dynamic or float16 quantization).',
    );
  }
}
