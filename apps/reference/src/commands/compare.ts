import type { Command } from 'commander';
import { compareModelOutputs, fuseFx, type OutputComparison } from '@quint/converter';
import type { GraphModule } from '@quint/fx-graph-tracer';
import type { QuintModel } from '@quint/onnx';
import { QuantError } from '@quint/tensor';
import { loadModelArg, readInputs, repeatable } from '../cli-io/options.js';

/** The options `quint compare` parses. */
export interface CompareOptions {
  readonly input: string[];
  readonly json?: boolean;
}

/** One row of `quint compare --json`. `sqnr` is null where the outputs are identical (infinite SQNR). */
export interface CompareJsonNode {
  readonly name: string;
  readonly op: string;
  readonly floatName: string;
  readonly sqnr: number | null;
  readonly l2: number;
  readonly cosine: number;
}

/** `quint compare <float.onnx> <int8.onnx> --input <x.npy> [--json]`: per-node SQNR (the numeric suite). */
export function registerCompare(program: Command): void {
  program
    .command('compare')
    .description(
      'per-node SQNR, L2 error and cosine similarity between a float model and its quantized version (the numeric suite)',
    )
    .argument('<float.onnx>', 'the float ONNX model')
    .argument('<int8.onnx>', 'the quantized model made from it (QDQ or QOperator)')
    .requiredOption(
      '--input <[name=]x.npy>',
      'float32 .npy input; for several inputs --input name=x.npy, repeated',
      repeatable,
    )
    .option('--json', 'print one JSON document instead of text')
    .option('--debug', 'print stack traces on failure')
    .addHelpText(
      'after',
      "\nRows follow the quantized model's execution order; each is compared with the float model's layer of the\n" +
        'same name (after fusion: a fused conv1 with the float relu1 output). SQNR = 20 log10(|x| / |x - y|) in dB,\n' +
        'as torch.ao.ns.fx.utils.compute_sqnr; l2 = |x - y| / |x|; cosine similarity of the flattened outputs.\n',
    )
    .action(async (floatPath: string, int8Path: string, opts: CompareOptions) => {
      const rows = await compareFiles(floatPath, int8Path, opts.input);
      process.stdout.write(opts.json === true ? `${JSON.stringify({ nodes: rows }, null, 2)}\n` : compareText(rows));
    });
}

/**
 * The quantized file's node names are the float graph's names, fused, with the exporter's `_<n>`
 * de-duplication suffix (`conv1_1` for the fused `conv1`); alias each such node to the float name so
 * the numeric suite can pair them. See /tmp/requests-cli.md 3.
 */
function aliasExportedNames(floatGm: GraphModule, qGm: GraphModule): void {
  const floatNames = new Set(floatGm.graph.nodes.map((n) => n.name));
  for (const n of qGm.graph.nodes) {
    if (floatNames.has(n.name) || n.meta['nsName'] !== undefined) continue;
    const base = n.name.replace(/_\d+$/, '');
    if (base !== n.name && floatNames.has(base)) n.meta['nsName'] = base;
  }
}

/** Runs both models on the inputs and returns the numeric suite's rows. */
export async function compareFiles(
  floatPath: string,
  int8Path: string,
  inputs: readonly string[],
): Promise<CompareJsonNode[]> {
  const float: QuintModel = await loadModelArg(floatPath);
  const quant: QuintModel = await loadModelArg(int8Path);
  if (float.kind !== 'float')
    throw new QuantError(
      'USAGE',
      `${floatPath} is a quantized model; pass the float model first, then the quantized one.`,
    );
  if (quant.kind !== 'quantized')
    throw new QuantError(
      'USAGE',
      `${int8Path} is a float model; pass the quantized model second (quint quantize writes one).`,
    );
  if (float.inputNames.join('\n') !== quant.inputNames.join('\n')) {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `the models take different inputs (${float.inputNames.join(', ')} vs ${quant.inputNames.join(', ')}); pass the float model the quantized one was made from.`,
    );
  }
  const x = readInputs(float, inputs);
  const fused = fuseFx(float.graphModule);
  aliasExportedNames(fused, quant.graphModule);
  const rows: OutputComparison[] = compareModelOutputs(fused, quant.graphModule, ...float.inputNames.map((n) => x[n]));
  return rows.map((r) => ({
    name: r.name,
    op: r.op,
    floatName: r.floatName,
    sqnr: Number.isFinite(r.sqnr) ? r.sqnr : null,
    l2: r.l2,
    cosine: r.cosine,
  }));
}

function compareText(rows: readonly CompareJsonNode[]): string {
  const w = Math.max(4, ...rows.map((r) => r.name.length));
  const wo = Math.max(2, ...rows.map((r) => r.op.length));
  const lines = [
    `${'node'.padEnd(w)}  ${'op'.padEnd(wo)}  ${'SQNR dB'.padStart(8)}  ${'L2'.padStart(9)}  ${'cosine'.padStart(8)}  float node`,
  ];
  for (const r of rows) {
    lines.push(
      `${r.name.padEnd(w)}  ${r.op.padEnd(wo)}  ${(r.sqnr === null ? 'inf' : r.sqnr.toFixed(2)).padStart(8)}  ${r.l2.toExponential(2).padStart(9)}  ${r.cosine.toFixed(5).padStart(8)}  ${r.floatName}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
