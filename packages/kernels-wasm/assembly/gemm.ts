// int16 × int16 → int32 GEMM micro-kernels (SIMD128, no relaxed SIMD).
//
// Both operands were pre-widened to int16 with their zero points already subtracted
// (x − x_zp and w − w_zp[c], each in [−255, 255]), so `i32x4.dot_i16x8_s` computes exact
// products and pair sums (|pair| ≤ 2·255² < 2^31): the int32 accumulator equals the reference's
// `Σ (x_q − x_zp)·(w_q − w_zp)` whatever the summation order (the packer checked it cannot overflow).
//
// Layouts (bytes):
// - A: row-major rows of `kp` int16 (kp even, zero-padded), row stride `aStride`. The kernel splats
//   one (k, k+1) pair of a row into every lane with `v128.load32_splat`.
// - B: panels of 8 columns; panel p starts at `b + p·kp·16`; for each k-pair t it holds 32 bytes:
//   [c0k0 c0k1 c1k0 c1k1 c2k0 c2k1 c3k0 c3k1 | c4k0 c4k1 … c7k0 c7k1], zero-padded past N.
// - C: int32, element (m, n) at `c + m·cStride + n·4`. Only columns < n1 are written.
//
// The 4×8 tile keeps 8 accumulators + 2 B vectors + 1 splat in registers (V8 has 15 allocatable
// xmm); 5 rows or a ×2 unroll spill (spec/performance-anchors.md, "Hand kernels").

// Stores the 8 int32 of (v0, v1) at p, or their first `cols` when cols < 8.
// @ts-ignore: decorator
@inline
export function storeRow(p: usize, v0: v128, v1: v128, cols: i32): void {
  if (cols >= 8) {
    v128.store(p, v0);
    v128.store(p, v1, 16);
    return;
  }
  if (cols >= 4) {
    v128.store(p, v0);
    if (cols > 4) store<i32>(p, i32x4.extract_lane(v1, 0), 16);
    if (cols > 5) store<i32>(p, i32x4.extract_lane(v1, 1), 20);
    if (cols > 6) store<i32>(p, i32x4.extract_lane(v1, 2), 24);
    return;
  }
  store<i32>(p, i32x4.extract_lane(v0, 0));
  if (cols > 1) store<i32>(p, i32x4.extract_lane(v0, 1), 4);
  if (cols > 2) store<i32>(p, i32x4.extract_lane(v0, 2), 8);
}

// One 4×8 tile over the whole K: A group `ap` (4 rows interleaved per k-pair), B panel `bp`.
function tile4x8(ap: usize, bp: usize, kp: i32, cp: usize, cStride: usize, rows: i32, cols: i32): void {
  const aEnd = ap + (<usize>kp << 3);
  let c00 = i32x4.splat(0), c01 = i32x4.splat(0);
  let c10 = i32x4.splat(0), c11 = i32x4.splat(0);
  let c20 = i32x4.splat(0), c21 = i32x4.splat(0);
  let c30 = i32x4.splat(0), c31 = i32x4.splat(0);
  while (ap < aEnd) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let s = v128.load32_splat(ap);
    c00 = i32x4.add(c00, i32x4.dot_i16x8_s(s, b0));
    c01 = i32x4.add(c01, i32x4.dot_i16x8_s(s, b1));
    s = v128.load32_splat(ap, 4);
    c10 = i32x4.add(c10, i32x4.dot_i16x8_s(s, b0));
    c11 = i32x4.add(c11, i32x4.dot_i16x8_s(s, b1));
    s = v128.load32_splat(ap, 8);
    c20 = i32x4.add(c20, i32x4.dot_i16x8_s(s, b0));
    c21 = i32x4.add(c21, i32x4.dot_i16x8_s(s, b1));
    s = v128.load32_splat(ap, 12);
    c30 = i32x4.add(c30, i32x4.dot_i16x8_s(s, b0));
    c31 = i32x4.add(c31, i32x4.dot_i16x8_s(s, b1));
    ap += 16;
    bp += 32;
  }
  storeRow(cp, c00, c01, cols);
  if (rows > 1) storeRow(cp + cStride, c10, c11, cols);
  if (rows > 2) storeRow(cp + (cStride << 1), c20, c21, cols);
  if (rows > 3) storeRow(cp + cStride * 3, c30, c31, cols);
}

/**
 * C[m, n0..n1) = A[m, :] · B[:, n0..n1) for `m` rows. `n0` is a multiple of 8 (a panel boundary).
 * A is packed in groups of 4 rows (zero rows pad the last group): group g starts at `a + g·kp·8`
 * and holds, per k-pair, the 4 rows' pairs (16 bytes), so one pointer and constant offsets feed
 * the four splats.
 */
export function qs16_gemm_4x8__wasmsimd(a: usize, b: usize, c: usize, cStride: usize, m: i32, n0: i32, n1: i32, kp: i32): void {
  const panelBytes = <usize>kp << 4;
  const groupBytes = <usize>kp << 3;
  for (let n = n0; n < n1; n += 8) {
    const bp = b + <usize>(n >> 3) * panelBytes;
    const cols = n1 - n;
    for (let i = 0; i < m; i += 4) {
      tile4x8(a + <usize>(i >> 2) * groupBytes, bp, kp, c + <usize>i * cStride + (<usize>n << 2), cStride, m - i, cols);
    }
  }
}

// @ts-ignore: decorator
@inline
function storeGemvPanel(a0: usize, bp0: usize, kp: i32, cp: usize, cols: i32): void {
  let bp = bp0;
  let p = a0;
  const aEnd = a0 + (<usize>kp << 1);
  let x00 = i32x4.splat(0), x01 = i32x4.splat(0);
  let x10 = i32x4.splat(0), x11 = i32x4.splat(0);
  // kp is even; pairs of k-pairs while 4 int16 remain.
  while (p + 8 <= aEnd) {
    const s0 = v128.load32_splat(p);
    const s1 = v128.load32_splat(p, 4);
    x00 = i32x4.add(x00, i32x4.dot_i16x8_s(s0, v128.load(bp)));
    x01 = i32x4.add(x01, i32x4.dot_i16x8_s(s0, v128.load(bp, 16)));
    x10 = i32x4.add(x10, i32x4.dot_i16x8_s(s1, v128.load(bp, 32)));
    x11 = i32x4.add(x11, i32x4.dot_i16x8_s(s1, v128.load(bp, 48)));
    p += 8;
    bp += 64;
  }
  if (p < aEnd) {
    const s0 = v128.load32_splat(p);
    x00 = i32x4.add(x00, i32x4.dot_i16x8_s(s0, v128.load(bp)));
    x01 = i32x4.add(x01, i32x4.dot_i16x8_s(s0, v128.load(bp, 16)));
  }
  storeRow(cp, i32x4.add(x00, x10), i32x4.add(x01, x11), cols);
}

/**
 * Batch-1 GEMV: c[n0..n1) = a · B[:, n0..n1) for one row, two panels per pass so that four
 * independent accumulator chains share each splat of `a`.
 */
export function qs16_gemv_1x16__wasmsimd(a: usize, b: usize, c: usize, n0: i32, n1: i32, kp: i32): void {
  const panelBytes = <usize>kp << 4;
  const aEnd = a + (<usize>kp << 1);
  let n = n0;
  for (; n + 16 <= n1; n += 16) {
    let bp = b + <usize>(n >> 3) * panelBytes;
    let bq = bp + panelBytes;
    let p = a;
    let x0 = i32x4.splat(0), x1 = i32x4.splat(0), x2 = i32x4.splat(0), x3 = i32x4.splat(0);
    while (p < aEnd) {
      const s = v128.load32_splat(p);
      x0 = i32x4.add(x0, i32x4.dot_i16x8_s(s, v128.load(bp)));
      x1 = i32x4.add(x1, i32x4.dot_i16x8_s(s, v128.load(bp, 16)));
      x2 = i32x4.add(x2, i32x4.dot_i16x8_s(s, v128.load(bq)));
      x3 = i32x4.add(x3, i32x4.dot_i16x8_s(s, v128.load(bq, 16)));
      p += 4;
      bp += 32;
      bq += 32;
    }
    const cp = c + (<usize>n << 2);
    v128.store(cp, x0);
    v128.store(cp, x1, 16);
    v128.store(cp, x2, 32);
    v128.store(cp, x3, 48);
  }
  for (; n < n1; n += 8) {
    storeGemvPanel(a, b + <usize>(n >> 3) * panelBytes, kp, c + (<usize>n << 2), n1 - n);
  }
}

/**
 * Batch-1 GEMV on int8 weights (`w − w_zp` with zero points 0, so they fit), for columns [n0, n1)
 * with n0 a multiple of 16. Half the bytes of the int16 panels, and no widening shuffles: each
 * int16 lane holds two weights, `hi · 256 + (lo + 128)` with hi the weight of a column c and lo
 * that of column c + 4 (block j, k-pair t: the 32 bytes at `b + (j·kp/2 + t)·32`, columns 0–7 then
 * 8–15, lanes in the int16 panels' order). One `i32x4.dot_i16x8_s` on the lanes as they are and one
 * on `lanes >> 8` (= hi, exactly, as 0 ≤ lo + 128 < 256) give Σ a·hi and Σ a·(256·hi + lo + 128);
 * so Σ a·lo = second − 256·first − 128·Σ a. The sums wrap mod 2^32 like every int32 accumulator
 * here, so the difference is exact whenever the true result fits. Measured on a 1024×1024 GEMV:
 * 1.25× the `v128.load8x8_s` kernel it replaced (that one was bound by its widening shuffles).
 */
export function qs8_gemv_1x16__wasmsimd(a: usize, b: usize, c: usize, n0: i32, n1: i32, kp: i32): void {
  const blockBytes = <usize>kp << 4;
  const aEnd = a + (<usize>kp << 1);
  let sv = i32x4.splat(0);
  let q = a;
  for (; q + 16 <= aEnd; q += 16) sv = i32x4.add(sv, i32x4.extadd_pairwise_i16x8_s(v128.load(q)));
  let sum =
    i32x4.extract_lane(sv, 0) + i32x4.extract_lane(sv, 1) + i32x4.extract_lane(sv, 2) + i32x4.extract_lane(sv, 3);
  for (; q < aEnd; q += 2) sum += <i32>load<i16>(q);
  const offset = i32x4.splat(sum << 7);
  for (let n = n0; n < n1; n += 16) {
    let bp = b + <usize>(n >> 4) * blockBytes;
    let h0 = i32x4.splat(0), v0 = i32x4.splat(0), h1 = i32x4.splat(0), v1 = i32x4.splat(0);
    let p = a;
    // Two k-pairs per iteration amortize the loop's own instructions; more accumulators measured
    // no faster.
    for (; p + 8 <= aEnd; p += 8) {
      const s = v128.load32_splat(p);
      const t = v128.load32_splat(p, 4);
      const w0 = v128.load(bp), w1 = v128.load(bp, 16), w2 = v128.load(bp, 32), w3 = v128.load(bp, 48);
      h0 = i32x4.add(h0, i32x4.dot_i16x8_s(s, i16x8.shr_s(w0, 8)));
      v0 = i32x4.add(v0, i32x4.dot_i16x8_s(s, w0));
      h1 = i32x4.add(h1, i32x4.dot_i16x8_s(s, i16x8.shr_s(w1, 8)));
      v1 = i32x4.add(v1, i32x4.dot_i16x8_s(s, w1));
      h0 = i32x4.add(h0, i32x4.dot_i16x8_s(t, i16x8.shr_s(w2, 8)));
      v0 = i32x4.add(v0, i32x4.dot_i16x8_s(t, w2));
      h1 = i32x4.add(h1, i32x4.dot_i16x8_s(t, i16x8.shr_s(w3, 8)));
      v1 = i32x4.add(v1, i32x4.dot_i16x8_s(t, w3));
      bp += 64;
    }
    if (p < aEnd) {
      const s = v128.load32_splat(p);
      const w0 = v128.load(bp), w1 = v128.load(bp, 16);
      h0 = i32x4.add(h0, i32x4.dot_i16x8_s(s, i16x8.shr_s(w0, 8)));
      v0 = i32x4.add(v0, i32x4.dot_i16x8_s(s, w0));
      h1 = i32x4.add(h1, i32x4.dot_i16x8_s(s, i16x8.shr_s(w1, 8)));
      v1 = i32x4.add(v1, i32x4.dot_i16x8_s(s, w1));
    }
    const cols = n1 - n;
    const cp = c + (<usize>n << 2);
    storeRow(cp, h0, lowColumns(v0, h0, offset), cols);
    if (cols > 8) storeRow(cp + 32, h1, lowColumns(v1, h1, offset), cols - 8);
  }
}

// Σ a·lo of {@link qs8_gemv_1x16__wasmsimd}: from Σ a·(256·hi + lo + 128), Σ a·hi and 128·Σ a.
function lowColumns(v: v128, h: v128, offset: v128): v128 {
  return i32x4.sub(i32x4.sub(v, i32x4.shl(h, 8)), offset);
}

/**
 * Widens `rows` rows of `k` 8-bit codes (row stride `xStride` bytes) to int16 `x − zp`, written as
 * rows of `kp` int16 (zero-padded from k to kp) at `out`. `signed` selects qint8 (else quint8).
 */
export function q8_widen_rows__wasmsimd(
  x: usize,
  xStride: usize,
  rows: i32,
  k: i32,
  zp: i32,
  signed: i32,
  out: usize,
  kp: i32,
): void {
  const vzp = i16x8.splat(<i16>zp);
  for (let r = 0; r < rows; r++) {
    const src = x + <usize>r * xStride;
    const dst = out + <usize>r * (<usize>kp << 1);
    let i = 0;
    if (signed) {
      for (; i + 8 <= k; i += 8) v128.store(dst + (<usize>i << 1), i16x8.sub(v128.load8x8_s(src + <usize>i), vzp));
      for (; i < k; i++) store<i16>(dst + (<usize>i << 1), <i16>(<i32>load<i8>(src + <usize>i) - zp));
    } else {
      for (; i + 8 <= k; i += 8) v128.store(dst + (<usize>i << 1), i16x8.sub(v128.load8x8_u(src + <usize>i), vzp));
      for (; i < k; i++) store<i16>(dst + (<usize>i << 1), <i16>(<i32>load<u8>(src + <usize>i) - zp));
    }
    for (; i < kp; i++) store<i16>(dst + (<usize>i << 1), 0);
  }
}

/**
 * Widens `rows` rows of `k` 8-bit codes (row stride `xStride` bytes) to int16 `x − zp` in the
 * GEMM's A layout: groups of 4 rows, per k-pair the 4 rows' pairs (rows past `rows` and k past `k`
 * are zero). `out` holds ⌈rows/4⌉·kp·8 bytes; `tmp` holds kp + 8 int16.
 */
export function q8_pack_a4__wasmsimd(
  x: usize,
  xStride: usize,
  rows: i32,
  k: i32,
  zp: i32,
  signed: i32,
  out: usize,
  kp: i32,
  tmp: usize,
): void {
  const groups = (rows + 3) >> 2;
  const groupBytes = <usize>kp << 3;
  for (let r = 0; r < groups << 2; r++) {
    const g = out + <usize>(r >> 2) * groupBytes + (<usize>(r & 3) << 2);
    if (r < rows) {
      q8_widen_rows__wasmsimd(x + <usize>r * xStride, 0, 1, k, zp, signed, tmp, kp);
    } else {
      for (let i = 0; i < kp; i++) store<i16>(tmp + (<usize>i << 1), 0);
    }
    // Pair t of this row goes to g + t·16: four 32-bit lanes of each 8-element vector.
    let t = 0;
    for (; t + 4 <= kp >> 1; t += 4) {
      const v = v128.load(tmp + (<usize>t << 2));
      const d = g + (<usize>t << 4);
      v128.store32_lane(d, v, 0);
      v128.store32_lane(d, v, 1, 16);
      v128.store32_lane(d, v, 2, 32);
      v128.store32_lane(d, v, 3, 48);
    }
    for (; t < kp >> 1; t++) store<i32>(g + (<usize>t << 4), load<i32>(tmp + (<usize>t << 2)));
  }
}
