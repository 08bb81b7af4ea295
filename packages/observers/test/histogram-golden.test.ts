import { describe, expect, it } from 'vitest';
import { HistogramObserver } from '../src/index.js';
import { bits, f32, i32, loadGolden, stateDictOf, toOptions, toTensor, type GoldenCase } from './golden-utils.js';

const golden = loadGolden<{ meta: { torchPackage: string; seed: number }; cases: GoldenCase[] }>('histogram.json');

const make = (c: GoldenCase) => new HistogramObserver({ ...toOptions(c.kwargs), torchCompat: '1.13', warn: () => {} });

describe(`HistogramObserver torchCompat 1.13 vs PyTorch ${golden.meta.torchPackage} (seed ${golden.meta.seed})`, () => {
  for (const c of golden.cases) {
    it(`${c.name}: histogram, min/max and qparams bit for bit`, () => {
      const obs = make(c);
      for (const b of c.batches) obs.forward(toTensor(b));
      const want = stateDictOf(c);
      const sd = obs.stateDict();
      expect(Object.keys(sd).sort()).toEqual(Object.keys(want).sort());
      expect(bits(sd['min_val'] as Float32Array)).toEqual(bits(want['min_val'] as Float32Array));
      expect(bits(sd['max_val'] as Float32Array)).toEqual(bits(want['max_val'] as Float32Array));
      expect(bits(sd['histogram'] as Float32Array)).toEqual(bits(want['histogram'] as Float32Array));
      const q = obs.calculateQparams();
      expect(bits(q.scale)).toEqual(bits(f32(c.scale)));
      expect(Array.from(q.zeroPoint)).toEqual(Array.from(i32(c.zeroPoint!)));
      expect(obs.toString()).toBe(c.repr);
    });

    it(`${c.name}: loading PyTorch's state gives PyTorch's qparams`, () => {
      const obs = make(c);
      obs.loadStateDict(stateDictOf(c));
      const q = obs.calculateQparams();
      expect(bits(q.scale)).toEqual(bits(f32(c.scale)));
      expect(Array.from(q.zeroPoint)).toEqual(Array.from(i32(c.zeroPoint!)));
    });
  }

  it('shows the 1.13 truncation bug: data outside (trunc(min), trunc(max)) is missing from the histogram', () => {
    const c = golden.cases.find((k) => k.name === 'hist_wide_single_batch')!;
    const n = c.batches[0]!.shape[0]!;
    const hist = stateDictOf(c)['histogram'] as Float32Array;
    const total = hist.reduce((a, b) => a + b, 0);
    expect(total).toBeLessThan(n);
    const latest = new HistogramObserver();
    latest.forward(toTensor(c.batches[0]!));
    expect(latest.histogram.reduce((a, b) => a + b, 0)).toBe(n);
  });
});
