/** How long one sample's batch of calls runs (each lane's, in two-lanes.ts), in ms. @internal */
export const SAMPLE_MS = 60;

/**
 * Calls `call` until `ms` milliseconds have passed (at least once, awaiting each) and returns ms per
 * call: one sample of the bench. Its source text is also the bench workers' copy of it
 * (two-lanes.ts, ort-threads.ts), so it uses nothing from outside itself. @internal
 */
export async function timeCalls(call: () => unknown, ms: number): Promise<number> {
  const t0 = performance.now();
  let n = 0;
  let t = 0;
  do {
    await call();
    n++;
    t = performance.now() - t0;
  } while (t < ms);
  return t / n;
}
