// torch.sum's float32 summation order on CPU (ATen SumKernel.cpp `cascade_sum`, PyTorch 1.13, AVX2
// lanes = 8, one thread), as verified in spec pytorch-semantics.md §2.6 / torchsum.py. `mean` and
// `adaptiveAvgPool2d(·, 1)` go through it so calibration sees PyTorch's exact floats. Internal.

const f32 = Math.fround;

/** ATen's AVX2 float vector width, which decides where the cascade splits rows. */
export const SUM_LANES = 8;

function ceilLog2(x: number): number {
  if (x <= 1) return 0;
  return 32 - Math.clz32(x - 1);
}

/**
 * `multi_row_sum` for one column: `size` items at `data[off + i*stride]`, accumulated in 4 levels.
 */
export function multiRowSum(data: Float32Array, off: number, stride: number, size: number): number {
  const levelPower = Math.max(4, ceilLog2(size) >> 2);
  const levelStep = 1 << levelPower;
  const levelMask = levelStep - 1;
  let a0 = 0;
  let a1 = 0;
  let a2 = 0;
  let a3 = 0;
  let i = 0;
  while (i + levelStep <= size) {
    for (let j = 0; j < levelStep; j++, i++) a0 = f32(a0 + data[off + i * stride]!);
    // Flush level 0 upward; stop at the first level whose mask bits are not all zero.
    a1 = f32(a1 + a0);
    a0 = 0;
    if ((i & (levelMask << levelPower)) !== 0) continue;
    a2 = f32(a2 + a1);
    a1 = 0;
    if ((i & (levelMask << (2 * levelPower))) !== 0) continue;
    a3 = f32(a3 + a2);
    a2 = 0;
  }
  for (; i < size; i++) a0 = f32(a0 + data[off + i * stride]!);
  a0 = f32(a0 + a1);
  a0 = f32(a0 + a2);
  return f32(a0 + a3);
}

/** `row_sum` for one column: 4 interleaved `multi_row_sum` partials (ILP 4), then the leftovers. */
export function rowSum(data: Float32Array, off: number, stride: number, size: number): number {
  const sizeIlp = Math.floor(size / 4);
  const p = [0, 0, 0, 0];
  if (sizeIlp > 0) for (let k = 0; k < 4; k++) p[k] = multiRowSum(data, off + k * stride, 4 * stride, sizeIlp);
  let p0 = p[0]!;
  for (let i = sizeIlp * 4; i < size; i++) p0 = f32(p0 + data[off + i * stride]!);
  for (let k = 1; k < 4; k++) p0 = f32(p0 + p[k]!);
  return p0;
}

/**
 * `torch.sum` over `size` contiguous floats (the inner-reduction path): rows of 8 lanes through
 * `row_sum`, then the scalar tail in order, then the 8 lanes in order. Fewer than 8 items take the
 * scalar `row_sum`.
 */
export function innerSum(data: Float32Array, off: number, size: number): number {
  if (size < SUM_LANES) return rowSum(data, off, 1, size);
  const vecSize = Math.floor(size / SUM_LANES);
  const lanes = new Array<number>(SUM_LANES);
  for (let l = 0; l < SUM_LANES; l++) lanes[l] = rowSum(data, off + l, SUM_LANES, vecSize);
  let final = 0;
  for (let k = vecSize * SUM_LANES; k < size; k++) final = f32(final + data[off + k]!);
  for (let l = 0; l < SUM_LANES; l++) final = f32(final + lanes[l]!);
  return final;
}

/**
 * `torch.sum` over a reduced dim of `size0` items with stride `stride0`, for `size1` columns that are
 * contiguous (the outer-reduction path). Columns in groups of 4·8 use `multi_row_sum`, the rest
 * `row_sum`, as `vectorized_outer_sum` / `scalar_outer_sum` do. Writes `size1` sums to `out`.
 */
export function outerSum(
  data: Float32Array,
  off: number,
  stride0: number,
  size0: number,
  size1: number,
  out: Float32Array,
  outOff: number,
): void {
  // Vector columns and scalar columns both reduce each column with the same `row_sum` order.
  const group = size1 >= SUM_LANES ? 4 * SUM_LANES : 4;
  let j = 0;
  for (; j + group <= size1; j += group) {
    for (let c = j; c < j + group; c++) out[outOff + c] = multiRowSum(data, off + c, stride0, size0);
  }
  for (; j < size1; j++) out[outOff + j] = rowSum(data, off + j, stride0, size0);
}
