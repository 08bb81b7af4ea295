export { createWasmBackend, createBackendWithFallback, WASM_BACKEND_NAME, WASM_OPS } from './backend.js';
export type { WasmBackendOptions, FallbackOptions } from './backend.js';
export { hasWasmSimd } from './abi.js';
export { MAX_WASM_BYTES } from './heap.js';
