import { InvalidArgumentError, type Command } from 'commander';
import { startServer } from '../serve/server.js';

function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535)
    throw new InvalidArgumentError(`'${value}' is not a port in 0..65535 (0 picks a free one)`);
  return n;
}

/**
 * `quint serve [--port N]`: the browser page on 127.0.0.1 only, cross-origin isolated; prints the
 * URL on stdout and runs until Ctrl-C (exit 130, as every interrupted command).
 */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve the browser page (quantize in the browser) on 127.0.0.1; prints the URL')
    .option('--port <n>', 'TCP port on 127.0.0.1; 0 picks a free one', parsePort, 0)
    .addHelpText(
      'after',
      '\nThe page quantizes an ONNX model in the browser (a Web Worker on kernels-wasm), shows the report,\n' +
        'runs one input through float and int8, and downloads the int8 ONNX. Stop with Ctrl-C.\n\n' +
        'Examples:\n  quint serve\n  quint serve --port 8080\n',
    )
    .action(async (opts: { port: number }) => {
      const server = await startServer({ port: opts.port });
      // Runs before the CLI's interrupt handler, which then exits with 130.
      process.prependOnceListener('SIGINT', () => void server.close());
      process.stdout.write(`${server.url}\n`);
      await new Promise<never>(() => {});
    });
}
