import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { QuantError } from '@quint/tensor';
import { BENCH_SHAPES, formatBenchTable, runBench, type BenchShape } from '../bench/index.js';
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

/** `quint bench`: kernels and models, ours vs ONNX Runtime Web, in one run; writes out/bench.json. */
export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('benchmark int8 kernels (js, wasm) against float32 and ONNX Runtime Web; writes out/bench.json')
    .option('--json', 'print the bench document as JSON')
    .option('--samples <n>', 'samples per runtime (default 9)')
    .option('--shapes <list>', `comma-separated subset of ${BENCH_SHAPES.join(', ')}`)
    .action(async (opts: { json?: boolean; samples?: string; shapes?: string }) => {
      const shapes = parseShapes(opts.shapes);
      const samples = parseSamples(opts.samples);
      if (!process.execArgv.includes(NO_LIFTOFF)) {
        const child = spawnSync(process.execPath, [NO_LIFTOFF, ...process.execArgv, ...process.argv.slice(1)], {
          stdio: 'inherit',
        });
        process.exitCode = child.status ?? 1;
        return;
      }
      const bar = process.stderr.isTTY ? new SingleBar({ format: 'bench {bar} {value}/{total} {cell}', stream: process.stderr }) : undefined;
      const report = await runBench({
        ...(shapes ? { shapes } : {}),
        ...(samples ? { samples } : {}),
        onProgress: ({ shape, backend, done, total }) => {
          if (!bar) return;
          if (done === 0) bar.start(total, 0, { cell: '' });
          bar.update(done, { cell: `${shape} ${backend}` });
        },
      });
      bar?.stop();
      mkdirSync(resolve('out'), { recursive: true });
      writeFileAtomic('out/bench.json', `${JSON.stringify(report, null, 2)}\n`);
      process.stdout.write(opts.json ? `${JSON.stringify(report)}\n` : `${formatBenchTable(report.results)}\n`);
    });
}
