import { hardsigmoid, hardswish, hardtanh, QuantError, relu, relu6, sigmoid, tanh, type Tensor } from '@quint/tensor';
import type { QTensor } from '@quint/qtensor';
import { floatModuleGotQTensor, runUnary } from './internal/quantized-dispatch.js';
import { isQTensor } from './quantized/utils.js';
import { pyFloat } from './internal/repr.js';
import { BUILTIN, Module } from './module.js';

// Float modules are typed Tensor → Tensor for user code; after convert the same module instances
// carry QTensors (PyTorch dispatches on the tensor), so the quantized branch returns one as is.
const q = (x: QTensor): Tensor => x as unknown as Tensor;

/** Options of the activations that take `inplace` (kept for printing; results are always new tensors). */
export interface InplaceOptions {
  readonly inplace?: boolean;
}

// The activations with PyTorch's `inplace` flag record it (default false) and never act on it.
abstract class InplaceActivation extends Module {
  readonly inplace: boolean;

  constructor(options: InplaceOptions = {}) {
    super();
    this.inplace = options.inplace ?? false;
  }
}

/**
 * `max(x, 0)` (`torch.nn.ReLU`), by `relu` of `@quint/tensor`. `inplace` is recorded (and
 * printed, as PyTorch) but the result is always a new tensor.
 *
 * @example
 * new ReLU().call(tensor([-1, 2])).toArray(); // [0, 2]
 * @see https://pytorch.org/docs/stable/generated/torch.nn.ReLU.html
 */
export class ReLU extends InplaceActivation {
  static readonly [BUILTIN] = true;

  forward(x: Tensor): Tensor {
    if (isQTensor(x)) return q(runUnary(this, 'relu', x, (be, o) => be.kernels.relu(x, o)));
    return relu(x);
  }

  override extraRepr(): string {
    return this.inplace ? 'inplace=True' : '';
  }
}

/** Options of {@link Hardtanh}. */
export interface HardtanhOptions extends InplaceOptions {
  /** Default −1. */
  readonly minVal?: number;
  /** Default 1. */
  readonly maxVal?: number;
}

/**
 * Clamps to `[minVal, maxVal]` (`torch.nn.Hardtanh`). Bounds print as Python floats
 * (`min_val=-1.0`), as PyTorch's defaults do.
 *
 * @throws `INVALID_ARGUMENT` when `minVal > maxVal`.
 * @example
 * new Hardtanh({ minVal: -2, maxVal: 2 }).call(tensor([-3, 3])).toArray(); // [-2, 2]
 * @see https://pytorch.org/docs/stable/generated/torch.nn.Hardtanh.html
 */
export class Hardtanh extends Module {
  static readonly [BUILTIN] = true;
  readonly minVal: number;
  readonly maxVal: number;
  readonly inplace: boolean;

  constructor(options: HardtanhOptions = {}) {
    super();
    this.minVal = options.minVal ?? -1;
    this.maxVal = options.maxVal ?? 1;
    this.inplace = options.inplace ?? false;
    if (!(this.minVal <= this.maxVal)) {
      throw new QuantError(
        'INVALID_ARGUMENT',
        `Hardtanh: minVal ${this.minVal} is greater than maxVal ${this.maxVal}; pass minVal <= maxVal.`,
      );
    }
  }

  forward(x: Tensor): Tensor {
    if (isQTensor(x))
      return q(
        runUnary(this, 'hardtanh', x, (be, o) =>
          be.kernels.hardtanh(x, { minVal: this.minVal, maxVal: this.maxVal }, o),
        ),
      );
    return hardtanh(x, this.minVal, this.maxVal);
  }

  override extraRepr(): string {
    return `min_val=${pyFloat(this.minVal)}, max_val=${pyFloat(this.maxVal)}${this.inplace ? ', inplace=True' : ''}`;
  }
}

/**
 * Clamps to `[0, 6]` (`torch.nn.ReLU6`, a `Hardtanh(0, 6)`), by `relu6` of `@quint/tensor`.
 *
 * @example
 * new ReLU6().call(tensor([-1, 7])).toArray(); // [0, 6]
 * @see https://pytorch.org/docs/stable/generated/torch.nn.ReLU6.html
 */
export class ReLU6 extends Hardtanh {
  static override readonly [BUILTIN] = true;

  constructor(options: InplaceOptions = {}) {
    super({ minVal: 0, maxVal: 6, inplace: options.inplace ?? false });
  }

  override forward(x: Tensor): Tensor {
    if (isQTensor(x)) return q(runUnary(this, 'relu6', x, (be, o) => be.kernels.relu6(x, o)));
    return relu6(x);
  }

  override extraRepr(): string {
    return this.inplace ? 'inplace=True' : '';
  }
}

/**
 * `x · relu6(x + 3) / 6` (`torch.nn.Hardswish`), bit-exact with PyTorch 1.13's float kernel.
 *
 * @example
 * new Hardswish().call(tensor([1])).toArray(); // [0.6666667]
 * @see https://pytorch.org/docs/stable/generated/torch.nn.Hardswish.html
 */
export class Hardswish extends InplaceActivation {
  static readonly [BUILTIN] = true;

  forward(x: Tensor): Tensor {
    if (isQTensor(x)) throw floatModuleGotQTensor(this);
    return hardswish(x);
  }
}

/**
 * `relu6(x + 3) / 6` (`torch.nn.Hardsigmoid`).
 *
 * @example
 * new Hardsigmoid().call(tensor([0])).toArray(); // [0.5]
 * @see https://pytorch.org/docs/stable/generated/torch.nn.Hardsigmoid.html
 */
export class Hardsigmoid extends InplaceActivation {
  static readonly [BUILTIN] = true;

  forward(x: Tensor): Tensor {
    if (isQTensor(x)) return q(runUnary(this, 'hardsigmoid', x, (be, o) => be.kernels.hardsigmoid(x, undefined, o)));
    return hardsigmoid(x);
  }
}

/**
 * `1 / (1 + exp(−x))` (`torch.nn.Sigmoid`), bit-exact with PyTorch 1.13's float kernel.
 *
 * @example
 * new Sigmoid().call(tensor([0])).toArray(); // [0.5]
 * @see https://pytorch.org/docs/stable/generated/torch.nn.Sigmoid.html
 */
export class Sigmoid extends Module {
  static readonly [BUILTIN] = true;

  forward(x: Tensor): Tensor {
    if (isQTensor(x)) return q(runUnary(this, 'sigmoid', x, (be, o) => be.kernels.sigmoid(x, undefined, o)));
    return sigmoid(x);
  }
}

/**
 * `tanh(x)` (`torch.nn.Tanh`), correctly rounded to float32 (PyTorch's may differ by 1 ulp).
 *
 * @example
 * new Tanh().call(tensor([0])).toArray(); // [0]
 * @see https://pytorch.org/docs/stable/generated/torch.nn.Tanh.html
 */
export class Tanh extends Module {
  static readonly [BUILTIN] = true;

  forward(x: Tensor): Tensor {
    if (isQTensor(x)) return q(runUnary(this, 'tanh', x, (be, o) => be.kernels.tanh(x, undefined, o)));
    return tanh(x);
  }
}
