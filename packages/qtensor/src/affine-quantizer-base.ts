import { DTYPE_RANGE, type QDtype } from './dtypes.js';
import { roundHalfToEven } from './rounding.js';

const f32 = Math.fround;
const TWO_POW_63 = 2 ** 63;

/** The float32 next to `r` (a float32) in the direction of `toward`. */
function nextFloat32(r: number, toward: number): number {
  if (r === 0) return toward > 0 ? 1.401298464324817e-45 : -1.401298464324817e-45;
  const f32Buf = Float32Array.of(r);
  const i32Buf = new Int32Array(f32Buf.buffer);
  // Moving away from zero increments the magnitude bits, toward zero decrements them.
  i32Buf[0]! += toward > r === r > 0 ? 1 : -1;
  return f32Buf[0]!;
}

/**
 * `fmaf(a, b, c)`: `a·b + c` rounded once to float32, as the FMA instructions of PyTorch's AVX2
 * `Vectorized<float>::fmadd` compute it. `a` and `b` must be float32 values (their product is then
 * exact in double); the sum is rounded to float32 exactly, with no double-rounding error.
 *
 * @example
 * fmaf(Math.fround(0.1), 3, Math.fround(-0.3)); // the single-rounded float32 of 0.1f·3 − 0.3f
 * @see https://en.cppreference.com/w/c/numeric/math/fma
 */
export function fmaf(a: number, b: number, c: number): number {
  const p = a * b; // exact: two 24-bit significands fit in 53 bits
  const s = p + c;
  const r = f32(s);
  if (r === s || !Number.isFinite(s)) return r;
  // TwoSum (Knuth): `err` is the exact rounding error of `p + c`, so the true sum is `s + err`.
  const bv = s - p;
  const err = p - (s - bv) + (c - bv);
  if (err === 0) return r;
  // Rounding `s` to float32 is wrong only if `s` sits exactly on a float32 midpoint (a tie the
  // true sum does not have); then the true sum lies on err's side of it.
  const other = nextFloat32(r, s);
  if ((r + other) / 2 !== s) return r;
  return err > 0 === other > r ? other : r;
}

/**
 * Quantizes one float as PyTorch 1.13's `quantize_val` does in builds without FBGEMM (spec
 * pytorch-semantics §1.2): `inv = f32(1/f32(scale))`, `q = clamp(zp + rne(f32(x·inv)), qmin, qmax)`,
 * where `zp + …` is a float32 addition and `x` is read as float32. NaN, ±Infinity and sums of
 * magnitude ≥ 2^63 give `qmin` (x86 converts them to INT64_MIN), so `+Infinity` quantizes to 0 as quint8.
 *
 * No validation (a kernel helper); {@link quantizePerTensor} validates.
 *
 * @example
 * quantizeVal(0.25, 0.1, 10, 'quint8'); // 12 (2.5 ties to even 2)
 * @see https://pytorch.org/docs/stable/generated/torch.quantize_per_tensor.html
 */
export function quantizeVal(x: number, scale: number, zeroPoint: number, dtype: QDtype): number {
  const [qmin, qmax] = DTYPE_RANGE[dtype];
  return quantizeWithInv(f32(x), f32(1 / f32(scale)), f32(zeroPoint), qmin, qmax);
}

/** The core of {@link quantizeVal} with the reciprocal and float32 zero point precomputed. @internal */
export function quantizeWithInv(x: number, inv: number, zpF32: number, qmin: number, qmax: number): number {
  // C++: `static_cast<int64_t>(zero_point + Round(value * inv_scale))` — int64 + float is float.
  const v = f32(zpF32 + roundHalfToEven(f32(x * inv)));
  if (!(Math.abs(v) < TWO_POW_63)) return qmin;
  return v < qmin ? qmin : v > qmax ? qmax : v;
}

/**
 * Dequantizes one code as PyTorch's scalar `dequantize_val` (per-tensor `dequantize()`, spec §1.4):
 * `f32(f32(scale) · f32(q − zp))`, the subtraction in int32.
 *
 * @example
 * dequantizeVal(12, 0.1, 10); // 0.20000000298023224 (f32 0.2)
 * @see https://pytorch.org/docs/stable/generated/torch.dequantize.html
 */
export function dequantizeVal(q: number, scale: number, zeroPoint: number): number {
  return f32(f32(scale) * f32((q - zeroPoint) | 0));
}

/**
 * Dequantizes one code as PyTorch's vectorized kernels do (`Vectorized<q>::dequantize` on
 * AVX2/AVX512, spec §1.4, §5.12): `fma(f32(scale), f32(q), f32(f32(scale)·f32(−zp)))`. It can differ
 * from {@link dequantizeVal} by one float32 ulp; `quantized::add`, `cat` (NHWC), `hardswish`,
 * `hardsigmoid`, `tanh` use this form on their vectorized body.
 *
 * @example
 * dequantizeValFma(12, 0.1, 10); // f32(0.1)·12 + f32(f32(0.1)·−10), rounded once
 * @see https://pytorch.org/docs/stable/generated/torch.dequantize.html
 */
export function dequantizeValFma(q: number, scale: number, zeroPoint: number): number {
  const s = f32(scale);
  return fmaf(s, f32(q), f32(s * f32(-zeroPoint)));
}
