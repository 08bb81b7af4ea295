// The quantization worker: the whole library flow of `quint quantize` (loadModel → quantizeModel →
// saveModel, with the same options the CLI passes) runs here, off the page's thread, on the wasm
// backend. The int8 model the page offers for download is reloaded from its bytes and run from them.
import {
  inspectModel,
  loadModel,
  quantizeModel,
  runModel,
  saveModel,
  type ImportedGraphInfo,
  type QuintModel,
} from '@quint/onnx';
import { QTensor, type Engine } from '@quint/qtensor';
import { QuantError, Tensor, npyToTensor, readNpyHeader } from '@quint/tensor';
import { createPageBackend, type PageBackend } from './backend.js';
import { failureLine } from './errors.js';
import { calibrationBatches, pageReport, rows } from './report.js';
import type { FromWorker, RunOutput, Stage, ToWorker } from './protocol.js';

interface Loaded {
  readonly float: QuintModel;
  readonly int8: QuintModel;
  readonly calib: Tensor;
  readonly samples: Tensor | null;
}

// One composed backend per engine: which ops run in wasm depends on the engine.
const backendPromises = new Map<Engine, Promise<PageBackend>>();
let loaded: Loaded | undefined;
// Where warnings go: the job running now (backends warn once, at first use, from inside a job).
let warnSink: (line: string) => void = (line) => console.warn(line);

const post = (msg: FromWorker, transfer: Transferable[] = []): void =>
  (self as unknown as Worker).postMessage(msg, transfer);

function progress(job: number, stage: Stage, done = 0, total = 1): void {
  post({ kind: 'progress', job, stage, done, total });
}

/** Row `index` of a tensor as a batch of one, `[1, …]`. */
function row(t: Tensor, index: number, what: string): Tensor {
  const n = t.shape[0] ?? 1;
  if (!Number.isInteger(index) || index < 0 || index >= n) {
    throw new QuantError('OUT_OF_RANGE', `${what} index ${index} is outside 0..${n - 1}; pick one in range.`);
  }
  const per = t.numel / n;
  return new Tensor(t.toFloat32Array().slice(index * per, (index + 1) * per), [1, ...t.shape.slice(1)]);
}

function asFloat(t: Tensor | QTensor): Tensor {
  return t instanceof QTensor ? t.dequantize() : t;
}

/**
 * The checks `quint quantize` makes before calibrating, in its order (apps/reference/src/commands/quantize.ts,
 * planCalibration), with the same codes and messages, file names in place of its paths.
 */
function checkModelAsCli(model: QuintModel, modelName: string): void {
  if (model.kind !== 'float')
    throw new QuantError('INVALID_ARGUMENT', `${modelName} is already quantized; pass the float model.`);
  if (model.inputNames.length !== 1) {
    throw new QuantError(
      'USAGE',
      `${modelName} has ${model.inputNames.length} inputs (${model.inputNames.join(', ')}); quantize calibrates single-input models only (one --calib file).`,
    );
  }
}

/** Reads the calibration `.npy` as `quint quantize` does (cli-io/npy-file.ts openNpy): float32, or float64 rounded. */
function readCalibrationAsCli(bytes: Uint8Array, calibName: string): Tensor {
  const header = readNpyHeader(bytes);
  if (header.dtype !== 'float32' && header.dtype !== 'float64') {
    throw new QuantError(
      'BAD_DTYPE',
      `--calib ${calibName}: the array is ${header.dtype}; quint takes float32 (or float64, rounded): save it with a.astype(np.float32).`,
    );
  }
  const have = bytes.length - header.dataOffset;
  if (have !== header.dataLength) {
    throw new QuantError(
      'BAD_NPY',
      `--calib ${calibName}: the data is ${have} bytes but shape (${header.shape.join(', ')}) of ${header.dtype} needs ${header.dataLength}; the file is ${have < header.dataLength ? 'truncated' : 'corrupt (extra bytes)'}.`,
    );
  }
  return npyToTensor(bytes);
}

function checkCalibrationAsCli(model: QuintModel, calib: Tensor, calibName: string): void {
  const input = (model.graphModule.meta['onnx'] as ImportedGraphInfo | undefined)?.inputs[0];
  const samples = calib.shape[0] ?? 1;
  if (input !== undefined) {
    const want = input.shape.slice(1);
    const have = calib.shape.slice(1);
    if (calib.shape.length !== input.shape.length || want.some((d, i) => d !== have[i])) {
      const modelShape = `[${input.dynamicBatch ? 'N' : input.shape[0]}, ${want.join(', ')}]`;
      throw new QuantError(
        'SHAPE_MISMATCH',
        `--calib ${calibName}: shape [${calib.shape.join(', ')}] does not match the model's input '${input.name}' ${modelShape}; pass samples of shape [${want.join(', ')}] stacked along axis 0.`,
      );
    }
  }
  if (samples === 0)
    throw new QuantError(
      'NOT_CALIBRATED',
      `--calib ${calibName} holds no samples; static quantization needs calibration data.`,
    );
  const fixed = input !== undefined && !input.dynamicBatch ? input.shape[0] : undefined;
  if (fixed !== undefined && samples % fixed !== 0) {
    throw new QuantError(
      'SHAPE_MISMATCH',
      `--calib ${calibName}: ${samples} samples do not split into batches of the model's static batch ${fixed}; pass a multiple of ${fixed} samples.`,
    );
  }
}

async function quantize(msg: Extract<ToWorker, { kind: 'quantize' }>): Promise<void> {
  const { job, options } = msg;
  const warnings: string[] = [];
  const onWarning = (line: string): void => {
    const l = line.startsWith('quint: warning: ') ? line : `quint: warning: ${line}`;
    warnings.push(l);
    post({ kind: 'warning', job, line: l });
  };
  warnSink = onWarning;
  const started = performance.now();
  progress(job, 'backend');
  if (!backendPromises.has(options.engine))
    backendPromises.set(
      options.engine,
      createPageBackend(options.engine, (line) => warnSink(line)),
    );
  const { backend, label } = await backendPromises.get(options.engine)!;
  loaded = undefined;
  progress(job, 'load');
  const float = await loadModel(new Uint8Array(msg.model), { backend });
  checkModelAsCli(float, msg.modelName);
  const calib = readCalibrationAsCli(new Uint8Array(msg.calib), msg.calibName);
  checkCalibrationAsCli(float, calib, msg.calibName);
  const samples = msg.samples === null ? null : npyToTensor(new Uint8Array(msg.samples));
  // The same call, with the same options, as `quint quantize --qconfig … --engine …`.
  const q = await quantizeModel(float, calib, {
    qconfig: options.qconfig,
    engine: options.engine,
    onProgress: (done, total) => progress(job, 'calibrate', done, total),
    onWarning,
  });
  progress(job, 'save');
  const bytes = saveModel(q, { format: options.format });
  progress(job, 'verify');
  // What the page runs and inspects is the downloaded file itself.
  const int8 = await loadModel(bytes, { backend });
  progress(job, 'report');
  const { size } = calibrationBatches(float, calib);
  const n = calib.shape[0] ?? 1;
  const sqnrInput = samples ?? rows(calib, 0, size > 1 ? size : Math.min(n, 16));
  const latencyInputs =
    samples !== null
      ? Array.from({ length: 20 }, (_, i) => rows(samples, i % (samples.shape[0] ?? 1), 1))
      : Array.from({ length: Math.min(20, Math.floor(n / size)) }, (_, i) => rows(calib, i * size, size));
  const report = pageReport({
    modelName: msg.modelName,
    float,
    quantized: q,
    download: bytes,
    int8,
    backendLabel: label,
    calib,
    input: sqnrInput,
    inputLabel:
      samples !== null
        ? `the ${sqnrInput.shape[0]} bundled MNIST evaluation digits (one per class)`
        : `the first ${sqnrInput.shape[0]} calibration samples`,
    latencyInputs,
    options,
    onStep: () => progress(job, 'report'),
  });
  if (!report.sameAsDownload)
    onWarning(
      'the report was calibrated again and does not match the downloaded model; its plots may differ from the file.',
    );
  const summary = {
    backend: label,
    float: inspectModel(float),
    int8: inspectModel(int8),
    int8FileBytes: bytes.length,
    calibrationShape: calib.shape,
    inputShape:
      (float.graphModule.meta['onnx'] as { inputs?: { shape: number[] }[] } | undefined)?.inputs?.[0]?.shape ?? [],
    samples: Number(q.metadata['quint.calibrationSamples'] ?? 0),
    milliseconds: Math.round(performance.now() - started),
    warnings,
    reportHtml: report.html,
    sameAsDownload: report.sameAsDownload,
  };
  loaded = { float, int8, calib, samples };
  const copy = bytes.slice().buffer;
  post({ kind: 'quantized', job, bytes: copy, summary }, [copy]);
}

async function run(msg: Extract<ToWorker, { kind: 'run' }>): Promise<void> {
  if (loaded === undefined) throw new QuantError('INVALID_ARGUMENT', 'run: quantize a model first.');
  progress(msg.job, 'run');
  const source = msg.set === 'samples' && loaded.samples !== null ? loaded.samples : loaded.calib;
  const x = row(source, msg.index, msg.set === 'samples' ? 'sample' : 'calibration sample');
  const yf = await runModel(loaded.float, x);
  const yq = await runModel(loaded.int8, x);
  const outputs: RunOutput[] = loaded.float.outputNames.map((name) => {
    const f = asFloat(yf[name]!);
    const q = asFloat(yq[name] ?? Object.values(yq)[0]!);
    return { name, shape: f.shape, float: f.toFloat32Array(), int8: q.toFloat32Array() };
  });
  post({ kind: 'ran', job: msg.job, inputShape: x.shape, input: x.toFloat32Array(), outputs });
}

self.onmessage = (e: MessageEvent<ToWorker>) => {
  const msg = e.data;
  const task = msg.kind === 'quantize' ? quantize(msg) : run(msg);
  task.catch((err: unknown) => {
    console.error(err);
    post({ kind: 'error', job: msg.job, line: failureLine(err) });
  });
};
