import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { QuantError } from '@quint/tensor';
import { EXIT, installInterruptHandler, reportFailure } from './cli-support.js';
import { registerBench } from './commands/bench.js';
import { registerDemo } from './commands/demo.js';
import { registerExplain } from './commands/explain.js';
import { registerServe } from './commands/serve.js';
import { registerCompare } from './commands/compare.js';
import { registerInspect } from './commands/inspect.js';
import { registerQuantize } from './commands/quantize.js';
import { registerRun } from './commands/run.js';
import { registerReport } from './commands/report.js';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

/** Builds the `quint` command line (DESIGN.md "The CLI contract"). */
export function buildProgram(): Command {
  const program = new Command('quint')
    .description('int8 post-training quantization with real integer arithmetic, PyTorch- and ONNX Runtime-exact')
    .version(version, '--version', 'print the version')
    .option('--debug', 'print stack traces on failure')
    .helpOption('-h, --help', 'show help')
    .showSuggestionAfterError(true)
    .exitOverride()
    // Commander's own error text is replaced by the contract's one-line `quint: USAGE: …`.
    .configureOutput({ outputError: () => {} });
  registerDemo(program);
  registerBench(program);
  registerExplain(program);
  registerServe(program);
  registerQuantize(program);
  registerRun(program);
  registerCompare(program);
  registerInspect(program);
  registerReport(program);
  for (const cmd of program.commands) cmd.exitOverride().configureOutput({ outputError: () => {} });
  return program;
}

async function main(argv: string[]): Promise<number> {
  installInterruptHandler();
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    // A command that ran a child process (bench re-runs itself under --no-liftoff) leaves its status.
    return Number(process.exitCode ?? EXIT.ok);
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) return EXIT.ok; // --help, --version
      const msg = e.message.replace(/^error: /, '').replace(/\.$/, '');
      return reportFailure(new QuantError('USAGE', `${msg}; see quint --help`));
    }
    return reportFailure(e);
  }
}

process.exitCode = await main(process.argv);
