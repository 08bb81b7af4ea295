import { isQuantError } from '@quint/tensor';
import { describe, expect, test } from 'vitest';
import { calculateQminQmax, calculateQparams, type QDtype, type QScheme } from '../src/index.js';
import { decode, loadGolden, mismatch, type B64Array } from './golden-helpers.js';

interface QparamsCase {
  name: string;
  dtype: QDtype;
  qscheme: QScheme | 'per_channel_affine_float_qparams';
  reduceRange: boolean;
  customRange: [number, number] | null;
  eps: number | null;
  quantMin: number;
  quantMax: number;
  hasCustomizedQrange: boolean;
  min: B64Array;
  max: B64Array;
  scales: B64Array;
  zeroPoints: B64Array;
  warned: boolean[];
}
interface RangeCase {
  dtype: QDtype;
  customRange: [number, number];
  reduceRange: boolean;
  rejected: boolean;
  quantMin?: number;
  quantMax?: number;
  error?: string;
}
const golden = loadGolden<{ meta: { torch_package: string; seed: number }; cases: QparamsCase[]; ranges: RangeCase[] }>(
  'qparams.json',
);

test('goldens come from Debian torch 1.13.1+dfsg-4', () => {
  expect(golden.meta.torch_package).toBe('1.13.1+dfsg-4');
  expect(golden.cases.length).toBeGreaterThan(40);
});

describe('calculateQminQmax equals the observer quant_min/quant_max of PyTorch', () => {
  test.each(golden.cases.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    const range = calculateQminQmax({
      dtype: c.dtype,
      quantMin: c.customRange?.[0],
      quantMax: c.customRange?.[1],
      reduceRange: c.reduceRange,
    });
    expect(range).toEqual({ quantMin: c.quantMin, quantMax: c.quantMax });
  });

  test.each(
    golden.ranges.map((r) => [`${r.dtype} [${r.customRange.join(', ')}] reduceRange=${r.reduceRange}`, r] as const),
  )('custom range %s: accepted or rejected as PyTorch does', (_n, r) => {
    const run = () =>
      calculateQminQmax({
        dtype: r.dtype,
        quantMin: r.customRange[0],
        quantMax: r.customRange[1],
        reduceRange: r.reduceRange,
      });
    if (r.rejected) {
      let err: unknown;
      try {
        run();
      } catch (e) {
        err = e;
      }
      expect(isQuantError(err)).toBe(true);
    } else {
      expect(run()).toEqual({ quantMin: r.quantMin, quantMax: r.quantMax });
    }
  });
});

describe('calculateQparams is bit-exact with the observers’ _calculate_qparams', () => {
  test.each(golden.cases.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    const mins = decode(c.min) as Float32Array;
    const maxs = decode(c.max) as Float32Array;
    const scales = decode(c.scales);
    const zps = decode(c.zeroPoints);
    const perTensor = c.qscheme.startsWith('per_tensor');
    const base = {
      dtype: c.dtype,
      quantMin: c.quantMin,
      quantMax: c.quantMax,
      eps: c.eps ?? undefined,
      hasCustomizedQrange: c.hasCustomizedQrange,
    };
    const run = (lo: Float32Array, hi: Float32Array, warnings: string[]) => {
      const onWarning = (m: string): void => {
        warnings.push(m);
      };
      return c.qscheme === 'per_channel_affine_float_qparams'
        ? calculateQparams(lo, hi, { ...base, qscheme: c.qscheme, onWarning })
        : calculateQparams(lo, hi, { ...base, qscheme: c.qscheme, onWarning });
    };
    if (perTensor) {
      // The generator ran one per-tensor observer per (min, max) pair.
      for (let i = 0; i < mins.length; i++) {
        const warnings: string[] = [];
        const r = run(mins.subarray(i, i + 1), maxs.subarray(i, i + 1), warnings);
        expect(mismatch(r.scales, [scales[i]!]), `pair ${i}: min ${mins[i]} max ${maxs[i]}`).toBe('identical');
        expect(mismatch(r.zeroPoints, [zps[i]!]), `pair ${i}: min ${mins[i]} max ${maxs[i]}`).toBe('identical');
        expect(warnings.length > 0).toBe(c.warned[i]);
        expect(r.observed).toBe(!c.warned[i]);
      }
    } else {
      const warnings: string[] = [];
      const r = run(mins, maxs, warnings);
      expect(mismatch(r.scales, scales)).toBe('identical');
      expect(mismatch(r.zeroPoints, zps)).toBe('identical');
      expect(warnings.length > 0).toBe(c.warned[0]);
    }
  });
});
