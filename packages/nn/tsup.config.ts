import { libraryConfig } from '../../tooling/tsup.js';

// keepNames: printouts and errors use class names (`Conv2d`), and the float and quantized
// namespaces both define `Conv2d`, `Linear`, …, which esbuild would otherwise rename when bundling.
export default libraryConfig({ keepNames: true });
