// A QDQ Add → Relu → QuantizeLinear whose output zero point is not the code of 0.0: ONNX Runtime
// does not fuse the Relu there and computes `Q(max(0, f32(DQ(a) + DQ(b))))` in float
// (docs/numerics.md, engine ort), so the importer must keep that pattern in float rather than map it
// to the addRelu kernel (which clamps the add's code at the zero point). With zero point 0 the
// fused kernel is what ORT computes.
import { describe, expect, it } from 'vitest';
import { createJsBackend } from '@quint/kernels-js';
import { Generator, randn, Tensor } from '@quint/tensor';
import { decodeModel, importModel } from '../src/index.js';
import { diff, qdqAddModel, RUNTIMES } from './helpers.js';

function addReluModel(sa: number, sb: number, sy: number, zy: number, n: number): Uint8Array {
  return qdqAddModel({ a: { s: sa, z: 128 }, b: { s: sb, z: 120 }, y: { s: sy, z: zy } }, n, true);
}

async function ortY(ort: (typeof RUNTIMES)[number][1], bytes: Uint8Array, a: Tensor, b: Tensor): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', intraOpNumThreads: 1 });
  try {
    const feeds = {
      a: new ort.Tensor('float32', a.toFloat32Array(), [...a.shape]),
      b: new ort.Tensor('float32', b.toFloat32Array(), [...b.shape]),
    };
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
  ])(
    'scales a %f, b %f, y %f, output zero point %i: identical to onnxruntime-node and -web',
    async (sa, sb, sy, zy) => {
      const bytes = addReluModel(sa, sb, sy, zy, n);
      const gm = importModel(decodeModel(bytes), { backend: createJsBackend(), engine: 'ort' });
      const scaled = (seed: number, k: number) =>
        new Tensor(
          randn([1, n], new Generator(seed))
            .toFloat32Array()
            .map((v) => v * k),
          [1, n],
        );
      const a = scaled(11, 1.2);
      const b = scaled(12, 1.5);
      const ours = (gm.call(a, b) as Tensor).toFloat32Array();
      for (const [name, ort] of RUNTIMES)
        expect(diff(ours, await ortY(ort, bytes, a, b)), name).toEqual({ mismatches: 0, maxAbs: 0 });
    },
  );
});
