// The demo's MNIST pieces on a slice of the evaluation set (every 4th image: all ten digits),
// judged against PyTorch 1.13's own predictions in meta.json: our eager and FX int8 models must
// predict what PyTorch's int8 models predicted on at least 99% of the images.
import { beforeAll, describe, expect, it } from 'vitest';
import { opNames, type QuantizedBackend } from '@quint/qtensor';
import { modelBytes } from '@quint/converter';
import { createJsBackend } from '@quint/kernels-js';
import { createWasmBackend } from '@quint/kernels-wasm';
import { loadMnistSplit, mnistBatch, type MnistSet } from '../src/mnist/data.js';
import { loadMnistCnn } from '../src/mnist/model.js';
import { createWasmWithJsFallback } from '../src/demo/backends.js';
import {
  agreement,
  argmaxRows,
  classifierOf,
  digitsOf,
  latencyImages,
  loadMnistOnnx,
  predict,
  quantizeMnistEager,
  readMnistMeta,
} from '../src/demo/mnist-pipeline.js';
import { quantizeGraph, type QuantizedGraph } from '../src/report/model-report.js';

const STRIDE = 4;
const split = loadMnistSplit();
const meta = readMnistMeta();

/** Every STRIDE-th evaluation image, and the indices it took. */
function strided(set: MnistSet): { set: MnistSet; index: number[] } {
  const index = Array.from({ length: Math.ceil(set.count / STRIDE) }, (_, i) => i * STRIDE);
  const images = new Float32Array(index.length * 784);
  index.forEach((k, i) => images.set(set.images.subarray(k * 784, (k + 1) * 784), i * 784));
  return { set: { count: index.length, images, labels: Uint8Array.from(index, (k) => set.labels[k]!) }, index };
}

const slice = strided(split.evaluation);
const pick = (s: string): Uint8Array => Uint8Array.from(slice.index, (k) => s.charCodeAt(k) - 48);
const torch = {
  fp32: pick(meta.evaluation.predFp32),
  fx: pick(meta.evaluation.predInt8Fx),
  eager: pick(meta.evaluation.predInt8Eager),
};
const calibration = mnistBatch(split.calibration);

describe('MNIST, eager and graph mode, against PyTorch 1.13 (meta.json)', () => {
  let wasm: QuantizedBackend;
  let fx: QuantizedGraph;
  let fp32: Uint8Array;

  beforeAll(async () => {
    wasm = (await createWasmWithJsFallback()).backend;
    const onnx = await loadMnistOnnx();
    fx = quantizeGraph(onnx.graphModule, [calibration], { torchCompat: '1.13', wasmBackend: wasm });
    fp32 = predict(classifierOf(onnx.graphModule), slice.set);
    return () => wasm.dispose();
  }, 120_000);

  it('has the slice covering every digit', () => {
    expect(slice.set.count).toBe(Math.ceil(meta.evaluation.labels.length / STRIDE));
    expect(new Set(slice.set.labels).size).toBe(10);
    expect(digitsOf(meta.evaluation.labels).length).toBe(split.evaluation.count);
  });

  it('fp32 (ONNX import) predicts as PyTorch fp32', () => {
    const a = agreement(fp32, torch.fp32);
    console.log(`demo-mnist fp32: agreement with PyTorch fp32 ${(100 * a).toFixed(2)}% of ${slice.set.count}`);
    expect(a).toBeGreaterThanOrEqual(0.99);
  });

  it('int8 graph mode (prepareFx/convertFx, kernels-js) predicts as PyTorch int8 FX on >= 99%, accuracy within 1 point', () => {
    const p = predict(classifierOf(fx.quantizedJs), slice.set, { batch: 50 });
    const a = agreement(p, torch.fx);
    const acc = agreement(p, slice.set.labels);
    const torchAcc = agreement(torch.fx, slice.set.labels);
    console.log(
      `demo-mnist int8 FX: agreement with PyTorch int8 FX ${(100 * a).toFixed(2)}% of ${slice.set.count}; accuracy ${(100 * acc).toFixed(2)}% (PyTorch ${(100 * torchAcc).toFixed(2)}%), fp32 ${(100 * agreement(fp32, slice.set.labels)).toFixed(2)}%`,
    );
    expect(a).toBeGreaterThanOrEqual(0.99);
    expect(Math.abs(acc - torchAcc)).toBeLessThanOrEqual(0.01);
    expect(Math.abs(acc - agreement(fp32, slice.set.labels))).toBeLessThanOrEqual(0.01);
  });

  it('int8 eager (MnistCnn fused, qnnpack qconfig, kernels-js) predicts as PyTorch int8 eager on >= 99%', () => {
    const { quantized } = quantizeMnistEager(calibration, createJsBackend());
    const p = predict(classifierOf(quantized), slice.set, { batch: 50 });
    const a = agreement(p, torch.eager);
    const acc = agreement(p, slice.set.labels);
    console.log(
      `demo-mnist int8 eager: agreement with PyTorch int8 eager ${(100 * a).toFixed(2)}% of ${slice.set.count}; accuracy ${(100 * acc).toFixed(2)}% (PyTorch ${(100 * agreement(torch.eager, slice.set.labels)).toFixed(2)}%)`,
    );
    expect(a).toBeGreaterThanOrEqual(0.99);
    expect(Math.abs(acc - agreement(fp32, slice.set.labels))).toBeLessThanOrEqual(0.01);
    // DESIGN.md's model bytes: at least 3.5x smaller than the float model.
    expect(modelBytes(loadMnistCnn()).fp32 / modelBytes(quantized).int8).toBeGreaterThanOrEqual(3.5);
  });

  it('kernels-wasm gives the same bits as kernels-js: identical logits on 200 images', () => {
    const x = mnistBatch(split.evaluation, 900, 1100);
    const js = (fx.quantizedJs.call(x) as { contiguous(): { data: Float32Array } }).contiguous().data;
    const w = (fx.quantizedWasm.call(x) as { contiguous(): { data: Float32Array } }).contiguous().data;
    expect(w).toEqual(js);
    expect(argmaxRows(w, 10)).toEqual(argmaxRows(js, 10));
  });

  it('runs every op kernels-wasm has (conv, linear, pooling, add, …) in wasm and the rest on kernels-js', async () => {
    const { backend, wasmOps } = await createWasmWithJsFallback();
    const wasm = createWasmBackend();
    await wasm.init();
    try {
      expect(wasmOps).toEqual(expect.arrayContaining(['conv2d', 'conv2dRelu', 'linear', 'linearRelu']));
      expect(wasmOps).toEqual(opNames().filter((op) => wasm.supports(op, { engine: 'qnnpack' })));
      expect(wasmOps).toContain('quantizePerTensor');
      expect(wasmOps).not.toContain('dequantize');
      for (const op of ['maxPool2d', 'add', 'quantizePerTensor', 'dequantize', 'flatten'] as const)
        expect(backend.supports(op)).toBe(true);
    } finally {
      backend.dispose();
      wasm.dispose();
    }
  });

  it('spreads the batch-1 latency images over the set (every digit)', () => {
    const n = 100;
    const imgs = latencyImages(split.evaluation, n);
    expect(imgs).toHaveLength(n);
    const at = imgs.map((_, i) => Math.floor((i * split.evaluation.count) / n));
    imgs.forEach((img, i) => {
      expect(img.shape).toEqual([1, 1, 28, 28]);
      expect(img.contiguous().data).toEqual(mnistBatch(split.evaluation, at[i]!, at[i]! + 1).contiguous().data);
    });
    expect(new Set(at.map((k) => split.evaluation.labels[k])).size).toBe(10);
  });

  it('records what every observer saw and the range it chose', () => {
    expect(fx.activations.length).toBeGreaterThanOrEqual(6);
    const input = fx.activations[0]!;
    expect(input.observer).toBe('HistogramObserver');
    expect(input.values).toBe(calibration.numel);
    expect([input.dataMin, input.dataMax]).toEqual([0, 1]);
    for (const a of fx.activations) {
      // Fewer than 2 million values each here, so every value is in its histogram.
      expect(a.sampledEvery).toBe(1);
      expect(a.histogram.counts.reduce((s, c) => s + c, 0)).toBe(a.values);
      expect(a.range[0]).toBeLessThanOrEqual(0);
      expect(a.range[1]).toBeGreaterThan(0);
      expect(a.clippedFraction).toBeLessThan(0.01);
    }
  });
});
