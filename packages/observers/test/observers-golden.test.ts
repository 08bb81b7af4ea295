import { describe, expect, it } from 'vitest';
import * as api from '../src/index.js';
import type { ObserverBase, ObserverQparams } from '../src/index.js';
import { bits, f32, i32, loadGolden, stateDictOf, toOptions, toTensor, type GoldenCase } from './golden-utils.js';

const golden = loadGolden<{ meta: { torchPackage: string; seed: number }; cases: GoldenCase[] }>('observers.json');

function make(c: GoldenCase): ObserverBase {
  const cls = (api as unknown as Record<string, new (o: unknown) => ObserverBase>)[c.observer];
  if (cls === undefined) throw new Error(`no class ${c.observer}`);
  return new cls({ ...toOptions(c.kwargs), warn: () => {} });
}

function expectQparams(c: GoldenCase, q: ObserverQparams | { scale: Float32Array; zeroPoint: Float32Array }) {
  expect(bits(q.scale)).toEqual(bits(f32(c.scale)));
  if (c.zeroPoint !== undefined) expect(Array.from(q.zeroPoint)).toEqual(Array.from(i32(c.zeroPoint)));
  else expect(bits(q.zeroPoint as Float32Array)).toEqual(bits(f32(c.zeroPointFloat!)));
}

function qparamsOf(obs: ObserverBase, c: GoldenCase) {
  return c.zeroPointFloat !== undefined
    ? (obs as api.PerChannelMinMaxObserver).calculateFloatQparams()
    : obs.calculateQparams();
}

describe(`min/max observers vs PyTorch ${golden.meta.torchPackage} (seed ${golden.meta.seed})`, () => {
  it('covers the cases the issue asks for', () => {
    expect(golden.meta.torchPackage).toBe('1.13.1+dfsg-4');
    expect(golden.cases.length).toBeGreaterThan(50);
  });

  for (const c of golden.cases) {
    it(`${c.name}: calibrating from the inputs gives PyTorch's buffers and qparams bit for bit`, () => {
      const obs = make(c);
      for (const b of c.batches) {
        const x = toTensor(b);
        expect(obs.forward(x)).toBe(x);
      }
      expect((obs as { quantMin?: number }).quantMin).toBe(c.quantMin);
      expect((obs as { quantMax?: number }).quantMax).toBe(c.quantMax);
      const sd = obs.stateDict();
      const want = stateDictOf(c);
      expect(Object.keys(sd)).toEqual(Object.keys(want));
      for (const k of Object.keys(want)) {
        const a = sd[k]!;
        const b = want[k]!;
        expect(a instanceof Int32Array ? Array.from(a) : bits(a), k).toEqual(
          b instanceof Int32Array ? Array.from(b) : bits(b),
        );
      }
      expectQparams(c, qparamsOf(obs, c));
      if (!c.repr.includes('tensor(')) expect(obs.toString()).toBe(c.repr);
    });

    it(`${c.name}: loading PyTorch's state gives PyTorch's qparams`, () => {
      const obs = make(c);
      obs.loadStateDict(stateDictOf(c));
      expectQparams(c, qparamsOf(obs, c));
    });
  }
});
