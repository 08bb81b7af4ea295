// The page's report: the same plots as `quint report` (per-layer SQNR, activation histograms with
// the chosen ranges, weights per channel, latency), gathered with apps/reference's report code
// (collect.ts) and drawn by its buildReport, for the qconfig and engine chosen on the page.
//
// quantizeModel (what the download and `quint quantize` come from) does not expose its observed
// graph, so the report calibrates a second graph from the same data and mapping, the way
// quantizeModel does; `sameAsDownload` says whether that graph exports to the very same ONNX.
import { convertFx, modelBytes, prepareFx } from '@quint/converter';
import type { GraphModule } from '@quint/fx-graph-tracer';
import { createJsBackend } from '@quint/kernels-js';
import { getDefaultQConfigMapping } from '@quint/observers';
import { saveModel, type ImportedGraphInfo, type QuintModel } from '@quint/onnx';
import { Tensor } from '@quint/tensor';
import { buildReport, type LatencyBar, type ReportData } from '../../src/report/build-report.js';
import { captureActivations, layerSqnr, weightStats } from '../../src/report/collect.js';
import type { QuantizeOptions } from './protocol.js';

/** Rows `start … start + count − 1` of `t` (axis 0) as one tensor. */
export function rows(t: Tensor, start: number, count: number): Tensor {
  const n = t.shape[0] ?? 1;
  const s = Math.min(start, n);
  const e = Math.min(n, s + count);
  const per = t.numel / n;
  return new Tensor(t.toFloat32Array().slice(s * per, e * per), [e - s, ...t.shape.slice(1)]);
}

/** quantizeModel's default batching: the model's static batch dimension, else 1. */
export function calibrationBatches(model: QuintModel, calib: Tensor): { batches: Tensor[]; size: number } {
  const info = model.graphModule.meta['onnx'] as ImportedGraphInfo | undefined;
  const input = info?.inputs[0];
  const size = input !== undefined && !input.dynamicBatch ? (input.shape[0] ?? 1) : 1;
  const n = calib.shape[0] ?? 1;
  const batches: Tensor[] = [];
  for (let i = 0; i < n; i += size) batches.push(rows(calib, i, size));
  return { batches, size };
}

function medianMs(run: (x: Tensor) => unknown, inputs: readonly Tensor[], warmup = 3): number {
  for (let i = 0; i < warmup; i++) run(inputs[i % inputs.length]!);
  const times = inputs.map((x) => {
    const t0 = performance.now();
    run(x);
    return performance.now() - t0;
  });
  times.sort((a, b) => a - b);
  const m = times.length >> 1;
  return times.length % 2 === 1 ? times[m]! : (times[m - 1]! + times[m]!) / 2;
}

/** What the page's report is made from. */
export interface PageReportInput {
  readonly modelName: string;
  readonly float: QuintModel;
  /** quantizeModel's result and the bytes the page offers for download. */
  readonly quantized: QuintModel;
  readonly download: Uint8Array;
  /** The downloaded file loaded on the page's wasm(+js) backend. */
  readonly int8: QuintModel;
  readonly backendLabel: string;
  readonly calib: Tensor;
  /** Input of the SQNR comparison, and its label. */
  readonly input: Tensor;
  readonly inputLabel: string;
  /** Batch-1 inputs of the latency calls. */
  readonly latencyInputs: readonly Tensor[];
  readonly options: QuantizeOptions;
  readonly onStep: (step: string) => void;
}

function withoutMetadata(m: QuintModel, format: QuantizeOptions['format']): Uint8Array {
  return saveModel({ ...m, metadata: {} }, { format });
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** The report's data and its self-contained HTML (buildReport). */
export function pageReport(r: PageReportInput): { data: ReportData; html: string; sameAsDownload: boolean } {
  const { options } = r;
  const floatLeft: string[] = [];
  r.onStep('report: calibrating with observers recorded');
  const { batches, size } = calibrationBatches(r.float, r.calib);
  const mapping = getDefaultQConfigMapping(options.qconfig, { torchCompat: 'latest' });
  const prepared = prepareFx(r.float.graphModule, mapping, [batches[0]!], { onWarning: (m) => floatLeft.push(m) });
  const capture = captureActivations(prepared);
  for (const b of batches) prepared.call(b);
  const activations = capture.finish();
  const quantizedJs: GraphModule = convertFx(prepared, {
    backend: createJsBackend({ onWarning: () => {} }),
    engine: options.engine,
  });
  quantizedJs.meta['onnx'] = r.float.graphModule.meta['onnx'];
  const sameAsDownload = equalBytes(
    withoutMetadata({ ...r.quantized, graphModule: quantizedJs }, options.format),
    withoutMetadata(r.quantized, options.format),
  );

  r.onStep('report: comparing layers (numeric suite)');
  const sqnr = layerSqnr(r.float.graphModule, quantizedJs, r.input);
  const weights = weightStats(prepared, quantizedJs);
  const bytes = { fp32: modelBytes(r.float.graphModule).fp32, int8: modelBytes(quantizedJs).int8 };

  r.onStep('report: timing');
  const call = (m: GraphModule) => (x: Tensor) => (m.call as (x: Tensor) => unknown)(x);
  const latency: LatencyBar[] = [
    { label: 'fp32, quint float ops', ms: medianMs(call(r.float.graphModule), r.latencyInputs) },
    { label: 'int8, kernels-js', ms: medianMs(call(quantizedJs), r.latencyInputs) },
    {
      label: `int8, ${r.backendLabel}`,
      ms: medianMs(call(r.int8.graphModule), r.latencyInputs),
      note: 'the downloaded file, reloaded',
    },
  ];
  const data: ReportData = {
    title: `quint report: ${r.modelName}, fp32 vs int8 (in the browser)`,
    subtitle: `graph mode: prepareFx with getDefaultQConfigMapping('${options.qconfig}'), ${r.calib.shape[0] ?? 1} calibration samples in batches of ${size}, convertFx, engine ${options.engine}, ${options.format === 'qdq' ? 'QDQ' : 'QOperator'}`,
    summary: [
      { label: 'model', value: r.modelName },
      { label: 'calibration samples', value: String(r.calib.shape[0] ?? 1) },
      { label: 'model bytes fp32 (4 × every weight and bias)', value: bytes.fp32.toLocaleString('en-US') },
      { label: 'model bytes int8 (codes + int32 bias + qparams)', value: bytes.int8.toLocaleString('en-US') },
      { label: 'smaller by', value: `${(bytes.fp32 / bytes.int8).toFixed(2)}×` },
      { label: 'int8 ONNX file', value: `${r.download.length.toLocaleString('en-US')} bytes` },
      { label: 'lowest layer SQNR', value: `${Math.min(...sqnr.map((s) => s.sqnr)).toFixed(1)} dB` },
    ],
    sqnr,
    sqnrInput: r.inputLabel,
    activations,
    weights,
    latency,
    latencyUnit: `one input, batch ${r.latencyInputs[0]?.shape[0] ?? 1}, median of ${r.latencyInputs.length} calls in this page's worker`,
    notes: [
      sameAsDownload
        ? 'The plotted graph was calibrated again from the same data and qconfig as the download; it exports to the same ONNX as the downloaded file (metadata aside).'
        : 'Warning: the plotted graph, calibrated again from the same data and qconfig, does NOT export to the same ONNX as the downloaded file; the plots may differ from the file.',
      'ONNX Runtime Web is not timed on this page (quint report times it in Node).',
      ...floatLeft.map((m) => `left in float: ${m}`),
    ],
    generator: `quint ${String(r.quantized.metadata['quint.version'] ?? '')} in the browser, ${new Date().toISOString()}`,
  };
  return { data, html: buildReport(data), sameAsDownload };
}
