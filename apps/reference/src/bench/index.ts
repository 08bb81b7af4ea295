// `quint bench`: int8 kernels (ours) vs ONNX Runtime Web (int8 QOperator and fp32) and the float
// reference, on the shapes of spec/performance-anchors.md, all in one run. Steady state: the CLI
// runs this under `node --no-liftoff` (wasm compiled straight to TurboFan, no tier-up while timing),
// each runtime is warmed up, then the median of several samples is reported with min–max.
import { createJsBackend } from '@quint/kernels-js';
import { createWasmBackend } from '@quint/kernels-wasm';
import { QTensor, type PackedConv2d, type PackedLinear, type QuantizedBackend } from '@quint/qtensor';
import { Tensor, conv2d as floatConv2d, linear as floatLinear } from '@quint/tensor';
import {
  encodeSingleOpModel,
  ONNX_DTYPE,
  qparamInitializers,
  type Initializer,
  type SingleOpModel,
} from './onnx-models.js';
import { ortSessionOptions, startOrtWebThreads } from './ort-threads.js';
import { SAMPLE_MS, timeCalls } from './time-calls.js';
import { startTwoLanes, type LaneOp } from './two-lanes.js';

/** The benchmark shapes (spec/performance-anchors.md): three GEMMs and three convs. */
export const BENCH_SHAPES = [
  'mm_1x1024x1024',
  'mm_64x1024x1024',
  'mm_256x256x256',
  'conv3x3_64_56',
  'conv1x1_256to64_28',
  'dw3x3_128_56',
] as const;

/** One benchmark shape. */
export type BenchShape = (typeof BENCH_SHAPES)[number];

/** The runtimes compared, in table order. */
export const BENCH_BACKENDS = [
  'kernels-js',
  'kernels-wasm',
  'kernels-wasm-2t',
  'kernels-wasm-2x1t',
  'float32',
  'ort-web-int8',
  'ort-web-int8-2t',
  'ort-web-fp32',
] as const;

/** One runtime. */
export type BenchBackend = (typeof BENCH_BACKENDS)[number];

/** One measured cell: a runtime on a shape. */
export interface BenchResult {
  readonly shape: BenchShape;
  readonly backend: BenchBackend;
  /** Multiply-accumulates per second of the median sample, in billions. */
  readonly gmacPerS: number;
  /** Milliseconds per call: the median sample, the fastest and the slowest. */
  readonly medianMs: number;
  readonly minMs: number;
  readonly maxMs: number;
  /** How many samples were taken. */
  readonly samples: number;
  /** Each sample's milliseconds per call, in round order (sample r was taken in round r). */
  readonly sampleMs: readonly number[];
}

/** Options of {@link runBench}. */
export interface BenchOptions {
  /** Default: every shape of {@link BENCH_SHAPES}. */
  readonly shapes?: readonly BenchShape[];
  /** Samples per fast runtime (default 9); kernels-js and float32 take at most 3 on big shapes. */
  readonly samples?: number;
  /** Default: every runtime of {@link BENCH_BACKENDS}. */
  readonly backends?: readonly BenchBackend[];
  /** Called before each cell is measured and after it. */
  readonly onProgress?: (event: {
    readonly shape: BenchShape;
    readonly backend: BenchBackend;
    readonly done: number;
    readonly total: number;
  }) => void;
}

/** The bench document (`out/bench.json`, `quint bench --json`). */
export interface BenchReport {
  readonly results: BenchResult[];
}

interface ShapeDef {
  readonly kind: 'mm' | 'conv';
  readonly macs: number;
  // mm: x [m, k] · Wᵀ, W [n, k]
  readonly m?: number;
  readonly k?: number;
  readonly n?: number;
  // conv: x [1, c, h, w], W [oc, c / groups, kh, kw]
  readonly c?: number;
  readonly hw?: number;
  readonly oc?: number;
  readonly ks?: number;
  readonly groups?: number;
}

function shapeDef(s: BenchShape): ShapeDef {
  switch (s) {
    case 'mm_1x1024x1024':
      return { kind: 'mm', m: 1, k: 1024, n: 1024, macs: 1024 * 1024 };
    case 'mm_64x1024x1024':
      return { kind: 'mm', m: 64, k: 1024, n: 1024, macs: 64 * 1024 * 1024 };
    case 'mm_256x256x256':
      return { kind: 'mm', m: 256, k: 256, n: 256, macs: 256 ** 3 };
    case 'conv3x3_64_56':
      return { kind: 'conv', c: 64, hw: 56, oc: 64, ks: 3, groups: 1, macs: 64 * 64 * 9 * 56 * 56 };
    case 'conv1x1_256to64_28':
      return { kind: 'conv', c: 256, hw: 28, oc: 64, ks: 1, groups: 1, macs: 256 * 64 * 28 * 28 };
    case 'dw3x3_128_56':
      return { kind: 'conv', c: 128, hw: 56, oc: 128, ks: 3, groups: 128, macs: 128 * 9 * 56 * 56 };
  }
}

// Seeded data (mulberry32), so every runtime sees the same operands in every run.
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The operands of one shape, as codes and as floats (x = s·(q − zp)). */
interface Operands {
  readonly def: ShapeDef;
  readonly xShape: number[];
  readonly wShape: number[];
  readonly yShape: number[];
  readonly xq: Uint8Array;
  readonly wq: Int8Array;
  readonly xs: number;
  readonly ws: number;
  readonly ys: number;
  readonly xf: Float32Array;
  readonly wf: Float32Array;
}

const X_ZP = 128;
const Y_ZP = 128;

function operands(shape: BenchShape): Operands {
  const def = shapeDef(shape);
  const r = rng(42);
  let xShape: number[];
  let wShape: number[];
  let yShape: number[];
  let k: number;
  if (def.kind === 'mm') {
    xShape = [def.m!, def.k!];
    wShape = [def.n!, def.k!];
    yShape = [def.m!, def.n!];
    k = def.k!;
  } else {
    const icg = def.c! / def.groups!;
    xShape = [1, def.c!, def.hw!, def.hw!];
    wShape = [def.oc!, icg, def.ks!, def.ks!];
    yShape = [1, def.oc!, def.hw!, def.hw!];
    k = icg * def.ks! * def.ks!;
  }
  const xn = xShape.reduce((a, b) => a * b, 1);
  const wn = wShape.reduce((a, b) => a * b, 1);
  const xq = new Uint8Array(xn);
  for (let i = 0; i < xn; i++) xq[i] = Math.floor(r() * 256);
  const wq = new Int8Array(wn);
  for (let i = 0; i < wn; i++) wq[i] = Math.floor(r() * 255) - 127;
  const xs = 0.02;
  const ws = 0.01;
  // Output scale ≈ the accumulator's spread, so codes use the whole range rather than saturating.
  const ys = Math.fround((xs * ws * Math.sqrt(k) * 74 * 2) / 64);
  const xf = new Float32Array(xn);
  for (let i = 0; i < xn; i++) xf[i] = Math.fround(xs * (xq[i]! - X_ZP));
  const wf = new Float32Array(wn);
  for (let i = 0; i < wn; i++) wf[i] = Math.fround(ws * wq[i]!);
  return { def, xShape, wShape, yShape, xq, wq, xs, ws, ys, xf, wf };
}

/** A runtime ready to be called on one subject. @internal */
export interface Prepared {
  readonly call: () => unknown;
  readonly dispose: () => void;
  /** Takes one sample itself (ms per call), instead of timing a batch of `call`s. */
  readonly sample?: () => Promise<number>;
}

/** The int8 operands of a shape as the quantized kernels take them (also sent to the 2×1t worker). */
function laneOp(o: Operands): LaneOp {
  return {
    kind: o.def.kind,
    xq: o.xq,
    xShape: o.xShape,
    xScale: o.xs,
    xZeroPoint: X_ZP,
    wq: o.wq,
    wShape: o.wShape,
    wScale: o.ws,
    out: { scale: o.ys, zeroPoint: Y_ZP },
    conv: { padding: o.def.kind === 'conv' ? (o.def.ks! - 1) / 2 : 0, groups: o.def.groups ?? 1 },
  };
}

function intRunner(backend: QuantizedBackend, op: LaneOp): Prepared {
  const qparams = { qscheme: 'per_tensor_affine', scale: op.xScale, zeroPoint: op.xZeroPoint } as const;
  const x = new QTensor(op.xq, [...op.xShape], 'quint8', qparams);
  const w = new QTensor(op.wq, [...op.wShape], 'qint8', {
    qscheme: 'per_tensor_symmetric',
    scale: op.wScale,
    zeroPoint: 0,
  });
  if (op.kind === 'mm') {
    const pw: PackedLinear = backend.prepackLinear(w, null);
    return { call: () => backend.kernels.linear(x, pw, op.out), dispose: () => backend.dispose() };
  }
  const pc: PackedConv2d = backend.prepackConv2d(w, null, op.conv);
  return { call: () => backend.kernels.conv2d(x, pc, op.out), dispose: () => backend.dispose() };
}

function floatRunner(o: Operands): Prepared {
  const x = new Tensor(o.xf, o.xShape);
  const w = new Tensor(o.wf, o.wShape);
  if (o.def.kind === 'mm') return { call: () => floatLinear(x, w, null), dispose: () => {} };
  const opts = { padding: (o.def.ks! - 1) / 2, groups: o.def.groups! };
  return { call: () => floatConv2d(x, w, null, opts), dispose: () => {} };
}

// ORT's MatMul takes B as [K, N]; our weights are [N, K].
function transposeNK<T extends Int8Array | Float32Array>(w: T, n: number, k: number): T {
  const out = new (w.constructor as new (len: number) => T)(w.length);
  for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) out[j * n + i] = w[i * k + j]!;
  return out;
}

function ortModel(o: Operands, int8: boolean): SingleOpModel {
  const d = o.def;
  const inDtype = int8 ? ONNX_DTYPE.uint8 : ONNX_DTYPE.float;
  const input = { name: 'x', dtype: inDtype, dims: o.xShape };
  const output = { name: 'y', dtype: inDtype, dims: o.yShape };
  let weight: Initializer;
  if (d.kind === 'mm') {
    const data = int8 ? transposeNK(o.wq, d.n!, d.k!) : transposeNK(o.wf, d.n!, d.k!);
    weight = { name: 'w', dtype: int8 ? ONNX_DTYPE.int8 : ONNX_DTYPE.float, dims: [d.k!, d.n!], data };
  } else {
    weight = { name: 'w', dtype: int8 ? ONNX_DTYPE.int8 : ONNX_DTYPE.float, dims: o.wShape, data: int8 ? o.wq : o.wf };
  }
  const convAttrs =
    d.kind === 'conv'
      ? [
          { name: 'kernel_shape', ints: [d.ks!, d.ks!] },
          { name: 'pads', ints: [(d.ks! - 1) / 2, (d.ks! - 1) / 2, (d.ks! - 1) / 2, (d.ks! - 1) / 2] },
          { name: 'strides', ints: [1, 1] },
          { name: 'group', i: d.groups! },
        ]
      : [];
  if (!int8) {
    return {
      opType: d.kind === 'mm' ? 'MatMul' : 'Conv',
      inputs: ['x', 'w'],
      attributes: convAttrs,
      initializers: [weight],
      input,
      output,
    };
  }
  const initializers = [
    ...qparamInitializers('x', o.xs, X_ZP, 'uint8'),
    weight,
    ...qparamInitializers('w', o.ws, 0, 'int8'),
    ...qparamInitializers('y', o.ys, Y_ZP, 'uint8'),
  ];
  const inputs = ['x', 'x_scale', 'x_zero_point', 'w', 'w_scale', 'w_zero_point', 'y_scale', 'y_zero_point'];
  return {
    opType: d.kind === 'mm' ? 'QLinearMatMul' : 'QLinearConv',
    inputs,
    attributes: convAttrs,
    initializers,
    input,
    output,
  };
}

/** The onnxruntime-web module. @internal */
export type Ort = typeof import('onnxruntime-web');

async function ortRunner(
  ort: Ort,
  o: Operands,
  int8: boolean,
): Promise<{ call: () => Promise<unknown>; dispose: () => void }> {
  const bytes = encodeSingleOpModel(ortModel(o, int8));
  const session = await ort.InferenceSession.create(bytes, ortSessionOptions(1));
  const x = int8 ? new ort.Tensor('uint8', o.xq, o.xShape) : new ort.Tensor('float32', o.xf, o.xShape);
  const feeds = { x };
  return { call: () => session.run(feeds), dispose: () => void session.release() };
}

/** A runtime's times per call, in ms. @internal */
export interface Timing {
  medianMs: number;
  minMs: number;
  maxMs: number;
  samples: number;
}

const now = (): number => performance.now();

/** One runtime on one shape while it is being measured. */
interface Cell {
  readonly backend: BenchBackend;
  readonly prepared: Prepared;
  /** At least the slow threshold per call: one call per sample, at most 3 samples. */
  slow: boolean;
  readonly per: number[];
}

/** Per call, what makes a kernel runtime slow (kernels-js, float32 on big shapes). */
const SLOW_KERNEL_MS = 60;

// Warm-up ≥ 300 ms and ≥ 3 calls (the anchors' harness). The first call includes one-time work
// (ORT's session warm-up, lazy compilation); the second tells whether the runtime is slow, and
// slow runtimes (≥ slowMs per call) get no more warm-up.
async function warmUp(cell: Cell, slowMs: number): Promise<void> {
  const call = cell.prepared.call;
  await call();
  let t0 = now();
  await call();
  cell.slow = now() - t0 >= slowMs;
  if (cell.slow) return;
  let calls = 2;
  t0 = now();
  while (calls < 3 || now() - t0 < 300) {
    await call();
    calls++;
  }
}

// Idle time before each sample, so that background work the previous runtime left (V8's
// concurrent GC tasks, the kernel's) is done before the next one starts: on a 2-core machine it
// would take a core from a 2-thread runtime. Measured on mm_64x1024x1024 and conv3x3_64_56, two
// runs each: 2t/1t 1.64/1.36 and 0.98/1.68 without it, 1.92/1.81 and 1.91/1.77 with 30 ms.
const SETTLE_MS = 30;

// One sample: a batch of calls lasting ≥ SAMPLE_MS (one call for a slow runtime, or a call that
// long), in ms per call.
async function sample(cell: Cell): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  if (cell.prepared.sample) {
    cell.per.push(await cell.prepared.sample());
    return;
  }
  cell.per.push(await timeCalls(cell.prepared.call, cell.slow ? 0 : SAMPLE_MS));
}

// The q-quantile of ascending values, interpolated between neighbours (q = 0.5: the median).
function quantile(sorted: readonly number[], q: number): number {
  const at = q * (sorted.length - 1);
  const lo = Math.floor(at);
  return sorted[lo]! + (sorted[Math.min(lo + 1, sorted.length - 1)]! - sorted[lo]!) * (at - lo);
}

const median = (sorted: readonly number[]): number => quantile(sorted, 0.5);

const ascending = (values: readonly number[]): number[] => [...values].sort((a, b) => a - b);

/** Median, fastest and slowest of sample times, and their count. @internal */
export function timing(per: readonly number[]): Timing {
  const sorted = ascending(per);
  return { medianMs: median(sorted), minMs: sorted[0]!, maxMs: sorted[sorted.length - 1]!, samples: sorted.length };
}

async function prepare(backend: BenchBackend, o: Operands, ort: Ort | undefined): Promise<Prepared> {
  switch (backend) {
    case 'kernels-js': {
      const be = createJsBackend();
      await be.init();
      return intRunner(be, laneOp(o));
    }
    case 'kernels-wasm':
    case 'kernels-wasm-2t': {
      const be = createWasmBackend({ threads: backend === 'kernels-wasm' ? 1 : 2 });
      await be.init();
      return intRunner(be, laneOp(o));
    }
    case 'kernels-wasm-2x1t': {
      const be = createWasmBackend({ threads: 1 });
      await be.init();
      const here = intRunner(be, laneOp(o));
      const lanes = await startTwoLanes(laneOp(o)).catch((e: unknown) => {
        here.dispose();
        throw e;
      });
      return {
        call: here.call,
        sample: () => lanes.sample(here.call),
        dispose: () => {
          lanes.dispose();
          here.dispose();
        },
      };
    }
    case 'float32':
      return floatRunner(o);
    case 'ort-web-int8':
    case 'ort-web-fp32':
      return ortRunner(ort!, o, backend === 'ort-web-int8');
    case 'ort-web-int8-2t': {
      const feeds = [{ name: 'x', dtype: 'uint8', data: o.xq, dims: o.xShape }] as const;
      const ort2 = await startOrtWebThreads(encodeSingleOpModel(ortModel(o, true)), feeds, 2);
      return { call: () => ort2.call(), sample: () => ort2.sample(SAMPLE_MS), dispose: () => ort2.dispose() };
    }
  }
}

// Runtimes whose per-round ratios are reported (2t/1t, 2×1t/1t, and ORT-web's own 2t/1t): each group
// is sampled back to back in every round, in this order or its reverse, so kernels-wasm always sits
// next to both of its multi-lane runtimes and ort-web-int8 next to its 2-thread one.
const PAIRED: readonly (readonly BenchBackend[])[] = [
  ['kernels-wasm-2t', 'kernels-wasm', 'kernels-wasm-2x1t'],
  ['ort-web-int8-2t', 'ort-web-int8'],
];

/**
 * The order in which round `round` samples `backends`: a rotation that starts one further on each
 * round, with each group of paired runtimes kept back to back (kernels-wasm-2t, kernels-wasm,
 * kernels-wasm-2x1t; ort-web-int8-2t, ort-web-int8), in that order on even rounds and reversed on
 * odd ones, so a round's 2t/1t and 2×1t/1t ratios compare adjacent moments of this shared machine
 * (not moments up to a second apart, with a slow runtime between them) and no multi-lane runtime
 * always runs first.
 *
 * @example
 * roundOrder(['kernels-js', 'kernels-wasm', 'kernels-wasm-2t', 'float32'], 1);
 * // ['kernels-wasm', 'kernels-wasm-2t', 'float32', 'kernels-js']
 */
export function roundOrder(backends: readonly BenchBackend[], round: number): BenchBackend[] {
  const pairing = (b: BenchBackend): readonly BenchBackend[] | undefined => PAIRED.find((p) => p.includes(b));
  const groups: BenchBackend[][] = [];
  for (const b of backends) {
    const paired = pairing(b);
    const group = paired && groups.find((g) => pairing(g[0]!) === paired);
    if (group) group.push(b);
    else groups.push([b]);
  }
  for (const g of groups) {
    const paired = pairing(g[0]!);
    if (paired) g.sort((a, b) => paired.indexOf(a) - paired.indexOf(b));
  }
  const start = round % groups.length;
  return [...groups.slice(start), ...groups.slice(0, start)].flatMap((g) => (round % 2 ? [...g].reverse() : g));
}

/**
 * Runs the benchmark: every requested runtime on every requested shape, in one process, and returns
 * the medians with min–max. The runtimes of a shape are interleaved: each round takes one sample of
 * every runtime (in {@link roundOrder}), so a slower spell of this shared machine lands on all of
 * them rather than on one, and the ratios stay meaningful. Run it under `node --no-liftoff` for
 * steady-state wasm figures.
 *
 * @example
 * const { results } = await runBench({ shapes: ['mm_256x256x256'], samples: 5 });
 * console.log(formatBenchTable(results));
 */
export async function runBench(opts: BenchOptions = {}): Promise<BenchReport> {
  const shapes = opts.shapes ?? BENCH_SHAPES;
  const backends = opts.backends ?? BENCH_BACKENDS;
  const samples = opts.samples ?? 9;
  const results: BenchResult[] = [];
  const ort = backends.some((b) => b === 'ort-web-int8' || b === 'ort-web-fp32') ? await loadOrtWeb() : undefined;
  // Progress steps: per cell, its warm-up and each round.
  const total = shapes.length * backends.length * (samples + 1);
  let done = 0;
  for (const shape of shapes) {
    const o = operands(shape);
    const cells = await measureCells(
      backends,
      samples,
      (backend) => prepare(backend, o, ort),
      (backend, stepped) => {
        if (stepped) done++;
        opts.onProgress?.({ shape, backend, done, total });
      },
    );
    for (const cell of cells) {
      const t = timing(cell.per);
      results.push({ shape, backend: cell.backend, gmacPerS: o.def.macs / t.medianMs / 1e6, ...t, sampleMs: cell.per });
    }
  }
  return { results };
}

/** onnxruntime-web on its single-threaded wasm build, quiet. @internal */
export async function loadOrtWeb(): Promise<Ort> {
  const ort = await import('onnxruntime-web');
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  ort.env.logLevel = 'error';
  return ort;
}

/** A runtime measured on one subject: its sample times, in round order. @internal */
export interface MeasuredCell {
  readonly backend: BenchBackend;
  readonly per: readonly number[];
}

/**
 * Warms up every runtime on one subject (a shape or a model), then takes `samples` rounds of one
 * sample each in {@link roundOrder}; slow runtimes (≥ `slowMs` per call) take at most 3 samples.
 * `progress(backend, stepped)` is called before each warm-up (stepped false) and after each warm-up
 * and sample (stepped true). Every runtime is disposed at the end. @internal
 */
export async function measureCells(
  backends: readonly BenchBackend[],
  samples: number,
  prepareOne: (backend: BenchBackend) => Promise<Prepared>,
  progress: (backend: BenchBackend, stepped: boolean) => void,
  slowMs = SLOW_KERNEL_MS,
): Promise<MeasuredCell[]> {
  const cells: Cell[] = [];
  try {
    for (const backend of backends) {
      progress(backend, false);
      const cell: Cell = { backend, prepared: await prepareOne(backend), slow: false, per: [] };
      cells.push(cell);
      await warmUp(cell, slowMs);
      progress(backend, true);
    }
    for (let round = 0; round < samples; round++) {
      for (const backend of roundOrder(backends, round)) {
        const cell = cells.find((c) => c.backend === backend)!;
        if (!cell.slow || cell.per.length < Math.min(samples, 3)) await sample(cell);
        progress(cell.backend, true);
      }
    }
    return cells;
  } finally {
    for (const cell of cells) cell.prepared.dispose();
  }
}

/**
 * How many times faster `a` ran than `b` on the same shape: the median, over the rounds in which
 * both took a sample, of `b`'s time over `a`'s. Samples of one round are taken moments apart, so
 * this ratio holds through the slow and fast spells of a shared machine that move every runtime's
 * medians; undefined when no round has both.
 *
 * @example
 * pairedSpeedup(cell('kernels-wasm-2t'), cell('kernels-wasm')); // 1.8: two threads, same rounds
 */
export function pairedSpeedup(a: Pick<BenchResult, 'sampleMs'>, b: Pick<BenchResult, 'sampleMs'>): number | undefined {
  const r = roundRatios(a, b);
  return r.length === 0 ? undefined : median(r);
}

/** `b`'s time over `a`'s in each round in which both took a sample, ascending. */
function roundRatios(a: Pick<BenchResult, 'sampleMs'>, b: Pick<BenchResult, 'sampleMs'>): number[] {
  const n = Math.min(a.sampleMs.length, b.sampleMs.length);
  return ascending(Array.from({ length: n }, (_, r) => b.sampleMs[r]! / a.sampleMs[r]!));
}

/**
 * The SIMD128 `dot_i16x8_s` + add ceiling measured on the anchors' machine
 * (spec/performance-anchors.md), GMAC/s; faster hosts go past 100 % of it.
 */
export const SIMD128_CEILING_GMACS = 42;

/**
 * Formats results as a text table: one row per shape, one column per runtime, each cell
 * `GMAC/s (min–max)`, then kernels-wasm's speed-ups over ORT-web int8 and fp32 (each
 * {@link pairedSpeedup}), its share of the SIMD128 ceiling, and the 2-thread speed-up with the
 * quartiles of its same-round ratios (how much the machine moved it from round to round); then the
 * same for kernels-wasm-2x1t, two independent single-thread lanes at once: what the machine's two
 * lanes gave in those rounds, the most a 2-thread kernel could reach; and 2t over 2×1t, the share of
 * that the 2-thread kernel reached; then ONNX Runtime Web's own 2-thread speed-up (int8, quartiles)
 * and kernels-wasm-2t's speed-up over it.
 *
 * @example
 * formatBenchTable((await runBench()).results);
 */
export function formatBenchTable(results: readonly BenchResult[]): string {
  const shapes = [...new Set(results.map((r) => r.shape))];
  const backends = BENCH_BACKENDS.filter((b) => results.some((r) => r.backend === b));
  const cell = (s: string, b: string): BenchResult | undefined => results.find((r) => r.shape === s && r.backend === b);
  const gmacs = (r: BenchResult | undefined): string => {
    if (!r) return '–';
    const g = (ms: number): number => r.gmacPerS * (r.medianMs / ms);
    return `${r.gmacPerS.toFixed(2)} (${g(r.maxMs).toFixed(1)}–${g(r.minMs).toFixed(1)})`;
  };
  const ratio = (a: BenchResult | undefined, b: BenchResult | undefined): string => {
    const x = a && b ? pairedSpeedup(a, b) : undefined;
    return x === undefined ? '–' : `${x.toFixed(2)}×`;
  };
  const head = [
    'shape',
    ...backends,
    'wasm/ort-int8',
    'wasm/ort-fp32',
    'wasm % of 42',
    ...(backends.includes('kernels-wasm-2t') ? ['2t/1t (q25–q75)'] : []),
    ...(backends.includes('kernels-wasm-2x1t') ? ['2×1t/1t (q25–q75)'] : []),
    ...(backends.includes('kernels-wasm-2t') && backends.includes('kernels-wasm-2x1t') ? ['2t/2×1t'] : []),
    ...(backends.includes('ort-web-int8-2t') ? ['ort 2t/1t (q25–q75)'] : []),
    ...(backends.includes('kernels-wasm-2t') && backends.includes('ort-web-int8-2t') ? ['wasm-2t/ort-2t'] : []),
  ];
  const rows = shapes.map((s) => {
    const w = cell(s, 'kernels-wasm');
    return [
      s,
      ...backends.map((b) => gmacs(cell(s, b))),
      ratio(w, cell(s, 'ort-web-int8')),
      ratio(w, cell(s, 'ort-web-fp32')),
      w ? `${((100 * w.gmacPerS) / SIMD128_CEILING_GMACS).toFixed(0)}%` : '–',
      ...(backends.includes('kernels-wasm-2t') ? [spreadSpeedup(cell(s, 'kernels-wasm-2t'), w)] : []),
      ...(backends.includes('kernels-wasm-2x1t') ? [spreadSpeedup(cell(s, 'kernels-wasm-2x1t'), w)] : []),
      ...(backends.includes('kernels-wasm-2t') && backends.includes('kernels-wasm-2x1t')
        ? [ratio(cell(s, 'kernels-wasm-2t'), cell(s, 'kernels-wasm-2x1t'))]
        : []),
      ...(backends.includes('ort-web-int8-2t')
        ? [spreadSpeedup(cell(s, 'ort-web-int8-2t'), cell(s, 'ort-web-int8'))]
        : []),
      ...(backends.includes('kernels-wasm-2t') && backends.includes('ort-web-int8-2t')
        ? [ratio(cell(s, 'kernels-wasm-2t'), cell(s, 'ort-web-int8-2t'))]
        : []),
    ];
  });
  return [
    'GMAC/s, median of samples (min–max), single op, steady state; ratios: median of same-round ratios (the 2t/1t and 2×1t/1t ones with their quartiles)',
    ...textTable(head, rows),
  ].join('\n');
}

/**
 * `a`'s speed-up over `b` as `median× (q25–q75)` of their same-round ratios ({@link roundRatios}),
 * or `–` when no round has both. @internal
 */
export function spreadSpeedup(
  a: Pick<BenchResult, 'sampleMs'> | undefined,
  b: Pick<BenchResult, 'sampleMs'> | undefined,
): string {
  const r = a && b ? roundRatios(a, b) : [];
  return r.length === 0
    ? '–'
    : `${median(r).toFixed(2)}× (${quantile(r, 0.25).toFixed(2)}–${quantile(r, 0.75).toFixed(2)})`;
}

/** Lines of a text table: the header, a rule, the rows; the first column left-aligned, no trailing blanks. @internal */
export function textTable(head: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: readonly string[]): string =>
    r
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}
