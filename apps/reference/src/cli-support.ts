import { isQuantError } from '@quint/tensor';
import { removePendingTemps } from './io.js';

/** Exit codes of the CLI contract (DESIGN.md). */
export const EXIT = { ok: 0, failure: 1, usage: 2, interrupted: 130 } as const;

/** True when `--debug` was given anywhere on the command line. */
export const debugMode = (): boolean => process.argv.includes('--debug');

/** Prints a warning line on stderr, as the contract spells it. */
export function warn(message: string): void {
  process.stderr.write(`quint: warning: ${message}\n`);
}

/**
 * Reports a failure as the last stderr line `quint: <CODE>: <message>` and returns the exit code:
 * 2 for usage errors, 1 for everything else. Stack traces only with --debug.
 */
export function reportFailure(e: unknown): number {
  if (debugMode() && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
  if (isQuantError(e)) {
    process.stderr.write(`quint: ${e.code}: ${firstLine(e.message)}\n`);
    return e.code === 'USAGE' ? EXIT.usage : EXIT.failure;
  }
  const msg = e instanceof Error ? e.message : String(e);
  process.stderr.write(`quint: INTERNAL: ${firstLine(msg)} (rerun with --debug for details and report it)\n`);
  return EXIT.failure;
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.trim();
}

/**
 * On Ctrl-C: remove temporary files, say so, exit 130. A reader that closes stdout early
 * (`quint inspect --json | head`) ends the run quietly instead of crashing on EPIPE.
 */
export function installInterruptHandler(): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(EXIT.ok);
    throw e;
  });
  process.once('SIGINT', () => {
    removePendingTemps();
    process.stderr.write('quint: INTERRUPTED: interrupted; temporary files removed, nothing was written\n');
    process.exit(EXIT.interrupted);
  });
}
