// The demo's int8 backends. kernels-wasm has SIMD128 kernels for conv2d/linear only; every other op
// (quantize, add, pooling, flatten, …) answers supports() === false and, as its README says, runs on
// kernels-js. This wires the two into one QuantizedBackend a converted model can be bound to.
import { createJsBackend } from '@quint/kernels-js';
import { createWasmBackend } from '@quint/kernels-wasm';
import { defineBackend, opNames, type KernelTable, type QuantizedBackend } from '@quint/qtensor';

/** The backend's name, as summary.json and the report show it. */
export const WASM_WITH_JS_NAME = 'kernels-wasm+js';

/** What {@link createWasmWithJsFallback} returns: the combined backend and which ops ran where. */
export interface WasmWithJs {
  readonly backend: QuantizedBackend;
  /** Ops whose kernel is the wasm one (for every engine the wasm backend claims). */
  readonly wasmOps: readonly string[];
}

/**
 * kernels-wasm for the ops it has a kernel for, kernels-js for the rest, as one backend: weights
 * are prepacked by the wasm backend (conv2d/linear run in wasm memory); `supports(op)` asks the
 * wasm backend first, then kernels-js. Both are initialized here; `dispose()` frees both.
 *
 * @throws `BACKEND_INIT_FAILED` from kernels-wasm when WebAssembly SIMD128 is unavailable.
 * @example
 * const { backend } = await createWasmWithJsFallback();
 * const q = convertFx(prepared, { backend, engine: 'qnnpack' });
 */
export async function createWasmWithJsFallback(): Promise<WasmWithJs> {
  const wasm = createWasmBackend();
  const js = createJsBackend();
  await wasm.init();
  await js.init();
  const kernels: Partial<Record<string, unknown>> = {};
  const wasmOps: string[] = [];
  for (const op of opNames()) {
    // A kernel counts as wasm when the wasm backend supports the op for qnnpack, the demo's engine.
    const fromWasm = wasm.supports(op, { engine: 'qnnpack' });
    if (fromWasm) wasmOps.push(op);
    kernels[op] = fromWasm ? wasm.kernels[op] : js.kernels[op];
  }
  const backend = defineBackend({
    name: WASM_WITH_JS_NAME,
    kernels: kernels as Partial<KernelTable>,
    supports: (op, params) => wasm.supports(op, params) || js.supports(op, params),
    prepackConv2d: (w, b, o) => wasm.prepackConv2d(w, b, o),
    prepackLinear: (w, b, o) => wasm.prepackLinear(w, b, o),
    dispose: () => {
      wasm.dispose();
      js.dispose();
    },
  });
  return { backend, wasmOps };
}
