import { libraryConfig } from '../../tooling/tsup.js';

// No keepNames: this package runs on every op call and nothing reads its functions' names, while
// keepNames wraps each named closure an op creates in an Object.defineProperty call; without it, a
// small conv + linear on kernels-wasm ran 1.17–1.21× as fast (same-process rounds). tensor and
// qtensor keep it: other packages print their class names (`Tensor`).
export default libraryConfig({ keepNames: false });
