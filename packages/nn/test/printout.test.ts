import { describe, expect, test } from 'vitest';
import {
  nni,
  Conv2d,
  BatchNorm2d,
  Linear,
  ReLU,
  Sequential,
  FloatFunctional,
  QuantStub,
  type Module,
} from '../src/index.js';
import { loadGolden } from './helpers.js';
import { allLayers, M, Net } from './models.js';

interface ReprCase {
  name: string;
  repr: string;
  stateDictKeys: string[];
}
const golden = loadGolden<{ reprs: ReprCase[] }>('nn_float.json');

const builders: Record<string, () => Module> = {
  'seed M': () => new M(),
  'Net (nested)': () => new Net(),
  'all layers': allLayers,
  'Sequential(OrderedDict)': () => new Sequential({ conv: new Conv2d(1, 2, 3), relu: new ReLU() }),
  ConvReLU2d: () => new nni.ConvReLU2d(new Conv2d(1, 1, 1), new ReLU()),
  ConvBn2d: () => new nni.ConvBn2d(new Conv2d(2, 4, 3, { bias: false }), new BatchNorm2d(4)),
  ConvBnReLU2d: () => new nni.ConvBnReLU2d(new Conv2d(2, 4, 3), new BatchNorm2d(4), new ReLU()),
  LinearReLU: () => new nni.LinearReLU(new Linear(8, 4), new ReLU()),
  FloatFunctional: () => new FloatFunctional(),
  QuantStub: () => new QuantStub(),
  'empty Sequential': () => new Sequential(),
};

describe('printout and state-dict keys equal PyTorch 1.13', () => {
  test('every golden case has a TS builder', () => {
    expect(golden.reprs.map((r) => r.name).sort()).toEqual(Object.keys(builders).sort());
  });
  for (const c of golden.reprs) {
    test(c.name, () => {
      const m = builders[c.name]!();
      expect(String(m)).toBe(c.repr);
      expect(Object.keys(m.stateDict())).toEqual(c.stateDictKeys);
    });
  }
});
