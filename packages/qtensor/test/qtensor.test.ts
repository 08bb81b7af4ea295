import { isQuantError, tensor, type QuantErrorCode } from '@quint/tensor';
import { describe, expect, test } from 'vitest';
import {
  calculateQminQmax,
  calculateQparams,
  dequantizeVal,
  dequantizeValFma,
  makePerChannelQuantizedTensor,
  makePerTensorQuantizedTensor,
  quantizePerChannel,
  quantizePerTensor,
  QTensor,
  type IntArray,
  type QDtype,
} from '../src/index.js';

function codeOf(fn: () => unknown): { code: QuantErrorCode; message: string } {
  try {
    fn();
  } catch (e) {
    if (isQuantError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected a QuantError');
}

describe('QTensor holds integers', () => {
  test('spec §1.2 worked example: codes, accessors, nbytes', () => {
    const q = quantizePerTensor(tensor([-1, 0, 0.05, 0.15, 0.25, 0.35, 1, 24.6]), 0.1, 10, 'quint8');
    expect(q.data).toBeInstanceOf(Uint8Array);
    expect(Array.from(q.intRepr())).toEqual([0, 10, 10, 12, 12, 14, 20, 255]);
    expect(q.qScale()).toBe(0.1);
    expect(q.qZeroPoint()).toBe(10);
    expect(q.qscheme()).toBe('per_tensor_affine');
    expect(q.dtype).toBe('quint8');
    expect(q.nbytes).toBe(8);
    expect(q.dequantize().toArray()).toEqual([-1, 0, 0, 0.2, 0.2, 0.4, 1, 24.5].map(Math.fround));
  });

  test('intRepr() is a copy; nbytes counts 4 bytes per qint32 code', () => {
    const q = quantizePerTensor(tensor([1, 2, 3]), 1, 0, 'qint32');
    const r = q.intRepr();
    r[0] = 99;
    expect(q.intRepr()[0]).toBe(1);
    expect(q.nbytes).toBe(12);
  });

  test('per-channel accessors return float64 scales and int32 zero points', () => {
    const q = quantizePerChannel(tensor([-1, 0, 0.5, 1], [2, 2]), [0.1, 0.01], [0, 0], 0, 'qint8');
    expect(Array.from(q.intRepr())).toEqual([-10, 0, 50, 100]);
    expect(q.qPerChannelScales()).toEqual(Float64Array.of(0.1, 0.01));
    expect(q.qPerChannelZeroPoints()).toEqual(Int32Array.of(0, 0));
    expect(q.qPerChannelAxis()).toBe(0);
    expect(q.isPerChannel()).toBe(true);
    expect(codeOf(() => q.qScale()).code).toBe('INVALID_QPARAMS');
  });

  test('quantizes non-contiguous views in logical (C) order', () => {
    const x = tensor([1, 2, 3, 4, 5, 6], [2, 3]).permute([1, 0]);
    const q = quantizePerTensor(x, 1, 0, 'qint8');
    expect(q.shape).toEqual([3, 2]);
    expect(Array.from(q.intRepr())).toEqual([1, 4, 2, 5, 3, 6]);
  });

  test('makePerTensorQuantizedTensor infers the dtype from the storage and copies the codes', () => {
    const codes = Uint8Array.of(0, 10, 20, 30);
    const q = makePerTensorQuantizedTensor({ data: codes, shape: [2, 2] }, 0.1, 10);
    codes[0] = 7;
    expect(q.dtype).toBe('quint8');
    expect(q.shape).toEqual([2, 2]);
    expect(Array.from(q.intRepr())).toEqual([0, 10, 20, 30]);
    expect(makePerTensorQuantizedTensor(Int8Array.of(1), 1, 0).dtype).toBe('qint8');
    expect(makePerTensorQuantizedTensor(Int32Array.of(1), 1, 0).dtype).toBe('qint32');
  });

  test('dequantizeValFma is the fma form: within an ulp or two of dequantizeVal, and not always equal', () => {
    let differ = 0;
    for (let q = 0; q < 256; q++) {
      for (const s of [0.1, 0.0123, 0.7071, 3.3]) {
        const a = dequantizeVal(q, s, 37);
        const b = dequantizeValFma(q, s, 37);
        // The fma form rounds s·(−zp) first, so near zero it can be off by that term's half ulp.
        expect(Math.abs(a - b)).toBeLessThanOrEqual((Math.abs(s * 37) + Math.abs(a)) * 2 ** -23);
        if (a !== b) differ++;
      }
    }
    expect(differ).toBeGreaterThan(0);
  });
});

describe('bad input is a typed QuantError naming the value and the fix', () => {
  const x = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
  test.each<[string, () => unknown, QuantErrorCode, RegExp]>([
    [
      'zero point above the range',
      () => quantizePerTensor(x, 0.1, 300, 'quint8'),
      'INVALID_QPARAMS',
      /zero point 300 is above upper bound 255 of quint8; pass a zero point in \[0, 255\]/,
    ],
    [
      'zero point below the range',
      () => quantizePerTensor(x, 0.1, -129, 'qint8'),
      'INVALID_QPARAMS',
      /zero point -129 is below lower bound -128/,
    ],
    [
      'non-integer zero point',
      () => quantizePerTensor(x, 0.1, 1.5, 'qint8'),
      'INVALID_QPARAMS',
      /zero point 1.5 is not an integer/,
    ],
    ['zero scale', () => quantizePerTensor(x, 0, 0, 'quint8'), 'INVALID_QPARAMS', /scale 0 must be a positive finite/],
    ['negative scale', () => quantizePerTensor(x, -0.1, 0, 'quint8'), 'INVALID_QPARAMS', /scale -0.1/],
    ['NaN scale', () => quantizePerTensor(x, NaN, 0, 'quint8'), 'INVALID_QPARAMS', /scale NaN/],
    ['infinite scale', () => quantizePerTensor(x, Infinity, 0, 'quint8'), 'INVALID_QPARAMS', /scale Infinity/],
    ['scale that is 0 as float32', () => quantizePerTensor(x, 1e-50, 0, 'quint8'), 'INVALID_QPARAMS', /scale 1e-50/],
    ['unknown dtype', () => quantizePerTensor(x, 0.1, 0, 'quint4' as QDtype), 'BAD_DTYPE', /'quint4'/],
    [
      'axis out of range',
      () => quantizePerChannel(x, [1, 1], [0, 0], 2, 'qint8'),
      'AXIS_OUT_OF_RANGE',
      /axis 2 is out of range for shape \[2, 3\]/,
    ],
    ['negative axis', () => quantizePerChannel(x, [1, 1], [0, 0], -1, 'qint8'), 'AXIS_OUT_OF_RANGE', /axis -1/],
    [
      'scales count',
      () => quantizePerChannel(x, [1, 1], [0, 0, 0], 1, 'qint8'),
      'SHAPE_MISMATCH',
      /2 scales and 3 zero points for 3 channels on axis 1/,
    ],
    [
      'per-channel zero point',
      () => quantizePerChannel(x, [1, 1, 1], [0, 0, 300], 1, 'quint8'),
      'INVALID_QPARAMS',
      /channel 2.*zero point 300 is above upper bound/,
    ],
    [
      'per-channel scale',
      () => quantizePerChannel(x, [1, 0, 1], [0, 0, 0], 1, 'quint8'),
      'INVALID_QPARAMS',
      /channel 1.*scale 0/,
    ],
    [
      'codes do not fill the shape',
      () => makePerTensorQuantizedTensor({ data: Uint8Array.of(1, 2, 3), shape: [2, 2] }, 1, 0),
      'SHAPE_MISMATCH',
      /3 codes do not fill shape \[2, 2\]/,
    ],
    [
      'float codes',
      () => makePerTensorQuantizedTensor(Float32Array.of(1) as unknown as IntArray, 1, 0),
      'DTYPE_MISMATCH',
      /got Float32Array/,
    ],
    [
      'QTensor storage of the wrong type',
      () => new QTensor(Int8Array.of(1), [1], 'quint8', { qscheme: 'per_tensor_affine', scale: 1, zeroPoint: 0 }),
      'DTYPE_MISMATCH',
      /quint8 codes must be a Uint8Array, got Int8Array/,
    ],
    [
      'make per-channel axis',
      () => makePerChannelQuantizedTensor({ data: Int8Array.of(1, 2), shape: [1, 2] }, [1], [0], 3),
      'AXIS_OUT_OF_RANGE',
      /axis 3/,
    ],
    [
      'lone quantMin',
      () => calculateQminQmax({ dtype: 'quint8', quantMin: 0 }),
      'INVALID_ARGUMENT',
      /pass both bounds/,
    ],
    [
      'range without 0',
      () => calculateQminQmax({ dtype: 'qint8', quantMin: 1, quantMax: 100 }),
      'INVALID_ARGUMENT',
      /does not include 0/,
    ],
    [
      'empty range',
      () => calculateQminQmax({ dtype: 'qint8', quantMin: 0, quantMax: 0 }),
      'INVALID_ARGUMENT',
      /pass quantMin < quantMax/,
    ],
    [
      'qint8 range too wide',
      () => calculateQminQmax({ dtype: 'qint8', quantMin: -200, quantMax: 100 }),
      'OUT_OF_RANGE',
      /spans 301 codes; use at most 256/,
    ],
    [
      'min > max',
      () => calculateQparams([2], [1], { dtype: 'quint8', qscheme: 'per_tensor_affine', quantMin: 0, quantMax: 255 }),
      'INVALID_ARGUMENT',
      /min 2 is not <= max 1/,
    ],
    [
      'NaN min',
      () =>
        calculateQparams([0, NaN], [1, 1], {
          dtype: 'quint8',
          qscheme: 'per_channel_affine',
          quantMin: 0,
          quantMax: 255,
        }),
      'INVALID_ARGUMENT',
      /min NaN .* channel 1/,
    ],
    [
      'per-tensor with several values',
      () =>
        calculateQparams([0, 0], [1, 1], { dtype: 'quint8', qscheme: 'per_tensor_affine', quantMin: 0, quantMax: 255 }),
      'INVALID_ARGUMENT',
      /takes one min and one max, got 2/,
    ],
    [
      'length mismatch',
      () =>
        calculateQparams([0, 0], [1], { dtype: 'quint8', qscheme: 'per_channel_affine', quantMin: 0, quantMax: 255 }),
      'INVALID_ARGUMENT',
      /2 minima but 1 maxima/,
    ],
  ])('%s', (_name, fn, code, message) => {
    const e = codeOf(fn);
    expect(e.code).toBe(code);
    expect(e.message).toMatch(message);
    expect(e.message).not.toContain('\n');
  });
});

describe('printing shows the dequantized values and the codes with their qparams', () => {
  test('per-tensor', () => {
    const q = quantizePerTensor(tensor([-1, 0, 0.05, 0.25, 1, 24.6]), 0.1, 10, 'quint8');
    expect(String(q)).toMatchInlineSnapshot(`
      "tensor([-1.0000,  0.0000,  0.0000,  0.2000,  1.0000, 24.5000], size=(6,), dtype=torch.quint8,
             quantization_scheme=torch.per_tensor_affine, scale=0.1, zero_point=10,
             int_repr=tensor([  0,  10,  10,  12,  20, 255], dtype=torch.uint8))"
    `);
  });
  test('per-channel, 2-D', () => {
    const q = quantizePerChannel(tensor([-1, 0, 0.5, 1, 2, 3], [2, 3]), [0.1, 0.02], [0, 3], 0, 'qint8');
    expect(q.toString()).toMatchInlineSnapshot(`
      "tensor([[-1.0000,  0.0000,  0.5000],
              [ 1.0000,  2.0000,  2.4800]], size=(2, 3), dtype=torch.qint8,
             quantization_scheme=torch.per_channel_affine,
             scale=tensor([0.1000, 0.0200], dtype=torch.float64),
             zero_point=tensor([0, 3]), axis=0,
             int_repr=tensor([[-10,   0,   5],
                              [ 53, 103, 127]], dtype=torch.int8))"
    `);
  });
  test('large tensors are summarized with ...', () => {
    const q = makePerTensorQuantizedTensor(
      { data: Int32Array.from({ length: 2000 }, (_, i) => i - 1000), shape: [2, 1000] },
      0.5,
      0,
    );
    expect(q.toString()).toMatchInlineSnapshot(`
      "tensor([[-500.0000, -499.5000, -499.0000, ...,   -1.5000,   -1.0000,   -0.5000],
              [   0.0000,    0.5000,    1.0000, ...,  498.5000,  499.0000,  499.5000]], size=(2, 1000), dtype=torch.qint32,
             quantization_scheme=torch.per_tensor_affine, scale=0.5, zero_point=0,
             int_repr=tensor([[-1000,  -999,  -998, ...,    -3,    -2,    -1],
                              [    0,     1,     2, ...,   997,   998,   999]], dtype=torch.int32))"
    `);
  });
});
