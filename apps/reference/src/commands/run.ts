import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { runModel, type ImportedGraphInfo, type QuintModel } from '@quint/onnx';
import type { Engine, OrtTarget, QTensor, QuantizedBackend } from '@quint/qtensor';
import { QuantError, Tensor, cat, writeNpy } from '@quint/tensor';
import { writeFileAtomic } from '../io.js';
import { jsBackend, wasmBackend } from '../cli-io/backends.js';
import {
  checkOutputFolder,
  loadModelArg,
  outputFileName,
  readInputs,
  repeatable,
  threadCount,
} from '../cli-io/options.js';
import { progressBar } from '../cli-io/progress.js';

/** The options `quint run` parses. */
export interface RunOptions {
  readonly input: string[];
  readonly out: string;
  readonly backend: 'js' | 'wasm';
  readonly engine?: Engine;
  readonly target?: OrtTarget;
  readonly threads: number;
}

/** `quint run <model.onnx> --input <x.npy> --out <y.npy> [--backend js|wasm] [--threads n] [--engine …] [--target wasm|x64]`. */
export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run a float, QDQ or QOperator ONNX model on .npy inputs; quantized ops run with integer arithmetic')
    .argument('<model.onnx>', 'ONNX model (float, QDQ or QOperator)')
    .requiredOption(
      '--input <[name=]x.npy>',
      'float32 .npy input; for several inputs --input name=x.npy, repeated',
      repeatable,
    )
    .requiredOption(
      '--out <y.npy|folder>',
      'output .npy; for several outputs an existing folder that receives <output-name>.npy',
    )
    .addOption(
      new Option('--backend <backend>', 'integer kernels: js (reference) or wasm (SIMD128)')
        .choices(['js', 'wasm'])
        .default('js'),
    )
    .option(
      '--threads <n>',
      'with --backend wasm: lanes for large conv/linear calls, the main thread and n − 1 worker threads; outputs are identical',
      threadCount,
      1,
    )
    .addOption(
      new Option('--engine <engine>', "requantization convention (default: the file's quint.engine, else ort)").choices(
        ['qnnpack', 'onednn', 'ort', 'fbgemm'],
      ),
    )
    .addOption(
      new Option(
        '--target <build>',
        'engine ort: the ONNX Runtime build to reproduce where builds round differently (add, mul, sigmoid, tanh, mean): wasm (onnxruntime-web, default) or x64 (onnxruntime-node on x86-64 with AVX2 + FMA)',
      ).choices(['wasm', 'x64']),
    )
    .option('--debug', 'print stack traces on failure')
    .addHelpText(
      'after',
      '\nExamples:\n  quint run model.int8.onnx --input x.npy --out y.npy\n  quint run model.int8.onnx --input x.npy --out y.npy --backend wasm --threads 2\n  quint run two.onnx --input a=a.npy --input b=b.npy --out outputs/\n  quint run ort.int8.onnx --input x.npy --out y.npy --target x64   # the outputs of onnxruntime-node\n',
    )
    .action(async (model: string, opts: RunOptions) => {
      await runCommand(model, opts);
    });
}

function asFloat(v: Tensor | QTensor): Tensor {
  return v instanceof Tensor ? v : v.dequantize();
}

/** Where each output goes: `--out` is a file for one output, a folder of `<name>.npy` otherwise. */
function outputPaths(model: QuintModel, out: string): Map<string, string> {
  const isDir = existsSync(out) && statSync(out).isDirectory();
  const paths = new Map<string, string>();
  if (model.outputNames.length === 1 && !isDir) {
    checkOutputFolder(out, '--out');
    paths.set(model.outputNames[0]!, out);
    return paths;
  }
  if (!isDir) {
    throw new QuantError(
      'IO_ERROR',
      `--out ${out}: the model has ${model.outputNames.length} outputs (${model.outputNames.join(', ')}), so --out must be an existing folder; create it first.`,
    );
  }
  const used = new Set<string>();
  for (const name of model.outputNames) {
    let file = outputFileName(name);
    for (let i = 1; used.has(file); i++) file = outputFileName(`${name}_${i}`);
    used.add(file);
    paths.set(name, join(out, file));
  }
  return paths;
}

/**
 * A model with a static batch runs inputs holding several of its batches one batch at a time (with a
 * progress bar); everything else runs in one call.
 */
async function runBatched(
  model: QuintModel,
  inputs: Record<string, Tensor>,
  opts: { backend?: QuantizedBackend; engine?: Engine },
): Promise<Record<string, Tensor>> {
  const info = model.graphModule.meta['onnx'] as ImportedGraphInfo | undefined;
  const fixed =
    info !== undefined && info.inputs.length > 0 && info.inputs.every((i) => !i.dynamicBatch)
      ? info.inputs[0]!.shape[0]!
      : undefined;
  const n = Object.values(inputs)[0]?.shape[0];
  const chunks =
    fixed !== undefined &&
    n !== undefined &&
    n > fixed &&
    n % fixed === 0 &&
    info!.inputs.every((i) => inputs[i.name]?.shape[0] === n && i.shape[0] === fixed)
      ? n / fixed
      : 1;
  if (chunks === 1) {
    const r = await runModel(model, inputs, opts);
    return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, asFloat(v)]));
  }
  const bar = progressBar('running');
  const parts: Record<string, Tensor[]> = {};
  try {
    for (let c = 0; c < chunks; c++) {
      const slice: Record<string, Tensor> = {};
      for (const [k, t] of Object.entries(inputs)) {
        const per = t.numel / n!;
        slice[k] = new Tensor(t.toFloat32Array().slice(c * fixed! * per, (c + 1) * fixed! * per), [
          fixed!,
          ...t.shape.slice(1),
        ]);
      }
      const r = await runModel(model, slice, opts);
      for (const [k, v] of Object.entries(r)) (parts[k] ??= []).push(asFloat(v));
      bar.update(c + 1, chunks);
    }
  } finally {
    bar.stop();
  }
  return Object.fromEntries(Object.entries(parts).map(([k, ts]) => [k, cat(ts, 0)]));
}

async function runCommand(path: string, opts: RunOptions): Promise<void> {
  if (opts.threads > 1 && opts.backend !== 'wasm') {
    throw new QuantError(
      'USAGE',
      `--threads ${opts.threads} needs --backend wasm (kernels-js runs on one thread); add --backend wasm or drop --threads.`,
    );
  }
  const js = await jsBackend();
  let wasm: QuantizedBackend | null = null;
  try {
    const model = await loadModelArg(path, {
      backend: js,
      ...(opts.engine === undefined ? {} : { engine: opts.engine }),
      ...(opts.target === undefined ? {} : { target: opts.target }),
    });
    if (opts.target !== undefined && (model.kind !== 'quantized' || model.engine !== 'ort')) {
      const what = model.kind === 'quantized' ? `runs on engine ${model.engine}` : 'is a float model';
      throw new QuantError(
        'USAGE',
        `--target picks the ONNX Runtime build that engine ort reproduces, and ${path} ${what}; drop --target, or pass --engine ort for a quantized model.`,
      );
    }
    const paths = outputPaths(model, opts.out);
    const inputs = readInputs(model, opts.input);
    // The wasm kernels a model can use depend on its engine, known once the file is read: runModel
    // rebuilds the model on that backend.
    if (opts.backend === 'wasm' && model.kind === 'quantized') wasm = await wasmBackend(model.engine, opts.threads);
    const outputs = await runBatched(model, inputs, wasm === null ? {} : { backend: wasm });
    for (const [name, file] of paths) {
      const t = outputs[name];
      if (t === undefined) throw new QuantError('INTERNAL', `the model produced no output '${name}'.`);
      writeFileAtomic(file, writeNpy(t));
      process.stdout.write(`${name}: [${t.shape.join(', ')}] float32 -> ${file}\n`);
    }
  } finally {
    js.dispose();
    wasm?.dispose();
  }
}
