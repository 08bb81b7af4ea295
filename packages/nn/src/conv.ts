import { conv2d, Generator, QuantError, type Tensor } from '@quint/tensor';
import { uniformTensor } from './internal/init.js';
import { pyTuple } from './internal/repr.js';
import { floatModuleGotQTensor } from './internal/quantized-dispatch.js';
import { isQTensor } from './quantized/utils.js';
import { BUILTIN, Module, Parameter } from './module.js';

/** A size given as one int or an (H, W) pair. */
export type IntPair = number | readonly [number, number];

/** Options of {@link Conv2d}, as `torch.nn.Conv2d`'s keyword arguments. */
export interface Conv2dOptions {
  /** Default 1. */
  readonly stride?: IntPair;
  /** Zero padding, or `'valid'` / `'same'`. Default 0. */
  readonly padding?: IntPair | 'valid' | 'same';
  /** Default 1. */
  readonly dilation?: IntPair;
  /** Default 1. */
  readonly groups?: number;
  /** Learn an additive bias (default true). */
  readonly bias?: boolean;
  /** Only `'zeros'` is supported (PyTorch's default). */
  readonly paddingMode?: 'zeros';
  /** The generator for the initial weights (default `new Generator(0)`). */
  readonly generator?: Generator;
}

/** `_pair`: an int becomes `(v, v)`. */
export function pair(v: IntPair): [number, number] {
  return typeof v === 'number' ? [v, v] : [v[0], v[1]];
}

function checkPair(v: IntPair, what: string, min: number): [number, number] {
  const p = pair(v);
  if (!p.every((x) => Number.isInteger(x) && x >= min)) {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `Conv2d: ${what} ${JSON.stringify(v)} must be an integer >= ${min} or a pair of them.`,
    );
  }
  return p;
}

/**
 * 2-D convolution over NCHW input (`torch.nn.Conv2d`), computed by `conv2d` of `@quint/tensor`
 * in the float32 order of the kernel PyTorch 1.13 picks. Weight `[out, in/groups, kH, kW]`; initial
 * weights and bias `U(−1/√fanIn, 1/√fanIn)` with `fanIn = in/groups·kH·kW` (PyTorch's bounds) from
 * a seeded generator.
 *
 * @throws `INVALID_ARGUMENT` for sizes that are not positive integers, or channels not divisible by
 *   `groups`.
 * @example
 * const conv = new Conv2d(1, 8, 3, { padding: 1 });
 * String(conv); // 'Conv2d(1, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))'
 * @see https://pytorch.org/docs/stable/generated/torch.nn.Conv2d.html
 */
export class Conv2d extends Module {
  static readonly [BUILTIN] = true;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number] | 'valid' | 'same';
  readonly dilation: [number, number];
  readonly groups: number;
  readonly paddingMode: 'zeros';
  weight: Parameter;
  declare bias: Parameter | null;

  constructor(inChannels: number, outChannels: number, kernelSize: IntPair, options: Conv2dOptions = {}) {
    super();
    const groups = options.groups ?? 1;
    for (const [what, v] of [
      ['inChannels', inChannels],
      ['outChannels', outChannels],
      ['groups', groups],
    ] as const) {
      if (!(Number.isInteger(v) && v > 0))
        throw new QuantError('INVALID_ARGUMENT', `Conv2d: ${what} ${v} must be a positive integer.`);
    }
    if (inChannels % groups !== 0 || outChannels % groups !== 0) {
      throw new QuantError(
        'INVALID_ARGUMENT',
        `Conv2d: inChannels ${inChannels} and outChannels ${outChannels} must both be divisible by groups ${groups}.`,
      );
    }
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = checkPair(kernelSize, 'kernelSize', 1);
    this.stride = checkPair(options.stride ?? 1, 'stride', 1);
    const padding = options.padding ?? 0;
    this.padding = typeof padding === 'string' ? padding : checkPair(padding, 'padding', 0);
    this.dilation = checkPair(options.dilation ?? 1, 'dilation', 1);
    this.groups = groups;
    this.paddingMode = options.paddingMode ?? 'zeros';
    const g = options.generator ?? new Generator(0);
    const fanIn = (inChannels / groups) * this.kernelSize[0] * this.kernelSize[1];
    const bound = 1 / Math.sqrt(fanIn);
    this.weight = new Parameter(uniformTensor([outChannels, inChannels / groups, ...this.kernelSize], bound, g));
    this.registerParameter('bias', options.bias === false ? null : uniformTensor([outChannels], bound, g));
  }

  forward(x: Tensor): Tensor {
    if (isQTensor(x)) throw floatModuleGotQTensor(this);
    return conv2d(x, this.weight, this.bias, {
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      groups: this.groups,
    });
  }

  override extraRepr(): string {
    return convExtraRepr(this, '');
  }
}

/** The shared part of `_ConvNd.extra_repr` (float and quantized), with `middle` after the stride. */
export function convExtraRepr(
  c: {
    inChannels: number;
    outChannels: number;
    kernelSize: readonly number[];
    stride: readonly number[];
    padding: readonly number[] | string;
    dilation: readonly number[];
    groups: number;
  },
  middle: string,
  hasBias = (c as { bias?: unknown }).bias !== null,
): string {
  let s = `${c.inChannels}, ${c.outChannels}, kernel_size=${pyTuple(c.kernelSize)}, stride=${pyTuple(c.stride)}${middle}`;
  if (typeof c.padding === 'string') s += `, padding=${c.padding}`;
  else if (c.padding.some((p) => p !== 0)) s += `, padding=${pyTuple(c.padding)}`;
  if (c.dilation.some((d) => d !== 1)) s += `, dilation=${pyTuple(c.dilation)}`;
  if (c.groups !== 1) s += `, groups=${c.groups}`;
  if (!hasBias) s += ', bias=False';
  return s;
}
