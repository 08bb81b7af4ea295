// The numeric suite: metrics against torch.ao.ns.fx.utils (PyTorch 1.13, on the FX goldens' float
// and quantized outputs), compareWeights and compareModelOutputs on graph-mode and eager models.
import { describe, expect, test } from 'vitest';
import { getDefaultQConfig, getDefaultQConfigMapping } from '@quint/observers';
import { Generator, randn, tensor, type Tensor } from '@quint/tensor';
import { quantizePerTensor } from '@quint/qtensor';
import { isQuantError } from '@quint/tensor';
import {
  compareModelOutputs,
  compareWeights,
  computeCosineSimilarity,
  computeL2Error,
  computeSqnr,
  convert,
  convertFx,
  fuseFx,
  fuseModules,
  prepare,
  prepareFx,
} from '../src/index.js';
import { bytesOf, CNN, decode, floatModel, loadFxGolden, PlainCNN } from './goldens/fx/models.js';

const golden = loadFxGolden();
const relClose = (a: number, b: number): boolean => Math.abs(a - b) <= 2e-6 * Math.max(1, Math.abs(b));

describe('metrics agree with torch.ao.ns.fx.utils', () => {
  test.each(
    golden.cases.flatMap((c) =>
      (['qnnpack', 'onednn'] as const).map((e) => [`${c.name}/${c.preset}/${e}`, c, e] as const),
    ),
  )('%s', (_, c, e) => {
    const f = decode(c.floatOutput);
    const q = decode(c.engines[e].output);
    const want = c.engines[e].ns;
    expect(relClose(computeSqnr(f, q), want.sqnr), `sqnr ${computeSqnr(f, q)} vs ${want.sqnr}`).toBe(true);
    expect(relClose(computeL2Error(f, q), want.l2), `l2 ${computeL2Error(f, q)} vs ${want.l2}`).toBe(true);
    expect(
      relClose(computeCosineSimilarity(f, q), want.cosine),
      `cosine ${computeCosineSimilarity(f, q)} vs ${want.cosine}`,
    ).toBe(true);
  });

  test('QTensors are dequantized; equal inputs give SQNR Infinity, L2 0, cosine 1', () => {
    const x = tensor([0.5, -1, 2, 0.25]);
    const q = quantizePerTensor(x, 0.25, 128, 'quint8');
    expect(computeSqnr(x, q)).toBe(Infinity);
    expect(computeL2Error(x, q)).toBe(0);
    expect(computeCosineSimilarity(x, q)).toBe(1);
    expect(computeSqnr(tensor([1, 0]), tensor([0, 0]))).toBe(0);
  });

  test('sizes must agree', () => {
    try {
      computeSqnr(tensor([1, 2]), tensor([1, 2, 3]));
      expect.unreachable();
    } catch (e) {
      expect(isQuantError(e) && e.code).toBe('SHAPE_MISMATCH');
      expect((e as Error).message).toMatchInlineSnapshot(
        `"computeSqnr: x has 2 elements and y has 3; compare tensors of the same size."`,
      );
    }
  });
});

describe('compareModelOutputs', () => {
  const c = golden.cases.find((k) => k.name === 'cnn' && k.preset === 'qnnpack')!;
  const x = decode(c.test);

  test('graph mode: one row per quantized layer, matched to the float model by node name', () => {
    const model = floatModel(c);
    const p = prepareFx(model, getDefaultQConfigMapping('qnnpack', { torchCompat: '1.13' }), [x]);
    for (const b of c.calibration) p.call(decode(b));
    const q = convertFx(p);
    const rows = compareModelOutputs(model, q, x);
    expect(rows.map((r) => `${r.name} ${r.op} ← ${r.floatName}`)).toMatchInlineSnapshot(`
      [
        "conv1 QuantizedConvReLU2d ← relu1",
        "pool MaxPool2d ← pool",
        "conv2 QuantizedConvReLU2d ← relu2",
        "conv3 QuantizedConv2d ← conv3",
        "add_1 quantized.add ← add",
        "avgpool AdaptiveAvgPool2d ← avgpool",
        "flatten flatten ← flatten",
        "fc QuantizedLinear ← fc",
      ]
    `);
    for (const r of rows) {
      expect(r.sqnr).toBeGreaterThan(15);
      expect(r.cosine).toBeGreaterThan(0.99);
      expect(r.l2).toBeLessThan(0.2);
    }
    // The last row is the model output: the same numbers as on the whole outputs.
    const last = rows.at(-1)!;
    const run = (m: { call: unknown }) => (m.call as (x: Tensor) => Tensor)(x);
    expect(last.sqnr).toBe(computeSqnr(run(model), run(q)));
    // A fused float GraphModule is matched node for node too.
    expect(compareModelOutputs(fuseFx(model), q, x).map((r) => r.floatName)).toEqual([
      'conv1',
      'pool',
      'conv2',
      'conv3',
      'add',
      'avgpool',
      'flatten',
      'fc',
    ]);
  });

  test('eager mode: matched by module path', () => {
    const m = new PlainCNN().eval();
    const fused = fuseModules(m, [
      ['conv1', 'bn1', 'relu1'],
      ['conv2', 'relu2'],
    ]);
    fused.qconfig = getDefaultQConfig('qnnpack', { torchCompat: '1.13' });
    const p = prepare(fused, { onWarning: () => {} });
    const xe = randn([4, 1, 8, 8], new Generator(3));
    p.call(xe);
    const q = convert(p);
    const rows = compareModelOutputs(fused, q, xe);
    expect(rows.map((r) => `${r.name} ${r.op}`)).toMatchInlineSnapshot(`
      [
        "quant Quantize",
        "conv1 QuantizedConvReLU2d",
        "conv2 QuantizedConvReLU2d",
        "flatten Flatten",
        "fc QuantizedLinear",
        "dequant DeQuantize",
      ]
    `);
  });

  test('unrelated models: a clear error', () => {
    try {
      compareModelOutputs(new CNN().eval(), fuseFx(new PlainCNN().eval()), randn([1, 1, 8, 8], new Generator(1)));
      expect.unreachable();
    } catch (e) {
      expect(isQuantError(e) && e.code).toMatch(/INVALID_ARGUMENT|SHAPE_MISMATCH/);
    }
  });
});

test('compareWeights pairs quantized weights with their float weights (fused and linear keys)', () => {
  const c = golden.cases.find((k) => k.name === 'cnn' && k.preset === 'fbgemm')!;
  const model = floatModel(c);
  const p = prepareFx(model, getDefaultQConfigMapping('fbgemm', { torchCompat: '1.13' }), [decode(c.test)]);
  p.call(decode(c.test));
  const q = convertFx(p);
  const w = compareWeights(fuseFx(model).stateDict(), q.stateDict());
  expect(Object.keys(w)).toMatchInlineSnapshot(`
    [
      "conv1.weight",
      "conv2.weight",
      "conv3.weight",
      "fc._packed_params.weight",
    ]
  `);
  for (const { float, quantized } of Object.values(w)) expect(computeSqnr(float, quantized)).toBeGreaterThan(30);
  // The quantized weights are PyTorch's (level 1 checks them code for code).
  expect(Array.from((w['conv3.weight']!.quantized as { intRepr(): Int8Array }).intRepr())).toEqual(
    Array.from(bytesOf(c.engines.qnnpack.modules.conv3!.weight!)),
  );
});
