// Bad input never crashes: truncated or non-ONNX bytes, missing initializers, dangling inputs,
// unsupported ops and wrong initializer sizes are QuantErrors with a code, naming the node.
import { fc, test as fcTest } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { isQuantError } from '@quint/tensor';
import { decodeModel, encodeModel, importModel, loadModel, type OnnxModel } from '../src/index.js';
import { fixture } from './helpers.js';

function error(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (e) {
    if (isQuantError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected a QuantError');
}

const base = () => decodeModel(fixture('convnet.onnx'));

describe('bad ONNX input', () => {
  it('truncated bytes, other formats and empty input are BAD_ONNX', () => {
    const bytes = fixture('convnet.onnx');
    expect(error(() => decodeModel(bytes.subarray(0, bytes.length - 100))).code).toBe('BAD_ONNX');
    expect(error(() => decodeModel(bytes.subarray(0, 10))).code).toBe('BAD_ONNX');
    expect(error(() => decodeModel(new TextEncoder().encode('{"not": "onnx"}'))).code).toBe('BAD_ONNX');
    expect(error(() => decodeModel(fixture('x.npy'))).message).toMatch(/not a valid ONNX protobuf|not an ONNX model/);
    expect(error(() => decodeModel(new Uint8Array())).message).toContain('the model is empty');
  });

  it('a missing initializer or a dangling input names the node and the input', () => {
    const m = base();
    m.graph.initializers = m.graph.initializers.filter((t) => t.name !== 'conv1.weight');
    const e = error(() => importModel(decodeModel(encodeModel(m))));
    expect(e.code).toBe('BAD_ONNX');
    expect(e.message).toContain("node '/conv1/Conv' (Conv): input 'conv1.weight' is not produced by any earlier node");
    const d = base();
    d.graph.nodes[2]!.inputs[0] = 'nowhere';
    expect(error(() => importModel(d)).message).toContain("input 'nowhere' is not produced");
  });

  it('wrong initializer sizes are BAD_ONNX naming the initializer', () => {
    const m = base();
    const w = m.graph.initializers.find((t) => t.name === 'fc1.bias')!;
    w.dims = [17];
    const e = error(() => decodeModel(encodeModel(m)));
    expect(e.code).toBe('BAD_ONNX');
    expect(e.message).toContain("initializer 'fc1.bias' has 16 float elements in raw_data but dims [17] need 17");
    const c = base();
    const cw = c.graph.initializers.find((t) => t.name === 'conv2.weight')!;
    cw.dims = [8, 8, 3, 3];
    cw.data = new Float32Array(8 * 8 * 9);
    expect(error(() => importModel(c)).message).toContain(
      "node '/conv2/Conv' (Conv): the input has 8 channels but the weight [8, 8, 3, 3] with group 2 needs 16",
    );
  });

  it('unsupported ops and domains are UNSUPPORTED_OP naming node and op', () => {
    const m = base();
    m.graph.nodes[1]!.opType = 'Gelu';
    const e = error(() => importModel(m));
    expect(e.code).toBe('UNSUPPORTED_OP');
    expect(e.message).toMatch(/^node '\/relu1\/Relu' \(Gelu\): Gelu is not in quint's ONNX op table/);
    const d = base();
    d.graph.nodes[1]!.domain = 'ai.onnx.ml';
    expect(error(() => importModel(d)).code).toBe('UNSUPPORTED_OP');
  });

  it('loadModel rejects with the same codes', async () => {
    await expect(loadModel(new Uint8Array([1, 2, 3]))).rejects.toMatchObject({ code: 'BAD_ONNX' });
  });
});

describe('fuzz: mutated model bytes', () => {
  const bytes = fixture('convnet.onnx');
  // Seeded: flips, truncations and splices of the real file; every outcome is a model or a QuantError.
  fcTest.prop(
    [
      fc.array(fc.record({ at: fc.nat({ max: bytes.length - 1 }), value: fc.integer({ min: 0, max: 255 }) }), {
        minLength: 1,
        maxLength: 8,
      }),
      fc.nat({ max: bytes.length }),
    ],
    { seed: 7, numRuns: 150 },
  )('loadModel never throws anything but a QuantError', async (edits, cut) => {
    const b = bytes.slice(0, Math.max(1, cut));
    for (const { at, value } of edits) if (at < b.length) b[at] = value;
    try {
      const m = await loadModel(b);
      expect(['float', 'quantized']).toContain(m.kind);
    } catch (e) {
      if (!isQuantError(e)) throw e;
      expect(e.message.length).toBeGreaterThan(10);
    }
  });
});

void (null as unknown as OnnxModel);
