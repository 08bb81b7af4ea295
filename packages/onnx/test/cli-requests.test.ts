// The CLI's requests to @quint/onnx (issue 8): faithful onednn files, streamed calibration, warning
// text, node names kept from the float model, float-model inspection, several graph inputs.
import { describe, expect, it } from 'vitest';
import { Generator, Tensor, randn } from '@quint/tensor';
import { decodeModel, loadModel, quantizeModel, runModel, saveModel } from '../src/index.js';
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
    const x = new Tensor(r.toFloat32Array().map((v) => 2 * v), r.shape);
    const a = (await runModel(q, x))['y'] as Tensor;
    const b = (await runModel(back, x))['y'] as Tensor;
    expect(Array.from(b.toFloat32Array())).toEqual(Array.from(a.toFloat32Array()));
  });
});
