// Engine 'ort' for the exact ops (relu, maxPool2d, flatten, reshape): the QDQ models of
// tools/goldens/kernels_ops.py (DequantizeLinear → op → QuantizeLinear, same qparams) run in
// onnxruntime-node (native x64) and onnxruntime-web (wasm, 1 thread) on random and edge codes; every
// output code must equal the kernel's. docs/numerics.md records why these are exact in ORT.
import { readFileSync } from 'node:fs';
import { QTensor, type QuantizedBackend } from '@quint/qtensor';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { createJsBackend } from '../src/index.js';

ortWeb.env.wasm.numThreads = 1;

// The qparams baked into the models (kernels_ops.py ort_models()).
const SCALE = 0.0371;
const ZP = 117;

interface ModelCase {
  readonly file: string;
  readonly shape: readonly number[];
  readonly run: (be: QuantizedBackend, x: QTensor) => QTensor;
}

const MODELS: readonly ModelCase[] = [
  { file: 'relu', shape: [2, 3, 8, 9], run: (be, x) => be.kernels.relu(x, { engine: 'ort' }) },
  {
    file: 'maxpool-k3s2p1',
    shape: [2, 3, 9, 10],
    run: (be, x) => be.kernels.maxPool2d(x, { kernelSize: 3, stride: 2, padding: 1 }, { engine: 'ort' }),
  },
  {
    file: 'maxpool-k3s1p1-d2',
    shape: [1, 4, 9, 9],
    run: (be, x) => be.kernels.maxPool2d(x, { kernelSize: 3, stride: 1, padding: 1, dilation: 2 }, { engine: 'ort' }),
  },
  {
    file: 'maxpool-k2s2-ceil',
    shape: [1, 3, 7, 9],
    run: (be, x) => be.kernels.maxPool2d(x, { kernelSize: 2, stride: 2, ceilMode: true }, { engine: 'ort' }),
  },
  { file: 'flatten', shape: [2, 3, 4, 5], run: (be, x) => be.kernels.flatten(x, { startDim: 1 }, { engine: 'ort' }) },
  { file: 'reshape', shape: [2, 3, 4, 5], run: (be, x) => be.kernels.reshape(x, [6, -1], { engine: 'ort' }) },
];

/** Deterministic codes: a seeded LCG, with 0, 255, zp−1, zp, zp+1 planted at the start. */
function codes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  out.set([0, 255, ZP - 1, ZP, ZP + 1].slice(0, n));
  return out;
}

const RUNTIMES = [
  ['onnxruntime-node', ortNode],
  ['onnxruntime-web (wasm)', ortWeb],
] as const;

describe.each(RUNTIMES)('engine ort vs %s', (_name, ort) => {
  const be = createJsBackend();
  it.each(MODELS.map((m) => [m.file, m] as const))('%s: every code equals ONNX Runtime on 20 inputs', async (_f, m) => {
    const session = await (ort as typeof ortNode).InferenceSession.create(
      readFileSync(new URL(`./ort-models/${m.file}.onnx`, import.meta.url)),
    );
    const n = m.shape.reduce((p, d) => p * d, 1);
    let compared = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const x = codes(n, seed * 7919);
      const r = await session.run({ x: new (ort as typeof ortNode).Tensor('uint8', x, [...m.shape]) });
      const y = r.y!;
      const ours = m.run(
        be,
        new QTensor(x, m.shape, 'quint8', { qscheme: 'per_tensor_affine', scale: SCALE, zeroPoint: ZP }),
      );
      expect(ours.shape).toEqual(y.dims);
      expect(Array.from(ours.data)).toEqual(Array.from(y.data as Uint8Array));
      compared += ours.numel;
    }
    expect(compared).toBeGreaterThan(0);
    await session.release();
  });
});
