import { dropout, QuantError, type Tensor } from '@quint/tensor';
import { pyBool, pyFloat } from './internal/repr.js';
import { BUILTIN, Module, moduleError } from './module.js';
import { isQTensor } from './quantized/utils.js';

/** Options of {@link Dropout}. */
export interface DropoutOptions {
  /** Recorded for printing only. */
  readonly inplace?: boolean;
}

/**
 * Dropout (`torch.nn.Dropout`): the identity in eval mode, which is all quint runs.
 *
 * @throws `INVALID_ARGUMENT` for `p` outside [0, 1]; `UNSUPPORTED_OP` when called in training mode
 *   (call `model.eval()` first).
 * @example
 * String(new Dropout(0.2)); // 'Dropout(p=0.2, inplace=False)'
 * @see https://pytorch.org/docs/stable/generated/torch.nn.Dropout.html
 */
export class Dropout extends Module {
  static readonly [BUILTIN] = true;
  readonly p: number;
  readonly inplace: boolean;

  constructor(p = 0.5, options: DropoutOptions = {}) {
    super();
    if (!(p >= 0 && p <= 1)) {
      throw new QuantError('INVALID_ARGUMENT', `Dropout: probability p = ${p} is outside [0, 1]; pass a probability.`);
    }
    this.p = p;
    this.inplace = options.inplace ?? false;
  }

  forward(x: Tensor): Tensor {
    if (this.training) {
      throw moduleError(
        this,
        new QuantError('UNSUPPORTED_OP', ''),
        (path) =>
          `Dropout${path === '' ? '' : ` '${path}'`} is in training mode; quint runs inference only: call model.eval() before running the model.`,
      );
    }
    // Eval-mode dropout is the identity, for QTensors too.
    if (isQTensor(x)) return x;
    return dropout(x, this.p, false);
  }

  override extraRepr(): string {
    return `p=${pyFloat(this.p)}, inplace=${pyBool(this.inplace)}`;
  }
}
