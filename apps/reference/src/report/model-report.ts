// `quint report <model.onnx> --calib … --input …`: the report of any float ONNX model, quantized in
// graph mode as `quint quantize` does by default (getDefaultQConfigMapping('qnnpack'), engine qnnpack).
import { readFileSync } from 'node:fs';
import { QuantError, Tensor } from '@quint/tensor';
import type { QuantizedBackend } from '@quint/qtensor';
import { getDefaultQConfigMapping } from '@quint/observers';
import { convertFx, modelBytes, prepareFx } from '@quint/converter';
import { createJsBackend } from '@quint/kernels-js';
import type { GraphModule } from '@quint/fx-graph-tracer';
import { loadModel, type QuintModel } from '@quint/onnx';
import { createWasmWithJsFallback } from '../demo/backends.js';
import { captureActivations, layerSqnr, weightStats } from './collect.js';
import type { ActivationStat, LatencyBar, ReportData, WeightStat, LayerSqnr } from './build-report.js';
import { median, ortWebMsPerCall, qdqBytes } from './ort-latency.js';

/** Options of {@link modelReport}. */
export interface ModelReportOptions {
  /** Calibration data, `[N, …]` float32. */
  readonly calibration: Tensor;
  /** Input for the SQNR comparison and the latency calls (one call = this whole tensor). */
  readonly input: Tensor;
  /** Calibration batch size (default: the model's static batch dimension, else 1, as `quint quantize`). */
  readonly batchSize?: number;
  /** HistogramObserver algorithm (default `'latest'`, as `quint quantize`). */
  readonly torchCompat?: 'latest' | '1.13';
  /** Latency calls: these tensors, one call each (default: `input`, 20 times). */
  readonly latencyInputs?: readonly Tensor[];
  /** What one latency call is, for the chart (default: "one call on the --input tensor [shape]"). */
  readonly latencyUnit?: string;
  /** What `input` is, for the SQNR chart (default: "the --input tensor [shape]"). */
  readonly sqnrInputLabel?: string;
  readonly title?: string;
  /** Rows shown before the computed ones. */
  readonly summary?: readonly { label: string; value: string }[];
  readonly notes?: readonly string[];
  /** Called between steps with a short description. */
  readonly onStep?: (step: string) => void;
  /** Ops left in float, one line each. */
  readonly onWarning?: (message: string) => void;
  readonly generator: string;
  /**
   * The kernels-wasm(+js) backend for the wasm model; the caller disposes it. Default: one made
   * and disposed here (then `parts.quantizedWasm` must not be run after the call).
   */
  readonly wasmBackend?: QuantizedBackend;
  /** The model already loaded from `path` (default: loaded here with `loadModel`). */
  readonly model?: QuintModel;
}

/** Splits `t` along axis 0 into batches of `size`. */
export function splitBatches(t: Tensor, size: number): Tensor[] {
  const n = t.shape[0] ?? 1;
  if (t.shape.length === 0 || n <= size) return [t];
  const per = t.numel / n;
  const d = t.contiguous().data;
  const out: Tensor[] = [];
  for (let i = 0; i < n; i += size) {
    const b = Math.min(size, n - i);
    out.push(new Tensor(d.slice(i * per, (i + b) * per), [b, ...t.shape.slice(1)]));
  }
  return out;
}

/** Median milliseconds of `run` on each of `inputs`, one call each, after `warmup` untimed calls. */
export function medianMs(run: (x: Tensor) => unknown, inputs: readonly Tensor[], warmup = 3): number {
  for (let i = 0; i < warmup; i++) run(inputs[i % inputs.length]!);
  const times = inputs.map((x) => {
    const t0 = performance.now();
    run(x);
    return performance.now() - t0;
  });
  return median(times);
}

/** Median milliseconds per call of each runtime the report times. */
export interface LatencyMs {
  fp32: number;
  int8Js: number;
  int8Wasm: number;
  ortWebFp32: number;
  ortWebInt8: number | null;
}

/** What {@link quantizeGraph} returns. */
export interface QuantizedGraph {
  /** The observed (calibrated) graph. */
  readonly prepared: GraphModule;
  /** What each observer saw during calibration and the range it chose. */
  readonly activations: ActivationStat[];
  /** convertFx on kernels-js and on kernels-wasm(+js), engine qnnpack. */
  readonly quantizedJs: GraphModule;
  readonly quantizedWasm: GraphModule;
  /** prepareFx's warnings: ops left in float. */
  readonly floatLeft: string[];
}

/**
 * Graph-mode post-training quantization as `quint quantize` does it (PyTorch 1.13's `prepare_fx`
 * with `get_default_qconfig_mapping('qnnpack')`, calibration batch by batch, `convert_fx`), with
 * every observer's input recorded during calibration, converted twice from the same observers: on
 * kernels-js and on kernels-wasm (+ kernels-js for the ops wasm lacks). `floatModel` is not modified.
 *
 * @example
 * const q = quantizeGraph(model.graphModule, [calibration], { torchCompat: '1.13', wasmBackend });
 */
export function quantizeGraph(
  floatModel: GraphModule,
  batches: readonly Tensor[],
  options: {
    readonly torchCompat: 'latest' | '1.13';
    readonly wasmBackend: QuantizedBackend;
    readonly onWarning?: (m: string) => void;
  },
): QuantizedGraph {
  if (batches.length === 0)
    throw new QuantError('NOT_CALIBRATED', 'quantizeGraph: no calibration batches; pass at least one float tensor.');
  const floatLeft: string[] = [];
  const mapping = getDefaultQConfigMapping('qnnpack', { torchCompat: options.torchCompat });
  const prepared = prepareFx(floatModel, mapping, [batches[0]!], {
    onWarning: (m) => {
      floatLeft.push(m);
      options.onWarning?.(m);
    },
  });
  const capture = captureActivations(prepared);
  for (const b of batches) prepared.call(b);
  const activations = capture.finish();
  const quantizedJs = convertFx(prepared, { backend: createJsBackend(), engine: 'qnnpack' });
  const quantizedWasm = convertFx(prepared, { backend: options.wasmBackend, engine: 'qnnpack' });
  return { prepared, activations, quantizedJs, quantizedWasm, floatLeft };
}

/** The parts of a report made from a model, before they are assembled into {@link ReportData}. */
export interface ModelReportParts {
  readonly sqnr: LayerSqnr[];
  readonly activations: ActivationStat[];
  readonly weights: WeightStat[];
  readonly latency: LatencyBar[];
  /** The same latencies by name (median ms per call); ortWebInt8 null when ONNX Runtime could not run the QDQ export. */
  readonly ms: LatencyMs;
  readonly bytes: { readonly fp32: number; readonly int8: number };
  readonly floatLeft: string[];
  readonly floatModel: GraphModule;
  readonly prepared: GraphModule;
  readonly quantizedJs: GraphModule;
  readonly quantizedWasm: GraphModule;
}

/**
 * Loads a float ONNX model (`loadModel`), quantizes it in graph mode (prepareFx with
 * `getDefaultQConfigMapping('qnnpack')`, calibration, convertFx on kernels-js and on
 * kernels-wasm+js, engine qnnpack) while recording what every observer sees, and gathers the
 * report: per-layer SQNR on `input`, activation histograms with the chosen ranges, weights per
 * channel, model bytes, and latency of fp32 (quint's float ops), int8 kernels-js, int8
 * kernels-wasm, and ONNX Runtime Web on the float file and on its QDQ export.
 *
 * @throws `INVALID_ARGUMENT` for a quantized model; errors of loadModel/prepareFx.
 */
export async function modelReport(
  path: string,
  options: ModelReportOptions,
): Promise<{ data: ReportData; parts: ModelReportParts }> {
  const step = options.onStep ?? (() => {});
  step('loading the model');
  const fileBytes = new Uint8Array(readFileSync(path));
  const model = options.model ?? (await loadModel(fileBytes));
  if (model.kind !== 'float') {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `quint report: ${path} is already quantized; pass the float model it came from.`,
    );
  }
  const onnxMeta = model.graphModule.meta['onnx'] as
    { inputs: { name: string; shape: number[]; dynamicBatch: boolean }[] } | undefined;
  const first = onnxMeta?.inputs[0];
  if (model.inputNames.length !== 1 || first === undefined) {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `quint report: ${path} has ${model.inputNames.length} inputs (${model.inputNames.join(', ')}); the report takes models with one input.`,
    );
  }
  const batch = options.batchSize ?? (first.dynamicBatch ? 1 : (first.shape[0] ?? 1));
  const batches = splitBatches(options.calibration, batch);

  step('calibrating and converting');
  const ownWasm = options.wasmBackend === undefined;
  const wasm = options.wasmBackend ?? (await createWasmWithJsFallback()).backend;
  try {
    const { prepared, activations, quantizedJs, quantizedWasm, floatLeft } = quantizeGraph(model.graphModule, batches, {
      torchCompat: options.torchCompat ?? 'latest',
      wasmBackend: wasm,
      ...(options.onWarning === undefined ? {} : { onWarning: options.onWarning }),
    });

    step('comparing layers (numeric suite)');
    const sqnr = layerSqnr(model.graphModule, quantizedJs, options.input);
    const weights = weightStats(prepared, quantizedJs);
    const bytes = { fp32: modelBytes(model.graphModule).fp32, int8: modelBytes(quantizedJs).int8 };

    step('timing');
    const notes = [...(options.notes ?? []), ...floatLeft.map((m) => `left in float: ${m}`)];
    const inputs = options.latencyInputs ?? Array.from({ length: 20 }, () => options.input);
    const call = (m: GraphModule) => (x: Tensor) => (m.call as (x: Tensor) => unknown)(x);
    const ms: LatencyMs = {
      fp32: medianMs(call(model.graphModule), inputs),
      int8Js: medianMs(call(quantizedJs), inputs),
      int8Wasm: medianMs(call(quantizedWasm), inputs),
      ortWebFp32: await ortWebMsPerCall(fileBytes, first.name, inputs),
      ortWebInt8: null,
    };
    const latency: LatencyBar[] = [
      { label: 'fp32, quint float ops', ms: ms.fp32 },
      { label: 'int8 FX, kernels-js', ms: ms.int8Js },
      { label: 'int8 FX, kernels-wasm (+js)', ms: ms.int8Wasm },
      { label: 'ONNX Runtime Web fp32', ms: ms.ortWebFp32, note: 'wasm EP, 1 thread' },
    ];
    try {
      ms.ortWebInt8 = await ortWebMsPerCall(qdqBytes(quantizedJs, onnxMeta), first.name, inputs);
      latency.push({
        label: 'ONNX Runtime Web int8 (QDQ)',
        ms: ms.ortWebInt8,
        note: "quint's QDQ export, wasm EP, 1 thread",
      });
    } catch (e) {
      notes.push(`ONNX Runtime Web int8 not timed: ${(e as Error).message}`);
    }
    const shape = `[${options.input.shape.join(', ')}]`;
    const data: ReportData = {
      title: options.title ?? `quint report: ${path}`,
      subtitle: `graph mode: prepareFx with getDefaultQConfigMapping('qnnpack'), ${options.calibration.shape[0] ?? 1} calibration samples in batches of ${batch}, convertFx, engine qnnpack`,
      summary: [
        ...(options.summary ?? []),
        { label: 'model bytes fp32 (4 × every weight and bias)', value: bytes.fp32.toLocaleString('en-US') },
        { label: 'model bytes int8 (codes + int32 bias + qparams)', value: bytes.int8.toLocaleString('en-US') },
        { label: 'smaller by', value: `${(bytes.fp32 / bytes.int8).toFixed(2)}×` },
        { label: 'lowest layer SQNR', value: `${Math.min(...sqnr.map((r) => r.sqnr)).toFixed(1)} dB` },
      ],
      sqnr,
      sqnrInput: options.sqnrInputLabel ?? `the --input tensor ${shape}`,
      activations,
      weights,
      latency,
      latencyUnit: options.latencyUnit ?? `one call on the --input tensor ${shape}, median of ${inputs.length}`,
      notes,
      generator: options.generator,
    };
    return {
      data,
      parts: {
        sqnr,
        activations,
        weights,
        latency,
        ms,
        bytes,
        floatLeft,
        floatModel: model.graphModule,
        prepared,
        quantizedJs,
        quantizedWasm,
      },
    };
  } finally {
    if (ownWasm) wasm.dispose();
  }
}
