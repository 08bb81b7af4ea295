// torch/ao/nn/quantized/dynamic/modules/linear.py: the dynamic quantized Linear.
import type { Tensor } from '@quint/tensor';
import type { PackedLinear, QTensor } from '@quint/qtensor';
import { defaultDynamicQConfig } from '@quint/observers';
import { LinearReLU as FloatLinearReLU } from '../../intrinsic/fused.js';
import { Linear as FloatLinear } from '../../linear.js';
import { BUILTIN, type Module, type LoadStateDictContext, type StateDict } from '../../module.js';
import {
  WeightedQuantizedModule,
  kernelOptions,
  loadQuantizedGemm,
  qschemeRepr,
  weightedFromFloat,
  type QuantizedModuleOptions,
} from '../utils.js';

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
export class Linear extends WeightedQuantizedModule<PackedLinear> {
  static readonly [BUILTIN] = true;
  readonly inFeatures: number;
  readonly outFeatures: number;

  constructor(inFeatures: number, outFeatures: number, options: DynamicLinearOptions) {
    super(options);
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.initWeightBias([outFeatures, inFeatures], options.bias);
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
    return weightedFromFloat({
      mod,
      owner: 'nnqd.Linear',
      types: [FloatLinear, FloatLinearReLU],
      dynamicQConfig: defaultDynamicQConfig,
      create: (lin: FloatLinear) =>
        new Linear(lin.inFeatures, lin.outFeatures, { ...options, bias: lin.bias !== null }),
    });
  }

  protected override prepack(weight: QTensor, bias: Float32Array | null): PackedLinear {
    return this.backend.prepackLinear(weight, bias);
  }

  forward(x: Tensor): Tensor {
    return this.backend.kernels.linearDynamic(x, this.packedWeight(), {
      ...kernelOptions(this.engine, this.trace),
      reduceRange: true,
    });
  }

  protected override saveToStateDict(out: StateDict, prefix: string): void {
    out[`${prefix}_packed_params.weight`] = this.qweight;
    if (this.qbias !== null) out[`${prefix}_packed_params.bias`] = this.qbias;
  }

  protected override loadFromStateDict(
    sd: StateDict,
    prefix: string,
    ctx: LoadStateDictContext,
    consumed: Set<string>,
  ): void {
    const holder = { scale: 1, zeroPoint: 0, bias: () => this.qbias };
    const local: StateDict = { ...sd, [`${prefix}scale`]: 1, [`${prefix}zero_point`]: 0 };
    loadQuantizedGemm(holder, local, prefix, ctx, consumed, ['_packed_params.weight', '_packed_params.bias'], (w, b) =>
      this.setWeightBias(w, b),
    );
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
