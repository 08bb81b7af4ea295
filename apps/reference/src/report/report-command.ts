// The two sources of `quint report`: the demo's MNIST model (default) and any float ONNX model with
// calibration data and an input from .npy files.
import { QuantError } from '@quint/tensor';
import { firstNonFinite, readFloatNpy } from '../cli-io/npy-file.js';
import { loadModelArg } from '../cli-io/options.js';
import { loadMnistSplit, mnistBatch } from '../mnist/data.js';
import { latencyImages, loadMnistOnnx, mnistOnnxPath } from '../demo/mnist-pipeline.js';
import { spreadBatch } from '../demo/run-demo.js';
import type { ReportData } from './build-report.js';
import { modelReport } from './model-report.js';

/** Images of the MNIST SQNR input and of the batch-1 latency runs. */
const SQNR_IMAGES = 100;
const LATENCY_IMAGES = 100;

/**
 * The report of the demo's model: the committed MNIST CNN imported from ONNX, calibrated on the 200
 * calibration images as one batch (as PyTorch was, torchCompat 1.13), compared on 100 evaluation
 * images, timed at batch 1 on 100 images. The demo's own report adds its accuracies.
 */
export async function mnistReport(generator: string): Promise<ReportData> {
  const split = loadMnistSplit();
  const calibration = mnistBatch(split.calibration);
  const { data } = await modelReport(mnistOnnxPath(), {
    model: await loadMnistOnnx(),
    calibration,
    batchSize: calibration.shape[0]!,
    torchCompat: '1.13',
    input: spreadBatch(split.evaluation, SQNR_IMAGES),
    sqnrInputLabel: `${SQNR_IMAGES} MNIST evaluation images (every digit)`,
    latencyInputs: latencyImages(split.evaluation, LATENCY_IMAGES),
    latencyUnit: `one image, batch 1: median of ${LATENCY_IMAGES} evaluation images`,
    title: "quint report: MNIST CNN (the demo's model), fp32 vs int8",
    summary: [{ label: 'calibration images', value: String(split.calibration.count) }],
    generator,
  });
  return data;
}

/**
 * The report of any float ONNX model: `--calib` and `--input` read as float32 .npy (float64 is
 * rounded; other dtypes fail with BAD_DTYPE, NaN/Inf with NON_FINITE).
 */
export async function npyReport(
  modelPath: string,
  calibPath: string,
  inputPath: string,
  generator: string,
): Promise<ReportData> {
  const model = await loadModelArg(modelPath);
  const calibration = readFloatNpy(calibPath, '--calib');
  const input = readFloatNpy(inputPath, '--input');
  for (const [flag, path, t] of [
    ['--calib', calibPath, calibration],
    ['--input', inputPath, input],
  ] as const) {
    const at = firstNonFinite(t);
    if (at >= 0)
      throw new QuantError(
        'NON_FINITE',
        `${flag} ${path}: element ${at} is ${t.toFloat32Array()[at]}; clean the data (quint report takes finite values only).`,
      );
  }
  const { data } = await modelReport(modelPath, {
    model,
    calibration,
    input,
    summary: [
      { label: 'model', value: modelPath },
      { label: 'calibration samples', value: String(calibration.shape[0] ?? 1) },
    ],
    generator,
  });
  return data;
}
