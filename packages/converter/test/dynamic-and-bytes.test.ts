import { describe, expect, it } from 'vitest';
import { Generator, isQuantError, randn, type Tensor } from '@quint/tensor';
import { getDefaultQConfig } from '@quint/observers';
import {
  AdaptiveAvgPool2d,
  Conv2d,
  DeQuantStub,
  Flatten,
  Linear,
  Module,
  QuantStub,
  ReLU,
  Sequential,
  nnq,
  nnqd,
} from '@quint/nn';
import { convert, fuseModules, modelBytes, prepare, quantizeDynamic } from '@quint/converter';
import { bitDiffs, bytesOf, decode, loadGolden, M, stateDictOf, type Encoded } from './helpers.js';

interface DynGolden {
  debianPackage: string;
  floatStateDict: Record<string, Encoded>;
  input: Encoded;
  output: Encoded;
  repr: string;
  weights: Record<string, { weight: Encoded; weightQparams: { scale: number; zeroPoint: number } }>;
}
const dyn = loadGolden<DynGolden>('converter_dynamic.json');

describe('quantizeDynamic vs torch.ao.quantization.quantize_dynamic (1.13, engine qnnpack)', () => {
  it('swaps every Linear for nnqd.Linear: weights identical, float output bit-identical', () => {
    const mlp = new Sequential(new Linear(16, 12), new ReLU(), new Linear(12, 4));
    mlp.loadStateDict(stateDictOf(dyn.floatStateDict));
    const q = quantizeDynamic(mlp, { qconfigSpec: new Set([Linear]) });
    expect(q.get(0)).toBeInstanceOf(nnqd.Linear);
    expect(q.get(2)).toBeInstanceOf(nnqd.Linear);
    expect(mlp.get(0)).toBeInstanceOf(Linear); // not in place
    for (const [path, g] of Object.entries(dyn.weights)) {
      const w = (q.getSubmodule(path) as nnqd.Linear).weight();
      expect([...w.intRepr()], path).toEqual([...bytesOf(g.weight)]);
      expect(w.qScale()).toBe(g.weightQparams.scale);
    }
    const y = q.call(decode(dyn.input)) as Tensor;
    expect(bitDiffs(y.toFloat32Array(), decode(dyn.output).toFloat32Array())).toEqual([]);
    expect(String(q)).toBe(dyn.repr);
  });

  it('defaults to every Linear; a path set picks single layers; other dtypes are refused', () => {
    const mlp = new Sequential(new Linear(4, 4), new Linear(4, 2));
    expect(quantizeDynamic(mlp).get(1)).toBeInstanceOf(nnqd.Linear);
    const one = quantizeDynamic(mlp, { qconfigSpec: new Set(['1']) });
    expect(one.get(0)).toBeInstanceOf(Linear);
    expect(one.get(1)).toBeInstanceOf(nnqd.Linear);
    try {
      quantizeDynamic(mlp, { dtype: 'float16' as 'qint8' });
      throw new Error('expected UNSUPPORTED_OP');
    } catch (e) {
      expect(isQuantError(e) && e.code).toBe('UNSUPPORTED_OP');
    }
  });
});

class Cnn extends Module {
  quant = new QuantStub();
  conv1 = new Conv2d(3, 32, 3);
  relu1 = new ReLU();
  conv2 = new Conv2d(32, 64, 3);
  relu2 = new ReLU();
  pool = new AdaptiveAvgPool2d(1);
  flatten = new Flatten();
  fc = new Linear(64, 128);
  dequant = new DeQuantStub();
  forward(x: Tensor): Tensor {
    const y = this.relu2.call(this.conv2.call(this.relu1.call(this.conv1.call(this.quant.call(x)))));
    return this.dequant.call(this.fc.call(this.flatten.call(this.pool.call(y))));
  }
}

describe('modelBytes', () => {
  it('a small CNN (27,712 weights) is about 4× smaller quantized', () => {
    const model = fuseModules(new Cnn().eval(), [
      ['conv1', 'relu1'],
      ['conv2', 'relu2'],
    ]);
    const float = modelBytes(model);
    expect(float).toEqual({ fp32: 4 * 27712, int8: 4 * 27712 });
    model.qconfig = getDefaultQConfig('qnnpack', { torchCompat: '1.13' });
    const p = prepare(model);
    p.call(randn([2, 3, 8, 8], new Generator(5)));
    const q = convert(p);
    const bytes = modelBytes(q);
    // codes 27,488 + biases 4 × 224 + qparams 4 × (quant 2 + conv1 2+2 + conv2 2+2 + fc 2+2)
    expect(bytes).toEqual({ fp32: 4 * 27712, int8: 27488 + 4 * 224 + 4 * 14 });
    expect(bytes.fp32 / bytes.int8).toBeCloseTo(3.898, 3); // 110,848 / 28,440
  });

  it("the seed's 1×1 conv grows: 8 bytes in float, 29 quantized, dominated by qparams", () => {
    const m = fuseModules(new M().eval(), [['conv', 'relu']]);
    expect(modelBytes(m)).toEqual({ fp32: 8, int8: 8 });
    m.qconfig = getDefaultQConfig('fbgemm', { torchCompat: '1.13' });
    const p = prepare(m);
    p.call(randn([4, 1, 4, 4], new Generator(6)));
    const q = convert(p);
    // 1 weight code + 4-byte bias + weight scale/zp (per channel, 1 channel) + output scale/zp + input scale/zp
    expect(modelBytes(q)).toEqual({ fp32: 8, int8: 1 + 4 + 8 + 8 + 8 });
    expect((q.conv as unknown as nnq.ConvReLU2d).weight().intRepr()).toHaveLength(1);
    expect(nnq.isQTensor((q.conv as unknown as nnq.ConvReLU2d).weight())).toBe(true);
  });
});
