// torch/ao/nn/quantized/modules/linear.py (Linear) and torch/ao/nn/intrinsic/quantized/modules/linear_relu.py.
import type { PackedLinear, QTensor } from '@quint/qtensor';
import { LinearReLU as FloatLinearReLU } from '../intrinsic/fused.js';
import { Linear as FloatLinear } from '../linear.js';
import { BUILTIN, type Module, type LoadStateDictContext, type StateDict } from '../module.js';
import {
  WeightedQuantizedModule,
  kernelOptions,
  loadQuantizedGemm,
  qparamsRepr,
  qschemeRepr,
  requireQTensor,
  weightedFromFloat,
  type QuantizedModuleOptions,
} from './utils.js';

/** Options of the quantized {@link Linear}. */
export interface QuantizedLinearOptions extends QuantizedModuleOptions {
  /** Whether the module has a bias (default true; zeros until `setWeightBias`). */
  readonly bias?: boolean;
}

/**
 * A quantized linear layer (`torch.ao.nn.quantized.Linear`): quint8 input of any rank, qint8 weight
 * `[out, in]`, float32 bias, output in `(scale, zeroPoint)`; runs the backend's `linear` kernel
 * with the module's engine (spec pytorch-semantics §5.2). Prints as `QuantizedLinear(…)`.
 *
 * State-dict keys: `scale`, `zero_point`, `_packed_params.weight`, `_packed_params.bias` (PyTorch's
 * version-2 layout; version 3 stores a `(weight, bias)` tuple, which a flat dict cannot hold).
 *
 * @throws `DTYPE_MISMATCH` naming the module path when called with a float Tensor.
 * @example
 * const qfc = nnq.Linear.fromFloat(prepared.fc, { backend });
 * String(qfc); // 'QuantizedLinear(in_features=8, out_features=4, scale=0.05, zero_point=0, qscheme=torch.per_tensor_affine)'
 * @see https://pytorch.org/docs/stable/generated/torch.ao.nn.quantized.Linear.html
 */
export class Linear extends WeightedQuantizedModule<PackedLinear> {
  static readonly [BUILTIN] = true;
  protected readonly op: 'linear' | 'linearRelu' = 'linear';
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** Output scale (a double holding the observer's float32 value). */
  scale = 1;
  /** Output zero point. */
  zeroPoint = 0;

  constructor(inFeatures: number, outFeatures: number, options: QuantizedLinearOptions) {
    super(options);
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.initWeightBias([outFeatures, inFeatures], options.bias);
  }

  /**
   * The quantized module for a prepared float `Linear` (PyTorch's `from_float`, spec §5.1): weight
   * quantized by a fresh observer from `mod.qconfig.weight`, output qparams from
   * `mod.activationPostProcess`; prepacked on `backend`.
   *
   * @throws `INVALID_ARGUMENT` for another module type; `NO_QCONFIG`; `NOT_CALIBRATED`;
   *   `DTYPE_MISMATCH` for a non-qint8 weight observer.
   * @example
   * const qfc = nnq.Linear.fromFloat(prepared.fc, { backend });
   */
  static fromFloat(mod: Module, options: QuantizedModuleOptions): Linear {
    return fromFloatLinear(Linear, FloatLinear, mod, options);
  }

  protected override prepack(weight: QTensor, bias: Float32Array | null): PackedLinear {
    return this.backend.prepackLinear(weight, bias);
  }

  forward(x: QTensor): QTensor {
    const q = requireQTensor(this, x);
    return this.backend.kernels[this.op](
      q,
      this.packedWeight(),
      { scale: this.scale, zeroPoint: this.zeroPoint },
      kernelOptions(this.engine, this.trace),
    );
  }

  protected override saveToStateDict(out: StateDict, prefix: string): void {
    out[`${prefix}scale`] = this.scale;
    out[`${prefix}zero_point`] = this.zeroPoint;
    out[`${prefix}_packed_params.weight`] = this.qweight;
    if (this.qbias !== null) out[`${prefix}_packed_params.bias`] = this.qbias;
  }

  protected override loadFromStateDict(
    sd: StateDict,
    prefix: string,
    ctx: LoadStateDictContext,
    consumed: Set<string>,
  ): void {
    loadQuantizedGemm(this, sd, prefix, ctx, consumed, ['_packed_params.weight', '_packed_params.bias'], (w, b) =>
      this.setWeightBias(w, b),
    );
  }

  override getName(): string {
    return 'QuantizedLinear';
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, ${qparamsRepr(this.scale, this.zeroPoint)}, qscheme=${qschemeRepr(this.qweight)}`;
  }
}

/**
 * A quantized linear with ReLU fused into the output clamp
 * (`torch.ao.nn.intrinsic.quantized.LinearReLU`), from a prepared `nni.LinearReLU`. Prints as
 * `QuantizedLinearReLU(…)`.
 *
 * @example
 * const q = nnq.LinearReLU.fromFloat(prepared.fc, { backend });
 * @see https://pytorch.org/docs/stable/generated/torch.ao.nn.intrinsic.quantized.LinearReLU.html
 */
export class LinearReLU extends Linear {
  static override readonly [BUILTIN] = true;
  protected override readonly op = 'linearRelu';

  /**
   * The quantized module for a prepared `nni.LinearReLU`.
   *
   * @throws as {@link Linear.fromFloat}.
   * @example
   * const q = nnq.LinearReLU.fromFloat(prepared.fc, { backend });
   */
  static override fromFloat(mod: Module, options: QuantizedModuleOptions): LinearReLU {
    return fromFloatLinear(LinearReLU, FloatLinearReLU, mod, options);
  }

  override getName(): string {
    return 'QuantizedLinearReLU';
  }
}

function fromFloatLinear<L extends Linear>(
  Cls: new (i: number, o: number, opts: QuantizedLinearOptions) => L,
  Float: abstract new (...a: never[]) => Module,
  mod: Module,
  options: QuantizedModuleOptions,
): L {
  return weightedFromFloat({
    mod,
    owner: `nnq.${Cls.name}`,
    types: [Float],
    qparamsFirst: true,
    create: (lin: FloatLinear) => new Cls(lin.inFeatures, lin.outFeatures, { ...options, bias: lin.bias !== null }),
  });
}
