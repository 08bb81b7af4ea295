/**
 * Rounds to the nearest integer, ties to even: C `nearbyint`/`lrintf` in the default FP mode, x86
 * `cvtps2dq`, `torch.round`. `Math.round` rounds ties toward +∞ (`Math.round(2.5) === 3`,
 * `Math.round(-2.5) === -2`), which is not what PyTorch does.
 *
 * NaN and ±Infinity are returned unchanged; `-0.5` gives `-0`, as `nearbyint` does.
 *
 * @example
 * roundHalfToEven(2.5);  // 2
 * roundHalfToEven(3.5);  // 4
 * roundHalfToEven(-2.5); // -2
 * @see https://pytorch.org/docs/stable/generated/torch.round.html
 */
export function roundHalfToEven(x: number): number {
  const r = Math.round(x);
  // `r - x` is exact here: both are within 1 of each other and |x| < 2^53 whenever x has a
  // fractional part, so a difference of exactly 0.5 identifies a tie Math.round broke upward.
  if (r - x === 0.5 && r % 2 !== 0) return r - 1;
  return r;
}
