// torch/ao/nn/quantized/dynamic/modules/linear.py: the dynamic quantized Linear.
import { Tensor } from '@quint/tensor';
import { quantizePerTensor, type Engine, type PackedLinear, type QTensor, type QuantizedBackend, type TraceOptions } from '@quint/qtensor';
import { defaultDynamicQConfig } from '@quint/observers';
import { LinearReLU as FloatLinearReLU } from '../../intrinsic/fused.js';
import { Linear as FloatLinear } from '../../linear.js';
import { BUILTIN, makeObserver, Module, type LoadStateDictContext, type StateDict } from '../../module.js';
import { hidden, loadQuantizedGemm, qnnpackBias } from '../conv.js';
import { checkFloatModule, engineOf, kernelOptions, qschemeRepr, quantizeWeight, type QuantizedModuleOptions } from '../utils.js';

/** Options of the dynamic {@link Linear}. */
export interface DynamicLinearOptions extends QuantizedModuleOptions {
  /** Whether the module has a bias (default true). */
  readonly bias?: boolean;
}

/**
 * A dynamically quantized linear layer (`torch.ao.nn.quantized.dynamic.Linear`): float input and
 * output, qint8 weight; each call quantizes the input with qparams chosen from its own min/max
 * (`reduce_range=True`, as 1.13 hard-codes; qnnpack ignores it) and runs the backend's
 * `linearDynamic` kernel (spec §5.10). Prints as `DynamicQuantizedLinear(…)`.
 *
 * @example
 * const qd = nnqd.Linear.fromFloat(model.fc, { backend });
 * qd.call(randn([2, 8])); // float Tensor
 * @see https://pytorch.org/docs/stable/generated/torch.ao.nn.quantized.dynamic.Linear.html
 */
export class Linear extends Module {
  static readonly [BUILTIN] = true;
  readonly inFeatures: number;
  readonly outFeatures: number;
  override engine: Engine;
  declare backend: QuantizedBackend;
  declare trace?: TraceOptions | undefined;
  declare private qweight: QTensor;
  declare private qbias: Tensor | null;
  declare private packed: PackedLinear | null;

  constructor(inFeatures: number, outFeatures: number, options: DynamicLinearOptions) {
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
   * The dynamic module for a float `Linear` (or the `Linear` of an `nni.LinearReLU`, whose ReLU
   * PyTorch drops here too): the weight observer comes from `mod.qconfig.weight`, or
   * `defaultDynamicQConfig`'s when the module has no qconfig.
   *
   * @throws `INVALID_ARGUMENT` for another module type; `DTYPE_MISMATCH` for a non-qint8 weight observer.
   * @example
   * const qd = nnqd.Linear.fromFloat(model.fc, { backend });
   */
  static fromFloat(mod: Module, options: QuantizedModuleOptions): Linear {
    checkFloatModule(mod, [FloatLinear, FloatLinearReLU], 'nnqd.Linear', false);
    const qconfig = mod.qconfig ?? defaultDynamicQConfig;
    const lin = (mod instanceof FloatLinearReLU ? mod.get(0) : mod) as FloatLinear;
    const observer = makeObserver(qconfig.weight);
    observer.forward(lin.weight);
    const qweight = quantizeWeight(lin.weight, observer, 'nnqd.Linear');
    const q = new Linear(lin.inFeatures, lin.outFeatures, { ...options, bias: lin.bias !== null });
    q.setWeightBias(qweight, lin.bias === null ? null : lin.bias.clone());
    return q;
  }

  /** The qint8 weight. @example qd.weight().qScale() */
  weight(): QTensor {
    return this.qweight;
  }

  /** The float32 bias, or null. @example qd.bias() */
  bias(): Tensor | null {
    return this.qbias;
  }

  /** Sets and prepacks the weight and bias. @example qd.setWeightBias(w, b) */
  setWeightBias(weight: QTensor, bias: Tensor | null): void {
    this.qweight = weight;
    this.qbias = qnnpackBias(this.engine, bias, weight.shape[0]!);
    this.packed = null;
    this.packed = this.pack();
  }

  private pack(): PackedLinear {
    return this.backend.prepackLinear(this.qweight, this.qbias === null ? null : this.qbias.toFloat32Array());
  }

  forward(x: Tensor): Tensor {
    this.packed ??= this.pack();
    return this.backend.kernels.linearDynamic(x, this.packed, { ...kernelOptions(this.engine, this.trace), reduceRange: true });
  }

  override dispose(): void {
    this.packed = null;
    super.dispose();
  }

  protected override afterClone(): void {
    this.packed = null;
  }

  protected override saveToStateDict(out: StateDict, prefix: string): void {
    out[`${prefix}_packed_params.weight`] = this.qweight;
    if (this.qbias !== null) out[`${prefix}_packed_params.bias`] = this.qbias;
  }

  protected override loadFromStateDict(sd: StateDict, prefix: string, ctx: LoadStateDictContext, consumed: Set<string>): void {
    const holder = { scale: 1, zeroPoint: 0, bias: () => this.qbias };
    const local: StateDict = { ...sd, [`${prefix}scale`]: 1, [`${prefix}zero_point`]: 0 };
    loadQuantizedGemm(holder, local, prefix, ctx, consumed, ['_packed_params.weight', '_packed_params.bias'], (w, b) => this.setWeightBias(w, b));
    consumed.delete(`${prefix}scale`);
    consumed.delete(`${prefix}zero_point`);
  }

  override getName(): string {
    return 'DynamicQuantizedLinear';
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, dtype=torch.qint8, qscheme=${qschemeRepr(this.qweight)}`;
  }
}
