import { Option, type Command } from 'commander';
import {
  inspectModel,
  quantizeModel,
  saveModel,
  type ImportedGraphInfo,
  type QuantizeModelOptions,
  type QuintModel,
} from '@quint/onnx';
import type { Engine, QuantizedBackend } from '@quint/qtensor';
import { QuantError, type Tensor } from '@quint/tensor';
import { warn } from '../cli-support.js';
import { writeFileAtomic } from '../io.js';
import { firstNonFinite, openNpy, type NpyFile } from '../cli-io/npy-file.js';
import { fastBackend } from '../cli-io/backends.js';
import { checkOutputFolder, commaList, loadModelArg, positiveInt, warningSink } from '../cli-io/options.js';
import { progressBar } from '../cli-io/progress.js';

/** The options `quint quantize` parses (DESIGN.md "The CLI contract"). */
export interface QuantizeOptions {
  readonly calib?: string;
  readonly out: string;
  readonly batchSize?: number;
  readonly qconfig: 'fbgemm' | 'qnnpack' | 'x86' | 'onednn';
  readonly activationObserver?: 'minmax' | 'moving-average-minmax' | 'histogram';
  readonly weightObserver?: 'minmax' | 'per-channel-minmax';
  readonly engine: Engine;
  readonly torchCompat: 'latest' | '1.13';
  readonly keepFloat?: string[];
  readonly dynamic?: boolean;
  readonly format: 'qdq' | 'qoperator';
  readonly ignoreNonfinite?: boolean;
}

/** `quint quantize <model.onnx> --calib <calib.npy> --out <model.int8.onnx> […]`. */
export function registerQuantize(program: Command): void {
  program
    .command('quantize')
    .description('post-training int8 quantization of a float ONNX model, as PyTorch 1.13 FX graph mode does it')
    .argument('<model.onnx>', 'float ONNX model')
    .option('--calib <calib.npy>', 'calibration data: float32 .npy, samples along axis 0 (read batch by batch)')
    .requiredOption('--out <model.int8.onnx>', 'where to write the quantized model (atomically)')
    .option('--batch-size <N>', "calibration batch size (default: the model's static batch dim, else 1)", positiveInt)
    .addOption(
      new Option('--qconfig <preset>', 'getDefaultQConfigMapping(preset) of PyTorch 1.13')
        .choices(['fbgemm', 'qnnpack', 'x86', 'onednn'])
        .default('qnnpack'),
    )
    .addOption(
      new Option(
        '--activation-observer <observer>',
        "replaces the preset's activation observer (quint8, per_tensor_affine, reduceRange false)",
      ).choices(['minmax', 'moving-average-minmax', 'histogram']),
    )
    .addOption(
      new Option(
        '--weight-observer <observer>',
        'replaces the weight observer (qint8, per_tensor_symmetric / per_channel_symmetric, chAxis 0)',
      ).choices(['minmax', 'per-channel-minmax']),
    )
    .addOption(
      new Option('--engine <engine>', 'requantization convention, recorded as metadata quint.engine')
        .choices(['qnnpack', 'onednn', 'ort', 'fbgemm'])
        .default('qnnpack'),
    )
    .addOption(
      new Option('--torch-compat <version>', 'HistogramObserver algorithm')
        .choices(['latest', '1.13'])
        .default('latest'),
    )
    .option(
      '--keep-float <node,…>',
      "leave these nodes in float (PyTorch's qconfig None); names from `quint inspect`",
      commaList,
    )
    .option('--dynamic', 'dynamic quantization: no --calib; weights int8, activations quantized per batch')
    .addOption(
      new Option('--format <format>', 'ONNX form of the quantized model (opset 13)')
        .choices(['qdq', 'qoperator'])
        .default('qdq'),
    )
    .option('--ignore-nonfinite', 'skip calibration batches with NaN/Inf (with a warning) instead of failing')
    .option('--debug', 'print stack traces on failure')
    .addHelpText(
      'after',
      '\nExamples:\n  quint quantize model.onnx --calib calib.npy --out model.int8.onnx\n' +
        '  quint quantize model.onnx --calib calib.npy --out model.int8.onnx --qconfig fbgemm --torch-compat 1.13 --engine onednn\n' +
        '  quint quantize model.onnx --dynamic --out model.dyn.onnx\n',
    )
    .action(async (model: string, opts: QuantizeOptions) => {
      await quantizeCommand(model, opts);
    });
}

function staticBatch(model: QuintModel): number | undefined {
  const info = model.graphModule.meta['onnx'] as ImportedGraphInfo | undefined;
  const input = info?.inputs[0];
  return input !== undefined && !input.dynamicBatch ? input.shape[0] : undefined;
}

/** Checks the calibration file against the model's input before any work, and picks the batch size. */
function planCalibration(model: QuintModel, calib: NpyFile, requested: number | undefined): number {
  const info = model.graphModule.meta['onnx'] as ImportedGraphInfo | undefined;
  const input = info?.inputs[0];
  const fixed = staticBatch(model);
  if (input !== undefined) {
    const want = input.shape.slice(1);
    const have = calib.sampleShape;
    if (calib.header.shape.length !== input.shape.length || want.some((d, i) => d !== have[i])) {
      const modelShape = `[${input.dynamicBatch ? 'N' : input.shape[0]}, ${want.join(', ')}]`;
      throw new QuantError(
        'SHAPE_MISMATCH',
        `--calib ${calib.path}: shape [${calib.header.shape.join(', ')}] does not match the model's input '${input.name}' ${modelShape}; pass samples of shape [${want.join(', ')}] stacked along axis 0.`,
      );
    }
  }
  if (calib.samples === 0)
    throw new QuantError(
      'NOT_CALIBRATED',
      `--calib ${calib.path} holds no samples; static quantization needs calibration data.`,
    );
  const batch = requested ?? fixed ?? 1;
  if (fixed !== undefined) {
    if (batch !== fixed) {
      throw new QuantError(
        'SHAPE_MISMATCH',
        `--batch-size ${batch}: the model's input has a static batch of ${fixed}; omit --batch-size, or export the model with a dynamic batch axis.`,
      );
    }
    if (calib.samples % fixed !== 0) {
      throw new QuantError(
        'SHAPE_MISMATCH',
        `--calib ${calib.path}: ${calib.samples} samples do not split into batches of the model's static batch ${fixed}; pass a multiple of ${fixed} samples.`,
      );
    }
  }
  return batch;
}

/** Calibration batches read from the file one at a time (NaN/Inf checked per batch); quantizeModel observes and drops each. */
function* calibrationBatches(
  calib: NpyFile,
  batchSize: number,
  ignoreNonFinite: boolean,
  skipped: { count: number },
): Generator<Tensor> {
  for (let start = 0, b = 0; start < calib.samples; start += batchSize, b++) {
    const n = Math.min(batchSize, calib.samples - start);
    const t = calib.read(start, n);
    const bad = firstNonFinite(t);
    if (bad >= 0) {
      const perSample = t.numel / n;
      const sample = start + Math.floor(bad / perSample);
      if (!ignoreNonFinite) {
        throw new QuantError(
          'NON_FINITE',
          `--calib ${calib.path}: sample ${sample} has a NaN or Inf value (batch ${b}); clean the data, or pass --ignore-nonfinite to skip such batches.`,
        );
      }
      warn(
        `--calib ${calib.path}: batch ${b} (samples ${start}..${start + n - 1}) has NaN/Inf (first in sample ${sample}); skipped (--ignore-nonfinite).`,
      );
      skipped.count += n;
      continue;
    }
    yield t;
  }
}

async function quantizeCommand(path: string, opts: QuantizeOptions): Promise<void> {
  const dynamic = opts.dynamic === true;
  if (dynamic && opts.calib !== undefined)
    throw new QuantError(
      'USAGE',
      '--dynamic takes no --calib (activations are quantized per batch at run time); drop one of them.',
    );
  if (!dynamic && opts.calib === undefined)
    throw new QuantError(
      'USAGE',
      'quantize needs --calib <calib.npy> (or --dynamic for dynamic quantization); see quint quantize --help.',
    );
  checkOutputFolder(opts.out, '--out');
  if (opts.engine === 'fbgemm')
    warn(
      'engine fbgemm is experimental: written from FBGEMM source and checked on hand-computed cases only; no PyTorch with FBGEMM runs here.',
    );

  // The file does not depend on the backend (backends are bit-exact); saveModel runs the int8 graph
  // once to learn its shapes, which the wasm kernels do several times faster.
  const backend = await fastBackend(opts.engine);
  try {
    await quantizeWith(path, opts, dynamic, backend);
  } finally {
    backend.dispose();
  }
}

/**
 * quantizeModel needs the graph, not the decoded file: dropping it keeps a second copy of every
 * weight (47 MB for ResNet-18) out of the peak RSS.
 */
async function loadGraphOnly(path: string, backend: QuantizedBackend): Promise<QuintModel> {
  const loaded = await loadModelArg(path, { backend });
  return { ...loaded, onnx: null };
}

async function quantizeWith(
  path: string,
  opts: QuantizeOptions,
  dynamic: boolean,
  backend: QuantizedBackend,
): Promise<void> {
  const model = await loadGraphOnly(path, backend);
  if (model.kind !== 'float')
    throw new QuantError('INVALID_ARGUMENT', `${path} is already quantized; pass the float model.`);
  if (!dynamic && model.inputNames.length !== 1) {
    throw new QuantError(
      'USAGE',
      `${path} has ${model.inputNames.length} inputs (${model.inputNames.join(', ')}); quantize calibrates single-input models only (one --calib file).`,
    );
  }

  const common: QuantizeModelOptions = {
    qconfig: opts.qconfig,
    engine: opts.engine,
    torchCompat: opts.torchCompat,
    dynamic,
    onWarning: warningSink,
    ...(opts.activationObserver === undefined ? {} : { activationObserver: opts.activationObserver }),
    ...(opts.weightObserver === undefined ? {} : { weightObserver: opts.weightObserver }),
    ...(opts.keepFloat === undefined ? {} : { keepFloat: opts.keepFloat }),
    ...(opts.ignoreNonfinite === true ? { ignoreNonFinite: true } : {}),
  };
  let quantized: QuintModel;
  const skipped = { count: 0 };
  if (dynamic) {
    quantized = await quantizeModel(model, [], common);
  } else {
    const calib = openNpy(opts.calib!, '--calib');
    const bar = progressBar('calibrating');
    try {
      const batchSize = planCalibration(model, calib, opts.batchSize);
      quantized = await quantizeModel(
        model,
        calibrationBatches(calib, batchSize, opts.ignoreNonfinite === true, skipped),
        {
          ...common,
          batchSize,
          totalBatches: Math.ceil(calib.samples / batchSize),
          onProgress: (done, total) => bar.update(done, total),
        },
      );
      if (skipped.count === calib.samples)
        throw new QuantError('NOT_CALIBRATED', 'every calibration batch had NaN/Inf; nothing to calibrate with.');
    } catch (e) {
      if (e instanceof QuantError && e.code === 'NOT_CALIBRATED' && skipped.count > 0) {
        throw new QuantError(
          'NOT_CALIBRATED',
          `--calib ${opts.calib}: every calibration batch had NaN/Inf and was skipped; nothing is left to calibrate with.`,
          { cause: e },
        );
      }
      throw e;
    } finally {
      bar.stop();
      calib.close();
    }
  }
  const bytes = saveModel(quantized, { format: opts.format });
  writeFileAtomic(opts.out, bytes);

  const info = inspectModel(quantized);
  const weights = info.nodes.filter((n) => n.weight !== null).length;
  const p = quantized.metadata;
  process.stdout.write(
    `wrote ${opts.out} (${opts.format}, ${bytes.length} bytes): ${weights} int8 weight tensors, model bytes ${info.modelBytes.fp32} fp32 -> ${info.modelBytes.int8} int8; ` +
      `engine ${p['quint.engine']}, qconfig ${p['quint.qconfig']}, torchCompat ${p['quint.torchCompat']}, ${p['quint.calibrationSamples']} calibration samples\n`,
  );
}
