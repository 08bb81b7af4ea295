// torch/ao/nn/quantized/modules/linear.py (Linear) and torch/ao/nn/intrinsic/quantized/modules/linear_relu.py.
import { Tensor } from '@quint/tensor';
import { quantizePerTensor, type Engine, type PackedLinear, type QTensor, type QuantizedBackend, type TraceOptions } from '@quint/qtensor';
import { LinearReLU as FloatLinearReLU } from '../intrinsic/fused.js';
import { Linear as FloatLinear } from '../linear.js';
import { BUILTIN, Module, type LoadStateDictContext, type StateDict } from '../module.js';
import { hidden, loadQuantizedGemm, qnnpackBias } from './conv.js';
import {
  checkFloatModule,
  engineOf,
  kernelOptions,
  observeWeight,
  outputQparams,
  qparamsRepr,
  qschemeRepr,
  quantizeWeight,
  requireQTensor,
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
export class Linear extends Module {
  static readonly [BUILTIN] = true;
  protected readonly op: 'linear' | 'linearRelu' = 'linear';
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** Output scale (a double holding the observer's float32 value). */
  scale = 1;
  /** Output zero point. */
  zeroPoint = 0;
  /** The engine recorded at convert, passed to every kernel call. */
  override engine: Engine;
  declare backend: QuantizedBackend;
  /** When set, the kernel reports its integer arithmetic to `trace.sink` (for `quint explain`). */
  declare trace?: TraceOptions | undefined;
  declare private qweight: QTensor;
  declare private qbias: Tensor | null;
  declare private packed: PackedLinear | null;

  constructor(inFeatures: number, outFeatures: number, options: QuantizedLinearOptions) {
    super();
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.engine = engineOf(options);
    hidden(this, 'backend', options.backend);
    hidden(this, 'packed', null);
    const w = quantizePerTensor(new Tensor(new Float32Array(outFeatures * inFeatures), [outFeatures, inFeatures]), 1, 0, 'qint8');
    this.setWeightBias(w, options.bias === false ? null : new Tensor(new Float32Array(outFeatures), [outFeatures]));
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

  /** The qint8 weight (PyTorch's `weight()`). @example qfc.weight().intRepr() */
  weight(): QTensor {
    return this.qweight;
  }

  /** The float32 bias, or null. @example qfc.bias()?.toArray() */
  bias(): Tensor | null {
    return this.qbias;
  }

  /**
   * Sets the weight and bias and prepacks them (PyTorch's `set_weight_bias`).
   *
   * @throws `OVERFLOW` (from the backend) when the int32 accumulator could overflow.
   * @example
   * qfc.setWeightBias(qweight, bias);
   */
  setWeightBias(weight: QTensor, bias: Tensor | null): void {
    this.qweight = weight;
    this.qbias = qnnpackBias(this.engine, bias, weight.shape[0]!);
    this.packed = null;
    this.packed = this.pack();
  }

  private pack(): PackedLinear {
    return this.backend.prepackLinear(this.qweight, this.qbias === null ? null : this.qbias.toFloat32Array());
  }

  forward(x: QTensor): QTensor {
    const q = requireQTensor(this, x);
    this.packed ??= this.pack();
    return this.backend.kernels[this.op](q, this.packed, { scale: this.scale, zeroPoint: this.zeroPoint }, kernelOptions(this.engine, this.trace));
  }

  override dispose(): void {
    this.packed = null;
    super.dispose();
  }

  protected override afterClone(): void {
    this.packed = null;
  }

  protected override saveToStateDict(out: StateDict, prefix: string): void {
    out[`${prefix}scale`] = this.scale;
    out[`${prefix}zero_point`] = this.zeroPoint;
    out[`${prefix}_packed_params.weight`] = this.qweight;
    if (this.qbias !== null) out[`${prefix}_packed_params.bias`] = this.qbias;
  }

  protected override loadFromStateDict(sd: StateDict, prefix: string, ctx: LoadStateDictContext, consumed: Set<string>): void {
    loadQuantizedGemm(this, sd, prefix, ctx, consumed, ['_packed_params.weight', '_packed_params.bias'], (w, b) => this.setWeightBias(w, b));
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
  const owner = `nnq.${Cls.name}`;
  checkFloatModule(mod, [Float], owner);
  const lin = (mod instanceof FloatLinearReLU ? mod.get(0) : mod) as FloatLinear;
  const observer = observeWeight(mod, lin.weight);
  const { scale, zeroPoint } = outputQparams(mod, owner);
  const qweight = quantizeWeight(lin.weight, observer, owner);
  const q = new Cls(lin.inFeatures, lin.outFeatures, { ...options, bias: lin.bias !== null });
  q.setWeightBias(qweight, lin.bias === null ? null : lin.bias.clone());
  q.scale = scale;
  q.zeroPoint = zeroPoint;
  return q;
}
