// `ort-web-int8-2t`: ONNX Runtime Web's own 2-thread figure, measured beside kernels-wasm-2t. Its
// thread count belongs to a module instance and is fixed before its first session, and the bench's
// instance runs on 1 thread, so this one lives in a worker thread of its own: a second instance set
// to 2 threads (the worker's thread and one pthread of ORT's) runs the same model, and each sample
// is timed there, so no message crosses a timed call.
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { timeCalls } from './time-calls.js';

/** One input of the model, as onnxruntime-web's Tensor takes it. @internal */
export interface OrtFeed {
  readonly name: string;
  readonly dtype: 'uint8' | 'float32';
  readonly data: Uint8Array | Float32Array;
  readonly dims: readonly number[];
}

// The worker, as a string so it runs from src/ (tests) and dist/ alike. It loads onnxruntime-web
// through Node's own resolution from the bench's file, then answers one message at a time:
// 'call' (one run), 'sample' (a timed batch: ms per call) and 'outputs' (one run's output bytes).
const WORKER_SOURCE = `
const { workerData: d, parentPort } = require('node:worker_threads');
const { createRequire } = require('node:module');
const { pathToFileURL } = require('node:url');
const timeCalls = ${timeCalls.toString()};
(async () => {
  const ort = await import(pathToFileURL(createRequire(d.from).resolve('onnxruntime-web')).href);
  ort.env.wasm.numThreads = d.threads;
  ort.env.wasm.proxy = false;
  ort.env.logLevel = 'error';
  const session = await ort.InferenceSession.create(d.model, d.options);
  const feeds = Object.fromEntries(d.feeds.map((f) => [f.name, new ort.Tensor(f.dtype, f.data, f.dims)]));
  const run = () => session.run(feeds);
  parentPort.on('message', async (m) => {
    try {
      if (m.kind === 'sample') parentPort.postMessage({ ms: await timeCalls(run, m.ms) });
      else if (m.kind === 'outputs') {
        const out = await run();
        parentPort.postMessage({ outputs: session.outputNames.map((n) => out[n].data) });
      } else parentPort.postMessage({ ms: await timeCalls(run, 0) });
    } catch (e) {
      parentPort.postMessage({ error: String(e && e.message) });
    }
  });
  parentPort.postMessage({ ready: true });
})().catch((e) => parentPort.postMessage({ error: String(e && e.message) }));
`;

/**
 * The session options of every onnxruntime-web runtime the bench times: the wasm execution
 * provider, full graph optimization (which fuses QDQ into its int8 kernels), `threads` intra-op
 * threads and sequential execution. @internal
 */
export function ortSessionOptions(threads: number) {
  return {
    executionProviders: ['wasm'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
  } as const;
}

/** onnxruntime-web on `threads` threads in its own worker (see the file's head). @internal */
export interface OrtWebThreads {
  /** One run of the model. */
  call(): Promise<void>;
  /** A batch of runs lasting `ms` (at least one), timed in the worker: ms per call. */
  sample(ms: number): Promise<number>;
  /** One run's outputs, in the session's output order. */
  outputs(): Promise<(Uint8Array | Float32Array)[]>;
  dispose(): void;
}

/**
 * Starts onnxruntime-web with `threads` threads on `model` (ONNX bytes) and `feeds`, in a worker
 * thread; ready when the promise resolves.
 *
 * @throws when onnxruntime-web cannot load or refuses the model in the worker.
 */
export async function startOrtWebThreads(
  model: Uint8Array,
  feeds: readonly OrtFeed[],
  threads: number,
): Promise<OrtWebThreads> {
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    // Not the parent's options (a test runner's); V8 flags such as --no-liftoff still apply.
    execArgv: [],
    workerData: { from: fileURLToPath(import.meta.url), model, feeds, threads, options: ortSessionOptions(threads) },
  });
  worker.unref();
  // One request at a time: the bench awaits each before the next.
  let pending: { resolve: (m: Record<string, unknown>) => void; reject: (e: Error) => void } | undefined;
  const failed = (why: unknown): Error => new Error(`ort-web-int8-${threads}t: ${String(why)}`);
  worker.on('message', (m: Record<string, unknown>) => {
    const p = pending;
    pending = undefined;
    worker.unref();
    if (m.error !== undefined) p?.reject(failed(m.error));
    else p?.resolve(m);
  });
  worker.on('error', (e) => {
    pending?.reject(failed(e.message));
    pending = undefined;
    worker.unref();
  });
  worker.on('exit', (code) => {
    pending?.reject(failed(`the worker exited with code ${code}`));
    pending = undefined;
  });
  const ask = (msg: Record<string, unknown> | undefined): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      pending = { resolve, reject };
      // Unreferenced between requests (so it never holds the process open), referenced while one is
      // pending (so the process waits for its answer).
      worker.ref();
      if (msg) worker.postMessage(msg);
    });
  try {
    await ask(undefined);
  } catch (e) {
    void worker.terminate();
    throw e;
  }
  return {
    async call() {
      await ask({ kind: 'call' });
    },
    async sample(ms) {
      return (await ask({ kind: 'sample', ms })).ms as number;
    },
    async outputs() {
      return (await ask({ kind: 'outputs' })).outputs as (Uint8Array | Float32Array)[];
    },
    dispose() {
      // Its pthread workers end with it.
      void worker.terminate();
    },
  };
}
