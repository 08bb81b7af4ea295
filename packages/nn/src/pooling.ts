import { adaptiveAvgPool2d, avgPool2d, maxPool2d, type Tensor } from '@quint/tensor';
import type { QTensor } from '@quint/qtensor';
import { runUnary } from './internal/quantized-dispatch.js';
import { isQTensor } from './quantized/utils.js';

// Typed Tensor → Tensor for user code; after convert these modules also carry QTensors.
const q = (x: QTensor): Tensor => x as unknown as Tensor;
import type { IntPair } from './conv.js';
import { pyBool, pyIntOrTuple } from './internal/repr.js';
import { BUILTIN, Module } from './module.js';

/** Options of {@link MaxPool2d}. */
export interface MaxPool2dOptions {
  /** Default: `kernelSize`. */
  readonly stride?: IntPair;
  /** Default 0. */
  readonly padding?: IntPair;
  /** Default 1. */
  readonly dilation?: IntPair;
  /** Default false. */
  readonly ceilMode?: boolean;
}

/**
 * 2-D max pooling (`torch.nn.MaxPool2d`). Sizes are kept as given (an int or a pair), so they print
 * as PyTorch prints them.
 *
 * @example
 * String(new MaxPool2d(2)); // 'MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)'
 * @see https://pytorch.org/docs/stable/generated/torch.nn.MaxPool2d.html
 */
export class MaxPool2d extends Module {
  static readonly [BUILTIN] = true;
  readonly kernelSize: IntPair;
  readonly stride: IntPair;
  readonly padding: IntPair;
  readonly dilation: IntPair;
  readonly ceilMode: boolean;

  constructor(kernelSize: IntPair, options: MaxPool2dOptions = {}) {
    super();
    this.kernelSize = kernelSize;
    this.stride = options.stride ?? kernelSize;
    this.padding = options.padding ?? 0;
    this.dilation = options.dilation ?? 1;
    this.ceilMode = options.ceilMode ?? false;
  }

  forward(x: Tensor): Tensor {
    if (isQTensor(x)) {
      const params = {
        kernelSize: this.kernelSize,
        stride: this.stride,
        padding: this.padding,
        dilation: this.dilation,
        ceilMode: this.ceilMode,
      };
      return q(runUnary(this, 'maxPool2d', x, (be, o) => be.kernels.maxPool2d(x, params, o)));
    }
    return maxPool2d(x, {
      kernelSize: this.kernelSize,
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      ceilMode: this.ceilMode,
    });
  }

  override extraRepr(): string {
    return `kernel_size=${pyIntOrTuple(this.kernelSize)}, stride=${pyIntOrTuple(this.stride)}, padding=${pyIntOrTuple(this.padding)}, dilation=${pyIntOrTuple(this.dilation)}, ceil_mode=${pyBool(this.ceilMode)}`;
  }
}

/** Options of {@link AvgPool2d}. */
export interface AvgPool2dOptions {
  /** Default: `kernelSize`. */
  readonly stride?: IntPair;
  /** Default 0. */
  readonly padding?: IntPair;
  /** Default false. */
  readonly ceilMode?: boolean;
  /** Default true. */
  readonly countIncludePad?: boolean;
  /** Default none. */
  readonly divisorOverride?: number | null;
}

/**
 * 2-D average pooling (`torch.nn.AvgPool2d`).
 *
 * @example
 * String(new AvgPool2d(2)); // 'AvgPool2d(kernel_size=2, stride=2, padding=0)'
 * @see https://pytorch.org/docs/stable/generated/torch.nn.AvgPool2d.html
 */
export class AvgPool2d extends Module {
  static readonly [BUILTIN] = true;
  readonly kernelSize: IntPair;
  readonly stride: IntPair;
  readonly padding: IntPair;
  readonly ceilMode: boolean;
  readonly countIncludePad: boolean;
  readonly divisorOverride: number | null;

  constructor(kernelSize: IntPair, options: AvgPool2dOptions = {}) {
    super();
    this.kernelSize = kernelSize;
    this.stride = options.stride ?? kernelSize;
    this.padding = options.padding ?? 0;
    this.ceilMode = options.ceilMode ?? false;
    this.countIncludePad = options.countIncludePad ?? true;
    this.divisorOverride = options.divisorOverride ?? null;
  }

  forward(x: Tensor): Tensor {
    if (isQTensor(x)) {
      const params = {
        kernelSize: this.kernelSize,
        stride: this.stride,
        padding: this.padding,
        ceilMode: this.ceilMode,
        countIncludePad: this.countIncludePad,
        ...(this.divisorOverride === null ? {} : { divisorOverride: this.divisorOverride }),
      };
      return q(runUnary(this, 'avgPool2d', x, (be, o) => be.kernels.avgPool2d(x, params, o)));
    }
    return avgPool2d(x, {
      kernelSize: this.kernelSize,
      stride: this.stride,
      padding: this.padding,
      ceilMode: this.ceilMode,
      countIncludePad: this.countIncludePad,
      divisorOverride: this.divisorOverride,
    });
  }

  override extraRepr(): string {
    return `kernel_size=${pyIntOrTuple(this.kernelSize)}, stride=${pyIntOrTuple(this.stride)}, padding=${pyIntOrTuple(this.padding)}`;
  }
}

/** An adaptive output size: one int, or (H, W) where `null` keeps the input's size. */
export type AdaptiveSize = number | readonly [number | null, number | null];

/**
 * Adaptive 2-D average pooling to a fixed output size (`torch.nn.AdaptiveAvgPool2d`); size 1 sums
 * in `torch.sum`'s float32 order, as PyTorch 1.13.
 *
 * @example
 * String(new AdaptiveAvgPool2d(1)); // 'AdaptiveAvgPool2d(output_size=1)'
 * @see https://pytorch.org/docs/stable/generated/torch.nn.AdaptiveAvgPool2d.html
 */
export class AdaptiveAvgPool2d extends Module {
  static readonly [BUILTIN] = true;
  readonly outputSize: AdaptiveSize;

  constructor(outputSize: AdaptiveSize) {
    super();
    this.outputSize = outputSize;
  }

  forward(x: Tensor): Tensor {
    if (isQTensor(x))
      return q(runUnary(this, 'adaptiveAvgPool2d', x, (be, o) => be.kernels.adaptiveAvgPool2d(x, this.outputSize, o)));
    return adaptiveAvgPool2d(x, this.outputSize);
  }

  override extraRepr(): string {
    const o = this.outputSize;
    return `output_size=${typeof o === 'number' ? o : `(${o.map((v) => (v === null ? 'None' : String(v))).join(', ')})`}`;
  }
}
