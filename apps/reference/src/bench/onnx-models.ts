// Single-op ONNX models for the ONNX Runtime Web rows of the benchmark, written at bench time with a
// minimal protobuf encoder (1024×1024 random weights would make large committed files). Field
// numbers are onnx.proto3's (onnx 1.12): ModelProto, GraphProto, NodeProto, TensorProto, … .

type Field = Uint8Array;

function varint(n: number | bigint): number[] {
  let v = BigInt(n);
  if (v < 0n) v += 1n << 64n; // int64 two's complement, as protobuf encodes negative varints
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) b |= 0x80;
    out.push(b);
  } while (v !== 0n);
  return out;
}

function concat(parts: readonly (Uint8Array | number[])[]): Uint8Array {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function int(field: number, v: number): Field {
  return new Uint8Array([...varint((field << 3) | 0), ...varint(v)]);
}

function bytes(field: number, data: Uint8Array): Field {
  return concat([varint((field << 3) | 2), varint(data.length), data]);
}

function str(field: number, s: string): Field {
  return bytes(field, new TextEncoder().encode(s));
}

function msg(field: number, parts: readonly Field[]): Field {
  return bytes(field, concat(parts));
}

/** ONNX TensorProto.DataType values used here. */
export const ONNX_DTYPE = { float: 1, uint8: 2, int8: 3, int32: 6 } as const;

/** An initializer: raw little-endian data of one of {@link ONNX_DTYPE}. */
export interface Initializer {
  readonly name: string;
  readonly dtype: number;
  readonly dims: readonly number[];
  readonly data: Float32Array | Uint8Array | Int8Array | Int32Array;
}

function tensorProto(field: number, t: Initializer): Field {
  const raw = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return msg(field, [...t.dims.map((d) => int(1, d)), int(2, t.dtype), str(8, t.name), bytes(9, raw)]);
}

function valueInfo(field: number, name: string, dtype: number, dims: readonly number[]): Field {
  const shape = msg(
    2,
    dims.map((d) => msg(1, [int(1, d)])),
  );
  return msg(field, [str(1, name), msg(2, [msg(1, [int(1, dtype), shape])])]);
}

/** An attribute of a node: an int or a list of ints. */
export type Attribute =
  { readonly name: string; readonly i: number } | { readonly name: string; readonly ints: readonly number[] };

function attribute(a: Attribute): Field {
  // AttributeProto: name 1, i 3, ints 8, type 20 (INT = 2, INTS = 7).
  if ('i' in a) return msg(5, [str(1, a.name), int(3, a.i), int(20, 2)]);
  return msg(5, [str(1, a.name), ...a.ints.map((v) => int(8, v)), int(20, 7)]);
}

/** A one-node model. */
export interface SingleOpModel {
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly attributes?: readonly Attribute[];
  readonly initializers: readonly Initializer[];
  /** The graph input fed per call. */
  readonly input: { readonly name: string; readonly dtype: number; readonly dims: readonly number[] };
  readonly output: { readonly name: string; readonly dtype: number; readonly dims: readonly number[] };
}

/** Encodes a one-node ONNX model (IR 8, opset 13). */
export function encodeSingleOpModel(m: SingleOpModel): Uint8Array {
  const node = msg(1, [
    ...m.inputs.map((i) => str(1, i)),
    str(2, m.output.name),
    str(3, 'n0'),
    str(4, m.opType),
    ...(m.attributes ?? []).map(attribute),
  ]);
  const graph = msg(7, [
    node,
    str(2, 'bench'),
    ...m.initializers.map((t) => tensorProto(5, t)),
    valueInfo(11, m.input.name, m.input.dtype, m.input.dims),
    valueInfo(12, m.output.name, m.output.dtype, m.output.dims),
  ]);
  return concat([int(1, 8), str(2, 'quint-bench'), graph, msg(8, [str(1, ''), int(2, 13)])]);
}

/** Scalar float32 and uint8/int8 initializers for a quantized operand's scale and zero point. */
export function qparamInitializers(
  prefix: string,
  scale: number,
  zeroPoint: number,
  dtype: 'uint8' | 'int8',
): Initializer[] {
  return [
    { name: `${prefix}_scale`, dtype: ONNX_DTYPE.float, dims: [], data: new Float32Array([scale]) },
    {
      name: `${prefix}_zero_point`,
      dtype: ONNX_DTYPE[dtype],
      dims: [],
      data: dtype === 'uint8' ? new Uint8Array([zeroPoint]) : new Int8Array([zeroPoint]),
    },
  ];
}
