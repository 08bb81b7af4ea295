// max_pool2d, avg_pool2d, adaptive_avg_pool2d and mean on quint8 codes, as PyTorch 1.13 computes
// them on the qnnpack and onednn engines (spec pytorch-semantics.md §5.0, §5.8, §11.3, §12.C6–C7).
import { QuantError } from '@quint/tensor';
import { roundHalfToEven, type AvgPool2dParams, type KernelOptions, type KernelTable, type MaxPool2dParams, type MeanParams, type OpName, type QTensor } from '@quint/qtensor';
import {
  allocU8,
  checkInput,
  clampU8,
  engineOf,
  f32,
  isChannelsLastContiguous,
  makeOut,
  operand,
  pair,
  tracerOf,
  type InputQ,
} from './ops-common.js';

import { ortAdaptiveAvgPool2d, ortAvgPool2d } from './ort-ops.js';

function checkEngine(op: OpName, opts: KernelOptions | undefined) {
  const engine = engineOf(opts);
  if (engine !== 'qnnpack' && engine !== 'onednn') {
    throw new QuantError('UNSUPPORTED_OP', `${op}: engine '${engine}' is not implemented for this op; use 'qnnpack' or 'onednn'.`);
  }
  return engine;
}

/** Views a 3-D (CHW) or 4-D (NCHW) input as [N, C, H, W]. */
function nchw(op: OpName, x: QTensor): [number, number, number, number] {
  if (x.ndim === 4) return x.shape as unknown as [number, number, number, number];
  if (x.ndim === 3) return [1, x.shape[0]!, x.shape[1]!, x.shape[2]!];
  throw new QuantError('SHAPE_MISMATCH', `${op}: input shape [${x.shape.join(', ')}] is not 3-D or 4-D; pass NCHW or CHW.`);
}

/** `pooling_output_shape` of ATen (Pool.h), including ceil_mode's last-window rule. */
function poolOutSize(op: OpName, size: number, k: number, s: number, p: number, d: number, ceil: boolean): number {
  let o = Math.floor((size + 2 * p - d * (k - 1) - 1 + (ceil ? s - 1 : 0)) / s) + 1;
  if (ceil && (o - 1) * s >= size + p) o--;
  if (o < 1) {
    throw new QuantError(
      'SHAPE_MISMATCH',
      `${op}: input size ${size} with kernel ${k}, stride ${s}, padding ${p}, dilation ${d} gives output size ${o}; use a smaller kernel or more padding.`,
    );
  }
  return o;
}

function checkWindow(op: OpName, k: [number, number], s: [number, number], p: [number, number], d: [number, number]): void {
  if (k.some((v) => v < 1) || s.some((v) => v < 1) || d.some((v) => v < 1) || p.some((v) => v < 0)) {
    throw new QuantError('INVALID_ARGUMENT', `${op}: kernel ${k}, stride ${s}, dilation ${d} must be ≥ 1 and padding ${p} ≥ 0.`);
  }
  if (p[0] > Math.floor(k[0] / 2) || p[1] > Math.floor(k[1] / 2)) {
    throw new QuantError('INVALID_ARGUMENT', `${op}: padding ${p} is more than half the kernel ${k}, which PyTorch rejects; use padding ≤ kernel/2.`);
  }
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
  const q = checkInput(op, x);
  // Engine ort: ONNX Runtime's uint8 MaxPool (QDQ around MaxPool is dropped) skips padded taps like
  // PyTorch's generic kernel (docs/numerics.md "maxPool2d"; test/ort-exact-ops.test.ts).
  const engine = engineOf(opts) === 'ort' ? 'ort' : checkEngine(op, opts);
  const k = pair(op, 'kernelSize', params.kernelSize, [1, 1]);
  const s = pair(op, 'stride', params.stride ?? params.kernelSize, k);
  const p = pair(op, 'padding', params.padding, [0, 0]);
  const dl = pair(op, 'dilation', params.dilation, [1, 1]);
  const ceil = params.ceilMode ?? false;
  checkWindow(op, k, s, p, dl);
  if (engine === 'qnnpack' && !ceil && k[0] * k[1] === 1) {
    throw new QuantError('INVALID_ARGUMENT', `${op}: a 1×1 kernel fails in QNNPACK's max pool ("1x1 pooling is meaningless") on engine qnnpack; drop the pool.`);
  }
  const [N, C, H, W] = nchw(op, x);
  // QNNPACK's max pool (engine qnnpack, !ceil_mode) points padded taps at the nearest edge pixel
  // (`pytorch_qnnp_indirection_init_maxpool2d`: min(doz(i, pad), size − 1)) instead of skipping
  // them. Without dilation that pixel is in the window anyway; with dilation it may not be, and
  // PyTorch's result changes (verified: goldens maxPool2d/qnnpack/dilation2-k3s1p2).
  const qnnpack = engine === 'qnnpack' && !ceil;
  const oH = poolOutSize(op, H, k[0], s[0], p[0], dl[0], ceil);
  const oW = poolOutSize(op, W, k[1], s[1], p[1], dl[1], ceil);
  const y = allocU8(N * C * oH * oW);
  const tracer = tracerOf(op, engine, opts);
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
          if (seen) tracer!.emit({ index: o, inputs: [operand(seen, q)], intermediates: {}, preRound: null, output: m });
        }
      }
    }
  }
  const shape = x.ndim === 3 ? [C, oH, oW] : [N, C, oH, oW];
  return makeOut(y, shape, q.scale, q.zeroPoint);
}

/** Which of PyTorch's average-pool code paths runs (spec §5.8 table). */
type AvgPath = 'qnnpack' | 'nhwc' | 'nchw';

function avgRequant(path: AvgPath, sum: number, div: number, q: InputQ, qnnpackScale: number): { pre: number; code: number; multiplier: number } {
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
  const q = checkInput(op, x);
  const engine = checkEngine(op, opts);
  const k = pair(op, 'kernelSize', params.kernelSize, [1, 1]);
  const s = pair(op, 'stride', params.stride ?? params.kernelSize, k);
  const p = pair(op, 'padding', params.padding, [0, 0]);
  const ceil = params.ceilMode ?? false;
  const cip = params.countIncludePad ?? true;
  const dov = params.divisorOverride;
  checkWindow(op, k, s, p, [1, 1]);
  if (dov !== undefined && dov !== null && (!Number.isInteger(dov) || dov === 0)) {
    throw new QuantError('INVALID_ARGUMENT', `${op}: divisorOverride ${dov} must be a non-zero integer.`);
  }
  const [N, C, H, W] = nchw(op, x);
  const path: AvgPath =
    engine === 'qnnpack' && !ceil ? 'qnnpack' : isChannelsLastContiguous([N, C, H, W], x.ndim === 4 ? opts?.memoryFormat : 'contiguous') ? 'nhwc' : 'nchw';
  if (path === 'qnnpack' && k[0] * k[1] === 1) {
    throw new QuantError('INVALID_ARGUMENT', `${op}: a 1×1 kernel fails in QNNPACK's average pool ("1x1 pooling is meaningless") on engine qnnpack; drop the pool.`);
  }
  const oH = poolOutSize(op, H, k[0], s[0], p[0], 1, ceil);
  const oW = poolOutSize(op, W, k[1], s[1], p[1], 1, ceil);
  const qnnpackScale = f32(f32(q.scale) / f32(f32(q.scale) * (k[0] * k[1])));
  const y = allocU8(N * C * oH * oW);
  const tracer = tracerOf(op, engine, opts);
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
          const div = path === 'qnnpack' ? k[0] * k[1] : dov ?? (cip ? poolSize : size);
          const r = avgRequant(path, sum, div, q, qnnpackScale);
          y[o] = r.code;
          if (seen) {
            tracer!.emit({
              index: o,
              inputs: [operand(seen, q)],
              intermediates: { sum, divisor: div, multiplier: r.multiplier, path: path === 'qnnpack' ? 0 : path === 'nhwc' ? 1 : 2 },
              preRound: r.pre,
              output: r.code,
            });
          }
        }
      }
    }
  }
  const shape = x.ndim === 3 ? [C, oH, oW] : [N, C, oH, oW];
  return makeOut(y, shape, q.scale, q.zeroPoint);
}

/** Adaptive window bounds: `floor(f32(o·In)/Out)` and `ceil(f32((o+1)·In)/Out)` in float (spec §5.8). */
function adaptiveStart(o: number, inSize: number, outSize: number): number {
  return Math.floor(f32(f32(o * inSize) / outSize));
}
function adaptiveEnd(o: number, inSize: number, outSize: number): number {
  return Math.ceil(f32(f32((o + 1) * inSize) / outSize));
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
export function adaptiveAvgPool2d(x: QTensor, outputSize: number | readonly [number | null, number | null], opts?: KernelOptions): QTensor {
  const op = 'adaptiveAvgPool2d';
  // Engine ort: 1×1 only, ONNX Runtime's QLinearGlobalAveragePool (ort-ops.ts, docs/numerics.md).
  if (engineOf(opts) === 'ort') return ortAdaptiveAvgPool2d(x, outputSize, opts);
  const q = checkInput(op, x);
  const engine = checkEngine(op, opts);
  const [N, C, H, W] = nchw(op, x);
  const req = typeof outputSize === 'number' ? [outputSize, outputSize] : outputSize;
  if (!Array.isArray(req) || req.length !== 2) {
    throw new QuantError('INVALID_ARGUMENT', `${op}: outputSize ${JSON.stringify(outputSize)} must be a number or a pair.`);
  }
  const oH = req[0] ?? H;
  const oW = req[1] ?? W;
  if (![oH, oW].every((v) => Number.isInteger(v) && v >= 1)) {
    throw new QuantError('INVALID_ARGUMENT', `${op}: outputSize (${oH}, ${oW}) must be positive integers.`);
  }
  const path: AvgPath =
    engine === 'qnnpack' && H % oH === 0 && W % oW === 0 && !(H === oH && W === oW)
      ? 'qnnpack'
      : isChannelsLastContiguous([N, C, H, W], x.ndim === 4 ? opts?.memoryFormat : 'contiguous')
        ? 'nhwc'
        : 'nchw';
  const y = allocU8(N * C * oH * oW);
  const tracer = tracerOf(op, engine, opts);
  let o = 0;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const base = (n * C + c) * H * W;
      for (let oh = 0; oh < oH; oh++) {
        const h0 = adaptiveStart(oh, H, oH);
        const h1 = adaptiveEnd(oh, H, oH);
        for (let ow = 0; ow < oW; ow++, o++) {
          const w0 = adaptiveStart(ow, W, oW);
          const w1 = adaptiveEnd(ow, W, oW);
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
            const qScale = f32(f32(q.scale) / f32(f32(q.scale) * size));
            const r = avgRequant(path, raw - q.zeroPoint * size, size, q, qScale);
            ({ pre, code, multiplier } = r);
          }
          y[o] = code;
          if (seen) {
            tracer!.emit({
              index: o,
              inputs: [operand(seen, q)],
              intermediates: { sum: raw - q.zeroPoint * size, divisor: size, multiplier, path: path === 'qnnpack' ? 0 : path === 'nhwc' ? 1 : 2 },
              preRound: pre,
              output: code,
            });
          }
        }
      }
    }
  }
  const shape = x.ndim === 3 ? [C, oH, oW] : [N, C, oH, oW];
  return makeOut(y, shape, q.scale, q.zeroPoint);
}

/**
 * Quantized mean over dims, output qparams = input qparams, bit-exact with PyTorch 1.13 (spec §5.8):
 * - engine `qnnpack`, 4-D input, `dim` exactly `[2, 3]` (PyTorch compares the literal dims; −2, −1
 *   do not qualify): QNNPACK's global average pool, `zp + rne(f32(Σ(q−zp) · f32(s/f32(s·HW))))`;
 * - contiguous input reduced over its innermost dims: `rne(f32(f32(Σq)/n))` on the raw codes.
 * Other cases (e.g. a channels_last input on onednn) dequantize and call the float `at::mean`, whose
 * summation order is not reproduced: they throw `UNSUPPORTED_OP`.
 * @throws `UNSUPPORTED_OP` as above; `AXIS_OUT_OF_RANGE`; `DTYPE_MISMATCH`; `EMPTY_TENSOR`.
 * @example
 * mean(x, { dim: [2, 3], keepdim: true });
 * @see https://pytorch.org/docs/stable/generated/torch.mean.html
 */
export function mean(x: QTensor, params: MeanParams, opts?: KernelOptions): QTensor {
  const op = 'mean';
  const q = checkInput(op, x);
  const engine = checkEngine(op, opts);
  const given = typeof params.dim === 'number' ? [params.dim] : [...params.dim];
  const nd = x.ndim;
  const dims = given.map((d) => {
    if (!Number.isInteger(d) || d < -nd || d >= nd) {
      throw new QuantError('AXIS_OUT_OF_RANGE', `${op}: dim ${d} is out of range for a ${nd}-D input; pass dims in [${-nd}, ${nd - 1}].`);
    }
    return d < 0 ? d + nd : d;
  });
  if (new Set(dims).size !== dims.length || dims.length === 0) {
    throw new QuantError('INVALID_ARGUMENT', `${op}: dims ${JSON.stringify(given)} must be distinct and non-empty.`);
  }
  const keepdim = params.keepdim ?? false;
  const qnnpack = engine === 'qnnpack' && nd === 4 && given.length === 2 && given[0] === 2 && given[1] === 3;
  const sorted = [...dims].sort((a, b) => a - b);
  const innermost = sorted.every((d, i) => d === nd - sorted.length + i);
  // A channels_last tensor is `is_contiguous(Contiguous)` only when C == 1 or H = W = 1.
  const contiguous = opts?.memoryFormat !== 'channels_last' || nd !== 4 || x.shape[1] === 1 || x.shape[2]! * x.shape[3]! === 1;
  if (!qnnpack && !(contiguous && innermost)) {
    throw new QuantError(
      'UNSUPPORTED_OP',
      `${op}: dims ${JSON.stringify(given)} on a ${contiguous ? 'contiguous' : 'channels_last'} input take PyTorch's dequantize → float mean → quantize path, whose float summation order is not reproduced; reduce the innermost dims of a contiguous input${engine === 'qnnpack' ? ' or pass dim [2, 3]' : ''}.`,
    );
  }
  const inner = sorted.reduce((p, d) => p * x.shape[d]!, 1);
  const outer = x.numel / inner;
  const y = allocU8(outer);
  const tracer = tracerOf(op, engine, opts);
  const scale = f32(f32(q.scale) / f32(f32(q.scale) * inner));
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
      tracer.emit({ index: o, inputs: [operand(codes, q)], intermediates: { sum: qnnpack ? raw - q.zeroPoint * inner : raw, count: inner, multiplier: qnnpack ? scale : 1 / inner }, preRound: pre, output: code });
    }
  }
  const shape = x.shape.map((d, i) => (dims.includes(i) ? 1 : d)).filter((_, i) => keepdim || !dims.includes(i));
  return makeOut(y, shape, q.scale, q.zeroPoint);
}

/** The pooling kernels, for createJsBackend's kernel table. */
export const poolingKernels: Partial<KernelTable> = { maxPool2d, avgPool2d, adaptiveAvgPool2d, mean };
