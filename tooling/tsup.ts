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
    ...overrides,
  });
}
