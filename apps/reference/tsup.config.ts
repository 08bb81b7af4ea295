import { defineConfig } from 'tsup';

// The CLI is an app: one ESM bundle for Node; workspace packages stay imports resolved to their dist/.
export default defineConfig({
  entry: ['src/cli.ts'],
  format: ['esm'],
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  // dist/web is the browser page (vite build, web/vite.config.ts): a CLI-only rebuild keeps it.
  clean: ['!web/**'],
  dts: false,
});
