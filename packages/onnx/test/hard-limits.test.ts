// Resource limits of the ONNX loader (issue 12, SECURITY.md): maxModelBytes (default 2 GiB) and
// maxTensorElements (default 2^28), checked before reading or allocating, with messages that name
// the tensor, its size, the limit and the option that raises it.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import protobuf from 'protobufjs/light.js';
import { describe, expect, it } from 'vitest';
import { isQuantError } from '@quint/tensor';
import { decodeModel, encodeModel, importModel, loadModel, type OnnxModel, type OnnxNode } from '../src/index.js';
import { ONNX_SCHEMA } from '../src/onnx-schema.js';
import { fixture, modelOf } from './helpers.js';

async function error(fn: () => unknown): Promise<{ code: string; message: string }> {
  try {
    await fn();
  } catch (e) {
    if (isQuantError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected a QuantError');
}

/** A float model x[shape] → nodes → y. */
function model(shape: number[], nodes: OnnxNode[], out: string): OnnxModel {
  return modelOf({
    nodes,
    inputs: [{ name: 'x', elemType: 'float', shape }],
    outputs: [{ name: out, elemType: 'float', shape: null }],
  });
}
const node = (name: string, opType: string, inputs: string[], attributes: OnnxNode['attributes'] = {}): OnnxNode => ({
  name,
  opType,
  domain: '',
  inputs,
  outputs: [name],
  attributes,
});

describe('maxModelBytes', () => {
  const bytes = fixture('convnet.onnx');
  it('bytes over the limit are LIMIT_EXCEEDED before decoding; the default (2 GiB) loads the fixture', async () => {
    const e = await error(() => loadModel(bytes, { maxModelBytes: 1000 }));
    expect(e.code).toBe('LIMIT_EXCEEDED');
    expect(e.message).toBe(
      `loadModel: the model is ${bytes.length} bytes, more than maxModelBytes = 1000; pass a larger maxModelBytes if the model is trusted and memory allows.`,
    );
    expect((await error(() => decodeModel(bytes, { maxModelBytes: 1024 }))).message).toContain(
      'more than maxModelBytes = 1024 (2^10)',
    );
    expect((await loadModel(bytes)).kind).toBe('float');
  });
  it('a path over the limit is refused from its size, without reading it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'quint-limits-'));
    const file = join(dir, 'm.onnx');
    writeFileSync(file, bytes);
    const e = await error(() => loadModel(file, { maxModelBytes: 4096 }));
    expect([e.code, e.message]).toEqual([
      'LIMIT_EXCEEDED',
      `loadModel: '${file}' is ${bytes.length} bytes, more than maxModelBytes = 4096 (2^12); pass a larger maxModelBytes if the model is trusted and memory allows.`,
    ]);
  });
  it('external data counts towards the total', async () => {
    // The first initializer moved to an external file 'w.bin', as onnx.save(..., save_as_external_data=True) does.
    const type = protobuf.Root.fromJSON(ONNX_SCHEMA as unknown as protobuf.INamespace).lookupType('onnx.ModelProto');
    const obj = type.toObject(type.decode(bytes), { arrays: true }) as {
      graph: { initializer: Record<string, unknown>[] };
    };
    const init = obj.graph.initializer[0]!;
    const data = Uint8Array.from(init['raw_data'] as Uint8Array);
    delete init['raw_data'];
    init['data_location'] = 1;
    init['external_data'] = [{ key: 'location', value: 'w.bin' }];
    const enc = type.encode(type.fromObject(obj)).finish();
    const externalData = (): Uint8Array => data;
    expect(
      decodeModel(enc, { maxModelBytes: enc.length + data.length, externalData }).graph.initializers[0]!.data
        .byteLength,
    ).toBe(data.length);
    const e = await error(() => decodeModel(enc, { maxModelBytes: enc.length + data.length - 1, externalData }));
    expect(e.code).toBe('LIMIT_EXCEEDED');
    expect(e.message).toMatch(
      /^the model with its external data \(at initializer '[^']+'\) is \d+ bytes, more than maxModelBytes/,
    );
    expect(
      (await error(() => loadModel(enc, { maxModelBytes: enc.length + data.length - 1, externalData }))).message,
    ).toContain("loadModel: the model with its external data (at 'w.bin')");
  });
  it('bad option values are INVALID_ARGUMENT', async () => {
    for (const v of [0, -1, 2.5, Number.NaN]) {
      expect((await error(() => loadModel(bytes, { maxModelBytes: v }))).code).toBe('INVALID_ARGUMENT');
      expect((await error(() => loadModel(bytes, { maxTensorElements: v }))).code).toBe('INVALID_ARGUMENT');
    }
  });
});

describe('maxTensorElements', () => {
  it('an initializer of dims [2^31, 2^31] cannot wrap: LIMIT_EXCEEDED naming it, its size, the limit, the option', async () => {
    const m = decodeModel(fixture('convnet.onnx'));
    const w = m.graph.initializers.find((t) => t.name === 'fc1.bias')!;
    w.dims = [2 ** 31, 2 ** 31];
    w.data = new Float32Array(0);
    const e = await error(() => decodeModel(encodeModel(m)));
    expect(e.code).toBe('LIMIT_EXCEEDED');
    expect(e.message).toBe(
      "initializer 'fc1.bias' has 4611686018427387904 elements (dims [2147483648, 2147483648]), more than maxTensorElements = 268435456 (2^28); pass a larger maxTensorElements if the model is trusted and memory allows.",
    );
    w.dims = [4, 4];
    w.data = new Float32Array(16);
    expect((await error(() => loadModel(encodeModel(m), { maxTensorElements: 15 }))).message).toMatch(
      /^initializer '[^']+' has \d+ elements \(dims \[[\d, ]+\]\), more than maxTensorElements = 15;/,
    );
  });
  it('a graph input of a huge static shape is LIMIT_EXCEEDED before its sample is allocated', async () => {
    const m = model([1, 3, 100_000, 100_000], [node('r', 'Relu', ['x'])], 'r');
    const e = await error(() => importModel(m));
    expect([e.code, e.message]).toEqual([
      'LIMIT_EXCEEDED',
      "graph input 'x' has 30000000000 elements (dims [1, 3, 100000, 100000]), more than maxTensorElements = 268435456 (2^28); pass a larger maxTensorElements if the model is trusted and memory allows.",
    ]);
    expect((await error(() => importModel(model([1, -3, 4], [node('r', 'Relu', ['x'])], 'r')))).code).toBe('BAD_ONNX');
  });
  it('padding that inflates a small input is refused before the conv or pool runs', async () => {
    const m = model(
      [1, 1, 2, 2],
      [
        node('p', 'MaxPool', ['x'], {
          kernel_shape: { type: 'ints', value: [1, 1] },
          pads: { type: 'ints', value: [50_000, 50_000, 50_000, 50_000] },
        }),
      ],
      'p',
    );
    const e = await error(() => importModel(m));
    expect(e.code).toBe('LIMIT_EXCEEDED');
    expect(e.message).toContain(
      "node 'p' (MaxPool): the padded input has 10000400004 elements (dims [1, 1, 100002, 100002])",
    );
    const s = model(
      [1, 1, 2, 2],
      [
        node('p', 'MaxPool', ['x'], {
          kernel_shape: { type: 'ints', value: [1, 1] },
          strides: { type: 'ints', value: [0, 1] },
        }),
      ],
      'p',
    );
    expect((await error(() => importModel(s))).message).toContain(
      'strides [0, 1] and dilations [1, 1] must be positive integers',
    );
  });
  it('values that grow geometrically (Concat of Concat of …) stop at the limit', async () => {
    const nodes: OnnxNode[] = [];
    let prev = 'x';
    for (let i = 0; i < 40; i++) {
      nodes.push(node(`c${i}`, 'Concat', [prev, prev], { axis: { type: 'int', value: 1 } }));
      prev = `c${i}`;
    }
    const e = await error(() => importModel(model([1, 1024], nodes, prev), { maxTensorElements: 2 ** 20 }));
    expect(e.code).toBe('LIMIT_EXCEEDED');
    expect(e.message).toContain(
      "node 'c10' (Concat): the value it computes has 2097152 elements (dims [1, 2097152]), more than maxTensorElements = 1048576 (2^20)",
    );
  });
});
