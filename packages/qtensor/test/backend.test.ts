import { isQuantError, Tensor } from '@quint/tensor';
import { describe, expect, it } from 'vitest';
import {
  defineBackend,
  DEFAULT_ENGINE,
  ENGINES,
  OP_NAMES,
  opNames,
  isOpName,
  quantizePerTensor,
  type Engine,
} from '../src/index.js';

describe('OP_NAMES', () => {
  it('holds the op vocabulary of issue 4, each with a group, a PyTorch op and claimed engines', () => {
    expect(opNames()).toEqual(
      expect.arrayContaining([
        'quantizePerTensor',
        'quantizePerChannel',
        'dequantize',
        'conv2d',
        'conv2dRelu',
        'linear',
        'linearRelu',
        'linearDynamic',
        'add',
        'addRelu',
        'mul',
        'mulRelu',
        'cat',
        'relu',
        'relu6',
        'hardtanh',
        'hardswish',
        'hardsigmoid',
        'sigmoid',
        'tanh',
        'maxPool2d',
        'avgPool2d',
        'adaptiveAvgPool2d',
        'mean',
        'reshape',
      ]),
    );
    for (const op of opNames()) {
      const info = OP_NAMES[op];
      expect(info.description.length).toBeGreaterThan(10);
      expect(info.engines.length).toBeGreaterThan(0);
      expect(info.engines.every((e) => ENGINES.includes(e))).toBe(true);
    }
    expect(isOpName('conv2d')).toBe(true);
    expect(isOpName('toString')).toBe(false);
    expect(DEFAULT_ENGINE).toBe('qnnpack');
  });
});

describe('defineBackend', () => {
  const be = defineBackend({
    name: 'tiny',
    kernels: { quantizePerTensor: (x, out) => quantizePerTensor(x, out.scale, out.zeroPoint, out.dtype ?? 'quint8') },
    engines: { quantizePerTensor: ['qnnpack', 'onednn'] },
    supports: (_op, p) => p.dtype !== 'qint32',
  });

  it('supports() follows the kernels present, the claimed engines and the refinement', () => {
    expect(be.supports('quantizePerTensor')).toBe(true);
    expect(be.supports('quantizePerTensor', { engine: 'onednn' })).toBe(true);
    expect(be.supports('quantizePerTensor', { engine: 'ort' })).toBe(false);
    expect(be.supports('quantizePerTensor', { dtype: 'qint32' })).toBe(false);
    expect(be.supports('conv2d')).toBe(false);
    expect(be.supports('nonsense' as never)).toBe(false);
  });

  it('runs present kernels; missing kernels and prepack throw UNSUPPORTED_OP', () => {
    expect(
      Array.from(be.kernels.quantizePerTensor(Tensor.fromArray([0.25]), { scale: 0.1, zeroPoint: 10 }).data),
    ).toEqual([12]);
    for (const call of [() => be.kernels.relu(undefined as never), () => be.prepackLinear(undefined as never, null)]) {
      try {
        call();
        expect.unreachable();
      } catch (e) {
        expect(isQuantError(e) && e.code).toBe('UNSUPPORTED_OP');
        expect((e as Error).message).toContain("backend 'tiny'");
      }
    }
  });

  it('defaults: init resolves, dispose is a no-op, engines default to the reference claims', async () => {
    const b = defineBackend({ name: 'd', kernels: { relu: (x) => x } });
    await expect(b.init()).resolves.toBeUndefined();
    expect(() => b.dispose()).not.toThrow();
    const claimed: readonly Engine[] = OP_NAMES.relu.engines;
    for (const engine of ENGINES) expect(b.supports('relu', { engine })).toBe(claimed.includes(engine));
  });
});
