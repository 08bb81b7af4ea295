// What `quint explain` prints for the seed program: the JSON document of DESIGN.md "The CLI
// contract" / issue 5, and the text form for a person.
import { QuantError } from '@quint/tensor';
import { roundHalfToEven, type QTensor } from '@quint/qtensor';
import type { SeedElement, SeedProgramRun } from './seed-program.js';

/** One element of the `explain --json` document (the contract's field names, in its order). */
export interface ExplainJsonElement {
  readonly index: number;
  readonly accumulator: number;
  readonly bias: number;
  readonly multiplier: number;
  readonly preRound: number;
  readonly outputCode: number;
  readonly forwardCode: number;
}

/** The `explain --json` document. Floats are float32 values (as doubles); codes flat, NCHW. */
export interface ExplainJson {
  readonly engine: string;
  /** `'1.13'` for the seed; for a model file its `quint.torchCompat` metadata, or null. */
  readonly torchCompat: string | null;
  readonly input: { readonly scale: number; readonly zeroPoint: number; readonly codes: number[] };
  readonly weight: { readonly scales: number[]; readonly zeroPoints: number[]; readonly codes: number[] };
  readonly output: { readonly scale: number; readonly zeroPoint: number; readonly codes: number[] };
  readonly elements: ExplainJsonElement[];
}

/**
 * What {@link explainJson} reads: a conv/linear's quantized input, weight and output (as a forward
 * hook saw them) and its traced elements. A {@link SeedProgramRun} is one; so is the run of
 * `quint explain <model.onnx>` (src/explain/).
 */
export interface ExplainSource {
  readonly engine: string;
  readonly torchCompat: string | null;
  readonly captured: { readonly input: QTensor; readonly weight: QTensor; readonly output: QTensor };
  readonly elements: readonly Omit<SeedElement, 'inputCodes' | 'weightCodes'>[];
}

const f32 = Math.fround;

function perChannel(q: QTensor): { scales: number[]; zeroPoints: number[] } {
  return q.isPerChannel()
    ? { scales: Array.from(q.qPerChannelScales(), f32), zeroPoints: Array.from(q.qPerChannelZeroPoints()) }
    : { scales: [f32(q.qScale())], zeroPoints: [q.qZeroPoint()] };
}

/**
 * The `explain --json` document of a seed run (or any {@link ExplainSource}): the conv's input,
 * weight and output codes with their qparams, and for each output element the kernel's accumulator,
 * bias, multiplier, pre-rounding value, output code and forward() code. Every float is a float32 value, so `JSON.stringify` prints
 * the shortest decimal that reads back as that float32 (as a double).
 *
 * @example
 * JSON.stringify(explainJson(runSeedProgram())); // '{"engine":"qnnpack","torchCompat":"1.13",…}'
 */
export function explainJson(run: ExplainSource): ExplainJson {
  const { input, weight, output } = run.captured;
  return {
    engine: run.engine,
    torchCompat: run.torchCompat,
    input: { scale: f32(input.qScale()), zeroPoint: input.qZeroPoint(), codes: Array.from(input.intRepr()) },
    weight: { ...perChannel(weight), codes: Array.from(weight.intRepr()) },
    output: { scale: f32(output.qScale()), zeroPoint: output.qZeroPoint(), codes: Array.from(output.intRepr()) },
    elements: run.elements.map((e) => ({
      index: e.index,
      accumulator: e.accumulator,
      // qnnpack and ort add an int32 bias (kept exact: f32 would round beyond 2^24); onednn/fbgemm a float32 one.
      bias: run.engine === 'qnnpack' || run.engine === 'ort' ? e.bias : f32(e.bias),
      multiplier: f32(e.multiplier),
      preRound: f32(e.preRound),
      outputCode: e.outputCode,
      forwardCode: e.forwardCode,
    })),
  };
}

/** The shortest decimal that reads back as the same float32 (what a person needs to see of it). */
export function formatFloat32(v: number): string {
  const x = f32(v);
  if (!Number.isFinite(x) || x === 0) return String(x);
  for (let p = 1; p <= 9; p++) {
    const s = x.toPrecision(p);
    if (f32(Number(s)) === x) return String(Number(s));
  }
  return String(x);
}

function pad(s: string | number, n: number): string {
  return String(s).padStart(n);
}

/** The elements worth walking through: the first, the first one ReLU clamps, the largest accumulator. */
function showcase(elements: readonly SeedElement[], zeroPoint: number): Array<{ e: SeedElement; why: string }> {
  const picked: Array<{ e: SeedElement; why: string }> = [];
  const add = (e: SeedElement | undefined, why: string): void => {
    if (e !== undefined && !picked.some((p) => p.e.index === e.index)) picked.push({ e, why });
  };
  add(elements[0], 'the first output');
  add(
    elements.find((e) => e.preRound < 0 && e.outputCode === zeroPoint),
    'negative before rounding: the fused ReLU clamps it to the zero point',
  );
  add(
    elements.reduce((a, b) => (Math.abs(b.accumulator) > Math.abs(a.accumulator) ? b : a), elements[0]!),
    'the largest accumulator',
  );
  return picked;
}

/**
 * The text form of `quint explain` for a seed run on engine qnnpack (the text spells out qnnpack's formulas): what the numbers are, why the
 * accumulators are in the thousands, what the multiplier does, a few elements step by step, then a
 * table of all of them.
 *
 * @throws `INVALID_ARGUMENT` for a run on another engine.
 * @example
 * process.stdout.write(explainText(runSeedProgram()));
 */
export function explainText(run: SeedProgramRun): string {
  if (run.engine !== 'qnnpack') {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `explainText: the text walks through engine qnnpack's arithmetic, the run used ${run.engine}; use explainJson for other engines.`,
    );
  }
  const { input: x, weight: w, bias: b, output: y } = run.captured;
  const xs = f32(x.qScale());
  const xzp = x.qZeroPoint();
  const { scales: wss, zeroPoints: wzps } = perChannel(w);
  const ws = wss[0]!;
  const wzp = wzps[0]!;
  const ys = f32(y.qScale());
  const yzp = y.qZeroPoint();
  const e0 = run.elements[0]!;
  const wq = e0.weightCodes[0]!;
  const bf = b === null ? 0 : b.toFloat32Array()[0]!;
  const unit = f32(xs * ws);
  const fmt = formatFloat32;
  const naive = Array.from(run.manualInteger.values.toFloat32Array().slice(0, 4), (v) => String(v));
  const L: string[] = [];
  L.push(`quint explain: the seed program's integer arithmetic (engine ${run.engine}, torchCompat ${run.torchCompat})`);
  L.push('');
  L.push("The program: M = QuantStub -> Conv2d(1, 1, 1) -> ReLU -> DeQuantStub, get_default_qconfig('fbgemm'),");
  L.push("conv+relu fused, calibrated on randn(4, 1, 4, 4) (PyTorch's batch and weights), converted, then run");
  L.push(
    `on the same batch: ${run.elements.length} outputs. What the quantized conv works with (value = scale * (code - zero point)):`,
  );
  L.push(`  input   quint8 codes ${pad('0..255', 6)}   scale x_s = ${fmt(xs)}   zero point x_zp = ${xzp}`);
  L.push(
    `  weight  qint8 code   ${pad(wq, 6)}   scale w_s = ${fmt(ws)}   zero point w_zp = ${wzp}   (the value ${fmt(f32(ws * (wq - wzp)))})`,
  );
  L.push(`  bias    int32        ${pad(e0.bias, 6)}   = rne(b / (x_s * w_s)), from the float bias b = ${fmt(bf)}`);
  L.push(`  output  quint8 codes ${pad('0..255', 6)}   scale y_s = ${fmt(ys)}   zero point y_zp = ${yzp}`);
  L.push('');
  L.push('Why the accumulators are in the thousands');
  L.push('  The kernel never multiplies float values. It multiplies codes, minus their zero points, in integers:');
  L.push('  acc = sum of (x_q - x_zp) * (w_q - w_zp), an int32 whose unit is x_s * w_s = ' + `${fmt(unit)}.`);
  L.push(
    `  One unit is tiny, so a value of 1.0 is about ${Math.round(1 / unit)} units: accumulators of a few thousand are`,
  );
  L.push('  ordinary numbers in that unit. The bias is rounded once, at convert time, to the same unit.');
  L.push('  Your float check (dequantize, F.conv2d, relu) is the same computation in real units, so it agrees');
  L.push(
    `  with forward() to within half an output step (max difference ${fmt(run.manualFloat.maxAbsDiff)} <= y_s / 2).`,
  );
  L.push(`  Your integer check multiplied the raw codes (${naive.join(', ')}, ...): without subtracting the zero`);
  L.push('  point and without converting the unit back, those numbers cannot match the output codes.');
  L.push('');
  L.push('What the multiplier does');
  L.push(
    '  M = f32(f32(w_s * x_s) * f32(1 / y_s)) = ' + `${fmt(e0.multiplier)}, one float32 per output channel, converts`,
  );
  L.push('  from units of x_s * w_s to units of y_s: preRound = f32((acc + bias) * M). The output code is then');
  L.push('  y_zp + rne(preRound) (round half to even), clamped to [y_zp, 255]: with ReLU fused, the clamp at');
  L.push('  the zero point (the code of 0.0) is the ReLU. This multiply is the only float arithmetic in the conv.');
  L.push('');
  L.push('Worked through');
  for (const { e, why } of showcase(run.elements, yzp)) {
    const sum = (e.accumulator + e.bias) | 0;
    const r = roundHalfToEven(e.preRound);
    L.push(`  element ${e.index} (${why}): x_q = ${e.inputCodes.join(', ')}, w_q = ${e.weightCodes.join(', ')}`);
    L.push(`    accumulator  (${e.inputCodes[0]} - ${xzp}) * (${e.weightCodes[0]} - ${wzp}) = ${e.accumulator}`);
    L.push(`    + bias       ${e.accumulator} + ${e.bias} = ${sum}`);
    L.push(`    * M          f32(${sum} * ${fmt(e.multiplier)}) = ${fmt(e.preRound)}`);
    L.push(
      `    output code  clamp(${yzp} + rne(${fmt(e.preRound)}), ${yzp}, 255) = clamp(${yzp + r}, ${yzp}, 255) = ${e.outputCode}`,
    );
    L.push(
      `    forward()    ${e.forwardCode}  (${e.forwardCode === e.outputCode ? 'identical' : 'DIFFERENT'}), i.e. the value ${fmt(f32(ys * (e.forwardCode - yzp)))}`,
    );
  }
  L.push('');
  L.push(
    `All ${run.elements.length} outputs (outputCode === forwardCode for every one: ${run.elements.every((e) => e.outputCode === e.forwardCode) ? 'yes' : 'NO'})`,
  );
  L.push(
    `  ${pad('index', 5)} ${pad('x_q', 4)} ${pad('w_q', 4)} ${pad('accumulator', 11)} ${pad('bias', 6)} ${pad('multiplier', 12)} ${pad('preRound', 12)} ${pad('outputCode', 10)} ${pad('forwardCode', 11)}`,
  );
  for (const e of run.elements) {
    L.push(
      `  ${pad(e.index, 5)} ${pad(e.inputCodes.join(','), 4)} ${pad(e.weightCodes.join(','), 4)} ${pad(e.accumulator, 11)} ${pad(fmt(e.bias), 6)} ${pad(fmt(e.multiplier), 12)} ${pad(fmt(e.preRound), 12)} ${pad(e.outputCode, 10)} ${pad(e.forwardCode, 11)}`,
    );
  }
  L.push('');
  L.push('The same as one JSON document: quint explain --json');
  return `${L.join('\n')}\n`;
}
