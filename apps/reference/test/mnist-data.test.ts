import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CALIBRATION_PER_DIGIT, loadMnistSplit, mnistAssetsDir, mnistBatch, type MnistSet } from '../src/mnist/data.js';
import { loadMnistCnn, MnistCnn, readMnistStateDict } from '../src/mnist/model.js';

interface Meta {
  torch: string;
  seed: number;
  data: {
    perDigit: { digit: number; samples: number; train: number; calibration: number; evaluation: number }[];
    train: number;
    calibration: number;
    evaluation: number;
  };
  accuracy: { fp32: number; int8Fx: number; int8Eager: number };
  evaluation: { labels: string; predFp32: string; predInt8Fx: string; predInt8Eager: string };
}

const meta = JSON.parse(readFileSync(join(mnistAssetsDir(), 'meta.json'), 'utf8')) as Meta;
const split = loadMnistSplit({ train: true });

function labelCounts(set: MnistSet): number[] {
  const counts = new Array<number>(10).fill(0);
  for (const l of set.labels) counts[l]! += 1;
  return counts;
}

function argmaxRows(data: Float32Array, cols: number): number[] {
  const out: number[] = [];
  for (let r = 0; r * cols < data.length; r++) {
    let best = 0;
    for (let c = 1; c < cols; c++) if (data[r * cols + c]! > data[r * cols + best]!) best = c;
    out.push(best);
  }
  return out;
}

describe('MNIST split', () => {
  it('matches the training script: sizes and label counts per digit', () => {
    expect(split.perDigit).toEqual(meta.data.perDigit);
    expect(split.train?.count).toBe(meta.data.train);
    expect(split.calibration.count).toBe(meta.data.calibration);
    expect(split.evaluation.count).toBe(meta.data.evaluation);
    expect(labelCounts(split.train!)).toEqual(meta.data.perDigit.map((d) => d.train));
    expect(labelCounts(split.calibration)).toEqual(meta.data.perDigit.map(() => CALIBRATION_PER_DIGIT));
    expect(labelCounts(split.evaluation)).toEqual(meta.data.perDigit.map((d) => d.evaluation));
    expect(split.evaluation.count).toBeGreaterThan(1900);
  });

  it('keeps the file order: labels in digit order, calibration = the first 20 training images per digit', () => {
    expect(Array.from(split.evaluation.labels).join('')).toBe(meta.evaluation.labels);
    const px = 28 * 28;
    let trainAt = 0;
    for (const d of split.perDigit) {
      const cal = split.calibration.images.subarray(
        d.digit * CALIBRATION_PER_DIGIT * px,
        (d.digit + 1) * CALIBRATION_PER_DIGIT * px,
      );
      expect(cal).toEqual(split.train!.images.subarray(trainAt * px, (trainAt + CALIBRATION_PER_DIGIT) * px));
      trainAt += d.train;
    }
  });

  it('holds the stored pixels in float32, unnormalized (0..1)', () => {
    let min = Infinity;
    let max = -Infinity;
    for (const v of split.evaluation.images) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    expect([min, max]).toEqual([0, 1]);
    expect(mnistBatch(split.calibration, 0, 3).shape).toEqual([3, 1, 28, 28]);
  });
});

describe('MNIST float model (@quint/nn, committed weights)', () => {
  it('has exactly the PyTorch state dict keys, in order', () => {
    const sd = readMnistStateDict();
    expect(Object.keys(sd)).toHaveLength(25);
    expect(Object.keys(new MnistCnn().stateDict())).toEqual(Object.keys(sd));
    expect(() => loadMnistCnn(sd)).not.toThrow();
  });

  it('predicts as PyTorch fp32 on the evaluation set', () => {
    const model = loadMnistCnn();
    const preds: number[] = [];
    const batch = 100;
    for (let s = 0; s < split.evaluation.count; s += batch) {
      const logits = model.call(mnistBatch(split.evaluation, s, s + batch));
      preds.push(...argmaxRows(logits.contiguous().data, 10));
    }
    const torchPreds = meta.evaluation.predFp32;
    let agree = 0;
    let correct = 0;
    preds.forEach((p, i) => {
      if (String(p) === torchPreds[i]) agree += 1;
      if (p === split.evaluation.labels[i]) correct += 1;
    });
    const n = split.evaluation.count;
    console.log(
      `mnist fp32: agreement with PyTorch ${agree}/${n}, accuracy ${correct}/${n} (PyTorch ${meta.accuracy.fp32})`,
    );
    expect(agree / n).toBeGreaterThanOrEqual(0.999);
    expect(Math.abs(correct / n - meta.accuracy.fp32)).toBeLessThanOrEqual(1 / n + 1e-12);
  });
});
