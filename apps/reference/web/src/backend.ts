// The page's int8 backend: kernels-wasm for the ops it has SIMD128 kernels for under the chosen
// engine, kernels-js for every other op (composeBackends from @quint/qtensor). In a
// cross-origin-isolated worker the wasm backend runs with worker threads over shared memory.
import { createJsBackend } from '@quint/kernels-js';
import { createWasmBackend } from '@quint/kernels-wasm';
import wasmUrl from '@quint/kernels-wasm/kernels.wasm?url';
import threadsWasmUrl from '@quint/kernels-wasm/kernels-threads.wasm?url';
import { composeBackends, type Engine, type QuantizedBackend } from '@quint/qtensor';
import { failureLine } from './errors.js';

/** The backend and how it came to be, for the page to say. */
export interface PageBackend {
  readonly backend: QuantizedBackend;
  /** e.g. `kernels-wasm (2 threads) + kernels-js`. */
  readonly label: string;
}

async function startWasm(threads: number, onWarning: (m: string) => void): Promise<QuantizedBackend> {
  const wasm = createWasmBackend({
    wasmUrl: new URL(wasmUrl, self.location.href),
    threadsWasmUrl: new URL(threadsWasmUrl, self.location.href),
    threads,
    onWarning,
  });
  await wasm.init();
  return wasm;
}

/**
 * Starts kernels-wasm (threads when the context is cross-origin isolated, else one) combined with
 * kernels-js; when wasm cannot start at all, kernels-js alone, with a warning saying why.
 */
export async function createPageBackend(engine: Engine, onWarning: (m: string) => void): Promise<PageBackend> {
  const js = createJsBackend({ onWarning });
  await js.init();
  const want =
    globalThis.crossOriginIsolated === true ? Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1)) : 1;
  let wasm: QuantizedBackend | undefined;
  let threads = want;
  try {
    wasm = await startWasm(threads, onWarning);
  } catch (e) {
    if (threads > 1) {
      onWarning(`quint: warning: wasm threads could not start (${failureLine(e)}); using one thread.`);
      threads = 1;
      try {
        wasm = await startWasm(1, onWarning);
      } catch (e2) {
        onWarning(`quint: warning: kernels-wasm could not start (${failureLine(e2)}); using kernels-js.`);
      }
    } else {
      onWarning(`quint: warning: kernels-wasm could not start (${failureLine(e)}); using kernels-js.`);
    }
  }
  if (wasm === undefined) return { backend: js, label: 'kernels-js' };
  const backend = composeBackends({ primary: wasm, fallback: js, engine, name: 'kernels-wasm+js' });
  await backend.init();
  return { backend, label: `kernels-wasm (${threads} thread${threads === 1 ? '' : 's'}) + kernels-js` };
}
