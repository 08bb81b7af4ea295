import { describe, expect, it, vi } from 'vitest';
import { Tensor, isQuantError, tensor } from '@quint/tensor';
import {
  FixedQParamsObserver,
  HistogramObserver,
  MinMaxObserver,
  MovingAverageMinMaxObserver,
  MovingAveragePerChannelMinMaxObserver,
  NoopObserver,
  PerChannelMinMaxObserver,
  PlaceholderObserver,
  RecordingObserver,
  ReuseInputObserver,
  type ObserverBase,
} from '../src/index.js';

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (isQuantError(e)) return `${e.code}: ${e.message}`;
    throw e;
  }
  return 'no error';
}

const makers: Array<[string, (o: { ignoreNonFinite?: boolean; warn?: (m: string) => void }) => ObserverBase]> = [
  ['MinMaxObserver', (o) => new MinMaxObserver(o)],
  ['MovingAverageMinMaxObserver', (o) => new MovingAverageMinMaxObserver(o)],
  ['PerChannelMinMaxObserver', (o) => new PerChannelMinMaxObserver(o)],
  ['MovingAveragePerChannelMinMaxObserver', (o) => new MovingAveragePerChannelMinMaxObserver(o)],
  ['HistogramObserver', (o) => new HistogramObserver(o)],
  ['HistogramObserver 1.13', (o) => new HistogramObserver({ ...o, torchCompat: '1.13' })],
];

describe('NaN and Inf in observed data', () => {
  const dirty = tensor([1, NaN, -2, Infinity, 0.5, -Infinity], [2, 3]);
  const clean = tensor([1, -2, 0.5, 0.25], [2, 2]);

  for (const [name, make] of makers) {
    it(`${name}: NON_FINITE naming the count, state untouched`, () => {
      const obs = make({ warn: () => {} });
      expect(codeOf(() => obs.forward(dirty))).toMatch(
        /^NON_FINITE: .*3 of 6 values are NaN or ±Inf; .*ignoreNonFinite: true/,
      );
      expect(obs.stateDict()['min_val']!.every((v) => v === Infinity) || obs.stateDict()['min_val']!.length === 0).toBe(
        true,
      );
    });

    it(`${name}: ignoreNonFinite skips them with one warning`, () => {
      const warn = vi.fn();
      const obs = make({ ignoreNonFinite: true, warn });
      obs.forward(dirty);
      obs.forward(dirty);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn.mock.calls[0]![0]).toMatch(/skipping 3 NaN\/±Inf values of 6/);
      const q = obs.calculateQparams();
      expect(Number.isFinite(q.scale[0]!)).toBe(true);
    });
  }

  it('skipped values leave the same state as the clean data', () => {
    const a = new MinMaxObserver({ ignoreNonFinite: true, warn: () => {} });
    a.forward(tensor([1, NaN, -2, Infinity, 0.5]));
    const b = new MinMaxObserver();
    b.forward(tensor([1, -2, 0.5]));
    expect(a.stateDict()).toEqual(b.stateDict());
    const h = new HistogramObserver({ ignoreNonFinite: true, warn: () => {} });
    h.forward(tensor([1, NaN, -2, Infinity, 0.5]));
    expect(h.histogram.reduce((s, v) => s + v, 0)).toBe(3);
    void clean;
  });
});

describe('empty tensors and no data', () => {
  for (const [name, make] of makers) {
    it(`${name}: empty tensors are skipped; qparams before data are scale 1, zero point 0 with one warning`, () => {
      const warn = vi.fn();
      const obs = make({ warn });
      const e = new Tensor(new Float32Array(0), [0, 3]);
      expect(obs.forward(e)).toBe(e);
      const q = obs.calculateQparams();
      expect([Array.from(q.scale), Array.from(q.zeroPoint)]).toEqual([[1], [0]]);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn.mock.calls[0]![0]).toMatch(/must run observer before calling calculate_qparams/);
    });
  }
});

describe('configuration errors', () => {
  it('chAxis outside the tensor is AXIS_OUT_OF_RANGE', () => {
    expect(codeOf(() => new PerChannelMinMaxObserver({ chAxis: 2 }).forward(tensor([1, 2, 3, 4], [2, 2])))).toMatch(
      /^AXIS_OUT_OF_RANGE: .*chAxis 2 is out of range for a 2-d tensor of shape \[2, 2\]/,
    );
    expect(codeOf(() => new PerChannelMinMaxObserver({ chAxis: -3 }).forward(tensor([1, 2], [1, 2])))).toMatch(
      /^AXIS_OUT_OF_RANGE/,
    );
    expect(codeOf(() => new PerChannelMinMaxObserver({ chAxis: 0.5 }))).toMatch(/^AXIS_OUT_OF_RANGE/);
  });

  it('a changing channel count is SHAPE_MISMATCH', () => {
    const obs = new PerChannelMinMaxObserver();
    obs.forward(tensor([1, 2, 3, 4], [2, 2]));
    expect(codeOf(() => obs.forward(tensor([1, 2, 3], [3, 1])))).toMatch(
      /^SHAPE_MISMATCH: .*got 3 channels on axis 0, earlier batches had 2/,
    );
  });

  it('rejects what PyTorch rejects', () => {
    expect(codeOf(() => new MinMaxObserver({ qscheme: 'per_channel_affine' }))).toMatch(/^INVALID_ARGUMENT/);
    expect(codeOf(() => new HistogramObserver({ qscheme: 'per_channel_symmetric' }))).toMatch(/^INVALID_ARGUMENT/);
    expect(codeOf(() => new PerChannelMinMaxObserver({ qscheme: 'per_tensor_affine' }))).toMatch(/^INVALID_ARGUMENT/);
    expect(codeOf(() => new MinMaxObserver({ qscheme: 'per_tensor_symmetric', reduceRange: true }))).toMatch(
      /^INVALID_ARGUMENT: .*symmetric quint8/,
    );
    expect(codeOf(() => new MinMaxObserver({ quantMin: 1, quantMax: 5 }))).toMatch(
      /^INVALID_ARGUMENT: .*does not include 0/,
    );
    expect(codeOf(() => new MinMaxObserver({ dtype: 'qint8', quantMin: -200, quantMax: 100 }))).toMatch(
      /^OUT_OF_RANGE/,
    );
    expect(codeOf(() => new MinMaxObserver({ dtype: 'float16' as never }))).toMatch(/^BAD_DTYPE/);
    expect(codeOf(() => new HistogramObserver({ bins: 0 }))).toMatch(/^INVALID_ARGUMENT/);
    expect(codeOf(() => new FixedQParamsObserver({ scale: 0, zeroPoint: 0 }))).toMatch(/^INVALID_QPARAMS/);
    expect(codeOf(() => new FixedQParamsObserver({ scale: 0.1, zeroPoint: 0.5 }))).toMatch(/^INVALID_QPARAMS/);
  });

  it('observers without qparams throw from calculateQparams, as PyTorch raises', () => {
    for (const o of [
      new PlaceholderObserver(),
      new NoopObserver(),
      new RecordingObserver(),
      new ReuseInputObserver(),
    ]) {
      expect(codeOf(() => o.calculateQparams())).toMatch(/^INVALID_ARGUMENT: calculateQparams should not be called/);
    }
  });

  it('float-qparams observers point to calculateFloatQparams, and back', () => {
    const f = new PerChannelMinMaxObserver({ qscheme: 'per_channel_affine_float_qparams' });
    f.forward(tensor([0, 1, -2, 2], [2, 2]));
    expect(codeOf(() => f.calculateQparams())).toMatch(/calculateFloatQparams/);
    expect(Array.from(f.calculateFloatQparams().zeroPoint)).toEqual([
      -0,
      Math.fround(Math.fround(2) / Math.fround(4 / 255)),
    ]);
    expect(codeOf(() => new PerChannelMinMaxObserver().calculateFloatQparams())).toMatch(/calculateQparams/);
  });

  it('loadStateDict checks keys and lengths', () => {
    const h = new HistogramObserver({ bins: 16 });
    const sd = h.stateDict();
    expect(codeOf(() => h.loadStateDict({ ...sd, histogram: new Float32Array(8) }))).toMatch(
      /^INVALID_ARGUMENT: .*'histogram' has 8 elements, expected 16/,
    );
    expect(codeOf(() => h.loadStateDict({ eps: sd['eps']! }))).toMatch(/^INVALID_ARGUMENT: .*missing key/);
    expect(codeOf(() => h.loadStateDict({ ...sd, extra: new Float32Array(1) }))).toMatch(
      /^INVALID_ARGUMENT: .*unexpected key 'extra'/,
    );
    expect(() => h.loadStateDict({ ...sd, extra: new Float32Array(1) }, false)).not.toThrow();
  });
});

describe('state round trip and the simple observers', () => {
  it('saving and loading mid-calibration continues exactly (both histogram algorithms)', () => {
    for (const torchCompat of ['latest', '1.13'] as const) {
      const batches = [tensor([0.1, -0.4, 0.3]), tensor([-2, 3.5, 1]), tensor([0.2, 7])];
      const a = new HistogramObserver({ torchCompat });
      for (const b of batches) a.forward(b);
      const b1 = new HistogramObserver({ torchCompat });
      b1.forward(batches[0]!);
      b1.forward(batches[1]!);
      const b2 = new HistogramObserver({ torchCompat });
      b2.loadStateDict(b1.stateDict());
      b2.forward(batches[2]!);
      expect(b2.stateDict()).toEqual(a.stateDict());
      expect(b2.calculateQparams()).toEqual(a.calculateQparams());
    }
  });

  it('forward returns its input; RecordingObserver keeps copies', () => {
    const x = tensor([1, 2, 3]);
    const r = new RecordingObserver();
    expect(r.forward(x)).toBe(x);
    x.set(9, 0);
    expect(r.getTensorValue()[0]!.toArray()).toEqual([1, 2, 3]);
    expect(new PlaceholderObserver({ dtype: 'quint8', computeDtype: 'quint8' }).isDynamic).toBe(true);
    expect(new PlaceholderObserver().isDynamic).toBe(false);
  });

  it('toString is PyTorch-like', () => {
    const m = new MinMaxObserver();
    m.forward(tensor([-1, 3]));
    expect(m.toString()).toBe('MinMaxObserver(min_val=-1.0, max_val=3.0)');
    const p = new PerChannelMinMaxObserver();
    p.forward(tensor([-1, 3, 0.5, 2], [2, 2]));
    expect(p.toString()).toBe(
      'PerChannelMinMaxObserver(min_val=tensor([-1.0000, 0.5000]), max_val=tensor([3.0000, 2.0000]))',
    );
  });
});
