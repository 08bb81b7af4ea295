// quantized::conv2d / conv2d_relu: NCHW in, NCHW out, exact int32 accumulation, then the engine's
// requantization (spec pytorch-semantics.md §5.2; onnx-ort-and-peers.md §1.3 for ort).
import {
  QTensor,
  checkGemmActivation,
  checkGemmOutQparams,
  conv2dGeometry,
  conv2dTraceOperands,
  emitGemmTrace,
  gemmCallRequantization,
  requantizeOutputCode,
  requantizePreRound,
  resolveEngine,
  type EngineContext,
  type KernelOptions,
  type OpName,
  type OutQparams,
} from '@quint/qtensor';
import type { JsPackedConv2d } from './prepack.js';

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
  const xq = checkGemmActivation(op, x, 4);
  const o = checkGemmOutQparams(op, out);
  const geom = conv2dGeometry(op, x.shape, w);
  const { N, C, H, W, OC, ICG, KH, KW, OCG, sh, sw, ph, pw, dh, dw, OH, OW } = geom;
  const rq = gemmCallRequantization({
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
  const y = new Uint8Array(N * OC * OH * OW);

  // acc(n, oc, oh, ow): the reduction over the oc's group of input channels and the kernel window.
  const accAt = (n: number, oc: number, oh: number, ow: number): number => {
    const g = Math.floor(oc / OCG);
    let acc = 0;
    for (let icg = 0; icg < ICG; icg++) {
      const xc = (n * C + g * ICG + icg) * H * W;
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
    emitGemmTrace({
      op,
      trace,
      rq,
      input: xq,
      weight: w.channels,
      output: y,
      operands: (index) => {
        const ops = conv2dTraceOperands(geom, index, xd, wd, xzp);
        const ow = index % OW;
        const oh = Math.floor(index / OW) % OH;
        return { ...ops, acc: accAt(Math.floor(index / (OW * OH * OC)), ops.channel, oh, ow) };
      },
    });
  }
  return new QTensor(y, [N, OC, OH, OW], 'quint8', {
    qscheme: 'per_tensor_affine',
    scale: o.scale,
    zeroPoint: o.zeroPoint,
  });
}
