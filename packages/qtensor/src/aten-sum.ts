// PyTorch 1.13's float32 `at::sum` on CPU in its exact summation order, and the `mean` fallback
// built on it (dequantize → float mean → quantize). Sources: ATen 1.13.1 native/cpu/SumKernel.cpp
// (cascade_sum), TensorIterator.cpp (reorder_dimensions, coalesce_dimensions, serial_for_each),
// native/ReduceOps.cpp (mean_out = sum_out then div_), native/quantized/cpu/ReduceOps.cpp (the
// quantized mean's fallback). Evidence: docs/numerics.md ("Non-GEMM kernels", mean).
import { dequantizeVal, quantizeVal } from './affine-quantizer-base.js';

const f32 = Math.fround;
/** Floats per `Vectorized<float>` in the AVX2 build (Debian's torch 1.13 on an AVX2 CPU). */
const VEC = 8;
/** multi_row_sum's cascade depth. */
const NUM_LEVELS = 4;
/** row_sum splits a row into this many interleaved partial sums. */
const ILP = 4;

/** `utils::CeilLog2`. */
function ceilLog2(x: number): number {
  return x <= 1 ? 0 : 32 - Math.clz32(x - 1);
}

/**
 * ATen's `multi_row_sum`: `nrows` rows of `lanes` floats summed over `size` steps with 4 cascade
 * levels of `2^max(4, ⌈log2 size⌉/4)` steps. Element (step i, row k, lane l) is
 * `src[base + i·stepStride + k·rowStride + l]`. Returns nrows·lanes sums.
 */
function multiRowSum(
  src: Float32Array,
  base: number,
  stepStride: number,
  rowStride: number,
  nrows: number,
  lanes: number,
  size: number,
): Float32Array {
  const w = nrows * lanes;
  const acc = new Float32Array(NUM_LEVELS * w);
  const levelPower = Math.max(4, Math.floor(ceilLog2(size) / NUM_LEVELS));
  const levelStep = 2 ** levelPower;
  const levelMask = levelStep - 1;
  const load = (i: number): void => {
    for (let k = 0; k < nrows; k++) {
      for (let l = 0; l < lanes; l++)
        acc[k * lanes + l] = acc[k * lanes + l]! + src[base + i * stepStride + k * rowStride + l]!;
    }
  };
  let i = 0;
  while (i + levelStep <= size) {
    for (let j = 0; j < levelStep; j++, i++) load(i);
    for (let j = 1; j < NUM_LEVELS; j++) {
      for (let e = 0; e < w; e++) {
        acc[j * w + e] = acc[j * w + e]! + acc[(j - 1) * w + e]!;
        acc[(j - 1) * w + e] = 0;
      }
      // Level j carries on only when i is a multiple of levelStep^(j+1).
      if ((i & (levelMask * 2 ** (j * levelPower))) !== 0) break;
    }
  }
  for (; i < size; i++) load(i);
  const out = acc.slice(0, w);
  for (let j = 1; j < NUM_LEVELS; j++) {
    for (let e = 0; e < w; e++) out[e] = out[e]! + acc[j * w + e]!;
  }
  return out;
}

/**
 * ATen's `row_sum`: `size` elements (of `lanes` floats, `stride` apart) as 4 interleaved partial
 * sums by {@link multiRowSum}, the leftover elements added to partial 0, then partials 1–3 to it.
 */
function rowSum(src: Float32Array, base: number, stride: number, size: number, lanes: number): Float32Array {
  const sizeIlp = Math.floor(size / ILP);
  const p = multiRowSum(src, base, stride * ILP, stride, ILP, lanes, sizeIlp);
  const out = p.slice(0, lanes);
  for (let i = sizeIlp * ILP; i < size; i++) {
    for (let l = 0; l < lanes; l++) out[l] = out[l]! + src[base + i * stride + l]!;
  }
  for (let k = 1; k < ILP; k++) {
    for (let l = 0; l < lanes; l++) out[l] = out[l]! + p[k * lanes + l]!;
  }
  return out;
}

/**
 * cascade_sum's 2-D loop body: adds the sums of one size0 × size1 block into `out`. Strides are in
 * elements; the reduced dim is moved first, then the contiguous-inner, contiguous-outer (8 floats a
 * vector, 32-channel blocks of 4 vectors first) or scalar kernel is chosen as ATen does.
 */
function loop2d(
  src: Float32Array,
  out: Float32Array,
  ib: number,
  ob: number,
  inS: [number, number],
  outS: [number, number],
  size0: number,
  size1: number,
): void {
  let [in0, in1] = inS;
  let [out0, out1] = outS;
  if (out0 !== 0 && out1 === 0) {
    [in0, in1, out0, out1, size0, size1] = [in1, in0, out1, out0, size1, size0];
  }
  const add = (j: number, v: number): void => {
    out[ob + j * out1] = out[ob + j * out1]! + v;
  };
  if (out0 !== 0) {
    // Not a reduction in this block (reduced dims of size 1 were coalesced away): out += in.
    for (let j = 0; j < size1; j++) {
      for (let i = 0; i < size0; i++)
        out[ob + j * out1 + i * out0] = out[ob + j * out1 + i * out0]! + src[ib + j * in1 + i * in0]!;
    }
  } else if (in0 === 1 && size0 >= VEC) {
    // vectorized_inner_sum: vectors of 8 consecutive floats, scalar tail, then the 8 lanes in order.
    const vecSize = Math.floor(size0 / VEC);
    for (let j = 0; j < size1; j++) {
      const row = ib + j * in1;
      const v = rowSum(src, row, VEC, vecSize, VEC);
      let acc = 0;
      for (let k = vecSize * VEC; k < size0; k++) acc = f32(acc + src[row + k]!);
      for (let l = 0; l < VEC; l++) acc = f32(acc + v[l]!);
      add(j, acc);
    }
  } else if (in1 === 1 && size1 >= VEC) {
    // vectorized_outer_sum: 4 vectors (32 columns) at a time, then single vectors, then scalars.
    let j = 0;
    for (; j + 4 * VEC <= size1; j += 4 * VEC) {
      const s = multiRowSum(src, ib + j, in0, VEC, 4, VEC, size0);
      for (let e = 0; e < 4 * VEC; e++) add(j + e, s[e]!);
    }
    for (; j + VEC <= size1; j += VEC) {
      const s = rowSum(src, ib + j, in0, size0, VEC);
      for (let l = 0; l < VEC; l++) add(j + l, s[l]!);
    }
    for (; j < size1; j++) add(j, rowSum(src, ib + j, in0, size0, 1)[0]!);
  } else if (in0 < in1) {
    for (let j = 0; j < size1; j++) add(j, rowSum(src, ib + j * in1, in0, size0, 1)[0]!);
  } else {
    // scalar_outer_sum: 4 columns at a time, then one by one.
    let j = 0;
    for (; j + 3 < size1; j += 4) {
      const s = multiRowSum(src, ib + j * in1, in0, in1, 4, 1, size0);
      for (let k = 0; k < 4; k++) add(j + k, s[k]!);
    }
    for (; j < size1; j++) add(j, rowSum(src, ib + j * in1, in0, size0, 1)[0]!);
  }
}

/**
 * PyTorch 1.13's float32 `torch.sum(x, dims, keepdim)` on CPU with one thread, in ATen's exact
 * order: TensorIterator puts the reduced dims first and the others by stride (output, a contiguous
 * tensor, first; then the input), coalesces, and runs cascade_sum's 2-D loop once per outer index,
 * adding into the zero-filled output. The lane width is AVX2's (8 floats). With several threads,
 * inputs of ≥ 32 768 elements are split differently (not reproduced).
 *
 * @param memory - the input's floats in memory order
 * @param shape - logical shape
 * @param strides - logical strides of `memory`, in elements
 * @param dims - reduced dims (normalized, distinct)
 * @returns the sums in C order of the shape with the reduced dims set to 1
 * @example
 * atenSum(Float32Array.of(1, 2, 3, 4), [2, 2], [2, 1], [1]); // [3, 7]
 * @see https://pytorch.org/docs/stable/generated/torch.sum.html
 */
export function atenSum(
  memory: Float32Array,
  shape: readonly number[],
  strides: readonly number[],
  dims: readonly number[],
): Float32Array {
  const nd = shape.length;
  const outShape = shape.map((d, i) => (dims.includes(i) ? 1 : d));
  const outStrides: number[] = new Array<number>(nd);
  for (let i = nd - 1, a = 1; i >= 0; i--) {
    outStrides[i] = dims.includes(i) ? 0 : a;
    a *= outShape[i]!;
  }
  // TensorIterator's dims are reversed (dim 0 moves fastest).
  let sh = [...shape].reverse();
  let st = [outStrides.slice().reverse(), [...strides].reverse()];
  const perm = sh.map((_, i) => i);
  const shouldSwap = (d0: number, d1: number): number => {
    for (let a = 0; a < 2; a++) {
      const s0 = st[a]![d0]!;
      const s1 = st[a]![d1]!;
      // Reduced dims (output stride 0) go to the front.
      if (a === 0 && (s0 === 0) !== (s1 === 0)) return s1 === 0 ? 1 : -1;
      if (s0 === 0 || s1 === 0) continue;
      if (s0 !== s1) return s0 < s1 ? -1 : 1;
      if (sh[d0]! > sh[d1]!) return 1;
    }
    return 0;
  };
  for (let i = 1; i < nd; i++) {
    let d1 = i;
    for (let d0 = i - 1; d0 >= 0; d0--) {
      const c = shouldSwap(perm[d0]!, perm[d1]!);
      if (c > 0) {
        [perm[d0], perm[d1]] = [perm[d1]!, perm[d0]!];
        d1 = d0;
      } else if (c < 0) break;
    }
  }
  sh = perm.map((p) => sh[p]!);
  st = st.map((s) => perm.map((p) => s[p]!));
  let prev = 0;
  for (let d = 1; d < nd; d++) {
    if (sh[prev] === 1 || sh[d] === 1 || st.every((s) => sh[prev]! * s[prev]! === s[d])) {
      if (sh[prev] === 1) for (const s of st) s[prev] = s[d]!;
      sh[prev] = sh[prev]! * sh[d]!;
    } else {
      prev++;
      for (const s of st) s[prev] = s[d]!;
      sh[prev] = sh[d]!;
    }
  }
  const n = nd === 0 ? 0 : prev + 1;
  const [outSt, inSt] = st as [number[], number[]];
  const out = new Float32Array(outShape.reduce((p, d) => p * d, 1));
  const size0 = sh[0] ?? 1;
  const size1 = n > 1 ? sh[1]! : 1;
  const outer = sh.slice(2, n);
  const count = outer.reduce((p, d) => p * d, 1);
  for (let o = 0; o < count; o++) {
    let rest = o;
    let ib = 0;
    let ob = 0;
    for (let k = 0; k < outer.length; k++) {
      const idx = rest % outer[k]!;
      rest = Math.floor(rest / outer[k]!);
      ib += idx * inSt[2 + k]!;
      ob += idx * outSt[2 + k]!;
    }
    loop2d(
      memory,
      out,
      ib,
      ob,
      [inSt[0] ?? 0, n > 1 ? inSt[1]! : 0],
      [outSt[0] ?? 0, n > 1 ? outSt[1]! : 0],
      size0,
      size1,
    );
  }
  return out;
}

/**
 * The quantized `mean`'s fallback in PyTorch 1.13 (spec §5.8 "otherwise"): `dequantize()` (scalar
 * `f32(s·f32(q − zp))`), float `at::mean` = {@link atenSum} then `f32(sum / n)`, then
 * `quantize_per_tensor` with the input's qparams (`zp + rne(f32(m · f32(1/s)))`, clamped).
 *
 * @param codes - quint8 codes in logical C order
 * @param shape - logical shape
 * @param strides - logical strides of the memory format PyTorch holds the tensor in, in elements
 * @param dims - reduced dims (normalized, distinct)
 * @returns the output codes and the float means they quantize, in C order (keepdim or not: same order)
 * @example
 * const { codes } = atenMeanFallback(x.data, [1, 3, 2, 2], [12, 1, 6, 3], [2, 3], 0.1, 128);
 */
export function atenMeanFallback(
  codes: ArrayLike<number>,
  shape: readonly number[],
  strides: readonly number[],
  dims: readonly number[],
  scale: number,
  zeroPoint: number,
): { codes: Uint8Array; means: Float32Array } {
  const memory = new Float32Array(codes.length);
  const nd = shape.length;
  const idx = new Array<number>(nd).fill(0);
  for (let e = 0; e < codes.length; e++) {
    let off = 0;
    for (let d = 0; d < nd; d++) off += idx[d]! * strides[d]!;
    memory[off] = dequantizeVal(codes[e]!, scale, zeroPoint);
    for (let d = nd - 1; d >= 0 && ++idx[d]! === shape[d]; d--) idx[d] = 0;
  }
  const means = atenSum(memory, shape, strides, dims);
  // mean_out: sum_out then div_ by the element count, a float32 division.
  const count = f32(dims.reduce((p, d) => p * shape[d]!, 1));
  const out = new Uint8Array(means.length);
  for (let o = 0; o < means.length; o++) {
    means[o] = means[o]! / count;
    out[o] = quantizeVal(means[o]!, scale, zeroPoint, 'quint8');
  }
  return { codes: out, means };
}
