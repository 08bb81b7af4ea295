import { flatten, type Tensor } from '@quint/tensor';
import { runUnary } from './internal/quantized-dispatch.js';
import { isQTensor } from './quantized/utils.js';
import { BUILTIN, Module } from './module.js';

/**
 * Flattens dims `startDim..endDim` into one (`torch.nn.Flatten`; defaults 1 and −1, as PyTorch's
 * module — not `torch.flatten`'s 0).
 *
 * @example
 * new Flatten().call(zeros([2, 3, 4])).shape; // [2, 12]
 * @see https://pytorch.org/docs/stable/generated/torch.nn.Flatten.html
 */
export class Flatten extends Module {
  static readonly [BUILTIN] = true;
  readonly startDim: number;
  readonly endDim: number;

  constructor(startDim = 1, endDim = -1) {
    super();
    this.startDim = startDim;
    this.endDim = endDim;
  }

  forward(x: Tensor): Tensor {
    if (isQTensor(x)) {
      // After convert this module carries QTensors (typed Tensor → Tensor for user code).
      return runUnary(this, 'flatten', x, (be, o) =>
        be.kernels.flatten(x, { startDim: this.startDim, endDim: this.endDim }, o),
      ) as unknown as Tensor;
    }
    return flatten(x, this.startDim, this.endDim);
  }

  override extraRepr(): string {
    return `start_dim=${this.startDim}, end_dim=${this.endDim}`;
  }
}
