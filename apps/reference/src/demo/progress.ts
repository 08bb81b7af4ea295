// The demo's progress bar: cli-progress on stderr, only when stderr is a terminal (DESIGN.md "The
// CLI contract": stdout carries only results; bars only on a TTY).
import cliProgress from 'cli-progress';

/** A progress bar over abstract work units, with the current step's name. */
export interface Progress {
  /** Names the step now running. */
  step(label: string): void;
  /** Adds `units` of work done. */
  tick(units?: number): void;
  /** Removes the bar (call before printing results). */
  stop(): void;
}

/** A progress that shows nothing (stderr not a TTY, or tests). */
export const NO_PROGRESS: Progress = { step: () => {}, tick: () => {}, stop: () => {} };

/**
 * A cli-progress bar of `total` units on stderr when `enabled` and stderr is a TTY; else
 * {@link NO_PROGRESS}.
 */
export function createProgress(total: number, enabled = process.stderr.isTTY === true): Progress {
  if (!enabled) return NO_PROGRESS;
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: 'quint demo [{bar}] {percentage}% | {step}',
      barsize: 30,
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  let value = 0;
  bar.start(total, 0, { step: 'starting' });
  return {
    step(label) {
      bar.update(value, { step: label });
    },
    tick(units = 1) {
      value = Math.min(total, value + units);
      bar.update(value);
    },
    stop() {
      bar.stop();
    },
  };
}
