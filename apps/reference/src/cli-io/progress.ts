// Progress bars on stderr, only when stderr is a terminal (DESIGN.md: stdout carries only results;
// bars only on a TTY), so piped or captured runs see no control characters.
import cliProgress from 'cli-progress';

/** A progress display: `update(done, total)` as work advances, `stop()` when it ends. */
export interface Progress {
  update(done: number, total: number): void;
  stop(): void;
}

/** A cli-progress bar on stderr labelled `label`, or a no-op when stderr is not a TTY. */
export function progressBar(label: string): Progress {
  if (process.stderr.isTTY !== true) return { update: () => {}, stop: () => {} };
  let bar: cliProgress.SingleBar | null = null;
  return {
    update(done: number, total: number): void {
      if (bar === null) {
        bar = new cliProgress.SingleBar(
          {
            stream: process.stderr,
            format: `${label} [{bar}] {value}/{total} {unit} | {duration_formatted}`,
            hideCursor: true,
            clearOnComplete: true,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total, done, { unit: 'batches' });
      } else bar.update(done);
    },
    stop(): void {
      bar?.stop();
      bar = null;
    },
  };
}
