// Float import (torch.onnx 1.13 exports → GraphModule, outputs equal to PyTorch's) and the round trip
// float ONNX → GraphModule → float ONNX, run in onnxruntime-node and onnxruntime-web.
import { describe, expect, it } from 'vitest';
import { AdaptiveAvgPool2d, AvgPool2d, BatchNorm2d, Conv2d, Hardswish, Linear, ReLU6 } from '@quint/nn';
import { Tensor, isQuantError, randn, Generator } from '@quint/tensor';
import { decodeModel, encodeModel, exportModel, importModel, type OnnxModel, type OnnxNode } from '../src/index.js';
import { diff, fixture, npyFixture, RUNTIMES, runOrt } from './helpers.js';

const FLOAT = ['cnn-static', 'cnn-dynamic', 'cnn-dynamic-op11', 'zoo', 'mlp3d', 'convnet'];

describe('float import', () => {
  it.each(FLOAT)("%s: the GraphModule gives PyTorch 1.13's output bit for bit", (name) => {
    const gm = importModel(decodeModel(fixture(`${name}.onnx`)));
    const x = npyFixture(`${name}.x.npy`);
    const y = npyFixture(`${name}.y.npy`);
    const out = gm.call(x) as Tensor;
    expect(out.shape).toEqual(y.shape);
    expect(diff(out.toFloat32Array(), y.toFloat32Array())).toEqual({ mismatches: 0, maxAbs: 0 });
  });

  it("maps ONNX ops to the nn modules PyTorch's quantizer knows, keeps ONNX node names, folds x.view(x.size(0), -1)", () => {
    const gm = importModel(decodeModel(fixture('cnn-dynamic.onnx')));
    expect(gm.code).toMatchInlineSnapshot(`
      "def forward(self, x):
          conv1 = self.conv1(x);  x = None
          bn1 = self.bn1(conv1);  conv1 = None
          relu1 = self.relu1(bn1);  bn1 = None
          pool1 = self.pool1(relu1);  relu1 = None
          conv2 = self.conv2(pool1)
          bn2 = self.bn2(conv2);  conv2 = None
          add = add(bn2, pool1);  bn2 = pool1 = None
          relu2 = self.relu2(add);  add = None
          pool2 = self.pool2(relu2);  relu2 = None
          size_of = sizeOf(pool2, 0)
          reshape = reshape(pool2, [size_of, -1]);  pool2 = size_of = None
          fc1 = self.fc1(reshape);  reshape = None
          relu3 = self.relu3(fc1);  fc1 = None
          fc2 = self.fc2(relu3);  relu3 = None
          return fc2"
    `);
    expect(gm.getSubmodule('bn1')).toBeInstanceOf(BatchNorm2d);
    expect(gm.getSubmodule('conv1')).toBeInstanceOf(Conv2d);
    expect(gm.getSubmodule('fc1')).toBeInstanceOf(Linear);
    const pool2 = gm.getSubmodule('pool2') as AvgPool2d;
    expect(pool2).toBeInstanceOf(AvgPool2d);
    expect([pool2.padding, pool2.countIncludePad]).toEqual([[0, 0], true]);
    expect(gm.graph.nodes.find((n) => n.name === 'conv1')!.meta['onnxName']).toBe('/conv1/Conv');
    // The dynamic batch stays dynamic: other batch sizes run.
    const x5 = randn([5, 3, 16, 16], new Generator(1));
    expect((gm.call(x5) as Tensor).shape).toEqual([5, 10]);
  });

  it("reads torch's opset-13 Hardswish (HardSigmoid + Mul), ReLU6 (Clip), adaptive pools and count_include_pad=False", () => {
    const gm = importModel(decodeModel(fixture('zoo.onnx')));
    expect(gm.getSubmodule('hs')).toBeInstanceOf(Hardswish);
    expect(gm.getSubmodule('relu6')).toBeInstanceOf(ReLU6);
    expect(gm.getSubmodule('ada')).toBeInstanceOf(AdaptiveAvgPool2d);
    expect((gm.getSubmodule('ada') as AdaptiveAvgPool2d).outputSize).toEqual([4, 4]);
    expect((gm.getSubmodule('avg') as AvgPool2d).countIncludePad).toBe(false);
    expect((gm.getSubmodule('gap') as AdaptiveAvgPool2d).outputSize).toBe(1);
  });

  it('imports opsets 18 and 21 (written by our own writer) with the same outputs as ONNX Runtime', async () => {
    const src = decodeModel(fixture('convnet.onnx'));
    const x = npyFixture('convnet.x.npy');
    const want = (importModel(src).call(x) as Tensor).toFloat32Array();
    for (const opset of [18, 21]) {
      const gm = importModel(src);
      const bytes = encodeModel(exportModel(gm, { opset }));
      const m = decodeModel(bytes);
      expect(m.opsetImport[0]).toEqual({ domain: '', version: opset });
      expect(diff((importModel(m).call(x) as Tensor).toFloat32Array(), want).mismatches).toBe(0);
      const orig = await runOrt(RUNTIMES[0]![1], fixture('convnet.onnx'), { x });
      const ours = await runOrt(RUNTIMES[0]![1], bytes, { x });
      expect(diff(ours['y']!.data, orig['y']!.data).mismatches).toBe(0);
    }
  });

  it('reads Identity, Dropout, Squeeze/Unsqueeze on data, HardSwish (opset 14) and Clip(min only)', () => {
    const nodes: OnnxNode[] = [
      node('Identity', ['x'], ['a']),
      node('Dropout', ['a'], ['b']),
      node('HardSwish', ['b'], ['c']),
      node('Unsqueeze', ['c', 'axes'], ['d']),
      node('Squeeze', ['d', 'axes'], ['e']),
      node('Clip', ['e', 'zero'], ['y']),
    ];
    const m = model(nodes, 14, [
      { name: 'axes', dataType: 'int64', dims: [1], data: BigInt64Array.of(1n) },
      { name: 'zero', dataType: 'float', dims: [], data: Float32Array.of(0) },
    ]);
    const gm = importModel(decodeModel(encodeModel(m)));
    const x = new Tensor(Float32Array.of(-4, -1, 0.5, 4, 2, -3), [2, 3]);
    expect(Array.from((gm.call(x) as Tensor).toFloat32Array(), (v) => v + 0)).toEqual(
      [0, 0, (0.5 * (0.5 + 3)) / 6, 4, (2 * 5) / 6, 0].map(Math.fround),
    );
  });

  it('rejects ops outside the table naming the node and op, and says transformer ops are not supported yet', () => {
    for (const op of ['LayerNormalization', 'Gelu', 'Erf', 'Gather']) {
      const m = model([node(op, op === 'Gather' ? ['x', 'idx'] : ['x'], ['y'], `/block/${op}`)], 17, [
        { name: 'idx', dataType: 'int64', dims: [1], data: BigInt64Array.of(0n) },
      ]);
      let err: unknown;
      try {
        importModel(m);
      } catch (e) {
        err = e;
      }
      expect(isQuantError(err) && err.code).toBe('UNSUPPORTED_OP');
      expect((err as Error).message).toContain(`node '/block/${op}' (${op})`);
      expect((err as Error).message).toContain(
        'transformer ops (LayerNorm, GELU, attention, Gather on data) are not supported yet',
      );
    }
  });
});

describe('float round trip: ONNX → GraphModule → ONNX', () => {
  it.each(FLOAT)('%s runs in onnxruntime-node and -web with identical outputs', async (name) => {
    const bytes = fixture(`${name}.onnx`);
    const gm = importModel(decodeModel(bytes));
    const out = encodeModel(exportModel(gm));
    const x = npyFixture(`${name}.x.npy`);
    for (const [, ort] of RUNTIMES) {
      const a = await runOrt(ort, bytes, { x });
      const b = await runOrt(ort, out, { x });
      expect(b['y']!.dims).toEqual(a['y']!.dims);
      expect(diff(b['y']!.data, a['y']!.data)).toEqual({ mismatches: 0, maxAbs: 0 });
    }
    // and the re-imported graph computes what the first one did
    const again = importModel(decodeModel(out));
    expect(diff((again.call(x) as Tensor).toFloat32Array(), (gm.call(x) as Tensor).toFloat32Array()).mismatches).toBe(
      0,
    );
  });
});

function node(opType: string, inputs: string[], outputs: string[], name = opType): OnnxNode {
  return { name, opType, domain: '', inputs, outputs, attributes: {} };
}

function model(nodes: OnnxNode[], opset: number, initializers: OnnxModel['graph']['initializers'] = []): OnnxModel {
  return {
    irVersion: 8,
    opsetImport: [{ domain: '', version: opset }],
    producerName: 'test',
    producerVersion: '',
    domain: '',
    modelVersion: 0,
    docString: '',
    graph: {
      name: 'g',
      nodes,
      initializers,
      inputs: [{ name: 'x', elemType: 'float', shape: [2, 3] }],
      outputs: [{ name: 'y', elemType: 'float', shape: null }],
      valueInfo: [],
    },
    metadataProps: {},
  };
}
