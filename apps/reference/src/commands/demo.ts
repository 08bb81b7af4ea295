import type { Command } from 'commander';
import { runDemo } from '../demo/run-demo.js';

/** `quint demo`: the main job (what `npx -y pnpm@10.34.9 start` runs). */
export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      "the main job: the seed program's integer arithmetic, then MNIST fp32 vs int8 (eager and FX, kernels-js and kernels-wasm); writes out/summary.json and out/report.html",
    )
    .addHelpText(
      'after',
      '\n1. The seed program (QuantStub -> Conv2d(1,1,1) -> ReLU -> DeQuantStub): one output element as the int8\n' +
        '   kernel computed it (codes, int32 accumulator and bias, multiplier, output code), equal to forward().\n' +
        '2. MNIST: the committed PyTorch CNN imported from ONNX, quantized in eager and graph (FX) mode, evaluated\n' +
        '   on the ~2,004 evaluation images: accuracy, agreement, model bytes, batch-1 latency.\n' +
        'Writes out/summary.json and out/report.html (folder out/ is created in the current directory).\n',
    )
    .action(async () => {
      await runDemo({ version: program.version() ?? '0.0.0' });
    });
}
