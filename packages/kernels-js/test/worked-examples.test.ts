import { QTensor, type GemmTraceRecord, type TraceRecord } from '@quint/qtensor';
import { describe, expect, it } from 'vitest';
import { createJsBackend } from '../src/index.js';

// spec pytorch-semantics.md §5.2 "Worked example [V e14, both engines agree here]".
const x = new QTensor(Uint8Array.of(178, 103), [1, 2], 'quint8', {
  qscheme: 'per_tensor_affine',
  scale: 0.01,
  zeroPoint: 128,
});
const w = new QTensor(Int8Array.of(64, -127, 21, 42), [2, 2], 'qint8', {
  qscheme: 'per_tensor_affine',
  scale: 0.004705882631242275,
  zeroPoint: 0,
});
const bias = Float32Array.of(0.05, -0.02);
const out = { scale: 0.005, zeroPoint: 100 };

describe('linear: the spec §5.2 worked example', () => {
  for (const engine of ['qnnpack', 'onednn', 'ort'] as const) {
    it(`gives [170, 96] on ${engine}`, () => {
      const be = createJsBackend();
      const y = be.kernels.linear(x, be.prepackLinear(w, bias), out, { engine });
      expect(Array.from(y.data)).toEqual([170, 96]);
      expect(y.shape).toEqual([1, 2]);
    });
  }

  it('traces acc 6375, bias_q 1062, M 0.009411764331161976, preRound 69.99529… on qnnpack', () => {
    const be = createJsBackend();
    const records: TraceRecord[] = [];
    be.kernels.linear(x, be.prepackLinear(w, bias), out, { trace: { index: 'all', sink: (r) => records.push(r) } });
    const [r0, r1] = records as GemmTraceRecord[];
    expect(r0).toMatchObject({
      kind: 'gemm',
      op: 'linear',
      engine: 'qnnpack',
      index: 0,
      channel: 0,
      acc: 6375,
      biasKind: 'int32',
      bias: 1062,
      output: 170,
    });
    expect(r0!.multiplier).toBe(0.009411764331161976);
    expect(r0!.preRound).toBe(Math.fround(69.99529));
    expect(r0!.input.codes).toEqual([178, 103]);
    expect(r0!.weight.codes).toEqual([64, -127]);
    expect(r1).toMatchObject({ acc: 0, bias: -425, output: 96 });
    expect(r1!.preRound).toBe(Math.fround(-3.9999998));
  });
});
