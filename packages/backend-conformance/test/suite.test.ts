import { defineBackend, QTensor, quantizePerTensor } from '@quint/qtensor';
import { Tensor } from '@quint/tensor';
import { describe, expect, it } from 'vitest';
import {
  bitsFromHex,
  CASE_GROUPS,
  codesFromHex,
  describeBackendConformance,
  diffExpected,
  diffOutputs,
} from '../src/index.js';

const q = (codes: number[], scale = 0.1, zp = 3) =>
  new QTensor(Uint8Array.from(codes), [codes.length], 'quint8', { qscheme: 'per_tensor_affine', scale, zeroPoint: zp });

describe('comparison helpers', () => {
  it('diffExpected reports shape, qparams and code differences, with the count and the first index', () => {
    expect(diffExpected(q([1, 2, 3]), { shape: [3], codes: [1, 2, 3], scale: 0.1, zeroPoint: 3 })).toBeNull();
    expect(diffExpected(q([1, 2, 3]), { shape: [3], codes: [1, 9, 8], scale: 0.1, zeroPoint: 3 })).toBe(
      '2 of 3 differ; first at flat index 1: got 2, expected 9',
    );
    expect(diffExpected(q([1, 2, 3]), { shape: [1, 3], codes: [1, 2, 3], scale: 0.1, zeroPoint: 3 })).toMatch(/^shape/);
    expect(diffExpected(q([1, 2, 3]), { shape: [3], codes: [1, 2, 3], scale: 0.2, zeroPoint: 3 })).toMatch(/^qparams/);
    expect(diffExpected(q([1]), { shape: [1], floatBits: [0] })).toMatch(/expected float32 values/);
  });

  it('float outputs compare bits: -0 differs from +0, NaN payloads are compared exactly', () => {
    const t = new Tensor(Float32Array.of(-0, 1.5), [2]);
    expect(diffExpected(t, { shape: [2], floatBits: [0x80000000, 0x3fc00000] })).toBeNull();
    expect(diffExpected(t, { shape: [2], floatBits: [0, 0x3fc00000] })).toMatch(/1 of 2 differ/);
    expect(diffOutputs(t, new Tensor(Float32Array.of(0, 1.5), [2]))).toMatch(/1 of 2 differ/);
  });

  it('diffOutputs compares dtype, qparams and codes of two QTensors', () => {
    expect(diffOutputs(q([1, 2]), q([1, 2]))).toBeNull();
    expect(diffOutputs(q([1, 2]), q([1, 2], 0.1, 4))).toMatch(/^qparams/);
    expect(diffOutputs(q([1, 2]), q([1, 3]))).toMatch(/1 of 2 differ/);
    expect(diffOutputs(q([1, 2]), new Tensor(Float32Array.of(1, 2), [2]))).toMatch(/reference Tensor/);
  });

  it('hex decoding of golden codes and float bits', () => {
    expect(codesFromHex('00ff80', 'quint8')).toEqual([0, 255, 128]);
    expect(codesFromHex('00ff80', 'qint8')).toEqual([0, -1, -128]);
    expect(bitsFromHex('3fc0000080000000')).toEqual([0x3fc00000, 0x80000000]);
  });

  it('every case of every group has a unique title', () => {
    const titles = CASE_GROUPS.flatMap((g) => g.cases().map((c) => `${c.op} · ${c.engine} · ${c.name} (${c.kind})`));
    expect(new Set(titles).size).toBe(titles.length);
    expect(titles.length).toBeGreaterThan(100);
  });
});

// A partial backend: only quantizePerTensor, on engines qnnpack and onednn (PyTorch's formula, from
// @quint/qtensor). Its quantizePerTensor goldens run and pass; every other case of the quantize group
// is skipped by name (and there is no reference, so differential cases are skipped too).
describeBackendConformance(
  () =>
    defineBackend({
      name: 'partial',
      kernels: { quantizePerTensor: (x, out) => quantizePerTensor(x, out.scale, out.zeroPoint, out.dtype ?? 'quint8') },
      engines: { quantizePerTensor: ['qnnpack', 'onednn'] },
    }),
  { groups: CASE_GROUPS.filter((g) => g.name === 'quantize') },
);
