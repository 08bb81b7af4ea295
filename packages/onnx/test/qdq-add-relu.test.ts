// A QDQ Add → Relu → QuantizeLinear whose output zero point is not the code of 0.0: ONNX Runtime
// does not fuse the Relu there and computes `Q(max(0, f32(DQ(a) + DQ(b))))` in float
// (docs/numerics.md, engine ort), so the importer must keep that pattern in float rather than map it
// to the addRelu kernel (which clamps the add's code at the zero point). With zero point 0 the
// fused kernel is what ORT computes.
import { describe, expect, it } from 'vitest';
import { createJsBackend } from '@quint/kernels-js';
import { Generator, randn, Tensor } from '@quint/tensor';
import { decodeModel, encodeModel, importModel, type OnnxNode, type OnnxTensor } from '../src/index.js';
import { diff, modelOf, RUNTIMES } from './helpers.js';

function node(opType: string, inputs: string[], outputs: string[]): OnnxNode {
  return { name: outputs[0]!, opType, domain: '', inputs, outputs, attributes: {} };
}

const scalar = (name: string, v: number, dataType: 'float' | 'uint8'): OnnxTensor => ({
  name,
  dataType,
  dims: [],
  data: dataType === 'float' ? Float32Array.of(v) : Uint8Array.of(v),
});

function addReluModel(sa: number, sb: number, sy: number, zy: number, n: number): Uint8Array {
  return encodeModel(
    modelOf({
      nodes: [
        node('QuantizeLinear', ['a', 'sa', 'za'], ['aq']),
        node('DequantizeLinear', ['aq', 'sa', 'za'], ['ad']),
        node('QuantizeLinear', ['b', 'sb', 'zb'], ['bq']),
        node('DequantizeLinear', ['bq', 'sb', 'zb'], ['bd']),
        node('Add', ['ad', 'bd'], ['s']),
        node('Relu', ['s'], ['r']),
        node('QuantizeLinear', ['r', 'sy', 'zy'], ['yq']),
        node('DequantizeLinear', ['yq', 'sy', 'zy'], ['y']),
      ],
      initializers: [
        scalar('sa', sa, 'float'), scalar('za', 128, 'uint8'),
        scalar('sb', sb, 'float'), scalar('zb', 120, 'uint8'),
        scalar('sy', sy, 'float'), scalar('zy', zy, 'uint8'),
      ],
      inputs: [
        { name: 'a', elemType: 'float', shape: [1, n] },
        { name: 'b', elemType: 'float', shape: [1, n] },
      ],
      outputs: [{ name: 'y', elemType: 'float', shape: null }],
    }),
  );
}

async function ortY(ort: (typeof RUNTIMES)[number][1], bytes: Uint8Array, a: Tensor, b: Tensor): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', intraOpNumThreads: 1 });
  try {
    const feeds = { a: new ort.Tensor('float32', a.toFloat32Array(), [...a.shape]), b: new ort.Tensor('float32', b.toFloat32Array(), [...b.shape]) };
    return (await s.run(feeds))['y']!.data as Float32Array;
  } finally {
    await s.release();
  }
}

describe('QDQ Add → Relu → Q on engine ort', () => {
  const n = 4096;
  it.each([
    [0.02, 0.03, 0.021, 37],
    [0.05, 0.0125, 0.04, 200],
    [0.01, 0.01, 0.015, 64],
    [0.02, 0.03, 0.021, 0],
  ])('scales a %f, b %f, y %f, output zero point %i: identical to onnxruntime-node and -web', async (sa, sb, sy, zy) => {
    const bytes = addReluModel(sa, sb, sy, zy, n);
    const gm = importModel(decodeModel(bytes), { backend: createJsBackend(), engine: 'ort' });
    const scaled = (seed: number, k: number) => new Tensor(randn([1, n], new Generator(seed)).toFloat32Array().map((v) => v * k), [1, n]);
    const a = scaled(11, 1.2);
    const b = scaled(12, 1.5);
    const ours = (gm.call(a, b) as Tensor).toFloat32Array();
    for (const [name, ort] of RUNTIMES) expect(diff(ours, await ortY(ort, bytes, a, b)), name).toEqual({ mismatches: 0, maxAbs: 0 });
  });
});
