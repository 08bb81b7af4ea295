// Option parsing and shared plumbing of the model commands (quantize, run, compare, inspect).
import { existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { loadModel, type QuintModel } from '@quint/onnx';
import type { Engine, OrtTarget, QuantizedBackend } from '@quint/qtensor';
import { QuantError, isQuantError, type Tensor } from '@quint/tensor';
import { warn } from '../cli-support.js';
import { jsBackend, wasmBackend } from './backends.js';
import { readFloatNpy } from './npy-file.js';

/** Commander parser of a positive integer option (`--batch-size`): anything else is a usage error. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\s*[+]?\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError(`'${value}' is not a positive integer; pass a whole number of samples ≥ 1.`);
  }
  return n;
}

/** The most lanes `--threads` takes: `createWasmBackend`'s own limit. */
export const MAX_THREADS = 64;

/** Commander parser of `--threads`: a whole number of lanes in 1..{@link MAX_THREADS}. */
export function threadCount(value: string): number {
  const n = Number(value);
  if (!/^\s*[+]?\d+\s*$/.test(value) || n < 1 || n > MAX_THREADS) {
    throw new InvalidArgumentError(
      `'${value}' is not a thread count; pass a whole number from 1 to ${MAX_THREADS} (the cores to use, e.g. 2).`,
    );
  }
  return n;
}

/** Commander parser of a comma-separated list (`--keep-float a,b`), repeatable. */
export function commaList(value: string, previous: string[] | undefined): string[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (items.length === 0)
    throw new InvalidArgumentError(`'${value}' names no node; pass node names separated by commas.`);
  return [...(previous ?? []), ...items];
}

/** Commander collector of a repeatable option (`--input a=x.npy --input b=y.npy`). */
export function repeatable(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Adapts library warnings (which may carry their own prefix) to `quint: warning: …` lines. */
export function warningSink(message: string): void {
  warn(message.replace(/^quint: warning: /, ''));
}

/** Fails early, before any work, when the folder of an output file does not exist. */
export function checkOutputFolder(path: string, flag: string): void {
  const dir = dirname(path);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new QuantError(
      'IO_ERROR',
      `${flag} ${path}: folder ${dir} does not exist; create it first or choose another ${flag}.`,
    );
  }
}

/**
 * The backend `--backend` names, initialized: kernels-js, or kernels-wasm (for `engine`, default
 * qnnpack) with kernels-js for the ops it has no kernel for.
 */
export async function makeBackend(name: 'js' | 'wasm', engine: Engine = 'qnnpack'): Promise<QuantizedBackend> {
  return name === 'js' ? jsBackend() : wasmBackend(engine);
}

/** Loads an ONNX model, naming the argument in errors. */
export async function loadModelArg(
  path: string,
  options: { backend?: QuantizedBackend; engine?: Engine; target?: OrtTarget } = {},
): Promise<QuintModel> {
  if (!existsSync(path)) throw new QuantError('IO_ERROR', `${path}: no such file; check the path of the model.`);
  if (statSync(path).isDirectory()) throw new QuantError('IO_ERROR', `${path} is a folder; pass an .onnx file.`);
  try {
    return await loadModel(path, options);
  } catch (e) {
    // Decoding errors of protobufjs (truncated or non-ONNX bytes) are not QuantErrors: say which file.
    if (!isQuantError(e)) {
      throw new QuantError(
        'BAD_ONNX',
        `${path} is not a valid ONNX model (${e instanceof Error ? e.message : String(e)}); pass a model saved by torch.onnx.export or quint.`,
        { cause: e },
      );
    }
    throw e;
  }
}

/**
 * Maps `--input` values to the model's inputs: `x.npy` for a single-input model, or
 * `name=x.npy` for each input (any order).
 */
export function readInputs(model: QuintModel, values: readonly string[]): Record<string, Tensor> {
  const names = model.inputNames;
  const byName: Record<string, Tensor> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    const named = eq > 0 && !v.slice(0, eq).includes('/') && names.includes(v.slice(0, eq));
    let name: string;
    let file: string;
    if (named) {
      name = v.slice(0, eq);
      file = v.slice(eq + 1);
    } else {
      if (names.length !== 1) {
        throw new QuantError(
          'USAGE',
          `--input ${v}: the model has ${names.length} inputs (${names.join(', ')}); pass --input <name>=<file.npy> for each.`,
        );
      }
      name = names[0]!;
      file = v;
    }
    if (name in byName) throw new QuantError('USAGE', `--input: input '${name}' is given twice; pass each input once.`);
    byName[name] = readFloatNpy(file, '--input');
  }
  const missing = names.filter((n) => !(n in byName));
  if (missing.length > 0) {
    throw new QuantError(
      'USAGE',
      `--input: no value for model input${missing.length > 1 ? 's' : ''} ${missing.join(', ')}; pass --input ${missing[0]}=<file.npy>.`,
    );
  }
  return byName;
}

/** A file name for an output tensor name (ONNX names may hold '/', ':' and the like). */
export function outputFileName(name: string): string {
  return `${name.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '') || 'output'}.npy`;
}
