// Bad input for conv2d/linear: the int32 overflow check at prepack (and again per call), and the
// clear errors before any work (issue 4 "Bad input").
import { QTensor, type GemmTraceRecord } from '@quint/qtensor';
import { isQuantError, Tensor } from '@quint/tensor';
import { describe, expect, it, vi } from 'vitest';
import { createJsBackend, DEFAULT_MIN_INPUT_SCALE } from '../src/index.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (isQuantError(e)) return e.code;
    throw e;
  }
  return 'no error';
}

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  return '';
}

const perTensor = (scale: number, zeroPoint: number) => ({ qscheme: 'per_tensor_affine' as const, scale, zeroPoint });
const xq = (codes: Uint8Array, shape: number[], scale = 0.1, zp = 0) =>
  new QTensor(codes, shape, 'quint8', perTensor(scale, zp));

// 2^31 − 1 = 2147483647 = 66311·127·255 + 4712: K = 66311 full-scale weights are the largest layer
// whose worst case (x_zp = 0, every x_q = 255) still fits.
const K_MAX = 66311;

describe('int32 overflow check', () => {
  it(`a linear with K = ${K_MAX}, every weight 127, runs; its worst-case accumulator is exact`, () => {
    const be = createJsBackend();
    const w = new QTensor(new Int8Array(K_MAX).fill(127), [1, K_MAX], 'qint8', perTensor(1e-6, 0));
    const packed = be.prepackLinear(w, null);
    const records: GemmTraceRecord[] = [];
    const y = be.kernels.linear(
      xq(new Uint8Array(K_MAX).fill(255), [1, K_MAX]),
      packed,
      { scale: 2.5, zeroPoint: 0 },
      {
        trace: { sink: (r) => records.push(r as GemmTraceRecord) },
      },
    );
    expect(records[0]!.acc).toBe(K_MAX * 127 * 255);
    expect(records[0]!.acc).toBeLessThanOrEqual(2 ** 31 - 1);
    // 2147481735 · M, M = f32(f32(1e-6·0.1)·f32(1/2.5)) ≈ 4e-8: 85.899… → 86.
    expect(y.data[0]).toBe(86);
  });

  it(`a linear with K = ${K_MAX + 1} full-scale weights is rejected at prepack with OVERFLOW`, () => {
    const be = createJsBackend();
    const w = new QTensor(new Int8Array(K_MAX + 1).fill(-127), [1, K_MAX + 1], 'qint8', perTensor(0.01, 0));
    expect(codeOf(() => be.prepackLinear(w, null))).toBe('OVERFLOW');
    expect(messageOf(() => be.prepackLinear(w, null))).toMatch(/linear weight \[1, 66312\].*output channel 0/);
  });

  it('a conv whose C·kH·kW reduction can overflow is rejected at prepack, naming its shape', () => {
    const be = createJsBackend();
    const c = 7369; // 7369·9 = 66321 > 66311
    const w = new QTensor(new Int8Array(c * 9).fill(127), [1, c, 3, 3], 'qint8', perTensor(0.01, 0));
    expect(codeOf(() => be.prepackConv2d(w, null))).toBe('OVERFLOW');
    expect(messageOf(() => be.prepackConv2d(w, null))).toContain('conv2d weight [1, 7369, 3, 3] (K = 66321)');
    // Weight zero points count: |w − w_zp| is what accumulates.
    const small = new QTensor(new Int8Array(c * 9).fill(60), [1, c, 3, 3], 'qint8', perTensor(0.01, 0));
    expect(codeOf(() => be.prepackConv2d(small, null))).toBe('no error');
    const shifted = new QTensor(new Int8Array(c * 9).fill(60), [1, c, 3, 3], 'qint8', perTensor(0.01, -70));
    expect(codeOf(() => be.prepackConv2d(shifted, null))).toBe('OVERFLOW');
  });

  it('a bias too large for any input scale ≥ minInputScale is rejected; a larger minInputScale admits it, the call re-checks', () => {
    const be = createJsBackend();
    const w = new QTensor(Int8Array.of(1, 2, 3, 4), [1, 4], 'qint8', perTensor(1e-3, 0));
    const bias = Float32Array.of(1e4); // |b| / (2^-16 · 1e-3) ≈ 6.6e11 > 2^31
    expect(DEFAULT_MIN_INPUT_SCALE).toBe(2 ** -16);
    expect(codeOf(() => be.prepackLinear(w, bias))).toBe('OVERFLOW');
    const packed = be.prepackLinear(w, bias, { minInputScale: 1 });
    const ok = be.kernels.linear(xq(Uint8Array.of(1, 2, 3, 4), [1, 4], 1, 0), packed, { scale: 10, zeroPoint: 0 });
    expect(ok.data[0]).toBe(255);
    // At run time the input scale is 1e-4: bias_q clamps at 2^31 − 1, and acc + bias_q could wrap.
    expect(
      codeOf(() =>
        be.kernels.linear(xq(Uint8Array.of(1, 2, 3, 4), [1, 4], 1e-4, 0), packed, { scale: 10, zeroPoint: 0 }),
      ),
    ).toBe('OVERFLOW');
  });
});

describe('bad input is refused before any work', () => {
  const be = createJsBackend();
  const w = new QTensor(new Int8Array(4 * 2 * 3 * 3), [4, 2, 3, 3], 'qint8', perTensor(0.01, 0));

  it('groups that do not divide the output channels', () => {
    expect(codeOf(() => be.prepackConv2d(w, null, { groups: 3 }))).toBe('INVALID_ARGUMENT');
  });

  it('input channels that do not match inC/groups · groups', () => {
    const packed = be.prepackConv2d(w, null, { groups: 2 });
    expect(
      codeOf(() => be.kernels.conv2d(xq(new Uint8Array(3 * 25), [1, 3, 5, 5]), packed, { scale: 1, zeroPoint: 0 })),
    ).toBe('SHAPE_MISMATCH');
  });

  it('an input smaller than the dilated kernel', () => {
    const packed = be.prepackConv2d(
      new QTensor(new Int8Array(4 * 4 * 9), [4, 4, 3, 3], 'qint8', perTensor(0.01, 0)),
      null,
      { dilation: 3 },
    );
    expect(
      codeOf(() => be.kernels.conv2d(xq(new Uint8Array(4 * 36), [1, 4, 6, 6]), packed, { scale: 1, zeroPoint: 0 })),
    ).toBe('SHAPE_MISMATCH');
  });

  it('dtypes and qschemes: qint8 activation, quint8 weight, per-channel activation, qint8 output', () => {
    const packed = be.prepackLinear(new QTensor(new Int8Array(6), [2, 3], 'qint8', perTensor(0.01, 0)), null);
    const sx = new QTensor(new Int8Array(3), [1, 3], 'qint8', perTensor(0.1, 0));
    expect(codeOf(() => be.kernels.linear(sx, packed, { scale: 1, zeroPoint: 0 }))).toBe('DTYPE_MISMATCH');
    expect(
      codeOf(() => be.prepackLinear(new QTensor(new Uint8Array(6), [2, 3], 'quint8', perTensor(0.01, 0)), null)),
    ).toBe('DTYPE_MISMATCH');
    const pcx = new QTensor(new Uint8Array(3), [1, 3], 'quint8', {
      qscheme: 'per_channel_affine',
      scales: Float64Array.of(0.1),
      zeroPoints: Int32Array.of(0),
      axis: 0,
    });
    expect(codeOf(() => be.kernels.linear(pcx, packed, { scale: 1, zeroPoint: 0 }))).toBe('INVALID_QPARAMS');
    expect(
      codeOf(() =>
        be.kernels.linear(xq(new Uint8Array(3), [1, 3]), packed, { scale: 1, zeroPoint: 0, dtype: 'qint8' }),
      ),
    ).toBe('DTYPE_MISMATCH');
  });

  it('zero-size tensors', () => {
    expect(
      codeOf(() => be.prepackLinear(new QTensor(new Int8Array(0), [0, 3], 'qint8', perTensor(0.01, 0)), null)),
    ).toBe('EMPTY_TENSOR');
    const packed = be.prepackLinear(new QTensor(new Int8Array(6), [2, 3], 'qint8', perTensor(0.01, 0)), null);
    expect(codeOf(() => be.kernels.linear(xq(new Uint8Array(0), [0, 3]), packed, { scale: 1, zeroPoint: 0 }))).toBe(
      'EMPTY_TENSOR',
    );
  });

  it('bias length, in-features and output qparams', () => {
    const wt = new QTensor(new Int8Array(6), [2, 3], 'qint8', perTensor(0.01, 0));
    expect(codeOf(() => be.prepackLinear(wt, Float32Array.of(1)))).toBe('SHAPE_MISMATCH');
    const packed = be.prepackLinear(wt, null);
    expect(codeOf(() => be.kernels.linear(xq(new Uint8Array(4), [1, 4]), packed, { scale: 1, zeroPoint: 0 }))).toBe(
      'SHAPE_MISMATCH',
    );
    expect(codeOf(() => be.kernels.linear(xq(new Uint8Array(3), [1, 3]), packed, { scale: 0, zeroPoint: 0 }))).toBe(
      'INVALID_QPARAMS',
    );
    expect(codeOf(() => be.kernels.linear(xq(new Uint8Array(3), [1, 3]), packed, { scale: 1, zeroPoint: 256 }))).toBe(
      'INVALID_QPARAMS',
    );
  });

  it('onednn with a nonzero weight zero point: supports() says no and the kernel refuses', () => {
    const wt = new QTensor(new Int8Array(6), [2, 3], 'qint8', perTensor(0.01, 3));
    expect(be.supports('linear', { engine: 'onednn', symmetricWeight: false })).toBe(false);
    expect(be.supports('linear', { engine: 'onednn', symmetricWeight: true })).toBe(true);
    expect(
      codeOf(() =>
        be.kernels.linear(
          xq(new Uint8Array(3), [1, 3]),
          be.prepackLinear(wt, null),
          { scale: 1, zeroPoint: 0 },
          { engine: 'onednn' },
        ),
      ),
    ).toBe('UNSUPPORTED_OP');
    expect(be.supports('linearDynamic', { engine: 'onednn', symmetricWeight: false })).toBe(false);
    expect(
      messageOf(() =>
        be.kernels.linearDynamic(Tensor.fromArray([1, 2, 3], [1, 3]), be.prepackLinear(wt, null), { engine: 'onednn' }),
      ),
    ).toMatch(/linearDynamic: engine onednn needs weight zero points 0 .*linear weight \[2, 3\] has \[3, 3\]/);
  });

  it('a weight packed by another backend instance, or after dispose()', () => {
    const other = createJsBackend();
    const wt = new QTensor(new Int8Array(6), [2, 3], 'qint8', perTensor(0.01, 0));
    const foreign = other.prepackLinear(wt, null);
    expect(codeOf(() => be.kernels.linear(xq(new Uint8Array(3), [1, 3]), foreign, { scale: 1, zeroPoint: 0 }))).toBe(
      'INVALID_ARGUMENT',
    );
    other.dispose();
    expect(codeOf(() => other.kernels.linear(xq(new Uint8Array(3), [1, 3]), foreign, { scale: 1, zeroPoint: 0 }))).toBe(
      'INVALID_ARGUMENT',
    );
  });

  it('engines: an unknown one is refused; fbgemm warns once per backend', () => {
    const onWarning = vi.fn();
    const b = createJsBackend({ onWarning });
    const packed = b.prepackLinear(new QTensor(new Int8Array(6), [2, 3], 'qint8', perTensor(0.01, 0)), null);
    const x = xq(new Uint8Array(3), [1, 3]);
    expect(codeOf(() => b.kernels.linear(x, packed, { scale: 1, zeroPoint: 0 }, { engine: 'x86' as never }))).toBe(
      'INVALID_ARGUMENT',
    );
    b.kernels.linear(x, packed, { scale: 1, zeroPoint: 0 }, { engine: 'fbgemm' });
    b.kernels.linear(x, packed, { scale: 1, zeroPoint: 0 }, { engine: 'fbgemm' });
    expect(onWarning).toHaveBeenCalledTimes(1);
    expect(onWarning.mock.calls[0]![0]).toMatch(/fbgemm is experimental/);
    // the dynamic linear is reproduced on qnnpack and onednn only (spec §5.10)
    expect(codeOf(() => b.kernels.linearDynamic(Tensor.fromArray([1, 2, 3], [1, 3]), packed, { engine: 'ort' }))).toBe(
      'UNSUPPORTED_OP',
    );
  });
});
