// The seed's program ported to quint, pinned against the same program run by PyTorch 1.13
// (tools/goldens/seed_program.py → test/goldens/seed_program.json) on both of its engines.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Tensor } from '@quint/tensor';
import type { QTensor } from '@quint/qtensor';
import { runSeedProgram, type SeedEngine, type SeedProgramRun } from '../src/seed/seed-program.js';
import seedInputs from '../src/seed/seed-inputs.json' with { type: 'json' };

interface Floats {
  shape: number[];
  values: number[];
}
interface QGolden extends Floats {
  dtype: string;
  qscheme: string;
  scale?: number;
  zeroPoint?: number;
  scales?: number[];
  zeroPoints?: number[];
  axis?: number;
}
interface EngineGolden {
  input: QGolden;
  weight: QGolden;
  bias: Floats;
  output: QGolden;
  forward: Floats;
  manualFloat: Floats & { maxAbsDiffToForward: number; outputScale: number };
  manualInteger: Floats;
}
interface Golden {
  generator: string;
  debianPackage: string;
  seed: number;
  cpuFlags: string[];
  floatStateDict: Record<string, Floats>;
  input: Floats;
  observers: Record<string, Floats>;
  observerQparams: Record<string, { scale: number; zeroPoint: number }>;
  engines: Record<SeedEngine, EngineGolden>;
}

const golden = JSON.parse(readFileSync(new URL('./goldens/seed_program.json', import.meta.url), 'utf8')) as Golden;
const ENGINES: readonly SeedEngine[] = ['qnnpack', 'onednn'];
// Each engine's run once: the program is deterministic and the machine is slow.
const runs = new Map<SeedEngine, SeedProgramRun>(ENGINES.map((e) => [e, runSeedProgram({ engine: e })]));

function floats(t: Tensor): number[] {
  return Array.from(t.toFloat32Array());
}

function qparams(q: QTensor): { scales: number[]; zeroPoints: number[] } {
  return q.isPerChannel()
    ? { scales: Array.from(q.qPerChannelScales()), zeroPoints: Array.from(q.qPerChannelZeroPoints()) }
    : { scales: [q.qScale()], zeroPoints: [q.qZeroPoint()] };
}

function goldenQparams(g: QGolden): { scales: number[]; zeroPoints: number[] } {
  return g.scales !== undefined
    ? { scales: g.scales, zeroPoints: g.zeroPoints! }
    : { scales: [g.scale!], zeroPoints: [g.zeroPoint!] };
}

describe('the seed program vs PyTorch 1.13 (python3-torch 1.13.1+dfsg-4)', () => {
  it('records its provenance, and the CLI runs on exactly the golden batch and weights', () => {
    expect(golden.generator).toBe('tools/goldens/seed_program.py');
    expect(golden.debianPackage).toBe('python3-torch 1.13.1+dfsg-4');
    expect(golden.seed).toBe(30);
    expect(seedInputs.input).toEqual(golden.input);
    expect(seedInputs.floatStateDict).toEqual(golden.floatStateDict);
    expect(golden.input.shape).toEqual([4, 1, 4, 4]);
  });

  it("calibration: quint's HistogramObserver (torchCompat 1.13) ends in PyTorch's state, up to PyTorch's double observation of fused modules", () => {
    const sd = runs.get('qnnpack')!.modelFp32Prepared.stateDict();
    const state = (key: string): number[] => {
      const t = sd[key];
      expect(t, key).toBeInstanceOf(Tensor);
      return floats(t as Tensor);
    };
    for (const [key, g] of Object.entries(golden.observers)) {
      // PyTorch 1.13's fused ConvReLU2d is an nn.Sequential and prepare registers its
      // activation_post_process as a child: Sequential.forward runs the observer as its last step and
      // _observer_forward_hook runs it again, so the fused conv's histogram holds every value twice.
      // quint observes once. min/max, and so the qparams, are the same.
      const factor = key === 'conv.activation_post_process.histogram' ? 2 : 1;
      expect(
        state(key).map((v) => v * factor),
        key,
      ).toEqual(g.values);
    }
    expect(golden.observers['conv.activation_post_process.histogram']!.values.reduce((a, b) => a + b, 0)).toBe(2 * 63); // 63 of 64 values in range
    const { input, output } = runs.get('qnnpack')!.captured;
    for (const [path, q] of [
      ['quant', input],
      ['conv', output],
    ] as const) {
      expect({ scale: q.qScale(), zeroPoint: q.qZeroPoint() }, path).toEqual(golden.observerQparams[path]);
    }
  });

  for (const engine of ENGINES) {
    describe(`engine ${engine}`, () => {
      const g = golden.engines[engine];
      const run = runs.get(engine)!;

      it('the conv input, weight and bias the forward hook captures are identical', () => {
        const { input, weight, bias } = run.captured;
        expect(input.dtype).toBe('quint8');
        expect(Array.from(input.intRepr())).toEqual(g.input.values);
        expect(qparams(input)).toEqual(goldenQparams(g.input));
        expect(weight.dtype).toBe('qint8');
        expect(weight.qscheme()).toBe(g.weight.qscheme);
        expect(Array.from(weight.intRepr())).toEqual(g.weight.values);
        expect(qparams(weight)).toEqual(goldenQparams(g.weight));
        expect(floats(bias!)).toEqual(g.bias.values);
      });

      it('the output codes, output qparams and the forward() result are identical', () => {
        const { output } = run.captured;
        expect(Array.from(output.intRepr())).toEqual(g.output.values);
        expect(qparams(output)).toEqual(goldenQparams(g.output));
        expect(run.res.shape).toEqual(g.forward.shape);
        expect(floats(run.res)).toEqual(g.forward.values);
      });

      it("the user's float check: identical to PyTorch's, and within half an output step of forward()", () => {
        expect(floats(run.manualFloat.values)).toEqual(g.manualFloat.values);
        expect(run.manualFloat.maxAbsDiff).toBe(g.manualFloat.maxAbsDiffToForward);
        expect(run.manualFloat.maxAbsDiff).toBeGreaterThan(0);
        expect(run.manualFloat.maxAbsDiff).toBeLessThanOrEqual(run.manualFloat.outputScale / 2);
      });

      it("the user's integer check: identical to PyTorch's, values in the thousands, nothing like the codes", () => {
        const naive = floats(run.manualInteger.values);
        expect(naive).toEqual(g.manualInteger.values);
        expect(Math.max(...naive.map(Math.abs))).toBeGreaterThan(1000);
        expect(naive).not.toEqual(g.output.values);
      });

      it('the kernel walk-through: 64 elements, each step recomputed by hand, outputCode === forwardCode', () => {
        expect(run.elements.map((e) => e.index)).toEqual(Array.from({ length: 64 }, (_, i) => i));
        for (const e of run.elements) {
          expect(e.outputCode, `element ${e.index}`).toBe(e.forwardCode);
          expect(e.forwardCode, `element ${e.index}`).toBe(g.output.values[e.index]);
          expect(e.inputCodes, `element ${e.index}`).toEqual([g.input.values[e.index]]);
          expect(e.weightCodes).toEqual(g.weight.values);
          expect(e.accumulator).toBe(
            (g.input.values[e.index]! - goldenQparams(g.input).zeroPoints[0]!) *
              (g.weight.values[0]! - goldenQparams(g.weight).zeroPoints[0]!),
          );
          expect(Math.fround(e.multiplier)).toBe(e.multiplier);
          expect(Math.fround(e.preRound)).toBe(e.preRound);
        }
        // The user's confusion: accumulators (and the int32 bias) are in the thousands, the codes are 0..255.
        expect(Math.max(...run.elements.map((e) => Math.abs(e.accumulator)))).toBeGreaterThan(1000);
        // ReLU is fused into the clamp: some outputs are clamped to the zero point, most are not.
        const clamped = run.elements.filter((e) => e.outputCode === g.output.zeroPoint).length;
        expect(clamped).toBeGreaterThan(0);
        expect(clamped).toBeLessThan(32);
      });
    });
  }

  it('qnnpack: the int32 bias and the multiplier take the accumulator to the output grid', () => {
    const run = runs.get('qnnpack')!;
    const e = run.elements[0]!;
    expect(Number.isInteger(e.bias)).toBe(true);
    expect(e.bias).toBeGreaterThan(1000);
    // M ≈ x_s·w_s / y_s: the accumulator's unit is x_s·w_s, the output's is y_s.
    const { input, weight, output } = run.captured;
    expect(e.multiplier).toBeCloseTo((input.qScale() * weight.qPerChannelScales()[0]!) / output.qScale(), 8);
    expect(e.preRound).toBe(Math.fround(Math.fround(e.accumulator + e.bias) * e.multiplier));
  });

  it('onednn on this machine: PyTorch ran without VNNI, and a 1×1 single-channel conv cannot saturate int16 pair sums', () => {
    // Each int16 pair sum holds at most one product u8·s8 here: |255·(−128)| = 32640 ≤ 32767.
    expect(golden.cpuFlags.some((f) => f.includes('vnni'))).toBe(false);
    expect(golden.engines.onednn.output.values).toEqual(golden.engines.qnnpack.output.values);
  });
});
