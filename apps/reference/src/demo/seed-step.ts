// Step 1 of `quint demo`: the seed program (runSeedProgram, the seed engineer's port) and one of its
// output elements worked through, with the float vs quantized model bytes.
import { roundHalfToEven } from '@quint/qtensor';
import { modelBytes } from '@quint/converter';
import { formatFloat32 } from '../seed/explain-report.js';
import { runSeedProgram, type SeedElement, type SeedProgramRun } from '../seed/seed-program.js';

/** What summary.json keeps of the seed step. */
export interface SeedSummary {
  readonly engine: string;
  readonly torchCompat: string;
  /** The element shown: the largest accumulator. */
  readonly element: {
    readonly index: number;
    readonly inputCodes: readonly number[];
    readonly weightCodes: readonly number[];
    readonly accumulator: number;
    readonly bias: number;
    readonly multiplier: number;
    readonly preRound: number;
    readonly outputCode: number;
    readonly forwardCode: number;
  };
  readonly qparams: {
    readonly input: { readonly scale: number; readonly zeroPoint: number };
    readonly weight: { readonly scale: number; readonly zeroPoint: number };
    readonly output: { readonly scale: number; readonly zeroPoint: number };
  };
  /** How many outputs the conv has, and how many of them the hand computation reproduced exactly. */
  readonly outputs: number;
  readonly identicalToForward: number;
  /** modelBytes of the float and the quantized seed model (DESIGN.md). */
  readonly bytes: { readonly fp32: number; readonly int8: number };
}

/** The element worth showing: the one with the largest |accumulator| (first on ties). */
export function pickElement(elements: readonly SeedElement[]): SeedElement {
  return elements.reduce((a, b) => (Math.abs(b.accumulator) > Math.abs(a.accumulator) ? b : a), elements[0]!);
}

/** Runs the seed program (engine qnnpack, torchCompat 1.13) and summarizes it. */
export function seedStep(run: SeedProgramRun = runSeedProgram({ engine: 'qnnpack' })): SeedSummary {
  const e = pickElement(run.elements);
  const { input: x, weight: w, output: y } = run.captured;
  const f32 = Math.fround;
  return {
    engine: run.engine,
    torchCompat: run.torchCompat,
    element: {
      index: e.index,
      inputCodes: e.inputCodes,
      weightCodes: e.weightCodes,
      accumulator: e.accumulator,
      bias: e.bias,
      multiplier: f32(e.multiplier),
      preRound: f32(e.preRound),
      outputCode: e.outputCode,
      forwardCode: e.forwardCode,
    },
    qparams: {
      input: { scale: f32(x.qScale()), zeroPoint: x.qZeroPoint() },
      weight: w.isPerChannel()
        ? { scale: f32(w.qPerChannelScales()[0]!), zeroPoint: w.qPerChannelZeroPoints()[0]! }
        : { scale: f32(w.qScale()), zeroPoint: w.qZeroPoint() },
      output: { scale: f32(y.qScale()), zeroPoint: y.qZeroPoint() },
    },
    outputs: run.elements.length,
    identicalToForward: run.elements.filter((el) => el.outputCode === el.forwardCode).length,
    bytes: { fp32: modelBytes(run.modelFp32Prepared).fp32, int8: modelBytes(run.modelInt8).int8 },
  };
}

/** The seed step as text (engine qnnpack's formulas). */
export function seedText(s: SeedSummary): string {
  const e = s.element;
  const fmt = formatFloat32;
  const { input: x, weight: w, output: y } = s.qparams;
  const sum = (e.accumulator + e.bias) | 0;
  const terms = e.inputCodes
    .map((xq, k) => `(${xq} - ${x.zeroPoint})*(${e.weightCodes[k]} - ${w.zeroPoint})`)
    .join(' + ');
  const L = [
    `1. The seed program, eager mode (engine ${s.engine}, PyTorch ${s.torchCompat} numerics)`,
    "   QuantStub -> Conv2d(1,1,1) -> ReLU -> DeQuantStub, conv+relu fused, calibrated on PyTorch's randn(4,1,4,4).",
    `   Output element ${e.index} (the largest accumulator), as the int8 kernel computed it:`,
    `     input code       x_q = ${e.inputCodes.join(', ')}   (scale ${fmt(x.scale)}, zero point ${x.zeroPoint})`,
    `     weight code      w_q = ${e.weightCodes.join(', ')}   (scale ${fmt(w.scale)}, zero point ${w.zeroPoint})`,
    `     int32 accumulator    ${terms} = ${e.accumulator}`,
    `     int32 bias           rne(b / (x_s*w_s)) = ${e.bias}`,
    `     multiplier           M = f32(f32(w_s*x_s) * f32(1/y_s)) = ${fmt(e.multiplier)}   (y_s ${fmt(y.scale)})`,
    `     before rounding      f32((${e.accumulator} + ${e.bias}) * M) = f32(${sum} * M) = ${fmt(e.preRound)}`,
    `     output code          clamp(${y.zeroPoint} + rne(${fmt(e.preRound)}), ${y.zeroPoint}, 255) = clamp(${y.zeroPoint + roundHalfToEven(e.preRound)}, ${y.zeroPoint}, 255) = ${e.outputCode}`,
    `     forward() code       ${e.forwardCode}  (${e.forwardCode === e.outputCode ? 'identical' : 'DIFFERENT'}; all ${s.outputs} outputs identical: ${s.identicalToForward === s.outputs ? 'yes' : `NO, ${s.identicalToForward}`})`,
    s.bytes.int8 >= s.bytes.fp32
      ? `   Model bytes: float ${s.bytes.fp32}, int8 ${s.bytes.int8}: with one weight, the int32 bias and the scales and zero\n` +
        '   points outweigh the int8 code; with thousands of weights the codes dominate (MNIST below).'
      : `   Model bytes: float ${s.bytes.fp32}, int8 ${s.bytes.int8} (${(s.bytes.fp32 / s.bytes.int8).toFixed(2)}x smaller).`,
    '   Every output element: quint explain',
  ];
  return `${L.join('\n')}\n`;
}
