// A whole model picks the ONNX Runtime build engine ort reproduces (`target`): a QDQ Add fed the
// code pairs where onnxruntime-node (x64, FMA-contracted MLAS kernel) and onnxruntime-web (portable
// formula) give different codes (docs/numerics.md, engine ort), plus pairs where they agree. Loaded
// with `target: 'x64'` the model equals onnxruntime-node on every output, by default
// onnxruntime-web, and runModel switches between them.
import { describe, expect, it } from 'vitest';
import { createJsBackend } from '@quint/kernels-js';
import { QTensor } from '@quint/qtensor';
import { Tensor } from '@quint/tensor';
import { loadModel, runModel } from '../src/index.js';
import { diff, qdqAddModel, RUNTIMES } from './helpers.js';

// Power-of-two scale ratios put many sums on exact .5 ties, where the two builds' roundings part.
const A = { s: Math.fround(0.02), z: 128 };
const B = { s: Math.fround(0.04), z: 120 };
const C = { s: Math.fround(0.08), z: 131 };

const addModel = (n: number): Uint8Array => qdqAddModel({ a: A, b: B, y: C }, n);

/** Code pairs (a, b): up to 64 where the two builds' add formulas disagree, then 64 where they agree. */
function codePairs(): [number, number][] {
  const all = Uint8Array.from({ length: 65536 }, (_, i) => i >> 8);
  const bs = Uint8Array.from({ length: 65536 }, (_, i) => i & 255);
  const q = (data: Uint8Array, p: { s: number; z: number }) =>
    new QTensor(data, [65536], 'quint8', { qscheme: 'per_tensor_affine', scale: p.s, zeroPoint: p.z });
  const be = createJsBackend();
  const code = (target: 'wasm' | 'x64') =>
    be.kernels.add(q(all, A), q(bs, B), { scale: C.s, zeroPoint: C.z }, { engine: 'ort', target }).data;
  const [x64, wasm] = [code('x64'), code('wasm')];
  const differ: [number, number][] = [];
  const agree: [number, number][] = [];
  for (let i = 0; i < 65536; i++) {
    const list = x64[i] !== wasm[i] ? differ : agree;
    if (list.length < 64 && (list === differ || i % 997 === 0)) list.push([i >> 8, i & 255]);
  }
  return [...differ, ...agree];
}

describe('engine ort, the ONNX Runtime build of a whole model', () => {
  it("target 'x64' gives onnxruntime-node's outputs, the default onnxruntime-web's, on code pairs where the two differ", async () => {
    const pairs = codePairs();
    const n = pairs.length;
    const bytes = addModel(n);
    const dq = (k: number, p: { s: number; z: number }) => Math.fround(p.s * (k - p.z));
    const a = new Tensor(
      Float32Array.from(pairs, ([qa]) => dq(qa, A)),
      [1, n],
    );
    const b = new Tensor(
      Float32Array.from(pairs, ([, qb]) => dq(qb, B)),
      [1, n],
    );
    const ort: Record<string, Float32Array> = {};
    for (const [name, rt] of RUNTIMES) {
      const s = await rt.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', intraOpNumThreads: 1 });
      try {
        const feeds = {
          a: new rt.Tensor('float32', a.toFloat32Array(), [1, n]),
          b: new rt.Tensor('float32', b.toFloat32Array(), [1, n]),
        };
        ort[name] = (await s.run(feeds))['y']!.data as Float32Array;
      } finally {
        await s.release();
      }
    }
    const [nodeY, webY] = [ort[RUNTIMES[0]![0]]!, ort[RUNTIMES[1]![0]]!];
    // The runtimes really differ here, so only the matching target can equal each.
    expect(diff(nodeY, webY).mismatches).toBeGreaterThan(0);

    const y = async (m: Awaited<ReturnType<typeof loadModel>>, opts = {}) =>
      ((await runModel(m, { a, b }, opts))['y'] as Tensor).toFloat32Array();
    const native = await loadModel(bytes, { backend: createJsBackend(), target: 'x64' });
    expect(native.engine).toBe('ort');
    expect(native.target).toBe('x64');
    expect(diff(await y(native), nodeY)).toEqual({ mismatches: 0, maxAbs: 0 });
    const web = await loadModel(bytes, { backend: createJsBackend() });
    expect(web.target).toBe('wasm');
    expect(diff(await y(web), webY)).toEqual({ mismatches: 0, maxAbs: 0 });
    // runModel rebuilds the model for another build, both ways.
    expect(diff(await y(web, { target: 'x64' }), nodeY)).toEqual({ mismatches: 0, maxAbs: 0 });
    expect(diff(await y(native, { target: 'wasm' }), webY)).toEqual({ mismatches: 0, maxAbs: 0 });
  });

  it('refuses a build quint does not reproduce', async () => {
    await expect(loadModel(addModel(4), { target: 'arm64' as never })).rejects.toThrow(
      /loadModel: target "arm64" is not an ONNX Runtime build quint reproduces; pass 'wasm'/,
    );
  });
});
