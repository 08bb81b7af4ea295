// The text form of `quint explain <model.onnx> --node <name>`: the seed's walk-through (src/seed/
// explain-report.ts) for any quantized conv/linear, with the formulas of the run's engine
// (spec pytorch-semantics.md §5.2a–c, onnx-ort-and-peers.md §1.3).
import { roundHalfToEven, type Engine, type QTensor } from '@quint/qtensor';
import { formatFloat32 } from '../seed/explain-report.js';
import type { ModelElement, ModelExplainRun } from './model-explain.js';

const f32 = Math.fround;
const fmt = formatFloat32;
const SHOWN_CODES = 12;
const SHOWN_TERMS = 3;

function pad(s: string | number, n: number): string {
  return String(s).padStart(n);
}

function codes(list: readonly number[]): string {
  return list.length <= SHOWN_CODES
    ? list.join(', ')
    : `${list.slice(0, SHOWN_CODES).join(', ')}, … (${list.length} codes)`;
}

function range(q: QTensor, relu: boolean): { lo: number; hi: number } {
  const [qmin, qmax] = q.dtype === 'qint8' ? [-128, 127] : [0, 255];
  return { lo: relu ? Math.max(qmin, q.qZeroPoint()) : qmin, hi: qmax };
}

/** The output code before the clamp, as the engine forms it (onednn has the zero point in preRound). */
function unclamped(engine: Engine, e: ModelElement, yzp: number): number {
  return engine === 'onednn' ? roundHalfToEven(e.preRound) : yzp + roundHalfToEven(e.preRound);
}

/** How the engine turns an accumulator into an output code, in its own float32 steps. */
function formulas(engine: Engine, lo: number, hi: number, relu: boolean): string[] {
  const clampLine = `  output code = clamp(y_zp + rne(preRound), ${lo}, ${hi})   (rne: round half to even)`;
  switch (engine) {
    case 'qnnpack':
      return [
        "  bias  = rne(b / (x_s * w_s)), an int32 on the accumulator's unit, rounded once at convert time",
        '  M     = f32(f32(w_s * x_s) * f32(1 / y_s)), one float32 per output channel',
        '  preRound = f32((acc + bias) * M)',
        clampLine,
      ];
    case 'ort':
      return [
        "  bias  = the file's int32 bias, on the accumulator's unit x_s * w_s",
        "  M     = f32(f32(x_s * w_s) / y_s), one float32 per output channel (ONNX Runtime's QLinearConv/QGemm)",
        '  preRound = f32((acc + bias) * M)',
        clampLine,
      ];
    case 'onednn':
      return [
        '  bs    = f32(f32(1 / x_s) * f32(1 / w_s)); bias = f32(b * bs), a float32 term',
        '  M     = f32(f32(1 / y_s) / bs), one float32 per output channel',
        `  preRound = f32(f32(f32(acc) + bias) * M)${relu ? ', max(., 0) (the fused ReLU)' : ''}, then + y_zp in float32`,
        `  output code = clamp(rne(preRound), ${lo}, ${hi})   (the zero point is already in preRound)`,
      ];
    case 'fbgemm':
      return [
        "  bias  = f32(b / f32(x_s * w_s)), a float32 term (experimental engine: FBGEMM's source, not run)",
        '  M     = f32(f32(x_s * w_s) / y_s), one float32 per output channel',
        '  preRound = f32(f32(f32(acc) + bias) * M)',
        clampLine,
      ];
  }
}

/** The elements worth walking through: the first, the first one the ReLU clamps, the largest accumulator. */
function showcase(run: ModelExplainRun, yzp: number, lo: number): Array<{ e: ModelElement; why: string }> {
  const els = run.elements;
  const picked: Array<{ e: ModelElement; why: string }> = [];
  const add = (e: ModelElement | undefined, why: string): void => {
    if (e !== undefined && !picked.some((p) => p.e.index === e.index)) picked.push({ e, why });
  };
  add(els[0], els.length === 1 ? 'the element asked for' : 'the first output');
  if (run.node.relu) {
    add(
      els.find((e) => unclamped(run.engine, e, yzp) < lo),
      'below the zero point before the clamp: the fused ReLU clamps it',
    );
  }
  if (els.length > 0) {
    add(
      els.reduce((a, b) => (Math.abs(b.accumulator) > Math.abs(a.accumulator) ? b : a), els[0]!),
      'the largest accumulator',
    );
  }
  return picked;
}

/**
 * The text form of a model explain run: the node's qparams, what the accumulator and the multiplier
 * are, the engine's formulas, a few elements step by step, then a table of every explained element.
 *
 * @example
 * process.stdout.write(explainModelText(await explainModel(model, x, { node: 'conv1_1' }), 'm.int8.onnx'));
 */
export function explainModelText(run: ModelExplainRun, modelPath: string): string {
  const { input: x, weight: w, bias: b, output: y } = run.captured;
  const xs = f32(x.qScale());
  const xzp = x.qZeroPoint();
  const ys = f32(y.qScale());
  const yzp = y.qZeroPoint();
  const { lo, hi } = range(y, run.node.relu);
  const perChannel = w.isPerChannel();
  const wScales = perChannel ? Array.from(w.qPerChannelScales(), f32) : [f32(w.qScale())];
  const wZps = perChannel ? Array.from(w.qPerChannelZeroPoints()) : [w.qZeroPoint()];
  const wsOf = (c: number): number => wScales[perChannel ? c : 0]!;
  const wzpOf = (c: number): number => wZps[perChannel ? c : 0]!;
  const kind = run.node.kind === 'conv2d' ? 'conv' : 'linear';
  const all = run.elements.length === y.numel;
  // qnnpack and ort add an int32 bias: printed as the integer (formatFloat32 would round it past 2^24).
  const intBias = run.engine === 'qnnpack' || run.engine === 'ort';
  const L: string[] = [];
  L.push(
    `quint explain: node ${run.node.name} of ${modelPath} (${run.node.module}${run.node.onnxOp === null ? '' : `, ONNX ${run.node.onnxOp}`}), engine ${run.engine}, torchCompat ${run.torchCompat ?? 'not recorded'}`,
  );
  L.push('');
  L.push(`What the quantized ${kind} works with (value = scale * (code - zero point)):`);
  L.push(`  input   ${x.dtype} [${x.shape.join(', ')}]   scale x_s = ${fmt(xs)}   zero point x_zp = ${xzp}`);
  L.push(
    perChannel
      ? `  weight  ${w.dtype} [${w.shape.join(', ')}]   per output channel: ${wScales.length} scales w_s (${fmt(Math.min(...wScales))} .. ${fmt(Math.max(...wScales))}), zero points ${[...new Set(wZps)].join(', ')}`
      : `  weight  ${w.dtype} [${w.shape.join(', ')}]   scale w_s = ${fmt(wScales[0]!)}   zero point w_zp = ${wZps[0]}`,
  );
  L.push(
    b === null
      ? '  bias    none'
      : `  bias    ${intBias ? 'int32' : 'float32 term'}, from the float bias b (${b.numel} values)`,
  );
  L.push(
    `  output  ${y.dtype} [${y.shape.join(', ')}]   scale y_s = ${fmt(ys)}   zero point y_zp = ${yzp}${run.node.relu ? '   (ReLU fused: codes clamp at y_zp, the code of 0.0)' : ''}`,
  );
  L.push('');
  L.push('The accumulator');
  L.push('  The kernel never multiplies float values. For each output it multiplies the codes that feed it, minus');
  L.push(`  their zero points, in integers: acc = sum of (x_q - x_zp) * (w_q - w_zp), an int32 in units of x_s * w_s`);
  L.push(
    `  (${fmt(f32(xs * wsOf(0)))} for output channel 0: a value of 1.0 is about ${Math.round(1 / f32(xs * wsOf(0)))} units).`,
  );
  L.push('');
  L.push(`From accumulator to output code (engine ${run.engine})`);
  L.push(...formulas(run.engine, lo, hi, run.node.relu));
  L.push('  The multiply by M, which takes units of x_s * w_s to units of y_s, is the only float arithmetic.');
  L.push('');
  L.push('Worked through');
  for (const { e, why } of showcase(run, yzp, lo)) {
    const c = e.channel;
    const wzp = wzpOf(c);
    const terms = e.inputCodes.slice(0, SHOWN_TERMS).map((q, k) => `(${q} - ${xzp}) * (${e.weightCodes[k]} - ${wzp})`);
    const more = e.inputCodes.length > SHOWN_TERMS ? ` + … (${e.inputCodes.length} terms)` : '';
    L.push(`  element ${e.index}, output channel ${c} (${why}):`);
    L.push(`    x_q = ${codes(e.inputCodes)}`);
    L.push(`    w_q = ${codes(e.weightCodes)}`);
    L.push(`    accumulator  ${terms.join(' + ')}${more} = ${e.accumulator}`);
    if (intBias) {
      const sum = (e.accumulator + e.bias) | 0;
      L.push(`    + bias       ${e.accumulator} + ${e.bias} = ${sum}`);
      L.push(`    * M          f32(${sum} * ${fmt(e.multiplier)}) = ${fmt(e.preRound)}`);
    } else {
      L.push(
        `    + bias, * M  f32((${e.accumulator} + ${fmt(e.bias)}) * ${fmt(e.multiplier)})${run.engine === 'onednn' ? ` + ${yzp}` : ''} = ${fmt(e.preRound)}`,
      );
    }
    const u = unclamped(run.engine, e, yzp);
    L.push(
      `    output code  clamp(${run.engine === 'onednn' ? '' : `${yzp} + `}rne(${fmt(e.preRound)}), ${lo}, ${hi}) = clamp(${u}, ${lo}, ${hi}) = ${e.outputCode}`,
    );
    L.push(
      `    forward()    ${e.forwardCode}  (${e.forwardCode === e.outputCode ? 'identical' : 'DIFFERENT'}), i.e. the value ${fmt(f32(ys * (e.forwardCode - yzp)))}`,
    );
  }
  L.push('');
  const same = run.elements.every((e) => e.outputCode === e.forwardCode) ? 'yes' : 'NO';
  L.push(
    all
      ? `All ${run.elements.length} outputs (outputCode === forwardCode for every one: ${same})`
      : `Output element ${run.elements.map((e) => e.index).join(', ')} of ${y.numel} (outputCode === forwardCode: ${same})`,
  );
  L.push(
    `  ${pad('index', 7)} ${pad('channel', 7)} ${pad('accumulator', 11)} ${pad('bias', 11)} ${pad('multiplier', 12)} ${pad('preRound', 12)} ${pad('outputCode', 10)} ${pad('forwardCode', 11)}`,
  );
  for (const e of run.elements) {
    L.push(
      `  ${pad(e.index, 7)} ${pad(e.channel, 7)} ${pad(e.accumulator, 11)} ${pad(intBias ? String(e.bias) : fmt(e.bias), 11)} ${pad(fmt(e.multiplier), 12)} ${pad(fmt(e.preRound), 12)} ${pad(e.outputCode, 10)} ${pad(e.forwardCode, 11)}`,
    );
  }
  L.push('');
  L.push('The same as one JSON document: add --json');
  return `${L.join('\n')}\n`;
}
