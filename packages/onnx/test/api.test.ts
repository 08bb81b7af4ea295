// The library API: loadModel (bytes and path) → quantizeModel (prepareFx/convertFx of
// @quint/converter) → runModel / saveModel / inspectModel, and the exported files in ONNX Runtime.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createJsBackend } from '@quint/kernels-js';
import { Tensor, isQuantError } from '@quint/tensor';
import { decodeModel, inspectModel, loadModel, quantizeModel, runModel, saveModel } from '../src/index.js';
import { diff, fixture, npyFixture, RUNTIMES, runOrt } from './helpers.js';

async function rejects(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    if (isQuantError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected a QuantError');
}

describe('loadModel / runModel', () => {
  it('loads from bytes and from a path (Node), and runs float models', async () => {
    const x = npyFixture('cnn-static.x.npy');
    const fromBytes = await loadModel(fixture('cnn-static.onnx'));
    const dir = mkdtempSync(join(tmpdir(), 'quint-onnx-'));
    writeFileSync(join(dir, 'm.onnx'), fixture('cnn-static.onnx'));
    const fromPath = await loadModel(join(dir, 'm.onnx'));
    expect(fromBytes.kind).toBe('float');
    expect(fromPath.fileBytes).toBe(fixture('cnn-static.onnx').length);
    const a = (await runModel(fromBytes, x))['y'] as Tensor;
    const b = (await runModel(fromPath, { x }))['y'] as Tensor;
    expect(diff(a.toFloat32Array(), npyFixture('cnn-static.y.npy').toFloat32Array()).mismatches).toBe(0);
    expect(diff(a.toFloat32Array(), b.toFloat32Array()).mismatches).toBe(0);
    expect((await rejects(loadModel(join(dir, 'missing.onnx')))).code).toBe('IO_ERROR');
  });

  it('checks input shapes against the file (the batch may vary when it is symbolic)', async () => {
    const m = await loadModel(fixture('cnn-static.onnx'));
    const e = await rejects(runModel(m, new Tensor(new Float32Array(2 * 3 * 16 * 16), [2, 3, 16, 16])));
    expect(e.code).toBe('SHAPE_MISMATCH');
    expect(e.message).toContain("input 'x' has shape [2, 3, 16, 16], the model takes [1, 3, 16, 16]");
    const d = await loadModel(fixture('cnn-dynamic.onnx'));
    expect(
      ((await runModel(d, new Tensor(new Float32Array(2 * 3 * 16 * 16), [2, 3, 16, 16])))['y'] as Tensor).shape,
    ).toEqual([2, 10]);
  });

  it("quantized files run on engine 'ort' unless the file says quint.engine", async () => {
    const m = await loadModel(fixture('qop-cnn-rr.onnx'));
    expect([m.kind, m.engine]).toEqual(['quantized', 'ort']);
    const x = npyFixture('x.npy');
    const ours = (await runModel(m, x))['y'] as Tensor;
    const web = await runOrt(RUNTIMES[1]![1], fixture('qop-cnn-rr.onnx'), { x });
    expect(diff(ours.toFloat32Array(), web['y']!.data).mismatches).toBe(0);
    // Another engine rebuilds the model for it.
    const q = (await runModel(m, x, { engine: 'qnnpack', backend: createJsBackend() }))['y'] as Tensor;
    expect(q.shape).toEqual([2, 5]);
  });
});

describe('quantizeModel → saveModel', () => {
  it("conv/linear model, engine 'ort': QDQ and QOperator files give runModel's outputs in onnxruntime-web; re-import gives the same", async () => {
    const m = await loadModel(fixture('convnet.onnx'));
    const calib = npyFixture('convnet.x.npy');
    const progress: number[] = [];
    const q = await quantizeModel(m, calib, {
      engine: 'ort',
      batchSize: 2,
      onProgress: (d) => progress.push(d),
      onWarning: () => {},
    });
    expect(progress).toEqual([1, 2]);
    expect(q.metadata).toMatchObject({
      'quint.version': '0.1.0',
      'quint.engine': 'ort',
      'quint.qconfig': '{"preset":"qnnpack"}',
      'quint.torchCompat': 'latest',
      'quint.calibrationSamples': '4',
    });
    const x = npyFixture('convnet.x.npy');
    const ours = (await runModel(q, x))['y'] as Tensor;
    for (const format of ['qdq', 'qoperator'] as const) {
      const bytes = saveModel(q, { format });
      expect(decodeModel(bytes).metadataProps['quint.engine']).toBe('ort');
      const web = await runOrt(RUNTIMES[1]![1], bytes, { x });
      expect(diff(ours.toFloat32Array(), web['y']!.data)).toEqual({ mismatches: 0, maxAbs: 0 });
      const native = await runOrt(RUNTIMES[0]![1], bytes, { x });
      const d = diff(ours.toFloat32Array(), native['y']!.data);
      console.log(
        `convnet ${format} vs onnxruntime-node (AVX2 U8S8 saturation with 8-bit weights): ${ours.numel - d.mismatches}/${ours.numel} identical, max ${d.maxAbs}`,
      );
      const back = await loadModel(bytes);
      expect(back.engine).toBe('ort');
      expect(diff(((await runModel(back, x))['y'] as Tensor).toFloat32Array(), ours.toFloat32Array()).mismatches).toBe(
        0,
      );
    }
  });

  it('keepFloat leaves the named nodes in float; observer overrides and provenance are recorded; inspectModel reports qparams and bytes', async () => {
    const m = await loadModel(fixture('convnet.onnx'));
    const calib = npyFixture('convnet.x.npy');
    const q = await quantizeModel(m, [calib], {
      keepFloat: ['/fc2/Gemm'],
      weightObserver: 'per-channel-minmax',
      activationObserver: 'minmax',
      engine: 'qnnpack',
      onWarning: () => {},
    });
    const info = inspectModel(q);
    const ops = Object.fromEntries(info.nodes.map((n) => [n.name, n.op]));
    expect(ops['conv1']).toBe('QuantizedConvReLU2d');
    expect(ops['fc2']).toBe('Linear');
    const conv1 = info.nodes.find((n) => n.name === 'conv1')!;
    // quantize_per_channel stores symmetric weights as per_channel_affine with zero points 0, as PyTorch.
    expect(conv1.weight!.qscheme).toBe('per_channel_affine');
    expect(conv1.weight!.scales.length).toBe(8);
    expect(conv1.weight!.zeroPoints.every((z) => z === 0)).toBe(true);
    expect(info.modelBytes.int8).toBeLessThan(info.modelBytes.fp32);
    expect(info.provenance['quint.qconfig']).toBe(
      '{"preset":"qnnpack","activation":"minmax","weight":"per-channel-minmax","keepFloat":["/fc2/Gemm"]}',
    );
    expect(inspectModel(await loadModel(fixture('qdq-u8s8.onnx'))).onnxOps).toMatchObject({
      QuantizeLinear: 6,
      DequantizeLinear: 12,
      Conv: 2,
    });
  });

  it('dynamic quantization: runs, saves in the quantize_dynamic form (DynamicQuantizeLinear → MatMulInteger), re-imports with the same outputs', async () => {
    const m = await loadModel(fixture('convnet.onnx'));
    const q = await quantizeModel(m, [], { dynamic: true });
    expect(q.metadata['quint.qconfig']).toBe('dynamic');
    const x = npyFixture('convnet.x.npy');
    const ours = ((await runModel(q, x))['y'] as Tensor).toFloat32Array();
    const bytes = saveModel(q);
    expect(decodeModel(bytes).graph.nodes.filter((n) => n.opType === 'MatMulInteger').length).toBe(2);
    const back = await loadModel(bytes);
    expect(diff(((await runModel(back, x))['y'] as Tensor).toFloat32Array(), ours).mismatches).toBe(0);
    // ONNX Runtime's float epilogue (scale products, bias) may round differently in the last bit.
    const web = await runOrt(RUNTIMES[1]![1], bytes, { x });
    expect(diff(web['y']!.data, ours).maxAbs).toBeLessThan(1e-6);
  });

  it('rejects NaN calibration data unless ignoreNonFinite, and unknown keepFloat names', async () => {
    const m = await loadModel(fixture('convnet.onnx'));
    const bad = new Tensor(new Float32Array(3 * 8 * 8).fill(NaN), [1, 3, 8, 8]);
    const good = npyFixture('convnet.x.npy');
    expect((await rejects(quantizeModel(m, [bad], { onWarning: () => {} }))).code).toBe('NON_FINITE');
    const warnings: string[] = [];
    await quantizeModel(m, [bad, good], { ignoreNonFinite: true, onWarning: (w) => warnings.push(w) });
    expect(warnings.some((w) => w.includes('NaN/Inf'))).toBe(true);
    expect((await rejects(quantizeModel(m, [good], { keepFloat: ['nope'], onWarning: () => {} }))).code).toBe(
      'INVALID_ARGUMENT',
    );
    expect((await rejects(quantizeModel(await loadModel(fixture('qop-cnn.onnx')), [good]))).code).toBe(
      'INVALID_ARGUMENT',
    );
  });

  it('a first calibration batch that does not fit the model is one SHAPE_MISMATCH naming its shape', async () => {
    const m = await loadModel(fixture('convnet.onnx'));
    const wrong = new Tensor(new Float32Array(2 * 5 * 8 * 8), [2, 5, 8, 8]);
    const e = await rejects(quantizeModel(m, [wrong], { onWarning: () => {} }));
    expect(e.code).toBe('SHAPE_MISMATCH');
    expect(e.message).toMatch(
      /^quantizeModel: calibration batch 0 \(\[1, 5, 8, 8\]\) does not fit the model: .*5.*; pass batches of the shape the model takes\.$/,
    );
    expect(e.message).not.toContain('\n');
  });
});
