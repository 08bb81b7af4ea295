import { Tensor } from '@quint/tensor';
import { describe, expect, test } from 'vitest';
import {
  dequantize,
  makePerChannelQuantizedTensor,
  makePerTensorQuantizedTensor,
  quantizePerChannel,
  quantizePerTensor,
  quantizeVal,
  dequantizeVal,
  type IntArray,
  type QDtype,
} from '../src/index.js';
import { decode, loadGolden, mismatch, type B64Array } from './golden-helpers.js';

interface Meta {
  torch_package: string;
  seed: number;
}
interface PerTensorCase {
  name: string;
  dtype: QDtype;
  scale: number;
  zeroPoint: number;
  shape: number[];
  x: B64Array;
  codes: B64Array;
  dequant: B64Array;
}
interface PerChannelCase {
  name: string;
  dtype: QDtype;
  axis: number;
  shape: number[];
  scales: B64Array;
  zeroPoints: B64Array;
  x: B64Array;
  codes: B64Array;
  dequant: B64Array;
}
interface DequantPerTensorCase {
  name: string;
  dtype: QDtype;
  scale: number;
  zeroPoint: number;
  codes: B64Array;
  dequant: B64Array;
}
interface DequantPerChannelCase {
  name: string;
  dtype: QDtype;
  axis: number;
  shape: number[];
  scales: B64Array;
  zeroPoints: B64Array;
  codes: B64Array;
  dequant: B64Array;
}
const golden = loadGolden<{
  meta: Meta;
  perTensor: PerTensorCase[];
  perChannel: PerChannelCase[];
  dequantPerTensor: DequantPerTensorCase[];
  dequantPerChannel: DequantPerChannelCase[];
}>('quantize.json');

const STORAGE = { quint8: Uint8Array, qint8: Int8Array, qint32: Int32Array } as const;

test('goldens come from Debian torch 1.13.1+dfsg-4', () => {
  expect(golden.meta.torch_package).toBe('1.13.1+dfsg-4');
  expect(golden.perTensor.length).toBeGreaterThan(150);
  expect(golden.perChannel.length).toBeGreaterThan(30);
});

describe('quantizePerTensor is bit-exact with torch.quantize_per_tensor', () => {
  test.each(golden.perTensor.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const x = new Tensor(decode(c.x) as Float32Array, c.shape);
    const q = quantizePerTensor(x, c.scale, c.zeroPoint, c.dtype);
    const codes = decode(c.codes);
    expect(q.data).toBeInstanceOf(STORAGE[c.dtype]);
    expect(mismatch(q.intRepr(), codes)).toBe('identical');
    expect(q.shape).toEqual(c.shape);
    expect(q.qScale()).toBe(c.scale);
    expect(q.qZeroPoint()).toBe(c.zeroPoint);
    expect(q.qscheme()).toBe('per_tensor_affine');
    expect(mismatch(q.dequantize().data, decode(c.dequant))).toBe('identical');
    // the scalar helpers agree with the tensor path
    const xs = decode(c.x);
    for (let i = 0; i < xs.length; i += 7) {
      expect(quantizeVal(xs[i]!, c.scale, c.zeroPoint, c.dtype)).toBe(codes[i]);
      expect(Math.fround(dequantizeVal(codes[i]!, c.scale, c.zeroPoint))).toBe(decode(c.dequant)[i]);
    }
  });
});

describe('quantizePerChannel is bit-exact with torch.quantize_per_channel', () => {
  test.each(golden.perChannel.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const x = new Tensor(decode(c.x) as Float32Array, c.shape);
    const scales = decode(c.scales);
    const zps = decode(c.zeroPoints);
    const q = quantizePerChannel(x, scales, zps, c.axis, c.dtype);
    expect(mismatch(q.intRepr(), decode(c.codes))).toBe('identical');
    expect(q.qscheme()).toBe('per_channel_affine');
    expect(q.qPerChannelAxis()).toBe(c.axis);
    expect(Array.from(q.qPerChannelScales())).toEqual(Array.from(scales));
    expect(Array.from(q.qPerChannelZeroPoints())).toEqual(Array.from(zps));
    expect(mismatch(dequantize(q).data, decode(c.dequant))).toBe('identical');
  });
});

describe('dequantize is bit-exact with torch dequantize() on arbitrary codes', () => {
  test.each(golden.dequantPerTensor.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const q = makePerTensorQuantizedTensor(decode(c.codes) as IntArray, c.scale, c.zeroPoint);
    expect(q.dtype).toBe(c.dtype);
    expect(mismatch(q.dequantize().data, decode(c.dequant))).toBe('identical');
  });
  test.each(golden.dequantPerChannel.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const q = makePerChannelQuantizedTensor(
      { data: decode(c.codes) as IntArray, shape: c.shape },
      decode(c.scales),
      decode(c.zeroPoints),
      c.axis,
    );
    expect(q.dtype).toBe(c.dtype);
    expect(mismatch(q.dequantize().data, decode(c.dequant))).toBe('identical');
  });
});
