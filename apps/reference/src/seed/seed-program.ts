// The seed's program (discuss.pytorch.org/t/158755, "static quantization still uses float weights
// instead of int?"), ported line for line, its two manual checks, and the answer it was missing: the
// integer arithmetic the kernel really performed, read from the kernel's trace hook.
// The PyTorch 1.13 run of the same program is tools/goldens/seed_program.py.
import { QuantError, Tensor, conv2d, relu } from '@quint/tensor';
import { roundHalfToEven, type GemmTraceRecord, type QTensor, type QuantizedBackend } from '@quint/qtensor';
import { getDefaultQConfig } from '@quint/observers';
import { Conv2d, DeQuantStub, Module, QuantStub, ReLU, type nnq } from '@quint/nn';
import { convert, fuseModules, prepare } from '@quint/converter';
import { createJsBackend } from '@quint/kernels-js';
import seedInputs from './seed-inputs.json' with { type: 'json' };

/** The engines PyTorch 1.13 (Debian) runs the seed program on, and so the ones it is checked on. */
export type SeedEngine = 'qnnpack' | 'onednn';

/** The seed's model: QuantStub → Conv2d(1, 1, 1) → ReLU → DeQuantStub. */
export class M extends Module {
  // QuantStub converts tensors from floating point to quantized
  quant = new QuantStub();
  conv = new Conv2d(1, 1, 1);
  relu = new ReLU();
  // DeQuantStub converts tensors from quantized to floating point
  dequant = new DeQuantStub();

  forward(input: Tensor): Tensor {
    let x = this.quant.call(input);
    x = this.conv.call(x);
    x = this.relu.call(x);
    x = this.dequant.call(x);
    return x;
  }
}

/** Options of {@link runSeedProgram}. */
export interface SeedProgramOptions {
  /** The requantization convention of `convert` (default `'qnnpack'`, what `quint explain` runs). */
  readonly engine?: SeedEngine;
  /** The backend the quantized model runs on (default `createJsBackend()`, the reference kernels). */
  readonly backend?: QuantizedBackend;
  /** Receives `prepare`'s warnings (default: dropped, as the seed program prints none of its own). */
  readonly onWarning?: (message: string) => void;
}

/** One output element worked through: what the kernel computed, recomputed by hand, and what forward() returned. */
export interface SeedElement {
  /** Flat NCHW index of the output element. */
  readonly index: number;
  /** The input codes that fed it (one for a 1×1 conv with one input channel). */
  readonly inputCodes: readonly number[];
  /** The weight codes they were multiplied with. */
  readonly weightCodes: readonly number[];
  /** `Σ (x_q − x_zp)·(w_q − w_zp)` in int32. */
  readonly accumulator: number;
  /** qnnpack: the int32 bias `rne(b / (x_s·w_s))`; onednn: the float32 bias term `f32(b·bs)`. */
  readonly bias: number;
  /** The float32 multiplier: qnnpack `M = f32(f32(w_s·x_s)·f32(1/y_s))`; onednn `op = f32(f32(1/y_s)/bs)`. */
  readonly multiplier: number;
  /** The float32 value that gets rounded: qnnpack `f32((acc + bias)·M)`, zero point not yet added; onednn includes it. */
  readonly preRound: number;
  /** qnnpack: `clamp(y_zp + rne(preRound), lo, 255)`; onednn: `clamp(rne(preRound), lo, 255)`; `lo = y_zp` (ReLU fused). */
  readonly outputCode: number;
  /** The code `forward()` produced for this element (the hooked conv output's `intRepr()`). */
  readonly forwardCode: number;
}

/** Everything the seed program computes. */
export interface SeedProgramRun {
  readonly engine: SeedEngine;
  readonly torchCompat: '1.13';
  /** The calibration batch `randn(4, 1, 4, 4)` (PyTorch's, from the golden), fed once more after convert. */
  readonly inputFp32: Tensor;
  /** The calibrated model (its observers hold the state PyTorch's golden records). */
  readonly modelFp32Prepared: M;
  readonly modelInt8: M;
  /** What the forward hook on the conv saw: its quantized input, weight, float bias and quantized output. */
  readonly captured: {
    readonly input: QTensor;
    readonly weight: QTensor;
    readonly bias: Tensor | null;
    readonly output: QTensor;
  };
  /** `modelInt8(inputFp32)`: the dequantized output. */
  readonly res: Tensor;
  /**
   * The user's first check: `relu(F.conv2d(x.dequantize(), w.dequantize(), b))`. It agrees with
   * `res` only to within half an output step (`maxAbsDiff ≤ outputScale / 2`): `res` is that value
   * rounded to the output grid, which is why the float check looked right.
   */
  readonly manualFloat: { readonly values: Tensor; readonly maxAbsDiff: number; readonly outputScale: number };
  /**
   * The user's second check: `F.conv2d(x.int_repr(), w.int_repr())`, codes multiplied as if they
   * were the values. Values in the thousands, because the zero point is not subtracted and nothing
   * brings the product of two scales back to the output scale.
   */
  readonly manualInteger: { readonly values: Tensor };
  /** The answer: for each of the 64 outputs, the kernel's integer arithmetic (trace hook), checked by hand. */
  readonly elements: readonly SeedElement[];
}

/** The golden batch and float weights, as numbers; kept here so the CLI needs no file at run time. */
function goldenTensor(t: { shape: number[]; values: number[] }): Tensor {
  return new Tensor(Float32Array.from(t.values), t.shape);
}

/**
 * Runs the seed's program as ported: M → `getDefaultQConfig('fbgemm', { torchCompat: '1.13' })` →
 * fuse conv+relu → prepare → calibrate on the batch → convert (engine qnnpack by default, on
 * kernels-js) → forward hook on the conv → the same batch once more. Then the user's two manual
 * checks, and every output element's integer arithmetic from the kernel's trace, each step
 * recomputed from the codes and qparams and checked against the trace, and the output code checked
 * against `forward()`.
 *
 * The float weights and the batch are PyTorch's (tools/goldens/seed_program.py, seed 30), so every
 * number equals PyTorch 1.13's.
 *
 * @throws `INTERNAL` if a recomputed step differs from the kernel's trace or the output code from
 *   `forward()` (never, unless the kernels regress).
 * @example
 * const run = runSeedProgram();
 * run.elements[0]; // { index: 0, accumulator: -127, bias: 2970, multiplier: 0.0105…, preRound: 29.9…, outputCode: 30, forwardCode: 30, … }
 */
export function runSeedProgram(options: SeedProgramOptions = {}): SeedProgramRun {
  const engine = options.engine ?? 'qnnpack';
  const backend = options.backend ?? createJsBackend();

  // create a model instance (PyTorch's random init is not ours: the weights are PyTorch's, loaded)
  const modelFp32 = new M();
  modelFp32.loadStateDict({
    'conv.weight': goldenTensor(seedInputs.floatStateDict['conv.weight']),
    'conv.bias': goldenTensor(seedInputs.floatStateDict['conv.bias']),
  });
  // model must be set to eval mode for static quantization logic to work
  modelFp32.eval();
  // attach a global qconfig: HistogramObserver (reduce_range, 0..127) for activations, per-channel
  // symmetric int8 weights; torchCompat 1.13 picks 1.13's HistogramObserver algorithm
  modelFp32.qconfig = getDefaultQConfig('fbgemm', { torchCompat: '1.13' });
  // Fuse the activations to preceding layers
  const modelFp32Fused = fuseModules(modelFp32, [['conv', 'relu']]);
  // Prepare the model for static quantization: observers on the stub and the conv
  const modelFp32Prepared = prepare(modelFp32Fused, { onWarning: options.onWarning ?? (() => {}) });
  // calibrate the prepared model on a representative batch (PyTorch's randn(4, 1, 4, 4))
  const inputFp32 = goldenTensor(seedInputs.input);
  modelFp32Prepared.call(inputFp32);
  // Convert the observed model to a quantized model: int8 weights, the observers' qparams
  const modelInt8 = convert(modelFp32Prepared, { engine, backend });

  // The user's forward hook on the conv, and the kernel's trace: every output element.
  const qconv = modelInt8.conv as unknown as nnq.ConvReLU2d;
  let captured: SeedProgramRun['captured'] | undefined;
  const handle = qconv.registerForwardHook((module, args, output) => {
    captured = { input: args[0] as QTensor, weight: module.weight(), bias: module.bias(), output: output as QTensor };
  });
  const records: GemmTraceRecord[] = [];
  qconv.trace = { index: 'all', sink: (r) => void (r.kind === 'gemm' && records.push(r)) };
  // run the model: the int8 computation happens in the conv
  const res = modelInt8.call(inputFp32);
  handle.remove();
  qconv.trace = undefined;
  if (captured === undefined)
    throw new QuantError('INTERNAL', 'seed program: the forward hook on conv did not run; report it.');
  const { input: x, weight: w, bias: b, output: y } = captured;

  // Check 1 (float): dequantize what the hook saw and redo the conv in float.
  const manualFloatValues = relu(conv2d(x.dequantize(), w.dequantize(), b));
  const mf = manualFloatValues.toFloat32Array();
  const rf = res.toFloat32Array();
  let maxAbsDiff = 0;
  for (let i = 0; i < mf.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(mf[i]! - rf[i]!));

  // Check 2 (integer, as attempted): the codes multiplied as if they were the values.
  const codesAsFloat = (q: QTensor): Tensor => new Tensor(Float32Array.from(q.intRepr()), q.shape);
  const manualIntegerValues = conv2d(codesAsFloat(x), codesAsFloat(w), null);

  const elements = records.sort((a, c) => a.index - c.index).map((r) => walkThrough(r, { engine, x, w, b, y }));
  if (elements.length !== y.numel) {
    throw new QuantError(
      'INTERNAL',
      `seed program: the conv traced ${elements.length} of ${y.numel} output elements; report it.`,
    );
  }
  return {
    engine,
    torchCompat: '1.13',
    inputFp32,
    modelFp32Prepared,
    modelInt8,
    captured,
    res,
    manualFloat: { values: manualFloatValues, maxAbsDiff, outputScale: y.qScale() },
    manualInteger: { values: manualIntegerValues },
    elements,
  };
}

const f32 = Math.fround;
const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));

/**
 * One output element: takes the kernel's trace record and recomputes every step from the codes and
 * qparams the forward hook saw (spec pytorch-semantics.md §5.2a qnnpack, §5.2b onednn); any
 * disagreement is a bug, so it throws.
 */
function walkThrough(
  r: GemmTraceRecord,
  ctx: { engine: SeedEngine; x: QTensor; w: QTensor; b: Tensor | null; y: QTensor },
): SeedElement {
  const c = r.channel;
  const xScale = ctx.x.qScale();
  const xZp = ctx.x.qZeroPoint();
  const wScale = ctx.w.isPerChannel() ? ctx.w.qPerChannelScales()[c]! : ctx.w.qScale();
  const wZp = ctx.w.isPerChannel() ? ctx.w.qPerChannelZeroPoints()[c]! : ctx.w.qZeroPoint();
  const yScale = ctx.y.qScale();
  const yZp = ctx.y.qZeroPoint();
  const bFloat = ctx.b === null ? 0 : ctx.b.toFloat32Array()[c]!;

  // The accumulator: (x_q − x_zp)·(w_q − w_zp) summed in int32.
  let acc = 0;
  r.input.codes.forEach((xq, k) => {
    acc = (acc + (xq - xZp) * (r.weight.codes[k]! - wZp)) | 0;
  });
  let bias: number;
  let multiplier: number;
  let preRound: number;
  let outputCode: number;
  const lo = yZp; // ReLU is fused: the clamp starts at the zero point (the code of 0.0)
  if (ctx.engine === 'qnnpack') {
    // The bias in int32 on the accumulator's scale x_s·w_s (the product in double, as qnnpack's prepack).
    bias = roundHalfToEven(f32(f32(bFloat) * f32(1 / f32(xScale * wScale))));
    // One float32 multiplier takes the accumulator's scale x_s·w_s to the output scale y_s.
    multiplier = f32(f32(f32(wScale) * f32(xScale)) * f32(1 / f32(yScale)));
    preRound = f32(f32((acc + bias) | 0) * multiplier);
    outputCode = clamp(yZp + roundHalfToEven(preRound), lo, 255);
  } else {
    // onednn keeps the bias in float on the accumulator's scale and adds the zero point before rounding.
    const bs = f32(f32(1 / f32(xScale)) * f32(1 / f32(wScale)));
    bias = f32(f32(bFloat) * bs);
    multiplier = f32(f32(1 / f32(yScale)) / bs);
    let v = f32(f32(f32(acc) + bias) * multiplier);
    if (v < 0) v = 0;
    preRound = f32(v + f32(yZp));
    outputCode = clamp(roundHalfToEven(preRound), lo, 255);
  }
  const forwardCode = ctx.y.intRepr()[r.index]!;
  const steps: Array<[string, number, number]> = [
    ['accumulator', acc, r.acc],
    ['bias', bias, r.bias],
    ['multiplier', multiplier, r.multiplier],
    ['preRound', preRound, r.preRound],
    ['outputCode', outputCode, r.output],
    ['forwardCode', outputCode, forwardCode],
  ];
  for (const [name, mine, kernels] of steps) {
    if (!Object.is(mine, kernels)) {
      throw new QuantError(
        'INTERNAL',
        `seed program: output element ${r.index}: ${name} recomputed by hand is ${mine}, the kernel ${name === 'forwardCode' ? "'s forward() gave" : 'traced'} ${kernels}; report it.`,
      );
    }
  }
  return {
    index: r.index,
    inputCodes: r.input.codes,
    weightCodes: r.weight.codes,
    accumulator: acc,
    bias,
    multiplier,
    preRound,
    outputCode,
    forwardCode,
  };
}
