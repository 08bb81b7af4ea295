// conv2d as GEMM: out[co, p] = W[co, :] · col[:, p], with the weights as the splatted A rows
// (packed once) and the im2col columns built per call, a chunk of pixels at a time, directly in the
// GEMM's B-panel layout. The chunk's panels stay in L2 while every weight row passes over them, and
// the output lands in NCHW order with no transpose.
//
// Descriptor (int32 fields at `desc`), written by src/abi.ts (CONV_DESC):
//   0 cin (per group)  1 ih  2 iw  3 kh  4 kw  5 sh  6 sw  7 ph  8 pw  9 dh  10 dw
//   11 oh  12 ow  13 x_zp  14 signed input  15 kp (K = cin·kh·kw rounded up to even)
//   16 channel multiplier (depthwise); a call's output channels are its arguments

import { qs16_gemm_4x8__wasmsimd, storeRow } from './gemm';

// @ts-ignore: decorator
@inline
function field(desc: usize, i: i32): i32 {
  return load<i32>(desc + (<usize>i << 2));
}

// @ts-ignore: decorator
@inline
function zeroI16(dst: usize, n: i32): void {
  const z = i32x4.splat(0);
  let i = 0;
  for (; i + 8 <= n; i += 8) v128.store(dst + (<usize>i << 1), z);
  for (; i < n; i++) store<i16>(dst + (<usize>i << 1), 0);
}

// Row k of the im2col matrix for pixels [p0, p0 + np), as int16 `x − zp` (padding → 0), into dst.
// Writes may run up to 7 int16 past a segment; later segments overwrite them and dst has slack.
function im2colRow(desc: usize, x: usize, k: i32, p0: i32, np: i32, dst: usize): void {
  const kh = field(desc, 3), kw = field(desc, 4);
  const khw = kh * kw;
  if (k >= field(desc, 0) * khw) {
    zeroI16(dst, np);
    return;
  }
  const ih = field(desc, 1), iw = field(desc, 2);
  const sh = field(desc, 5), sw = field(desc, 6), ph = field(desc, 7), pw = field(desc, 8);
  const dh = field(desc, 9), dw = field(desc, 10);
  const oh = field(desc, 11), ow = field(desc, 12);
  const zp = field(desc, 13), signed = field(desc, 14);
  const ci = k / khw;
  const r = k - ci * khw;
  const ky = r / kw;
  const kx = r - ky * kw;
  const plane = x + <usize>ci * <usize>ih * <usize>iw;
  const vzp = i16x8.splat(<i16>zp);
  let p = p0;
  let oy = p0 / ow;
  let ox = p0 - oy * ow;
  const pEnd = min(p0 + np, oh * ow);
  let pos = 0;
  while (p < pEnd) {
    const len = min(ow - ox, pEnd - p);
    const iy = oy * sh - ph + ky * dh;
    const d = dst + (<usize>pos << 1);
    if (iy < 0 || iy >= ih) {
      zeroI16(d, len);
    } else {
      const row = plane + <usize>iy * <usize>iw;
      const ix0 = ox * sw - pw + kx * dw;
      if (sw == 1) {
        // Contiguous: zeros left of the image, a widening copy, zeros right of it.
        const left = min(max(-ix0, 0), len);
        const right = max(min(iw - ix0, len), left);
        let j = left;
        const src = row + <usize>(ix0 + left) - <usize>left;
        if (signed) {
          for (; j < right; j += 8) v128.store(d + (<usize>j << 1), i16x8.sub(v128.load8x8_s(src + <usize>j), vzp));
        } else {
          for (; j < right; j += 8) v128.store(d + (<usize>j << 1), i16x8.sub(v128.load8x8_u(src + <usize>j), vzp));
        }
        for (j = 0; j < left; j++) store<i16>(d + (<usize>j << 1), 0);
        for (j = right; j < len; j++) store<i16>(d + (<usize>j << 1), 0);
      } else {
        for (let j = 0; j < len; j++) {
          const ix = ix0 + j * sw;
          let v: i32 = 0;
          if (ix >= 0 && ix < iw) v = (signed ? <i32>load<i8>(row + <usize>ix) : <i32>load<u8>(row + <usize>ix)) - zp;
          store<i16>(d + (<usize>j << 1), <i16>v);
        }
      }
    }
    pos += len;
    p += len;
    ox = 0;
    oy++;
  }
  if (pos < np) zeroI16(dst + (<usize>pos << 1), np - pos);
}

// Widens `planes` NCHW planes of ih×iw 8-bit codes at `x` to int16 `x − zp` with a zero border of
// ph rows and pw columns, as consecutive (ih + 2ph)×(iw + 2pw) planes at `out`, and returns the end
// address, where the caller zeroes 32 int16 of slack (reads of 8 or 16 lanes past the last row may
// touch them). With ph ≥ 1, or rows of whole vectors (iw, or ih·iw when pw = 0, a multiple of 8),
// every write stays inside the planes, so ranges can run in parallel.
function widenPadPlanes(x: usize, planes: i32, ih: i32, iw: i32, ph: i32, pw: i32, zp: i32, signed: i32, out: usize): usize {
  const wp = iw + 2 * pw;
  // Without a left/right border a plane's rows are contiguous on both sides: one long row.
  const rows = pw == 0 ? 1 : ih;
  const cols = pw == 0 ? ih * iw : iw;
  const vzp = i16x8.splat(<i16>zp);
  let d = out;
  for (let c = 0; c < planes; c++) {
    zeroI16(d, ph * wp);
    d += <usize>(ph * wp) << 1;
    for (let y = 0; y < rows; y++) {
      const src = x + <usize>(c * rows + y) * <usize>cols;
      const o = d + (<usize>pw << 1);
      zeroI16(d, pw);
      // Whole vectors: the ≤ 7 int16 written past the row are rewritten by the border and the
      // rows that follow (or are the zeroed slack); the ≤ 7 bytes read past it are in the input.
      if (signed) {
        for (let j = 0; j < cols; j += 8) v128.store(o + (<usize>j << 1), i16x8.sub(v128.load8x8_s(src + <usize>j), vzp));
      } else {
        for (let j = 0; j < cols; j += 8) v128.store(o + (<usize>j << 1), i16x8.sub(v128.load8x8_u(src + <usize>j), vzp));
      }
      zeroI16(o + (<usize>cols << 1), pw);
      d += <usize>(cols + 2 * pw) << 1;
    }
    zeroI16(d, ph * wp);
    d += <usize>(ph * wp) << 1;
  }
  return d;
}

/**
 * Widens the `planes` input channels at `x` (NCHW, the desc's ih×iw, zero point and signedness)
 * into zero-bordered int16 planes of (ih + 2ph)×(iw + 2pw) at `out`: the input of
 * {@link qs16_conv2d_acc__wasmsimd}, once the caller has zeroed 32 int16 after the last plane.
 */
export function q8_widen_pad__wasmsimd(desc: usize, x: usize, planes: i32, out: usize): void {
  widenPadPlanes(x, planes, field(desc, 1), field(desc, 2), field(desc, 7), field(desc, 8), field(desc, 13), field(desc, 14), out);
}

/**
 * Builds the B panels of im2col columns for pixels [p0, p0 + 8·npanels) of one group's input `x`
 * (NCHW plane of its first channel). `tmp` holds two rows of 8·npanels + 8 int16.
 */
export function qs16_im2col_pack__wasmsimd(desc: usize, x: usize, p0: i32, npanels: i32, out: usize, tmp: usize): void {
  const kp = field(desc, 15);
  const np = npanels << 3;
  const t0 = tmp;
  const t1 = tmp + (<usize>(np + 8) << 1);
  const panelBytes = <usize>kp << 4;
  for (let k = 0; k < kp; k += 2) {
    im2colRow(desc, x, k, p0, np, t0);
    im2colRow(desc, x, k + 1, p0, np, t1);
    let dp = out + (<usize>k << 4);
    for (let j = 0; j < npanels; j++) {
      const o = <usize>j << 4;
      const r0 = v128.load(t0 + o);
      const r1 = v128.load(t1 + o);
      v128.store(dp, v128.shuffle<i16>(r0, r1, 0, 8, 1, 9, 2, 10, 3, 11));
      v128.store(dp, v128.shuffle<i16>(r0, r1, 4, 12, 5, 13, 6, 14, 7, 15), 16);
      dp += panelBytes;
    }
  }
}

/**
 * int32 accumulators of one group's conv for output pixels [p0, p1) and output channels [r0, r1)
 * (r0 a multiple of 4): `acc[co, p]` (row stride oh·ow) from packed weight rows `w` (cout rows of
 * kp int16 in the GEMM's 4-row-group layout). Works a chunk of `chunk` pixels (a multiple of 8) at
 * a time through `panels` (chunk·kp·2 bytes) and `tmp` (2·(chunk+8)·2 bytes).
 */
export function qs8_conv2d_acc__wasmsimd(
  desc: usize,
  x: usize,
  w: usize,
  acc: usize,
  p0: i32,
  p1: i32,
  chunk: i32,
  panels: usize,
  tmp: usize,
  r0: i32,
  r1: i32,
): void {
  const kp = field(desc, 15);
  const ohw = field(desc, 11) * field(desc, 12);
  const cStride = <usize>ohw << 2;
  const wr = w + <usize>(r0 >> 2) * (<usize>kp << 3);
  const accr = acc + <usize>r0 * cStride;
  for (let p = p0; p < p1; p += chunk) {
    const n = min(chunk, p1 - p);
    const npanels = (n + 7) >> 3;
    qs16_im2col_pack__wasmsimd(desc, x, p, npanels, panels, tmp);
    qs16_gemm_4x8__wasmsimd(wr, panels, accr + (<usize>p << 2), cStride, r1 - r0, 0, n, kp);
  }
}

// Byte offsets, relative to the group's first padded plane (see widenPadPlanes), of im2col row k's
// first pixel: channel ci, tap (ky, kx). The row k = K that evens out kp meets zero weights, so any
// readable offset serves: it reads plane 0.
function im2colOffsets(desc: usize, tab: usize): void {
  const cin = field(desc, 0), ih = field(desc, 1), iw = field(desc, 2), kh = field(desc, 3), kw = field(desc, 4);
  const ph = field(desc, 7), pw = field(desc, 8), dh = field(desc, 9), dw = field(desc, 10), kp = field(desc, 15);
  const wp = iw + 2 * pw;
  const planeBytes = (ih + 2 * ph) * wp * 2;
  let t = tab;
  for (let ci = 0; ci < cin; ci++) {
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++) {
        store<i32>(t, ci * planeBytes + (ky * dh * wp + kx * dw) * 2);
        t += 4;
      }
    }
  }
  if (cin * kh * kw < kp) store<i32>(t, 0);
}

// 8 pixels of one padded row from `p`: consecutive int16 (sw = 1), or every other one (sw = 2).
// @ts-ignore: decorator
@inline
function row8(p: usize, sw2: bool): v128 {
  return sw2 ? v128.shuffle<i16>(v128.load(p), v128.load(p, 16), 0, 2, 4, 6, 8, 10, 12, 14) : v128.load(p);
}

// One panel: per k-pair (row offsets at `tab`), the 8 pixels of both rows interleaved; with
// `straddle`, lanes < a come from `r1` and the others from `r2` (mask `m`). The flags are constants
// at each call, so each of the four uses compiles to its own loop.
// @ts-ignore: decorator
@inline
function packPanel(r1: usize, r2: usize, m: v128, tab: usize, tEnd: usize, dp: usize, sw2: bool, straddle: bool): void {
  for (let t = tab; t < tEnd; t += 8) {
    const o0 = load<u32>(t);
    const o1 = load<u32>(t, 4);
    let v0 = row8(r1 + o0, sw2);
    let v1 = row8(r1 + o1, sw2);
    if (straddle) {
      v0 = v128.bitselect(v0, row8(r2 + o0, sw2), m);
      v1 = v128.bitselect(v1, row8(r2 + o1, sw2), m);
    }
    v128.store(dp, v128.shuffle<i16>(v0, v1, 0, 8, 1, 9, 2, 10, 3, 11));
    v128.store(dp, v128.shuffle<i16>(v0, v1, 4, 12, 5, 13, 6, 14, 7, 15), 16);
    dp += 32;
  }
}

// B panels for pixels [p0, p0 + 8·npanels) from padded planes `xp` when sw is 1 or 2 and ow ≥ 7: a
// panel's 8 pixels lie in one padded row (8 consecutive int16, or every other one of 16), or are the
// end of one output row and the start of the next, joined with a lane mask. Each panel is written
// front to back, one k-pair (32 bytes) at a time, with no bounds checks: the border is already zero.
// Pixels past oh·ow read the slack after the planes; their columns are never stored.
function im2colPackPadded(desc: usize, xp: usize, tab: usize, p0: i32, npanels: i32, out: usize): void {
  const kp = field(desc, 15), oh = field(desc, 11), ow = field(desc, 12), sw = field(desc, 6);
  const rowStep = <usize>(field(desc, 5) * (field(desc, 2) + 2 * field(desc, 8))) << 1;
  const tEnd = tab + (<usize>kp << 2);
  const lane = i16x8(0, 1, 2, 3, 4, 5, 6, 7);
  const none = i32x4.splat(0);
  let oy = p0 / ow;
  let ox = p0 - oy * ow;
  let dp = out;
  for (let j = 0; j < npanels; j++) {
    const r1 = xp + <usize>oy * rowStep + (<usize>(ox * sw) << 1);
    const a = ow - ox;
    if (a >= 8 || oy + 1 >= oh) {
      if (sw == 2) packPanel(r1, 0, none, tab, tEnd, dp, true, false);
      else packPanel(r1, 0, none, tab, tEnd, dp, false, false);
    } else {
      // Lanes < a from row oy, lanes ≥ a from the start of row oy + 1.
      const r2 = xp + <usize>(oy + 1) * rowStep - (<usize>(a * sw) << 1);
      const m = i16x8.lt_s(lane, i16x8.splat(<i16>a));
      if (sw == 2) packPanel(r1, r2, m, tab, tEnd, dp, true, true);
      else packPanel(r1, r2, m, tab, tEnd, dp, false, true);
    }
    dp += <usize>kp << 4;
    ox += 8;
    while (ox >= ow) {
      ox -= ow;
      oy++;
    }
  }
}

// The conv accumulators of qs16_conv2d_acc (`direct` false: `x` is the padded int16 planes) and
// qs8_conv1x1_acc (`direct` true: `x` is the 8-bit input): per chunk of pixels, its B panels, then
// the GEMM of the weight rows [r0, r1) against them.
// @ts-ignore: decorator
@inline
function convAcc(
  desc: usize,
  x: usize,
  w: usize,
  acc: usize,
  p0: i32,
  p1: i32,
  chunk: i32,
  panels: usize,
  tab: usize,
  r0: i32,
  r1: i32,
  direct: bool,
): void {
  const kp = field(desc, 15);
  const cStride = <usize>(field(desc, 11) * field(desc, 12)) << 2;
  const wr = w + <usize>(r0 >> 2) * (<usize>kp << 3);
  const accr = acc + <usize>r0 * cStride;
  const zp = i16x8.splat(<i16>field(desc, 13));
  const tEnd = tab + (<usize>kp << 2);
  const signed = field(desc, 14) != 0;
  if (direct) planeOffsets(desc, tab);
  else im2colOffsets(desc, tab);
  for (let p = p0; p < p1; p += chunk) {
    const n = min(chunk, p1 - p);
    const np = (n + 7) >> 3;
    if (!direct) im2colPackPadded(desc, x, tab, p, np, panels);
    else if (signed) im2colPack1x1(x, tab, tEnd, zp, p, np, panels, true);
    else im2colPack1x1(x, tab, tEnd, zp, p, np, panels, false);
    qs16_gemm_4x8__wasmsimd(wr, panels, accr + (<usize>p << 2), cStride, r1 - r0, 0, n, kp);
  }
}

/**
 * {@link qs8_conv2d_acc__wasmsimd} for sw = 1 or 2 and ow ≥ 7, reading the zero-bordered int16 planes
 * `x` of {@link q8_widen_pad__wasmsimd} (the group's first channel) instead of the 8-bit input, so
 * that building the im2col panels is plain vector copies. `tab` holds kp int32 (row offsets).
 */
export function qs16_conv2d_acc__wasmsimd(
  desc: usize,
  x: usize,
  w: usize,
  acc: usize,
  p0: i32,
  p1: i32,
  chunk: i32,
  panels: usize,
  tab: usize,
  r0: i32,
  r1: i32,
): void {
  convAcc(desc, x, w, acc, p0, p1, chunk, panels, tab, r0, r1, false);
}

// Byte offsets of the group's 8-bit input planes, one per im2col row of a 1×1 conv (row k is
// channel k); the row that evens out kp meets zero weights and reads plane 0.
function planeOffsets(desc: usize, tab: usize): void {
  const cin = field(desc, 0), kp = field(desc, 15);
  const planeBytes = field(desc, 1) * field(desc, 2);
  for (let ci = 0; ci < cin; ci++) store<i32>(tab + (<usize>ci << 2), ci * planeBytes);
  if (cin < kp) store<i32>(tab + (<usize>cin << 2), 0);
}

// 8 codes from `p` as int16 `x − zp`.
// @ts-ignore: decorator
@inline
function codes8(p: usize, zp: v128, signed: bool): v128 {
  return i16x8.sub(signed ? v128.load8x8_s(p) : v128.load8x8_u(p), zp);
}

// B panels for pixels [p0, p0 + 8·npanels) of a 1×1 conv with stride 1 and no padding: im2col row
// k is input plane k itself, so a panel is, per k-pair, 8 consecutive codes of two planes, widened
// as they load and interleaved. Pixels past oh·ow read up to 7 bytes past a plane (the next plane,
// or the input's slack); their columns are never stored.
// @ts-ignore: decorator
@inline
function im2colPack1x1(x: usize, tab: usize, tEnd: usize, zp: v128, p0: i32, npanels: i32, out: usize, signed: bool): void {
  let dp = out;
  for (let j = 0; j < npanels; j++) {
    const px = x + <usize>(p0 + (j << 3));
    for (let t = tab; t < tEnd; t += 8) {
      const v0 = codes8(px + load<u32>(t), zp, signed);
      const v1 = codes8(px + load<u32>(t, 4), zp, signed);
      v128.store(dp, v128.shuffle<i16>(v0, v1, 0, 8, 1, 9, 2, 10, 3, 11));
      v128.store(dp, v128.shuffle<i16>(v0, v1, 4, 12, 5, 13, 6, 14, 7, 15), 16);
      dp += 32;
    }
  }
}

/**
 * {@link qs16_conv2d_acc__wasmsimd} for a 1×1 conv with stride 1 and no padding, reading the 8-bit
 * input `x` (the group's first channel) directly: its im2col rows are the input planes, so there is
 * no zero border to build and no widening pass before the conv. `tab` holds kp int32 (plane offsets).
 */
export function qs8_conv1x1_acc__wasmsimd(
  desc: usize,
  x: usize,
  w: usize,
  acc: usize,
  p0: i32,
  p1: i32,
  chunk: i32,
  panels: usize,
  tab: usize,
  r0: i32,
  r1: i32,
): void {
  convAcc(desc, x, w, acc, p0, p1, chunk, panels, tab, r0, r1, true);
}

// Two taps' weights as the int16 pair (a, b) in every 32-bit lane, for `i32x4.dot_i16x8_s`.
// @ts-ignore: decorator
@inline
function tapPair(a: i16, b: i16): v128 {
  return i32x4.splat((<i32>b << 16) | (<i32>a & 0xffff));
}

// Σ over a tap pair for outputs 0–3 (dotLo) or 4–7 (dotHi): inputs `x` (tap a) and `y` (tap b)
// interleaved lane by lane, times the pair's weights.
// @ts-ignore: decorator
@inline
function dotLo(x: v128, y: v128, w: v128): v128 {
  return i32x4.dot_i16x8_s(v128.shuffle<i16>(x, y, 0, 8, 1, 9, 2, 10, 3, 11), w);
}

// @ts-ignore: decorator
@inline
function dotHi(x: v128, y: v128, w: v128): v128 {
  return i32x4.dot_i16x8_s(v128.shuffle<i16>(x, y, 4, 12, 5, 13, 6, 14, 7, 15), w);
}

/**
 * Depthwise conv accumulators for output channels [c0, c1): `acc[c, oy, ox]`. Each input channel
 * is first widened into a zero-bordered int16 plane (`pad`: (ih + 2ph)·(iw + 2pw) + 32 int16, see
 * {@link widenPadPlanes}), so
 * the stride-1 and stride-2 inner loops are 8 output pixels × one tap per `i32x4.extmul` pair, with
 * no bounds checks. `w` holds kh·kw int16 taps `w − w_zp[c]` per output channel.
 */
export function qs8_dwconv2d_acc__wasmsimd(desc: usize, x: usize, w: usize, acc: usize, c0: i32, c1: i32, pad: usize): void {
  const ih = field(desc, 1), iw = field(desc, 2), kh = field(desc, 3), kw = field(desc, 4);
  const sh = field(desc, 5), sw = field(desc, 6), ph = field(desc, 7), pw = field(desc, 8);
  const dh = field(desc, 9), dw = field(desc, 10), oh = field(desc, 11), ow = field(desc, 12);
  const zp = field(desc, 13), signed = field(desc, 14), mult = field(desc, 16);
  const wp = iw + 2 * pw;
  const rowBytes = <usize>wp << 1;
  const khw = kh * kw;
  let loaded = -1;
  for (let c = c0; c < c1; c++) {
    const ci = c / mult;
    if (ci != loaded) {
      loaded = ci;
      zeroI16(widenPadPlanes(x + <usize>ci * <usize>ih * <usize>iw, 1, ih, iw, ph, pw, zp, signed, pad), 32);
    }
    const wc = w + (<usize>(c * khw) << 1);
    const out = acc + (<usize>c * <usize>oh * <usize>ow << 2);
    for (let oy = 0; oy < oh; oy++) {
      const orow = out + (<usize>oy * <usize>ow << 2);
      const prow = pad + <usize>(oy * sh) * rowBytes;
      if (sw == 1 && kh == 3 && kw == 3 && dw == 1) {
        // 3×3, stride 1 along x: taps go in pairs through `i32x4.dot_i16x8_s` (one pmaddwd per 4
        // outputs × 2 taps, where extmul costs three instructions per 4 × 1): the inputs of two taps
        // are interleaved by one shuffle per 4 outputs, against the taps' weights (w_a, w_b) in each
        // 32-bit lane. Pairs: (0,1), (3,4), (6,7), (2,5), and (8, 0) with a zero weight.
        const w0 = load<i16>(wc), w1 = load<i16>(wc, 2), w2 = load<i16>(wc, 4);
        const w3 = load<i16>(wc, 6), w4 = load<i16>(wc, 8), w5 = load<i16>(wc, 10);
        const w6 = load<i16>(wc, 12), w7 = load<i16>(wc, 14), w8 = load<i16>(wc, 16);
        const p01 = tapPair(w0, w1), p34 = tapPair(w3, w4), p67 = tapPair(w6, w7), p25 = tapPair(w2, w5), p8 = tapPair(w8, 0);
        const r1 = <usize>dh * rowBytes, r2 = r1 << 1;
        for (let ox = 0; ox < ow; ox += 8) {
          const q = prow + (<usize>ox << 1);
          const q1 = q + r1, q2 = q + r2;
          const x02 = v128.load(q, 4), x12 = v128.load(q1, 4), x22 = v128.load(q2, 4);
          let a0 = dotLo(v128.load(q), v128.load(q, 2), p01), a1 = dotHi(v128.load(q), v128.load(q, 2), p01);
          a0 = i32x4.add(a0, dotLo(v128.load(q1), v128.load(q1, 2), p34));
          a1 = i32x4.add(a1, dotHi(v128.load(q1), v128.load(q1, 2), p34));
          a0 = i32x4.add(a0, dotLo(v128.load(q2), v128.load(q2, 2), p67));
          a1 = i32x4.add(a1, dotHi(v128.load(q2), v128.load(q2, 2), p67));
          a0 = i32x4.add(a0, dotLo(x02, x12, p25));
          a1 = i32x4.add(a1, dotHi(x02, x12, p25));
          a0 = i32x4.add(a0, dotLo(x22, x22, p8));
          a1 = i32x4.add(a1, dotHi(x22, x22, p8));
          storeRow(orow + (<usize>ox << 2), a0, a1, ow - ox);
        }
      } else if (sw == 1) {
        dwRow(prow, wc, orow, ow, kh, kw, dh, dw, rowBytes, false);
      } else if (sw == 2) {
        dwRow(prow, wc, orow, ow, kh, kw, dh, dw, rowBytes, true);
      } else {
        for (let ox = 0; ox < ow; ox++) {
          let s: i32 = 0;
          for (let ky = 0; ky < kh; ky++) {
            const src = prow + <usize>(ky * dh) * rowBytes + (<usize>(ox * sw) << 1);
            const wr = wc + (<usize>(ky * kw) << 1);
            for (let kx = 0; kx < kw; kx++) {
              s += <i32>load<i16>(src + (<usize>(kx * dw) << 1)) * <i32>load<i16>(wr + (<usize>kx << 1));
            }
          }
          store<i32>(orow + (<usize>ox << 2), s);
        }
      }
    }
  }
}

// One output row of a depthwise conv, any kernel size, stride 1 along x or (`sw2`) 2: 8 outputs per
// step, one `row8` load (stride 2: every other int16 of 16, joined by one shuffle; the last group
// reads up to 15 int16 past its row, the next row or the plane's slack, into lanes not stored) and
// one extmul pair per tap. `sw2` is a constant at each call, so each use compiles to its own loop.
// @ts-ignore: decorator
@inline
function dwRow(prow: usize, wc: usize, orow: usize, ow: i32, kh: i32, kw: i32, dh: i32, dw: i32, rowBytes: usize, sw2: bool): void {
  for (let ox = 0; ox < ow; ox += 8) {
    let a0 = i32x4.splat(0), a1 = i32x4.splat(0);
    for (let ky = 0; ky < kh; ky++) {
      const src = prow + <usize>(ky * dh) * rowBytes + (<usize>ox << (sw2 ? 2 : 1));
      const wr = wc + (<usize>(ky * kw) << 1);
      for (let kx = 0; kx < kw; kx++) {
        const v = row8(src + (<usize>(kx * dw) << 1), sw2);
        const t = i16x8.splat(load<i16>(wr + (<usize>kx << 1)));
        a0 = i32x4.add(a0, i32x4.extmul_low_i16x8_s(v, t));
        a1 = i32x4.add(a1, i32x4.extmul_high_i16x8_s(v, t));
      }
    }
    storeRow(orow + (<usize>ox << 2), a0, a1, ow - ox);
  }
}
