// `quint bench` is a benchmark, not a test: nothing here looks at speed. It checks the document the
// bench writes (issue #9's schema), that every runtime ran the same shape, the model bench's
// document, and the CLI's usage errors.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { npyToTensor } from '@quint/tensor';
import {
  BENCH_BACKENDS,
  formatBenchTable,
  loadOrtWeb,
  pairedSpeedup,
  roundOrder,
  runBench,
  type BenchBackend,
  type BenchResult,
} from '../src/bench/index.js';
import { MODEL_BENCH_BACKENDS, formatModelBenchTable, runModelBench } from '../src/bench/model.js';
import { ortSessionOptions, startOrtWebThreads } from '../src/bench/ort-threads.js';
import { startTwoLanes, type LaneOp } from '../src/bench/two-lanes.js';

const ROOT = resolve(__dirname, '../../..');
const CLI = join(ROOT, 'apps/reference/bin/quint.mjs');
// A small QDQ int8 CNN from ONNX Runtime's quantizer (engine ort) and its input [2, 3, 8, 8].
const QDQ = join(ROOT, 'packages/onnx/test/fixtures/qdq-u8s8.onnx');
const QDQ_X = join(ROOT, 'packages/onnx/test/fixtures/x.npy');

describe('runBench', () => {
  test('two interleaved rounds of every runtime on the depthwise shape gives a complete, consistent document', async () => {
    const sampled: BenchBackend[] = [];
    const { results } = await runBench({
      shapes: ['dw3x3_128_56'],
      samples: 2,
      onProgress: (e) => sampled.push(e.backend),
    });
    expect(results.map((r) => r.backend)).toEqual([...BENCH_BACKENDS]);
    // After each runtime's set-up and warm-up (two events each), the rounds sample in roundOrder.
    const n = BENCH_BACKENDS.length;
    expect(sampled.slice(2 * n)).toEqual([...roundOrder(BENCH_BACKENDS, 0), ...roundOrder(BENCH_BACKENDS, 1)]);
    const macs = 128 * 9 * 56 * 56;
    for (const r of results) {
      expect(Object.keys(r).sort()).toEqual([
        'backend',
        'gmacPerS',
        'maxMs',
        'medianMs',
        'minMs',
        'sampleMs',
        'samples',
        'shape',
      ]);
      expect(r.shape).toBe('dw3x3_128_56');
      expect(r.samples).toBe(2);
      expect(r.sampleMs).toHaveLength(2);
      expect(r.medianMs).toBeCloseTo((r.sampleMs[0]! + r.sampleMs[1]!) / 2, 12);
      expect(r.minMs).toBeGreaterThan(0);
      expect(r.minMs).toBeLessThanOrEqual(r.medianMs);
      expect(r.medianMs).toBeLessThanOrEqual(r.maxMs);
      // GMAC/s is the shape's multiply-accumulates over the median time.
      expect(r.gmacPerS).toBeCloseTo(macs / r.medianMs / 1e6, 9);
    }
    const table = formatBenchTable(results);
    expect(table.split('\n')[1]).toContain('wasm/ort-int8');
    expect(table.split('\n')[1]).toMatch(/ 2t\/2×1t {2}ort 2t\/1t \(q25–q75\) {2}wasm-2t\/ort-2t$/);
    expect(table.split('\n')[3]).toMatch(
      /^dw3x3_128_56 .* \d+\.\d\d× +\d+\.\d\d× +\d+% +\d+\.\d\d× \(\d+\.\d\d–\d+\.\d\d\) +\d+\.\d\d× \(\d+\.\d\d–\d+\.\d\d\) +\d+\.\d\d× +\d+\.\d\d× \(\d+\.\d\d–\d+\.\d\d\) +\d+\.\d\d×$/,
    );
  }, 120_000);
});

describe('roundOrder', () => {
  test('every round samples each runtime once, starts one further on, keeps kernels-wasm between 2t and 2×1t and ort-web-int8 next to its 2t, each first in turn', () => {
    const firsts = new Set<BenchBackend>();
    for (let round = 0; round < 10; round++) {
      const order = roundOrder(BENCH_BACKENDS, round);
      expect([...order].sort()).toEqual([...BENCH_BACKENDS].sort());
      const one = order.indexOf('kernels-wasm');
      const two = order.indexOf('kernels-wasm-2t');
      const lanes = order.indexOf('kernels-wasm-2x1t');
      expect([two - one, lanes - one]).toEqual(round % 2 === 0 ? [-1, 1] : [1, -1]);
      expect(order.indexOf('ort-web-int8-2t') - order.indexOf('ort-web-int8')).toBe(round % 2 === 0 ? -1 : 1);
      firsts.add(order[0]!);
    }
    // Five groups (the three wasm runtimes count as one, the two ort-web-int8 ones as another): ten
    // rounds start at each twice, each group once with either end first.
    expect(firsts).toEqual(new Set(BENCH_BACKENDS.filter((b) => b !== 'kernels-wasm')));
    expect(roundOrder(['kernels-js', 'float32', 'kernels-wasm'], 2)).toEqual(['kernels-wasm', 'kernels-js', 'float32']);
  });
});

describe('startTwoLanes', () => {
  test("a sample adds the worker lane's calls to this thread's: ms per call of both lanes together", async () => {
    const op: LaneOp = {
      kind: 'mm',
      xq: new Uint8Array(64 * 256).fill(130),
      xShape: [64, 256],
      xScale: 0.02,
      xZeroPoint: 128,
      wq: new Int8Array(256 * 256).fill(3),
      wShape: [256, 256],
      wScale: 0.01,
      out: { scale: 0.05, zeroPoint: 128 },
      conv: { padding: 0, groups: 1 },
    };
    const lanes = await startTwoLanes(op);
    try {
      // This lane's call busy-waits 2 ms; the worker runs a 4 M MAC linear (well under 2 ms).
      let calls = 0;
      const t0 = performance.now();
      const ms = await lanes.sample(() => {
        calls++;
        for (const until = performance.now() + 2; performance.now() < until;);
      });
      const alone = (performance.now() - t0 - 5) / calls;
      expect(calls).toBeGreaterThan(0);
      // Without the worker's calls this would be `alone` (about 2 ms).
      expect(ms).toBeGreaterThan(0);
      expect(ms).toBeLessThan(0.9 * alone);
    } finally {
      lanes.dispose();
    }
  }, 60_000);
});

describe('startOrtWebThreads', () => {
  test('runs the model on 2 threads in its worker: the outputs of onnxruntime-web on 1 thread here; a sample is timed there', async () => {
    const bytes = new Uint8Array(readFileSync(QDQ));
    const x = npyToTensor(new Uint8Array(readFileSync(QDQ_X)));
    const feeds = [{ name: 'x', dtype: 'float32', data: x.toFloat32Array(), dims: [...x.shape] }] as const;
    const ort = await loadOrtWeb();
    const session = await ort.InferenceSession.create(bytes, ortSessionOptions(1));
    const here = await session.run({ x: new ort.Tensor('float32', feeds[0].data, [...feeds[0].dims]) });
    const two = await startOrtWebThreads(bytes, feeds, 2);
    try {
      const outputs = await two.outputs();
      expect(outputs.map((o) => Array.from(o))).toEqual(
        session.outputNames.map((n) => Array.from(here[n]!.data as Uint8Array)),
      );
      const t0 = performance.now();
      const ms = await two.sample(20);
      // A batch of at least 20 ms, at least one call: ms per call is positive and at most the wait.
      expect(ms).toBeGreaterThan(0);
      expect(ms).toBeLessThanOrEqual(performance.now() - t0);
    } finally {
      two.dispose();
      await session.release();
    }
  }, 60_000);

  test("a model onnxruntime-web refuses fails the start with the runtime's name", async () => {
    await expect(startOrtWebThreads(new Uint8Array([1, 2, 3]), [], 2)).rejects.toThrow(/^ort-web-int8-2t: /);
  }, 60_000);
});

describe('pairedSpeedup', () => {
  const result = (sampleMs: number[]): BenchResult => ({
    shape: 'mm_1x1024x1024',
    backend: 'kernels-wasm',
    gmacPerS: 1,
    medianMs: 1,
    minMs: 1,
    maxMs: 1,
    samples: sampleMs.length,
    sampleMs,
  });
  test('takes the median of per-round ratios, over the rounds both sampled', () => {
    // Round 2 is a slow spell for both: the ratio of medians (4 / 2) would say 2×, each round says 1.5×.
    expect(pairedSpeedup(result([1, 2, 8]), result([1.5, 3, 12]))).toBe(1.5);
    expect(pairedSpeedup(result([2, 2, 2]), result([4, 6]))).toBe(2.5);
    expect(pairedSpeedup(result([1]), result([]))).toBeUndefined();
  });
  test("the table's 2t/1t column gives the same-round ratios' median and quartiles", () => {
    const one = { ...result([4, 4, 4, 4, 4]), backend: 'kernels-wasm' as const };
    const two = { ...result([2, 4, 2.5, 1.6, 2]), backend: 'kernels-wasm-2t' as const };
    // Ratios 2, 1, 1.6, 2.5, 2: sorted 1, 1.6, 2, 2, 2.5.
    expect(formatBenchTable([one, two]).split('\n')[3]).toMatch(/ 2\.00× \(1\.60–2\.00\)$/);
    // With 2×1t too: its ratios to 1t are 1.67, 0.83, 1.33, 2, 1.67; 2t's over it 1.2, 1.2, 1.2, 1.25,
    // 1.2 (the other way round they would be 0.83).
    const lanes = { ...result([2.4, 4.8, 3, 2, 2.4]), backend: 'kernels-wasm-2x1t' as const };
    expect(formatBenchTable([one, two, lanes]).split('\n')[3]).toMatch(
      / 2\.00× \(1\.60–2\.00\) +1\.67× \(1\.33–1\.67\) +1\.20×$/,
    );
    // ORT-web's own 2-thread ratios (1.6, 2, 1.25, 1, 2: sorted 1, 1.25, 1.6, 2, 2), and kernels-wasm-2t
    // over ORT-web 2t (2.5, 1.25, 3.2, 5, 2.5).
    const ort = { ...result([8, 10, 10, 8, 10]), backend: 'ort-web-int8' as const };
    const ort2 = { ...result([5, 5, 8, 8, 5]), backend: 'ort-web-int8-2t' as const };
    expect(formatBenchTable([one, two, ort, ort2]).split('\n')[3]).toMatch(
      / 2\.00× \(1\.60–2\.00\) +1\.60× \(1\.25–2\.00\) +2\.50×$/,
    );
  });
});

describe('runModelBench', () => {
  test('every runtime runs the same file in interleaved rounds; the table has a row per runtime and the paired ratios', async () => {
    const sampled: BenchBackend[] = [];
    const x = npyToTensor(new Uint8Array(readFileSync(QDQ_X)));
    const results = await runModelBench({
      model: QDQ,
      inputs: () => ({ x }),
      samples: 2,
      onProgress: (e) => sampled.push(e.backend),
    });
    expect(results.map((r) => r.backend)).toEqual([...MODEL_BENCH_BACKENDS]);
    const n = MODEL_BENCH_BACKENDS.length;
    expect(sampled.slice(2 * n)).toEqual([
      ...roundOrder(MODEL_BENCH_BACKENDS, 0),
      ...roundOrder(MODEL_BENCH_BACKENDS, 1),
    ]);
    for (const r of results) {
      expect(Object.keys(r).sort()).toEqual(['backend', 'maxMs', 'medianMs', 'minMs', 'model', 'sampleMs', 'samples']);
      expect(r.model).toBe('qdq-u8s8.onnx');
      expect(r.sampleMs).toHaveLength(2);
      expect(r.minMs).toBeGreaterThan(0);
      expect(r.minMs).toBeLessThanOrEqual(r.medianMs);
      expect(r.medianMs).toBeLessThanOrEqual(r.maxMs);
    }
    const lines = formatModelBenchTable(results).split('\n');
    expect(lines[0]).toMatch(/^qdq-u8s8\.onnx: one forward pass per call/);
    expect(lines.slice(3).map((l) => l.split(' ')[0])).toEqual([...MODEL_BENCH_BACKENDS]);
    const spread = String.raw`\d+\.\d\d× \(\d+\.\d\d–\d+\.\d\d\)`;
    // kernels-wasm-2t: vs ort-web-int8, vs kernels-wasm, vs ort-web-int8-2t; ort-web-int8-2t: vs ort-web-int8.
    expect(lines[3 + MODEL_BENCH_BACKENDS.indexOf('kernels-wasm-2t')]).toMatch(
      new RegExp(` ${spread} +${spread} +${spread}$`),
    );
    expect(lines[3 + MODEL_BENCH_BACKENDS.indexOf('ort-web-int8-2t')]).toMatch(
      new RegExp(`^ort-web-int8-2t +[\\d.]+ \\([\\d.]+–[\\d.]+\\) +${spread}$`),
    );
    // ms per call in three significant digits: this model's pass takes hundredths of a ms.
    const wasm = results.find((r) => r.backend === 'kernels-wasm')!;
    expect(lines[3 + MODEL_BENCH_BACKENDS.indexOf('kernels-wasm')]).toContain(` ${wasm.medianMs.toPrecision(3)} (`);
    expect(wasm.medianMs.toPrecision(3)).toMatch(/[1-9]/);
  }, 120_000);

  test('a float model is refused', async () => {
    const x = npyToTensor(new Uint8Array(readFileSync(join(ROOT, 'packages/onnx/test/fixtures/cnn-static.x.npy'))));
    await expect(
      runModelBench({
        model: join(ROOT, 'packages/onnx/test/fixtures/cnn-static.onnx'),
        inputs: () => ({ x }),
        samples: 1,
      }),
    ).rejects.toThrow(/is a float model; quantize it first/);
  });
});

describe('quint bench usage errors', () => {
  const quint = (...args: string[]) =>
    spawnSync(process.execPath, [CLI, 'bench', ...args], { cwd: ROOT, encoding: 'utf8' });
  test.each([
    [['--shapes', 'mm_3x3x3'], /^quint: USAGE: unknown shape 'mm_3x3x3' for --shapes; use some of mm_1x1024x1024, /],
    [['--samples', '0'], /^quint: USAGE: --samples must be a positive integer, got '0'$/],
    [['--input', QDQ_X], /^quint: USAGE: --input needs --model; /],
    [
      ['--model', QDQ, '--input', QDQ_X, '--shapes', 'mm_256x256x256'],
      /^quint: USAGE: --shapes and --model measure different things; /,
    ],
    [['--model', QDQ], /^quint: USAGE: --model needs --input <x\.npy>/],
    // Found in the child the bench re-runs itself as: its status must come through.
    [
      [
        '--model',
        join(ROOT, 'packages/onnx/test/fixtures/cnn-static.onnx'),
        '--input',
        join(ROOT, 'packages/onnx/test/fixtures/cnn-static.x.npy'),
      ],
      /^quint: USAGE: .*cnn-static\.onnx is a float model; quantize it first/,
    ],
  ])('%j', (args, line) => {
    const r = quint(...args);
    expect(r.stderr.trimEnd().split('\n').at(-1)).toMatch(line);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
  });
});
