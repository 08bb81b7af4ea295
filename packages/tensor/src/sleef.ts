// Float32 exponentials as PyTorch 1.13's CPU kernels compute them (spec pytorch-semantics.md §12.B).
// sleefExpf is exported for the quantized kernels whose PyTorch counterparts use it (sigmoid).

const f32 = Math.fround;

// Sleef 3.5 constants, float32-rounded as the C source's `float` literals are.
// eslint-disable-next-line no-loss-of-precision -- Sleef's decimal, rounded to float32 on purpose
const R_LN2F = f32(1.442695040888963407359924681001892137426645954152985934135449406931);
const L2UF = f32(0.693145751953125);
const L2LF = f32(1.428606765330187045e-6);
const C0 = f32(0.000198527617612853646278381);
const C1 = f32(0.00139304355252534151077271);
const C2 = f32(0.00833336077630519866943359);
const C3 = f32(0.0416664853692054748535156);
const C4 = f32(0.166666671633720397949219);
const C5 = f32(0.5);

// 2^e for an integer e in float32's normal exponent range, built from its exponent bits as Sleef's
// vpow2i does (exact in double, so multiplying by it and rounding once is what the float op does).
function pow2i(e: number): number {
  return 2 ** e;
}

/** Round half to even for a double (AVX2 `vcvtps2dq` under the default rounding mode). */
function rint(x: number): number {
  const r = Math.round(x);
  // Math.round rounds .5 up; ties go to the even neighbour instead.
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Sleef `expf8_u10` (AVX2 with FMA), one lane: what `Vectorized<float>::exp()` computes in
 * PyTorch 1.13. Every `fma` is `Math.fround(a*b+c)` (equal to a true FMA on all 4·10^6 inputs the
 * spec tried; see §12.B). It differs from a correctly rounded `expf` by 1 ulp on ~9% of inputs.
 *
 * @example
 * sleefExpf(Math.fround(-0.5)); // float32 e^-0.5 as PyTorch's vectorized kernels compute it
 * @see https://sleef.org/
 */
export function sleefExpf(d: number): number {
  if (Number.isNaN(d)) return NaN;
  const q = rint(f32(d * R_LN2F));
  let s = f32(q * -L2UF + d);
  s = f32(q * -L2LF + s);
  let u = C0;
  u = f32(u * s + C1);
  u = f32(u * s + C2);
  u = f32(u * s + C3);
  u = f32(u * s + C4);
  u = f32(u * s + C5);
  u = f32(1 + f32(f32(s * s) * u + s));
  const h = q >> 1;
  u = f32(f32(u * pow2i(h)) * pow2i(q - h));
  if (d < -104) return 0;
  if (d > 100) return Infinity;
  return u;
}

/** A correctly rounded float32 `expf` (glibc's, which PyTorch's scalar tails call). */
export function expf(x: number): number {
  return f32(Math.exp(x));
}
