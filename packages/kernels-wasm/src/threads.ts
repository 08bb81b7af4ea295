// Worker threads over one shared wasm memory (spec/toolchain-facts.md §4d: shared memory +
// worker_threads work in Node 20 without flags). Each worker instantiates the threads build on the
// same memory and blocks in Atomics.wait on a control block inside that memory. A call's work is a
// list of independent units (each a few kernel calls run in order); the calling thread posts them,
// wakes the workers and starts on them at once, and every lane claims the next unit when it
// finishes one. So a lane that wakes late or runs on a busier core simply takes fewer units. Units
// write disjoint outputs, and scratch arguments are rebased onto the running lane's own scratch, so
// results equal the single-thread ones whichever lane runs what.
//
// The caller waits only for units a worker has claimed, never for a worker to wake: a worker that
// slept in Atomics.wait can take milliseconds to run again under a hypervisor (measured here: a
// 0.5 ms conv called 10 ms after the last one took 6.4 ms when the caller waited for the worker).
// A worker woken late for a run that is over must then claim nothing of it, nor of a later run
// whose units are being written: claims carry the run's sequence number, and the caller closes
// claiming before it rewrites the units.
import { QuantError } from '@quint/tensor';
import { KERNEL_EXPORTS, type KernelExport, type KernelsAbi } from './abi.js';

/**
 * One kernel call: a raw export, its i32 arguments, and a bit mask of the arguments that are byte
 * offsets into the running lane's scratch (bit i: argument i).
 */
export type Call = readonly [KernelExport, readonly number[], number?];

/** Calls one lane runs in order; the units of one run are independent of each other. */
export type Unit = readonly Call[];

/** Runs units of kernel calls on lanes: lane 0 on the calling thread, the others on workers. */
export interface Runner {
  /** How many lanes can run at once (1 without threads). */
  readonly lanes: number;
  /**
   * Runs every unit on up to `lanes` lanes; `scratch[l]` is lane l's scratch address. `serial`, if
   * given, runs on the calling thread first, after the workers have been woken: JS work (such as
   * allocating the result) that then overlaps theirs. It is told how many lanes the run uses. The
   * first `barrier` units (default 0) all finish before any later unit starts: a call's two phases
   * (e.g. widening a conv's input, then the conv) share one run.
   */
  run(units: readonly Unit[], lanes: number, scratch: readonly number[], serial?: Serial, barrier?: number): void;
}

/** The calling thread's own work in a run (see {@link Runner.run}), given the run's lane count. */
export type Serial = (lanes: number) => void;

/** A started pool: a {@link Runner} plus `terminate()`. */
export interface ThreadPool extends Runner {
  terminate(): void;
}

// The arguments of a call rebased onto a lane's scratch, reused from call to call: calls run one at
// a time on this thread, and a new array per call was garbage on every threaded run.
const rebased: number[] = [];

function runCall(abi: KernelsAbi, call: Call, scratch: number): void {
  const args = call[1];
  const mask = call[2] ?? 0;
  if (mask === 0) {
    abi.call(call[0], args);
    return;
  }
  rebased.length = args.length;
  for (let i = 0; i < args.length; i++) rebased[i] = (mask >> i) & 1 ? args[i]! + scratch : args[i]!;
  abi.call(call[0], rebased);
}

/** The runner without workers: every unit on the calling thread, in order. */
export function inlineRunner(abi: KernelsAbi): Runner {
  return {
    lanes: 1,
    run(units, _lanes, scratch, serial) {
      serial?.(1);
      for (const unit of units) for (const call of unit) runCall(abi, call, scratch[0] ?? 0);
    },
  };
}

// How long the caller polls for the workers' last units before sleeping in Atomics.wait: waking a
// sleeping thread costs tens of µs (more under a hypervisor), and those units end within a piece
// of each other.
const SPIN_MS = 2;
// How long a worker polls for the next run before it sleeps. Polling lets it join a run at once,
// but it slowed the calling thread's own work meanwhile on this project's VM (relu6 between
// MobileNetV2's convs: 30 % slower while a worker polled for 2 ms, 5 % with no polling). A worker
// that sleeps only joins later (the caller never waits for it); 0.5 ms measured best of 0, 0.2,
// 0.5 and 2 ms (MobileNetV2 on 2 threads 4 % faster than with 2 ms, conv3x3_64_56 unchanged).
const WORKER_SPIN_MS = 0.5;
// Spins read the clock once per CLOCK_EVERY loads: Node 20's performance.now() allocates (its
// process.hrtime() array, ~100 bytes a call), and reading it on every load made garbage enough for
// one scavenge every 20 calls of conv3x3_64_56 on 2 threads (6 per 1000 on 1 thread); each
// scavenge stops a lane, and the worker's own spin filled its heap too.
const CLOCK_EVERY = 1024;
const MAX_ARGS = 13;
const CALL_INTS = 3 + MAX_ARGS;
const MAX_UNITS = 256;
const MAX_CALLS = 1024;
// A claim word is (sequence number << UNIT_BITS) | next unit; 0 means closed. Sequence numbers run
// over 1..SEQ_LIMIT, so a claim word stays a positive int32.
const UNIT_BITS = 9;
const SEQ_LIMIT = (1 << (31 - UNIT_BITS)) - 1;
const UNIT_MASK = (1 << UNIT_BITS) - 1;
// Control block (int32): [0] sequence number posted by the caller (−1: exit), [1] claim word,
// [2] unit count, [3] units finished, [4] barrier (units that finish before later ones start),
// then per worker its scratch address (−1: not in this run),
// then MAX_UNITS × (first call, call count), then MAX_CALLS × (export index, argc, scratch mask,
// args…).
const SEQ = 0;
const CLAIM = 1;
const UNITS = 2;
const DONE = 3;
const BARRIER = 4;
const HEADER = 5;

interface WorkerLike {
  postMessage(msg: unknown): void;
  terminate(): unknown;
}

const isNode =
  typeof process === 'object' && typeof process.versions === 'object' && typeof process.versions.node === 'string';

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
// alike. It binds exports by the index order of KERNEL_EXPORTS; `lane` is its worker index.
const WORKER_SOURCE = `
function start(d, ready) {
  const inst = new WebAssembly.Instance(d.module, { env: { memory: d.memory } });
  const fns = d.names.map((n) => inst.exports[n]);
  const base = d.ctrl >> 2;
  const mine = base + ${HEADER} + d.lane;
  const units = base + ${HEADER} + d.workers;
  const calls = units + 2 * ${MAX_UNITS};
  ready();
  // One arguments array for every call (no garbage per call, as on the calling thread).
  const args = [];
  let seen = 0;
  for (;;) {
    const view = new Int32Array(d.memory.buffer);
    let seq = Atomics.load(view, base + ${SEQ});
    for (let i = 1, until = performance.now() + ${WORKER_SPIN_MS}; seq === seen; i++) {
      if (i % ${CLOCK_EVERY} === 0 && performance.now() >= until) break;
      seq = Atomics.load(view, base + ${SEQ});
    }
    if (seq === seen) {
      Atomics.wait(view, base + ${SEQ}, seen);
      continue;
    }
    if (seq === -1) return;
    seen = seq;
    for (;;) {
      // What is read between loading the claim word and swapping it belongs to run seq: the caller
      // closes claiming before it rewrites any of it.
      const c = Atomics.load(view, base + ${CLAIM});
      if (c >>> ${UNIT_BITS} !== seq) break;
      const u = c & ${UNIT_MASK};
      const n = view[base + ${UNITS}];
      const scratch = view[mine];
      const barrier = view[base + ${BARRIER}];
      if (u >= n || scratch === -1) break;
      if (Atomics.compareExchange(view, base + ${CLAIM}, c, c + 1) !== c) continue;
      // Units are claimed in order, so the ones before the barrier are all running by now.
      if (u >= barrier) while (Atomics.load(view, base + ${DONE}) < barrier);
      const first = view[units + 2 * u];
      for (let k = first; k < first + view[units + 2 * u + 1]; k++) {
        const o = calls + k * ${CALL_INTS};
        const argc = view[o + 1];
        const mask = view[o + 2];
        args.length = argc;
        for (let i = 0; i < argc; i++) args[i] = view[o + 3 + i] + ((mask >> i) & 1 ? scratch : 0);
        fns[view[o]](...args);
      }
      if (Atomics.add(view, base + ${DONE}, 1) + 1 === n) Atomics.notify(view, base + ${DONE});
    }
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
 * Starts `threads − 1` workers on `abi`'s shared memory. Runs use up to `threads` lanes; lane 0 is
 * the calling thread.
 *
 * @throws `QuantError('BACKEND_INIT_FAILED')` when a worker cannot start.
 */
export async function createThreadPool(abi: KernelsAbi, threads: number): Promise<ThreadPool> {
  const workers = threads - 1;
  const ctrlBytes = (HEADER + workers + 2 * MAX_UNITS + MAX_CALLS * CALL_INTS) * 4;
  const ctrlPtr = abi.heap.alloc(ctrlBytes, 'thread control block');
  abi.heap.u8().fill(0, ctrlPtr, ctrlPtr + ctrlBytes);
  const names = [...KERNEL_EXPORTS];
  const index = new Map<string, number>(names.map((n, i) => [n, i]));
  let started: WorkerLike[] = [];
  try {
    started = await Promise.all(
      Array.from({ length: workers }, (_, lane) =>
        spawn({ module: abi.module, memory: abi.heap.memory, ctrl: ctrlPtr, lane, workers, names }),
      ),
    );
  } catch (cause) {
    throw new QuantError(
      'BACKEND_INIT_FAILED',
      `createWasmBackend: starting ${workers} worker thread(s) failed (${(cause as Error).message}); pass threads: 1, or use createJsBackend() from @quint/kernels-js.`,
      { cause },
    );
  }
  const base = ctrlPtr >> 2;
  const unitsAt = base + HEADER + workers;
  const callsAt = unitsAt + 2 * MAX_UNITS;
  let seq = 0;
  let alive = true;
  const inline = inlineRunner(abi);
  // Posts units that fit the control block, works on them with up to `helpers` workers and waits
  // until every unit is finished.
  const post = (
    units: readonly Unit[],
    helpers: number,
    scratch: readonly number[],
    serial: Serial | undefined,
    barrier: number,
  ): void => {
    seq = (seq % SEQ_LIMIT) + 1;
    const view = new Int32Array(abi.heap.memory.buffer);
    Atomics.store(view, base + CLAIM, 0);
    // Indexed loops, not destructuring: this runs on every threaded call, and iterators are garbage.
    let c = 0;
    for (let u = 0; u < units.length; u++) {
      const unit = units[u]!;
      view[unitsAt + 2 * u] = c;
      view[unitsAt + 2 * u + 1] = unit.length;
      for (let k = 0; k < unit.length; k++, c++) {
        const call = unit[k]!;
        const args = call[1];
        const o = callsAt + c * CALL_INTS;
        view[o] = index.get(call[0])!;
        view[o + 1] = args.length;
        view[o + 2] = call[2] ?? 0;
        for (let i = 0; i < args.length; i++) view[o + 3 + i] = args[i]!;
      }
    }
    for (let w = 0; w < workers; w++) view[base + HEADER + w] = w < helpers ? (scratch[w + 1] ?? 0) : -1;
    view[base + UNITS] = units.length;
    view[base + DONE] = 0;
    view[base + BARRIER] = barrier;
    Atomics.store(view, base + CLAIM, seq << UNIT_BITS);
    Atomics.store(view, base + SEQ, seq);
    Atomics.notify(view, base + SEQ);
    serial?.(helpers + 1);
    // The caller's claims need no swap: the claim word is this run's until the caller closes it.
    // The caller counts its finished units in `mine` and adds them to DONE at the barrier and at
    // the end, so a lane waiting at the barrier never waits for a count the caller still holds.
    let mine = 0;
    let passed = barrier === 0;
    for (
      let u = Atomics.add(view, base + CLAIM, 1) & UNIT_MASK;
      u < units.length;
      u = Atomics.add(view, base + CLAIM, 1) & UNIT_MASK
    ) {
      if (!passed && u >= barrier) {
        Atomics.add(view, base + DONE, mine);
        mine = 0;
        passed = true;
        while (Atomics.load(view, base + DONE) < barrier);
      }
      for (const call of units[u]!) runCall(abi, call, scratch[0] ?? 0);
      mine++;
    }
    let done = Atomics.add(view, base + DONE, mine) + mine;
    for (let i = 1, until = performance.now() + SPIN_MS; done < units.length; i++) {
      if (i % CLOCK_EVERY === 0 && performance.now() >= until) break;
      done = Atomics.load(view, base + DONE);
    }
    while (done < units.length) {
      Atomics.wait(view, base + DONE, done);
      done = Atomics.load(view, base + DONE);
    }
  };
  return {
    lanes: threads,
    run(units, lanes, scratch, serial, barrier = 0) {
      if (!alive)
        throw new QuantError('INVALID_ARGUMENT', 'kernels-wasm: the thread pool was disposed; create a new backend.');
      if (lanes <= 1 || units.length <= 1) {
        inline.run(units, 1, scratch, serial);
        return;
      }
      // Most runs fit the control block whole and are posted as they are.
      let total = 0;
      for (let u = 0; u < units.length; u++) total += units[u]!.length;
      if (units.length <= MAX_UNITS && total <= MAX_CALLS) {
        post(units, Math.min(lanes, threads) - 1, scratch, serial, barrier);
        return;
      }
      // A unit with more calls than the control block holds (a linear of > 500 000 rows and few
      // MACs) runs here, out of order, so a run with a barrier then runs here whole. The others go
      // in batches that fit, one after another.
      const fits = units.filter((unit) => unit.length <= MAX_CALLS);
      if (fits.length < units.length) {
        if (barrier > 0) {
          inline.run(units, 1, scratch, serial);
          return;
        }
        inline.run(
          units.filter((unit) => unit.length > MAX_CALLS),
          1,
          scratch,
          serial,
        );
      }
      for (let u = 0; u < fits.length;) {
        let calls = 0;
        let end = u;
        while (end < fits.length && end - u < MAX_UNITS && calls + fits[end]!.length <= MAX_CALLS)
          calls += fits[end++]!.length;
        const first = u === 0 && fits.length === units.length ? serial : undefined;
        post(
          fits.slice(u, end),
          Math.min(lanes, threads) - 1,
          scratch,
          first,
          Math.min(Math.max(barrier - u, 0), end - u),
        );
        u = end;
      }
    },
    terminate() {
      if (!alive) return;
      alive = false;
      const view = new Int32Array(abi.heap.memory.buffer);
      Atomics.store(view, base + SEQ, -1);
      Atomics.notify(view, base + SEQ);
      for (const w of started) void w.terminate();
    },
  };
}
