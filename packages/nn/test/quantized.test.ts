import type { Tensor } from '@quint/tensor';
import { isQuantError, randn, tensor, zeros } from '@quint/tensor';
import { makePerTensorQuantizedTensor, QTensor, type TraceRecord } from '@quint/qtensor';
import {
  MinMaxObserver,
  PerChannelMinMaxObserver,
  QConfig,
  defaultWeightObserver,
  defaultPerChannelWeightObserver,
  weightObserverRangeNeg127To127,
} from '@quint/observers';
import { createJsBackend } from '@quint/kernels-js';
import { describe, expect, test } from 'vitest';
import {
  cloneModule,
  Conv2d,
  DeQuantStub,
  FloatFunctional,
  Hardswish,
  Linear,
  Module,
  nni,
  nnq,
  nnqd,
  QuantStub,
  ReLU,
  ReLU6,
  Sequential,
  setQuantizedBackend,
  type StateDict,
  AdaptiveAvgPool2d,
  AvgPool2d,
  Flatten,
} from '../src/index.js';
import { decode, decodeCodes, type EncodedCodes, type EncodedTensor, loadGolden } from './helpers.js';

interface PerTensor {
  qscheme: string;
  scale: number;
  zeroPoint: number;
}
interface PerChannel {
  qscheme: string;
  scales: number[];
  zeroPoints: number[];
  axis: number;
}
interface ChainCase {
  floatStateDict: Record<string, EncodedTensor>;
  observerStateDict: Record<string, EncodedTensor>;
  input: EncodedTensor;
  stages: Record<string, EncodedCodes>;
  output: EncodedTensor;
  repr: string;
}
interface Case {
  name: string;
  kind: string;
  op?: string;
  engine: 'qnnpack' | 'onednn';
  weightObserver?: 'per_tensor_symmetric' | 'per_channel_symmetric' | 'range_neg_127_to_127';
  floatStateDict?: Record<string, EncodedTensor>;
  observer?: { min_val: number; max_val: number };
  input?: EncodedTensor;
  inputQparams?: PerTensor;
  inputCodes?: EncodedCodes;
  weightCodes?: EncodedCodes;
  weightQparams?: PerTensor | PerChannel;
  scale?: number;
  zeroPoint?: number;
  repr: string;
  output: EncodedCodes;
  outputQparams?: PerTensor | null;
  dequantized?: EncodedTensor;
  stateDictKeys?: string[];
  a?: EncodedCodes;
  aQparams?: PerTensor;
  b?: EncodedCodes;
  bQparams?: PerTensor;
}
const golden = loadGolden<{ cases: Case[] }>('nn_quantized.json');
const backend = createJsBackend();

const WEIGHT = {
  per_tensor_symmetric: defaultWeightObserver,
  per_channel_symmetric: defaultPerChannelWeightObserver,
  range_neg_127_to_127: weightObserverRangeNeg127To127,
} as const;
const ACT = MinMaxObserver.withArgs({ dtype: 'quint8', qscheme: 'per_tensor_affine' });

/** PyTorch's observer state loaded into ours (level 1 of DESIGN.md "Numerics"). */
function observerWith(state: { min_val: number; max_val: number }): MinMaxObserver {
  const obs = ACT.create();
  obs.loadStateDict({
    ...obs.stateDict(),
    min_val: Float32Array.of(state.min_val),
    max_val: Float32Array.of(state.max_val),
  });
  return obs;
}

function prepared<M extends Module>(m: M, c: Case): M {
  const qconfig = new QConfig({ activation: ACT, weight: WEIGHT[c.weightObserver ?? 'per_tensor_symmetric'] });
  for (const sub of m.modules()) sub.qconfig = qconfig;
  if (c.floatStateDict)
    m.loadStateDict(Object.fromEntries(Object.entries(c.floatStateDict).map(([k, v]) => [k, decode(v)])));
  if (c.observer) m.activationPostProcess = observerWith(c.observer);
  return m.eval();
}

function qtensorOf(codes: EncodedCodes, q: PerTensor): QTensor {
  return makePerTensorQuantizedTensor(
    { data: Uint8Array.from(decodeCodes(codes)), shape: codes.shape },
    q.scale,
    q.zeroPoint,
  );
}

function expectWeight(w: QTensor, c: Case): void {
  expect(Array.from(w.intRepr())).toEqual(decodeCodes(c.weightCodes!));
  const q = c.weightQparams!;
  if ('scales' in q) {
    expect(Array.from(w.qPerChannelScales())).toEqual(q.scales);
    expect(Array.from(w.qPerChannelZeroPoints())).toEqual(q.zeroPoints);
    expect(w.qPerChannelAxis()).toBe(q.axis);
  } else {
    expect([w.qScale(), w.qZeroPoint()]).toEqual([q.scale, q.zeroPoint]);
  }
  expect(`torch.${w.qscheme()}`).toBe(`torch.${q.qscheme}`);
}

function floatModule(c: Case): Module {
  const n = c.name;
  if (n.startsWith('conv per-tensor')) return new Conv2d(3, 4, 3, { padding: 1 });
  if (n.startsWith('conv per-channel stride2')) return new Conv2d(3, 6, 3, { stride: 2, bias: false });
  if (n.startsWith('convrelu groups3'))
    return new nni.ConvReLU2d(new Conv2d(3, 6, 3, { padding: 1, groups: 3 }), new ReLU());
  if (n.startsWith('linearrelu')) return new nni.LinearReLU(new Linear(12, 5), new ReLU());
  if (n.startsWith('linear')) return new Linear(12, 5);
  if (n.startsWith('conv weight range')) return new Conv2d(3, 4, 1);
  if (n.startsWith('seed conv relu')) return new nni.ConvReLU2d(new Conv2d(1, 1, 1), new ReLU());
  if (n.startsWith('dynamic linear')) return new Linear(10, 4);
  throw new Error(`no float module for ${n}`);
}

const FROM_FLOAT: Record<
  string,
  (m: Module, o: { backend: typeof backend; engine: 'qnnpack' | 'onednn' }) => Module & { weight(): QTensor }
> = {
  Conv2d: (m, o) => nnq.Conv2d.fromFloat(m, o),
  ConvReLU2d: (m, o) => nnq.ConvReLU2d.fromFloat(m, o),
  Linear: (m, o) => nnq.Linear.fromFloat(m, o),
  LinearReLU: (m, o) => nnq.LinearReLU.fromFloat(m, o),
  DynamicLinear: (m, o) => nnqd.Linear.fromFloat(m, o),
};

describe('quantized modules on the js backend equal PyTorch 1.13 (given its observer state)', () => {
  for (const c of golden.cases.filter((k) => k.kind in FROM_FLOAT)) {
    test(`${c.name}: weight codes, qparams, printout and forward codes`, () => {
      const m = prepared(floatModule(c), c);
      const q = FROM_FLOAT[c.kind]!(m, { backend, engine: c.engine });
      expectWeight(q.weight(), c);
      expect(String(q)).toBe(c.repr);
      if (c.kind === 'DynamicLinear') {
        const y = (q as nnqd.Linear).call(decode(c.input!));
        expect(y.toArray()).toEqual(decodeCodes(c.output));
        return;
      }
      const g = q as nnq.Conv2d | nnq.Linear;
      expect([g.scale, g.zeroPoint]).toEqual([c.scale, c.zeroPoint]);
      const x = qtensorOf(c.inputCodes!, c.inputQparams!);
      const y = (g.call as (x: QTensor) => QTensor).call(g, x);
      expect(Array.from(y.intRepr())).toEqual(decodeCodes(c.output));
      expect(y.shape).toEqual(c.output.shape);
      expect([y.qScale(), y.qZeroPoint()]).toEqual([c.outputQparams!.scale, c.outputQparams!.zeroPoint]);
    });
  }

  for (const c of golden.cases.filter((k) => k.kind === 'Quantize')) {
    test(c.name, () => {
      const stub = new QuantStub();
      stub.activationPostProcess = observerWith(c.observer!);
      const quant = nnq.Quantize.fromFloat(stub, { backend, engine: c.engine });
      expect(String(quant)).toBe(c.repr);
      expect(Object.keys(quant.stateDict())).toEqual(c.stateDictKeys);
      const y = quant.call(decode(c.input!));
      expect(Array.from(y.intRepr())).toEqual(decodeCodes(c.output));
      expect([y.qScale(), y.qZeroPoint()]).toEqual([c.outputQparams!.scale, c.outputQparams!.zeroPoint]);
      const dq = nnq.DeQuantize.fromFloat(new DeQuantStub(), { backend, engine: c.engine });
      expect(dq.call(y).toArray()).toEqual(decode(c.dequantized!).toArray());
      expect(new nnq.DeQuantize().call(y).toArray()).toEqual(decode(c.dequantized!).toArray());
    });
  }

  for (const c of golden.cases.filter((k) => k.kind === 'Hardswish' || k.kind === 'ReLU6')) {
    test(c.name, () => {
      let q: nnq.Hardswish | nnq.ReLU6;
      if (c.kind === 'Hardswish') {
        const h = new Hardswish();
        h.activationPostProcess = observerWith(c.observer!);
        q = nnq.Hardswish.fromFloat(h, { backend, engine: c.engine });
        expect([q.scale, q.zeroPoint]).toEqual([c.scale, c.zeroPoint]);
        expect(Object.keys(q.stateDict())).toEqual(c.stateDictKeys);
      } else {
        q = nnq.ReLU6.fromFloat(new ReLU6(), { backend, engine: c.engine });
      }
      expect(String(q)).toBe(c.repr);
      const x = qtensorOf(c.inputCodes!, c.inputQparams!);
      expect(Array.from(q.call(x).intRepr())).toEqual(decodeCodes(c.output));
    });
  }

  for (const c of golden.cases.filter((k) => k.kind === 'QFunctional')) {
    test(c.name, () => {
      const ff = new FloatFunctional();
      ff.activationPostProcess = observerWith(c.observer!);
      const qf = nnq.QFunctional.fromFloat(ff, { backend, engine: c.engine });
      expect([qf.scale, qf.zeroPoint]).toEqual([c.scale, c.zeroPoint]);
      expect(String(qf)).toBe(c.repr);
      expect(Object.keys(qf.stateDict())).toEqual(c.stateDictKeys);
      const a = qtensorOf(c.a!, c.aQparams!);
      const b = qtensorOf(c.b!, c.bQparams!);
      const y =
        c.op === 'add'
          ? qf.add(a, b)
          : c.op === 'add_relu'
            ? qf.addRelu(a, b)
            : c.op === 'mul'
              ? qf.mul(a, b)
              : qf.cat([a, b], 1);
      expect(Array.from(y.intRepr())).toEqual(decodeCodes(c.output));
    });
  }
});

function thrown(f: () => unknown): { code: string; message: string } {
  try {
    f();
  } catch (e) {
    if (isQuantError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected a QuantError');
}

class Seed extends Module {
  quant: Module = new QuantStub();
  conv: Module = new Conv2d(1, 1, 1);
  relu = new ReLU();
  dequant: Module = new DeQuantStub();

  forward(x: Tensor): Tensor {
    const call = (m: Module, v: unknown): unknown => (m.call as (v: unknown) => unknown).call(m, v);
    return call(this.dequant, call(this.relu, call(this.conv, call(this.quant, x)))) as Tensor;
  }
}

function quantizedSeed(): Seed {
  const m = new Seed().eval();
  const qconfig = new QConfig({ activation: ACT, weight: defaultWeightObserver });
  m.conv.qconfig = qconfig;
  m.conv.activationPostProcess = observerWith({ min_val: -1, max_val: 2 });
  m.quant.activationPostProcess = observerWith({ min_val: -3, max_val: 3 });
  m.conv = nnq.Conv2d.fromFloat(m.conv, { backend });
  m.quant = nnq.Quantize.fromFloat(m.quant, { backend });
  m.dequant = nnq.DeQuantize.fromFloat(m.dequant, { backend });
  setQuantizedBackend(m, { backend });
  return m;
}

describe('quantized modules: behaviour and errors', () => {
  test('a float tensor where a QTensor is needed names the module path and says to add a QuantStub', () => {
    const m = quantizedSeed();
    m.quant = new QuantStub();
    const e = thrown(() => m.call(randn([1, 1, 2, 2])));
    expect(e.code).toBe('DTYPE_MISMATCH');
    expect(e.message).toBe(
      "QuantizedConv2d 'conv' got a float Tensor of shape [1, 1, 2, 2] as its input, where a QTensor is needed; put a QuantStub before it (it becomes nnq.Quantize at convert), or a DeQuantStub after the quantized part.",
    );
    const nested = new Sequential(new Sequential(quantizedSeed().conv));
    expect(thrown(() => nested.call(zeros([1, 1, 1, 1]))).message).toMatch(
      /^QuantizedConv2d '0\.0' got a float Tensor/,
    );
    expect(thrown(() => new nnq.DeQuantize().call(zeros([1]) as unknown as QTensor)).message).toMatch(
      /^DeQuantize got a float Tensor of shape \[1\]/,
    );
  });

  test('the seed model runs end to end; the kernel trace passes through', () => {
    const m = quantizedSeed();
    const x = randn([4, 1, 4, 4]);
    const y = m.call(x);
    expect(y.shape).toEqual([4, 1, 4, 4]);
    const records: TraceRecord[] = [];
    (m.conv as nnq.Conv2d).trace = { index: 'all', sink: (r) => void records.push(r) };
    const y2 = m.call(x);
    expect(y2.toArray()).toEqual(y.toArray());
    expect(records.length).toBe(64);
    expect(records[0]!.kind).toBe('gemm');
    expect(records.every((r) => r.engine === 'qnnpack')).toBe(true);
  });

  test('engine is recorded and passed per call', () => {
    const m = quantizedSeed();
    const conv = m.conv as nnq.Conv2d;
    expect(conv.engine).toBe('qnnpack');
    const seen: string[] = [];
    conv.engine = 'onednn';
    conv.trace = { sink: (r) => void seen.push(r.engine) };
    m.call(randn([1, 1, 2, 2]));
    expect(seen).toEqual(['onednn']);
  });

  test('fromFloat errors: wrong type, no qconfig, no observer', () => {
    expect(thrown(() => nnq.Conv2d.fromFloat(new Linear(1, 1), { backend }))).toEqual({
      code: 'INVALID_ARGUMENT',
      message:
        'nnq.Conv2d.fromFloat only works for Conv2d, but got Linear; convert it with the module mapping for its type.',
    });
    expect(thrown(() => nnq.Conv2d.fromFloat(new Conv2d(1, 1, 1), { backend })).code).toBe('NO_QCONFIG');
    const c = new Conv2d(1, 1, 1);
    c.qconfig = new QConfig({ activation: ACT, weight: defaultWeightObserver });
    expect(thrown(() => nnq.Conv2d.fromFloat(c, { backend }))).toEqual({
      code: 'NOT_CALIBRATED',
      message:
        'nnq.Conv2d.fromFloat: Conv2d has no activationPostProcess observer; run prepare() and calibrate before convert().',
    });
    c.activationPostProcess = observerWith({ min_val: 0, max_val: 1 });
    c.qconfig = new QConfig({ activation: ACT, weight: MinMaxObserver.withArgs({ dtype: 'quint8' }) });
    expect(thrown(() => nnq.Conv2d.fromFloat(c, { backend })).code).toBe('DTYPE_MISMATCH');
    expect(thrown(() => nnq.ConvReLU2d.fromFloat(new Conv2d(1, 1, 1), { backend })).message).toMatch(
      /^nnq\.ConvReLU2d\.fromFloat only works for ConvReLU2d, but got Conv2d/,
    );
  });

  test('quantized state dicts keep QTensors and qparams and load back', () => {
    const m = quantizedSeed();
    const sd = m.stateDict();
    expect(Object.keys(sd)).toEqual([
      'quant.scale',
      'quant.zero_point',
      'conv.weight',
      'conv.bias',
      'conv.scale',
      'conv.zero_point',
    ]);
    const other = quantizedSeed();
    (other.conv as nnq.Conv2d).scale = 0.5;
    const loaded: StateDict = { ...sd, 'conv.weight': (m.conv as nnq.Conv2d).weight() };
    other.loadStateDict(loaded);
    expect((other.conv as nnq.Conv2d).scale).toBe((m.conv as nnq.Conv2d).scale);
    const x = randn([2, 1, 3, 3]);
    expect(other.call(x).toArray()).toEqual(m.call(x).toArray());
  });

  test('cloneModule re-packs on first use; dispose drops packs and the module re-packs', () => {
    const m = quantizedSeed();
    const copy = cloneModule(m);
    expect(copy.conv).not.toBe(m.conv);
    expect((copy.conv as nnq.Conv2d).backend).toBe(backend);
    expect(String(copy)).toBe(String(m));
    const x = randn([2, 1, 3, 3]);
    expect(copy.call(x).toArray()).toEqual(m.call(x).toArray());
    m.dispose();
    expect(m.call(x).toArray()).toEqual(copy.call(x).toArray());
  });

  test('a new module packs its zero weight only when used; fromFloat packs the real weight once', () => {
    const packs: number[] = [];
    const counting = new Proxy(backend, {
      get: (b, k) =>
        k === 'prepackConv2d'
          ? (...a: Parameters<typeof backend.prepackConv2d>) => (packs.push(a[0].numel), b.prepackConv2d(...a))
          : Reflect.get(b, k),
    });
    const fresh = new nnq.Conv2d(2, 3, 1, { backend: counting });
    expect(packs).toEqual([]);
    const x = new QTensor(new Uint8Array(8).fill(7), [1, 2, 2, 2], 'quint8', {
      qscheme: 'per_tensor_affine',
      scale: 0.1,
      zeroPoint: 3,
    });
    expect(Array.from((fresh.call(x) as QTensor).intRepr())).toEqual(new Array(12).fill(0));
    expect(packs).toEqual([6]);

    packs.length = 0;
    const float = new Conv2d(2, 3, 3).eval();
    float.qconfig = new QConfig({ activation: ACT, weight: defaultWeightObserver });
    float.activationPostProcess = observerWith({ min_val: -1, max_val: 2 });
    nnq.Conv2d.fromFloat(float, { backend: counting });
    expect(packs).toEqual([54]);
  });

  test('cloneModule copies observers (a prepared model stays independent of its copy)', () => {
    const conv = new Conv2d(1, 1, 1);
    const obs = observerWith({ min_val: -1, max_val: 1 });
    conv.activationPostProcess = obs;
    const copy = cloneModule(conv);
    expect(copy.activationPostProcess).not.toBe(obs);
    expect(copy.activationPostProcess).toBeInstanceOf(MinMaxObserver);
    (copy.activationPostProcess as MinMaxObserver).forward(tensor([5]));
    expect(String(obs)).toBe('MinMaxObserver(min_val=-1.0, max_val=1.0)');
    expect(String(copy.activationPostProcess)).toBe('MinMaxObserver(min_val=-1.0, max_val=5.0)');
    expect(Object.keys(copy.stateDict())).toEqual([
      'weight',
      'bias',
      'activation_post_process.eps',
      'activation_post_process.min_val',
      'activation_post_process.max_val',
    ]);
  });

  test('qnnpack keeps a zero bias where there is none (as PyTorch); onednn keeps none', () => {
    const q = new nnq.Conv2d(2, 2, 1, { backend, bias: false });
    expect(q.bias()?.toArray()).toEqual([0, 0]);
    const o = new nnq.Conv2d(2, 2, 1, { backend, bias: false, engine: 'onednn' });
    expect(o.bias()).toBeNull();
    expect(String(o)).toBe(
      'QuantizedConv2d(2, 2, kernel_size=(1, 1), stride=(1, 1), scale=1.0, zero_point=0, bias=False)',
    );
  });

  test('QFunctional: forward, addScalar and mulScalar throw clearly', () => {
    const qf = new nnq.QFunctional({ backend });
    expect(thrown(() => qf.call()).code).toBe('UNSUPPORTED_OP');
    const x = makePerTensorQuantizedTensor({ data: Uint8Array.of(1, 2), shape: [2] }, 0.1, 0);
    expect(thrown(() => qf.addScalar(x, 1)).message).toBe(
      'QFunctional.addScalar: the backend interface has no quantized::add_scalar kernel yet; keep this operation in float (qconfig null on its FloatFunctional) for now.',
    );
    expect(thrown(() => qf.add(x, tensor([1, 2]) as unknown as QTensor)).message).toMatch(
      /got a float Tensor of shape \[2\] as its second operand/,
    );
  });
});

describe('per-channel observers from @quint/observers work as weight observers', () => {
  test('PerChannelMinMaxObserver on axis 0 gives per-channel weights', () => {
    const conv = new Conv2d(2, 3, 1);
    conv.qconfig = new QConfig({
      activation: ACT,
      weight: PerChannelMinMaxObserver.withArgs({ dtype: 'qint8', qscheme: 'per_channel_symmetric' }),
    });
    conv.activationPostProcess = observerWith({ min_val: -1, max_val: 1 });
    const q = nnq.Conv2d.fromFloat(conv, { backend });
    expect(q.weight().qscheme()).toBe('per_channel_affine');
    expect(q.weight().qPerChannelScales().length).toBe(3);
  });
});

class Chain extends Module {
  quant: Module = new QuantStub();
  conv: Module = new Conv2d(3, 4, 3, { padding: 1 });
  relu = new ReLU();
  pool = new AdaptiveAvgPool2d([4, 4]);
  conv2: Module = new Conv2d(4, 4, 1);
  skip: FloatFunctional | nnq.QFunctional = new FloatFunctional();
  avg = new AvgPool2d(2, { stride: 1 });
  flatten = new Flatten();
  fc: Module = new Linear(36, 5);
  dequant: Module = new DeQuantStub();

  forward(x: Tensor): Tensor {
    const call = (m: Module, v: unknown): never => (m.call as (v: unknown) => never).call(m, v);
    const y: QTensor = call(this.pool, call(this.relu, call(this.conv, call(this.quant, x))));
    const z = (this.skip as nnq.QFunctional).add(y, call(this.conv2, y));
    return call(this.dequant, call(this.fc, call(this.flatten, call(this.avg, z))));
  }
}

describe('an eager chain of quantized and float modules equals PyTorch 1.13 (qnnpack) stage by stage', () => {
  test('observer state from the PyTorch state dict, fromFloat swaps, layouts carried to the float pooling', () => {
    const c = golden.cases.find((k) => k.name === 'eager chain qnnpack') as unknown as ChainCase;
    const m = new Chain().eval();
    const qconfig = new QConfig({ activation: ACT, weight: defaultWeightObserver });
    for (const name of ['quant', 'conv', 'conv2', 'skip', 'fc'] as const) {
      m[name].qconfig = qconfig;
      m[name].activationPostProcess = ACT.create();
    }
    const sd: StateDict = {};
    for (const [k, v] of Object.entries({ ...c.floatStateDict, ...c.observerStateDict })) sd[k] = decode(v);
    expect(m.loadStateDict(sd)).toEqual({ missingKeys: [], unexpectedKeys: [] });
    m.quant = nnq.Quantize.fromFloat(m.quant, { backend });
    m.conv = nnq.Conv2d.fromFloat(m.conv, { backend });
    m.conv2 = nnq.Conv2d.fromFloat(m.conv2, { backend });
    m.skip = nnq.QFunctional.fromFloat(m.skip, { backend });
    m.fc = nnq.Linear.fromFloat(m.fc, { backend });
    m.dequant = nnq.DeQuantize.fromFloat(m.dequant, { backend });
    setQuantizedBackend(m, { backend });
    expect(String(m)).toBe(c.repr);
    const stages: Record<string, number[]> = {};
    for (const [name] of Object.entries(c.stages)) {
      m.getSubmodule(name).registerForwardHook(
        (_mod, _args, out) => void (stages[name] = Array.from((out as QTensor).intRepr())),
      );
    }
    const y = m.call(decode(c.input));
    for (const [name, codes] of Object.entries(c.stages))
      expect([name, stages[name]]).toEqual([name, decodeCodes(codes)]);
    expect(y.toArray()).toEqual(decode(c.output).toArray());
  });

  test('float pooling after a quantized conv gets the channels_last hint; after Linear, contiguous', () => {
    const seen: string[] = [];
    const spy = {
      ...backend,
      kernels: {
        ...backend.kernels,
        adaptiveAvgPool2d: (
          x: QTensor,
          size: number | readonly [number | null, number | null],
          opts?: { memoryFormat?: 'contiguous' | 'channels_last' },
        ) => {
          seen.push(opts?.memoryFormat ?? 'none');
          return backend.kernels.adaptiveAvgPool2d(x, size, opts as never);
        },
      },
    } as typeof backend;
    const pool = new AdaptiveAvgPool2d(1);
    setQuantizedBackend(pool, { backend: spy });
    const conv = new nnq.Conv2d(1, 2, 1, { backend });
    const x = makePerTensorQuantizedTensor({ data: new Uint8Array(8).fill(3), shape: [1, 1, 2, 4] }, 0.1, 0);
    pool.call(conv.call(x) as unknown as Tensor);
    pool.call(x as unknown as Tensor);
    expect(seen).toEqual(['channels_last', 'contiguous']);
  });

  test('a float Conv2d left in a converted model says to add a DeQuantStub or a qconfig', () => {
    const m = quantizedSeed();
    m.relu = new ReLU();
    m.conv = new Conv2d(1, 1, 1);
    const e = thrown(() => m.call(randn([1, 1, 2, 2])));
    expect(e).toEqual({
      code: 'DTYPE_MISMATCH',
      message:
        "Conv2d 'conv' is a float module but got a QTensor: it was left in float at convert (no qconfig, or no quantized mapping for its type); put a DeQuantStub before it, or give it a qconfig so convert swaps it.",
    });
  });

  test('a float ReLU on a QTensor without a backend says how to give it one', () => {
    const x = makePerTensorQuantizedTensor({ data: Uint8Array.of(1, 200), shape: [2] }, 0.1, 100);
    expect(thrown(() => new ReLU().call(x as unknown as Tensor)).message).toBe(
      'ReLU got a QTensor but has no quantized backend; convert the model with convert(model, { backend }), or call setQuantizedBackend(model, { backend }).',
    );
  });
});
