// quantized::conv2d / conv2d_relu: NCHW in, NCHW out, exact int32 accumulation, then the engine's
// requantization (spec pytorch-semantics.md §5.2; onnx-ort-and-peers.md §1.3 for ort).
import { QuantError } from '@quint/tensor';
import { QTensor, type KernelOptions, type OpName, type OutQparams } from '@quint/qtensor';
import {
  callRequantization,
  checkActivation,
  checkOutQparams,
  gemmRecord,
  requantizeOutputCode,
  requantizePreRound,
  resolveEngine,
  traceTargets,
  type EngineContext,
} from './gemm-common.js';
import type { JsPackedConv2d } from './prepack.js';

/** Output size of one spatial dim, as PyTorch's `conv_output_size`. */
function outSize(inSize: number, k: number, stride: number, pad: number, dil: number): number {
  return Math.floor((inSize + 2 * pad - dil * (k - 1) - 1) / stride) + 1;
}

/**
 * Runs a quantized conv2d: for each output element
 * `acc = Σ_{ic, kh, kw} (x_q − x_zp)·(w_q − w_zp[oc])` in int32, where padding contributes 0 (PyTorch pads
 * with the input zero point), then requantizes per the call's engine.
 */
export function conv2d(
  ctx: EngineContext,
  x: QTensor,
  w: JsPackedConv2d,
  out: OutQparams,
  opts: KernelOptions | undefined,
  relu: boolean,
): QTensor {
  const op: OpName = relu ? 'conv2dRelu' : 'conv2d';
  const engine = resolveEngine(op, opts, ctx);
  const xq = checkActivation(op, x, 4);
  const o = checkOutQparams(op, out);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [OC, ICG, KH, KW] = w.kernelShape;
  const G = w.groups;
  if (C !== ICG * G) {
    throw new QuantError(
      'SHAPE_MISMATCH',
      `${op}: input has ${C} channels, the weight [${w.kernelShape.join(', ')}] with groups ${G} expects ${ICG * G}; pass an input with ${ICG * G} channels.`,
    );
  }
  const [sh, sw] = w.stride;
  const [ph, pw] = w.padding;
  const [dh, dw] = w.dilation;
  const OH = outSize(H, KH, sh, ph, dh);
  const OW = outSize(W, KW, sw, pw, dw);
  if (OH < 1 || OW < 1) {
    throw new QuantError(
      'SHAPE_MISMATCH',
      `${op}: input [${x.shape.join(', ')}] is smaller than the dilated kernel (${KH}×${KW}, dilation ${dh}×${dw}, padding ${ph}×${pw}): output would be ${OH}×${OW}; pass a larger input or more padding.`,
    );
  }
  const rq = callRequantization({
    op,
    engine,
    input: xq,
    weight: w.channels,
    bias: w.bias,
    out: o,
    relu,
    layer: `conv2d weight [${w.kernelShape.join(', ')}]`,
  });

  const xd = x.data;
  const wd = w.channels.codes;
  const wzp = w.channels.zeroPoints;
  const xzp = xq.zeroPoint;
  const OCG = OC / G;
  const y = new Uint8Array(N * OC * OH * OW);

  // acc(n, oc, oh, ow): the reduction over the oc's group of input channels and the kernel window.
  const accAt = (n: number, oc: number, oh: number, ow: number): number => {
    const g = Math.floor(oc / OCG);
    let acc = 0;
    for (let icg = 0; icg < ICG; icg++) {
      const xc = ((n * C + g * ICG + icg) * H) * W;
      const wc = (oc * ICG + icg) * KH * KW;
      for (let kh = 0; kh < KH; kh++) {
        const ih = oh * sh - ph + kh * dh;
        if (ih < 0 || ih >= H) continue; // padding: x_q = x_zp contributes 0
        for (let kw = 0; kw < KW; kw++) {
          const iw = ow * sw - pw + kw * dw;
          if (iw < 0 || iw >= W) continue;
          acc = (acc + (xd[xc + ih * W + iw]! - xzp) * (wd[wc + kh * KW + kw]! - wzp[oc]!)) | 0;
        }
      }
    }
    return acc;
  };

  let i = 0;
  for (let n = 0; n < N; n++) {
    for (let oc = 0; oc < OC; oc++) {
      for (let oh = 0; oh < OH; oh++) {
        for (let ow = 0; ow < OW; ow++) {
          y[i++] = requantizeOutputCode(rq, requantizePreRound(rq, accAt(n, oc, oh, ow), oc));
        }
      }
    }
  }

  const trace = opts?.trace;
  if (trace !== undefined) {
    for (const index of traceTargets(op, trace, y.length)) {
      const ow = index % OW;
      const oh = Math.floor(index / OW) % OH;
      const oc = Math.floor(index / (OW * OH)) % OC;
      const n = Math.floor(index / (OW * OH * OC));
      const g = Math.floor(oc / OCG);
      const inputCodes: number[] = [];
      const weightCodes: number[] = [];
      for (let icg = 0; icg < ICG; icg++) {
        for (let kh = 0; kh < KH; kh++) {
          for (let kw = 0; kw < KW; kw++) {
            const ih = oh * sh - ph + kh * dh;
            const iw = ow * sw - pw + kw * dw;
            const inside = ih >= 0 && ih < H && iw >= 0 && iw < W;
            inputCodes.push(inside ? xd[((n * C + g * ICG + icg) * H + ih) * W + iw]! : xzp);
            weightCodes.push(wd[((oc * ICG + icg) * KH + kh) * KW + kw]!);
          }
        }
      }
      trace.sink(
        gemmRecord({
          op,
          index,
          channel: oc,
          rq,
          input: xq,
          inputCodes,
          weight: w.channels,
          weightCodes,
          acc: accAt(n, oc, oh, ow),
          output: y[index]!,
        }),
      );
    }
  }
  return new QTensor(y, [N, OC, OH, OW], 'quint8', { qscheme: 'per_tensor_affine', scale: o.scale, zeroPoint: o.zeroPoint });
}
