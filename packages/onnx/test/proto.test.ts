// protobufjs + onnx.proto: decode/encode, typed fields and raw_data, float16, external data.
import { describe, expect, it } from 'vitest';
import { isQuantError } from '@quint/tensor';
import {
  decodeModel,
  encodeModel,
  externalDataLocations,
  tensorToFloat32,
  type OnnxModel,
  type OnnxTensor,
} from '../src/index.js';
import { fixture, modelOf } from './helpers.js';

function tiny(init: OnnxTensor, extra: Partial<OnnxModel> = {}): OnnxModel {
  const graph = {
    nodes: [{ name: 'add', opType: 'Add', domain: '', inputs: ['x', init.name], outputs: ['y'], attributes: {} }],
    initializers: [init],
    inputs: [{ name: 'x', elemType: 'float' as const, shape: ['batch', init.dims[0] ?? 1] }],
    outputs: [{ name: 'y', elemType: 'float' as const, shape: ['batch', init.dims[0] ?? 1] }],
  };
  const m = modelOf(graph, { irVersion: 7, metadataProps: { 'quint.engine': 'ort' } });
  return { ...m, ...extra };
}

describe('decodeModel / encodeModel', () => {
  it('reads a torch.onnx 1.13 file and writes back the same content', () => {
    const m = decodeModel(fixture('cnn-static.onnx'));
    expect(m.opsetImport).toEqual([{ domain: '', version: 13 }]);
    expect(m.producerName).toBe('pytorch');
    expect(m.graph.nodes.map((n) => n.opType)).toEqual([
      'Conv',
      'BatchNormalization',
      'Relu',
      'MaxPool',
      'Conv',
      'BatchNormalization',
      'Add',
      'Relu',
      'Constant',
      'Pad',
      'AveragePool',
      'Constant',
      'Reshape',
      'Gemm',
      'Relu',
      'Gemm',
    ]);
    const w = m.graph.initializers.find((t) => t.name === 'conv1.weight')!;
    expect(w.dataType).toBe('float');
    expect(w.dims).toEqual([8, 3, 3, 3]);
    expect(w.data).toBeInstanceOf(Float32Array);
    expect(w.data.length).toBe(216);
    const again = decodeModel(encodeModel(m));
    expect(again.graph.nodes).toEqual(m.graph.nodes);
    expect(again.graph.initializers.map((t) => [t.name, t.dataType, t.dims, Array.from(tensorToFloat32(t))])).toEqual(
      m.graph.initializers.map((t) => [t.name, t.dataType, t.dims, Array.from(tensorToFloat32(t))]),
    );
    expect(again.graph.inputs).toEqual(m.graph.inputs);
  });

  it('round-trips every element type it writes as raw_data, and metadata_props', () => {
    const types: OnnxTensor[] = [
      { name: 'f', dataType: 'float', dims: [3], data: Float32Array.of(1.5, -0, 3e-38) },
      { name: 'u8', dataType: 'uint8', dims: [2], data: Uint8Array.of(0, 255) },
      { name: 'i8', dataType: 'int8', dims: [2], data: Int8Array.of(-128, 127) },
      { name: 'i32', dataType: 'int32', dims: [2], data: Int32Array.of(-2147483648, 2147483647) },
      { name: 'i64', dataType: 'int64', dims: [2], data: BigInt64Array.of(-(2n ** 63n), 2n ** 40n) },
      { name: 'f16', dataType: 'float16', dims: [3], data: Uint16Array.of(0x3c00, 0xc000, 0x0001) },
      { name: 'f64', dataType: 'double', dims: [1], data: Float64Array.of(Math.PI) },
    ];
    for (const t of types) {
      const back = decodeModel(encodeModel(tiny(t))).graph.initializers[0]!;
      expect(back).toEqual(t);
    }
    expect(tensorToFloat32(types[5]!)).toEqual(Float32Array.of(1, -2, 2 ** -24));
    expect(decodeModel(encodeModel(tiny(types[0]!))).metadataProps).toEqual({ 'quint.engine': 'ort' });
  });

  it('reads the typed *_data fields (float_data, int32_data for int8/float16, int64_data)', () => {
    const cases: [OnnxTensor, Record<string, unknown>, number[]][] = [
      [{ name: 'w', dataType: 'float', dims: [2], data: new Float32Array(2) }, { float_data: [0.5, -2] }, [0.5, -2]],
      [
        { name: 'w', dataType: 'int8', dims: [3], data: new Int8Array(3) },
        { int32_data: [-128, 0, 127] },
        [-128, 0, 127],
      ],
      [
        { name: 'w', dataType: 'int64', dims: [2], data: new BigInt64Array(2) },
        { int64_data: ['-1', '9007199254740993'] },
        [-1, 9007199254740992],
      ] /* the int64 rounds to the nearest double */,
      [{ name: 'w', dataType: 'float16', dims: [1], data: new Uint16Array(1) }, { int32_data: [0x3c00] }, [1]],
    ];
    for (const [t, fields, want] of cases) {
      const got = decodeModel(patchTensor(encodeModel(tiny(t)), 'w', fields)).graph.initializers[0]!;
      expect(got.dataType).toBe(t.dataType);
      if (t.dataType === 'int64') expect(Array.from(got.data as BigInt64Array)).toEqual([-1n, 9007199254740993n]);
      else expect(Array.from(tensorToFloat32(got))).toEqual(want);
    }
  });

  it('reads tensors stored as external data through a resolver (no fs in the core path)', () => {
    const data = Float32Array.of(1, 2, 3, 4);
    const file = new Uint8Array(16 + data.byteLength);
    file.set(new Uint8Array(data.buffer), 16);
    const m = tiny({ name: 'w', dataType: 'float', dims: [4], data: new Float32Array(4) });
    const bytes = encodeModel(m);
    // Rewrite the initializer as external: data_location = EXTERNAL, location/offset/length.
    const ext = patchTensor(bytes, 'w', {
      data_location: 1,
      external_data: [
        { key: 'location', value: 'weights.bin' },
        { key: 'offset', value: '16' },
        { key: 'length', value: '16' },
      ],
    });
    expect(externalDataLocations(ext)).toEqual(['weights.bin']);
    const got = decodeModel(ext, { externalData: (loc) => (loc === 'weights.bin' ? file : new Uint8Array()) });
    expect(Array.from(got.graph.initializers[0]!.data as Float32Array)).toEqual([1, 2, 3, 4]);
    const err = (() => {
      try {
        decodeModel(ext);
      } catch (e) {
        return e;
      }
    })();
    expect(isQuantError(err) && err.code).toBe('BAD_ONNX');
    expect(String((err as Error).message)).toMatch(/initializer 'w' is stored in the external file 'weights.bin'/);
  });
});

// Re-encode with protobufjs reflection: strip raw_data, set the external fields.
import protobuf from 'protobufjs/light.js';
import { ONNX_SCHEMA } from '../src/onnx-schema.js';
function patchTensor(bytes: Uint8Array, name: string, fields: Record<string, unknown>): Uint8Array {
  const T = protobuf.Root.fromJSON(ONNX_SCHEMA as unknown as protobuf.INamespace).lookupType('onnx.ModelProto');
  const obj = T.toObject(T.decode(bytes)) as { graph: { initializer: Record<string, unknown>[] } };
  const t = obj.graph.initializer.find((i) => i['name'] === name)!;
  delete t['raw_data'];
  Object.assign(t, fields);
  return T.encode(T.fromObject(obj)).finish();
}
