// The browser page's script (bundled by test/browser.test.ts with esbuild): loads the wasm backend
// from its default URL, runs linear/conv/depthwise on every claimed engine against kernels-js on this
// thread, then the threaded-size checks on 2 lanes in a worker (threads need a thread that may block),
// and publishes both outcomes on window.__quint.
import { createJsBackend } from '@quint/kernels-js';
import type { QuantizedBackend } from '@quint/qtensor';
import { createWasmBackend } from '../../src/index.js';
import { compareWithJs, type Outcome } from './checks.js';

async function main(): Promise<Outcome & { threads?: unknown }> {
  const wasm = createWasmBackend();
  const js: QuantizedBackend = createJsBackend();
  await wasm.init();
  await js.init();
  const out = compareWithJs(wasm, js, 'small');
  wasm.dispose();
  js.dispose();
  const worker = new Worker(new URL('./threads-worker.js', import.meta.url), { type: 'module' });
  const threads = await new Promise<unknown>((resolve, reject) => {
    worker.onmessage = (e) => resolve(e.data);
    worker.onerror = (e) => reject(new Error(`threads worker: ${e.message}`));
  });
  worker.terminate();
  return { ...out, threads };
}

const w = window as unknown as { __quint?: Outcome };
main().then(
  (o) => (w.__quint = o),
  (e: unknown) => (w.__quint = { simd: false, checked: 0, mismatches: [], error: String((e as Error)?.stack ?? e) }),
);
