import { defineConfig, type Options } from 'tsup';

/** One tsup configuration for every library package: ESM + d.ts from src/index.ts. */
export function libraryConfig(overrides: Options = {}): ReturnType<typeof defineConfig> {
  return defineConfig({
    entry: ['src/index.ts'],
    format: ['esm'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'es2022',
    // Class and function names are part of behaviour here (error messages, QConfigMapping object
    // types keyed by class name), so the bundle keeps them as written instead of `_Tensor`/`add2`.
    keepNames: true,
    ...overrides,
  });
}

/**
 * The kernel packages' configuration (kernels-js, kernels-wasm): {@link libraryConfig} without
 * keepNames. They run on every op call and nothing reads their functions' names, while keepNames
 * wraps each named closure an op creates in an Object.defineProperty call; without it, a small conv
 * + linear on kernels-wasm ran 1.17–1.21× as fast (same-process rounds). tensor and qtensor keep it:
 * other packages print their class names (`Tensor`).
 */
export function kernelLibraryConfig(): ReturnType<typeof defineConfig> {
  return libraryConfig({ keepNames: false });
}
