// Graph mode beyond the goldens: eager and FX give the same integers where PyTorch places the same
// observers, fusion, per-node qconfigs, what stays float, and bad input.
import { describe, expect, test } from 'vitest';
import { getDefaultQConfig, getDefaultQConfigMapping, QConfigMapping, defaultQConfig } from '@quint/observers';
import { add, flatten, Generator, isQuantError, mean, randn, relu, softmax, Tensor } from '@quint/tensor';
import { BatchNorm2d, cloneModule, Conv2d, Linear, Module, Sigmoid } from '@quint/nn';
import { quantizePerTensor } from '@quint/qtensor';
import {
  convert,
  convertFx,
  convertToReferenceFx,
  fuseFx,
  fuseModules,
  prepare,
  prepareFx,
  ReferenceQuantizedModule,
  type ObserverModule,
} from '../src/index.js';
import { PlainCNN } from './goldens/fx/models.js';
import { M as Seed } from './helpers.js';
import { loadFxGolden } from './goldens/fx/models.js';

const qnnpack = () => getDefaultQConfigMapping('qnnpack', { torchCompat: '1.13' });
const quiet = { onWarning: () => {} };

function randomizeBn(m: Module, g: Generator): void {
  for (const mod of m.modules()) {
    if (mod instanceof BatchNorm2d) {
      const n = mod.numFeatures;
      mod.runningMean = new Tensor(
        randn([n], g)
          .toFloat32Array()
          .map((v) => v * 0.2),
        [n],
      );
      mod.runningVar = new Tensor(
        randn([n], g)
          .toFloat32Array()
          .map((v) => Math.abs(v) + 0.5),
        [n],
      );
    }
  }
}

function codeOf(e: unknown): string | undefined {
  return isQuantError(e) ? e.code : undefined;
}

describe('eager and FX give the same integers where PyTorch places the same observers', () => {
  test('PyTorch itself agrees (golden)', () => {
    expect(loadFxGolden().eagerEqualsFx).toEqual({
      seed: { qnnpack: true, onednn: true },
      'plain-cnn': { qnnpack: true, onednn: true },
    });
  });

  test.each([
    ['seed', () => new Seed(), [4, 1, 4, 4], [['conv', 'relu']]],
    [
      'plain CNN',
      () => new PlainCNN(),
      [4, 1, 8, 8],
      [
        ['conv1', 'bn1', 'relu1'],
        ['conv2', 'relu2'],
      ],
    ],
  ] as const)('%s, engines qnnpack and onednn', (_, make, shape, fuseList) => {
    const g = new Generator(11);
    const model = make().eval();
    randomizeBn(model, g);
    const calib = [randn([...shape], g), randn([...shape], g)];
    const x = randn([...shape], g);
    const eager = fuseModules(
      model,
      fuseList.map((l) => [...l]),
    );
    eager.qconfig = getDefaultQConfig('qnnpack', { torchCompat: '1.13' });
    const pe = prepare(eager, quiet);
    const pf = prepareFx(model, qnnpack(), [calib[0]!]);
    for (const b of calib) {
      pe.call(b);
      pf.call(b);
    }
    for (const engine of ['qnnpack', 'onednn'] as const) {
      const ye = (convert(pe, { engine }).call as (x: Tensor) => Tensor)(x).toFloat32Array();
      const yf = (convertFx(pf, { engine }).call as (x: Tensor) => Tensor)(x).toFloat32Array();
      expect(Array.from(yf), engine).toEqual(Array.from(ye));
    }
  });
});

class Block extends Module {
  conv = new Conv2d(2, 4, 3, { padding: 1 });
  bn = new BatchNorm2d(4);
  conv2 = new Conv2d(4, 4, 1);
  fc = new Linear(4, 3);
  sig = new Sigmoid();
  forward(x: Tensor): Tensor {
    const a = relu(this.bn.call(this.conv.call(x)));
    const b = add(a, this.conv2.call(a));
    const p = mean(b, [2, 3]);
    return this.sig.call(this.fc.call(p));
  }
}

describe('fuseFx and prepareFx', () => {
  test('conv-bn-functional relu fuses into ConvReLU2d; BN folded', () => {
    const gm = fuseFx(new Block().eval());
    expect(String(gm.graph)).toMatchInlineSnapshot(`
      "graph():
          %x : [#users=1] = placeholder[target=x]
          %conv : [#users=2] = call_module[target=conv](args = (%x,), kwargs = {})
          %conv2 : [#users=1] = call_module[target=conv2](args = (%conv,), kwargs = {})
          %add : [#users=1] = call_function[target=add](args = (%conv, %conv2), kwargs = {})
          %mean : [#users=1] = call_function[target=mean](args = (%add, [2, 3]), kwargs = {})
          %fc : [#users=1] = call_module[target=fc](args = (%mean,), kwargs = {})
          %sig : [#users=1] = call_module[target=sig](args = (%fc,), kwargs = {})
          return sig"
    `);
    expect(gm.getSubmodule('conv').getName()).toBe('ConvReLU2d');
  });

  test('observers: input, conv-relu, conv2, add, fc; mean shares the add observer; sigmoid fixed', () => {
    const warnings: string[] = [];
    const p = prepareFx(new Block().eval(), qnnpack(), [randn([1, 2, 4, 4], new Generator(1))], {
      onWarning: (w) => warnings.push(w),
    });
    expect(String(p.graph)).toMatchInlineSnapshot(`
      "graph():
          %x : [#users=1] = placeholder[target=x]
          %activation_post_process_0 : [#users=1] = call_module[target=activation_post_process_0](args = (%x,), kwargs = {})
          %conv : [#users=1] = call_module[target=conv](args = (%activation_post_process_0,), kwargs = {})
          %activation_post_process_1 : [#users=2] = call_module[target=activation_post_process_1](args = (%conv,), kwargs = {})
          %conv2 : [#users=1] = call_module[target=conv2](args = (%activation_post_process_1,), kwargs = {})
          %activation_post_process_2 : [#users=1] = call_module[target=activation_post_process_2](args = (%conv2,), kwargs = {})
          %add : [#users=1] = call_function[target=add](args = (%activation_post_process_1, %activation_post_process_2), kwargs = {})
          %activation_post_process_3 : [#users=1] = call_module[target=activation_post_process_3](args = (%add,), kwargs = {})
          %mean : [#users=1] = call_function[target=mean](args = (%activation_post_process_3, [2, 3]), kwargs = {})
          %activation_post_process_4 : [#users=1] = call_module[target=activation_post_process_4](args = (%mean,), kwargs = {})
          %fc : [#users=1] = call_module[target=fc](args = (%activation_post_process_4,), kwargs = {})
          %activation_post_process_5 : [#users=1] = call_module[target=activation_post_process_5](args = (%fc,), kwargs = {})
          %sig : [#users=1] = call_module[target=sig](args = (%activation_post_process_5,), kwargs = {})
          %activation_post_process_6 : [#users=1] = call_module[target=activation_post_process_6](args = (%sig,), kwargs = {})
          return activation_post_process_6"
    `);
    expect((p.getSubmodule('activation_post_process_6') as ObserverModule).observer.constructor.name).toBe(
      'FixedQParamsObserver',
    );
    expect(p.getSubmodule('activation_post_process_4')).toBe(p.getSubmodule('activation_post_process_3'));
    expect(warnings).toEqual([]);
    const q = convertFx(p);
    expect(String(q.graph)).toMatchInlineSnapshot(`
      "graph():
          %x : [#users=1] = placeholder[target=x]
          %conv_input_scale_0 : [#users=1] = get_attr[target=conv_input_scale_0]
          %conv_input_zero_point_0 : [#users=1] = get_attr[target=conv_input_zero_point_0]
          %quantize_per_tensor : [#users=1] = call_function[target=quantize_per_tensor](args = (%x, %conv_input_scale_0, %conv_input_zero_point_0, quint8), kwargs = {})
          %conv : [#users=2] = call_module[target=conv](args = (%quantize_per_tensor,), kwargs = {})
          %conv2 : [#users=1] = call_module[target=conv2](args = (%conv,), kwargs = {})
          %_scale_0 : [#users=1] = get_attr[target=_scale_0]
          %_zero_point_0 : [#users=1] = get_attr[target=_zero_point_0]
          %add_1 : [#users=1] = call_function[target=quantized.add](args = (%conv, %conv2, %_scale_0, %_zero_point_0), kwargs = {})
          %dequantize_3 : [#users=1] = call_method[target=dequantize](args = (%add_1,), kwargs = {})
          %mean : [#users=1] = call_function[target=mean](args = (%dequantize_3, [2, 3]), kwargs = {})
          %_scale_1 : [#users=1] = get_attr[target=_scale_1]
          %_zero_point_1 : [#users=1] = get_attr[target=_zero_point_1]
          %quantize_per_tensor_4 : [#users=1] = call_function[target=quantize_per_tensor](args = (%mean, %_scale_1, %_zero_point_1, quint8), kwargs = {})
          %fc : [#users=1] = call_module[target=fc](args = (%quantize_per_tensor_4,), kwargs = {})
          %sig : [#users=1] = call_module[target=sig](args = (%fc,), kwargs = {})
          %dequantize_6 : [#users=1] = call_method[target=dequantize](args = (%sig,), kwargs = {})
          return dequantize_6"
    `);
  });

  test('the model is not modified, and its unfused weights are shared, not copied (as prepare_fx)', () => {
    const m = new Block().eval();
    const x = randn([1, 2, 4, 4], new Generator(1));
    const tree = m.namedModules().map(([path, sub]) => `${path}:${sub.getName()}`);
    const before = (m.call(x) as Tensor).toFloat32Array();
    const weights = m.parameters().map((p) => p.toFloat32Array().slice());
    const p = prepareFx(m, qnnpack(), [x]);
    p.call(x);
    convertFx(p);
    expect(m.namedModules().map(([path, sub]) => `${path}:${sub.getName()}`)).toEqual(tree);
    expect(m.parameters().map((w) => w.toFloat32Array())).toEqual(weights);
    expect((m.call(x) as Tensor).toFloat32Array()).toEqual(before);
    // conv2 and fc are not fused: the prepared model runs the model's own modules.
    expect(p.getSubmodule('conv2')).toBe(m.conv2);
    expect(p.getSubmodule('fc')).toBe(m.fc);
  });
});

describe('per-node qconfigs from the QConfigMapping', () => {
  class Two extends Module {
    fc1 = new Linear(4, 4);
    fc2 = new Linear(4, 2);
    forward(x: Tensor): Tensor {
      return this.fc2.call(this.fc1.call(x));
    }
  }
  const input = randn([2, 4], new Generator(2));

  test('module name null keeps fc2 in float: dequantize before it', () => {
    const m = new QConfigMapping().setGlobal(defaultQConfig).setModuleName('fc2', null);
    const p = prepareFx(new Two().eval(), m, [input]);
    p.call(input);
    expect(String(convertFx(p).graph)).toMatchInlineSnapshot(`
      "graph():
          %x : [#users=1] = placeholder[target=x]
          %fc1_input_scale_0 : [#users=1] = get_attr[target=fc1_input_scale_0]
          %fc1_input_zero_point_0 : [#users=1] = get_attr[target=fc1_input_zero_point_0]
          %quantize_per_tensor : [#users=1] = call_function[target=quantize_per_tensor](args = (%x, %fc1_input_scale_0, %fc1_input_zero_point_0, quint8), kwargs = {})
          %fc1 : [#users=1] = call_module[target=fc1](args = (%quantize_per_tensor,), kwargs = {})
          %dequantize_1 : [#users=1] = call_method[target=dequantize](args = (%fc1,), kwargs = {})
          %fc2 : [#users=1] = call_module[target=fc2](args = (%dequantize_1,), kwargs = {})
          return fc2"
    `);
  });

  test('object type: Linear gets its own qconfig (MinMax, reduce range)', () => {
    const m = qnnpack().setObjectType('Linear', defaultQConfig);
    const p = prepareFx(new Two().eval(), m, [input]);
    expect((p.getSubmodule('activation_post_process_1') as ObserverModule).observer.constructor.name).toBe(
      'MinMaxObserver',
    );
    expect((p.getSubmodule('activation_post_process_0') as ObserverModule).observer.constructor.name).toBe(
      'MinMaxObserver',
    );
  });
});

describe('bad input', () => {
  class Gate extends Module {
    conv = new Conv2d(1, 1, 1);
    forward(x: Tensor): Tensor {
      const y = this.conv.call(x);
      return y.toArray()[0]! > 0 ? y : relu(y);
    }
  }
  class WithGate extends Module {
    gate = new Gate();
    fc = new Linear(4, 2);
    forward(x: Tensor): Tensor {
      return this.fc.call(flatten(this.gate.call(x), 1));
    }
  }

  test('untraceable code: TRACE_FAILED naming the fix; as a leaf it stays float, with a warning', () => {
    const x = randn([1, 1, 2, 2], new Generator(3));
    try {
      prepareFx(new WithGate().eval(), qnnpack(), [x]);
      expect.unreachable();
    } catch (e) {
      expect(codeOf(e)).toBe('TRACE_FAILED');
      expect((e as Error).message).toMatch(/leafModules/);
    }
    const warnings: string[] = [];
    const p = prepareFx(new WithGate().eval(), qnnpack(), [x], {
      leafModules: [Gate],
      onWarning: (w) => warnings.push(w),
    });
    expect(warnings).toMatchInlineSnapshot(`
      [
        "prepareFx: node %gate (module Gate) has no quantized pattern in the native backend config; it stays in float, with dequantize before it and quantize after it where its neighbours are quantized.",
      ]
    `);
    p.call(x);
    expect(String(convertFx(p).graph)).toMatchInlineSnapshot(`
      "graph():
          %x : [#users=1] = placeholder[target=x]
          %gate : [#users=1] = call_module[target=gate](args = (%x,), kwargs = {})
          %gate_scale_0 : [#users=1] = get_attr[target=gate_scale_0]
          %gate_zero_point_0 : [#users=1] = get_attr[target=gate_zero_point_0]
          %quantize_per_tensor : [#users=1] = call_function[target=quantize_per_tensor](args = (%gate, %gate_scale_0, %gate_zero_point_0, quint8), kwargs = {})
          %flatten : [#users=1] = call_function[target=flatten](args = (%quantize_per_tensor, 1), kwargs = {})
          %fc : [#users=1] = call_module[target=fc](args = (%flatten,), kwargs = {})
          %dequantize_2 : [#users=1] = call_method[target=dequantize](args = (%fc,), kwargs = {})
          return dequantize_2"
    `);
  });

  test('an op without a quantized pattern (softmax) stays float between dequantize and quantize, named in a warning', () => {
    class Soft extends Module {
      fc = new Linear(4, 4);
      fc2 = new Linear(4, 2);
      forward(x: Tensor): Tensor {
        return this.fc2.call(softmax(this.fc.call(x), 1));
      }
    }
    const warnings: string[] = [];
    const input = randn([2, 4], new Generator(4));
    const p = prepareFx(new Soft().eval(), qnnpack(), [input], { onWarning: (w) => warnings.push(w) });
    expect(warnings).toMatchInlineSnapshot(`
      [
        "prepareFx: node %softmax (call_function softmax) has no quantized pattern in the native backend config; it stays in float, with dequantize before it and quantize after it where its neighbours are quantized.",
      ]
    `);
    p.call(input);
    const q = convertFx(p);
    expect(String(q.graph)).toMatchInlineSnapshot(`
      "graph():
          %x : [#users=1] = placeholder[target=x]
          %fc_input_scale_0 : [#users=1] = get_attr[target=fc_input_scale_0]
          %fc_input_zero_point_0 : [#users=1] = get_attr[target=fc_input_zero_point_0]
          %quantize_per_tensor : [#users=1] = call_function[target=quantize_per_tensor](args = (%x, %fc_input_scale_0, %fc_input_zero_point_0, quint8), kwargs = {})
          %fc : [#users=1] = call_module[target=fc](args = (%quantize_per_tensor,), kwargs = {})
          %dequantize_1 : [#users=1] = call_method[target=dequantize](args = (%fc,), kwargs = {})
          %softmax : [#users=1] = call_function[target=softmax](args = (%dequantize_1, 1), kwargs = {})
          %_scale_0 : [#users=1] = get_attr[target=_scale_0]
          %_zero_point_0 : [#users=1] = get_attr[target=_zero_point_0]
          %quantize_per_tensor_2 : [#users=1] = call_function[target=quantize_per_tensor](args = (%softmax, %_scale_0, %_zero_point_0, quint8), kwargs = {})
          %fc2 : [#users=1] = call_module[target=fc2](args = (%quantize_per_tensor_2,), kwargs = {})
          %dequantize_3 : [#users=1] = call_method[target=dequantize](args = (%fc2,), kwargs = {})
          return dequantize_3"
    `);
    expect((q.call as (x: Tensor) => Tensor)(input).shape).toEqual([2, 2]);
  });

  test('example inputs of the wrong shape, or too few', () => {
    try {
      prepareFx(new Block().eval(), qnnpack(), [randn([1, 3, 4, 4], new Generator(1))]);
      expect.unreachable();
    } catch (e) {
      expect(codeOf(e)).toBe('SHAPE_MISMATCH');
      expect((e as Error).message).toMatch(
        /^prepareFx: the example inputs \(\[1, 3, 4, 4\]\) do not fit the model: .*pass example inputs of the shape the model takes\.$/,
      );
    }
    // checkExampleInputs false: no forward pass, so no check (the caller's first batch checks itself).
    const unchecked = prepareFx(new Block().eval(), qnnpack(), [randn([1, 3, 4, 4], new Generator(1))], {
      checkExampleInputs: false,
    });
    expect(() => unchecked.call(randn([1, 3, 4, 4], new Generator(1)))).toThrow(/3 channels/);
    try {
      prepareFx(new Block().eval(), qnnpack(), []);
      expect.unreachable();
    } catch (e) {
      expect(codeOf(e)).toBe('INVALID_ARGUMENT');
      expect((e as Error).message).toMatchInlineSnapshot(
        `"prepareFx: the model takes 1 inputs (x) but 0 example inputs were given; pass one per input."`,
      );
    }
  });

  test('convertFx of a model prepareFx did not make', () => {
    try {
      convertFx(fuseFx(new Block().eval()));
      expect.unreachable();
    } catch (e) {
      expect(codeOf(e)).toBe('INVALID_ARGUMENT');
      expect((e as Error).message).toMatchInlineSnapshot(
        `"convertFx: the model is not an observed GraphModule (no prepare state); call prepareFx(model, qconfigMapping, exampleInputs) and calibrate it first."`,
      );
    }
  });

  test('a fixed-qparams op whose qconfig has another observer', () => {
    try {
      prepareFx(new Block().eval(), new QConfigMapping().setGlobal(defaultQConfig), [
        randn([1, 2, 4, 4], new Generator(1)),
      ]);
      expect.unreachable();
    } catch (e) {
      expect(codeOf(e)).toBe('INVALID_ARGUMENT');
      expect((e as Error).message).toMatch(/^prepareFx: node %sig is a fixed-qparams op/);
    }
  });

  test('a NaN weight at convert: NON_FINITE naming the node, before the weight observer sees it', () => {
    class Fc extends Module {
      fc = new Linear(3, 2);
      forward(x: Tensor): Tensor {
        return this.fc.call(x);
      }
    }
    const p = prepareFx(new Fc().eval(), qnnpack(), [randn([1, 3], new Generator(1))], quiet);
    p.call(randn([4, 3], new Generator(2)));
    const fc = p.getSubmodule('fc') as Linear;
    fc.weight.data.set([Number.NaN], 4);
    try {
      convertFx(p);
      expect.unreachable();
    } catch (e) {
      expect(codeOf(e)).toBe('NON_FINITE');
      expect((e as Error).message).toBe(
        "convertFx: %fc: the float weight [2, 3] has 1 NaN/±Inf value(s) of 6; fix the float model's weights before converting.",
      );
    }
  });

  test('a model in training mode cannot be fused', () => {
    try {
      prepareFx(new Block(), qnnpack(), [randn([1, 2, 4, 4], new Generator(1))]);
      expect.unreachable();
    } catch (e) {
      expect(codeOf(e)).toBe('BAD_FUSION');
    }
  });
});

test('a reference module makes its dequantized weight when first read, from its own qweight', () => {
  const conv = new Conv2d(2, 3, 3).eval();
  const qweight = quantizePerTensor(conv.weight, 0.01, 0, 'qint8');
  const ref = new ReferenceQuantizedModule(conv, qweight);
  const clone = cloneModule(ref);
  expect(Object.getOwnPropertyDescriptor(ref, 'inner')!.get).toBeDefined();
  expect(ref.namedChildren().map(([name]) => name)).toEqual(['inner']);
  const inner = ref.inner as Conv2d;
  expect(Object.getOwnPropertyDescriptor(ref, 'inner')!.value).toBe(inner);
  expect(inner.weight.toArray()).toEqual(qweight.dequantize().toArray());
  expect(inner.bias!.toArray()).toEqual(conv.bias!.toArray());
  expect(conv.weight.toArray()).not.toEqual(inner.weight.toArray());
  expect((clone.inner as Conv2d).weight).not.toBe(inner.weight);
  expect((clone.inner as Conv2d).weight.toArray()).toEqual(inner.weight.toArray());
});

test('convertToReferenceFx computes what convertFx computes, in float (within a code)', () => {
  const x = randn([2, 2, 4, 4], new Generator(9));
  const p = prepareFx(new Block().eval(), qnnpack(), [x]);
  p.call(x);
  const r = (convertToReferenceFx(p).call as (x: Tensor) => Tensor)(x).toFloat32Array();
  const q = (convertFx(p).call as (x: Tensor) => Tensor)(x).toFloat32Array();
  for (let i = 0; i < q.length; i++) expect(Math.abs(r[i]! - q[i]!)).toBeLessThanOrEqual(1 / 256 + 1e-7);
});
