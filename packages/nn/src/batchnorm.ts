import { batchNorm2d, ones, QuantError, Tensor, zeros } from '@quint/tensor';
import { pyBool, pyFloat } from './internal/repr.js';
import { floatModuleGotQTensor } from './internal/quantized-dispatch.js';
import { isQTensor } from './quantized/utils.js';
import type { Parameter } from './module.js';
import { BUILTIN, Module, moduleError } from './module.js';

/** Options of {@link BatchNorm2d}, as `torch.nn.BatchNorm2d`'s keyword arguments. */
export interface BatchNorm2dOptions {
  /** Added to the variance (default 1e-5). */
  readonly eps?: number;
  /** Running-statistics momentum (default 0.1; kept for printing and fusion, inference only here). */
  readonly momentum?: number;
  /** Learnable `weight` and `bias` (default true). */
  readonly affine?: boolean;
  /** Keep running statistics (default true; inference needs them). */
  readonly trackRunningStats?: boolean;
}

/**
 * Batch normalization over NCHW channels (`torch.nn.BatchNorm2d`), inference only: in eval mode
 * `(x − runningMean) / √(runningVar + eps) · weight + bias`, by `batchNorm2d` of `@quint/tensor`
 * in PyTorch 1.13's float32 order. Buffers: `runningMean` (0), `runningVar` (1),
 * `numBatchesTracked` (0); state-dict keys `running_mean`, `running_var`, `num_batches_tracked`.
 *
 * @throws `UNSUPPORTED_OP` when called in training mode (call `model.eval()` first; quint does not
 *   train), or without running statistics.
 * @example
 * const bn = new BatchNorm2d(8).eval();
 * String(bn); // 'BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)'
 * @see https://pytorch.org/docs/stable/generated/torch.nn.BatchNorm2d.html
 */
export class BatchNorm2d extends Module {
  static readonly [BUILTIN] = true;
  readonly numFeatures: number;
  eps: number;
  momentum: number;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  declare weight: Parameter | null;
  declare bias: Parameter | null;
  declare runningMean: Tensor | null;
  declare runningVar: Tensor | null;
  declare numBatchesTracked: Tensor | null;

  constructor(numFeatures: number, options: BatchNorm2dOptions = {}) {
    super();
    if (!(Number.isInteger(numFeatures) && numFeatures > 0)) {
      throw new QuantError('INVALID_ARGUMENT', `BatchNorm2d: numFeatures ${numFeatures} must be a positive integer.`);
    }
    this.numFeatures = numFeatures;
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum ?? 0.1;
    this.affine = options.affine ?? true;
    this.trackRunningStats = options.trackRunningStats ?? true;
    this.registerParameter('weight', this.affine ? ones([numFeatures]) : null);
    this.registerParameter('bias', this.affine ? zeros([numFeatures]) : null);
    this.registerBuffer('runningMean', this.trackRunningStats ? zeros([numFeatures]) : null);
    this.registerBuffer('runningVar', this.trackRunningStats ? ones([numFeatures]) : null);
    this.registerBuffer('numBatchesTracked', this.trackRunningStats ? new Tensor(new Float32Array(1), []) : null);
  }

  forward(x: Tensor): Tensor {
    if (isQTensor(x)) throw floatModuleGotQTensor(this);
    if (this.training || this.runningMean === null || this.runningVar === null) {
      const why = this.training ? 'is in training mode' : 'has no running statistics';
      throw moduleError(
        this,
        new QuantError('UNSUPPORTED_OP', ''),
        (path) =>
          `BatchNorm2d${path === '' ? '' : ` '${path}'`} ${why}; quint runs inference only: call model.eval() before running the model${this.training ? '' : ', and build it with trackRunningStats: true'}.`,
      );
    }
    return batchNorm2d(x, {
      runningMean: this.runningMean,
      runningVar: this.runningVar,
      weight: this.weight,
      bias: this.bias,
      eps: this.eps,
    });
  }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${pyFloat(this.eps)}, momentum=${pyFloat(this.momentum)}, affine=${pyBool(this.affine)}, track_running_stats=${pyBool(this.trackRunningStats)}`;
  }
}
