import { libraryConfig } from '../../tooling/tsup.js';

// No keepNames: this package runs on every op call and nothing in it reads a function's or class's
// name (QuantError sets its own), while keepNames wraps each named closure an op creates in an
// Object.defineProperty call: without it, a small conv + linear on kernels-wasm ran 1.17–1.21× as
// fast (same-process rounds).
export default libraryConfig({ keepNames: false });
