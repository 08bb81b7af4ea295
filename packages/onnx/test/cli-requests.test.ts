// The CLI's requests to @quint/onnx (issue 8): faithful onednn files, streamed calibration, warning
// text, node names kept from the float model, float-model inspection, several graph inputs.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compareModelOutputs, computeSqnr } from '@quint/converter';
import { symbolicTrace } from '@quint/fx-graph-tracer';
import { Conv2d, Module } from '@quint/nn';
import { Generator, Tensor, add, randn } from '@quint/tensor';
import {
  decodeModel,
  encodeModel,
  exportModel,
  inspectModel,
  loadModel,
  quantizeModel,
  runModel,
  saveModel,
} from '../src/index.js';
import { fixture, npyFixture } from './helpers.js';

describe('engine onednn: saveModel keeps the float bias', () => {
  // onednn (PyTorch 1.13, spec §5.2b) adds the FLOAT bias before rounding: an int32 bias re-read as
  // a float moves outputs by one code. The round trip must give the in-memory result exactly.
  it('conv+linear model, fbgemm preset: in-memory and saveModel → loadModel codes are identical', async () => {
    const m = await loadModel(fixture('convnet.onnx'));
    const calib = npyFixture('convnet.x.npy');
    const q = await quantizeModel(m, calib, { qconfig: 'fbgemm', engine: 'onednn', batchSize: 2, onWarning: () => {} });
    const bytes = saveModel(q);
    const g = decodeModel(bytes).graph;
    const floatInits = new Set(g.initializers.filter((t) => t.dataType === 'float').map((t) => t.name));
    const withBias = g.nodes.filter((n) => (n.opType === 'Conv' || n.opType === 'Gemm') && n.inputs.length === 3);
    expect(withBias.length).toBe(4);
    for (const n of withBias) expect(floatInits.has(n.inputs[2]!)).toBe(true);
    const back = await loadModel(bytes);
    expect(back.engine).toBe('onednn');
    const r = randn([64, 3, 8, 8], new Generator(7));
    const x = new Tensor(
      r.toFloat32Array().map((v) => 2 * v),
      r.shape,
    );
    const a = (await runModel(q, x))['y'] as Tensor;
    const b = (await runModel(back, x))['y'] as Tensor;
    expect(Array.from(b.toFloat32Array())).toEqual(Array.from(a.toFloat32Array()));
  });
});

describe('quantizeModel streams calibration batches', () => {
  const batches = (): Tensor[] => {
    const g = new Generator(3);
    return Array.from({ length: 5 }, () => randn([2, 3, 8, 8], g));
  };

  it('pulls a generator one batch at a time (each batch calibrates before the next is read); results equal the array form', async () => {
    const m = await loadModel(fixture('convnet.onnx'));
    const data = batches();
    const events: string[] = [];
    function* gen(): IterableIterator<Tensor> {
      for (const [i, b] of data.entries()) {
        events.push(`read ${i}`);
        yield b;
      }
    }
    const lazy = await quantizeModel(m, gen(), {
      batchSize: 2,
      totalBatches: 5,
      onProgress: (d, t) => events.push(`done ${d}/${t}`),
      onWarning: () => {},
    });
    expect(events).toEqual([
      'read 0',
      'done 1/5',
      'read 1',
      'done 2/5',
      'read 2',
      'done 3/5',
      'read 3',
      'done 4/5',
      'read 4',
      'done 5/5',
    ]);
    const eager = await quantizeModel(m, data, { batchSize: 2, onWarning: () => {} });
    expect(lazy.metadata['quint.calibrationSamples']).toBe('10');
    expect(saveModel(lazy)).toEqual(saveModel(eager));
  });

  it('accepts an AsyncIterable, and a Tensor split along axis 0 (total known from the array form)', async () => {
    const m = await loadModel(fixture('convnet.onnx'));
    const data = batches();
    async function* gen(): AsyncIterableIterator<Tensor> {
      for (const b of data) {
        await new Promise((r) => setTimeout(r, 1));
        yield b;
      }
    }
    const progress: [number, number][] = [];
    const lazy = await quantizeModel(m, gen(), { batchSize: 2, onWarning: () => {} });
    const whole = new Tensor(Float32Array.from(data.flatMap((t) => Array.from(t.toFloat32Array()))), [10, 3, 8, 8]);
    const split = await quantizeModel(m, whole, {
      batchSize: 2,
      onProgress: (d, t) => progress.push([d, t]),
      onWarning: () => {},
    });
    expect(progress).toEqual([
      [1, 5],
      [2, 5],
      [3, 5],
      [4, 5],
      [5, 5],
    ]);
    expect(saveModel(lazy)).toEqual(saveModel(split));
  });

  it('an empty generator is NOT_CALIBRATED', async () => {
    const m = await loadModel(fixture('convnet.onnx'));
    // eslint-disable-next-line require-yield
    function* none(): IterableIterator<Tensor> {
      return;
    }
    await expect(quantizeModel(m, none(), { onWarning: () => {} })).rejects.toMatchObject({ code: 'NOT_CALIBRATED' });
  });
});

describe('quantizeModel warnings', () => {
  it('onWarning messages carry no "quint: warning: " prefix (the caller adds its own)', async () => {
    const m = await loadModel(fixture('convnet.onnx'));
    const bad = new Tensor(new Float32Array(3 * 8 * 8).fill(Number.NaN), [1, 3, 8, 8]);
    const warnings: string[] = [];
    await quantizeModel(m, [bad, npyFixture('convnet.x.npy')], {
      ignoreNonFinite: true,
      onWarning: (w) => warnings.push(w),
    });
    expect(warnings).toContain('calibration batch 0 has NaN/Inf values; skipped (ignoreNonFinite).');
    for (const w of warnings) expect(w).not.toMatch(/^quint: /);
  });
});

describe("int8 files keep the float model's node names", () => {
  // The CLI's `compare float.onnx int8.onnx` matches nodes by name: the int8 file must carry the
  // float node names (no `conv1_1` suffixes) and, for fused nodes, which float nodes they replace.
  it('MNIST CNN: quantize → save → load, then compareModelOutputs(float, int8) matches every conv/linear node', async () => {
    const floatBytes = new Uint8Array(
      readFileSync(new URL('../../../apps/reference/assets/mnist/mnist-cnn.onnx', import.meta.url)),
    );
    const float = await loadModel(floatBytes);
    const g = new Generator(11);
    const calib = Array.from({ length: 2 }, () => randn([4, 1, 28, 28], g));
    const q = await quantizeModel(float, calib, { onWarning: () => {} });
    const bytes = saveModel(q);
    const names = new Set(decodeModel(bytes).graph.nodes.map((n) => n.name));
    for (const n of decodeModel(floatBytes).graph.nodes) {
      if (['Conv', 'Gemm', 'Add', 'MaxPool', 'Flatten'].includes(n.opType)) expect(names, n.name).toContain(n.name);
    }
    expect([...names].filter((n) => /^(conv|fc|add|pool)\d*_\d+$/.test(n))).toEqual([]);
    const back = await loadModel(bytes);
    const x = randn([1, 1, 28, 28], g);
    const rows = (m: typeof back) =>
      compareModelOutputs(float.graphModule, m.graphModule, x).map((r) => [r.name, r.floatName, r.sqnr > 15]);
    const want = [
      ['conv1', 'relu1', true],
      ['conv2', 'relu2', true],
      ['conv3', 'relu3', true],
      ['fc1', 'relu4', true],
      ['fc2', 'fc2', true],
    ];
    const loaded = rows(back);
    for (const w of want) expect(loaded).toContainEqual(w);
    expect(loaded.map((r) => r[1])).toContain('add');
    // In memory the same pairs.
    for (const w of want) expect(rows(q)).toContainEqual(w);
  });

  it('a fused conv kept in float (keepFloat conv2: conv+bn+relu) saves as Conv + Relu, compared with the float BN and ReLU outputs', async () => {
    const floatBytes = new Uint8Array(
      readFileSync(new URL('../../../apps/reference/assets/mnist/mnist-cnn.onnx', import.meta.url)),
    );
    const float = await loadModel(floatBytes);
    const g = new Generator(12);
    const q = await quantizeModel(float, [randn([4, 1, 28, 28], g)], { keepFloat: ['conv2'], onWarning: () => {} });
    const bytes = saveModel(q);
    const nodes = decodeModel(bytes).graph.nodes.map((n) => `${n.opType} ${n.name}`);
    expect(nodes).toContain('Conv /conv2/Conv');
    expect(nodes).toContain('Relu /relu2/Relu');
    const back = await loadModel(bytes);
    const x = randn([1, 1, 28, 28], g);
    expect(Object.values(await runModel(back, x))[0]).toBeInstanceOf(Tensor);
    const rows = compareModelOutputs(float.graphModule, back.graphModule, x);
    const byName = Object.fromEntries(rows.map((r) => [r.name, r]));
    expect([byName['conv2']?.floatName, byName['relu2']?.floatName]).toEqual(['bn2', 'relu2']);
    // Float conv2 + BN folded vs the float model's conv2 → bn2: the same up to rounding.
    expect(byName['conv2']!.sqnr).toBeGreaterThan(30);
  });
});

describe('inspectModel of a float model', () => {
  it('modelBytes.int8 is what the weights would take quantized per channel (BN folded); nodes list inputs and outputs', async () => {
    const floatBytes = new Uint8Array(
      readFileSync(new URL('../../../apps/reference/assets/mnist/mnist-cnn.onnx', import.meta.url)),
    );
    const float = await loadModel(floatBytes);
    const info = inspectModel(float);
    // By hand from the file: every Conv (BN folded: it gets a bias) and Gemm weight as int8 codes,
    // an int32 bias, a scale and zero point per output channel, and the output's scale and zero point.
    const g = decodeModel(floatBytes).graph;
    const dims = new Map(g.initializers.map((t) => [t.name, t.dims]));
    let expected = 0;
    for (const n of g.nodes) {
      if (n.opType !== 'Conv' && n.opType !== 'Gemm') continue;
      const w = dims.get(n.inputs[1]!)!;
      const numel = w.reduce((a, b) => a * b, 1);
      const outC = w[0]!;
      expected += numel + 4 * outC + 8 * outC + 8;
    }
    expect(info.modelBytes.int8).toBe(expected);
    expect(info.modelBytes.fp32).toBeGreaterThan(3 * expected);
    const conv2 = info.nodes.find((n) => n.name === 'conv2')!;
    expect([conv2.inputs, conv2.outputs]).toEqual([['pool1'], ['bn2']]);
    const add = info.nodes.find((n) => n.name === 'add')!;
    expect(add.inputs.length).toBe(2);
    expect(add.outputs).toEqual(['flatten']);
  });
});

describe('quantizeModel with several graph inputs', () => {
  class TwoInputs extends Module {
    c1 = new Conv2d(3, 4, 3);
    c2 = new Conv2d(3, 4, 3);
    forward(a: Tensor, b: Tensor): Tensor {
      return add(this.c1.call(a), this.c2.call(b));
    }
  }
  const twoInputModel = () =>
    loadModel(
      encodeModel(
        exportModel(symbolicTrace(new TwoInputs().eval()), { inputShapes: { a: [1, 3, 8, 8], b: [1, 3, 8, 8] } }),
      ),
    );

  it('calibrates with records name → Tensor (split along axis 0), lazily or as an array', async () => {
    const m = await twoInputModel();
    expect(m.inputNames).toEqual(['a', 'b']);
    const g = new Generator(21);
    const data = Array.from({ length: 3 }, () => ({ b: randn([2, 3, 8, 8], g), a: randn([2, 3, 8, 8], g) }));
    const events: string[] = [];
    function* gen(): IterableIterator<Record<string, Tensor>> {
      for (const [i, r] of data.entries()) {
        events.push(`read ${i}`);
        yield r;
      }
    }
    const q = await quantizeModel(m, gen(), {
      totalBatches: 6,
      onProgress: (d, t) => events.push(`done ${d}/${t}`),
      onWarning: () => {},
    });
    expect(events).toEqual([
      'read 0',
      'done 1/6',
      'done 2/6',
      'read 1',
      'done 3/6',
      'done 4/6',
      'read 2',
      'done 5/6',
      'done 6/6',
    ]);
    expect(q.metadata['quint.calibrationSamples']).toBe('6');
    expect(saveModel(await quantizeModel(m, data, { onWarning: () => {} }))).toEqual(saveModel(q));
    const x = { a: randn([1, 3, 8, 8], g), b: randn([1, 3, 8, 8], g) };
    const yq = (await runModel(q, x))[m.outputNames[0]!] as Tensor;
    const yf = (await runModel(m, x))[m.outputNames[0]!] as Tensor;
    expect(computeSqnr(yf, yq)).toBeGreaterThan(25);
  });

  it('a bare Tensor for a two-input model, or a record missing an input, is INVALID_ARGUMENT', async () => {
    const m = await twoInputModel();
    const t = randn([1, 3, 8, 8], new Generator(1));
    await expect(quantizeModel(m, t, { onWarning: () => {} })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(quantizeModel(m, [{ a: t }], { onWarning: () => {} })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(
      quantizeModel(m, [{ a: t, b: randn([2, 3, 8, 8], new Generator(2)) }], { onWarning: () => {} }),
    ).rejects.toMatchObject({ code: 'SHAPE_MISMATCH' });
  });
});
