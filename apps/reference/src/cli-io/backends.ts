// The backends of the model commands. kernels-wasm has SIMD128 kernels for conv2d/linear and, per
// engine, a few other ops; everything else runs on kernels-js. Which ops kernels-wasm takes depends on
// the engine (e.g. `avgPool2d` has no wasm kernel for engine ort): the combined backend routes each call by
// the engine it names, and the given engine decides where weights are prepacked.
import { createJsBackend } from '@quint/kernels-js';
import { createWasmBackend } from '@quint/kernels-wasm';
import { composeBackends, type Engine, type QuantizedBackend } from '@quint/qtensor';
import { isQuantError } from '@quint/tensor';
import { warn } from '../cli-support.js';

/** kernels-js, initialized. */
export async function jsBackend(): Promise<QuantizedBackend> {
  const b = createJsBackend();
  await b.init();
  return b;
}

/**
 * kernels-wasm for the ops it supports under `engine`, kernels-js for the rest, as one backend;
 * weights are prepacked in wasm memory. `threads` > 1 runs large conv/linear calls on that many
 * lanes (worker threads on shared memory; outputs are identical). `dispose()` frees both.
 *
 * @throws QuantError `BACKEND_INIT_FAILED` when WebAssembly SIMD128 is unavailable or the workers
 * cannot start.
 */
export async function wasmBackend(engine: Engine, threads = 1): Promise<QuantizedBackend> {
  const backend = composeBackends({
    primary: createWasmBackend({ threads }),
    fallback: createJsBackend(),
    engine,
    name: 'kernels-wasm+js',
  });
  await backend.init();
  return backend;
}

/** The wasm backend for `engine` where it can start, else kernels-js with a warning. */
export async function fastBackend(engine: Engine): Promise<QuantizedBackend> {
  try {
    return await wasmBackend(engine);
  } catch (e) {
    if (!isQuantError(e) || e.code !== 'BACKEND_INIT_FAILED') throw e;
    warn(`wasm backend unavailable (${e.message}); using kernels-js.`);
    return jsBackend();
  }
}
