// `kernels-wasm-2x1t`: what two lanes of this machine can do at one moment, measured beside
// kernels-wasm-2t. The same single-thread op runs on the calling thread and, at the same time, on a
// worker thread with its own backend and its own copy of the operands (nothing shared, no
// synchronization inside a sample). On a shared VM the second vCPU's speed moves from minute to
// minute (measured on one day: two single-thread processes pinned to the two vCPUs gave 1.0× to
// 1.7× of one, this measure 2.0×), and a 2-thread kernel cannot beat what the two lanes give, so
// the table prints both ratios.
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { SAMPLE_MS, timeCalls } from './time-calls.js';

/** What the worker rebuilds: the operands of one bench shape, as {@link intRunner} uses them. @internal */
export interface LaneOp {
  readonly kind: 'mm' | 'conv';
  readonly xq: Uint8Array;
  readonly xShape: readonly number[];
  readonly xScale: number;
  readonly xZeroPoint: number;
  readonly wq: Int8Array;
  readonly wShape: readonly number[];
  readonly wScale: number;
  readonly out: { readonly scale: number; readonly zeroPoint: number };
  readonly conv: { readonly padding: number; readonly groups: number };
}

// Control words (int32): [0] the armed sample's number (−1: exit), [1] the sample told to start,
// [2] the sample the worker finished. Result (float64): the worker's ms per call.
const ARM = 0;
const GO = 1;
const DONE = 2;
// Time for a worker asleep in Atomics.wait to run again before the batch starts (it can take
// milliseconds under a hypervisor); meanwhile it polls for the start word.
const WAKE_MS = 5;

// The worker, as a string so it runs from src/ (tests) and dist/ alike. It loads the packages'
// built dist/ through Node's own resolution from the bench's file (the workspace links), as the CLI
// does, warms up for 300 ms, then runs one batch per armed sample.
const WORKER_SOURCE = `
const { workerData: d, parentPort } = require('node:worker_threads');
const { createRequire } = require('node:module');
const { pathToFileURL } = require('node:url');
const timeCalls = ${timeCalls.toString()};
const load = (m) => import(pathToFileURL(createRequire(d.from).resolve(m)).href);
(async () => {
  const [{ createWasmBackend }, { QTensor }] = await Promise.all([load('@quint/kernels-wasm'), load('@quint/qtensor')]);
  const be = createWasmBackend({ threads: 1 });
  await be.init();
  const o = d.op;
  const x = new QTensor(o.xq, o.xShape, 'quint8', { qscheme: 'per_tensor_affine', scale: o.xScale, zeroPoint: o.xZeroPoint });
  const w = new QTensor(o.wq, o.wShape, 'qint8', { qscheme: 'per_tensor_symmetric', scale: o.wScale, zeroPoint: 0 });
  const call = o.kind === 'mm'
    ? ((p) => () => be.kernels.linear(x, p, o.out))(be.prepackLinear(w, null))
    : ((p) => () => be.kernels.conv2d(x, p, o.out))(be.prepackConv2d(w, null, o.conv));
  for (let t0 = performance.now(); performance.now() - t0 < 300;) call();
  const ctrl = new Int32Array(d.ctrl);
  const res = new Float64Array(d.res);
  parentPort.postMessage('ready');
  for (let seen = 0;;) {
    Atomics.wait(ctrl, ${ARM}, seen);
    const seq = Atomics.load(ctrl, ${ARM});
    if (seq < 0) return;
    seen = seq;
    while (Atomics.load(ctrl, ${GO}) !== seq);
    res[0] = await timeCalls(call, ${SAMPLE_MS});
    Atomics.store(ctrl, ${DONE}, seq);
    Atomics.notify(ctrl, ${DONE});
  }
})().catch((e) => parentPort.postMessage({ error: String(e && e.message) }));
`;

/** Two independent single-thread lanes of one op: {@link TwoLanes.sample} times a batch on both. @internal */
export interface TwoLanes {
  /**
   * Runs `call` (the same op on this thread's own backend) for 60 ms while the worker does the
   * same, and returns ms per call of the two lanes' throughput together.
   */
  sample(call: () => unknown): Promise<number>;
  dispose(): void;
}

/**
 * Starts the worker lane for `op`: it is ready, warmed up, when the promise resolves.
 *
 * @throws when the worker cannot load the built packages (run the build first).
 */
export async function startTwoLanes(op: LaneOp): Promise<TwoLanes> {
  const ctrl = new Int32Array(new SharedArrayBuffer(3 * 4));
  const res = new Float64Array(new SharedArrayBuffer(8));
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    // Not the parent's options: a test runner's export conditions would resolve the packages to
    // their TypeScript sources. (V8 flags such as --no-liftoff are the process's, and still apply.)
    execArgv: [],
    workerData: { from: fileURLToPath(import.meta.url), op, ctrl: ctrl.buffer, res: res.buffer },
  });
  worker.unref();
  await new Promise<void>((resolve, reject) => {
    worker.once('message', (m: unknown) =>
      m === 'ready' ? resolve() : reject(new Error(`kernels-wasm-2x1t: ${(m as { error: string }).error}`)),
    );
    worker.once('error', reject);
  });
  let seq = 0;
  return {
    async sample(call) {
      seq++;
      Atomics.store(ctrl, ARM, seq);
      Atomics.notify(ctrl, ARM);
      await new Promise((resolve) => setTimeout(resolve, WAKE_MS));
      Atomics.store(ctrl, GO, seq);
      const mine = await timeCalls(call, SAMPLE_MS);
      // The worker's batch ends within a call of this one's; a worker gone (an error) must not hang.
      for (const until = performance.now() + 10_000; Atomics.load(ctrl, DONE) !== seq;) {
        if (performance.now() > until) throw new Error('kernels-wasm-2x1t: the worker lane stopped answering');
        Atomics.wait(ctrl, DONE, Atomics.load(ctrl, DONE), 100);
      }
      return 1 / (1 / mine + 1 / res[0]!);
    },
    dispose() {
      Atomics.store(ctrl, ARM, -1);
      Atomics.notify(ctrl, ARM);
      void worker.terminate();
    },
  };
}
