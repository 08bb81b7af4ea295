import { Generator, linear, QuantError, type Tensor } from '@quint/tensor';
import { uniformTensor } from './internal/init.js';
import { pyBool } from './internal/repr.js';
import { floatModuleGotQTensor } from './internal/quantized-dispatch.js';
import { isQTensor } from './quantized/utils.js';
import { BUILTIN, Module, Parameter } from './module.js';

/** Options of {@link Linear}. */
export interface LinearOptions {
  /** Learn an additive bias (default true). */
  readonly bias?: boolean;
  /** The generator for the initial weights (default `new Generator(0)`). */
  readonly generator?: Generator;
}

/**
 * `y = x·Wᵀ + b` over the last dimension (`torch.nn.Linear`), computed by `linear` of
 * `@quint/tensor` in PyTorch 1.13's float32 order. Initial weights and bias are
 * `U(−1/√inFeatures, 1/√inFeatures)` (PyTorch's bounds) from a seeded generator.
 *
 * @throws `INVALID_ARGUMENT` for non-positive sizes.
 * @example
 * const fc = new Linear(8, 4);
 * fc.call(randn([2, 8])).shape; // [2, 4]
 * @see https://pytorch.org/docs/stable/generated/torch.nn.Linear.html
 */
export class Linear extends Module {
  static readonly [BUILTIN] = true;
  readonly inFeatures: number;
  readonly outFeatures: number;
  weight: Parameter;
  declare bias: Parameter | null;

  constructor(inFeatures: number, outFeatures: number, options: LinearOptions = {}) {
    super();
    if (!(Number.isInteger(inFeatures) && inFeatures > 0 && Number.isInteger(outFeatures) && outFeatures > 0)) {
      throw new QuantError(
        'INVALID_ARGUMENT',
        `Linear: sizes (${inFeatures}, ${outFeatures}) must be positive integers.`,
      );
    }
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    const g = options.generator ?? new Generator(0);
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = new Parameter(uniformTensor([outFeatures, inFeatures], bound, g));
    this.registerParameter('bias', options.bias === false ? null : uniformTensor([outFeatures], bound, g));
  }

  forward(x: Tensor): Tensor {
    if (isQTensor(x)) throw floatModuleGotQTensor(this);
    return linear(x, this.weight, this.bias);
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${pyBool(this.bias !== null)}`;
  }
}

/**
 * Returns its input (`torch.nn.Identity`); also what fusion leaves in place of folded modules.
 *
 * @example
 * new Identity().call(x) === x; // true
 * @see https://pytorch.org/docs/stable/generated/torch.nn.Identity.html
 */
export class Identity extends Module {
  static readonly [BUILTIN] = true;

  // `any`: passes Tensors and QTensors alike.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  forward(x: any): any {
    return x;
  }
}
