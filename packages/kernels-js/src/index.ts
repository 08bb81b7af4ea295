export { createJsBackend } from './js-backend.js';
export type { JsBackendOptions } from './js-backend.js';
export { DEFAULT_MIN_INPUT_SCALE } from './prepack.js';
