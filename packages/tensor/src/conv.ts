// F.conv2d with the float32 summation order of the kernel PyTorch 1.13 picks (spec
// pytorch-semantics.md §11.2): ATen's slow_conv2d (im2col + reference sgemm) or oneDNN's direct,
// 1×1 and depthwise kernels. The loops are written over Float32Array with precomputed offsets:
// ResNet-18 on 8 images must run in seconds.
import { defineOp } from './dispatch.js';
import { QuantError } from './errors.js';
import { Tensor } from './tensor.js';

const f32 = Math.fround;

/** oneDNN's input-channel block for direct convolution on AVX2 (the SIMD width in floats). */
const ONEDNN_IC_BLOCK = 8;

/** Options of {@link conv2d}, as `F.conv2d`'s keyword arguments. */
export interface Conv2dOptions {
  /** Default 1. */
  stride?: number | readonly [number, number];
  /** Zero padding on both sides, or `'valid'` (none) / `'same'` (stride 1 only). Default 0. */
  padding?: number | readonly [number, number] | 'valid' | 'same';
  /** Default 1. */
  dilation?: number | readonly [number, number];
  /** Default 1. */
  groups?: number;
}

/** The float32 order a conv call follows, named after the PyTorch kernel that computes it. */
type Conv2dAlgorithm = 'slow_conv2d' | 'onednn_direct' | 'onednn_dw' | 'onednn_gemm';

function pair(v: number | readonly [number, number], what: string): [number, number] {
  const p: [number, number] = typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (!p.every((x) => Number.isInteger(x))) {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `conv2d: ${what} ${JSON.stringify(v)} must be an integer or a pair of integers.`,
    );
  }
  return p;
}

/**
 * ATen 1.13 `use_mkldnn` with one intra-op thread: oneDNN iff
 * `(stride≠1 ∨ dilation≠1 ∨ N≥16 ∨ kernel≠1×1) ∧ (groups>1 ∨ (kH>3 ∧ kW>3) ∨ N>1 ∨ N·C·H·W>20480)`.
 */
function chooseAlgorithm(o: {
  n: number;
  c: number;
  h: number;
  w: number;
  kh: number;
  kw: number;
  stride: [number, number];
  dilation: [number, number];
  groups: number;
  icg: number;
  ocg: number;
}): Conv2dAlgorithm {
  const is1x1 = o.kh === 1 && o.kw === 1;
  const first =
    o.stride[0] !== 1 || o.stride[1] !== 1 || o.dilation[0] !== 1 || o.dilation[1] !== 1 || o.n >= 16 || !is1x1;
  const second = o.groups > 1 || (o.kh > 3 && o.kw > 3) || o.n > 1 || o.n * o.c * o.h * o.w > 20480;
  if (!(first && second)) return 'slow_conv2d';
  if (o.groups > 1 && o.icg === 1 && o.ocg === 1) return 'onednn_dw';
  // oneDNN's blocked direct kernels need whole 8-channel blocks per group; otherwise it runs
  // im2col + its jit sgemm ("gemm:jit" in ONEDNN_VERBOSE).
  if (o.groups > 1 && (o.icg % ONEDNN_IC_BLOCK !== 0 || o.ocg % ONEDNN_IC_BLOCK !== 0)) return 'onednn_gemm';
  return 'onednn_direct';
}

interface Geometry {
  N: number;
  C: number;
  H: number;
  W: number;
  OC: number;
  kH: number;
  kW: number;
  OH: number;
  OW: number;
  sH: number;
  sW: number;
  pH: number;
  pW: number;
  dH: number;
  dW: number;
  groups: number;
  icg: number;
  ocg: number;
}

// slow_conv2d / slow_conv_dilated2d: output starts at the bias (or 0), then reference sgemm('N','N')
// adds f32(w·x) for each (ci, kh, kw) in that order, padded taps included as zeros.
function slowConv(x: Float32Array, w: Float32Array, b: Float32Array | null, g: Geometry, out: Float32Array): void {
  const { N, C, H, W, OC, kH, kW, OH, OW, sH, sW, pH, pW, dH, dW, groups, icg, ocg } = g;
  const ohw = OH * OW;
  const acc = new Float32Array(ohw);
  for (let n = 0; n < N; n++) {
    for (let oc = 0; oc < OC; oc++) {
      const grp = Math.floor(oc / ocg);
      acc.fill(b === null ? 0 : b[oc]!);
      for (let ci = 0; ci < icg; ci++) {
        const xc = (n * C + grp * icg + ci) * H * W;
        for (let kh = 0; kh < kH; kh++) {
          for (let kw = 0; kw < kW; kw++) {
            const wv = w[((oc * icg + ci) * kH + kh) * kW + kw]!;
            for (let oh = 0; oh < OH; oh++) {
              const ih = oh * sH - pH + kh * dH;
              const rowIn = ih >= 0 && ih < H;
              const ao = oh * OW;
              for (let ow = 0; ow < OW; ow++) {
                const iw = ow * sW - pW + kw * dW;
                const xv = rowIn && iw >= 0 && iw < W ? x[xc + ih * W + iw]! : 0;
                acc[ao + ow] = f32(acc[ao + ow]! + f32(wv * xv));
              }
            }
          }
        }
      }
      out.set(acc, (n * OC + oc) * ohw);
    }
  }
  void groups;
}

// oneDNN depthwise (jit_dw): acc = b; for kh, kw: acc = fma(w, x, acc); padded taps skipped.
function depthwiseConv(x: Float32Array, w: Float32Array, b: Float32Array | null, g: Geometry, out: Float32Array): void {
  const { N, C, H, W, kH, kW, OH, OW, sH, sW, pH, pW, dH, dW } = g;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const xc = (n * C + c) * H * W;
      const wc = c * kH * kW;
      const bv = b === null ? 0 : b[c]!;
      const oc0 = (n * C + c) * OH * OW;
      for (let oh = 0; oh < OH; oh++) {
        const ih0 = oh * sH - pH;
        for (let ow = 0; ow < OW; ow++) {
          const iw0 = ow * sW - pW;
          let acc = bv;
          for (let kh = 0; kh < kH; kh++) {
            const ih = ih0 + kh * dH;
            if (ih < 0 || ih >= H) continue;
            const xr = xc + ih * W;
            const wr = wc + kh * kW;
            for (let kw = 0; kw < kW; kw++) {
              const iw = iw0 + kw * dW;
              if (iw < 0 || iw >= W) continue;
              acc = f32(w[wr + kw]! * x[xr + iw]! + acc);
            }
          }
          out[oc0 + oh * OW + ow] = acc;
        }
      }
    }
  }
}

/** NCHW → NHWC copy, so the input-channel loop of the oneDNN orders is contiguous. */
function toNhwc(x: Float32Array, N: number, C: number, H: number, W: number): Float32Array {
  const y = new Float32Array(x.length);
  const hw = H * W;
  for (let n = 0; n < N; n++) {
    const base = n * C * hw;
    for (let c = 0; c < C; c++) {
      const xo = base + c * hw;
      for (let p = 0; p < hw; p++) y[base + p * C + c] = x[xo + p]!;
    }
  }
  return y;
}

// oneDNN jit:avx2 direct convolution (and jit_1x1, whose order is the same for a 1×1 kernel):
// one FMA chain per output starting at the bias, over input-channel blocks of 8, and inside a block
// over (kh, kw, ic); padded taps are skipped. Verified against PyTorch 1.13 on AVX2 (see tests).
function onednnDirectConv(
  x: Float32Array,
  w: Float32Array,
  b: Float32Array | null,
  g: Geometry,
  out: Float32Array,
): void {
  const { N, C, H, W, OC, kH, kW, OH, OW, sH, sW, pH, pW, dH, dW, icg, ocg } = g;
  const xh = toNhwc(x, N, C, H, W);
  // Weights as [oc][icBlock][kh][kw][ic in block] so the innermost loop reads both operands in order.
  const wp = new Float32Array(w.length);
  const nBlocks = Math.ceil(icg / ONEDNN_IC_BLOCK);
  const kk = kH * kW;
  for (let oc = 0; oc < OC; oc++) {
    for (let ic = 0; ic < icg; ic++) {
      const blk = Math.floor(ic / ONEDNN_IC_BLOCK);
      const c0 = blk * ONEDNN_IC_BLOCK;
      const len = Math.min(ONEDNN_IC_BLOCK, icg - c0);
      for (let t = 0; t < kk; t++) wp[oc * kk * icg + c0 * kk + t * len + (ic - c0)] = w[(oc * icg + ic) * kk + t]!;
    }
  }
  const ohw = OH * OW;
  const rowStride = W * C;
  for (let n = 0; n < N; n++) {
    const xn = n * H * rowStride;
    for (let oc = 0; oc < OC; oc++) {
      const cg = Math.floor(oc / ocg) * icg;
      const wo = oc * kk * icg;
      const bv = b === null ? 0 : b[oc]!;
      const outBase = (n * OC + oc) * ohw;
      // A second output channel of the same group shares every input load (its chains are separate).
      const pairOc = oc + 1 < OC && Math.floor((oc + 1) / ocg) === Math.floor(oc / ocg);
      const wo2 = wo + kk * icg;
      const bv2 = pairOc && b !== null ? b[oc + 1]! : 0;
      const outBase2 = outBase + ohw;
      for (let oh = 0; oh < OH; oh++) {
        const ih0 = oh * sH - pH;
        let khLo = 0;
        while (khLo < kH && ih0 + khLo * dH < 0) khLo++;
        let khHi = kH;
        while (khHi > khLo && ih0 + (khHi - 1) * dH >= H) khHi--;
        const owStep = sW * C;
        for (let ow = 0; ow < OW;) {
          const iw0 = ow * sW - pW;
          // Four interior outputs at once: four independent FMA chains sharing each weight load
          // (the order inside every chain is unchanged).
          if (pairOc && iw0 >= 0 && ow + 3 < OW && iw0 + 3 * sW + (kW - 1) * dW < W) {
            let a0 = bv;
            let a1 = bv;
            let a2 = bv;
            let a3 = bv;
            let e0 = bv2;
            let e1 = bv2;
            let e2 = bv2;
            let e3 = bv2;
            for (let blk = 0; blk < nBlocks; blk++) {
              const c0 = blk * ONEDNN_IC_BLOCK;
              const len = Math.min(ONEDNN_IC_BLOCK, icg - c0);
              const wBlk = wo + c0 * kk;
              const wBlk2 = wo2 + c0 * kk;
              const xBlk = xn + cg + c0;
              for (let kh = khLo; kh < khHi; kh++) {
                const xr = xBlk + (ih0 + kh * dH) * rowStride;
                const wr = wBlk + kh * kW * len;
                const wr2 = wBlk2 + kh * kW * len;
                for (let kw = 0; kw < kW; kw++) {
                  const xb = xr + (iw0 + kw * dW) * C;
                  const wb = wr + kw * len;
                  const wb2 = wr2 + kw * len;
                  for (let i = 0; i < len; i++) {
                    const wv = wp[wb + i]!;
                    const wv2 = wp[wb2 + i]!;
                    const x0 = xh[xb + i]!;
                    const x1 = xh[xb + owStep + i]!;
                    const x2 = xh[xb + 2 * owStep + i]!;
                    const x3 = xh[xb + 3 * owStep + i]!;
                    a0 = f32(wv * x0 + a0);
                    a1 = f32(wv * x1 + a1);
                    a2 = f32(wv * x2 + a2);
                    a3 = f32(wv * x3 + a3);
                    e0 = f32(wv2 * x0 + e0);
                    e1 = f32(wv2 * x1 + e1);
                    e2 = f32(wv2 * x2 + e2);
                    e3 = f32(wv2 * x3 + e3);
                  }
                }
              }
            }
            const o = outBase + oh * OW + ow;
            out[o] = a0;
            out[o + 1] = a1;
            out[o + 2] = a2;
            out[o + 3] = a3;
            const o2 = outBase2 + oh * OW + ow;
            out[o2] = e0;
            out[o2 + 1] = e1;
            out[o2 + 2] = e2;
            out[o2 + 3] = e3;
            ow += 4;
            continue;
          }
          if (iw0 >= 0 && ow + 3 < OW && iw0 + 3 * sW + (kW - 1) * dW < W) {
            let a0 = bv;
            let a1 = bv;
            let a2 = bv;
            let a3 = bv;
            for (let blk = 0; blk < nBlocks; blk++) {
              const c0 = blk * ONEDNN_IC_BLOCK;
              const len = Math.min(ONEDNN_IC_BLOCK, icg - c0);
              const wBlk = wo + c0 * kk;
              const xBlk = xn + cg + c0;
              for (let kh = khLo; kh < khHi; kh++) {
                const xr = xBlk + (ih0 + kh * dH) * rowStride;
                const wr = wBlk + kh * kW * len;
                for (let kw = 0; kw < kW; kw++) {
                  const xb = xr + (iw0 + kw * dW) * C;
                  const wb = wr + kw * len;
                  for (let i = 0; i < len; i++) {
                    const wv = wp[wb + i]!;
                    a0 = f32(wv * xh[xb + i]! + a0);
                    a1 = f32(wv * xh[xb + owStep + i]! + a1);
                    a2 = f32(wv * xh[xb + 2 * owStep + i]! + a2);
                    a3 = f32(wv * xh[xb + 3 * owStep + i]! + a3);
                  }
                }
              }
            }
            const o = outBase + oh * OW + ow;
            out[o] = a0;
            out[o + 1] = a1;
            out[o + 2] = a2;
            out[o + 3] = a3;
            ow += 4;
            continue;
          }
          let kwLo = 0;
          while (kwLo < kW && iw0 + kwLo * dW < 0) kwLo++;
          let kwHi = kW;
          while (kwHi > kwLo && iw0 + (kwHi - 1) * dW >= W) kwHi--;
          let acc = bv;
          let acc2 = bv2;
          for (let blk = 0; blk < nBlocks; blk++) {
            const c0 = blk * ONEDNN_IC_BLOCK;
            const len = Math.min(ONEDNN_IC_BLOCK, icg - c0);
            const wBlk = wo + c0 * kk;
            const xBlk = xn + cg + c0;
            for (let kh = khLo; kh < khHi; kh++) {
              const xr = xBlk + (ih0 + kh * dH) * rowStride;
              const wr = wBlk + kh * kW * len;
              for (let kw = kwLo; kw < kwHi; kw++) {
                const xb = xr + (iw0 + kw * dW) * C;
                const wb = wr + kw * len;
                for (let i = 0; i < len; i++) acc = f32(wp[wb + i]! * xh[xb + i]! + acc);
                if (pairOc) {
                  const wb2 = wb + kk * icg;
                  for (let i = 0; i < len; i++) acc2 = f32(wp[wb2 + i]! * xh[xb + i]! + acc2);
                }
              }
            }
          }
          out[outBase + oh * OW + ow] = acc;
          if (pairOc) out[outBase2 + oh * OW + ow] = acc2;
          ow++;
        }
      }
      if (pairOc) oc++;
    }
  }
}

// oneDNN gemm:jit (im2col + jit sgemm), used for grouped convs without whole 8-channel blocks:
// acc = 0, one FMA chain over K = (ic, kh, kw) in im2col order, then the bias in a separate add.
function onednnGemmConv(
  x: Float32Array,
  w: Float32Array,
  b: Float32Array | null,
  g: Geometry,
  out: Float32Array,
): void {
  const { N, C, H, W, OC, kH, kW, OH, OW, sH, sW, pH, pW, dH, dW, icg, ocg } = g;
  const ohw = OH * OW;
  for (let n = 0; n < N; n++) {
    for (let oc = 0; oc < OC; oc++) {
      const grp = Math.floor(oc / ocg);
      const bv = b === null ? null : b[oc]!;
      const outBase = (n * OC + oc) * ohw;
      for (let oh = 0; oh < OH; oh++) {
        for (let ow = 0; ow < OW; ow++) {
          let acc = 0;
          for (let ci = 0; ci < icg; ci++) {
            const xc = (n * C + grp * icg + ci) * H * W;
            const wc = (oc * icg + ci) * kH * kW;
            for (let kh = 0; kh < kH; kh++) {
              const ih = oh * sH - pH + kh * dH;
              if (ih < 0 || ih >= H) continue;
              for (let kw = 0; kw < kW; kw++) {
                const iw = ow * sW - pW + kw * dW;
                if (iw < 0 || iw >= W) continue;
                acc = f32(w[wc + kh * kW + kw]! * x[xc + ih * W + iw]! + acc);
              }
            }
          }
          out[outBase + oh * OW + ow] = bv === null ? acc : f32(acc + bv);
        }
      }
    }
  }
}

function conv2dImpl(input: Tensor, weight: Tensor, bias?: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  if (input.ndim !== 4) {
    throw new QuantError(
      'SHAPE_MISMATCH',
      `conv2d: input must be 4-D NCHW, got shape [${input.shape.join(', ')}]; add a batch dim with reshape.`,
    );
  }
  if (weight.ndim !== 4) {
    throw new QuantError(
      'SHAPE_MISMATCH',
      `conv2d: weight must be 4-D [out, in/groups, kH, kW], got [${weight.shape.join(', ')}].`,
    );
  }
  const [N, C, H, W] = input.shape as [number, number, number, number];
  const [OC, icg, kH, kW] = weight.shape as [number, number, number, number];
  const groups = opts.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1 || C % groups !== 0 || OC % groups !== 0) {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `conv2d: groups = ${groups} must be a positive integer dividing in channels ${C} and out channels ${OC}.`,
    );
  }
  if (icg * groups !== C) {
    throw new QuantError(
      'SHAPE_MISMATCH',
      `conv2d: input has ${C} channels, weight [${weight.shape.join(', ')}] with groups ${groups} expects ${icg * groups}; pass a matching input.`,
    );
  }
  if (bias != null && (bias.ndim !== 1 || bias.shape[0] !== OC)) {
    throw new QuantError('SHAPE_MISMATCH', `conv2d: bias [${bias.shape.join(', ')}] must be [${OC}].`);
  }
  const stride = pair(opts.stride ?? 1, 'stride');
  const dilation = pair(opts.dilation ?? 1, 'dilation');
  if (stride.some((s) => s < 1) || dilation.some((d) => d < 1)) {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `conv2d: stride [${stride.join(', ')}] and dilation [${dilation.join(', ')}] must be >= 1.`,
    );
  }
  let x = input.contiguous();
  let Hp = H;
  let Wp = W;
  let pad: [number, number];
  const padOpt = opts.padding ?? 0;
  if (padOpt === 'valid') pad = [0, 0];
  else if (padOpt === 'same') {
    if (stride[0] !== 1 || stride[1] !== 1) {
      throw new QuantError(
        'INVALID_ARGUMENT',
        `conv2d: padding 'same' needs stride 1, got [${stride.join(', ')}]; pass explicit padding.`,
      );
    }
    const tH = dilation[0] * (kH - 1);
    const tW = dilation[1] * (kW - 1);
    pad = [tH >> 1, tW >> 1];
    if (tH % 2 !== 0 || tW % 2 !== 0) {
      // PyTorch pads the odd extra row/column on the bottom/right first (F.pad), then pads
      // symmetrically by the lower half.
      Hp = H + (tH % 2);
      Wp = W + (tW % 2);
      const padded = new Float32Array(N * C * Hp * Wp);
      for (let nc = 0; nc < N * C; nc++) {
        for (let h = 0; h < H; h++)
          padded.set(x.data.subarray((nc * H + h) * W, (nc * H + h + 1) * W), (nc * Hp + h) * Wp);
      }
      x = new Tensor(padded, [N, C, Hp, Wp]);
    }
  } else pad = pair(padOpt, 'padding');
  if (pad.some((p) => p < 0)) {
    throw new QuantError('INVALID_ARGUMENT', `conv2d: padding [${pad.join(', ')}] must be >= 0.`);
  }
  const OH = Math.floor((Hp + 2 * pad[0] - dilation[0] * (kH - 1) - 1) / stride[0]) + 1;
  const OW = Math.floor((Wp + 2 * pad[1] - dilation[1] * (kW - 1) - 1) / stride[1]) + 1;
  if (OH < 1 || OW < 1) {
    throw new QuantError(
      'SHAPE_MISMATCH',
      `conv2d: kernel ${kH}×${kW} (dilation [${dilation.join(', ')}]) is larger than the padded input ${Hp + 2 * pad[0]}×${Wp + 2 * pad[1]}; pad the input or use a smaller kernel.`,
    );
  }
  const g: Geometry = {
    N,
    C,
    H: Hp,
    W: Wp,
    OC,
    kH,
    kW,
    OH,
    OW,
    sH: stride[0],
    sW: stride[1],
    pH: pad[0],
    pW: pad[1],
    dH: dilation[0],
    dW: dilation[1],
    groups,
    icg,
    ocg: OC / groups,
  };
  const algo = chooseAlgorithm({
    n: N,
    c: C,
    h: Hp,
    w: Wp,
    kh: kH,
    kw: kW,
    stride,
    dilation,
    groups,
    icg,
    ocg: OC / groups,
  });
  const w = weight.contiguous().data;
  const b = bias == null ? null : bias.contiguous().data;
  const out = new Float32Array(N * OC * OH * OW);
  if (algo === 'slow_conv2d') slowConv(x.data, w, b, g, out);
  else if (algo === 'onednn_dw') depthwiseConv(x.data, w, b, g, out);
  else if (algo === 'onednn_gemm') onednnGemmConv(x.data, w, b, g, out);
  else onednnDirectConv(x.data, w, b, g, out);
  return new Tensor(out, [N, OC, OH, OW]);
}

/**
 * `F.conv2d` on NCHW float32 input with weight `[out, in/groups, kH, kW]`. The float32 summation
 * order is the one of the kernel PyTorch 1.13 selects for the same call (one intra-op thread):
 * ATen `slow_conv2d`, or oneDNN direct / 1×1 / depthwise (spec §11.2), so outputs match PyTorch's
 * bit for bit where that kernel's order is reproduced (see the package tests for which).
 *
 * @throws QuantError `SHAPE_MISMATCH` for inconsistent shapes; `INVALID_ARGUMENT` for bad
 *   stride/padding/dilation/groups.
 * @example
 * const y = conv2d(randn([1, 3, 8, 8]), randn([4, 3, 3, 3]), null, { padding: 1 }); // [1, 4, 8, 8]
 * @see https://pytorch.org/docs/1.13/generated/torch.nn.functional.conv2d.html
 */
export const conv2d = defineOp('conv2d', conv2dImpl);
