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
