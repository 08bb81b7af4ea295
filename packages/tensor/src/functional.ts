// torch.nn.functional (and the torch.* tensor ops quint needs) as float32 reference ops. Each op is
// wrapped with defineOp so the FX tracer can intercept it. The float32 operation order of each op is
// PyTorch 1.13's CPU kernel's (spec pytorch-semantics.md §11.2, §12.B), so observers calibrated on
// these outputs see PyTorch's floats.
import { defineOp } from './dispatch.js';
import { QuantError } from './errors.js';
import { innerSum, outerSum } from './reduce.js';
import { expf, sleefExpf } from './sleef.js';
import { contiguousStrides, shapeNumel, Tensor } from './tensor.js';

const f32 = Math.fround;

function shapeStr(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function unary(x: Tensor, fn: (v: number) => number): Tensor {
  const src = x.contiguous();
  const n = src.numel;
  const out = new Float32Array(n);
  const d = src.data;
  for (let i = 0; i < n; i++) out[i] = fn(d[i]!);
  return new Tensor(out, x.shape);
}

/** Broadcast shape of two shapes (numpy rules), or `SHAPE_MISMATCH`. */
function broadcastShapes(a: readonly number[], b: readonly number[], what: string): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new QuantError(
        'SHAPE_MISMATCH',
        `${what}: shapes ${shapeStr(a)} and ${shapeStr(b)} do not broadcast (dim ${i}: ${da} vs ${db}); make each dim equal or 1.`,
      );
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Strides of `t` seen through `outShape` (0 on broadcast dims). */
function broadcastStrides(t: Tensor, outShape: readonly number[]): number[] {
  const n = outShape.length;
  const st = new Array<number>(n).fill(0);
  for (let i = 0; i < t.ndim; i++) {
    const o = n - t.ndim + i;
    st[o] = t.shape[i] === 1 ? 0 : t.strides[i]!;
  }
  return st;
}

function binary(a: Tensor, b: Tensor | number, fn: (x: number, y: number) => number, what: string): Tensor {
  if (typeof b === 'number') {
    // A Python scalar is a wrapped double that takes the tensor's dtype: the op runs on f32(b).
    const s = f32(b);
    return unary(a, (v) => fn(v, s));
  }
  const shape = broadcastShapes(a.shape, b.shape, what);
  const n = shapeNumel(shape);
  const out = new Float32Array(n);
  if (a.isContiguous() && b.isContiguous() && a.numel === n && b.numel === n) {
    const ad = a.data;
    const bd = b.data;
    for (let i = 0; i < n; i++) out[i] = fn(ad[i]!, bd[i]!);
    return new Tensor(out, shape);
  }
  const sa = broadcastStrides(a, shape);
  const sb = broadcastStrides(b, shape);
  const nd = shape.length;
  const idx = new Array<number>(nd).fill(0);
  let pa = a.offset;
  let pb = b.offset;
  for (let i = 0; i < n; i++) {
    out[i] = fn(a.data[pa]!, b.data[pb]!);
    for (let d = nd - 1; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) {
        pa += sa[d]!;
        pb += sb[d]!;
        break;
      }
      pa -= sa[d]! * (shape[d]! - 1);
      pb -= sb[d]! * (shape[d]! - 1);
      idx[d] = 0;
    }
  }
  return new Tensor(out, shape);
}

function reluImpl(x: Tensor): Tensor {
  // clamp_min(x, 0) is max_ps(0, x): NaN and −0 pass through unchanged.
  return unary(x, (v) => (v < 0 ? 0 : v));
}

/**
 * `F.relu`: `max(x, 0)`; NaN stays NaN.
 *
 * @example relu(tensor([-1, 2])).toArray() // [0, 2]
 * @see https://pytorch.org/docs/1.13/generated/torch.nn.functional.relu.html
 */
export const relu = defineOp('relu', reluImpl);

function hardtanhImpl(x: Tensor, minVal = -1, maxVal = 1): Tensor {
  if (!(minVal <= maxVal)) {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `hardtanh: minVal ${minVal} is greater than maxVal ${maxVal}; pass minVal <= maxVal.`,
    );
  }
  const lo = f32(minVal);
  const hi = f32(maxVal);
  return unary(x, (v) => (v < lo ? lo : v > hi ? hi : v));
}

/**
 * `F.hardtanh`: clamps to `[minVal, maxVal]` (bounds rounded to float32); NaN stays NaN.
 *
 * @throws QuantError `INVALID_ARGUMENT` when `minVal > maxVal`.
 * @example hardtanh(tensor([-3, 0.5, 3])).toArray() // [-1, 0.5, 1]
 * @see https://pytorch.org/docs/1.13/generated/torch.nn.functional.hardtanh.html
 */
export const hardtanh = defineOp('hardtanh', hardtanhImpl);

function relu6Impl(x: Tensor): Tensor {
  return hardtanhImpl(x, 0, 6);
}

/**
 * `F.relu6`: clamps to `[0, 6]`.
 *
 * @example relu6(tensor([-1, 7])).toArray() // [0, 6]
 * @see https://pytorch.org/docs/1.13/generated/torch.nn.functional.relu6.html
 */
export const relu6 = defineOp('relu6', relu6Impl);

function hardswishImpl(x: Tensor): Tensor {
  // §12.B: t = min(max(f32(x + 3), 0), 6); y = f32(f32(x·t) / 6), vector and scalar bodies alike.
  return unary(x, (v) => {
    let t = f32(v + 3);
    t = t < 0 ? 0 : t > 6 ? 6 : t;
    return f32(f32(v * t) / 6);
  });
}

/**
 * `F.hardswish`: `x · relu6(x + 3) / 6`, in PyTorch 1.13's float32 order (bit-exact).
 *
 * @example hardswish(tensor([-4, 1])).toArray() // [-0, 0.6666667]
 * @see https://pytorch.org/docs/1.13/generated/torch.nn.functional.hardswish.html
 */
export const hardswish = defineOp('hardswish', hardswishImpl);

function hardsigmoidImpl(x: Tensor): Tensor {
  // ATen hardsigmoid_kernel: min(max(f32(x + 3), 0), 6) / 6 in float32.
  return unary(x, (v) => {
    let t = f32(v + 3);
    t = t < 0 ? 0 : t > 6 ? 6 : t;
    return f32(t / 6);
  });
}

/**
 * `F.hardsigmoid`: `relu6(x + 3) / 6`.
 *
 * @example hardsigmoid(tensor([0])).toArray() // [0.5]
 * @see https://pytorch.org/docs/1.13/generated/torch.nn.functional.hardsigmoid.html
 */
export const hardsigmoid = defineOp('hardsigmoid', hardsigmoidImpl);

function sigmoidImpl(x: Tensor): Tensor {
  const src = x.contiguous();
  const n = src.numel;
  const d = src.data;
  const out = new Float32Array(n);
  // §12.B B1: cpu_kernel_vec runs the first ⌊n/16⌋·16 elements through Sleef expf8_u10 and the
  // rest through the scalar body with C expf; both divide in float32.
  const vecEnd = n - (n % 16);
  for (let i = 0; i < vecEnd; i++) out[i] = f32(1 / f32(1 + sleefExpf(f32(0 - d[i]!))));
  for (let i = vecEnd; i < n; i++) out[i] = f32(1 / f32(1 + expf(-d[i]!)));
  return new Tensor(out, x.shape);
}

/**
 * `torch.sigmoid`: `1 / (1 + exp(−x))`, with PyTorch 1.13's split between the Sleef vector body
 * (first ⌊n/16⌋·16 elements in memory order) and the scalar tail (bit-exact).
 *
 * @example sigmoid(tensor([0])).toArray() // [0.5]
 * @see https://pytorch.org/docs/1.13/generated/torch.sigmoid.html
 */
export const sigmoid = defineOp('sigmoid', sigmoidImpl);

function tanhImpl(x: Tensor): Tensor {
  // PyTorch uses Sleef tanhf8_u10 (double-float arithmetic, ≤1 ulp); we use the correctly rounded
  // value, which agrees except in rare last-bit cases (declared in the tests).
  return unary(x, (v) => f32(Math.tanh(v)));
}

/**
 * `torch.tanh`, correctly rounded to float32 (PyTorch's Sleef `tanhf8_u10` may differ by 1 ulp).
 *
 * @example tanh(tensor([0])).toArray() // [0]
 * @see https://pytorch.org/docs/1.13/generated/torch.tanh.html
 */
export const tanh = defineOp('tanh', tanhImpl);

function addImpl(input: Tensor, other: Tensor | number): Tensor {
  return binary(input, other, (a, b) => f32(a + b), 'add');
}

/**
 * `torch.add`: elementwise float32 sum with broadcasting; `other` may be a number.
 *
 * @throws QuantError `SHAPE_MISMATCH` when shapes do not broadcast.
 * @example add(tensor([1, 2]), 0.5).toArray() // [1.5, 2.5]
 * @see https://pytorch.org/docs/1.13/generated/torch.add.html
 */
export const add = defineOp('add', addImpl);

function mulImpl(input: Tensor, other: Tensor | number): Tensor {
  return binary(input, other, (a, b) => f32(a * b), 'mul');
}

/**
 * `torch.mul`: elementwise float32 product with broadcasting; `other` may be a number.
 *
 * @throws QuantError `SHAPE_MISMATCH` when shapes do not broadcast.
 * @example mul(tensor([1, 2]), tensor([3])).toArray() // [3, 6]
 * @see https://pytorch.org/docs/1.13/generated/torch.mul.html
 */
export const mul = defineOp('mul', mulImpl);

function catImpl(tensors: readonly Tensor[], dim = 0): Tensor {
  const first = tensors[0];
  if (first === undefined) {
    throw new QuantError('INVALID_ARGUMENT', 'cat: got an empty list of tensors; pass at least one tensor.');
  }
  const d = first.normDim(dim);
  for (const t of tensors) {
    if (t.ndim !== first.ndim || t.shape.some((s, i) => i !== d && s !== first.shape[i])) {
      throw new QuantError(
        'SHAPE_MISMATCH',
        `cat: shapes ${shapeStr(first.shape)} and ${shapeStr(t.shape)} differ outside dim ${d}; make them equal except along dim ${d}.`,
      );
    }
  }
  const outer = shapeNumel(first.shape.slice(0, d));
  const inner = shapeNumel(first.shape.slice(d + 1));
  const total = tensors.reduce((s, t) => s + t.shape[d]!, 0);
  const shape = [...first.shape];
  shape[d] = total;
  const out = new Float32Array(outer * total * inner);
  let at = 0;
  for (const t of tensors) {
    const src = t.toFloat32Array();
    const chunk = t.shape[d]! * inner;
    for (let o = 0; o < outer; o++) out.set(src.subarray(o * chunk, (o + 1) * chunk), o * total * inner + at);
    at += chunk;
  }
  return new Tensor(out, shape);
}

/**
 * `torch.cat`: concatenates along `dim` (exact copies).
 *
 * @throws QuantError `SHAPE_MISMATCH` when shapes differ outside `dim`; `INVALID_ARGUMENT` for an empty list.
 * @example cat([zeros([1, 2]), ones([1, 2])], 0).shape // [2, 2]
 * @see https://pytorch.org/docs/1.13/generated/torch.cat.html
 */
export const cat = defineOp('cat', catImpl);

function matmulCore(
  a: Float32Array,
  aOff: number,
  b: Float32Array,
  bOff: number,
  out: Float32Array,
  outOff: number,
  m: number,
  k: number,
  n: number,
): void {
  // Reference BLAS sgemm (and ATen's small bmm loop): per output, a sequential float32 sum over k
  // starting at 0, product rounded before the add (no FMA): t = f32(t + f32(a·b)).
  const col = new Float32Array(k);
  for (let j = 0; j < n; j++) {
    for (let l = 0; l < k; l++) col[l] = b[bOff + l * n + j]!;
    for (let i = 0; i < m; i++) {
      let t = 0;
      const ar = aOff + i * k;
      for (let l = 0; l < k; l++) t = f32(t + f32(a[ar + l]! * col[l]!));
      out[outOff + i * n + j] = t;
    }
  }
}

function matmulImpl(input: Tensor, other: Tensor): Tensor {
  if (input.ndim === 0 || other.ndim === 0) {
    throw new QuantError('SHAPE_MISMATCH', 'matmul: both arguments need at least 1 dimension; use mul for scalars.');
  }
  const a2 = input.ndim === 1 ? input.reshape([1, input.shape[0]!]) : input;
  const b2 = other.ndim === 1 ? other.reshape([other.shape[0]!, 1]) : other;
  const m = a2.shape[a2.ndim - 2]!;
  const k = a2.shape[a2.ndim - 1]!;
  const k2 = b2.shape[b2.ndim - 2]!;
  const n = b2.shape[b2.ndim - 1]!;
  if (k !== k2) {
    throw new QuantError(
      'SHAPE_MISMATCH',
      `matmul: shapes ${shapeStr(input.shape)} and ${shapeStr(other.shape)} cannot be multiplied (${k} vs ${k2}); the last dim of the first must equal the second-to-last of the second.`,
    );
  }
  const batch = broadcastShapes(a2.shape.slice(0, -2), b2.shape.slice(0, -2), 'matmul');
  const nb = shapeNumel(batch);
  const ax = a2.contiguous();
  const bx = b2.contiguous();
  const aBatch = a2.shape.slice(0, -2);
  const bBatch = b2.shape.slice(0, -2);
  const bs = contiguousStrides(batch);
  const out = new Float32Array(nb * m * n);
  for (let bi = 0; bi < nb; bi++) {
    let ia = 0;
    let ib = 0;
    let rem = bi;
    for (let d = 0; d < batch.length; d++) {
      const id = Math.floor(rem / bs[d]!);
      rem -= id * bs[d]!;
      const da = d - (batch.length - aBatch.length);
      const db = d - (batch.length - bBatch.length);
      if (da >= 0) ia = ia * aBatch[da]! + (aBatch[da] === 1 ? 0 : id);
      if (db >= 0) ib = ib * bBatch[db]! + (bBatch[db] === 1 ? 0 : id);
    }
    matmulCore(ax.data, ia * m * k, bx.data, ib * k * n, out, bi * m * n, m, k, n);
  }
  let shape = [...batch, m, n];
  if (input.ndim === 1) shape = shape.filter((_, i) => i !== shape.length - 2);
  if (other.ndim === 1) shape = shape.slice(0, -1);
  return new Tensor(out, shape);
}

/**
 * `torch.matmul`: 1-D, 2-D and batched (broadcast) products. Each output is a sequential float32
 * sum over k with rounded products, as PyTorch's reference-BLAS `sgemm` computes it.
 *
 * @throws QuantError `SHAPE_MISMATCH` when inner dims differ or batch dims do not broadcast.
 * @example matmul(tensor([1, 2, 3, 4], [2, 2]), tensor([1, 1])).toArray() // [3, 7]
 * @see https://pytorch.org/docs/1.13/generated/torch.matmul.html
 */
export const matmul = defineOp('matmul', matmulImpl);

function linearImpl(input: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  if (weight.ndim !== 2) {
    throw new QuantError('SHAPE_MISMATCH', `linear: weight must be 2-D [out, in], got ${shapeStr(weight.shape)}.`);
  }
  const [outF, inF] = weight.shape as [number, number];
  if (input.ndim === 0 || input.shape[input.ndim - 1] !== inF) {
    throw new QuantError(
      'SHAPE_MISMATCH',
      `linear: input ${shapeStr(input.shape)} has last dim ${input.shape[input.ndim - 1]}, weight expects ${inF}; reshape the input to [..., ${inF}].`,
    );
  }
  if (bias != null && (bias.ndim !== 1 || bias.shape[0] !== outF)) {
    throw new QuantError('SHAPE_MISMATCH', `linear: bias ${shapeStr(bias.shape)} must be [${outF}].`);
  }
  const x = input.contiguous().data;
  const w = weight.contiguous().data;
  const b = bias == null ? null : bias.contiguous().data;
  const rows = input.numel / inF;
  const out = new Float32Array(rows * outF);
  // addmm → reference sgemm('T','N'): t = 0; t = f32(t + f32(x_k·w_k)); then y = f32(t + b).
  for (let r = 0; r < rows; r++) {
    const xo = r * inF;
    for (let o = 0; o < outF; o++) {
      const wo = o * inF;
      let t = 0;
      for (let k = 0; k < inF; k++) t = f32(t + f32(x[xo + k]! * w[wo + k]!));
      out[r * outF + o] = b === null ? t : f32(t + b[o]!);
    }
  }
  return new Tensor(out, [...input.shape.slice(0, -1), outF]);
}

/**
 * `F.linear`: `x · Wᵀ + b` with `weight` of shape `[out, in]`, in PyTorch 1.13's `addmm` order
 * (sequential float32 sum over `in`, then the bias).
 *
 * @throws QuantError `SHAPE_MISMATCH` when `x`'s last dim is not `in` or the bias is not `[out]`.
 * @example linear(ones([1, 3]), ones([2, 3]), tensor([0.5, 1])).toArray() // [3.5, 4]
 * @see https://pytorch.org/docs/1.13/generated/torch.nn.functional.linear.html
 */
export const linear = defineOp('linear', linearImpl);

/** Options of {@link batchNorm2d} (inference: running statistics only). */
export interface BatchNorm2dOptions {
  runningMean: Tensor;
  runningVar: Tensor;
  weight?: Tensor | null;
  bias?: Tensor | null;
  /** Default 1e-5 (rounded to float32, as ATen adds it to the float variance). */
  eps?: number;
}

function batchNorm2dImpl(x: Tensor, opts: BatchNorm2dOptions): Tensor {
  if (x.ndim !== 4) {
    throw new QuantError('SHAPE_MISMATCH', `batchNorm2d: input must be 4-D NCHW, got ${shapeStr(x.shape)}.`);
  }
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const vec = (t: Tensor | null | undefined, what: string): Float32Array | null => {
    if (t == null) return null;
    if (t.numel !== C) {
      throw new QuantError(
        'SHAPE_MISMATCH',
        `batchNorm2d: ${what} has ${t.numel} elements, the input has ${C} channels; pass a [${C}] tensor.`,
      );
    }
    return t.toFloat32Array();
  };
  const mean = vec(opts.runningMean, 'runningMean')!;
  const varr = vec(opts.runningVar, 'runningVar')!;
  const w = vec(opts.weight, 'weight');
  const b = vec(opts.bias, 'bias');
  const eps = f32(opts.eps ?? 1e-5);
  // ATen batch_norm_cpu_collect_linear_and_constant_terms (float): alpha = invstd·w,
  // beta = b − mean·alpha; then y = x·alpha + beta per element. ATen's AVX2 kernels are compiled
  // with FMA contraction, so both `b − mean·alpha` and `x·alpha + beta` round once (verified).
  const alpha = new Float32Array(C);
  const beta = new Float32Array(C);
  for (let c = 0; c < C; c++) {
    const invstd = f32(1 / f32(Math.sqrt(f32(varr[c]! + eps))));
    alpha[c] = f32(invstd * (w === null ? 1 : w[c]!));
    beta[c] = f32((b === null ? 0 : b[c]!) - mean[c]! * alpha[c]!);
  }
  const src = x.contiguous().data;
  const out = new Float32Array(N * C * H * W);
  const hw = H * W;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const a = alpha[c]!;
      const be = beta[c]!;
      const o = (n * C + c) * hw;
      for (let i = o; i < o + hw; i++) out[i] = f32(src[i]! * a + be);
    }
  }
  return new Tensor(out, x.shape);
}

/**
 * `F.batch_norm` in inference mode over NCHW: `(x − mean) / sqrt(var + eps) · weight + bias`,
 * computed as PyTorch 1.13 does (per-channel `alpha`, `beta` in float32, then `x·alpha + beta`).
 *
 * @throws QuantError `SHAPE_MISMATCH` for a non-4-D input or statistics of the wrong length.
 * @example batchNorm2d(x, { runningMean: zeros([3]), runningVar: ones([3]) })
 * @see https://pytorch.org/docs/1.13/generated/torch.nn.functional.batch_norm.html
 */
export const batchNorm2d = defineOp('batchNorm2d', batchNorm2dImpl);

function softmaxImpl(x: Tensor, dim: number): Tensor {
  const d = x.normDim(dim);
  const src = x.contiguous().data;
  const size = x.shape[d]!;
  const inner = shapeNumel(x.shape.slice(d + 1));
  const outer = shapeNumel(x.shape.slice(0, d));
  const out = new Float32Array(src.length);
  if (inner === 1) {
    // _vec_softmax_lastdim: max, Sleef exp(x − max) on every element (tails are partial vectors),
    // sum as reduce_all (8 lane accumulators, then lanes in order), multiply by f32(1/sum).
    for (let o = 0; o < outer; o++) {
      const off = o * size;
      let mx = -Infinity;
      for (let i = 0; i < size; i++) {
        const v = src[off + i]!;
        if (v > mx || Number.isNaN(v)) mx = v;
      }
      for (let i = 0; i < size; i++) out[off + i] = sleefExpf(f32(src[off + i]! - mx));
      const s = reduceAllSum(out, off, size);
      const r = f32(1 / s);
      for (let i = 0; i < size; i++) out[off + i] = f32(out[off + i]! * r);
    }
    return new Tensor(out, x.shape);
  }
  // _vec_softmax (dim not last): 8 inner positions at a time through Sleef, division by the sum;
  // inner positions that do not fill a vector take the scalar body with expf.
  for (let o = 0; o < outer; o++) {
    const base = o * size * inner;
    const vecEnd = inner - (inner % 8);
    for (let j = 0; j < inner; j++) {
      const vec = j < vecEnd;
      let mx = src[base + j]!;
      for (let i = 1; i < size; i++) {
        const v = src[base + i * inner + j]!;
        if (v > mx || Number.isNaN(v)) mx = v;
      }
      let s = 0;
      for (let i = 0; i < size; i++) {
        const p = base + i * inner + j;
        const e = vec ? sleefExpf(f32(src[p]! - mx)) : expf(f32(src[p]! - mx));
        out[p] = e;
        s = f32(s + e);
      }
      for (let i = 0; i < size; i++) {
        const p = base + i * inner + j;
        out[p] = f32(out[p]! / s);
      }
    }
  }
  return new Tensor(out, x.shape);
}

/** ATen vec::reduce_all with `+`: 8 lane accumulators over full vectors, then lanes 0..7 in order. */
function reduceAllSum(data: Float32Array, off: number, size: number): number {
  if (size < 8) {
    let s = data[off]!;
    for (let i = 1; i < size; i++) s = f32(s + data[off + i]!);
    return s;
  }
  const acc = new Float64Array(8);
  for (let l = 0; l < 8; l++) acc[l] = data[off + l]!;
  let d = 8;
  const full = size - (size % 8);
  for (; d < full; d += 8) for (let l = 0; l < 8; l++) acc[l] = f32(acc[l]! + data[off + d + l]!);
  // The partial last vector updates only its first (size − d) lanes.
  for (let l = 0; d + l < size; l++) acc[l] = f32(acc[l]! + data[off + d + l]!);
  // AVX2 vec_reduce_all: lanes folded as a tree (l + l+4, then + l+2, then + l+1).
  const s4 = [0, 1, 2, 3].map((l) => f32(acc[l]! + acc[l + 4]!));
  const s2 = [0, 1].map((l) => f32(s4[l]! + s4[l + 2]!));
  return f32(s2[0]! + s2[1]!);
}

/**
 * `F.softmax` along `dim`: `exp(x − max) / Σ exp(x − max)`, following PyTorch 1.13's vectorized
 * kernels (Sleef exp; last dim multiplies by the reciprocal sum, other dims divide).
 *
 * @throws QuantError `AXIS_OUT_OF_RANGE` for a bad `dim`.
 * @example softmax(tensor([0, 0]), 0).toArray() // [0.5, 0.5]
 * @see https://pytorch.org/docs/1.13/generated/torch.nn.functional.softmax.html
 */
export const softmax = defineOp('softmax', softmaxImpl);

function meanImpl(x: Tensor, dims?: number | readonly number[] | null, keepdim = false): Tensor {
  const nd = x.ndim;
  const list = dims == null ? x.shape.map((_, i) => i) : typeof dims === 'number' ? [dims] : [...dims];
  const red = [...new Set(list.map((d) => x.normDim(d, Math.max(nd, 1))))].sort((a, b) => a - b);
  const isRed = (i: number): boolean => red.includes(i);
  const count = red.reduce((p, d) => p * (x.shape[d] ?? 1), 1);
  const keptShape = x.shape.filter((_, i) => !isRed(i));
  const outShape = keepdim ? x.shape.map((s, i) => (isRed(i) ? 1 : s)) : keptShape;
  // torch.sum's order depends on how TensorIterator lays the loop out: move the reduced dims
  // together; when they are the innermost block, each output sums a contiguous row (inner path);
  // when a kept block follows them, columns are summed (outer path).
  const perm = [...x.shape.keys()].filter((i) => !isRed(i));
  const lastKept = perm.length === 0 ? -1 : perm[perm.length - 1]!;
  const redBlockInner = red.every((d) => d > lastKept);
  const src = x.contiguous();
  const data = src.data;
  const sums = new Float32Array(shapeNumel(keptShape));
  const size0 = count;
  if (redBlockInner) {
    for (let o = 0; o < sums.length; o++) sums[o] = innerSum(data, o * size0, size0);
  } else {
    // Kept dims after the first reduced dim must all be trailing kept dims for the outer path.
    const firstRed = red[0]!;
    const contiguousRed = red.every((d, i) => d === firstRed + i);
    const trailingKept = x.shape.slice(red[red.length - 1]! + 1);
    if (!contiguousRed) {
      // Not a layout PyTorch reduces in one 2-D loop; fall back to a gather then the inner order.
      const permuted = x.permute([...perm, ...red]).contiguous().data;
      for (let o = 0; o < sums.length; o++) sums[o] = innerSum(permuted, o * size0, size0);
    } else {
      const size1 = shapeNumel(trailingKept);
      const outerN = shapeNumel(x.shape.slice(0, firstRed));
      for (let o = 0; o < outerN; o++) outerSum(data, o * size0 * size1, size1, size0, size1, sums, o * size1);
    }
  }
  const div = f32(count);
  for (let i = 0; i < sums.length; i++) sums[i] = f32(sums[i]! / div);
  return new Tensor(sums, outShape);
}

/**
 * `torch.mean` over `dims` (all dims when omitted): `torch.sum` in ATen's cascade order (8 lanes),
 * then one float32 division by the element count, as PyTorch 1.13's CPU mean does.
 *
 * @throws QuantError `AXIS_OUT_OF_RANGE` for a bad dim.
 * @example mean(ones([1, 2, 4, 4]), [2, 3], true).shape // [1, 2, 1, 1]
 * @see https://pytorch.org/docs/1.13/generated/torch.mean.html
 */
export const mean = defineOp('mean', meanImpl);

function flattenImpl(x: Tensor, startDim = 0, endDim = -1): Tensor {
  return x.flatten(startDim, endDim);
}

/**
 * `torch.flatten`: merges dims `startDim..endDim` (a view when contiguous).
 *
 * @throws QuantError `AXIS_OUT_OF_RANGE` for a bad dim.
 * @example flatten(zeros([2, 3, 4]), 1).shape // [2, 12]
 * @see https://pytorch.org/docs/1.13/generated/torch.flatten.html
 */
export const flatten = defineOp('flatten', flattenImpl);

function reshapeImpl(x: Tensor, shape: readonly number[]): Tensor {
  return x.reshape(shape);
}

/**
 * `torch.reshape`: a new shape with the same elements (one dim may be −1).
 *
 * @throws QuantError `SHAPE_MISMATCH` when the element count differs.
 * @example reshape(zeros([2, 6]), [3, -1]).shape // [3, 4]
 * @see https://pytorch.org/docs/1.13/generated/torch.reshape.html
 */
export const reshape = defineOp('reshape', reshapeImpl);

function permuteImpl(x: Tensor, dims: readonly number[]): Tensor {
  return x.permute(dims);
}

/**
 * `torch.permute`: a view with dims reordered.
 *
 * @throws QuantError `SHAPE_MISMATCH` when `dims` is not a permutation.
 * @example permute(zeros([2, 3]), [1, 0]).shape // [3, 2]
 * @see https://pytorch.org/docs/1.13/generated/torch.permute.html
 */
export const permute = defineOp('permute', permuteImpl);

function dropoutImpl(x: Tensor, p = 0.5, training = false): Tensor {
  if (!(p >= 0 && p <= 1)) {
    throw new QuantError('INVALID_ARGUMENT', `dropout: p = ${p} is outside [0, 1]; pass a probability.`);
  }
  if (training) {
    throw new QuantError(
      'UNSUPPORTED_OP',
      'dropout: training mode is not supported (quint runs inference only); pass training = false.',
    );
  }
  return x;
}

/**
 * `F.dropout` in inference mode: returns its input. Unlike PyTorch, `training` defaults to false.
 *
 * @throws QuantError `UNSUPPORTED_OP` when `training` is true; `INVALID_ARGUMENT` for p outside [0, 1].
 * @example dropout(x, 0.5) === x // true
 * @see https://pytorch.org/docs/1.13/generated/torch.nn.functional.dropout.html
 */
export const dropout = defineOp('dropout', dropoutImpl);
