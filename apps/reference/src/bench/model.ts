// `quint bench --model`: one quantized ONNX model end to end, the same file on quint's backends and
// on ONNX Runtime Web (wasm, 1 and 2 threads, which fuses the file's QDQ into its int8 kernels), sampled
// as the kernel benchmark samples its shapes (bench/index.ts): interleaved rounds, medians with
// min–max, same-round ratios.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { loadModel, type QuintModel } from '@quint/onnx';
import { QuantError, type Tensor } from '@quint/tensor';
import { jsBackend, wasmBackend } from '../cli-io/backends.js';
import { loadModelArg } from '../cli-io/options.js';
import {
  loadOrtWeb,
  measureCells,
  spreadSpeedup,
  textTable,
  timing,
  type BenchBackend,
  type Ort,
  type Prepared,
  type Timing,
} from './index.js';
import { ortSessionOptions, startOrtWebThreads, type OrtFeed } from './ort-threads.js';
import { SAMPLE_MS } from './time-calls.js';

// A forward pass takes tens to hundreds of ms on the fast runtimes, which then still take every
// sample; only a runtime over this (kernels-js: seconds) takes three.
const SLOW_MODEL_MS = 1000;

/** The runtimes of a model benchmark, in table order. */
export const MODEL_BENCH_BACKENDS = [
  'kernels-js',
  'kernels-wasm',
  'kernels-wasm-2t',
  'ort-web-int8',
  'ort-web-int8-2t',
] as const satisfies readonly BenchBackend[];

/** One runtime on the model: ms per call (a whole forward pass over the given inputs). */
export interface ModelBenchResult extends Timing {
  /** The model file's name. */
  readonly model: string;
  readonly backend: (typeof MODEL_BENCH_BACKENDS)[number];
  /** Each sample's milliseconds per call, in round order. */
  readonly sampleMs: readonly number[];
}

/** Options of {@link runModelBench}. */
export interface ModelBenchOptions {
  /** Path of a quantized ONNX model (QDQ or QOperator). */
  readonly model: string;
  /** The model's inputs by name (float32), given the loaded model (e.g. its input names). */
  readonly inputs: (model: QuintModel) => Readonly<Record<string, Tensor>>;
  /** Samples per runtime (default 9); runtimes slower than 1 s per call (kernels-js) take at most 3. */
  readonly samples?: number;
  /** Default: every runtime of {@link MODEL_BENCH_BACKENDS}. */
  readonly backends?: readonly (typeof MODEL_BENCH_BACKENDS)[number][];
  /** Called before each runtime's warm-up and after each warm-up and sample. */
  readonly onProgress?: (event: {
    readonly backend: BenchBackend;
    readonly done: number;
    readonly total: number;
  }) => void;
}

function quintRunner(model: QuintModel, inputs: Readonly<Record<string, Tensor>>, dispose: () => void): Prepared {
  const xs = model.inputNames.map((n) => inputs[n]!);
  return { call: () => model.graphModule.call(...xs), dispose };
}

async function ortRunner(ort: Ort, bytes: Uint8Array, inputs: Readonly<Record<string, Tensor>>): Promise<Prepared> {
  const session = await ort.InferenceSession.create(bytes, ortSessionOptions(1));
  const feeds = Object.fromEntries(ortFeeds(inputs).map((f) => [f.name, new ort.Tensor(f.dtype, f.data, [...f.dims])]));
  return { call: () => session.run(feeds), dispose: () => void session.release() };
}

function ortFeeds(inputs: Readonly<Record<string, Tensor>>): OrtFeed[] {
  return Object.entries(inputs).map(([name, t]) => ({
    name,
    dtype: 'float32',
    data: t.toFloat32Array(),
    dims: [...t.shape],
  }));
}

async function ortThreadsRunner(bytes: Uint8Array, inputs: Readonly<Record<string, Tensor>>): Promise<Prepared> {
  const ort2 = await startOrtWebThreads(bytes, ortFeeds(inputs), 2);
  return { call: () => ort2.call(), sample: () => ort2.sample(SAMPLE_MS), dispose: () => ort2.dispose() };
}

/**
 * Runs one quantized model on every requested runtime, in one process, and returns the medians with
 * min–max. quint's runtimes run the model on its engine (the file's `quint.engine`, else ort):
 * kernels-js, and kernels-wasm (with kernels-js for the ops it has no kernel for) on 1 and 2 threads.
 * Run it under `node --no-liftoff` for steady-state wasm figures.
 *
 * @throws QuantError `USAGE` when the model is not quantized.
 * @example
 * const results = await runModelBench({ model: 'resnet18.int8.onnx', inputs: () => ({ x }), samples: 5 });
 * console.log(formatModelBenchTable(results));
 */
export async function runModelBench(opts: ModelBenchOptions): Promise<ModelBenchResult[]> {
  const js = await jsBackend();
  try {
    const probe = await loadModelArg(opts.model, { backend: js });
    if (probe.kind !== 'quantized')
      throw new QuantError(
        'USAGE',
        `${opts.model} is a float model; quantize it first (quint quantize), then bench the int8 file.`,
      );
    const inputs = opts.inputs(probe);
    const bytes = new Uint8Array(readFileSync(opts.model));
    const backends = opts.backends ?? MODEL_BENCH_BACKENDS;
    const samples = opts.samples ?? 9;
    const ort = backends.includes('ort-web-int8') ? await loadOrtWeb() : undefined;
    const prepare = async (backend: BenchBackend): Promise<Prepared> => {
      if (backend === 'kernels-js') return quintRunner(probe, inputs, () => {});
      if (backend === 'ort-web-int8') return ortRunner(ort!, bytes, inputs);
      if (backend === 'ort-web-int8-2t') return ortThreadsRunner(bytes, inputs);
      const be = await wasmBackend(probe.engine, backend === 'kernels-wasm-2t' ? 2 : 1);
      return quintRunner(await loadModel(bytes, { backend: be }), inputs, () => be.dispose());
    };
    const total = backends.length * (samples + 1);
    let done = 0;
    const cells = await measureCells(
      backends,
      samples,
      prepare,
      (backend, stepped) => {
        if (stepped) done++;
        opts.onProgress?.({ backend, done, total });
      },
      SLOW_MODEL_MS,
    );
    const model = basename(opts.model);
    return cells.map((c) => ({
      model,
      backend: c.backend as ModelBenchResult['backend'],
      ...timing(c.per),
      sampleMs: c.per,
    }));
  } finally {
    js.dispose();
  }
}

// Three significant digits (whole ms from 100 on): a small model's pass takes a few hundredths of a
// ms, which one decimal printed as 0.0.
function msText(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms.toPrecision(3);
}

/**
 * Formats model results: one row per runtime with ms per call (min–max), then how many times faster
 * than ONNX Runtime Web on 1 thread it ran, the 2-thread runtimes' speed-up over their 1-thread
 * runs, and kernels-wasm-2t's over ONNX Runtime Web on 2 threads (medians of same-round ratios, with
 * their quartiles).
 *
 * @example
 * formatModelBenchTable(await runModelBench({ model: 'm.int8.onnx', inputs: () => ({ x }) }));
 */
export function formatModelBenchTable(results: readonly ModelBenchResult[]): string {
  const of = (b: string): ModelBenchResult | undefined => results.find((r) => r.backend === b);
  // Each runtime's one-thread counterpart, for the 'vs 1 thread' column.
  const oneThread: Partial<Record<string, string>> = {
    'kernels-wasm-2t': 'kernels-wasm',
    'ort-web-int8-2t': 'ort-web-int8',
  };
  const head = [
    'runtime',
    'ms per call (min–max)',
    'vs ort-web-int8 (q25–q75)',
    'vs 1 thread (q25–q75)',
    'vs ort-web-int8-2t (q25–q75)',
  ];
  const rows = results.map((r) => [
    r.backend,
    `${msText(r.medianMs)} (${msText(r.minMs)}–${msText(r.maxMs)})`,
    r.backend === 'ort-web-int8' ? '1×' : r.backend === 'ort-web-int8-2t' ? '' : spreadSpeedup(r, of('ort-web-int8')),
    oneThread[r.backend] ? spreadSpeedup(r, of(oneThread[r.backend]!)) : '',
    r.backend === 'kernels-wasm-2t' ? spreadSpeedup(r, of('ort-web-int8-2t')) : '',
  ]);
  const title = `${results[0]?.model ?? 'model'}: one forward pass per call, median of samples (min–max); ratios: median of same-round ratios`;
  return [title, ...textTable(head, rows)].join('\n');
}
