import type { Tensor } from '@quint/tensor';
import {
  isQuantError,
  pushOpInterceptor,
  popOpInterceptor,
  NOT_INTERCEPTED,
  randn,
  tensor,
  zeros,
  Generator,
} from '@quint/tensor';
import { describe, expect, test } from 'vitest';
import {
  BatchNorm2d,
  cloneModule,
  Conv2d,
  Dropout,
  FloatFunctional,
  Identity,
  isBuiltinModule,
  Linear,
  Module,
  nni,
  Parameter,
  ReLU,
  Sequential,
} from '../src/index.js';
import { Block, M, Net } from './models.js';

function thrown(f: () => unknown): { code: string; message: string } {
  try {
    f();
  } catch (e) {
    if (isQuantError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected a QuantError');
}

describe('module tree', () => {
  test('children in assignment order, named modules with dotted paths, pre-order', () => {
    const net = new Net();
    expect(net.namedChildren().map(([n]) => n)).toEqual([
      'quant',
      'stem',
      'layer1',
      'pool',
      'flatten',
      'fc',
      'dequant',
    ]);
    expect(net.namedModules().map(([n]) => n)).toEqual([
      '',
      'quant',
      'stem',
      'stem.0',
      'stem.1',
      'stem.2',
      'layer1',
      'layer1.0',
      'layer1.0.conv1',
      'layer1.0.bn1',
      'layer1.0.relu',
      'layer1.0.skipAdd',
      'layer1.0.skipAdd.activationPostProcess',
      'layer1.1',
      'layer1.1.conv1',
      'layer1.1.bn1',
      'layer1.1.relu',
      'layer1.1.skipAdd',
      'layer1.1.skipAdd.activationPostProcess',
      'pool',
      'flatten',
      'fc',
      'dequant',
    ]);
    expect(net.modules().length).toBe(23);
    expect(net.children()[1]).toBe(net.stem);
  });

  test('parameters and buffers use property paths; stateDict uses PyTorch keys', () => {
    const b = new Block(2);
    expect(b.namedParameters().map(([n]) => n)).toEqual(['conv1.weight', 'bn1.weight', 'bn1.bias']);
    expect(b.namedBuffers().map(([n]) => n)).toEqual(['bn1.runningMean', 'bn1.runningVar', 'bn1.numBatchesTracked']);
    expect(Object.keys(b.stateDict())).toEqual([
      'conv1.weight',
      'bn1.weight',
      'bn1.bias',
      'bn1.running_mean',
      'bn1.running_var',
      'bn1.num_batches_tracked',
    ]);
    expect(b.stateDict()['bn1.running_mean']).toBe(b.bn1.runningMean);
    expect(b.parameters().length).toBe(3);
    expect(b.buffers().length).toBe(3);
  });

  test('Parameter-valued properties of user modules are parameters; a shared module appears once', () => {
    class P extends Module {
      scale = new Parameter(tensor([2]));
      a = new ReLU();
      b = this.a;
      forward(x: Tensor): Tensor {
        return x;
      }
    }
    const p = new P();
    expect(p.namedParameters().map(([n]) => n)).toEqual(['scale']);
    expect(p.namedModules().map(([n]) => n)).toEqual(['', 'a']);
    expect(p.namedChildren().map(([n]) => n)).toEqual(['a', 'b']);
  });

  test('non-persistent buffers stay out of the state dict', () => {
    class Q extends Module {
      constructor() {
        super();
        this.registerBuffer('kept', zeros([1]));
        this.registerBuffer('scratch', zeros([1]), { persistent: false });
      }
      forward(x: Tensor): Tensor {
        return x;
      }
    }
    expect(Object.keys(new Q().stateDict())).toEqual(['kept']);
    expect(new Q().namedBuffers().map(([n]) => n)).toEqual(['kept', 'scratch']);
  });

  test('getSubmodule / setSubmodule (keeps position) / errors name the path', () => {
    const net = new Net();
    expect(net.getSubmodule('layer1.0.conv1')).toBe((net.layer1.get(0) as Block).conv1);
    expect(net.getSubmodule('')).toBe(net);
    const id = new Identity();
    net.setSubmodule('stem.1', id);
    expect(net.getSubmodule('stem.1')).toBe(id);
    expect(net.stem.namedChildren().map(([n]) => n)).toEqual(['0', '1', '2']);
    net.setSubmodule('fc', new Linear(4, 3));
    expect(net.namedChildren().map(([n]) => n)).toEqual([
      'quant',
      'stem',
      'layer1',
      'pool',
      'flatten',
      'fc',
      'dequant',
    ]);
    const e = thrown(() => net.getSubmodule('layer1.7.conv1'));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toBe(
      "getSubmodule: 'layer1.7.conv1' not found: Sequential at 'layer1' has no submodule '7'; use one of the paths namedModules() lists.",
    );
    expect(thrown(() => net.setSubmodule('', id)).code).toBe('INVALID_ARGUMENT');
  });

  test('Sequential: get, length, append, and calling runs children in order', () => {
    const s = new Sequential(new ReLU(), new Identity());
    expect(s.length).toBe(2);
    expect(s.get(-1)).toBeInstanceOf(Identity);
    s.append(new ReLU());
    expect(s.length).toBe(3);
    expect((s.call(tensor([-1, 2])) as Tensor).toArray()).toEqual([0, 2]);
    expect(thrown(() => s.get(3)).code).toBe('OUT_OF_RANGE');
  });
});

describe('train / eval', () => {
  test('recursive, returns this, default training', () => {
    const net = new Net();
    expect(net.modules().every((m) => m.training)).toBe(true);
    expect(net.eval()).toBe(net);
    expect(net.modules().every((m) => !m.training)).toBe(true);
    net.train();
    expect(net.fc.training).toBe(true);
    net.layer1.train(false);
    expect([net.training, net.layer1.training, net.getSubmodule('layer1.0.bn1').training]).toEqual([
      true,
      false,
      false,
    ]);
  });

  test('BatchNorm2d and Dropout refuse training mode, naming the module path', () => {
    const net = new Net();
    const e = thrown(() => net.call(randn([1, 3, 8, 8])));
    expect(e.code).toBe('UNSUPPORTED_OP');
    expect(e.message).toBe(
      "BatchNorm2d 'stem.1' is in training mode; quint runs inference only: call model.eval() before running the model.",
    );
    const d = thrown(() => new Dropout().call(zeros([1])));
    expect(d.message).toBe(
      'Dropout is in training mode; quint runs inference only: call model.eval() before running the model.',
    );
  });
});

describe('hooks', () => {
  test('pre-hooks and forward hooks run in order, can replace args/output, and are removable', () => {
    const m = new M().eval();
    const log: string[] = [];
    const h1 = m.conv.registerForwardPreHook((mod, args) => {
      log.push(`pre ${mod.getName()} ${(args[0] as Tensor).shape.join('x')}`);
    });
    const h2 = m.conv.registerForwardHook((_mod, _args, out) => {
      log.push(`post ${(out as Tensor).shape.join('x')}`);
    });
    const h3 = m.relu.registerForwardHook(() => zeros([1]));
    const y = m.call(randn([4, 1, 4, 4]));
    expect(log).toEqual(['pre Conv2d 4x1x4x4', 'post 4x1x4x4']);
    expect(y.shape).toEqual([1]);
    h1.remove();
    h2.remove();
    h3.remove();
    expect(m.call(randn([4, 1, 4, 4])).shape).toEqual([4, 1, 4, 4]);
    expect(log.length).toBe(2);
    expect(m.conv.forwardHooks()).toEqual({ preHooks: [], hooks: [] });
  });

  test('a pre-hook returning a single value replaces the only argument', () => {
    const r = new ReLU();
    r.registerForwardPreHook(() => tensor([-5, 5]));
    expect(r.call(tensor([1])).toArray()).toEqual([0, 5]);
  });
});

describe('tracing boundary', () => {
  test('Module.call goes through dispatchModuleCall, so an installed interceptor sees module calls', () => {
    const m = new M().eval();
    const seen: string[] = [];
    pushOpInterceptor({
      callOp: () => NOT_INTERCEPTED,
      callModule: (mod, _args, forward) => {
        seen.push((mod as Module).getName());
        return mod instanceof Conv2d ? NOT_INTERCEPTED : forward();
      },
    });
    try {
      m.call(randn([1, 1, 2, 2]));
    } finally {
      popOpInterceptor();
    }
    expect(seen).toEqual(['M', 'QuantStub', 'Conv2d', 'ReLU', 'DeQuantStub']);
  });
});

describe('loadStateDict', () => {
  test('copies in place; strict reports missing and unexpected keys as PyTorch', () => {
    const a = new Sequential(new Conv2d(1, 2, 1), new BatchNorm2d(2));
    const b = new Sequential(new Conv2d(1, 2, 1, { generator: new Generator(7) }), new BatchNorm2d(2));
    const w = b.get(0) as Conv2d;
    const before = w.weight;
    b.loadStateDict(a.stateDict());
    expect(w.weight).toBe(before);
    expect(w.weight.toArray()).toEqual((a.get(0) as Conv2d).weight.toArray());

    const sd = a.stateDict();
    delete sd['1.running_var'];
    sd['2.weight'] = zeros([1]);
    const e = thrown(() => b.loadStateDict(sd));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toBe(
      'loadStateDict: error(s) loading state_dict for Sequential: Missing key(s) in state_dict: "1.running_var". Unexpected key(s) in state_dict: "2.weight". Pass a state dict of this architecture, or { strict: false }.',
    );
    expect(b.loadStateDict(sd, { strict: false })).toEqual({
      missingKeys: ['1.running_var'],
      unexpectedKeys: ['2.weight'],
    });
  });

  test('shape mismatch names the key and both shapes', () => {
    const e = thrown(() => new Linear(2, 3).loadStateDict({ weight: zeros([3, 3]), bias: zeros([3]) }));
    expect(e.code).toBe('SHAPE_MISMATCH');
    expect(e.message).toContain(
      'size mismatch for weight: copying a param with shape [3, 3] from checkpoint, the shape in current model is [3, 2].',
    );
  });

  test('observer-like children round-trip through the state dict under PyTorch names', () => {
    class FakeObserver {
      minVal = new Float32Array([Infinity]);
      maxVal = new Float32Array([-Infinity]);
      forward(x: Tensor): Tensor {
        for (const v of x.toArray()) {
          this.minVal[0] = Math.min(this.minVal[0]!, v);
          this.maxVal[0] = Math.max(this.maxVal[0]!, v);
        }
        return x;
      }
      calculateQparams() {
        return { scale: new Float32Array([1]), zeroPoint: new Int32Array([0]) };
      }
      stateDict() {
        return { min_val: this.minVal.slice(), max_val: this.maxVal.slice() };
      }
      loadStateDict(sd: Record<string, Float32Array | Int32Array>) {
        this.minVal = Float32Array.from(sd['min_val']!);
        this.maxVal = Float32Array.from(sd['max_val']!);
      }
      toString() {
        return `FakeObserver(min_val=${this.minVal[0]}, max_val=${this.maxVal[0]})`;
      }
    }
    const ff = new FloatFunctional();
    const obs = new FakeObserver();
    ff.activationPostProcess = obs;
    ff.add(tensor([1, 2]), tensor([3, -9]));
    expect(String(ff)).toBe('FloatFunctional(\n  (activation_post_process): FakeObserver(min_val=-7, max_val=4)\n)');
    const sd = ff.stateDict();
    expect(Object.keys(sd)).toEqual(['activation_post_process.min_val', 'activation_post_process.max_val']);
    const ff2 = new FloatFunctional();
    ff2.activationPostProcess = new FakeObserver();
    ff2.loadStateDict(sd);
    expect(String(ff2)).toBe(String(ff));
  });
});

describe('isBuiltinModule and cloneModule', () => {
  test('true for classes of @quint/nn, false for user modules and user subclasses', () => {
    class MyConv extends Conv2d {}
    expect(isBuiltinModule(new Conv2d(1, 1, 1))).toBe(true);
    expect(isBuiltinModule(new Sequential())).toBe(true);
    expect(isBuiltinModule(new nni.ConvReLU2d(new Conv2d(1, 1, 1), new ReLU()))).toBe(true);
    expect(isBuiltinModule(new FloatFunctional())).toBe(true);
    expect(isBuiltinModule(new M())).toBe(false);
    expect(isBuiltinModule(new MyConv(1, 1, 1))).toBe(false);
    expect(isBuiltinModule({})).toBe(false);
  });

  test('a deep copy: same printout and state, independent tensors, hooks kept, sharing preserved', () => {
    const net = new Net().eval();
    const calls: number[] = [];
    net.fc.registerForwardHook(() => void calls.push(1));
    const copy = cloneModule(net);
    expect(copy).toBeInstanceOf(Net);
    expect(String(copy)).toBe(String(net));
    expect(copy.training).toBe(false);
    expect(copy.fc).not.toBe(net.fc);
    expect(copy.fc.weight).not.toBe(net.fc.weight);
    expect(copy.fc.weight).toBeInstanceOf(Parameter);
    expect(copy.fc.weight.toArray()).toEqual(net.fc.weight.toArray());
    copy.fc.weight.data[0] = 42;
    expect(net.fc.weight.data[0]).not.toBe(42);
    const x = randn([1, 3, 8, 8]);
    copy.call(x);
    expect(calls.length).toBe(1);
    class Shared extends Module {
      a = new ReLU();
      b = this.a;
      forward(x: Tensor): Tensor {
        return x;
      }
    }
    const s = cloneModule(new Shared());
    expect(s.a).toBe(s.b);
  });

  test('memo: the copy holds the given values instead of copies of them', () => {
    const net = new Net().eval();
    const w = new Parameter(net.fc.weight.clone());
    const copy = cloneModule(net, new Map([[net.fc.weight, w]]));
    expect(copy.fc.weight).toBe(w);
    expect(copy.fc.bias).not.toBe(net.fc.bias);
    expect(copy.fc.bias!.toArray()).toEqual(net.fc.bias!.toArray());
    expect(String(copy)).toBe(String(net));
    expect(net.fc.weight).not.toBe(w);
  });
});

describe('fused modules check their inputs', () => {
  test('wrong types or order → BAD_FUSION naming both', () => {
    const e = thrown(() => new nni.ConvReLU2d(new ReLU() as unknown as Conv2d, new Conv2d(1, 1, 1) as unknown as ReLU));
    expect(e.code).toBe('BAD_FUSION');
    expect(e.message).toBe(
      'ConvReLU2d: incorrect types for input modules: got (ReLU, Conv2d), expected (Conv2d, ReLU); fuse modules of exactly these types, in this order.',
    );
    class MyReLU extends ReLU {}
    expect(thrown(() => new nni.LinearReLU(new Linear(1, 1), new MyReLU())).code).toBe('BAD_FUSION');
  });
});
