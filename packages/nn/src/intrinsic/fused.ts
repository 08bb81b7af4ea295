import { QuantError } from '@quint/tensor';
import { ReLU } from '../activation.js';
import { BatchNorm2d } from '../batchnorm.js';
import { Sequential } from '../container.js';
import { Conv2d } from '../conv.js';
import { Linear } from '../linear.js';
import { BUILTIN, type Module } from '../module.js';

// torch.ao.nn.intrinsic: containers (Sequential subclasses) whose children are the modules fused,
// checked by exact type as `type_before_parametrizations(m) == Conv2d` does (subclasses do not match).
function expectTypes(
  fused: string,
  mods: readonly Module[],
  types: readonly (abstract new (...a: never[]) => Module)[],
): void {
  const ok = mods.length === types.length && mods.every((m, i) => m.constructor === types[i]);
  if (!ok) {
    throw new QuantError(
      'BAD_FUSION',
      `${fused}: incorrect types for input modules: got (${mods.map((m) => m.getName()).join(', ')}), expected (${types.map((t) => t.name).join(', ')}); fuse modules of exactly these types, in this order.`,
    );
  }
}

/**
 * Conv2d followed by ReLU (`torch.ao.nn.intrinsic.ConvReLU2d`), what `fuseModules` makes of
 * `[conv, relu]` (and of `[conv, bn, relu]` in eval mode, with the BN folded into the conv).
 *
 * @throws `BAD_FUSION` unless given exactly a `Conv2d` and a `ReLU`.
 * @example
 * const f = new ConvReLU2d(new Conv2d(1, 1, 1), new ReLU());
 * @see https://pytorch.org/docs/stable/generated/torch.ao.nn.intrinsic.ConvReLU2d.html
 */
export class ConvReLU2d extends Sequential {
  static override readonly [BUILTIN] = true;

  constructor(conv: Conv2d, relu: ReLU) {
    expectTypes('ConvReLU2d', [conv, relu], [Conv2d, ReLU]);
    super(conv, relu);
  }
}

/**
 * Conv2d followed by BatchNorm2d (`torch.ao.nn.intrinsic.ConvBn2d`), what training-mode fusion
 * makes for QAT.
 *
 * @throws `BAD_FUSION` unless given exactly a `Conv2d` and a `BatchNorm2d`.
 * @example
 * const f = new ConvBn2d(new Conv2d(1, 4, 3), new BatchNorm2d(4));
 * @see https://pytorch.org/docs/stable/generated/torch.ao.nn.intrinsic.ConvBn2d.html
 */
export class ConvBn2d extends Sequential {
  static override readonly [BUILTIN] = true;

  constructor(conv: Conv2d, bn: BatchNorm2d) {
    expectTypes('ConvBn2d', [conv, bn], [Conv2d, BatchNorm2d]);
    super(conv, bn);
  }
}

/**
 * Conv2d, BatchNorm2d and ReLU (`torch.ao.nn.intrinsic.ConvBnReLU2d`), for QAT fusion.
 *
 * @throws `BAD_FUSION` unless given exactly a `Conv2d`, a `BatchNorm2d` and a `ReLU`.
 * @example
 * const f = new ConvBnReLU2d(new Conv2d(1, 4, 3), new BatchNorm2d(4), new ReLU());
 * @see https://pytorch.org/docs/stable/generated/torch.ao.nn.intrinsic.ConvBnReLU2d.html
 */
export class ConvBnReLU2d extends Sequential {
  static override readonly [BUILTIN] = true;

  constructor(conv: Conv2d, bn: BatchNorm2d, relu: ReLU) {
    expectTypes('ConvBnReLU2d', [conv, bn, relu], [Conv2d, BatchNorm2d, ReLU]);
    super(conv, bn, relu);
  }
}

/**
 * Linear followed by ReLU (`torch.ao.nn.intrinsic.LinearReLU`).
 *
 * @throws `BAD_FUSION` unless given exactly a `Linear` and a `ReLU`.
 * @example
 * const f = new LinearReLU(new Linear(8, 4), new ReLU());
 * @see https://pytorch.org/docs/stable/generated/torch.ao.nn.intrinsic.LinearReLU.html
 */
export class LinearReLU extends Sequential {
  static override readonly [BUILTIN] = true;

  constructor(linear: Linear, relu: ReLU) {
    expectTypes('LinearReLU', [linear, relu], [Linear, ReLU]);
    super(linear, relu);
  }
}
