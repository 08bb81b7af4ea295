// Regression: a quantized conv → ReLU6 → conv model must compute the same codes after saveModel →
// loadModel as in memory. On qnnpack, PyTorch 1.13's relu6 after a quantized conv (channels_last
// output) returns permuted codes (docs/numerics.md, "Two PyTorch 1.13 quirks"); the reloaded model
// must reproduce that, not the plain ONNX Clip.
import { describe, expect, it } from 'vitest';
import type { Tensor } from '@quint/tensor';
import { randn, Generator } from '@quint/tensor';
import { encodeModel, loadModel, quantizeModel, runModel, saveModel, type OnnxNode } from '../src/index.js';
import { diff, modelOf, RUNTIMES, runOrt } from './helpers.js';

function node(opType: string, inputs: string[], outputs: string[], name: string): OnnxNode {
  return { name, opType, domain: '', inputs, outputs, attributes: {} };
}

function convClipConv(lo: number, hi: number): Uint8Array {
  const g = new Generator(7);
  const w1 = randn([8, 3, 3, 3], g)
    .toFloat32Array()
    .map((v) => v * 0.6);
  const b1 = randn([8], g)
    .toFloat32Array()
    .map((v) => v + 1.5);
  const w2 = randn([4, 8, 1, 1], g)
    .toFloat32Array()
    .map((v) => v * 0.4);
  const b2 = randn([4], g).toFloat32Array();
  return encodeModel(
    modelOf({
      nodes: [
        node('Conv', ['x', 'w1', 'b1'], ['c1'], '/conv1/Conv'),
        node('Clip', ['c1', 'lo', 'hi'], ['r'], '/relu6/Clip'),
        node('Conv', ['r', 'w2', 'b2'], ['y'], '/conv2/Conv'),
      ],
      initializers: [
        { name: 'w1', dataType: 'float', dims: [8, 3, 3, 3], data: w1 },
        { name: 'b1', dataType: 'float', dims: [8], data: b1 },
        { name: 'w2', dataType: 'float', dims: [4, 8, 1, 1], data: w2 },
        { name: 'b2', dataType: 'float', dims: [4], data: b2 },
        { name: 'lo', dataType: 'float', dims: [], data: Float32Array.of(lo) },
        { name: 'hi', dataType: 'float', dims: [], data: Float32Array.of(hi) },
      ],
      inputs: [{ name: 'x', elemType: 'float', shape: [1, 3, 6, 6] }],
      outputs: [{ name: 'y', elemType: 'float', shape: null }],
    }),
  );
}

describe('conv → ReLU6/Hardtanh (Clip) → conv, quantized, saved and reloaded', () => {
  it.each([
    ['qnnpack', 0, 6],
    ['onednn', 0, 6],
    ['qnnpack', -0.5, 2],
    ['onednn', -0.5, 2],
  ] as const)('engine %s, Clip(%d, %d): the reloaded model gives the in-memory codes', async (engine, lo, hi) => {
    const f = await loadModel(convClipConv(lo, hi));
    const calib = [0, 1, 2, 3].map((i) => randn([1, 3, 6, 6], new Generator(100 + i)));
    const q = await quantizeModel(f, calib, { engine, onWarning: () => {} });
    const x = randn([1, 3, 6, 6], new Generator(5));
    const ours = (await runModel(q, x))['y'] as Tensor;
    for (const format of ['qdq', 'qoperator'] as const) {
      const back = await loadModel(saveModel(q, { format }));
      const again = (await runModel(back, x))['y'] as Tensor;
      expect(Array.from(again.toFloat32Array()), format).toEqual(Array.from(ours.toFloat32Array()));
    }
  });
});

// On engine ort the imported DQ → Clip → Q (input qparams kept) runs the integer clamp on the codes
// instead of a float pass; the model's output must stay what onnxruntime-web computes. (The native
// x64 build's u8s8 convs may differ by a code, as in quantized.test.ts; the clamp is checked against
// both builds in kernels-js.)
describe('conv → Clip → conv, QDQ, on engine ort', () => {
  it.each([
    [0, 6],
    [-0.5, 2],
  ] as const)('Clip(%d, %d): identical to onnxruntime-web', async (lo, hi) => {
    const f = await loadModel(convClipConv(lo, hi));
    const calib = [0, 1, 2, 3].map((i) => randn([1, 3, 6, 6], new Generator(200 + i)));
    const q = await quantizeModel(f, calib, { engine: 'qnnpack', onWarning: () => {} });
    const bytes = saveModel(q, { format: 'qdq' });
    const ortModel = await loadModel(bytes, { engine: 'ort' });
    // On the codes: the clamp reads the quantized conv directly, with no dequantize in between.
    const clip = ortModel.graphModule.graph.nodes.find((n) => n.meta['onnxOp'] === 'Clip')!;
    expect((clip.args[0] as { meta: Record<string, unknown> }).meta['onnxOp']).toBe('Conv');
    for (let i = 0; i < 4; i++) {
      const x = randn([1, 3, 6, 6], new Generator(300 + i));
      const ours = ((await runModel(ortModel, x))['y'] as Tensor).toFloat32Array();
      const web = (await runOrt(RUNTIMES[1]![1], bytes, { x }))['y']!.data as Float32Array;
      expect(diff(ours, web).mismatches).toBe(0);
    }
  });
});
