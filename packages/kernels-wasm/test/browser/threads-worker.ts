// The browser test's worker (bundled by test/browser.test.ts): in a cross-origin-isolated page's
// dedicated worker, the wasm backend starts 2 lanes (this worker plus one it spawns over shared
// memory) and runs the threaded-size checks against kernels-js, then posts the outcome.
import { createJsBackend } from '@quint/kernels-js';
import { createWasmBackend } from '../../src/index.js';
import { compareWithJs, type Outcome } from './checks.js';

async function main(): Promise<Outcome & { isolated: boolean }> {
  const isolated = globalThis.crossOriginIsolated === true;
  const wasm = createWasmBackend({ threads: 2 });
  const js = createJsBackend();
  await wasm.init();
  await js.init();
  const out = compareWithJs(wasm, js, 'threaded');
  wasm.dispose();
  js.dispose();
  return { ...out, isolated };
}

main().then(
  (o) => postMessage(o),
  (e: unknown) =>
    postMessage({
      simd: false,
      checked: 0,
      mismatches: [],
      isolated: globalThis.crossOriginIsolated === true,
      error: String((e as Error)?.stack ?? e),
    }),
);
