// Every float reference op against PyTorch 1.13.1 (Debian 1.13.1+dfsg-4, one thread, AVX2 CPU),
// from test/goldens/ops.json written by tools/goldens/tensor_ops.py.
//
// Bit-exact (every float32 bit pattern equal, −0 and all): conv2d on the ATen slow_conv2d path and
// on oneDNN's jit:avx2 direct, jit_1x1 and jit_dw kernels; linear; matmul; relu; relu6; hardtanh;
// hardswish; hardsigmoid; sigmoid (Sleef vector part and scalar tail); add; mul; cat; maxPool2d;
// avgPool2d; adaptiveAvgPool2d (incl. 1×1 via mean); batchNorm2d; softmax; mean; flatten; reshape;
// permute; dropout.
//
// Declared tolerances (PyTorch's order is not reproduced):
// - conv2d grouped without whole 8-channel groups (oneDNN gemm:jit, im2col + jit sgemm): the jit
//   sgemm's summation order is not emulated; |Δ| ≤ 1e-5·(1 + |y|).
// - tanh: PyTorch uses Sleef tanhf8_u10 (≤ 1 ulp); quint returns the correctly rounded value; ≤ 1 ulp.
import { describe, expect, test } from 'vitest';
import { compareBits, decode, loadGoldens, runCase } from './golden-cases.js';

const goldens = loadGoldens();
const TOLERANT_CONV = new Set([
  'conv2d_dw3x3_mult2_n1_c4',
  'conv2d_grouped2_3x3_n1_ic8',
  'conv2d_grouped2_3x3_n2_ic64',
]);

describe('goldens', () => {
  test('come from the Debian PyTorch 1.13.1 build', () => {
    expect(goldens.meta.torchPackage).toBe('1.13.1+dfsg-4');
    expect(goldens.meta.threads).toBe(1);
    expect(goldens.cases.length).toBeGreaterThan(90);
  });
});

describe.each(goldens.cases.map((c) => [c.name, c] as const))('%s', (name, c) => {
  const want = decode(c.expected);
  if (TOLERANT_CONV.has(name)) {
    test('within 1e-5·(1+|y|) of PyTorch (gemm:jit order not emulated)', () => {
      const got = runCase(goldens, c);
      expect(got.shape).toEqual(want.shape);
      const g = got.toFloat32Array();
      const w = want.toFloat32Array();
      for (let i = 0; i < w.length; i++)
        expect(Math.abs(g[i]! - w[i]!)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(w[i]!)));
    });
  } else if (c.op === 'tanh') {
    test('within 1 ulp of PyTorch (Sleef tanhf8_u10 not emulated)', () => {
      const got = runCase(goldens, c);
      expect(got.shape).toEqual(want.shape);
      expect(compareBits(got, want).maxUlp).toBeLessThanOrEqual(1);
    });
  } else {
    test('bit-exact', () => {
      const got = runCase(goldens, c);
      expect(got.shape).toEqual(want.shape);
      expect(compareBits(got, want)).toEqual({ mismatches: 0, maxUlp: 0 });
    });
  }
});
