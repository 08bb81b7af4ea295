import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { QuantError } from '@quint/tensor';
import { BENCH_SHAPES, formatBenchTable, runBench, type BenchShape } from '../bench/index.js';
import { formatModelBenchTable, runModelBench } from '../bench/model.js';
import { readInputs, repeatable } from '../cli-io/options.js';
import { writeFileAtomic } from '../io.js';

// Steady-state wasm figures need TurboFan from the first call (spec/performance-anchors.md: the
// Liftoff rows of ORT-web are up to 1.5× lower and noisy), so the bench re-runs itself under it.
const NO_LIFTOFF = '--no-liftoff';

function parseShapes(list: string | undefined): BenchShape[] | undefined {
  if (list === undefined) return undefined;
  const shapes = list.split(',').map((s) => s.trim());
  for (const s of shapes) {
    if (!(BENCH_SHAPES as readonly string[]).includes(s)) {
      throw new QuantError('USAGE', `unknown shape '${s}' for --shapes; use some of ${BENCH_SHAPES.join(', ')}`);
    }
  }
  return shapes as BenchShape[];
}

function parseSamples(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new QuantError('USAGE', `--samples must be a positive integer, got '${v}'`);
  return n;
}

/** The options `quint bench` parses. */
interface BenchCliOptions {
  readonly json?: boolean;
  readonly samples?: string;
  readonly shapes?: string;
  readonly model?: string;
  readonly input?: string[];
}

/** `quint bench`: kernels, or one quantized model end to end, ours vs ONNX Runtime Web, in one run. */
export function registerBench(program: Command): void {
  program
    .command('bench')
    .description(
      'benchmark int8 kernels (js, wasm) against float32 and ONNX Runtime Web (writes out/bench.json), or a quantized model end to end (--model, writes out/bench-model.json)',
    )
    .option('--json', 'print the bench document as JSON')
    .option('--samples <n>', 'samples per runtime (default 9)')
    .option('--shapes <list>', `comma-separated subset of ${BENCH_SHAPES.join(', ')}`)
    .option(
      '--model <model.onnx>',
      'a quantized ONNX model: kernels-js, then kernels-wasm and onnxruntime-web on 1 and 2 threads, on the same file',
    )
    .option(
      '--input <[name=]x.npy>',
      'with --model: float32 .npy input; for several inputs --input name=x.npy, repeated',
      repeatable,
    )
    .addHelpText(
      'after',
      '\nExamples:\n  quint bench --shapes conv3x3_64_56 --samples 15\n  quint bench --model model.int8.onnx --input x.npy\n',
    )
    .action(async (opts: BenchCliOptions) => {
      const shapes = parseShapes(opts.shapes);
      const samples = parseSamples(opts.samples);
      if (opts.model === undefined && opts.input !== undefined)
        throw new QuantError('USAGE', '--input needs --model; pass the quantized model to run on it.');
      if (opts.model !== undefined && shapes !== undefined)
        throw new QuantError('USAGE', '--shapes and --model measure different things; pass one of them.');
      if (opts.model !== undefined && opts.input === undefined)
        throw new QuantError('USAGE', "--model needs --input <x.npy> (the model's input, float32).");
      if (!process.execArgv.includes(NO_LIFTOFF)) {
        const child = spawnSync(process.execPath, [NO_LIFTOFF, ...process.execArgv, ...process.argv.slice(1)], {
          stdio: 'inherit',
        });
        process.exitCode = child.status ?? 1;
        return;
      }
      const bar = process.stderr.isTTY
        ? new SingleBar({ format: 'bench {bar} {value}/{total} {cell}', stream: process.stderr })
        : undefined;
      const progress = (cell: string, done: number, total: number): void => {
        if (!bar) return;
        if (done === 0) bar.start(total, 0, { cell: '' });
        bar.update(done, { cell });
      };
      if (opts.model !== undefined) {
        const models = await runModelBench({
          model: opts.model,
          inputs: (model) => readInputs(model, opts.input ?? []),
          ...(samples ? { samples } : {}),
          onProgress: ({ backend, done, total }) => progress(backend, done, total),
        });
        bar?.stop();
        const doc = { models };
        mkdirSync(resolve('out'), { recursive: true });
        writeFileAtomic('out/bench-model.json', `${JSON.stringify(doc, null, 2)}\n`);
        process.stdout.write(opts.json ? `${JSON.stringify(doc)}\n` : `${formatModelBenchTable(models)}\n`);
        return;
      }
      const report = await runBench({
        ...(shapes ? { shapes } : {}),
        ...(samples ? { samples } : {}),
        onProgress: ({ shape, backend, done, total }) => progress(`${shape} ${backend}`, done, total),
      });
      bar?.stop();
      mkdirSync(resolve('out'), { recursive: true });
      writeFileAtomic('out/bench.json', `${JSON.stringify(report, null, 2)}\n`);
      process.stdout.write(opts.json ? `${JSON.stringify(report)}\n` : `${formatBenchTable(report.results)}\n`);
    });
}
