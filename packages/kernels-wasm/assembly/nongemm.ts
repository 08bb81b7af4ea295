// Non-GEMM kernels on quint8 codes: clamps, 256-entry tables, add, pooling, mean.
//
// Each mirrors @quint/kernels-js operation for operation (its docs/numerics.md gives the PyTorch
// source of every formula). What depends on float library functions (tanh, exp, the FMA
// dequantize) is tabulated in JS per input code with kernels-js's own formulas, so the wasm side
// only does integer work, IEEE f32 add/mul (identical to `Math.fround(a op b)` on float32 operands)
// and products in f64 where kernels-js multiplies a double integer by a float32 (exact in f64).

// y[i] = min(max(x[i], lo), hi): max first, as qclamp_kernel, so lo > hi gives hi.
export function q8_clamp__wasmsimd(x: usize, y: usize, n: i32, lo: i32, hi: i32): void {
  const vlo = i8x16.splat(<i8>lo);
  const vhi = i8x16.splat(<i8>hi);
  let i = 0;
  for (; i + 64 <= n; i += 64) {
    const p = x + <usize>i;
    const q = y + <usize>i;
    v128.store(q, i8x16.min_u(i8x16.max_u(v128.load(p), vlo), vhi));
    v128.store(q, i8x16.min_u(i8x16.max_u(v128.load(p, 16), vlo), vhi), 16);
    v128.store(q, i8x16.min_u(i8x16.max_u(v128.load(p, 32), vlo), vhi), 32);
    v128.store(q, i8x16.min_u(i8x16.max_u(v128.load(p, 48), vlo), vhi), 48);
  }
  for (; i + 16 <= n; i += 16) v128.store(y + <usize>i, i8x16.min_u(i8x16.max_u(v128.load(x + <usize>i), vlo), vhi));
  for (; i < n; i++) store<u8>(y + <usize>i, min(max(<i32>load<u8>(x + <usize>i), lo), hi));
}

// quantize_per_tensor as PyTorch without FBGEMM (@quint/qtensor quantize.ts): q = f32(zp + rne(f32(x·inv)))
// clamped to [qmin, qmax], and qmin for NaN, ±Infinity and |q| ≥ 2^63 (x86's int64 conversion).
// Each step is one IEEE float32 operation, as in the scalar reference: the product, `f32x4.nearest`
// (ties to even), the sum with zp. The clamp is pmin/pmax (NaN is replaced just after).
// @ts-ignore: decorator
@inline
function quantizeVec(x: v128, inv: v128, zp: v128, qmin: v128, qmax: v128): v128 {
  const v = f32x4.add(f32x4.nearest(f32x4.mul(x, inv)), zp);
  const inRange = f32x4.lt(f32x4.abs(v), f32x4.splat(9223372036854775808.0));
  return i32x4.trunc_sat_f32x4_s(v128.bitselect(f32x4.pmin(f32x4.pmax(v, qmin), qmax), qmin, inRange));
}

export function q8_quantize_fp32__wasmsimd(x: usize, y: usize, n: i32, inv: f32, zp: f32, qmin: f32, qmax: f32, signed: i32): void {
  const vinv = f32x4.splat(inv), vzp = f32x4.splat(zp), vmin = f32x4.splat(qmin), vmax = f32x4.splat(qmax);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const p = x + (<usize>i << 2);
    const h0 = i16x8.narrow_i32x4_s(quantizeVec(v128.load(p), vinv, vzp, vmin, vmax), quantizeVec(v128.load(p, 16), vinv, vzp, vmin, vmax));
    const h1 = i16x8.narrow_i32x4_s(quantizeVec(v128.load(p, 32), vinv, vzp, vmin, vmax), quantizeVec(v128.load(p, 48), vinv, vzp, vmin, vmax));
    v128.store(y + <usize>i, signed ? i8x16.narrow_i16x8_s(h0, h1) : i8x16.narrow_i16x8_u(h0, h1));
  }
  for (; i < n; i++) {
    const v = nearest<f32>(load<f32>(x + (<usize>i << 2)) * inv) + zp;
    store<i8>(y + <usize>i, <i8>(<i32>(abs<f32>(v) < 9223372036854775808.0 ? min(max(v, qmin), qmax) : qmin)));
  }
}

// ONNX Runtime's QuantizeLinear (@quint/qtensor ortQuantizePerTensor): q = clamp(rne(f32(x / s)) + zp),
// a division as ORT does, not the reciprocal multiply above. Adding zp in float32 is exact wherever
// the result is not clamped (|rne| < 2^24). NaN stays NaN through pmax/pmin and truncates to 0, as
// the reference gives it (ortQuantizeCode); ±Infinity clamps.
// @ts-ignore: decorator
@inline
function quantizeDivVec(x: v128, s: v128, zp: v128, qmin: v128, qmax: v128): v128 {
  const v = f32x4.add(f32x4.nearest(f32x4.div(x, s)), zp);
  return i32x4.trunc_sat_f32x4_s(f32x4.pmin(f32x4.pmax(v, qmin), qmax));
}

export function q8_quantize_div__wasmsimd(x: usize, y: usize, n: i32, s: f32, zp: f32, qmin: f32, qmax: f32, signed: i32): void {
  const vs = f32x4.splat(s), vzp = f32x4.splat(zp), vmin = f32x4.splat(qmin), vmax = f32x4.splat(qmax);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const p = x + (<usize>i << 2);
    const h0 = i16x8.narrow_i32x4_s(quantizeDivVec(v128.load(p), vs, vzp, vmin, vmax), quantizeDivVec(v128.load(p, 16), vs, vzp, vmin, vmax));
    const h1 = i16x8.narrow_i32x4_s(quantizeDivVec(v128.load(p, 32), vs, vzp, vmin, vmax), quantizeDivVec(v128.load(p, 48), vs, vzp, vmin, vmax));
    v128.store(y + <usize>i, signed ? i8x16.narrow_i16x8_s(h0, h1) : i8x16.narrow_i16x8_u(h0, h1));
  }
  for (; i < n; i++) {
    const v = nearest<f32>(load<f32>(x + (<usize>i << 2)) / s) + zp;
    store<i8>(y + <usize>i, <i8>(v != v ? 0 : <i32>min(max(v, qmin), qmax)));
  }
}

// y[i] = table[x[i]] (256 bytes at `table`). Scalar: SIMD128 has no 256-entry byte gather.
export function q8_lut__wasmsimd(x: usize, y: usize, n: i32, table: usize): void {
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const v = load<u64>(x + <usize>i);
    let r: u64 = <u64>load<u8>(table + <usize>(v & 0xff));
    r |= <u64>load<u8>(table + <usize>((v >> 8) & 0xff)) << 8;
    r |= <u64>load<u8>(table + <usize>((v >> 16) & 0xff)) << 16;
    r |= <u64>load<u8>(table + <usize>((v >> 24) & 0xff)) << 24;
    r |= <u64>load<u8>(table + <usize>((v >> 32) & 0xff)) << 32;
    r |= <u64>load<u8>(table + <usize>((v >> 40) & 0xff)) << 40;
    r |= <u64>load<u8>(table + <usize>((v >> 48) & 0xff)) << 48;
    r |= <u64>load<u8>(table + <usize>(v >> 56)) << 56;
    store<u64>(y + <usize>i, r);
  }
  for (; i < n; i++) store<u8>(y + <usize>i, load<u8>(table + <usize>load<u8>(x + <usize>i)));
}

// y[i] = max(table[(a[i] << 8) | b[i]], lo): a code of a pair of codes from a 256×256 table (ONNX
// Runtime's QLinearAdd/QLinearMul, whose float formulas @quint/qtensor tabulates); lo is the ReLU's
// output zero point, or 0. Scalar: SIMD128 has no gather.
export function q8_lut2__wasmsimd(a: usize, b: usize, y: usize, n: i32, table: usize, lo: i32): void {
  for (let i = 0; i < n; i++) {
    const v = <i32>load<u8>(table + ((<usize>load<u8>(a + <usize>i) << 8) | <usize>load<u8>(b + <usize>i)));
    store<u8>(y + <usize>i, <u8>(v > lo ? v : lo));
  }
}

// Interleaving the low or high halves of two vectors by 1, 2 or 4 bytes (x86's punpckl/h).
// @ts-ignore: decorator
@inline
function lo8(a: v128, b: v128): v128 { return v128.shuffle<u8>(a, b, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23); }
// @ts-ignore: decorator
@inline
function hi8(a: v128, b: v128): v128 { return v128.shuffle<u8>(a, b, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31); }
// @ts-ignore: decorator
@inline
function lo16(a: v128, b: v128): v128 { return v128.shuffle<u16>(a, b, 0, 8, 1, 9, 2, 10, 3, 11); }
// @ts-ignore: decorator
@inline
function hi16(a: v128, b: v128): v128 { return v128.shuffle<u16>(a, b, 4, 12, 5, 13, 6, 14, 7, 15); }
// @ts-ignore: decorator
@inline
function lo32(a: v128, b: v128): v128 { return v128.shuffle<u32>(a, b, 0, 4, 1, 5); }
// @ts-ignore: decorator
@inline
function hi32(a: v128, b: v128): v128 { return v128.shuffle<u32>(a, b, 2, 6, 3, 7); }

// A 16×16 byte block: row i at `x + i·xs` (16 bytes) becomes column i of the rows `y + j·ys`. Rows
// 0–7 and 8–15 are done apart (fewer live vectors): three rounds of interleaving (bytes, then 2 and
// 4 bytes) double each time the run of one column's bytes that sit together, until a vector holds
// two columns' 8 bytes, stored as the left or right half of two output rows.
function transposeBlock16(x: usize, xs: usize, y: usize, ys: usize): void {
  for (let half: usize = 0; half < 2; half++) {
    const r = x + half * 8 * xs;
    const t0 = v128.load(r), t1 = v128.load(r + xs), t2 = v128.load(r + 2 * xs), t3 = v128.load(r + 3 * xs);
    const t4 = v128.load(r + 4 * xs), t5 = v128.load(r + 5 * xs), t6 = v128.load(r + 6 * xs), t7 = v128.load(r + 7 * xs);
    // a: 2-row runs of columns 0–7 / 8–15; b: 4-row runs of columns 0–3, 4–7, 8–11, 12–15.
    const a0 = lo8(t0, t1), a1 = hi8(t0, t1), a2 = lo8(t2, t3), a3 = hi8(t2, t3);
    const a4 = lo8(t4, t5), a5 = hi8(t4, t5), a6 = lo8(t6, t7), a7 = hi8(t6, t7);
    const b0 = lo16(a0, a2), b1 = hi16(a0, a2), b2 = lo16(a1, a3), b3 = hi16(a1, a3);
    const b4 = lo16(a4, a6), b5 = hi16(a4, a6), b6 = lo16(a5, a7), b7 = hi16(a5, a7);
    // c_k: columns 2k and 2k+1 of these 8 rows, 8 bytes each.
    const c0 = lo32(b0, b4), c1 = hi32(b0, b4), c2 = lo32(b1, b5), c3 = hi32(b1, b5);
    const c4 = lo32(b2, b6), c5 = hi32(b2, b6), c6 = lo32(b3, b7), c7 = hi32(b3, b7);
    const o = y + half * 8;
    v128.store64_lane(o, c0, 0); v128.store64_lane(o + ys, c0, 1);
    v128.store64_lane(o + 2 * ys, c1, 0); v128.store64_lane(o + 3 * ys, c1, 1);
    v128.store64_lane(o + 4 * ys, c2, 0); v128.store64_lane(o + 5 * ys, c2, 1);
    v128.store64_lane(o + 6 * ys, c3, 0); v128.store64_lane(o + 7 * ys, c3, 1);
    v128.store64_lane(o + 8 * ys, c4, 0); v128.store64_lane(o + 9 * ys, c4, 1);
    v128.store64_lane(o + 10 * ys, c5, 0); v128.store64_lane(o + 11 * ys, c5, 1);
    v128.store64_lane(o + 12 * ys, c6, 0); v128.store64_lane(o + 13 * ys, c6, 1);
    v128.store64_lane(o + 14 * ys, c7, 0); v128.store64_lane(o + 15 * ys, c7, 1);
  }
}

// y[c, r] = x[r, c] for an r×c byte matrix (row stride `cols`) into a c×r one (row stride `rows`):
// 16×16 blocks, then the edge rows and columns one byte at a time.
function transposeBytes(x: usize, y: usize, rows: i32, cols: i32): void {
  const rs = <usize>rows, cs = <usize>cols;
  const r16 = rows & ~15, c16 = cols & ~15;
  if (rows < cols) {
    // Few long rows (NCHW → NHWC): a band of 16 columns down all the rows at a time, so each output
    // row is written whole while the band's input lines stay in L1.
    for (let c = 0; c < c16; c += 16) {
      for (let r = 0; r < r16; r += 16) transposeBlock16(x + <usize>r * cs + <usize>c, cs, y + <usize>c * rs + <usize>r, rs);
    }
    for (let r = 0; r < r16; r += 16) {
      for (let c = c16; c < cols; c++) for (let i = r; i < r + 16; i++) store<u8>(y + <usize>c * rs + <usize>i, load<u8>(x + <usize>i * cs + <usize>c));
    }
  } else {
    for (let r = 0; r < r16; r += 16) {
      for (let c = 0; c < c16; c += 16) transposeBlock16(x + <usize>r * cs + <usize>c, cs, y + <usize>c * rs + <usize>r, rs);
      for (let c = c16; c < cols; c++) for (let i = r; i < r + 16; i++) store<u8>(y + <usize>c * rs + <usize>i, load<u8>(x + <usize>i * cs + <usize>c));
    }
  }
  for (let i = r16; i < rows; i++) for (let c = 0; c < cols; c++) store<u8>(y + <usize>c * rs + <usize>i, load<u8>(x + <usize>i * cs + <usize>c));
}

// NCHW → NHWC (memory order of a channels_last tensor), bytes: per image, C×HW becomes HW×C.
export function q8_nchw_to_nhwc__wasmsimd(x: usize, y: usize, n: i32, c: i32, hw: i32): void {
  const image = <usize>c * <usize>hw;
  for (let b = 0; b < n; b++) transposeBytes(x + <usize>b * image, y + <usize>b * image, c, hw);
}

// NHWC → NCHW, bytes: per image, HW×C becomes C×HW.
export function q8_nhwc_to_nchw__wasmsimd(x: usize, y: usize, n: i32, c: i32, hw: i32): void {
  const image = <usize>c * <usize>hw;
  for (let b = 0; b < n; b++) transposeBytes(x + <usize>b * image, y + <usize>b * image, hw, c);
}

// QNNPACK q8vadd (same shapes): acc = zpp + a·aMult + b·bMult in int32 (|acc| < 2^31 for ratios in
// [2^-14, 2^8)), then an arithmetic shift with round half away from zero, + zp, clamp [lo, 255].
export function q8_add_qnnpack__wasmsimd(
  a: usize, b: usize, y: usize, n: i32,
  zpp: i32, aMult: i32, bMult: i32, shift: i32, zp: i32, lo: i32,
): void {
  const mask = (1 << shift) - 1;
  const threshold = mask >> 1;
  const vzpp = i32x4.splat(zpp);
  const va = i32x4.splat(aMult);
  const vb = i32x4.splat(bMult);
  const vmask = i32x4.splat(mask);
  const vthr = i32x4.splat(threshold);
  const zero = i32x4.splat(0);
  const vzp = i16x8.splat(<i16>zp);
  const vlo = i8x16.splat(<i8>lo);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const xa = v128.load(a + <usize>i);
    const xb = v128.load(b + <usize>i);
    const al = i16x8.extend_low_i8x16_u(xa);
    const ah = i16x8.extend_high_i8x16_u(xa);
    const bl = i16x8.extend_low_i8x16_u(xb);
    const bh = i16x8.extend_high_i8x16_u(xb);
    const r0 = addQ(i32x4.extend_low_i16x8_u(al), i32x4.extend_low_i16x8_u(bl), vzpp, va, vb, vmask, vthr, zero, shift);
    const r1 = addQ(i32x4.extend_high_i16x8_u(al), i32x4.extend_high_i16x8_u(bl), vzpp, va, vb, vmask, vthr, zero, shift);
    const r2 = addQ(i32x4.extend_low_i16x8_u(ah), i32x4.extend_low_i16x8_u(bh), vzpp, va, vb, vmask, vthr, zero, shift);
    const r3 = addQ(i32x4.extend_high_i16x8_u(ah), i32x4.extend_high_i16x8_u(bh), vzpp, va, vb, vmask, vthr, zero, shift);
    // Saturating narrows then + zp (saturating) equal clamp(q + zp, 0, 255) for |q| ≤ 2^16.
    const h0 = i16x8.add_sat_s(i16x8.narrow_i32x4_s(r0, r1), vzp);
    const h1 = i16x8.add_sat_s(i16x8.narrow_i32x4_s(r2, r3), vzp);
    v128.store(y + <usize>i, i8x16.max_u(i8x16.narrow_i16x8_u(h0, h1), vlo));
  }
  for (; i < n; i++) {
    const acc = zpp + <i32>load<u8>(a + <usize>i) * aMult + <i32>load<u8>(b + <usize>i) * bMult;
    const rem = (acc & mask) - (acc < 0 ? 1 : 0);
    const q = (acc >> shift) + (rem > threshold ? 1 : 0);
    store<u8>(y + <usize>i, min(max(q + zp, lo), 255));
  }
}

// @ts-ignore: decorator
@inline
function addQ(qa: v128, qb: v128, zpp: v128, am: v128, bm: v128, mask: v128, thr: v128, zero: v128, shift: i32): v128 {
  const acc = i32x4.add(zpp, i32x4.add(i32x4.mul(qa, am), i32x4.mul(qb, bm)));
  // rem = (acc & mask) − (acc < 0); lt gives −1 where true.
  const rem = i32x4.add(v128.and(acc, mask), i32x4.lt_s(acc, zero));
  // + (rem > thr): gt gives −1 where true, so subtract it.
  return i32x4.sub(i32x4.shr_s(acc, shift), i32x4.gt_s(rem, thr));
}

// ATen's generic qadd in memory order: y = clamp(zp + rne(f32(c · inv))), c = f32(da + db) (max 0 with
// ReLU), where da/db come from per-code float32 tables: the FMA dequantize for positions whose
// inner-loop offset (m mod loopLen) is below vecEnd, `dequantize_val` otherwise. b is read at
// `b + m·bStep` (bStep 0 broadcasts one value... callers expand b in memory order and pass 1).
export function q8_add_generic__wasmsimd(
  a: usize, b: usize, y: usize, n: i32,
  tabA: usize, tabB: usize, inv: f32, zp: i32, relu: i32, loopLen: i32, vecEnd: i32,
): void {
  // tabA/tabB: [vector 256 × f32][tail 256 × f32].
  const fzp = <f32>zp;
  let m = 0;
  while (m < n) {
    const end = min(m + loopLen, n);
    const vEnd = m + vecEnd;
    for (; m < end; m++) {
      const off: usize = m < vEnd ? 0 : 1024;
      const da = load<f32>(tabA + off + (<usize>load<u8>(a + <usize>m) << 2));
      const db = load<f32>(tabB + off + (<usize>load<u8>(b + <usize>m) << 2));
      let c = da + db;
      if (relu && c < 0) c = 0;
      // Clamping the rounded value to [−zp, 255 − zp] in float keeps the conversion in range;
      // rounding is monotone and the bounds are integers, so it equals clamping after.
      const r = min(max(nearest(c * inv), -fzp), <f32>255.0 - fzp);
      store<u8>(y + <usize>m, <i32>r + zp);
    }
  }
}

// Max pooling over one [planes][H][W] tensor. `edge` = 1 reproduces QNNPACK's indirection (padded
// taps clamped to the nearest edge pixel); 0 skips them (ATen's generic kernel).
export function q8_maxpool2d__wasmsimd(
  x: usize, y: usize, planes: i32, H: i32, W: i32, oH: i32, oW: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, dh: i32, dw: i32, edge: i32,
): void {
  // Outputs whose taps all lie inside the image (the same under both padding rules) go 16 at a
  // time when the stride along x is 1 (16 consecutive bytes per tap) or 2 (every other byte of 32,
  // one shuffle; the last load reads one byte past the row, inside the input's slack). Columns
  // [owLo, owHi) are inside on every row whose kernel rows are.
  const owLo = min(oW, (pw + sw - 1) / sw);
  const reach = W - 1 + pw - (kw - 1) * dw;
  const owHi = reach >= 0 ? min(oW, reach / sw + 1) : 0;
  const vector = (sw == 1 || sw == 2) && owHi - owLo >= 16;
  for (let pl = 0; pl < planes; pl++) {
    const base = x + <usize>(pl * H * W);
    for (let oh = 0; oh < oH; oh++) {
      const o = y + <usize>((pl * oH + oh) * oW);
      const ih0 = oh * sh - ph;
      let ow = 0;
      if (vector && ih0 >= 0 && ih0 + (kh - 1) * dh < H) {
        for (; ow < owLo; ow++) store<u8>(o + <usize>ow, maxTap(base, H, W, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw, edge));
        for (; ow + 16 <= owHi; ow += 16) {
          let m = i8x16.splat(0);
          for (let i = 0; i < kh; i++) {
            const row = base + <usize>((ih0 + i * dh) * W) + <usize>(ow * sw - pw);
            for (let j = 0; j < kw; j++) {
              const p = row + <usize>(j * dw);
              const v = sw == 1 ? v128.load(p) : v128.shuffle<u8>(v128.load(p), v128.load(p, 16), 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
              m = i8x16.max_u(m, v);
            }
          }
          v128.store(o + <usize>ow, m);
        }
      }
      for (; ow < oW; ow++) store<u8>(o + <usize>ow, maxTap(base, H, W, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw, edge));
    }
  }
}

// One output of q8_maxpool2d: the largest tap; −1 when every tap is padding (stored as 255, as
// kernels-js's Uint8Array store of −1).
// @ts-ignore: decorator
@inline
function maxTap(base: usize, H: i32, W: i32, oh: i32, ow: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, dh: i32, dw: i32, edge: i32): i32 {
  let mx: i32 = -1;
  for (let i = 0; i < kh; i++) {
    let ih = oh * sh - ph + i * dh;
    if (edge) ih = min(max(ih, 0), H - 1);
    else if (ih < 0 || ih >= H) continue;
    const row = base + <usize>(ih * W);
    for (let j = 0; j < kw; j++) {
      let iw = ow * sw - pw + j * dw;
      if (edge) iw = min(max(iw, 0), W - 1);
      else if (iw < 0 || iw >= W) continue;
      mx = max(mx, <i32>load<u8>(row + <usize>iw));
    }
  }
  return mx;
}

// Average pooling: sum = Σ(q − zp) over the valid part of each window, then one of three formulas
// (kernels-js pooling.ts avgRequant): path 0 QNNPACK `zp + rne(f32(sum·qs))`; path 1 NHWC
// `zp + rne(f32(sum·f32(1/f32(1/f32(1/div)))))`; path 2 NCHW `rne(f32(f32(sum·f32(1/div)) + zp))`.
// div: path 0 kH·kW; else divisorOverride (dov ≠ 0), the padded window (cip) or the valid count.
export function q8_avgpool2d__wasmsimd(
  x: usize, y: usize, planes: i32, H: i32, W: i32, oH: i32, oW: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32,
  zp: i32, path: i32, qs: f32, cip: i32, dov: i32,
): void {
  let o: usize = y;
  for (let pl = 0; pl < planes; pl++) {
    const base = x + <usize>(pl * H * W);
    for (let oh = 0; oh < oH; oh++) {
      const h0 = oh * sh - ph;
      const h1 = min(h0 + kh, H + ph);
      const hs = max(h0, 0);
      const he = min(h1, H);
      for (let ow = 0; ow < oW; ow++) {
        const w0 = ow * sw - pw;
        const w1 = min(w0 + kw, W + pw);
        const ws = max(w0, 0);
        const we = min(w1, W);
        let sum = 0;
        for (let ih = hs; ih < he; ih++) {
          const row = base + <usize>(ih * W);
          for (let iw = ws; iw < we; iw++) sum += <i32>load<u8>(row + <usize>iw);
        }
        const size = max(he - hs, 0) * max(we - ws, 0);
        sum -= zp * size;
        const div = path == 0 ? kh * kw : dov != 0 ? dov : cip ? (h1 - h0) * (w1 - w0) : size;
        store<u8>(o, avgCode(sum, div, zp, path, qs));
        o++;
      }
    }
  }
}

// @ts-ignore: decorator
@inline
function clampU8(v: f64): i32 {
  return <i32>min(max(v, 0.0), 255.0);
}

// The three average-pool requantizations; products of an integer and a float32 in f64 then rounded
// to f32 once, as kernels-js's `f32(sum * m)` (exact in f64: |sum| < 2^29, m has 24 bits).
// @ts-ignore: decorator
@inline
function avgCode(sum: i32, div: i32, zp: i32, path: i32, qs: f32): i32 {
  if (path == 0) {
    const pre = <f32>(<f64>sum * <f64>qs);
    return clampU8(<f64>zp + <f64>nearest(pre));
  }
  if (path == 1) {
    const m = <f32>(<f64>1.0 / <f64>div);
    const inv = <f32>1.0 / (<f32>1.0 / m);
    const pre = <f32>(<f64>sum * <f64>inv);
    return clampU8(<f64>zp + <f64>nearest(pre));
  }
  const m = <f32>(<f64>1.0 / <f64>div);
  const pre = <f32>(<f64>(<f32>(<f64>sum * <f64>m)) + <f64>zp);
  return clampU8(<f64>nearest(pre));
}

// Adaptive average pooling with window bounds precomputed in JS (rows: hb[2·oh], hb[2·oh+1];
// columns likewise, int32). path 0/1 as avgpool with div = kH·kW and qs per output from `qsTab`
// (f32 per window size, path 0 only); path 2: `rne(f32(Σq · f32(f32(1/kH)/kW)))`, no clamp.
export function q8_adaptive_avgpool2d__wasmsimd(
  x: usize, y: usize, planes: i32, H: i32, W: i32, oH: i32, oW: i32,
  hb: usize, wb: usize, zp: i32, path: i32, scale: f32,
): void {
  let o: usize = y;
  for (let pl = 0; pl < planes; pl++) {
    const base = x + <usize>(pl * H * W);
    for (let oh = 0; oh < oH; oh++) {
      const h0 = load<i32>(hb + (<usize>oh << 3));
      const h1 = load<i32>(hb + (<usize>oh << 3), 4);
      for (let ow = 0; ow < oW; ow++) {
        const w0 = load<i32>(wb + (<usize>ow << 3));
        const w1 = load<i32>(wb + (<usize>ow << 3), 4);
        let raw = 0;
        for (let ih = h0; ih < h1; ih++) {
          const row = base + <usize>(ih * W);
          for (let iw = w0; iw < w1; iw++) raw += <i32>load<u8>(row + <usize>iw);
        }
        const kH = h1 - h0;
        const kW = w1 - w0;
        const size = kH * kW;
        let code: i32;
        if (path == 2) {
          const m = <f32>(<f32>(<f64>1.0 / <f64>kH) / <f32>kW);
          code = <i32>nearest(<f32>(<f64>raw * <f64>m));
        } else {
          // qs = f32(s / f32(s·size)), computed here from the input scale as kernels-js does.
          const qs = <f32>(scale / <f32>(<f64>scale * <f64>size));
          code = avgCode(raw - zp * size, size, zp, path, qs);
        }
        store<u8>(o, code);
        o++;
      }
    }
  }
}

// mean over contiguous rows of `inner` codes. qnnpack (1): `clamp(zp + rne(f32((Σq − zp·inner)·qs)))`;
// else `rne(f32(Σq / inner))` on the raw codes.
export function q8_mean_rows__wasmsimd(x: usize, y: usize, outer: i32, inner: i32, zp: i32, qnnpack: i32, qs: f32): void {
  for (let r = 0; r < outer; r++) {
    const p = x + <usize>r * <usize>inner;
    let acc = i32x4.splat(0);
    let e = 0;
    for (; e + 16 <= inner; e += 16) {
      const v = v128.load(p + <usize>e);
      acc = i32x4.add(acc, i32x4.extadd_pairwise_i16x8_u(i16x8.extadd_pairwise_i8x16_u(v)));
    }
    let raw = i32x4.extract_lane(acc, 0) + i32x4.extract_lane(acc, 1) + i32x4.extract_lane(acc, 2) + i32x4.extract_lane(acc, 3);
    for (; e < inner; e++) raw += <i32>load<u8>(p + <usize>e);
    let code: i32;
    if (qnnpack) {
      const pre = <f32>(<f64>(raw - zp * inner) * <f64>qs);
      code = clampU8(<f64>zp + <f64>nearest(pre));
    } else {
      code = <i32>nearest(<f32>(<f64>raw / <f64>inner));
    }
    store<u8>(y + <usize>r, code);
  }
}

// quantized::mul's requantize_from_int (kernels-js elementwise.ts, spec §5.4), same shapes (callers
// expand broadcasts): acc = (a − za)(b − zb) in int32, y = max(clamp(zp + rne(f32(acc · m))), lo).
// |acc| ≤ 255² is exact in f32 and m is a float32, so the f32 product is the correctly rounded
// exact product, as kernels-js's `f32(acc * m)`.
export function q8_mul_minmax_fp32__wasmsimd(a: usize, b: usize, y: usize, n: i32, za: i32, zb: i32, m: f32, zp: i32, lo: i32): void {
  const vza = i16x8.splat(<i16>za);
  const vzb = i16x8.splat(<i16>zb);
  const vm = f32x4.splat(m);
  const fzp = <f32>zp;
  const vmin = f32x4.splat(-fzp);
  const vmax = f32x4.splat(<f32>255.0 - fzp);
  const vzp = i32x4.splat(zp);
  const vlo = i8x16.splat(<i8>lo);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const xa = v128.load(a + <usize>i);
    const xb = v128.load(b + <usize>i);
    const al = i16x8.sub(i16x8.extend_low_i8x16_u(xa), vza);
    const ah = i16x8.sub(i16x8.extend_high_i8x16_u(xa), vza);
    const bl = i16x8.sub(i16x8.extend_low_i8x16_u(xb), vzb);
    const bh = i16x8.sub(i16x8.extend_high_i8x16_u(xb), vzb);
    const r0 = mulQ(i32x4.extmul_low_i16x8_s(al, bl), vm, vmin, vmax, vzp);
    const r1 = mulQ(i32x4.extmul_high_i16x8_s(al, bl), vm, vmin, vmax, vzp);
    const r2 = mulQ(i32x4.extmul_low_i16x8_s(ah, bh), vm, vmin, vmax, vzp);
    const r3 = mulQ(i32x4.extmul_high_i16x8_s(ah, bh), vm, vmin, vmax, vzp);
    const h0 = i16x8.narrow_i32x4_s(r0, r1);
    const h1 = i16x8.narrow_i32x4_s(r2, r3);
    v128.store(y + <usize>i, i8x16.max_u(i8x16.narrow_i16x8_u(h0, h1), vlo));
  }
  for (; i < n; i++) {
    const acc = (<i32>load<u8>(a + <usize>i) - za) * (<i32>load<u8>(b + <usize>i) - zb);
    const r = min(max(nearest(<f32>acc * m), -fzp), <f32>255.0 - fzp);
    store<u8>(y + <usize>i, max(<i32>r + zp, lo));
  }
}

// @ts-ignore: decorator
@inline
function mulQ(acc: v128, m: v128, vmin: v128, vmax: v128, zp: v128): v128 {
  // Clamping the rounded value to [−zp, 255 − zp] in float keeps the conversion in range; rounding
  // is monotone and the bounds are integers, so it equals clamping after.
  const r = f32x4.min(f32x4.max(f32x4.nearest(f32x4.mul(f32x4.convert_i32x4_s(acc), m)), vmin), vmax);
  return i32x4.add(i32x4.trunc_sat_f32x4_s(r), zp);
}

// One input of cat (kernels-js elementwise.ts, ort-ops.ts): `rows` rows of `rowLen` codes, row r
// written at y + r·yStride; codes at row offsets below `split` through `tabV` (qcat_nhwc_kernel's
// vector channels), the rest through `tabS` (256 bytes each, built in JS). copy = 1: codes unchanged.
export function q8_cat__wasmsimd(x: usize, y: usize, rows: i32, rowLen: i32, yStride: i32, split: i32, tabV: usize, tabS: usize, copy: i32): void {
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * <usize>rowLen;
    const yr = y + <usize>r * <usize>yStride;
    if (copy) {
      memory.copy(yr, xr, <usize>rowLen);
      continue;
    }
    let j = 0;
    for (; j < split; j++) store<u8>(yr + <usize>j, load<u8>(tabV + <usize>load<u8>(xr + <usize>j)));
    for (; j < rowLen; j++) store<u8>(yr + <usize>j, load<u8>(tabS + <usize>load<u8>(xr + <usize>j)));
  }
}
