// max_pool2d, avg_pool2d, adaptive_avg_pool2d and mean on quint8 codes, as PyTorch 1.13 computes
// them on the qnnpack and onednn engines (spec pytorch-semantics.md §5.0, §5.8, §11.3, §12.C6–C7).
import { QuantError } from '@quint/tensor';
import {
  adaptiveAvgPool2dGeometry,
  adaptiveWindow,
  atenMeanFallback,
  avgPool2dGeometry,
  checkNonGemmInput,
  clampU8,
  elementTracer,
  engineOf,
  invFloat,
  makeQuint8Out,
  maxPool2dGeometry,
  meanReduction,
  perTensorOperand,
  qnnpackPoolMultiplier,
  roundHalfToEven,
  type AvgPool2dParams,
  type AvgPoolPath,
  type ElementTracer,
  type KernelOptions,
  type KernelTable,
  type MaxPool2dParams,
  type MeanParams,
  type NonGemmInput,
  type OpName,
  type QTensor,
} from '@quint/qtensor';
import { allocU8, f32 } from './ops-common.js';
import { ortAdaptiveAvgPool2d, ortAvgPool2d, ortMean } from './ort-ops.js';

function checkEngine(op: OpName, opts: KernelOptions | undefined) {
  const engine = engineOf(opts);
  if (engine !== 'qnnpack' && engine !== 'onednn') {
    throw new QuantError(
      'UNSUPPORTED_OP',
      `${op}: engine '${engine}' is not implemented for this op; use 'qnnpack' or 'onednn'.`,
    );
  }
  return engine;
}

/**
 * Quantized 2-D max pooling: the integer maximum of each window, padding ignored, qparams kept;
 * exact (spec §5.8); engines qnnpack, onednn and ort (ONNX Runtime's uint8 MaxPool, docs/numerics.md).
 * PyTorch's QNNPACK max pool (engine qnnpack, !ceilMode) rejects a
 * 1×1 kernel, and so does this kernel there.
 * @throws `SHAPE_MISMATCH` for non-3/4-D input or an empty output; `INVALID_ARGUMENT` for bad
 *   window parameters; `DTYPE_MISMATCH`; `EMPTY_TENSOR`.
 * @example
 * maxPool2d(x, { kernelSize: 3, stride: 2, padding: 1 });
 * @see https://pytorch.org/docs/stable/generated/torch.nn.MaxPool2d.html
 */
export function maxPool2d(x: QTensor, params: MaxPool2dParams, opts?: KernelOptions): QTensor {
  const op = 'maxPool2d';
  const q = checkNonGemmInput(op, x);
  // Engine ort: ONNX Runtime's uint8 MaxPool (QDQ around MaxPool is dropped) skips padded taps like
  // PyTorch's generic kernel (docs/numerics.md "maxPool2d"; test/ort-exact-ops.test.ts).
  const engine = engineOf(opts) === 'ort' ? 'ort' : checkEngine(op, opts);
  const g = maxPool2dGeometry(x, params, engine);
  const [N, C, H, W] = g.nchw;
  const { kernel: k, stride: s, padding: p, dilation: dl, outH: oH, outW: oW } = g;
  // QNNPACK's max pool (engine qnnpack, !ceil_mode) points padded taps at the nearest edge pixel
  // (`pytorch_qnnp_indirection_init_maxpool2d`: min(doz(i, pad), size − 1)) instead of skipping
  // them. Without dilation that pixel is in the window anyway; with dilation it may not be, and
  // PyTorch's result changes (verified: goldens maxPool2d/qnnpack/dilation2-k3s1p2).
  const qnnpack = engine === 'qnnpack' && !g.ceilMode;
  const y = allocU8(N * C * oH * oW);
  const tracer = elementTracer(op, engine, opts);
  let o = 0;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const base = (n * C + c) * H * W;
      for (let oh = 0; oh < oH; oh++) {
        for (let ow = 0; ow < oW; ow++, o++) {
          let m = -1;
          const seen: number[] | null = tracer?.want(o) ? [] : null;
          for (let kh = 0; kh < k[0]; kh++) {
            let ih = oh * s[0] - p[0] + kh * dl[0];
            if (qnnpack) ih = Math.min(Math.max(ih, 0), H - 1);
            else if (ih < 0 || ih >= H) continue;
            for (let kw = 0; kw < k[1]; kw++) {
              let iw = ow * s[1] - p[1] + kw * dl[1];
              if (qnnpack) iw = Math.min(Math.max(iw, 0), W - 1);
              else if (iw < 0 || iw >= W) continue;
              const v = x.data[base + ih * W + iw]!;
              seen?.push(v);
              if (v > m) m = v;
            }
          }
          y[o] = m;
          if (seen)
            tracer!.emit({
              index: o,
              inputs: [perTensorOperand(seen, q)],
              intermediates: {},
              preRound: null,
              output: m,
            });
        }
      }
    }
  }
  return makeQuint8Out(y, g.outShape, q.scale, q.zeroPoint);
}

function avgRequant(
  path: AvgPoolPath,
  sum: number,
  div: number,
  q: NonGemmInput,
  qnnpackScale: number,
): { pre: number; code: number; multiplier: number } {
  if (path === 'qnnpack') {
    const pre = f32(sum * qnnpackScale);
    return { pre, code: clampU8(q.zeroPoint + roundHalfToEven(pre)), multiplier: qnnpackScale };
  }
  if (path === 'nhwc') {
    // `multiplier = f32(f32(s_in/s_out)/div)`, quantized with quantize_val(1/multiplier): the
    // reciprocal of the reciprocal, both in float (spec §5.8 NHWC row; s_out = s_in).
    const m = f32(f32(f32(q.scale) / f32(q.scale)) / div);
    const inv = f32(1 / f32(1 / m));
    const pre = f32(sum * inv);
    return { pre, code: clampU8(q.zeroPoint + roundHalfToEven(pre)), multiplier: inv };
  }
  // NCHW avg_pool2d_out_frame: zero point added in float before rounding.
  const m = f32(1 / div);
  const pre = f32(f32(sum * m) + q.zeroPoint);
  return { pre, code: clampU8(roundHalfToEven(pre)), multiplier: m };
}

/**
 * Quantized 2-D average pooling, output qparams = input qparams, bit-exact with PyTorch 1.13 on its
 * three code paths (spec §5.8, §12.C6):
 * - engine `qnnpack` and !ceilMode: QNNPACK, padding counts as the zero point, the divisor is always
 *   kH·kW (countIncludePad=false and divisorOverride are ignored, as in PyTorch),
 *   `zp + rne(f32(Σ(q−zp) · f32(s/f32(s·kH·kW))))`; a 1×1 kernel is rejected as PyTorch does;
 * - channels_last input (`memoryFormat: 'channels_last'`, also every C == 1 or H = W = 1 tensor):
 *   `zp + rne(f32(Σ(q−zp) · f32(1/f32(1/m))))`, `m = f32(1/div)`;
 * - contiguous NCHW: `rne(f32(f32(Σ(q−zp) · f32(1/div)) + zp))` (zero point before rounding).
 * @throws `SHAPE_MISMATCH`, `INVALID_ARGUMENT`, `DTYPE_MISMATCH`, `EMPTY_TENSOR`.
 * @example
 * avgPool2d(x, { kernelSize: 3, stride: 2, padding: 1, countIncludePad: false }, { memoryFormat: 'channels_last' });
 * @see https://pytorch.org/docs/stable/generated/torch.nn.AvgPool2d.html
 */
export function avgPool2d(x: QTensor, params: AvgPool2dParams, opts?: KernelOptions): QTensor {
  const op = 'avgPool2d';
  // Engine ort: ONNX Runtime's QLinearAveragePool (ort-ops.ts, docs/numerics.md).
  if (engineOf(opts) === 'ort') return ortAvgPool2d(x, params, opts);
  const q = checkNonGemmInput(op, x);
  const engine = checkEngine(op, opts);
  const g = avgPool2dGeometry(x, params, engine, opts?.memoryFormat);
  const [N, C, H, W] = g.nchw;
  const { kernel: k, stride: s, padding: p, outH: oH, outW: oW, countIncludePad: cip, divisorOverride: dov, path } = g;
  const qnnpackScale = qnnpackPoolMultiplier(q.scale, k[0] * k[1]);
  const y = allocU8(N * C * oH * oW);
  const tracer = elementTracer(op, engine, opts);
  let o = 0;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const base = (n * C + c) * H * W;
      for (let oh = 0; oh < oH; oh++) {
        const h0 = oh * s[0] - p[0];
        const h1 = Math.min(h0 + k[0], H + p[0]);
        for (let ow = 0; ow < oW; ow++, o++) {
          const w0 = ow * s[1] - p[1];
          const w1 = Math.min(w0 + k[1], W + p[1]);
          // The window incl. padding (ATen's pool_size) and the valid part of it.
          const poolSize = (h1 - h0) * (w1 - w0);
          let sum = 0;
          let size = 0;
          const seen: number[] | null = tracer?.want(o) ? [] : null;
          for (let ih = Math.max(h0, 0); ih < Math.min(h1, H); ih++) {
            for (let iw = Math.max(w0, 0); iw < Math.min(w1, W); iw++) {
              const v = x.data[base + ih * W + iw]!;
              seen?.push(v);
              sum += v - q.zeroPoint;
              size++;
            }
          }
          const div = path === 'qnnpack' ? k[0] * k[1] : (dov ?? (cip ? poolSize : size));
          const r = avgRequant(path, sum, div, q, qnnpackScale);
          y[o] = r.code;
          if (seen) {
            tracer!.emit({
              index: o,
              inputs: [perTensorOperand(seen, q)],
              intermediates: {
                sum,
                divisor: div,
                multiplier: r.multiplier,
                path: path === 'qnnpack' ? 0 : path === 'nhwc' ? 1 : 2,
              },
              preRound: r.pre,
              output: r.code,
            });
          }
        }
      }
    }
  }
  return makeQuint8Out(y, g.outShape, q.scale, q.zeroPoint);
}

/**
 * Quantized adaptive average pooling, output qparams = input qparams, bit-exact with PyTorch 1.13
 * (spec §5.8, §12.C7):
 * - engine `qnnpack` when In % Out == 0 in both dims and (H, W) ≠ (outH, outW): QNNPACK's average
 *   pool with kernel = stride = In/Out, `zp + rne(f32(Σ(q−zp) · f32(s/f32(s·k))))`;
 * - channels_last input (also C == 1 / H = W = 1): the NHWC average-pool formula with div = kH·kW;
 * - contiguous NCHW: `rne(f32(Σq · f32(f32(1/kH)/kW)))` on the raw codes, no clamp.
 * `outputSize` null keeps that dimension.
 * @throws `SHAPE_MISMATCH`, `INVALID_ARGUMENT`, `DTYPE_MISMATCH`, `EMPTY_TENSOR`.
 * @example
 * adaptiveAvgPool2d(x, [1, 1], { memoryFormat: 'channels_last' });
 * @see https://pytorch.org/docs/stable/generated/torch.nn.AdaptiveAvgPool2d.html
 */
export function adaptiveAvgPool2d(
  x: QTensor,
  outputSize: number | readonly [number | null, number | null],
  opts?: KernelOptions,
): QTensor {
  const op = 'adaptiveAvgPool2d';
  // Engine ort: 1×1 only, ONNX Runtime's QLinearGlobalAveragePool (ort-ops.ts, docs/numerics.md).
  if (engineOf(opts) === 'ort') return ortAdaptiveAvgPool2d(x, outputSize, opts);
  const q = checkNonGemmInput(op, x);
  const engine = checkEngine(op, opts);
  const g = adaptiveAvgPool2dGeometry(x, outputSize, engine, opts?.memoryFormat);
  const [N, C, H, W] = g.nchw;
  const { outH: oH, outW: oW, path } = g;
  const y = allocU8(N * C * oH * oW);
  const tracer = elementTracer(op, engine, opts);
  let o = 0;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const base = (n * C + c) * H * W;
      for (let oh = 0; oh < oH; oh++) {
        const [h0, h1] = adaptiveWindow(oh, H, oH);
        for (let ow = 0; ow < oW; ow++, o++) {
          const [w0, w1] = adaptiveWindow(ow, W, oW);
          const kH = h1 - h0;
          const kW = w1 - w0;
          let raw = 0;
          const seen: number[] | null = tracer?.want(o) ? [] : null;
          for (let ih = h0; ih < h1; ih++) {
            for (let iw = w0; iw < w1; iw++) {
              const v = x.data[base + ih * W + iw]!;
              seen?.push(v);
              raw += v;
            }
          }
          const size = kH * kW;
          let pre: number;
          let code: number;
          let multiplier: number;
          if (path === 'nchw') {
            multiplier = f32(f32(1 / kH) / kW);
            pre = f32(raw * multiplier);
            code = roundHalfToEven(pre);
          } else {
            const qScale = qnnpackPoolMultiplier(q.scale, size);
            const r = avgRequant(path, raw - q.zeroPoint * size, size, q, qScale);
            ({ pre, code, multiplier } = r);
          }
          y[o] = code;
          if (seen) {
            tracer!.emit({
              index: o,
              inputs: [perTensorOperand(seen, q)],
              intermediates: {
                sum: raw - q.zeroPoint * size,
                divisor: size,
                multiplier,
                path: path === 'qnnpack' ? 0 : path === 'nhwc' ? 1 : 2,
              },
              preRound: pre,
              output: code,
            });
          }
        }
      }
    }
  }
  return makeQuint8Out(y, g.outShape, q.scale, q.zeroPoint);
}

/**
 * Quantized mean over dims, output qparams = input qparams, bit-exact with PyTorch 1.13 (spec §5.8):
 * - engine `qnnpack`, 4-D input, `dim` exactly `[2, 3]` (PyTorch compares the literal dims; −2, −1
 *   do not qualify): QNNPACK's global average pool, `zp + rne(f32(Σ(q−zp) · f32(s/f32(s·HW))))`;
 * - contiguous input reduced over its innermost dims: `rne(f32(f32(Σq)/n))` on the raw codes;
 * - anything else (e.g. a channels_last input on onednn): PyTorch's fallback, dequantize → float
 *   `at::mean` in ATen's cascade-sum order → quantize (`atenMeanFallback`, docs/numerics.md); the
 *   input is taken to sit in memory as `opts.memoryFormat` says (channels_last: NHWC).
 * Engine `ort` (ONNX Runtime 1.30's DQ → ReduceMean → Q, innermost dims only): `Q(f32(Σ DQ(q) / n))`
 * with a float32 sum, left to right for `opts.target: 'wasm'` (default, onnxruntime-web), Eigen's
 * SSE packet order for `'x64'` (onnxruntime-node) (docs/numerics.md "Engine ort").
 * @throws `AXIS_OUT_OF_RANGE`; `INVALID_ARGUMENT`; `DTYPE_MISMATCH`; `EMPTY_TENSOR`; `UNSUPPORTED_OP`
 *   on engine ort beyond the innermost dims.
 * @example
 * mean(x, { dim: [2, 3], keepdim: true });
 * @see https://pytorch.org/docs/stable/generated/torch.mean.html
 */
export function mean(x: QTensor, params: MeanParams, opts?: KernelOptions): QTensor {
  const op = 'mean';
  // Engine ort: ONNX ReduceMean between DQ and Q, per `opts.target` (ort-ops.ts, docs/numerics.md).
  if (engineOf(opts) === 'ort') return ortMean(x, params, opts);
  const q = checkNonGemmInput(op, x);
  const engine = checkEngine(op, opts);
  const { dims, qnnpack, fallback, strides, inner, outer, outShape } = meanReduction(
    x,
    params,
    engine,
    opts?.memoryFormat,
  );
  const tracer = elementTracer(op, engine, opts);
  if (fallback) return meanFallback(x, q, dims, strides, outShape, tracer);
  const y = allocU8(outer);
  const scale = qnnpackPoolMultiplier(q.scale, inner);
  for (let o = 0; o < outer; o++) {
    let raw = 0;
    for (let e = 0; e < inner; e++) raw += x.data[o * inner + e]!;
    let pre: number;
    let code: number;
    if (qnnpack) {
      pre = f32((raw - q.zeroPoint * inner) * scale);
      code = clampU8(q.zeroPoint + roundHalfToEven(pre));
    } else {
      pre = f32(raw / inner);
      code = roundHalfToEven(pre);
    }
    y[o] = code;
    if (tracer?.want(o)) {
      const codes = Array.from(x.data.subarray(o * inner, (o + 1) * inner));
      tracer.emit({
        index: o,
        inputs: [perTensorOperand(codes, q)],
        intermediates: {
          sum: qnnpack ? raw - q.zeroPoint * inner : raw,
          count: inner,
          multiplier: qnnpack ? scale : 1 / inner,
        },
        preRound: pre,
        output: code,
      });
    }
  }
  return makeQuint8Out(y, outShape, q.scale, q.zeroPoint);
}

/**
 * `mean` on PyTorch's dequantize → float mean → quantize path (spec §5.8). Its trace records carry
 * the float mean and the product that is rounded; `inputs` is empty (the reduced elements are
 * scattered in memory and summed in ATen's order, not as a list).
 */
function meanFallback(
  x: QTensor,
  q: NonGemmInput,
  dims: readonly number[],
  strides: readonly number[],
  outShape: number[],
  tracer: ElementTracer | null,
): QTensor {
  const { codes, means } = atenMeanFallback(x.data, x.shape, strides, dims, q.scale, q.zeroPoint);
  if (tracer) {
    const count = dims.reduce((p, d) => p * x.shape[d]!, 1);
    const inv = invFloat(q.scale);
    for (let o = 0; o < codes.length; o++) {
      if (tracer.want(o))
        tracer.emit({
          index: o,
          inputs: [],
          intermediates: { mean: means[o]!, count },
          preRound: f32(means[o]! * inv),
          output: codes[o]!,
        });
    }
  }
  return makeQuint8Out(codes, outShape, q.scale, q.zeroPoint);
}

/** The pooling kernels, for createJsBackend's kernel table. */
export const poolingKernels: Partial<KernelTable> = { maxPool2d, avgPool2d, adaptiveAvgPool2d, mean };
