// Worker threads over one shared wasm memory (spec/toolchain-facts.md §4d: shared memory +
// worker_threads work in Node 20 without flags). Each worker instantiates the threads build on the
// same memory and blocks in Atomics.wait on its slot of a control block inside that memory; the
// calling thread posts a lane of kernel calls, runs lane 0 itself and waits for the others. Lanes
// write disjoint output ranges and use their own scratch, so results equal the single-thread ones.
import { QuantError } from '@quint/tensor';
import { KERNEL_EXPORTS, type KernelsAbi } from './abi.js';
import type { Runner, Task } from './gemm-ops.js';

const MAX_TASKS = 256;
const MAX_ARGS = 13;
const TASK_INTS = 2 + MAX_ARGS;
// Slot layout (int32): [0] sequence number posted by the caller (−1: exit), [1] sequence number the
// worker finished, [2] task count, then MAX_TASKS × (export index, argc, args…).
const SLOT_INTS = 4 + MAX_TASKS * TASK_INTS;

/** A started pool: a {@link Runner} plus `terminate()`. */
export interface ThreadPool extends Runner {
  terminate(): void;
}

interface WorkerLike {
  postMessage(msg: unknown): void;
  terminate(): unknown;
}

const isNode = typeof process === 'object' && typeof process.versions === 'object' && typeof process.versions.node === 'string';

/**
 * True when worker threads can share wasm memory here and the calling thread may block in
 * `Atomics.wait`: Node, or a cross-origin-isolated browser worker.
 */
export function threadsAvailable(): boolean {
  if (typeof SharedArrayBuffer === 'undefined' || typeof Atomics === 'undefined') return false;
  if (isNode) return true;
  const g = globalThis as { crossOriginIsolated?: boolean; WorkerGlobalScope?: unknown; document?: unknown };
  return g.crossOriginIsolated === true && g.WorkerGlobalScope !== undefined && g.document === undefined;
}

// The worker's whole program, as a string so it runs from src/ (tests), dist/ and a browser Blob
// alike. It binds exports by the index order of KERNEL_EXPORTS.
const WORKER_SOURCE = `
function start(d, ready) {
  const inst = new WebAssembly.Instance(d.module, { env: { memory: d.memory } });
  const fns = d.names.map((n) => inst.exports[n]);
  const base = d.slot >> 2;
  ready();
  let seen = 0;
  for (;;) {
    const ctrl = new Int32Array(d.memory.buffer);
    Atomics.wait(ctrl, base, seen);
    const seq = Atomics.load(ctrl, base);
    if (seq === -1) return;
    if (seq === seen) continue;
    seen = seq;
    const view = new Int32Array(d.memory.buffer);
    const n = view[base + 2];
    for (let t = 0; t < n; t++) {
      const o = base + 4 + t * ${TASK_INTS};
      const argc = view[o + 1];
      const args = [];
      for (let i = 0; i < argc; i++) args.push(view[o + 2 + i]);
      fns[view[o]](...args);
    }
    Atomics.store(view, base + 1, seq);
    Atomics.notify(view, base + 1);
  }
}
if (typeof require === 'function') {
  const { parentPort, workerData } = require('node:worker_threads');
  start(workerData, () => parentPort.postMessage('ready'));
} else {
  self.onmessage = (e) => start(e.data, () => self.postMessage('ready'));
}
`;

async function spawn(data: Record<string, unknown>): Promise<WorkerLike> {
  if (isNode) {
    const name = 'node:worker_threads';
    const { Worker } = (await import(/* @vite-ignore */ name)) as typeof import('node:worker_threads');
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData: data });
    w.unref();
    await new Promise<void>((resolve, reject) => {
      w.once('message', () => resolve());
      w.once('error', reject);
    });
    return w;
  }
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' }));
  const w = new Worker(url);
  await new Promise<void>((resolve, reject) => {
    w.onmessage = () => resolve();
    w.onerror = (e) => reject(new Error(e.message));
    w.postMessage(data);
  });
  URL.revokeObjectURL(url);
  return w;
}

/**
 * Starts `threads − 1` workers on `abi`'s shared memory. Kernel calls are split into `threads`
 * lanes; lane 0 runs on the calling thread.
 *
 * @throws `QuantError('BACKEND_INIT_FAILED')` when a worker cannot start.
 */
export async function createThreadPool(abi: KernelsAbi, threads: number): Promise<ThreadPool> {
  const workers = threads - 1;
  const ctrlPtr = abi.heap.alloc(workers * SLOT_INTS * 4, 'thread control block');
  abi.heap.u8().fill(0, ctrlPtr, ctrlPtr + workers * SLOT_INTS * 4);
  const names = [...KERNEL_EXPORTS];
  const index = new Map<string, number>(names.map((n, i) => [n, i]));
  let started: WorkerLike[] = [];
  try {
    started = await Promise.all(
      Array.from({ length: workers }, (_, i) =>
        spawn({ module: abi.module, memory: abi.heap.memory, slot: ctrlPtr + i * SLOT_INTS * 4, names }),
      ),
    );
  } catch (cause) {
    throw new QuantError(
      'BACKEND_INIT_FAILED',
      `createWasmBackend: starting ${workers} worker thread(s) failed (${(cause as Error).message}); pass threads: 1, or use createJsBackend() from @quint/kernels-js.`,
      { cause },
    );
  }
  let seq = 0;
  let alive = true;
  return {
    lanes: threads,
    run(lanes: readonly (readonly Task[])[]) {
      if (!alive) throw new QuantError('INVALID_ARGUMENT', 'kernels-wasm: the thread pool was disposed; create a new backend.');
      seq = (seq + 1) & 0x3fffffff;
      if (seq === 0) seq = 1;
      const view = new Int32Array(abi.heap.memory.buffer);
      const posted: number[] = [];
      for (let l = 1; l < lanes.length; l++) {
        const tasks = lanes[l]!;
        if (tasks.length === 0) continue;
        if (tasks.length > MAX_TASKS) {
          // More calls than a slot holds (huge batches): run this lane here instead.
          for (const [name, args] of tasks) abi.call(name, args);
          continue;
        }
        const base = (ctrlPtr >> 2) + (l - 1) * SLOT_INTS;
        view[base + 2] = tasks.length;
        tasks.forEach(([name, args], t) => {
          const o = base + 4 + t * TASK_INTS;
          view[o] = index.get(name)!;
          view[o + 1] = args.length;
          for (let i = 0; i < args.length; i++) view[o + 2 + i] = args[i]!;
        });
        Atomics.store(view, base, seq);
        Atomics.notify(view, base);
        posted.push(base);
      }
      for (const [name, args] of lanes[0] ?? []) abi.call(name, args);
      for (const base of posted) {
        for (;;) {
          const done = Atomics.load(view, base + 1);
          if (done === seq) break;
          Atomics.wait(view, base + 1, done);
        }
      }
    },
    terminate() {
      if (!alive) return;
      alive = false;
      const view = new Int32Array(abi.heap.memory.buffer);
      for (let i = 0; i < workers; i++) {
        const base = (ctrlPtr >> 2) + i * SLOT_INTS;
        Atomics.store(view, base, -1);
        Atomics.notify(view, base);
      }
      for (const w of started) void w.terminate();
    },
  };
}
