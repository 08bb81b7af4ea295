import { InvalidArgumentError, Option, type Command } from 'commander';
import type { Engine } from '@quint/qtensor';
import { QuantError } from '@quint/tensor';
import { explainModel, findExplainNode } from '../explain/model-explain.js';
import { explainModelText } from '../explain/model-text.js';
import { loadModelArg, makeBackend, readInputs, repeatable } from '../cli-io/options.js';
import { explainJson, explainText } from '../seed/explain-report.js';
import { runSeedProgram } from '../seed/seed-program.js';

/**
 * The options `quint explain` parses: the seed explainer (`--json` alone), or
 * `explain <model.onnx> --input <x.npy> --node <name> [--index i] [--engine E]` (issue 10).
 */
export interface ExplainOptions {
  readonly json?: boolean;
  readonly input?: string[];
  readonly node?: string;
  readonly index?: number;
  readonly engine?: Engine;
}

/** Commander parser of `--index`: a whole number ≥ 0, anything else is a usage error. */
function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!/^\s*[+]?\d+\s*$/.test(value) || !Number.isSafeInteger(n)) {
    throw new InvalidArgumentError(`'${value}' is not a whole number ≥ 0; pass a flat NCHW index of the node's output`);
  }
  return n;
}

/**
 * `quint explain [--json]`: the seed program's integer pipeline (engine qnnpack, torchCompat 1.13);
 * `quint explain <model.onnx> --input <x.npy> --node <name> [--index i] [--engine E] [--json]`: the
 * same walk-through for a quantized conv/linear node of any model.
 */
export function registerExplain(program: Command): void {
  program
    .command('explain')
    .description(
      "the integer arithmetic of a quantized conv/linear: codes, int32 accumulators, bias, multiplier, output codes, checked against forward() (the seed program's, or any model's node)",
    )
    .argument('[model.onnx]', 'a quantized ONNX model (QDQ or QOperator); without it, the seed program')
    .option(
      '--input <[name=]x.npy>',
      'float32 .npy input of the model; for several inputs --input name=x.npy, repeated',
      repeatable,
    )
    .option('--node <name>', 'the quantized conv or linear node to explain (ONNX node name, as quint inspect lists)')
    .option('--index <i>', 'only this output element of the node (flat NCHW index; default: all)', nonNegativeInt)
    .addOption(
      new Option('--engine <engine>', "requantization convention (default: the file's quint.engine, else ort)").choices(
        ['qnnpack', 'onednn', 'ort', 'fbgemm'],
      ),
    )
    .option('--json', 'print one JSON document instead of text')
    .option('--debug', 'print stack traces on failure')
    .addHelpText(
      'after',
      "\nWithout a model: runs PyTorch's eager static-quantization example (QuantStub -> Conv2d(1,1,1) -> ReLU -> DeQuantStub,\n" +
        "get_default_qconfig('fbgemm'), calibrated on PyTorch's randn(4,1,4,4)) with engine qnnpack and\n" +
        'torchCompat 1.13, and shows for all 64 outputs the arithmetic the int8 kernel performed.\n' +
        '\nWith a model: runs it on --input and shows the same for node --node (all its outputs, or --index).\n' +
        '\nExamples:\n  quint explain --json\n  quint explain model.int8.onnx --input x.npy --node conv1_1 --index 0\n',
    )
    .action(async (model: string | undefined, opts: ExplainOptions) => {
      if (model === undefined) explainSeed(opts);
      else await explainModelFile(model, opts);
    });
}

function explainSeed(opts: ExplainOptions): void {
  const given = (['input', 'node', 'index', 'engine'] as const).filter((k) => opts[k] !== undefined);
  if (given.length > 0) {
    throw new QuantError(
      'USAGE',
      `--${given[0]} needs a model: quint explain <model.onnx> --input <x.npy> --node <name>; without a model, explain shows the seed program (engine qnnpack)`,
    );
  }
  const run = runSeedProgram({ engine: 'qnnpack' });
  process.stdout.write(opts.json === true ? `${JSON.stringify(explainJson(run))}\n` : explainText(run));
}

async function explainModelFile(path: string, opts: ExplainOptions): Promise<void> {
  if (opts.input === undefined)
    throw new QuantError(
      'USAGE',
      `explain ${path}: --input <x.npy> is required (the model runs on it); pass a float32 .npy`,
    );
  if (opts.node === undefined)
    throw new QuantError('USAGE', `explain ${path}: --node <name> is required; quint inspect ${path} lists the nodes`);
  const backend = await makeBackend('js'); // the reference kernels: their trace hook is the walk-through
  try {
    const model = await loadModelArg(path, { backend, ...(opts.engine === undefined ? {} : { engine: opts.engine }) });
    findExplainNode(model, opts.node); // a wrong --node fails before the input is read
    const inputs = readInputs(model, opts.input);
    const run = await explainModel(model, inputs, {
      node: opts.node,
      ...(opts.index === undefined ? {} : { index: opts.index }),
    });
    process.stdout.write(opts.json === true ? `${JSON.stringify(explainJson(run))}\n` : explainModelText(run, path));
  } finally {
    backend.dispose();
  }
}
