// torch/ao/quantization/fuser_method_mappings.py: which module sequences fuse, and into what.
import { QuantError } from '@quint/tensor';
import { BatchNorm2d, Conv2d, Linear, ReLU, nni, type Module } from '@quint/nn';
import { fuseConvBnEval } from './fusion.js';
import type { ModuleClass } from './quantization-mappings.js';

/** Fuses a sequence of modules into one (`fuser_method(is_qat, *mods)`). */
export type FuserMethod = (isQat: boolean, ...mods: Module[]) => Module;

/** A sequence of module types and the method that fuses them. */
export type FuserMethodEntry = readonly [types: readonly ModuleClass[], fuser: FuserMethod];

function sameMode(what: string, mods: readonly Module[]): void {
  if (!mods.every((m) => m.training === mods[0]!.training)) {
    throw new QuantError(
      'BAD_FUSION',
      `${what}: ${mods.map((m) => m.getName()).join(' and ')} must all be in the same mode (train or eval); got training = ${mods.map((m) => String(m.training)).join(', ')}. Call model.eval() before fusing.`,
    );
  }
}

function checkQatBn(conv: Conv2d | Linear, bn: BatchNorm2d): void {
  const out = conv instanceof Conv2d ? conv.outChannels : conv.outFeatures;
  if (bn.numFeatures !== out) {
    throw new QuantError(
      'BAD_FUSION',
      `fuseConvBn: output channels of ${conv.getName()} (${out}) must match num_features of BatchNorm2d (${bn.numFeatures}).`,
    );
  }
  if (!bn.affine || !bn.trackRunningStats) {
    throw new QuantError(
      'BAD_FUSION',
      'fuseConvBn: only BatchNorm2d with affine and trackRunningStats set to true can be fused for QAT.',
    );
  }
}

/**
 * Conv2d + BatchNorm2d (`fuse_conv_bn`): in eval mode a Conv2d with the BN folded in
 * ({@link fuseConvBnEval}, bit-exact with PyTorch), for QAT (`isQat`) an `nni.ConvBn2d`.
 *
 * @throws `BAD_FUSION` when the two are not in the same mode, or (eval) the BN has no statistics.
 * @example
 * const fused = fuseConvBn(false, model.conv, model.bn); // Conv2d
 * @see https://github.com/pytorch/pytorch/blob/v1.13.1/torch/ao/quantization/fuser_method_mappings.py
 */
export function fuseConvBn(isQat: boolean, conv: Module, bn: Module): Module {
  sameMode('fuseConvBn', [conv, bn]);
  const c = conv as Conv2d;
  const b = bn as BatchNorm2d;
  if (isQat) {
    checkQatBn(c, b);
    return new nni.ConvBn2d(c, b);
  }
  return fuseConvBnEval(c, b);
}

/**
 * Conv2d + BatchNorm2d + ReLU (`fuse_conv_bn_relu`): in eval mode `nni.ConvReLU2d(folded conv, relu)`,
 * for QAT `nni.ConvBnReLU2d`.
 *
 * @throws `BAD_FUSION` when the three are not in the same mode.
 * @example
 * const fused = fuseConvBnReLU(false, model.conv, model.bn, model.relu); // nni.ConvReLU2d
 * @see https://github.com/pytorch/pytorch/blob/v1.13.1/torch/ao/quantization/fuser_method_mappings.py
 */
export function fuseConvBnReLU(isQat: boolean, conv: Module, bn: Module, relu: Module): Module {
  sameMode('fuseConvBnReLU', [conv, bn, relu]);
  const c = conv as Conv2d;
  const b = bn as BatchNorm2d;
  if (isQat) {
    checkQatBn(c, b);
    return new nni.ConvBnReLU2d(c, b, relu as ReLU);
  }
  return new nni.ConvReLU2d(fuseConvBnEval(c, b), relu as ReLU);
}

/**
 * A fuser method that ignores `isQat` and wraps two modules in `Seq` (`sequential_wrapper2`).
 *
 * @example
 * const fuse = sequentialWrapper2(nni.LinearReLU); fuse(false, fc, relu);
 * @see https://github.com/pytorch/pytorch/blob/v1.13.1/torch/ao/quantization/fuser_method_mappings.py
 */
export function sequentialWrapper2(Seq: new (a: never, b: never) => Module): FuserMethod {
  return (_isQat, m1, m2) => new Seq(m1 as never, m2 as never);
}

/**
 * `DEFAULT_OP_LIST_TO_FUSER_METHOD` for the modules `@quint/nn` has: (Conv2d, BatchNorm2d),
 * (Conv2d, BatchNorm2d, ReLU), (Conv2d, ReLU), (Linear, ReLU). Linear + BatchNorm1d waits for nn's
 * BatchNorm1d (its folding is {@link fuseLinearBnWeights}).
 *
 * @example
 * defaultOpListToFuserMethod.map(([types]) => types.map((t) => t.name).join(','));
 * @see https://github.com/pytorch/pytorch/blob/v1.13.1/torch/ao/quantization/fuser_method_mappings.py
 */
export const defaultOpListToFuserMethod: readonly FuserMethodEntry[] = [
  [[Conv2d, BatchNorm2d], fuseConvBn],
  [[Conv2d, BatchNorm2d, ReLU], fuseConvBnReLU as FuserMethod],
  [[Conv2d, ReLU], sequentialWrapper2(nni.ConvReLU2d)],
  [[Linear, ReLU], sequentialWrapper2(nni.LinearReLU)],
];

/**
 * The fuser method for a sequence of module types, matched exactly, or undefined
 * (`get_fuser_method`); `additional` entries take precedence.
 *
 * @example
 * getFuserMethod([Conv2d, ReLU]); // a method making nni.ConvReLU2d
 * @see https://github.com/pytorch/pytorch/blob/v1.13.1/torch/ao/quantization/fuser_method_mappings.py
 */
export function getFuserMethod(
  types: readonly ModuleClass[],
  additional: readonly FuserMethodEntry[] = [],
): FuserMethod | undefined {
  for (const [ts, fuser] of [...additional, ...defaultOpListToFuserMethod]) {
    if (ts.length === types.length && ts.every((t, i) => t === types[i])) return fuser;
  }
  return undefined;
}
