import { defineConfig } from 'tsup';

// The CLI is an app: one ESM bundle for Node; workspace packages stay imports resolved to their dist/.
export default defineConfig({
  entry: ['src/cli.ts'],
  format: ['esm'],
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  clean: true,
  dts: false,
});
