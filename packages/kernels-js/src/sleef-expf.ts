// Sleef 3.5 `expf8_u10` (AVX2 with FMA), one lane: what PyTorch 1.13's `Vectorized<float>::exp()`
// computes, step by step as spec pytorch-semantics.md §12.B lists it. Internal.
//
// The same function lives in packages/tensor/src/sleef.ts (the float kernels' copy), which
// @quint/tensor does not export yet; replace this file with that import once it does.
const f32 = Math.fround;

// Sleef's float literals, rounded to float32 as the C source's `float` constants are.
const R_LN2F = f32(1.442695040888963407359924681001892137426645954152985934135449406931);
const L2UF = f32(0.693145751953125);
const L2LF = f32(1.428606765330187045e-6);
const POLY = [
  f32(0.00139304355252534151077271),
  f32(0.00833336077630519866943359),
  f32(0.0416664853692054748535156),
  f32(0.166666671633720397949219),
  f32(0.5),
];
const C0 = f32(0.000198527617612853646278381);

function rint(x: number): number {
  const r = Math.round(x);
  // AVX2 vcvtps2dq rounds ties to even; Math.round rounds them up.
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Sleef `expf8_u10` of a float32 `d`. Each `fma` is `Math.fround(a*b + c)`, equal to a true FMA on
 * the 4·10^6 inputs of spec §12.B; it differs from a correctly rounded expf by 1 ulp on ~9% of inputs.
 */
export function sleefExpf(d: number): number {
  if (Number.isNaN(d)) return NaN;
  const q = rint(f32(d * R_LN2F));
  let s = f32(q * -L2UF + d);
  s = f32(q * -L2LF + s);
  let u = C0;
  for (const c of POLY) u = f32(u * s + c);
  u = f32(1 + f32(f32(s * s) * u + s));
  const h = q >> 1;
  u = f32(f32(u * 2 ** h) * 2 ** (q - h));
  if (d < -104) return 0;
  if (d > 100) return Infinity;
  return u;
}
