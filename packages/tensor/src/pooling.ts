// 2-D pooling (F.max_pool2d, F.avg_pool2d, F.adaptive_avg_pool2d) on NCHW float32, in PyTorch 1.13's
// float32 order (spec pytorch-semantics.md §12.B B2, B3; 1×1 adaptive output is `mean`, §11.2).
import { defineOp } from './dispatch.js';
import { QuantError } from './errors.js';
import { mean } from './functional.js';
import { Tensor } from './tensor.js';

const f32 = Math.fround;

type IntPair = number | readonly [number, number];

function pair(v: IntPair, op: string, what: string): [number, number] {
  const p: [number, number] = typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (!p.every((x) => Number.isInteger(x))) {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `${op}: ${what} ${JSON.stringify(v)} must be an integer or a pair of integers.`,
    );
  }
  return p;
}

function check4d(x: Tensor, op: string): [number, number, number, number] {
  if (x.ndim !== 4) {
    throw new QuantError(
      'SHAPE_MISMATCH',
      `${op}: input must be 4-D NCHW, got shape [${x.shape.join(', ')}]; add a batch dim with reshape.`,
    );
  }
  return x.shape as [number, number, number, number];
}

/** ATen `pooling_output_shape`: floor or ceil, and a last window must start inside input + left pad. */
function poolOutSize(
  op: string,
  size: number,
  k: number,
  pad: number,
  stride: number,
  dilation: number,
  ceilMode: boolean,
): number {
  if (k < 1 || stride < 1 || dilation < 1) {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `${op}: kernel ${k}, stride ${stride} and dilation ${dilation} must be >= 1.`,
    );
  }
  if (pad < 0 || pad > k / 2) {
    throw new QuantError('INVALID_ARGUMENT', `${op}: padding ${pad} must be between 0 and half the kernel size ${k}.`);
  }
  const num = size + 2 * pad - dilation * (k - 1) - 1 + (ceilMode ? stride - 1 : 0);
  let out = Math.floor(num / stride) + 1;
  if (ceilMode && (out - 1) * stride >= size + pad) out--;
  if (out < 1) {
    throw new QuantError(
      'SHAPE_MISMATCH',
      `${op}: input size ${size} is too small for kernel ${k} (padding ${pad}, dilation ${dilation}); output would be ${out}.`,
    );
  }
  return out;
}

/** Options of {@link maxPool2d}, as `F.max_pool2d`'s arguments. */
export interface MaxPool2dOptions {
  kernelSize: IntPair;
  /** Default: `kernelSize`. */
  stride?: IntPair | null;
  /** Default 0 (implicit −∞ padding). */
  padding?: IntPair;
  /** Default 1. */
  dilation?: IntPair;
  /** Default false. */
  ceilMode?: boolean;
}

function maxPool2dImpl(x: Tensor, opts: MaxPool2dOptions): Tensor {
  const op = 'maxPool2d';
  const [N, C, H, W] = check4d(x, op);
  const [kH, kW] = pair(opts.kernelSize, op, 'kernelSize');
  const [sH, sW] = pair(opts.stride ?? opts.kernelSize, op, 'stride');
  const [pH, pW] = pair(opts.padding ?? 0, op, 'padding');
  const [dH, dW] = pair(opts.dilation ?? 1, op, 'dilation');
  const ceil = opts.ceilMode ?? false;
  const OH = poolOutSize(op, H, kH, pH, sH, dH, ceil);
  const OW = poolOutSize(op, W, kW, pW, sW, dW, ceil);
  const src = x.contiguous().data;
  const out = new Float32Array(N * C * OH * OW);
  for (let nc = 0; nc < N * C; nc++) {
    const xo = nc * H * W;
    const oo = nc * OH * OW;
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        let m = -Infinity;
        for (let kh = 0; kh < kH; kh++) {
          const ih = oh * sH - pH + kh * dH;
          if (ih < 0 || ih >= H) continue;
          for (let kw = 0; kw < kW; kw++) {
            const iw = ow * sW - pW + kw * dW;
            if (iw < 0 || iw >= W) continue;
            const v = src[xo + ih * W + iw]!;
            // ATen: a NaN wins and stays (`val > max || isnan(val)`).
            if (v > m || Number.isNaN(v)) m = v;
          }
        }
        out[oo + oh * OW + ow] = m;
      }
    }
  }
  return new Tensor(out, [N, C, OH, OW]);
}

/**
 * `F.max_pool2d` on NCHW: the maximum over each (dilated) window; padding never wins; NaN propagates.
 *
 * @throws QuantError `SHAPE_MISMATCH` for non-4-D input or a window larger than the input;
 *   `INVALID_ARGUMENT` for padding above half the kernel.
 * @example maxPool2d(x, { kernelSize: 3, stride: 2, padding: 1 })
 * @see https://pytorch.org/docs/1.13/generated/torch.nn.functional.max_pool2d.html
 */
export const maxPool2d = defineOp('maxPool2d', maxPool2dImpl);

/** Options of {@link avgPool2d}, as `F.avg_pool2d`'s arguments. */
export interface AvgPool2dOptions {
  kernelSize: IntPair;
  /** Default: `kernelSize`. */
  stride?: IntPair | null;
  /** Default 0 (zero padding). */
  padding?: IntPair;
  /** Default false. */
  ceilMode?: boolean;
  /** Default true: padded positions count in the divisor. */
  countIncludePad?: boolean;
  /** When set, the divisor of every window. */
  divisorOverride?: number | null;
}

function avgPool2dImpl(x: Tensor, opts: AvgPool2dOptions): Tensor {
  const op = 'avgPool2d';
  const [N, C, H, W] = check4d(x, op);
  const [kH, kW] = pair(opts.kernelSize, op, 'kernelSize');
  const [sH, sW] = pair(opts.stride ?? opts.kernelSize, op, 'stride');
  const [pH, pW] = pair(opts.padding ?? 0, op, 'padding');
  const ceil = opts.ceilMode ?? false;
  const cip = opts.countIncludePad ?? true;
  const dov = opts.divisorOverride ?? null;
  if (dov !== null && (!Number.isInteger(dov) || dov === 0)) {
    throw new QuantError('INVALID_ARGUMENT', `${op}: divisorOverride ${dov} must be a non-zero integer or null.`);
  }
  const OH = poolOutSize(op, H, kH, pH, sH, 1, ceil);
  const OW = poolOutSize(op, W, kW, pW, sW, 1, ceil);
  const src = x.contiguous().data;
  const out = new Float32Array(N * C * OH * OW);
  for (let nc = 0; nc < N * C; nc++) {
    const xo = nc * H * W;
    const oo = nc * OH * OW;
    for (let oh = 0; oh < OH; oh++) {
      // §12.B B2: the window with padding decides pool_size, then it is clipped to the input.
      let h0 = oh * sH - pH;
      let h1 = Math.min(h0 + kH, H + pH);
      const ph = h1 - h0;
      h0 = Math.max(h0, 0);
      h1 = Math.min(h1, H);
      for (let ow = 0; ow < OW; ow++) {
        let w0 = ow * sW - pW;
        let w1 = Math.min(w0 + kW, W + pW);
        const poolSize = ph * (w1 - w0);
        w0 = Math.max(w0, 0);
        w1 = Math.min(w1, W);
        let sum = 0;
        for (let ih = h0; ih < h1; ih++) for (let iw = w0; iw < w1; iw++) sum = f32(sum + src[xo + ih * W + iw]!);
        const div = dov ?? (cip ? poolSize : (h1 - h0) * (w1 - w0));
        out[oo + oh * OW + ow] = f32(sum / div);
      }
    }
  }
  return new Tensor(out, [N, C, OH, OW]);
}

/**
 * `F.avg_pool2d` on NCHW: a sequential float32 window sum in row-major order, divided once by
 * `divisorOverride`, the padded window size (`countIncludePad`) or the valid count (bit-exact).
 *
 * @throws QuantError `SHAPE_MISMATCH` for non-4-D input; `INVALID_ARGUMENT` for bad sizes.
 * @example avgPool2d(x, { kernelSize: 3, stride: 1, padding: 1, countIncludePad: false })
 * @see https://pytorch.org/docs/1.13/generated/torch.nn.functional.avg_pool2d.html
 */
export const avgPool2d = defineOp('avgPool2d', avgPool2dImpl);

function adaptiveAvgPool2dImpl(x: Tensor, outputSize: number | readonly [number | null, number | null]): Tensor {
  const op = 'adaptiveAvgPool2d';
  const [N, C, H, W] = check4d(x, op);
  const [oHr, oWr] = typeof outputSize === 'number' ? [outputSize, outputSize] : outputSize;
  const OH = oHr ?? H;
  const OW = oWr ?? W;
  if (!Number.isInteger(OH) || !Number.isInteger(OW) || OH < 1 || OW < 1) {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `${op}: outputSize ${JSON.stringify(outputSize)} must be positive integers (or null to keep a dim).`,
    );
  }
  // PyTorch 1.13 computes a 1×1 output as x.mean([-1, -2], keepdim=True) (the cascade sum).
  if (OH === 1 && OW === 1) return mean(x, [-1, -2], true);
  const src = x.contiguous().data;
  const out = new Float32Array(N * C * OH * OW);
  for (let nc = 0; nc < N * C; nc++) {
    const xo = nc * H * W;
    const oo = nc * OH * OW;
    for (let oh = 0; oh < OH; oh++) {
      const h0 = Math.floor((oh * H) / OH);
      const h1 = Math.ceil(((oh + 1) * H) / OH);
      for (let ow = 0; ow < OW; ow++) {
        const w0 = Math.floor((ow * W) / OW);
        const w1 = Math.ceil(((ow + 1) * W) / OW);
        let sum = 0;
        for (let ih = h0; ih < h1; ih++) for (let iw = w0; iw < w1; iw++) sum = f32(sum + src[xo + ih * W + iw]!);
        // §12.B B3: two float32 divisions, by the window height then its width.
        out[oo + oh * OW + ow] = f32(f32(sum / (h1 - h0)) / (w1 - w0));
      }
    }
  }
  return new Tensor(out, [N, C, OH, OW]);
}

/**
 * `F.adaptive_avg_pool2d` on NCHW: windows `[⌊o·In/Out⌋, ⌈(o+1)·In/Out⌉)`, a sequential float32
 * sum, then `f32(f32(sum / kh) / kw)`; a 1×1 output is `mean` over H, W (bit-exact).
 *
 * @throws QuantError `SHAPE_MISMATCH` for non-4-D input; `INVALID_ARGUMENT` for a bad size.
 * @example adaptiveAvgPool2d(x, 1).shape // [N, C, 1, 1]
 * @see https://pytorch.org/docs/1.13/generated/torch.nn.functional.adaptive_avg_pool2d.html
 */
export const adaptiveAvgPool2d = defineOp('adaptiveAvgPool2d', adaptiveAvgPool2dImpl);
