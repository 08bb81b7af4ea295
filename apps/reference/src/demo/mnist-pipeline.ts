// The MNIST part of `quint demo`: the committed float model imported from ONNX, quantized in eager
// mode (MnistCnn from @quint/nn with the same weights) and in graph mode (prepareFx/convertFx on
// the imported GraphModule), evaluated on the ≈2,004 evaluation images, timed at batch 1.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { QuantError, Tensor } from '@quint/tensor';
import type { QTensor, QuantizedBackend } from '@quint/qtensor';
import { getDefaultQConfig, getDefaultQConfigMapping } from '@quint/observers';
import type { Module } from '@quint/nn';
import type { GraphModule } from '@quint/fx-graph-tracer';
import { convert, convertFx, fuseModules, modelBytes, prepare, prepareFx } from '@quint/converter';
import { createJsBackend } from '@quint/kernels-js';
import { loadModel, type QuintModel } from '@quint/onnx';
import { mnistAssetsDir, mnistBatch, type MnistSet } from '../mnist/data.js';
import { loadMnistCnn, MNIST_EAGER_FUSE, type MnistCnn } from '../mnist/model.js';

/** The parts of `meta.json` the demo compares with: PyTorch 1.13's accuracies and predictions. */
export interface MnistMeta {
  readonly torch: string;
  readonly accuracy: { readonly fp32: number; readonly int8Fx: number; readonly int8Eager: number };
  readonly evaluation: {
    readonly labels: string;
    readonly predFp32: string;
    readonly predInt8Fx: string;
    readonly predInt8Eager: string;
  };
}

/** Reads `assets/mnist/meta.json`. */
export function readMnistMeta(): MnistMeta {
  return JSON.parse(readFileSync(join(mnistAssetsDir(), 'meta.json'), 'utf8')) as MnistMeta;
}

/** Path of the committed float model, `assets/mnist/mnist-cnn.onnx`. */
export function mnistOnnxPath(): string {
  return join(mnistAssetsDir(), 'mnist-cnn.onnx');
}

/**
 * The committed float model imported with `@quint/onnx` (`loadModel`): a GraphModule with the
 * ONNX graph's ops (Conv, BatchNormalization, Relu, MaxPool, Add, Flatten, Gemm).
 */
export async function loadMnistOnnx(path = mnistOnnxPath()): Promise<QuintModel> {
  const model = await loadModel(path);
  if (model.kind !== 'float')
    throw new QuantError('INVALID_ARGUMENT', `${path} is a quantized model; the demo needs the float one.`);
  return model;
}

/** Something that maps a float batch `[N,1,28,28]` to logits `[N,10]`. */
export type Classifier = (x: Tensor) => Tensor | QTensor;

/** A module as a {@link Classifier}. */
export function classifierOf(model: Module): Classifier {
  return (x) => (model.call as (x: Tensor) => Tensor)(x);
}

function logitsOf(y: Tensor | QTensor): Float32Array {
  if (y instanceof Tensor) return y.contiguous().data;
  return y.dequantize().contiguous().data;
}

/** Row-wise argmax of `[N, classes]` logits (the first maximum wins, as torch.argmax). */
export function argmaxRows(logits: Float32Array, classes: number): Uint8Array {
  const n = logits.length / classes;
  const out = new Uint8Array(n);
  for (let r = 0; r < n; r++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[r * classes + c]! > logits[r * classes + best]!) best = c;
    out[r] = best;
  }
  return out;
}

/** Options of {@link predict}. */
export interface PredictOptions {
  /** Images per call (default 100). */
  readonly batch?: number;
  /** First and one-past-last image (default: the whole set). */
  readonly start?: number;
  readonly end?: number;
  /** Called after each batch with the images done so far. */
  readonly onProgress?: (done: number) => void;
}

/** The predicted digit of each image of `set` (in set order). */
export function predict(model: Classifier, set: MnistSet, options: PredictOptions = {}): Uint8Array {
  const batch = options.batch ?? 100;
  const start = options.start ?? 0;
  const end = Math.min(options.end ?? set.count, set.count);
  const out = new Uint8Array(end - start);
  for (let s = start; s < end; s += batch) {
    const e = Math.min(s + batch, end);
    out.set(argmaxRows(logitsOf(model(mnistBatch(set, s, e))), 10), s - start);
    options.onProgress?.(e - start);
  }
  return out;
}

/** Fraction of `a` equal to `b` (same length). */
export function agreement(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length || a.length === 0) {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `agreement: ${a.length} vs ${b.length} predictions; compare predictions of the same images.`,
    );
  }
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return same / a.length;
}

/** Predictions stored one character per sample (meta.json) as numbers. */
export function digitsOf(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0) - 48);
}

/** `n` single images `[1,1,28,28]` spread evenly over the set: the batch-1 latency inputs. */
export function latencyImages(set: MnistSet, n: number): Tensor[] {
  const count = Math.min(n, set.count);
  const step = set.count / count;
  return Array.from({ length: count }, (_, i) => mnistBatch(set, Math.floor(i * step), Math.floor(i * step) + 1));
}

/** Eager mode, as meta.json's `quantization.eager`: the prepared (observed) and the converted model. */
export interface EagerResult {
  readonly fused: MnistCnn;
  readonly prepared: MnistCnn;
  readonly quantized: MnistCnn;
}

/**
 * Eager-mode post-training quantization of the committed MnistCnn (PyTorch's recipe, engine
 * qnnpack): `fuseModules(MNIST_EAGER_FUSE)`, `qconfig = getDefaultQConfig('qnnpack', torchCompat 1.13)`,
 * `prepare`, one calibration batch (the 200 calibration images as one batch, as the training
 * script does: HistogramObserver depends on the batching), `convert` on `backend`.
 */
export function quantizeMnistEager(calibration: Tensor, backend: QuantizedBackend = createJsBackend()): EagerResult {
  const model = loadMnistCnn();
  model.qconfig = getDefaultQConfig('qnnpack', { torchCompat: '1.13' });
  const fused = fuseModules(model, MNIST_EAGER_FUSE as string[][]);
  const prepared = prepare(fused, { onWarning: () => {} });
  prepared.call(calibration);
  const quantized = convert(prepared, { backend, engine: 'qnnpack' });
  return { fused, prepared, quantized };
}

/** Graph mode: the prepared (observed) GraphModule and the converted one. */
export interface FxResult {
  readonly prepared: GraphModule;
  readonly quantized: GraphModule;
}

/**
 * Graph-mode post-training quantization (PyTorch's `prepare_fx` with
 * `get_default_qconfig_mapping('qnnpack')`, calibration with one batch, `convert_fx`) of a float
 * model, on `backend` with engine qnnpack. Warnings of ops left in float go to `onWarning`.
 */
export function quantizeMnistFx(
  floatModel: Module,
  calibration: Tensor,
  options: { backend?: QuantizedBackend; onWarning?: (m: string) => void } = {},
): FxResult {
  const mapping = getDefaultQConfigMapping('qnnpack', { torchCompat: '1.13' });
  const prepared = prepareFx(
    floatModel,
    mapping,
    [mnistBatch({ count: 1, images: calibration.contiguous().data.subarray(0, 784), labels: new Uint8Array(1) })],
    {
      onWarning: options.onWarning ?? (() => {}),
    },
  );
  prepared.call(calibration);
  const quantized = convertFx(prepared, { backend: options.backend ?? createJsBackend(), engine: 'qnnpack' });
  return { prepared, quantized };
}

/** Another backend for an already prepared graph (convertFx leaves `prepared` unchanged). */
export function convertMnistFx(prepared: GraphModule, backend: QuantizedBackend): GraphModule {
  return convertFx(prepared, { backend, engine: 'qnnpack' });
}

/** The bytes of a float model and of its int8 version, as DESIGN.md counts them (modelBytes). */
export function mnistBytes(floatModel: Module, quantized: Module): { fp32: number; int8: number } {
  return { fp32: modelBytes(floatModel).fp32, int8: modelBytes(quantized).int8 };
}
