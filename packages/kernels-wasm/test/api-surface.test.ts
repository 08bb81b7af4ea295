import { expect, it } from 'vitest';
import * as api from '../src/index.js';

it('exports exactly the public API', () => {
  expect(Object.keys(api).sort()).toMatchInlineSnapshot(`
    [
      "MAX_WASM_BYTES",
      "WASM_BACKEND_NAME",
      "WASM_OPS",
      "createBackendWithFallback",
      "createWasmBackend",
      "hasWasmSimd",
    ]
  `);
});
