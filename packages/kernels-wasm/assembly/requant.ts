// Vectorized requantization of int32 accumulators to 8-bit codes.
//
// The float steps follow @quint/qtensor's requantize.ts operation for operation: wasm f32 arithmetic
// is IEEE binary32 with round-to-nearest-even, `f32.convert_i32_s` rounds like `Math.fround(acc)`,
// and `f32x4.nearest` is round-half-to-even (PyTorch's nearbyint, MLAS's cvtps2dq).
// Clamping to [lo − zp, hi − zp] before rounding equals clamping after it because the bounds are
// integers and rounding is monotone; it also keeps the float → int32 conversion in range.
// The vector clamps are `pmax(v, lo)`/`pmin(v, hi)` (`v < lo ? lo : v`, `hi < v ? hi : v`: one
// maxps/minps each, where `f32x4.max`/`min` cost V8 ~7 instructions for NaN and −0 handling). They
// differ from max/min only for −0, which rounds to the same integer, and keep NaN as NaN, as those do.
//
// Channel layout: `perRow` = 1 means channel = row (conv output [C][H·W]); 0 means channel = column
// (linear output [M][N]). Rows are `stride` elements apart in both the accumulators and the output,
// so a thread lane can requantize its own block of columns. Outputs are stored as bytes; `lo`/`hi`
// are already within the dtype.

// @ts-ignore: decorator
@inline
function narrowStore16(p: usize, v0: v128, v1: v128, v2: v128, v3: v128, signed: i32): void {
  const h0 = i16x8.narrow_i32x4_s(v0, v1);
  const h1 = i16x8.narrow_i32x4_s(v2, v3);
  v128.store(p, signed ? i8x16.narrow_i16x8_s(h0, h1) : i8x16.narrow_i16x8_u(h0, h1));
}

// qnnpack and ort: y = clamp(zp + rne(f32(f32(acc + bias_q[c]) × M[c])), lo, hi). The int32 add
// wraps, as requantize.ts's `(acc + biasQ) | 0` and QNNPACK's SSE2 kernel do. Adding zp to the rounded
// float is exact (|value| ≤ 510 after the clamp) and lets NaN convert to 0, as a JS Uint8Array store
// of NaN does. qnnpack only (`bad` all ones): `cvtps2dq` maps NaN and values ≥ 2^31 to INT32_MIN,
// which the int16 pack and the clamp send to `lo` (requantize.ts `qnnpackOutputCode`).
// @ts-ignore: decorator
@inline
function fp32Vec(acc: v128, bias: v128, mult: v128, fmin: v128, fmax: v128, fzp: v128, sat: v128): v128 {
  let v = f32x4.mul(f32x4.convert_i32x4_s(i32x4.add(acc, bias)), mult);
  const bad = v128.andnot(sat, f32x4.lt(v, f32x4.splat(2147483648.0)));
  v = f32x4.pmin(f32x4.pmax(v, fmin), fmax);
  v = v128.bitselect(fmin, v, bad);
  return i32x4.trunc_sat_f32x4_s(f32x4.add(f32x4.nearest(v), fzp));
}

// @ts-ignore: decorator
@inline
function fp32Scalar(acc: i32, bias: i32, mult: f32, fmin: f32, fmax: f32, fzp: f32, sat: i32): i32 {
  let v = <f32>(acc + bias) * mult;
  const bad = sat != 0 && !(v < 2147483648.0);
  v = bad ? fmin : min(max(v, fmin), fmax);
  return <i32>(nearest<f32>(v) + fzp);
}

// onednn: v = f32(f32(f32(acc) + fb[c]) × op[c]); y = clamp(rne(f32(v + f32(zp))), lo, hi).
// A fused relu (max(v, 0)) is the same as lo = zp: f32(v + zp) is monotone in v and equals zp at 0.
// @ts-ignore: decorator
@inline
function fbiasVec(acc: v128, fb: v128, mult: v128, fmin: v128, fmax: v128, zb: v128, za: v128): v128 {
  let v = f32x4.mul(f32x4.add(f32x4.convert_i32x4_s(acc), fb), mult);
  v = f32x4.add(v, zb);
  v = f32x4.pmin(f32x4.pmax(v, fmin), fmax);
  return i32x4.trunc_sat_f32x4_s(f32x4.add(f32x4.nearest(v), za));
}

// @ts-ignore: decorator
@inline
function fbiasScalar(acc: i32, fb: f32, mult: f32, fmin: f32, fmax: f32, zb: f32, za: f32): i32 {
  let v = (<f32>acc + fb) * mult;
  v = v + zb;
  v = min(max(v, fmin), fmax);
  return <i32>(nearest<f32>(v) + za);
}

// The row loop both requantizations share: 16 outputs per step from four vectors, then a scalar
// tail; per-row (conv) or per-column (linear) bias and multiplier. `B` is the bias element type and
// picks the flavour at compile time (i32: fp32Vec/fp32Scalar; f32: fbiasVec/fbiasScalar), so after
// inlining the exports' loops compile to the same instructions as two hand-written copies did (checked
// on build/kernels.wat). The flavour's two extra scalars are `p` (fp32: zp; fbias: zb) and `q` (fp32:
// the qnnpack flag) or `qf` (fbias: za); `vp`, `vq` are their vectors (fp32: zp and the flag's mask).
// @ts-ignore: decorator
@inline
function requantRows<B>(
  acc: usize, bias: usize, mult: usize, out: usize, rows: i32, cols: i32, stride: i32, perRow: i32, signed: i32,
  fmin: f32, fmax: f32, p: f32, q: i32, qf: f32, vp: v128, vq: v128,
): void {
  const vmin = f32x4.splat(fmin), vmax = f32x4.splat(fmax);
  for (let r = 0; r < rows; r++) {
    const ap = acc + (<usize>r * <usize>stride << 2);
    const op = out + <usize>r * <usize>stride;
    let j = 0;
    if (perRow) {
      const bs = load<B>(bias + (<usize>r << 2));
      const ms = load<f32>(mult + (<usize>r << 2));
      const vb = isInteger<B>() ? i32x4.splat(<i32>bs) : f32x4.splat(<f32>bs), vm = f32x4.splat(ms);
      for (; j + 16 <= cols; j += 16) {
        const a = ap + (<usize>j << 2);
        narrowStore16(
          op + <usize>j,
          requantVec<B>(v128.load(a), vb, vm, vmin, vmax, vp, vq),
          requantVec<B>(v128.load(a, 16), vb, vm, vmin, vmax, vp, vq),
          requantVec<B>(v128.load(a, 32), vb, vm, vmin, vmax, vp, vq),
          requantVec<B>(v128.load(a, 48), vb, vm, vmin, vmax, vp, vq),
          signed,
        );
      }
      for (; j < cols; j++) store<i8>(op + <usize>j, <i8>requantScalar<B>(load<i32>(ap + (<usize>j << 2)), bs, ms, fmin, fmax, p, q, qf));
    } else {
      for (; j + 16 <= cols; j += 16) {
        const a = ap + (<usize>j << 2);
        const bq = bias + (<usize>j << 2);
        const mq = mult + (<usize>j << 2);
        narrowStore16(
          op + <usize>j,
          requantVec<B>(v128.load(a), v128.load(bq), v128.load(mq), vmin, vmax, vp, vq),
          requantVec<B>(v128.load(a, 16), v128.load(bq, 16), v128.load(mq, 16), vmin, vmax, vp, vq),
          requantVec<B>(v128.load(a, 32), v128.load(bq, 32), v128.load(mq, 32), vmin, vmax, vp, vq),
          requantVec<B>(v128.load(a, 48), v128.load(bq, 48), v128.load(mq, 48), vmin, vmax, vp, vq),
          signed,
        );
      }
      for (; j < cols; j++) {
        const o = <usize>j << 2;
        store<i8>(op + <usize>j, <i8>requantScalar<B>(load<i32>(ap + o), load<B>(bias + o), load<f32>(mult + o), fmin, fmax, p, q, qf));
      }
    }
  }
}

// @ts-ignore: decorator
@inline
function requantVec<B>(acc: v128, bias: v128, mult: v128, fmin: v128, fmax: v128, vp: v128, vq: v128): v128 {
  return isInteger<B>() ? fp32Vec(acc, bias, mult, fmin, fmax, vp, vq) : fbiasVec(acc, bias, mult, fmin, fmax, vp, vq);
}

// @ts-ignore: decorator
@inline
function requantScalar<B>(acc: i32, bias: B, mult: f32, fmin: f32, fmax: f32, p: f32, q: i32, qf: f32): i32 {
  return isInteger<B>() ? fp32Scalar(acc, <i32>bias, mult, fmin, fmax, p, q) : fbiasScalar(acc, <f32>bias, mult, fmin, fmax, p, qf);
}

/**
 * The `fp32` requantization (qnnpack §5.2a, ort): int32 bias added to the accumulator, one float32
 * multiply, round half to even, zero point added after rounding. `qnnpack` = 1 applies qnnpack's
 * out-of-range rule (NaN and ≥ 2^31 give `lo`); 0 is ort's plain clamp.
 */
export function q8_requant_minmax_fp32__wasmsimd(
  acc: usize,
  bias: usize,
  mult: usize,
  out: usize,
  rows: i32,
  cols: i32,
  stride: i32,
  perRow: i32,
  zp: i32,
  lo: i32,
  hi: i32,
  signed: i32,
  qnnpack: i32,
): void {
  const fmin = <f32>(lo - zp), fmax = <f32>(hi - zp), fzp = <f32>zp;
  const sat = qnnpack ? i32x4.splat(-1) : i32x4.splat(0);
  requantRows<i32>(acc, bias, mult, out, rows, cols, stride, perRow, signed, fmin, fmax, fzp, qnnpack, 0, f32x4.splat(fzp), sat);
}

/**
 * The float-bias requantizations: float32 bias added to `f32(acc)`, one float32 multiply, then
 * onednn (§5.2b, `zpBefore` = 1) adds the output zero point in float before rounding half to even;
 * fbgemm (§5.2c, `zpBefore` = 0) adds it after rounding (its int16 saturations are implied by the
 * final clamp; an exact add of small integers in float lets NaN become 0 as in JS).
 */
export function q8_requant_minmax_fbias__wasmsimd(
  acc: usize,
  fbias: usize,
  mult: usize,
  out: usize,
  rows: i32,
  cols: i32,
  stride: i32,
  perRow: i32,
  zp: i32,
  lo: i32,
  hi: i32,
  signed: i32,
  zpBefore: i32,
): void {
  // onednn clamps v + zp to [lo, hi]; fbgemm clamps v to [lo − zp, hi − zp] and adds zp after.
  const zb: f32 = zpBefore ? <f32>zp : 0, za: f32 = zpBefore ? 0 : <f32>zp;
  const fmin = <f32>lo - za, fmax = <f32>hi - za;
  requantRows<f32>(acc, fbias, mult, out, rows, cols, stride, perRow, signed, fmin, fmax, zb, 0, za, f32x4.splat(zb), f32x4.splat(za));
}
