// torch/ao/nn/quantized/modules/conv.py (Conv2d) and torch/ao/nn/intrinsic/quantized/modules/conv_relu.py.
import { QuantError } from '@quint/tensor';
import type { PackedConv2d, QTensor } from '@quint/qtensor';
import { Conv2d as FloatConv2d, convExtraRepr, pair, type IntPair } from '../conv.js';
import { ConvReLU2d as FloatConvReLU2d } from '../intrinsic/fused.js';
import { withMemoryFormat } from '../internal/memory-format.js';
import { BUILTIN, type Module, type LoadStateDictContext, type StateDict } from '../module.js';
import {
  WeightedQuantizedModule,
  kernelOptions,
  loadQuantizedGemm,
  qparamsRepr,
  requireQTensor,
  weightedFromFloat,
  type QuantizedModuleOptions,
} from './utils.js';

/** Options of the quantized {@link Conv2d}: the float module's geometry plus the backend. */
export interface QuantizedConv2dOptions extends QuantizedModuleOptions {
  readonly stride?: IntPair;
  readonly padding?: IntPair;
  readonly dilation?: IntPair;
  readonly groups?: number;
  /** Whether the module has a bias (default true; zeros until `setWeightBias`). */
  readonly bias?: boolean;
}

/** Explicit padding for the float module's `padding` (`'valid'` is 0; `'same'` must be symmetric). */
function explicitPadding(c: FloatConv2d): [number, number] {
  if (c.padding === 'valid') return [0, 0];
  if (c.padding === 'same') {
    const total = c.kernelSize.map((k, i) => c.dilation[i]! * (k - 1));
    if (total.some((t) => t % 2 !== 0)) {
      throw new QuantError(
        'INVALID_ARGUMENT',
        `nnq.Conv2d.fromFloat: padding 'same' with kernel ${JSON.stringify(c.kernelSize)} needs asymmetric padding; use explicit padding.`,
      );
    }
    return [total[0]! / 2, total[1]! / 2];
  }
  return c.padding;
}

/**
 * A quantized 2-D convolution (`torch.ao.nn.quantized.Conv2d`): quint8 NCHW input, qint8 weight
 * (per tensor or per output channel), float32 bias, output in `(scale, zeroPoint)`; runs the
 * backend's `conv2d` kernel with the module's engine (spec pytorch-semantics §5.2). Prints as
 * `QuantizedConv2d(…)`.
 *
 * @throws `DTYPE_MISMATCH` naming the module path when called with a float Tensor (put a
 *   `QuantStub` before it).
 * @example
 * const qconv = nnq.Conv2d.fromFloat(prepared.conv, { backend: createJsBackend() });
 * qconv.weight().intRepr(); // Int8Array […]
 * @see https://pytorch.org/docs/stable/generated/torch.ao.nn.quantized.Conv2d.html
 */
export class Conv2d extends WeightedQuantizedModule<PackedConv2d> {
  static readonly [BUILTIN] = true;
  /** The kernel this class runs (`conv2dRelu` for {@link ConvReLU2d}). */
  protected readonly op: 'conv2d' | 'conv2dRelu' = 'conv2d';
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  /** Output scale (a double holding the observer's float32 value, as `float(scale)`). */
  scale = 1;
  /** Output zero point. */
  zeroPoint = 0;

  constructor(inChannels: number, outChannels: number, kernelSize: IntPair, options: QuantizedConv2dOptions) {
    super(options);
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = pair(kernelSize);
    this.stride = pair(options.stride ?? 1);
    this.padding = pair(options.padding ?? 0);
    this.dilation = pair(options.dilation ?? 1);
    this.groups = options.groups ?? 1;
    this.initWeightBias([outChannels, inChannels / this.groups, ...this.kernelSize], options.bias);
  }

  /**
   * The quantized module for a prepared float `Conv2d` (PyTorch's `from_float`): a fresh weight
   * observer from `mod.qconfig.weight` sees the weight, which is quantized with its qparams
   * (clamped to its range, spec §5.1); the output qparams come from `mod.activationPostProcess`.
   * Prepacks the weight on `backend` (which checks int32 overflow).
   *
   * @throws `INVALID_ARGUMENT` for another module type; `NO_QCONFIG` without a qconfig;
   *   `NOT_CALIBRATED` without an output observer; `DTYPE_MISMATCH` for a non-qint8 weight observer.
   * @example
   * const qconv = nnq.Conv2d.fromFloat(prepared.conv, { backend, engine: 'qnnpack' });
   */
  static fromFloat(mod: Module, options: QuantizedModuleOptions): Conv2d {
    return fromFloatConv(Conv2d, FloatConv2d, mod, options);
  }

  protected override prepack(weight: QTensor, bias: Float32Array | null): PackedConv2d {
    return this.backend.prepackConv2d(weight, bias, {
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      groups: this.groups,
    });
  }

  forward(x: QTensor): QTensor {
    const q = requireQTensor(this, x);
    // PyTorch's quantized conv returns channels_last on both engines (spec §11.3): later ops need the hint.
    return withMemoryFormat(
      this.backend.kernels[this.op](
        q,
        this.packedWeight(),
        { scale: this.scale, zeroPoint: this.zeroPoint },
        kernelOptions(this.engine, this.trace),
      ),
      'channels_last',
    );
  }

  protected override saveToStateDict(out: StateDict, prefix: string): void {
    out[`${prefix}weight`] = this.qweight;
    if (this.qbias !== null) out[`${prefix}bias`] = this.qbias;
    out[`${prefix}scale`] = this.scale;
    out[`${prefix}zero_point`] = this.zeroPoint;
  }

  protected override loadFromStateDict(
    sd: StateDict,
    prefix: string,
    ctx: LoadStateDictContext,
    consumed: Set<string>,
  ): void {
    loadQuantizedGemm(this, sd, prefix, ctx, consumed, ['weight', 'bias'], (w, b) => this.setWeightBias(w, b));
  }

  override getName(): string {
    return 'QuantizedConv2d';
  }

  override extraRepr(): string {
    return convExtraRepr(this, `, ${qparamsRepr(this.scale, this.zeroPoint)}`, this.qbias !== null);
  }
}

/**
 * A quantized conv2d with ReLU fused into the output clamp
 * (`torch.ao.nn.intrinsic.quantized.ConvReLU2d`), from a prepared `nni.ConvReLU2d`. Prints as
 * `QuantizedConvReLU2d(…)`.
 *
 * @example
 * const q = nnq.ConvReLU2d.fromFloat(prepared.conv, { backend });
 * @see https://pytorch.org/docs/stable/generated/torch.ao.nn.intrinsic.quantized.ConvReLU2d.html
 */
export class ConvReLU2d extends Conv2d {
  static override readonly [BUILTIN] = true;
  protected override readonly op = 'conv2dRelu';

  /**
   * The quantized module for a prepared `nni.ConvReLU2d` (weights from its `Conv2d`, output qparams
   * from its observer).
   *
   * @throws as {@link Conv2d.fromFloat}.
   * @example
   * const q = nnq.ConvReLU2d.fromFloat(prepared.conv, { backend });
   */
  static override fromFloat(mod: Module, options: QuantizedModuleOptions): ConvReLU2d {
    return fromFloatConv(ConvReLU2d, FloatConvReLU2d, mod, options);
  }

  override getName(): string {
    return 'QuantizedConvReLU2d';
  }
}

function fromFloatConv<C extends Conv2d>(
  Cls: new (i: number, o: number, k: IntPair, opts: QuantizedConv2dOptions) => C,
  Float: abstract new (...a: never[]) => Module,
  mod: Module,
  options: QuantizedModuleOptions,
): C {
  return weightedFromFloat({
    mod,
    owner: `nnq.${Cls.name}`,
    types: [Float],
    create: (conv: FloatConv2d) =>
      new Cls(conv.inChannels, conv.outChannels, conv.kernelSize, {
        ...options,
        stride: conv.stride,
        padding: explicitPadding(conv),
        dilation: conv.dilation,
        groups: conv.groups,
        bias: conv.bias !== null,
      }),
  });
}
