import { describe, expect, it } from 'vitest';
import { isQuantError, randn, Generator, type Tensor } from '@quint/tensor';
import type { QTensor } from '@quint/qtensor';
import { getDefaultQConfig, MovingAverageMinMaxObserver, QConfig, defaultWeightObserver } from '@quint/observers';
import {
  BatchNorm2d,
  Conv2d,
  DeQuantStub,
  Dropout,
  Flatten,
  Identity,
  isObserverLike,
  Linear,
  Module,
  QuantStub,
  ReLU,
  Sequential,
  nni,
  nnq,
} from '@quint/nn';
import {
  convert,
  fuseModules,
  fuseModulesQat,
  prepare,
  propagateQConfig,
  quantize,
  swapModule,
  defaultStaticQuantModuleMappings,
} from '@quint/converter';
import { decode, loadGolden, M, SmallCNN, stateDictOf, type Encoded } from './helpers.js';

const qconfig = getDefaultQConfig('qnnpack', { torchCompat: '1.13' });

function expectCode(fn: () => unknown, code: string, text: RegExp): void {
  try {
    fn();
  } catch (e) {
    expect(isQuantError(e), String(e)).toBe(true);
    expect((e as { code: string }).code).toBe(code);
    expect((e as Error).message).toMatch(text);
    return;
  }
  throw new Error('expected a QuantError');
}

function fusedCnn(): SmallCNN {
  const m = fuseModules(new SmallCNN().eval(), [
    ['conv1', 'bn1', 'relu1'],
    ['conv2', 'relu2'],
  ]);
  m.qconfig = qconfig;
  return m;
}

describe('propagateQConfig', () => {
  it('passes the parent qconfig down; null opts a subtree out; a dict applies by path and by exact type', () => {
    const model = new SmallCNN();
    model.qconfig = qconfig;
    model.fc.qconfig = null;
    propagateQConfig(model);
    expect(model.conv1.qconfig).toBe(qconfig);
    expect(model.quant.qconfig).toBe(qconfig);
    expect(model.fc.qconfig).toBeNull();

    const other = new QConfig({ activation: MovingAverageMinMaxObserver, weight: defaultWeightObserver });
    const seq = new Sequential(new Conv2d(1, 1, 1), new Sequential(new Linear(2, 2), new ReLU()));
    propagateQConfig(
      seq,
      new Map<unknown, QConfig | null>([
        [Linear, other],
        ['1.1', qconfig],
      ]) as never,
    );
    expect(seq.get(0).qconfig).toBeNull();
    expect((seq.get(1) as Sequential).get(0).qconfig).toBe(other);
    expect((seq.get(1) as Sequential).get(1).qconfig).toBe(qconfig);
  });
});

describe('prepare', () => {
  it('attaches observers where PyTorch 1.13 does, on a copy', () => {
    const fused = fusedCnn();
    const prepared = prepare(fused);
    const observed = prepared
      .namedModules()
      .filter(([, m]) => isObserverLike(m.activationPostProcess))
      .map(([p]) => p);
    // QuantStub, fused convs, the FloatFunctional's slot, the Linear; not DeQuantStub, pooling, flatten, Identity.
    expect(observed).toEqual(['quant', 'conv1', 'conv2', 'skip', 'fc']);
    expect(fused.quant.activationPostProcess).toBeUndefined();
    expect(prepared.conv1.forwardHooks().hooks).toHaveLength(1);
    expect(prepared.skip.forwardHooks().hooks).toHaveLength(0);
  });

  it('skips Dropout and modules whose qconfig is null', () => {
    class D extends Module {
      quant = new QuantStub();
      drop = new Dropout();
      fc = new Linear(2, 2);
      forward(x: Tensor): Tensor {
        return this.fc.call(this.drop.call(this.quant.call(x)));
      }
    }
    const d = new D().eval();
    d.qconfig = qconfig;
    d.fc.qconfig = null;
    const p = prepare(d);
    expect(p.drop.activationPostProcess).toBeUndefined();
    expect(p.fc.activationPostProcess).toBeUndefined();
    expect(isObserverLike(p.quant.activationPostProcess)).toBe(true);
  });

  it('observes the input with a pre-hook when the activation observer is memoryless (averaging constant 1)', () => {
    const fc = new Sequential(new Linear(3, 2));
    fc.qconfig = new QConfig({
      activation: MovingAverageMinMaxObserver.withArgs({ averagingConstant: 1 }),
      weight: defaultWeightObserver,
    });
    const p = prepare(fc.eval());
    const lin = p.get(0);
    expect(lin.forwardHooks().preHooks).toHaveLength(1);
    const x = randn([4, 3], new Generator(1));
    p.call(x);
    const obs = lin.activationPostProcess as unknown as { minVal: number; maxVal: number };
    expect(obs.minVal).toBe(Math.min(...x.toFloat32Array()));
    expect(obs.maxVal).toBe(Math.max(...x.toFloat32Array()));
  });

  it('warns as PyTorch when no module has a qconfig', () => {
    const warnings: string[] = [];
    prepare(new M(), { onWarning: (w) => warnings.push(w) });
    expect(warnings).toEqual([
      'None of the submodule got qconfig applied. Make sure you passed correct configuration through `qconfig_dict` or by assigning the `.qconfig` attribute directly on submodules',
    ]);
  });
});

interface SeedCase {
  floatStateDict: Record<string, Encoded>;
  calibration: Encoded[];
  engines: Record<string, { repr: string }>;
}
const seed = loadGolden<{ cases: SeedCase[] }>('converter_eager.json').cases[0]!;

function seedPrepared(): M {
  const m = new M();
  m.loadStateDict(stateDictOf(seed.floatStateDict));
  const fused = fuseModules(m.eval(), [['conv', 'relu']]);
  fused.qconfig = getDefaultQConfig('fbgemm', { torchCompat: '1.13' });
  const p = prepare(fused);
  p.call(decode(seed.calibration[0]!));
  return p;
}

describe('convert', () => {
  it("swaps modules, prints as PyTorch's converted seed model, and removes qconfigs and observers", () => {
    const prepared = seedPrepared();
    const q = convert(prepared);
    expect(q.quant).toBeInstanceOf(nnq.Quantize);
    expect(q.conv).toBeInstanceOf(nnq.ConvReLU2d);
    expect(q.relu).toBeInstanceOf(Identity);
    expect(q.dequant).toBeInstanceOf(nnq.DeQuantize);
    expect(String(q)).toBe(seed.engines['qnnpack']!.repr);
    for (const m of q.modules()) {
      expect(m.qconfig).toBeUndefined();
      expect(isObserverLike(m.activationPostProcess)).toBe(false);
    }
    expect((q.conv as unknown as nnq.ConvReLU2d).engine).toBe('qnnpack');
    // not in place: the prepared model keeps its float modules and observers
    expect(prepared.conv).toBeInstanceOf(nni.ConvReLU2d);
    expect(isObserverLike(prepared.conv.activationPostProcess)).toBe(true);
  });

  it('keeps user forward hooks and drops the observer hook', () => {
    const prepared = seedPrepared();
    const seen: string[] = [];
    prepared.conv.registerForwardPreHook(() => void seen.push('pre'));
    prepared.conv.registerForwardHook((_m, _a, out) => void seen.push(nnq.isQTensor(out) ? 'post:q' : 'post:f'));
    const q = convert(prepared, { inplace: true });
    expect(q).toBe(prepared);
    expect(q.conv.forwardHooks().hooks).toHaveLength(1);
    q.call(decode(seed.calibration[0]!));
    expect(seen).toEqual(['pre', 'post:q']);
  });

  it('quantize() = eval + prepare + calibrate + convert', () => {
    const m = new M();
    m.loadStateDict(stateDictOf(seed.floatStateDict));
    const fused = fuseModules(m.eval(), [['conv', 'relu']]);
    fused.qconfig = getDefaultQConfig('fbgemm', { torchCompat: '1.13' });
    const x = decode(seed.calibration[0]!);
    const q = quantize(fused, (model, batch: Tensor) => void model.call(batch), [x]);
    const ref = convert(seedPrepared());
    expect((q.conv as unknown as nnq.ConvReLU2d).scale).toBe((ref.conv as unknown as nnq.ConvReLU2d).scale);
    expect([...(q.conv.call(q.quant.call(x)) as unknown as QTensor).intRepr()]).toEqual([
      ...(ref.conv.call(ref.quant.call(x)) as unknown as QTensor).intRepr(),
    ]);
    expect(fused.conv).toBeInstanceOf(nni.ConvReLU2d);
  });

  it('fails for an observed module with no quantized mapping, naming its path and the fix', () => {
    class B extends Module {
      quant = new QuantStub();
      conv = new Conv2d(1, 2, 1);
      bn = new BatchNorm2d(2);
      dequant = new DeQuantStub();
      forward(x: Tensor): Tensor {
        return this.dequant.call(this.bn.call(this.conv.call(this.quant.call(x))));
      }
    }
    const b = new B().eval();
    b.qconfig = qconfig;
    const p = prepare(b);
    p.call(randn([1, 1, 2, 2], new Generator(2)));
    expectCode(
      () => convert(p),
      'NO_MAPPING',
      /BatchNorm2d at 'bn' has a qconfig and an observer but no quantized module.*fuseModules/,
    );

    const t = new B().train();
    const qat = fuseModulesQat(t, [['conv', 'bn']]);
    qat.qconfig = qconfig;
    const pq = prepare(qat);
    expect(isObserverLike(pq.conv.activationPostProcess)).toBe(true);
    expectCode(
      () =>
        swapModule(
          pq.conv,
          defaultStaticQuantModuleMappings,
          { backend: undefined as never, engine: 'qnnpack' },
          'conv',
        ),
      'NO_MAPPING',
      /ConvBn2d at 'conv'.*model\.eval\(\) before fuseModules/,
    );
  });

  it('a quantized model without a QuantStub rejects float input, naming the module path', () => {
    class NoStub extends Module {
      conv = new Conv2d(1, 1, 1);
      forward(x: Tensor): Tensor {
        return this.conv.call(x);
      }
    }
    const n = new NoStub().eval();
    n.qconfig = qconfig;
    const p = prepare(n);
    const x = randn([1, 1, 2, 2], new Generator(3));
    p.call(x);
    const q = convert(p);
    expectCode(() => q.call(x), 'DTYPE_MISMATCH', /QuantizedConv2d 'conv' got a float Tensor.*QuantStub/);
  });

  it('a quantized output flowing into a float-only module (DeQuantStub missing) fails naming the module path', () => {
    class NoDeQuant extends Module {
      quant = new QuantStub();
      conv = new Conv2d(1, 2, 1);
      flatten = new Flatten();
      head = new Linear(2, 2);
      forward(x: Tensor): Tensor {
        return this.head.call(this.flatten.call(this.conv.call(this.quant.call(x))));
      }
    }
    const n = new NoDeQuant().eval();
    n.qconfig = qconfig;
    n.head.qconfig = null;
    const p = prepare(n);
    const x = randn([1, 1, 1, 1], new Generator(4));
    p.call(x);
    const q = convert(p);
    expectCode(() => q.call(x), 'DTYPE_MISMATCH', /Linear 'head'.*QTensor.*DeQuantStub/);
  });
});
