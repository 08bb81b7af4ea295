// The demo's int8 backend: kernels-wasm for the ops it has SIMD128 kernels for (conv2d/linear,
// pooling, add, activations on qnnpack), kernels-js for the rest (quantize, dequantize, flatten, …),
// composed with @quint/qtensor's composeBackends for the demo's engine, qnnpack.
import { createJsBackend } from '@quint/kernels-js';
import { createWasmBackend } from '@quint/kernels-wasm';
import { composeBackends, opNames, type QuantizedBackend } from '@quint/qtensor';

/** The backend's name, as summary.json and the report show it. */
export const WASM_WITH_JS_NAME = 'kernels-wasm+js';

/** What {@link createWasmWithJsFallback} returns: the combined backend and which ops ran where. */
export interface WasmWithJs {
  readonly backend: QuantizedBackend;
  /** Ops whose kernel is the wasm one on engine qnnpack. */
  readonly wasmOps: readonly string[];
}

/**
 * kernels-wasm for the ops it has a kernel for on engine qnnpack, kernels-js for the rest, as one
 * backend (weights prepacked in wasm memory). Both are initialized here; `dispose()` frees both.
 *
 * @throws `BACKEND_INIT_FAILED` from kernels-wasm when WebAssembly SIMD128 is unavailable.
 * @example
 * const { backend } = await createWasmWithJsFallback();
 * const q = convertFx(prepared, { backend, engine: 'qnnpack' });
 */
export async function createWasmWithJsFallback(): Promise<WasmWithJs> {
  const wasm = createWasmBackend();
  const backend = composeBackends({
    primary: wasm,
    fallback: createJsBackend(),
    engine: 'qnnpack',
    name: WASM_WITH_JS_NAME,
  });
  await backend.init();
  return { backend, wasmOps: opNames().filter((op) => wasm.supports(op, { engine: 'qnnpack' })) };
}
