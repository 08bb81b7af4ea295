import type { Command } from 'commander';
import { QuantError } from '@quint/tensor';
import { checkOutputFolder } from '../cli-io/options.js';
import { writeFileAtomic } from '../io.js';
import { buildReport } from '../report/build-report.js';
import { mnistReport, npyReport } from '../report/report-command.js';

/** The options `quint report` parses. */
export interface ReportOptions {
  readonly calib?: string;
  readonly input?: string;
  readonly out: string;
}

/** `quint report [<model.onnx> --calib <calib.npy> --input <x.npy>] [--out out/report.html]`. */
export function registerReport(program: Command): void {
  program
    .command('report')
    .argument('[model]', "a float ONNX model (default: the demo's MNIST CNN)")
    .option('--calib <calib.npy>', 'calibration data, float32 .npy [N, ...] (with <model>)')
    .option('--input <x.npy>', 'input for the per-layer SQNR and the latency calls, float32 .npy (with <model>)')
    .option('--out <report.html>', 'the HTML file to write (its folder must exist)', 'out/report.html')
    .description(
      "a self-contained HTML report: per-layer SQNR, activation histograms with the observers' ranges, weights per channel, latency",
    )
    .addHelpText(
      'after',
      "\nQuantizes <model> as `quint quantize` does by default (getDefaultQConfigMapping('qnnpack'), engine qnnpack)\n" +
        "and plots float vs int8. Without <model>: the demo's MNIST CNN, calibrated on its 200 calibration images.\n" +
        'The file inlines Chart.js and its data: it opens without a network.\n',
    )
    .action(async (model: string | undefined, opts: ReportOptions) => {
      checkOutputFolder(opts.out, '--out');
      const generator = `quint ${program.version() ?? '0.0.0'}, quint report, ${new Date().toISOString()}`;
      let html: string;
      if (model === undefined) {
        if (opts.calib !== undefined || opts.input !== undefined) {
          throw new QuantError(
            'USAGE',
            "--calib and --input go with a <model.onnx>; without one the report is of the demo's MNIST model",
          );
        }
        html = buildReport(await mnistReport(generator));
      } else {
        if (opts.calib === undefined || opts.input === undefined) {
          throw new QuantError('USAGE', `quint report ${model} needs --calib <calib.npy> and --input <x.npy>`);
        }
        html = buildReport(await npyReport(model, opts.calib, opts.input, generator));
      }
      writeFileAtomic(opts.out, html);
      process.stdout.write(`wrote ${opts.out}\n`);
    });
}
