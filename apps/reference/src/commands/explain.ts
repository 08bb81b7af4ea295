import type { Command } from 'commander';
import { explainJson, explainText } from '../seed/explain-report.js';
import { runSeedProgram } from '../seed/seed-program.js';

/**
 * The options `quint explain` parses. Only what is implemented is declared: the seed explainer
 * (`--json`). `explain <model.onnx> --input <x.npy> --node <name> [--index i] [--engine E]` (issue 10)
 * adds the `[model]` argument and those options here, and a branch in the action.
 */
export interface ExplainOptions {
  readonly json?: boolean;
}

/** `quint explain [--json]`: the seed program's integer pipeline (engine qnnpack, torchCompat 1.13). */
export function registerExplain(program: Command): void {
  program
    .command('explain')
    .description(
      "the seed program's integer arithmetic: codes, int32 accumulators, bias, multiplier, output codes, checked against forward()",
    )
    .option('--json', 'print one JSON document instead of text')
    .addHelpText(
      'after',
      "\nRuns PyTorch's eager static-quantization example (QuantStub -> Conv2d(1,1,1) -> ReLU -> DeQuantStub,\n" +
        "get_default_qconfig('fbgemm'), calibrated on PyTorch's randn(4,1,4,4)) with engine qnnpack and\n" +
        'torchCompat 1.13, and shows for all 64 outputs the arithmetic the int8 kernel performed.\n',
    )
    .action((opts: ExplainOptions) => {
      explainSeed(opts);
    });
}

function explainSeed(opts: ExplainOptions): void {
  const run = runSeedProgram({ engine: 'qnnpack' });
  process.stdout.write(opts.json === true ? `${JSON.stringify(explainJson(run))}\n` : explainText(run));
}
