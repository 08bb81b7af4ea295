import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { Tensor } from '@quint/tensor';
import { HistogramObserver } from '../src/index.js';

const f32 = Math.fround;
const finite = fc.float({ min: f32(-1e4), max: f32(1e4), noNaN: true, noDefaultInfinity: true });
const batch = fc.array(finite, { minLength: 1, maxLength: 200 });
const inside = fc.float({ min: f32(-0.999), max: f32(0.999), noNaN: true, noDefaultInfinity: true });

const sum = (h: Float32Array) => h.reduce((a, b) => a + b, 0);
const t = (v: number[]) => Tensor.fromArray(v);

describe('HistogramObserver, latest algorithm (properties; no PyTorch here runs it)', () => {
  test.prop([fc.array(batch, { minLength: 1, maxLength: 5 }), fc.constantFrom(2048, 256, 64)], {
    numRuns: 60,
    examples: [
      [[[0, -0]], 64],
      [[[-0, 0]], 64],
    ],
  })('no data is dropped: the histogram holds every finite value seen', (batches, bins) => {
    const obs = new HistogramObserver({ bins });
    let n = 0;
    for (const b of batches) {
      obs.forward(t(b));
      n += b.length;
    }
    expect(sum(obs.histogram)).toBe(n);
    const all = batches.flat().map(f32);
    // `+ 0` equates -0 and +0: the observer keeps the first zero it meets, Math.min/max prefer -0/+0; qparams are the same.
    expect(obs.minVal + 0).toBe(Math.min(...all) + 0);
    expect(obs.maxVal + 0).toBe(Math.max(...all) + 0);
  });

  test.prop([fc.array(inside, { minLength: 1, maxLength: 400 }), fc.boolean()], { numRuns: 40 })(
    'a single batch inside (−1, 1) gives the same histogram and qparams as 1.13',
    (values, reduceRange) => {
      const latest = new HistogramObserver({ reduceRange });
      const old = new HistogramObserver({ reduceRange, torchCompat: '1.13' });
      latest.forward(t(values));
      old.forward(t(values));
      expect(Array.from(latest.histogram)).toEqual(Array.from(old.histogram));
      expect([latest.minVal, latest.maxVal]).toEqual([old.minVal, old.maxVal]);
      expect(latest.calculateQparams()).toEqual(old.calculateQparams());
    },
  );

  test.prop([fc.array(batch, { minLength: 1, maxLength: 3 })], { numRuns: 30 })(
    'qparams are valid quint8 qparams',
    (batches) => {
      const obs = new HistogramObserver();
      for (const b of batches) obs.forward(t(b));
      const { scale, zeroPoint } = obs.calculateQparams();
      expect(scale[0]).toBeGreaterThan(0);
      expect(Number.isFinite(scale[0]!)).toBe(true);
      expect(zeroPoint[0]).toBeGreaterThanOrEqual(0);
      expect(zeroPoint[0]).toBeLessThanOrEqual(255);
    },
  );

  it('keeps data 1.13 drops when a later batch widens the range', () => {
    const latest = new HistogramObserver();
    const old = new HistogramObserver({ torchCompat: '1.13' });
    const a = Array.from({ length: 100 }, (_, i) => -0.5 + i / 100);
    const b = Array.from({ length: 100 }, (_, i) => -3.5 + (7 * i) / 99);
    for (const o of [latest, old]) {
      o.forward(t(a));
      o.forward(t(b));
    }
    expect(sum(latest.histogram)).toBe(200);
    expect(sum(old.histogram)).toBeLessThan(200);
    expect(latest.maxVal).toBe(3.5); // 1.13 also relaxes the max
    expect(old.maxVal).toBeGreaterThan(3.5);
  });

  it('a constant first batch is kept (1.13 resets the histogram instead)', () => {
    const latest = new HistogramObserver();
    const old = new HistogramObserver({ torchCompat: '1.13' });
    for (const o of [latest, old]) {
      o.forward(t([0.25, 0.25, 0.25]));
      o.forward(t([-1, 0, 2]));
    }
    expect(sum(latest.histogram)).toBe(6);
    expect(sum(old.histogram)).toBe(3);
  });

  it('uses upsample rate 16 by default, 128 with torchCompat 1.13', () => {
    expect(new HistogramObserver().upsampleRate).toBe(16);
    expect(new HistogramObserver({ torchCompat: '1.13' }).upsampleRate).toBe(128);
  });
});
