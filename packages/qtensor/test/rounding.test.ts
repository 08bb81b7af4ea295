import { fc, test as prop } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import { roundHalfToEven } from '../src/index.js';

/** The definition: the nearer integer, the even one on a tie, x's sign on a zero (C `nearbyint`). */
function nearbyint(x: number): number {
  if (!Number.isFinite(x)) return x;
  const lo = Math.floor(x);
  const d = x - lo; // exact: x and its floor are within 1 of each other
  const r = d < 0.5 ? lo : d > 0.5 ? lo + 1 : lo % 2 === 0 ? lo : lo + 1;
  return r === 0 ? (Object.is(x, -0) || x < 0 ? -0 : 0) : r;
}

describe('roundHalfToEven', () => {
  test('ties go to the even neighbour, unlike Math.round', () => {
    expect([0.5, 1.5, 2.5, 3.5, -0.5, -1.5, -2.5, -3.5].map(roundHalfToEven)).toEqual([0, 2, 2, 4, -0, -2, -2, -4]);
    expect(Math.round(2.5)).toBe(3);
  });
  test('non-ties round to nearest', () => {
    expect([0.49999999999999994, 0.5000000000000001, -1.4999999, 2.7, -2.7].map(roundHalfToEven)).toEqual([
      0, 1, -1, 3, -3,
    ]);
  });
  test('large values, NaN and infinities pass through', () => {
    expect(roundHalfToEven(2 ** 52 + 1)).toBe(2 ** 52 + 1);
    expect(roundHalfToEven(2 ** 51 + 0.5)).toBe(2 ** 51);
    expect(roundHalfToEven(2 ** 51 + 1.5)).toBe(2 ** 51 + 2);
    expect(roundHalfToEven(Infinity)).toBe(Infinity);
    expect(roundHalfToEven(-Infinity)).toBe(-Infinity);
    expect(roundHalfToEven(NaN)).toBeNaN();
  });
  // The fast path (|x| < 2^51) adds and subtracts 1.5·2^52; around its edges, on ties and zeros
  // of both signs it must equal the definition.
  const special = [
    0,
    -0,
    0.5,
    -0.5,
    1.5,
    -2.5,
    2 ** 51 - 0.5,
    -(2 ** 51 - 0.5),
    2 ** 51 - 1.5,
    2 ** 51,
    2 ** 51 + 0.5,
    2 ** 52 - 0.5,
    2 ** 53,
    Number.MIN_VALUE,
    -Number.MIN_VALUE,
    NaN,
    Infinity,
    -Infinity,
  ];
  prop.prop([
    fc.oneof(
      fc.double(),
      fc.double({ min: -1e6, max: 1e6 }),
      fc.integer({ min: -1e6, max: 1e6 }).map((k) => k + 0.5),
      fc.constantFrom(...special),
    ),
  ])('equals nearbyint for every double, signed zeros included', (x) => {
    expect(Object.is(roundHalfToEven(x), nearbyint(x)) || (Number.isNaN(x) && Number.isNaN(roundHalfToEven(x)))).toBe(
      true,
    );
  });
});
