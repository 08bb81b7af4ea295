// Loads test/goldens/ops.json (written by tools/goldens/tensor_ops.py from PyTorch 1.13) and runs
// each case through the matching op of the public entry.
import { readFileSync } from 'node:fs';
import {
  Tensor,
  adaptiveAvgPool2d,
  add,
  avgPool2d,
  batchNorm2d,
  cat,
  conv2d,
  dropout,
  flatten,
  hardsigmoid,
  hardswish,
  hardtanh,
  linear,
  matmul,
  maxPool2d,
  mean,
  mul,
  permute,
  relu,
  relu6,
  reshape,
  sigmoid,
  softmax,
  tanh,
} from '../src/index.js';

interface Encoded {
  shape: number[];
  b64: string;
}
export interface GoldenCase {
  name: string;
  op: string;
  args: Record<string, unknown>;
  inputs: Record<string, string | null>;
  expected: Encoded;
}
export interface GoldenFile {
  meta: { torchPackage: string; seed: number; threads: number };
  tensors: Record<string, Encoded>;
  cases: GoldenCase[];
}

export function loadGoldens(): GoldenFile {
  return JSON.parse(readFileSync(new URL('./goldens/ops.json', import.meta.url), 'utf8')) as GoldenFile;
}

export function decode(e: Encoded): Tensor {
  const bytes = Buffer.from(e.b64, 'base64');
  const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  return new Tensor(data, e.shape);
}

/** Runs one golden case through quint's op. */
export function runCase(g: GoldenFile, c: GoldenCase): Tensor {
  const t = (k: string): Tensor => {
    const key = c.inputs[k];
    if (key == null) throw new Error(`${c.name}: no input ${k}`);
    return decode(g.tensors[key]!);
  };
  const opt = (k: string): Tensor | null => (c.inputs[k] == null ? null : t(k));
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- golden args are untyped JSON
  const a = c.args as Record<string, any>;
  const x = t('x');
  switch (c.op) {
    case 'conv2d':
      return conv2d(x, t('weight'), opt('bias'), {
        stride: a.stride,
        padding: a.padding,
        dilation: a.dilation,
        groups: a.groups,
      });
    case 'linear':
      return linear(x, t('weight'), opt('bias'));
    case 'matmul':
      return matmul(x, t('other'));
    case 'relu':
      return relu(x);
    case 'relu6':
      return relu6(x);
    case 'hardtanh':
      return a.minVal === undefined ? hardtanh(x) : hardtanh(x, a.minVal, a.maxVal);
    case 'hardswish':
      return hardswish(x);
    case 'hardsigmoid':
      return hardsigmoid(x);
    case 'sigmoid':
      return sigmoid(x);
    case 'tanh':
      return tanh(x);
    case 'add':
      return add(x, a.scalar ?? t('other'));
    case 'mul':
      return mul(x, a.scalar ?? t('other'));
    case 'cat':
      return cat(['x', 'other', 'third'].filter((k) => c.inputs[k] != null).map(t), a.dim);
    case 'maxPool2d':
      return maxPool2d(x, {
        kernelSize: a.kernelSize,
        stride: a.stride,
        padding: a.padding,
        dilation: a.dilation,
        ceilMode: a.ceilMode,
      });
    case 'avgPool2d':
      return avgPool2d(x, {
        kernelSize: a.kernelSize,
        stride: a.stride,
        padding: a.padding,
        ceilMode: a.ceilMode,
        countIncludePad: a.countIncludePad,
        divisorOverride: a.divisorOverride,
      });
    case 'adaptiveAvgPool2d':
      return adaptiveAvgPool2d(x, a.outputSize);
    case 'batchNorm2d':
      return batchNorm2d(x, {
        runningMean: t('runningMean'),
        runningVar: t('runningVar'),
        weight: opt('weight'),
        bias: opt('bias'),
        eps: a.eps,
      });
    case 'softmax':
      return softmax(x, a.dim);
    case 'mean':
      return mean(x, a.dims, a.keepdim);
    case 'flatten':
      return flatten(x, a.startDim, a.endDim);
    case 'reshape':
      return reshape(x, a.shape);
    case 'permute':
      return permute(x, a.dims).contiguous();
    case 'dropout':
      return dropout(x, a.p);
    default:
      throw new Error(`unknown golden op ${c.op}`);
  }
}

/** Float32 bit patterns differ (so +0/−0 and NaN payloads count); returns the count and max ulp distance. */
export function compareBits(got: Tensor, want: Tensor): { mismatches: number; maxUlp: number } {
  const a = new Int32Array(got.toFloat32Array().buffer);
  const b = new Int32Array(want.toFloat32Array().buffer);
  let mismatches = 0;
  let maxUlp = 0;
  for (let i = 0; i < b.length; i++) {
    if (a[i] !== b[i]) {
      mismatches++;
      // Ordered-integer view of floats gives the ulp distance across the sign boundary too.
      const oa = a[i]! < 0 ? -2147483648 - a[i]! : a[i]!;
      const ob = b[i]! < 0 ? -2147483648 - b[i]! : b[i]!;
      maxUlp = Math.max(maxUlp, Math.abs(oa - ob));
    }
  }
  return { mismatches, maxUlp };
}
