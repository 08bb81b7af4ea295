// torch/nn/utils/fusion.py: folding an eval-mode BatchNorm into the conv or linear layer before it.
import { QuantError, Tensor } from '@quint/tensor';
import { cloneModule, Parameter, type BatchNorm2d, type Conv2d, type Linear } from '@quint/nn';

const f32 = Math.fround;

/** The folded weight and bias of {@link fuseConvBnWeights} and {@link fuseLinearBnWeights}. */
export interface FusedWeights {
  readonly weight: Tensor;
  readonly bias: Tensor;
}

/** BatchNorm statistics and affine parameters; `null` parts default as PyTorch (`γ = 1`, `β = 0`). */
export interface BnParams {
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;
  readonly eps: number;
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
}

/** `torch.rsqrt(rv + eps)` in float32: `f32(1 / f32(sqrt(f32(rv + f32(eps)))))` (spec §4.2). */
function rsqrtVar(runningVar: Float32Array, eps: number): Float32Array {
  const e = f32(eps);
  return Float32Array.from(runningVar, (v) => f32(1 / f32(Math.sqrt(f32(v + e)))));
}

function channelValues(t: Tensor | null, n: number, fill: number, what: string): Float32Array {
  if (t === null) return new Float32Array(n).fill(fill);
  const v = t.toFloat32Array();
  if (v.length !== n) {
    throw new QuantError(
      'SHAPE_MISMATCH',
      `BN folding: ${what} has ${v.length} elements, expected ${n} (one per output channel); fuse a BatchNorm whose numFeatures equals the layer's output channels.`,
    );
  }
  return v;
}

/**
 * Folds BatchNorm statistics into conv weights, as `torch.nn.utils.fusion.fuse_conv_bn_weights`,
 * bit for bit in float32 (spec pytorch-semantics §4.2): with `r = rsqrt(rv + eps)`,
 * `W' = W × (γ·r)` per output channel and `b' = ((b − rm)·r)·γ + β` in exactly that order. A
 * missing conv bias is 0, a missing `γ` 1 and `β` 0. `transpose` folds along dim 1 (ConvTranspose).
 *
 * @throws `SHAPE_MISMATCH` when the BN has a different number of channels than the conv's output.
 * @example
 * const { weight, bias } = fuseConvBnWeights(conv.weight, conv.bias, bn);
 * @see https://github.com/pytorch/pytorch/blob/v1.13.1/torch/nn/utils/fusion.py
 */
export function fuseConvBnWeights(
  convWeight: Tensor,
  convBias: Tensor | null,
  bn: BnParams,
  options: { transpose?: boolean } = {},
): FusedWeights {
  const axis = options.transpose === true ? 1 : 0;
  const shape = convWeight.shape;
  const cout = shape[axis]!;
  const rm = channelValues(bn.runningMean, cout, 0, 'running_mean');
  const r = rsqrtVar(channelValues(bn.runningVar, cout, 1, 'running_var'), bn.eps);
  const gamma = channelValues(bn.weight, cout, 1, 'weight');
  const beta = channelValues(bn.bias, cout, 0, 'bias');
  const b = convBias === null ? new Float32Array(cout) : channelValues(convBias, cout, 0, 'conv bias');
  const factor = Float32Array.from(gamma, (g, c) => f32(g * r[c]!));
  const w = convWeight.toFloat32Array();
  const out = new Float32Array(w.length);
  // Contiguous layout: the channel index of flat element i is floor(i / inner) mod shape[axis].
  const inner = shape.slice(axis + 1).reduce((a, d) => a * d, 1);
  for (let i = 0; i < w.length; i++) out[i] = f32(w[i]! * factor[Math.floor(i / inner) % cout]!);
  const bias = Float32Array.from(b, (bc, c) => f32(f32(f32(f32(bc - rm[c]!) * r[c]!) * gamma[c]!) + beta[c]!));
  return { weight: new Tensor(out, [...shape]), bias: new Tensor(bias, [cout]) };
}

/**
 * Folds BatchNorm1d statistics into linear weights, as `fuse_linear_bn_weights` (spec §4.2):
 * `s = γ·rsqrt(rv + eps)` (γ multiplied first, unlike conv), `W' = W × s[:, None]`,
 * `b' = (b − rm)·s + β`.
 *
 * @throws `SHAPE_MISMATCH` when the BN has a different number of features than the layer's output.
 * @example
 * const { weight, bias } = fuseLinearBnWeights(fc.weight, fc.bias, bnParams);
 * @see https://github.com/pytorch/pytorch/blob/v1.13.1/torch/nn/utils/fusion.py
 */
export function fuseLinearBnWeights(linearWeight: Tensor, linearBias: Tensor | null, bn: BnParams): FusedWeights {
  const [outF, inF] = linearWeight.shape as [number, number];
  const rm = channelValues(bn.runningMean, outF, 0, 'running_mean');
  const r = rsqrtVar(channelValues(bn.runningVar, outF, 1, 'running_var'), bn.eps);
  const gamma = channelValues(bn.weight, outF, 1, 'weight');
  const beta = channelValues(bn.bias, outF, 0, 'bias');
  const b = linearBias === null ? new Float32Array(outF) : channelValues(linearBias, outF, 0, 'linear bias');
  const scale = Float32Array.from(gamma, (g, c) => f32(g * r[c]!));
  const w = linearWeight.toFloat32Array();
  const out = new Float32Array(w.length);
  for (let i = 0; i < w.length; i++) out[i] = f32(w[i]! * scale[Math.floor(i / inF)]!);
  const bias = Float32Array.from(b, (bc, c) => f32(f32(f32(bc - rm[c]!) * scale[c]!) + beta[c]!));
  return { weight: new Tensor(out, [outF, inF]), bias: new Tensor(bias, [outF]) };
}

function bnParams(bn: BatchNorm2d, path: string): BnParams {
  if (bn.runningMean === null || bn.runningVar === null) {
    throw new QuantError(
      'BAD_FUSION',
      `fuseConvBnEval: BatchNorm2d${path} has no running statistics; fuse only a BatchNorm built with trackRunningStats: true.`,
    );
  }
  return { runningMean: bn.runningMean, runningVar: bn.runningVar, eps: bn.eps, weight: bn.weight, bias: bn.bias };
}

/**
 * A copy of `conv` with `bn` folded in (`torch.nn.utils.fusion.fuse_conv_bn_eval`); both must be in
 * eval mode. Weights bit-exact with PyTorch 1.13 ({@link fuseConvBnWeights}).
 *
 * @throws `BAD_FUSION` when either module is in training mode ("Fusion only for eval!") or the BN
 *   has no running statistics.
 * @example
 * const fused = fuseConvBnEval(model.conv, model.bn); // a Conv2d
 * @see https://github.com/pytorch/pytorch/blob/v1.13.1/torch/nn/utils/fusion.py
 */
export function fuseConvBnEval(conv: Conv2d, bn: BatchNorm2d): Conv2d {
  if (conv.training || bn.training) {
    throw new QuantError(
      'BAD_FUSION',
      'fuseConvBnEval: Fusion only for eval! Call model.eval() before fusing, or fuse for QAT (training mode makes nni.ConvBn2d).',
    );
  }
  const { weight, bias } = fuseConvBnWeights(conv.weight, conv.bias, bnParams(bn, ''));
  // The copy takes the folded weight in place of the conv's, which is never copied.
  const fused = cloneModule(conv, new Map([[conv.weight, new Parameter(weight)]]));
  fused.registerParameter('bias', bias);
  return fused;
}

/**
 * A copy of `linear` with BatchNorm1d statistics folded in (`fuse_linear_bn_eval`). `@quint/nn` has
 * no `BatchNorm1d` yet, so this takes the BN's tensors ({@link BnParams}).
 *
 * @throws `BAD_FUSION` when `linear` is in training mode.
 * @example
 * const fused = fuseLinearBnEval(model.fc, { runningMean, runningVar, eps: 1e-5, weight: null, bias: null });
 * @see https://github.com/pytorch/pytorch/blob/v1.13.1/torch/nn/utils/fusion.py
 */
export function fuseLinearBnEval(linear: Linear, bn: BnParams): Linear {
  if (linear.training) {
    throw new QuantError('BAD_FUSION', 'fuseLinearBnEval: Fusion only for eval! Call model.eval() before fusing.');
  }
  const { weight, bias } = fuseLinearBnWeights(linear.weight, linear.bias, bn);
  const fused = cloneModule(linear, new Map([[linear.weight, new Parameter(weight)]]));
  fused.registerParameter('bias', bias);
  return fused;
}
