import { describe, expect, test } from 'vitest';
import { roundHalfToEven } from '../src/index.js';

describe('roundHalfToEven', () => {
  test('ties go to the even neighbour, unlike Math.round', () => {
    expect([0.5, 1.5, 2.5, 3.5, -0.5, -1.5, -2.5, -3.5].map(roundHalfToEven)).toEqual([0, 2, 2, 4, -0, -2, -2, -4]);
    expect(Math.round(2.5)).toBe(3);
  });
  test('non-ties round to nearest', () => {
    expect([0.49999999999999994, 0.5000000000000001, -1.4999999, 2.7, -2.7].map(roundHalfToEven)).toEqual([0, 1, -1, 3, -3]);
  });
  test('large values, NaN and infinities pass through', () => {
    expect(roundHalfToEven(2 ** 52 + 1)).toBe(2 ** 52 + 1);
    expect(roundHalfToEven(2 ** 51 + 0.5)).toBe(2 ** 51);
    expect(roundHalfToEven(2 ** 51 + 1.5)).toBe(2 ** 51 + 2);
    expect(roundHalfToEven(Infinity)).toBe(Infinity);
    expect(roundHalfToEven(-Infinity)).toBe(-Infinity);
    expect(roundHalfToEven(NaN)).toBeNaN();
  });
});
