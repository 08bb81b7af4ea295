// Engine 'ort' for the non-GEMM ops: what ONNX Runtime 1.30 computes for the QOperator ops
// (com.microsoft QLinearAdd/Mul/Concat/AveragePool/GlobalAveragePool/Sigmoid) and for the QDQ
// graphs `DequantizeLinear → op → QuantizeLinear` (which ORT fuses into those ops, or runs in float).
// Every formula here was established by runs of onnxruntime-node (x64, AVX2+FMA) and onnxruntime-web
// (wasm, 1 thread) and is written down, with the evidence, in docs/numerics.md "Engine ort";
// test/ort-non-gemm.test.ts compares them code by code. Where the two builds differ (add, mul,
// sigmoid, tanh, mean), both formulas are here and `KernelOptions.target` picks one (default wasm).
import { QuantError } from '@quint/tensor';
import {
  broadcastIndex,
  catGeometry,
  checkCatInputs,
  checkNonGemmInput,
  checkNonGemmOut,
  checkPair,
  clampU8,
  elementTracer,
  makeQuint8Out,
  meanReduction,
  ortDequantize,
  ortQuantize,
  ortUnaryTable,
  perTensorOperand,
  roundHalfToEven,
  sameShape,
  type AvgPool2dParams,
  type KernelOptions,
  type MeanParams,
  type NonGemmInput,
  type OutQparams,
  type QTensor,
  resolveOrtTarget,
  ortAddCode,
  ortInput0Scalar,
  ortMulCode,
  ortBroadcastShape,
  ortPairTable,
  type OrtAddMulQparams,
} from '@quint/qtensor';
import { allocU8, f32 } from './ops-common.js';

// ---------------------------------------------------------------------------------------------
// QLinearAdd / QLinearMul with ONNX (numpy) broadcasting

// Calls of fewer codes compute each one: building a pair table takes 65,536 evaluations.
const TABLE_MIN_ELEMENTS = 1 << 14;

/**
 * Engine 'ort' add/addRelu/mul/mulRelu: ONNX Runtime's QLinearAdd/QLinearMul (and QDQ Add/Mul, which
 * ORT fuses into them), numpy broadcasting both ways, with `opts.target`'s formula (default wasm).
 * The ReLU variants clamp the code at the output zero point, as ORT's QDQ Relu (dropped into the
 * quantize range) does.
 */
export function ortBinary(
  op: 'add' | 'addRelu' | 'mul' | 'mulRelu',
  a: QTensor,
  b: QTensor,
  out: OutQparams,
  opts?: KernelOptions,
): QTensor {
  const q: OrtAddMulQparams = {
    a: checkNonGemmInput(op, a, 'a'),
    b: checkNonGemmInput(op, b, 'b'),
    c: checkNonGemmOut(op, out),
  };
  const target = resolveOrtTarget(op, opts);
  const outShape = ortBroadcastShape(op, a.shape, b.shape);
  const n = outShape.reduce((p, d) => p * d, 1);
  const aIdx = sameShape(a.shape, outShape) ? null : broadcastIndex(a.shape, outShape);
  const bIdx = sameShape(b.shape, outShape) ? null : broadcastIndex(b.shape, outShape);
  const swap = ortInput0Scalar(a.shape, b.shape);
  const isAdd = op === 'add' || op === 'addRelu';
  const relu = op === 'addRelu' || op === 'mulRelu';
  const table = n >= TABLE_MIN_ELEMENTS ? ortPairTable(isAdd, q, target, swap) : null;
  const y = allocU8(n);
  const tracer = elementTracer(op, 'ort', opts);
  for (let i = 0; i < n; i++) {
    const qa = a.data[aIdx === null ? i : aIdx[i]!]!;
    const qb = b.data[bIdx === null ? i : bIdx[i]!]!;
    let v =
      table !== null
        ? table[(qa << 8) | qb]!
        : isAdd
          ? ortAddCode(qa, qb, q, target, swap)
          : ortMulCode(qa, qb, q, target);
    if (relu && v < q.c.zeroPoint) v = q.c.zeroPoint;
    y[i] = v;
    if (tracer?.want(i)) {
      tracer.emit({
        index: i,
        inputs: [perTensorOperand([qa], q.a), perTensorOperand([qb], q.b)],
        intermediates: { x64: target === 'x64' ? 1 : 0, swapped: swap ? 1 : 0 },
        preRound: null,
        output: v,
      });
    }
  }
  return makeQuint8Out(y, outShape, q.c.scale, q.c.zeroPoint);
}

// ---------------------------------------------------------------------------------------------
// QLinearConcat

/**
 * Engine 'ort' cat: ONNX Runtime's QLinearConcat (and QDQ Concat): every code is requantized as
 * `clamp(rne(f32(f32(s_i(q − z_i)) / s_out)) + z_out)` (an input with the output's qparams comes
 * through unchanged, which the formula gives too). Without `out`, the first input's qparams.
 */
export function ortCat(
  xs: readonly QTensor[],
  dim: number,
  out: OutQparams | undefined,
  opts?: KernelOptions,
): QTensor {
  const op = 'cat';
  const qs = checkCatInputs(xs);
  const { dim: d, out: o, outShape, outer, inner } = catGeometry(xs, qs, dim, out);
  const y = allocU8(outShape.reduce((p, e) => p * e, 1));
  const tracer = elementTracer(op, 'ort', opts);
  const outRow = outShape[d]! * inner;
  let offset = 0;
  for (const [k, x] of xs.entries()) {
    const q = qs[k]!;
    const row = x.shape[d]! * inner;
    const table = ortUnaryTable(q, o, (v) => v);
    for (let i = 0; i < outer; i++) {
      for (let j = 0; j < row; j++) {
        const code = x.data[i * row + j]!;
        const dst = i * outRow + offset + j;
        y[dst] = table[code]!;
        if (tracer?.want(dst)) {
          const deq = ortDequantize(code, q.scale, q.zeroPoint);
          tracer.emit({
            index: dst,
            inputs: [perTensorOperand([code], q)],
            intermediates: { input: k, dequantized: deq },
            preRound: f32(deq / f32(o.scale)),
            output: table[code]!,
          });
        }
      }
    }
    offset += row;
  }
  return makeQuint8Out(y, outShape, o.scale, o.zeroPoint);
}

// ---------------------------------------------------------------------------------------------
// Pooling

function nchw(op: string, x: QTensor): [number, number, number, number] {
  if (x.ndim === 4) return x.shape as [number, number, number, number];
  if (x.ndim === 3) return [1, x.shape[0]!, x.shape[1]!, x.shape[2]!];
  throw new QuantError(
    'SHAPE_MISMATCH',
    `${op}: input of shape [${x.shape.join(', ')}] must be 3-D or 4-D (N, C, H, W).`,
  );
}

/**
 * Engine 'ort' avg_pool2d: ONNX Runtime's QLinearAveragePool (QDQ AveragePool is fused into it):
 * every tap is dequantized to `f32(s(q − zp))`, summed in float32 in window order (rows, then
 * columns; padding skipped), divided by the count in float32 (kH·kW with countIncludePad, else the
 * valid taps), and quantized with the zero point added in float before rounding:
 * `clamp(rne(f32(f32(mean / s) + zp)))`. Output qparams = input qparams. ceilMode and
 * divisorOverride are not reproduced (they throw).
 */
export function ortAvgPool2d(x: QTensor, params: AvgPool2dParams, opts?: KernelOptions): QTensor {
  const op = 'avgPool2d';
  const q = checkNonGemmInput(op, x);
  const k = checkPair(op, 'kernelSize', params.kernelSize, [1, 1]);
  const s = checkPair(op, 'stride', params.stride ?? params.kernelSize, k);
  const p = checkPair(op, 'padding', params.padding, [0, 0]);
  if (params.ceilMode || (params.divisorOverride !== undefined && params.divisorOverride !== null)) {
    throw new QuantError(
      'UNSUPPORTED_OP',
      `${op}: ceilMode and divisorOverride are not reproduced on engine 'ort'; pass ceilMode false and no divisorOverride, or use engine 'qnnpack'.`,
    );
  }
  if (!(
    k[0] >= 1 &&
    k[1] >= 1 &&
    s[0] >= 1 &&
    s[1] >= 1 &&
    p[0] >= 0 &&
    p[1] >= 0 &&
    p[0] <= k[0] / 2 &&
    p[1] <= k[1] / 2
  )) {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `${op}: kernel ${k}, stride ${s}, padding ${p} are invalid; kernel and stride ≥ 1, 0 ≤ padding ≤ kernel/2.`,
    );
  }
  const cip = params.countIncludePad ?? true;
  const [N, C, H, W] = nchw(op, x);
  const oH = Math.floor((H + 2 * p[0] - k[0]) / s[0]) + 1;
  const oW = Math.floor((W + 2 * p[1] - k[1]) / s[1]) + 1;
  if (oH < 1 || oW < 1)
    throw new QuantError(
      'SHAPE_MISMATCH',
      `${op}: input ${H}×${W} is smaller than the kernel ${k[0]}×${k[1]}; pass a larger input or padding.`,
    );
  const sc = f32(q.scale);
  const y = allocU8(N * C * oH * oW);
  const tracer = elementTracer(op, 'ort', opts);
  let o = 0;
  for (let nc = 0; nc < N * C; nc++) {
    const base = nc * H * W;
    for (let oh = 0; oh < oH; oh++) {
      const h0 = Math.max(oh * s[0] - p[0], 0);
      const h1 = Math.min(oh * s[0] - p[0] + k[0], H);
      for (let ow = 0; ow < oW; ow++, o++) {
        const w0 = Math.max(ow * s[1] - p[1], 0);
        const w1 = Math.min(ow * s[1] - p[1] + k[1], W);
        let sum = 0;
        const seen: number[] | null = tracer?.want(o) ? [] : null;
        for (let ih = h0; ih < h1; ih++) {
          for (let iw = w0; iw < w1; iw++) {
            const v = x.data[base + ih * W + iw]!;
            seen?.push(v);
            sum = f32(sum + f32(sc * (v - q.zeroPoint)));
          }
        }
        const count = cip ? k[0] * k[1] : (h1 - h0) * (w1 - w0);
        const mean = f32(sum / count);
        const pre = f32(f32(mean / sc) + q.zeroPoint);
        const code = clampU8(roundHalfToEven(pre));
        y[o] = code;
        if (seen)
          tracer!.emit({
            index: o,
            inputs: [perTensorOperand(seen, q)],
            intermediates: { sum, count, mean },
            preRound: pre,
            output: code,
          });
      }
    }
  }
  return makeQuint8Out(y, x.ndim === 3 ? [C, oH, oW] : [N, C, oH, oW], q.scale, q.zeroPoint);
}

/**
 * Engine 'ort' adaptive_avg_pool2d to 1×1 = ONNX GlobalAveragePool, which ORT runs as
 * QLinearGlobalAveragePool (also when fused from QDQ): integer sum, one float32 multiplier,
 * `clamp(rne(f32((Σq − zp·HW) · m)) + zp)`, `m = f32(s / f32(s · HW))`. ORT rejects `m < 2^-32`,
 * `m ≥ 256` or HW ≥ 2^24; so does this kernel. Other output sizes throw.
 */
export function ortAdaptiveAvgPool2d(
  x: QTensor,
  outputSize: number | readonly [number | null, number | null],
  opts?: KernelOptions,
): QTensor {
  const op = 'adaptiveAvgPool2d';
  const q = checkNonGemmInput(op, x);
  const [N, C, H, W] = nchw(op, x);
  const req = typeof outputSize === 'number' ? [outputSize, outputSize] : outputSize;
  const oH = req?.[0] ?? H;
  const oW = req?.[1] ?? W;
  if (oH !== 1 || oW !== 1) {
    throw new QuantError(
      'UNSUPPORTED_OP',
      `${op}: output size (${oH}, ${oW}) on engine 'ort': only 1×1 (ONNX GlobalAveragePool) is reproduced; use engine 'qnnpack' or 'onednn'.`,
    );
  }
  const hw = H * W;
  const m = f32(f32(q.scale) / f32(f32(q.scale) * hw));
  if (hw >= 0x1000000 || m < 2 ** -32 || m >= 256) {
    throw new QuantError(
      'INVALID_QPARAMS',
      `${op}: ORT's QLinearGlobalAveragePool rejects image size ${hw} with multiplier ${m} (needs HW < 2^24 and 2^-32 ≤ m < 256).`,
    );
  }
  const y = allocU8(N * C);
  const tracer = elementTracer(op, 'ort', opts);
  for (let o = 0; o < N * C; o++) {
    let acc = -q.zeroPoint * hw;
    for (let i = 0; i < hw; i++) acc += x.data[o * hw + i]!;
    const pre = f32(acc * m);
    const code = clampU8(roundHalfToEven(pre) + q.zeroPoint);
    y[o] = code;
    if (tracer?.want(o))
      tracer.emit({
        index: o,
        inputs: [perTensorOperand(Array.from(x.data.subarray(o * hw, (o + 1) * hw)), q)],
        intermediates: { sum: acc, multiplier: m },
        preRound: pre,
        output: code,
      });
  }
  return makeQuint8Out(y, x.ndim === 3 ? [C, 1, 1] : [N, C, 1, 1], q.scale, q.zeroPoint);
}

/**
 * Eigen's `Map<VectorXf>::sum()` as ORT's x64 build runs it (SSE, 4-float packets): two packet
 * accumulators over the 16-byte-aligned body (pairs of packets, then one more packet if left), the
 * lanes added as `(l0 + l2) + (l1 + l3)`, then the unaligned head and the tail one by one. `offset` is
 * the row's start in floats; ORT's buffers are 64-byte aligned, so the head is `(4 − offset % 4) % 4`.
 */
function eigenSseSum(v: Float32Array, offset: number): number {
  const n = v.length;
  const start = Math.min((4 - (offset % 4)) % 4, n);
  const end = start + Math.floor((n - start) / 4) * 4;
  const end2 = start + Math.floor((n - start) / 8) * 8;
  let res = v[0]!;
  if (end === start) {
    // Too short for one aligned packet: plain left-to-right sum.
    for (let i = 1; i < n; i++) res = f32(res + v[i]!);
    return res;
  }
  const p0 = Array.from(v.subarray(start, start + 4));
  if (end - start > 4) {
    const p1 = Array.from(v.subarray(start + 4, start + 8));
    for (let i = start + 8; i < end2; i += 8) {
      for (let l = 0; l < 4; l++) {
        p0[l] = f32(p0[l]! + v[i + l]!);
        p1[l] = f32(p1[l]! + v[i + 4 + l]!);
      }
    }
    for (let l = 0; l < 4; l++) p0[l] = f32(p0[l]! + p1[l]!);
    if (end > end2) for (let l = 0; l < 4; l++) p0[l] = f32(p0[l]! + v[end2 + l]!);
  }
  res = f32(f32(p0[0]! + p0[2]!) + f32(p0[1]! + p0[3]!));
  for (let i = 0; i < start; i++) res = f32(res + v[i]!);
  for (let i = end; i < n; i++) res = f32(res + v[i]!);
  return res;
}

/**
 * Engine 'ort' mean = ONNX ReduceMean between DequantizeLinear and QuantizeLinear with the input's
 * qparams (ORT does not fuse it): each row of the reduced innermost dims is dequantized, summed in
 * float32 and divided, `Q(f32(sum / n))`. The sum is sequential on wasm (`target: 'wasm'`, default)
 * and Eigen's SSE packet sum on x64 ({@link eigenSseSum}). Reducing dims that are not innermost takes
 * ORT's other reduction loops, not reproduced: `UNSUPPORTED_OP`.
 */
export function ortMean(x: QTensor, params: MeanParams, opts?: KernelOptions): QTensor {
  const op = 'mean';
  const q = checkNonGemmInput(op, x);
  const target = resolveOrtTarget(op, opts);
  const { fallback, inner, outer, outShape } = meanReduction(x, params, 'ort', undefined);
  if (fallback) {
    throw new QuantError(
      'UNSUPPORTED_OP',
      `${op}: dims ${JSON.stringify(params.dim)} are not the innermost dims; engine 'ort' reproduces ONNX Runtime's ReduceMean over the innermost dims only. Permute them last, or use adaptiveAvgPool2d(x, 1) for a spatial mean.`,
    );
  }
  const y = allocU8(outer);
  const row = new Float32Array(inner);
  const tracer = elementTracer(op, 'ort', opts);
  for (let o = 0; o < outer; o++) {
    for (let e = 0; e < inner; e++) row[e] = ortDequantize(x.data[o * inner + e]!, q.scale, q.zeroPoint);
    let sum = 0;
    if (target === 'x64') sum = eigenSseSum(row, o * inner);
    else for (let e = 0; e < inner; e++) sum = f32(sum + row[e]!);
    const m = f32(sum / inner);
    const code = ortQuantize(m, q.scale, q.zeroPoint);
    y[o] = code;
    if (tracer?.want(o))
      tracer.emit({
        index: o,
        inputs: [perTensorOperand(Array.from(x.data.subarray(o * inner, (o + 1) * inner)), q)],
        intermediates: { sum, count: inner, mean: m },
        preRound: f32(m / f32(q.scale)),
        output: code,
      });
  }
  return makeQuint8Out(y, outShape, q.scale, q.zeroPoint);
}

// ---------------------------------------------------------------------------------------------
// Activations

/** Applies a 256-entry table (with tracing). */
export function ortApplyTable(
  op: 'relu6' | 'hardtanh' | 'clamp' | 'hardswish' | 'hardsigmoid' | 'sigmoid' | 'tanh',
  x: QTensor,
  q: NonGemmInput,
  out: { scale: number; zeroPoint: number },
  table: Uint8Array,
  opts: KernelOptions | undefined,
): QTensor {
  const tracer = elementTracer(op, 'ort', opts);
  const y = allocU8(x.numel);
  for (let i = 0; i < y.length; i++) {
    const c = x.data[i]!;
    y[i] = table[c]!;
    if (tracer?.want(i))
      tracer.emit({
        index: i,
        inputs: [perTensorOperand([c], q)],
        intermediates: { dequantized: ortDequantize(c, q.scale, q.zeroPoint) },
        preRound: null,
        output: table[c]!,
      });
  }
  return makeQuint8Out(y, x.shape, out.scale, out.zeroPoint);
}
