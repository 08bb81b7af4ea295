// ONNX protobuf I/O with protobufjs: onnx.proto's JSON descriptor (src/onnx-schema.ts, generated at
// build time) is loaded with Root.fromJSON, so parsing needs no .proto file and no `fs`, in Node and
// in the browser. Messages are converted to the plain camelCase objects below; initializers become
// typed arrays (raw_data and the typed *_data fields, little-endian as onnx.proto specifies).
import protobuf from 'protobufjs/light.js';
import { QuantError } from '@quint/tensor';
import { ONNX_SCHEMA } from './onnx-schema.js';

/** The tensor element types quint reads and writes (onnx.proto `TensorProto.DataType`). */
export type OnnxDataType =
  | 'float'
  | 'uint8'
  | 'int8'
  | 'uint16'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'bool'
  | 'float16'
  | 'double'
  | 'uint32'
  | 'uint64';

/** The typed array that holds a tensor's elements (`float16` as its raw `Uint16Array` bits, `bool` as 0/1 bytes). */
export type OnnxTensorData =
  | Float32Array
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Float64Array
  | Uint32Array
  | BigUint64Array;

/** An initializer or constant: `TensorProto` with its elements decoded into a typed array. */
export interface OnnxTensor {
  name: string;
  dataType: OnnxDataType;
  dims: number[];
  data: OnnxTensorData;
}

/** The kinds of `AttributeProto` quint reads. */
export type OnnxAttributeType =
  'float' | 'int' | 'string' | 'tensor' | 'graph' | 'floats' | 'ints' | 'strings' | 'tensors' | 'graphs';

/** One node attribute, with its value decoded (ints as numbers, strings as UTF-8 text). */
export type OnnxAttribute =
  | { type: 'float' | 'int'; value: number }
  | { type: 'string'; value: string }
  | { type: 'tensor'; value: OnnxTensor }
  | { type: 'graph'; value: OnnxGraph }
  | { type: 'floats' | 'ints'; value: number[] }
  | { type: 'strings'; value: string[] }
  | { type: 'tensors'; value: OnnxTensor[] }
  | { type: 'graphs'; value: OnnxGraph[] };

/** A `NodeProto`. Optional inputs that are omitted appear as `''`, as in the file. */
export interface OnnxNode {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: Record<string, OnnxAttribute>;
}

/** A graph input/output (`ValueInfoProto`): element type and shape; a dimension is a number, a symbol or null. */
export interface OnnxValueInfo {
  name: string;
  elemType: OnnxDataType | undefined;
  shape: (number | string | null)[] | null;
}

/** A `GraphProto`. */
export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  initializers: OnnxTensor[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  valueInfo: OnnxValueInfo[];
}

/** An `OperatorSetIdProto`: `''` is the default domain `ai.onnx`. */
export interface OnnxOpset {
  domain: string;
  version: number;
}

/** A `ModelProto`. */
export interface OnnxModel {
  irVersion: number;
  opsetImport: OnnxOpset[];
  producerName: string;
  producerVersion: string;
  domain: string;
  modelVersion: number;
  docString: string;
  graph: OnnxGraph;
  metadataProps: Record<string, string>;
}

/** Returns the bytes of an external-data file named by `location` (relative to the model file). */
export type ExternalDataResolver = (location: string) => Uint8Array;

/** Options of {@link decodeModel}. */
export interface DecodeModelOptions {
  /** Reads tensors stored with `data_location: EXTERNAL`; without it such a model is `BAD_ONNX`. */
  readonly externalData?: ExternalDataResolver;
  /**
   * The largest element count of one initializer or constant (default 2^28 = 268,435,456): a larger
   * one is `LIMIT_EXCEEDED` before it is allocated. Model files are untrusted input (SECURITY.md).
   */
  readonly maxTensorElements?: number;
  /** The largest model, in bytes: the file plus its external data (default 2^31 = 2 GiB). */
  readonly maxModelBytes?: number;
}

/** Defaults of the resource limits (SECURITY.md); shared by decodeModel, importModel and loadModel. */
export const DEFAULT_LIMITS = { maxTensorElements: 2 ** 28, maxModelBytes: 2 ** 31 } as const;

function powerOfTwo(n: number): string {
  const p = Math.log2(n);
  return Number.isInteger(p) ? ` (2^${p})` : '';
}

/** A limit option checked as a positive integer, or its default. */
export function limitOption(
  options: { readonly maxTensorElements?: number; readonly maxModelBytes?: number },
  name: keyof typeof DEFAULT_LIMITS,
): number {
  const v = options[name] ?? DEFAULT_LIMITS[name];
  if (!(Number.isSafeInteger(v) && v > 0)) {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `${name} ${String(v)} is not a positive integer; pass a count such as ${DEFAULT_LIMITS[name]}.`,
    );
  }
  return v;
}

/**
 * Throws `LIMIT_EXCEEDED` when `dims` hold more than `maxTensorElements` elements. The product is a
 * BigInt, so dims such as [2^31, 2^31] cannot wrap or round below the limit.
 */
export function checkTensorElements(
  what: string,
  dims: readonly number[],
  options: { readonly maxTensorElements?: number },
): void {
  const limit = limitOption(options, 'maxTensorElements');
  let n = 1n;
  for (const d of dims) n *= BigInt(Number.isSafeInteger(d) ? d : Math.trunc(d));
  if (n > BigInt(limit)) {
    throw new QuantError(
      'LIMIT_EXCEEDED',
      `${what} has ${n} elements (dims [${dims.join(', ')}]), more than maxTensorElements = ${limit}${powerOfTwo(limit)}; pass a larger maxTensorElements if the model is trusted and memory allows.`,
    );
  }
}

/** Throws `LIMIT_EXCEEDED` when a model of `bytes` bytes is larger than `maxModelBytes`. */
export function checkModelBytes(what: string, bytes: number, options: { readonly maxModelBytes?: number }): void {
  const limit = limitOption(options, 'maxModelBytes');
  if (bytes > limit) {
    throw new QuantError(
      'LIMIT_EXCEEDED',
      `${what} is ${bytes} bytes, more than maxModelBytes = ${limit}${powerOfTwo(limit)}; pass a larger maxModelBytes if the model is trusted and memory allows.`,
    );
  }
}

const DATA_TYPES: Readonly<Record<number, OnnxDataType>> = {
  1: 'float',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  9: 'bool',
  10: 'float16',
  11: 'double',
  12: 'uint32',
  13: 'uint64',
};
const DATA_TYPE_CODES: Readonly<Record<OnnxDataType, number>> = Object.fromEntries(
  Object.entries(DATA_TYPES).map(([k, v]) => [v, Number(k)]),
) as Record<OnnxDataType, number>;
const BYTES: Readonly<Record<OnnxDataType, number>> = {
  float: 4,
  uint8: 1,
  int8: 1,
  uint16: 2,
  int16: 2,
  int32: 4,
  int64: 8,
  bool: 1,
  float16: 2,
  double: 8,
  uint32: 4,
  uint64: 8,
};
const ATTR_TYPES: Readonly<Record<number, OnnxAttributeType>> = {
  1: 'float',
  2: 'int',
  3: 'string',
  4: 'tensor',
  5: 'graph',
  6: 'floats',
  7: 'ints',
  8: 'strings',
  9: 'tensors',
  10: 'graphs',
};
const ATTR_CODES: Readonly<Record<OnnxAttributeType, number>> = Object.fromEntries(
  Object.entries(ATTR_TYPES).map(([k, v]) => [v, Number(k)]),
) as Record<OnnxAttributeType, number>;

/** The ONNX name of a data type code, or undefined for types quint does not read (string, complex, bfloat16). */
export function dataTypeName(code: number): OnnxDataType | undefined {
  return DATA_TYPES[code];
}

/** The onnx.proto code of a data type. */
export function dataTypeCode(t: OnnxDataType): number {
  return DATA_TYPE_CODES[t];
}

let modelType: protobuf.Type | undefined;
// Built on first use: no work at import time (package.json "sideEffects": false).
function getModelType(): protobuf.Type {
  modelType ??= protobuf.Root.fromJSON(ONNX_SCHEMA as unknown as protobuf.INamespace).lookupType('onnx.ModelProto');
  return modelType;
}

type Raw = Record<string, unknown>;
type LongLike = number | { low: number; high: number; unsigned?: boolean };

function toBigInt(v: LongLike | string, unsigned = false): bigint {
  if (typeof v === 'number') return BigInt(v);
  if (typeof v === 'string') return BigInt(v);
  const b = (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
  return unsigned ? b : BigInt.asIntN(64, b);
}

function toNumber(v: unknown, what: string): number {
  if (v === undefined || v === null) return 0;
  const b = toBigInt(v as LongLike);
  if (b > BigInt(Number.MAX_SAFE_INTEGER) || b < BigInt(Number.MIN_SAFE_INTEGER)) {
    // ONNX writes INT64_MAX for "to the end" in Slice; keep such values as ±Infinity-safe numbers.
    return Number(b);
  }
  if (!Number.isFinite(Number(b))) throw new QuantError('BAD_ONNX', `${what}: integer ${String(b)} is out of range.`);
  return Number(b);
}

const utf8 = new TextDecoder('utf-8', { fatal: false });
const utf8Encoder = new TextEncoder();
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function str(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) return utf8.decode(v);
  return '';
}

function bytesToTyped(t: OnnxDataType, bytes: Uint8Array, count: number): OnnxTensorData {
  // Copy into an aligned buffer; then read little-endian (a DataView on big-endian hosts).
  // (Node's protobufjs hands out Buffers, whose slice() is a view into a shared pool: copy explicitly.)
  const copy = new Uint8Array(count * BYTES[t]);
  copy.set(bytes.subarray(0, count * BYTES[t]));
  const buf = copy.buffer;
  if (!LITTLE_ENDIAN && BYTES[t] > 1) {
    const dv = new DataView(buf);
    const out = allocTyped(t, count);
    for (let i = 0; i < count; i++) {
      const o = i * BYTES[t];
      switch (t) {
        case 'float':
          (out as Float32Array)[i] = dv.getFloat32(o, true);
          break;
        case 'double':
          (out as Float64Array)[i] = dv.getFloat64(o, true);
          break;
        case 'int64':
          (out as BigInt64Array)[i] = dv.getBigInt64(o, true);
          break;
        case 'uint64':
          (out as BigUint64Array)[i] = dv.getBigUint64(o, true);
          break;
        case 'int32':
          (out as Int32Array)[i] = dv.getInt32(o, true);
          break;
        case 'uint32':
          (out as Uint32Array)[i] = dv.getUint32(o, true);
          break;
        case 'int16':
          (out as Int16Array)[i] = dv.getInt16(o, true);
          break;
        default:
          (out as Uint16Array)[i] = dv.getUint16(o, true);
      }
    }
    return out;
  }
  return viewTyped(t, buf);
}

function viewTyped(t: OnnxDataType, buf: ArrayBuffer): OnnxTensorData {
  switch (t) {
    case 'float':
      return new Float32Array(buf);
    case 'uint8':
    case 'bool':
      return new Uint8Array(buf);
    case 'int8':
      return new Int8Array(buf);
    case 'uint16':
    case 'float16':
      return new Uint16Array(buf);
    case 'int16':
      return new Int16Array(buf);
    case 'int32':
      return new Int32Array(buf);
    case 'int64':
      return new BigInt64Array(buf);
    case 'double':
      return new Float64Array(buf);
    case 'uint32':
      return new Uint32Array(buf);
    case 'uint64':
      return new BigUint64Array(buf);
  }
}

/** An empty typed array of `count` elements for `t`. */
export function allocTyped(t: OnnxDataType, count: number): OnnxTensorData {
  return viewTyped(t, new ArrayBuffer(count * BYTES[t]));
}

function shapeNumel(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

function decodeTensor(raw: Raw, where: string, opts: DecodeModelOptions, external: { bytes: number }): OnnxTensor {
  const name = str(raw['name']);
  const label = `${where} '${name}'`;
  const code = Number(raw['data_type'] ?? 0);
  const dataType = DATA_TYPES[code];
  if (dataType === undefined) {
    throw new QuantError(
      'BAD_ONNX',
      `${label} has data type ${code} (${['UNDEFINED', '', '', '', '', '', '', '', 'STRING'][code] ?? 'unsupported'}); quint reads float, float16, double, (u)int8/16/32/64 and bool tensors.`,
    );
  }
  const dims = ((raw['dims'] as unknown[] | undefined) ?? []).map((d) => toNumber(d, label));
  if (dims.some((d) => !Number.isInteger(d) || d < 0 || d > 2 ** 31)) {
    throw new QuantError(
      'BAD_ONNX',
      `${label} has dims [${dims.join(', ')}]; dimensions must be integers in [0, 2^31].`,
    );
  }
  checkTensorElements(label, dims, opts);
  const n = shapeNumel(dims);
  let data: OnnxTensorData;
  const sizeError = (have: number, from: string) =>
    new QuantError(
      'BAD_ONNX',
      `${label} has ${have} ${dataType} elements in ${from} but dims [${dims.join(', ')}] need ${n}; re-export the model (the initializer is truncated or its dims are wrong).`,
    );
  if (Number(raw['data_location'] ?? 0) === 1) {
    const entries = Object.fromEntries(
      ((raw['external_data'] as Raw[] | undefined) ?? []).map((e) => [str(e['key']), str(e['value'])]),
    );
    const location = entries['location'];
    if (location === undefined || location === '')
      throw new QuantError(
        'BAD_ONNX',
        `${label} is stored externally but has no 'location' entry in external_data; re-save the model with its external data.`,
      );
    if (opts.externalData === undefined) {
      throw new QuantError(
        'BAD_ONNX',
        `${label} is stored in the external file '${location}'; load the model from its path (Node) or pass options.externalData to read that file.`,
      );
    }
    let file: Uint8Array;
    try {
      file = opts.externalData(location);
    } catch (e) {
      throw new QuantError(
        'IO_ERROR',
        `${label}: reading external data '${location}' failed (${e instanceof Error ? e.message : String(e)}); put the file next to the model.`,
        { cause: e },
      );
    }
    const offset = Number(entries['offset'] ?? 0);
    const length = entries['length'] === undefined ? n * BYTES[dataType] : Number(entries['length']);
    if (!(
      Number.isInteger(offset) &&
      offset >= 0 &&
      Number.isInteger(length) &&
      length >= 0 &&
      offset + length <= file.length
    )) {
      throw new QuantError(
        'BAD_ONNX',
        `${label}: external data '${location}' at offset ${entries['offset'] ?? 0}, length ${entries['length'] ?? '(from dims)'} lies outside the file (${file.length} bytes); re-save the model with its external data.`,
      );
    }
    if (length !== n * BYTES[dataType])
      throw sizeError(Math.floor(length / BYTES[dataType]), `external data '${location}'`);
    external.bytes += length;
    checkModelBytes(`the model with its external data (at ${label})`, external.bytes, opts);
    data = bytesToTyped(dataType, file.subarray(offset, offset + length), n);
  } else if (raw['raw_data'] instanceof Uint8Array && (raw['raw_data'] as Uint8Array).length > 0) {
    const bytes = raw['raw_data'] as Uint8Array;
    if (bytes.length !== n * BYTES[dataType]) throw sizeError(Math.floor(bytes.length / BYTES[dataType]), 'raw_data');
    data = bytesToTyped(dataType, bytes, n);
  } else {
    data = allocTyped(dataType, n);
    const from = (field: string): unknown[] => (raw[field] as unknown[] | undefined) ?? [];
    let field: string;
    switch (dataType) {
      case 'float':
        field = 'float_data';
        break;
      case 'double':
        field = 'double_data';
        break;
      case 'int64':
        field = 'int64_data';
        break;
      case 'uint32':
      case 'uint64':
        field = 'uint64_data';
        break;
      default:
        field = 'int32_data';
    }
    const src = from(field);
    if (src.length !== n) throw sizeError(src.length, field);
    if (dataType === 'int64' || dataType === 'uint64') {
      const d = data as BigInt64Array | BigUint64Array;
      for (let i = 0; i < n; i++) d[i] = toBigInt(src[i] as LongLike, dataType === 'uint64');
    } else if (dataType === 'uint32') {
      const d = data as Uint32Array;
      for (let i = 0; i < n; i++) d[i] = Number(toBigInt(src[i] as LongLike, true));
    } else {
      const d = data as Exclude<OnnxTensorData, BigInt64Array | BigUint64Array>;
      for (let i = 0; i < n; i++) d[i] = src[i] as number;
    }
  }
  return { name, dataType, dims, data };
}

function decodeValueInfo(raw: Raw): OnnxValueInfo {
  const type = raw['type'] as Raw | undefined;
  const tt = type?.['tensor_type'] as Raw | undefined;
  const elem = tt?.['elem_type'];
  const shapeRaw = tt?.['shape'] as Raw | undefined;
  const shape =
    shapeRaw === undefined
      ? null
      : ((shapeRaw['dim'] as Raw[] | undefined) ?? []).map((d) => {
          if (d['dim_value'] !== undefined && d['dim_value'] !== null) return toNumber(d['dim_value'], 'dim_value');
          if (typeof d['dim_param'] === 'string' && d['dim_param'] !== '') return d['dim_param'];
          return null;
        });
  return { name: str(raw['name']), elemType: elem === undefined ? undefined : DATA_TYPES[Number(elem)], shape };
}

function decodeAttribute(raw: Raw, node: string, opts: DecodeModelOptions, external: { bytes: number }): OnnxAttribute {
  const name = str(raw['name']);
  let code = Number(raw['type'] ?? 0);
  if (code === 0) {
    // Pre-IR-3 files omit `type`: infer it from the field that is set.
    if (raw['f'] !== undefined && raw['f'] !== 0) code = 1;
    else if (raw['i'] !== undefined) code = 2;
    else if (raw['s'] !== undefined) code = 3;
    else if (raw['t'] !== undefined) code = 4;
    else if ((raw['floats'] as unknown[] | undefined)?.length) code = 6;
    else if ((raw['ints'] as unknown[] | undefined)?.length) code = 7;
    else code = 1;
  }
  const where = `node '${node}' attribute '${name}'`;
  switch (ATTR_TYPES[code]) {
    case 'float':
      return { type: 'float', value: Number(raw['f'] ?? 0) };
    case 'int':
      return { type: 'int', value: toNumber(raw['i'], where) };
    case 'string':
      return { type: 'string', value: str(raw['s']) };
    case 'tensor':
      return {
        type: 'tensor',
        value: decodeTensor((raw['t'] as Raw | undefined) ?? {}, `${where} tensor`, opts, external),
      };
    case 'graph':
      return { type: 'graph', value: decodeGraph((raw['g'] as Raw | undefined) ?? {}, opts, external) };
    case 'floats':
      return { type: 'floats', value: ((raw['floats'] as number[] | undefined) ?? []).map(Number) };
    case 'ints':
      return { type: 'ints', value: ((raw['ints'] as unknown[] | undefined) ?? []).map((v) => toNumber(v, where)) };
    case 'strings':
      return { type: 'strings', value: ((raw['strings'] as unknown[] | undefined) ?? []).map(str) };
    case 'tensors':
      return {
        type: 'tensors',
        value: ((raw['tensors'] as Raw[] | undefined) ?? []).map((t) =>
          decodeTensor(t, `${where} tensor`, opts, external),
        ),
      };
    case 'graphs':
      return {
        type: 'graphs',
        value: ((raw['graphs'] as Raw[] | undefined) ?? []).map((g) => decodeGraph(g, opts, external)),
      };
    default:
      throw new QuantError(
        'BAD_ONNX',
        `${where} has attribute type ${code}, which quint does not read (sparse tensors, type protos); remove the attribute or re-export the model.`,
      );
  }
}

function decodeGraph(raw: Raw, opts: DecodeModelOptions, external: { bytes: number }): OnnxGraph {
  const list = (k: string): Raw[] => (raw[k] as Raw[] | undefined) ?? [];
  return {
    name: str(raw['name']),
    nodes: list('node').map((n, i) => {
      const name = str(n['name']);
      const label = name === '' ? `#${i} (${str(n['op_type'])})` : name;
      const attributes: Record<string, OnnxAttribute> = {};
      for (const a of (n['attribute'] as Raw[] | undefined) ?? [])
        attributes[str(a['name'])] = decodeAttribute(a, label, opts, external);
      return {
        name,
        opType: str(n['op_type']),
        domain: str(n['domain']),
        inputs: ((n['input'] as unknown[] | undefined) ?? []).map(str),
        outputs: ((n['output'] as unknown[] | undefined) ?? []).map(str),
        attributes,
      };
    }),
    initializers: list('initializer').map((t) => decodeTensor(t, 'initializer', opts, external)),
    inputs: list('input').map(decodeValueInfo),
    outputs: list('output').map(decodeValueInfo),
    valueInfo: list('value_info').map(decodeValueInfo),
  };
}

/**
 * Parses ONNX bytes (a serialized `ModelProto`) with protobufjs and the official onnx.proto schema.
 * Initializers become typed arrays; tensors with `data_location: EXTERNAL` are read through
 * `options.externalData` (no file access here, so this runs in the browser).
 *
 * @throws QuantError `BAD_ONNX` for bytes that are not an ONNX model (truncated, another format, no
 *   graph or opset), naming what is wrong; `BAD_ONNX` for an initializer whose element count does not
 *   match its dims; `IO_ERROR` when the external-data resolver fails; `LIMIT_EXCEEDED` for a model
 *   larger than `options.maxModelBytes` (default 2 GiB, with its external data) or a tensor of more
 *   than `options.maxTensorElements` (default 2^28), checked before decoding or allocating.
 * @example
 * const model = decodeModel(new Uint8Array(await (await fetch('model.onnx')).arrayBuffer()));
 * model.graph.nodes.map((n) => n.opType); // ['Conv', 'Relu', …]
 * @see https://github.com/onnx/onnx/blob/v1.12.0/onnx/onnx.proto
 */
export function decodeModel(bytes: Uint8Array, options: DecodeModelOptions = {}): OnnxModel {
  if (!(bytes instanceof Uint8Array)) {
    throw new QuantError(
      'BAD_ONNX',
      `decodeModel: expected the model's bytes as a Uint8Array, got ${Object.prototype.toString.call(bytes)}; read the file into a Uint8Array.`,
    );
  }
  if (bytes.length === 0)
    throw new QuantError('BAD_ONNX', 'decodeModel: the model is empty (0 bytes); pass the bytes of an .onnx file.');
  checkModelBytes('decodeModel: the model', bytes.length, options);
  limitOption(options, 'maxTensorElements');
  let raw: Raw;
  try {
    const type = getModelType();
    raw = type.toObject(type.decode(bytes), { defaults: false, arrays: true }) as Raw;
  } catch (e) {
    throw new QuantError(
      'BAD_ONNX',
      `decodeModel: the ${bytes.length} bytes are not a valid ONNX protobuf (${e instanceof Error ? e.message : String(e)}); the file is truncated or not an .onnx model.`,
      { cause: e },
    );
  }
  const graph = raw['graph'] as Raw | undefined;
  const opsets = ((raw['opset_import'] as Raw[] | undefined) ?? []).map((o) => ({
    domain: str(o['domain']),
    version: toNumber(o['version'], 'opset_import'),
  }));
  if (graph === undefined || raw['ir_version'] === undefined || opsets.length === 0) {
    const missing = [
      graph === undefined && 'graph',
      raw['ir_version'] === undefined && 'ir_version',
      opsets.length === 0 && 'opset_import',
    ]
      .filter(Boolean)
      .join(', ');
    throw new QuantError(
      'BAD_ONNX',
      `decodeModel: the ${bytes.length} bytes parse as protobuf but have no ${missing}; this is not an ONNX model (or it is truncated).`,
    );
  }
  const metadataProps: Record<string, string> = {};
  for (const e of (raw['metadata_props'] as Raw[] | undefined) ?? []) metadataProps[str(e['key'])] = str(e['value']);
  return {
    irVersion: toNumber(raw['ir_version'], 'ir_version'),
    opsetImport: opsets,
    producerName: str(raw['producer_name']),
    producerVersion: str(raw['producer_version']),
    domain: str(raw['domain']),
    modelVersion: toNumber(raw['model_version'], 'model_version'),
    docString: str(raw['doc_string']),
    graph: decodeGraph(graph, options, { bytes: bytes.length }),
    metadataProps,
  };
}

/** The external-data tensors of a model (their `location` names), without decoding anything else. */
export function externalDataLocations(bytes: Uint8Array): string[] {
  const seen = new Set<string>();
  try {
    const type = getModelType();
    const raw = type.toObject(type.decode(bytes), { arrays: true }) as Raw;
    const visit = (g: Raw | undefined): void => {
      for (const t of (g?.['initializer'] as Raw[] | undefined) ?? []) {
        if (Number(t['data_location'] ?? 0) !== 1) continue;
        for (const e of (t['external_data'] as Raw[] | undefined) ?? [])
          if (str(e['key']) === 'location') seen.add(str(e['value']));
      }
    };
    visit(raw['graph'] as Raw | undefined);
  } catch {
    // decodeModel reports malformed bytes with a proper message.
  }
  return [...seen];
}

function typedToBytes(t: OnnxTensor): Uint8Array {
  const d = t.data;
  if (LITTLE_ENDIAN || BYTES[t.dataType] === 1) return new Uint8Array(d.buffer, d.byteOffset, d.byteLength).slice();
  const out = new Uint8Array(d.length * BYTES[t.dataType]);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < d.length; i++) {
    const o = i * BYTES[t.dataType];
    switch (t.dataType) {
      case 'float':
        dv.setFloat32(o, (d as Float32Array)[i]!, true);
        break;
      case 'double':
        dv.setFloat64(o, (d as Float64Array)[i]!, true);
        break;
      case 'int64':
        dv.setBigInt64(o, (d as BigInt64Array)[i]!, true);
        break;
      case 'uint64':
        dv.setBigUint64(o, (d as BigUint64Array)[i]!, true);
        break;
      case 'int32':
        dv.setInt32(o, (d as Int32Array)[i]!, true);
        break;
      case 'uint32':
        dv.setUint32(o, (d as Uint32Array)[i]!, true);
        break;
      case 'int16':
        dv.setInt16(o, (d as Int16Array)[i]!, true);
        break;
      default:
        dv.setUint16(o, (d as Uint16Array)[i]!, true);
    }
  }
  return out;
}

function encodeTensor(t: OnnxTensor): Raw {
  return { name: t.name, data_type: DATA_TYPE_CODES[t.dataType], dims: t.dims, raw_data: typedToBytes(t) };
}

function encodeValueInfo(v: OnnxValueInfo): Raw {
  const tensorType: Raw = { elem_type: DATA_TYPE_CODES[v.elemType ?? 'float'] };
  if (v.shape !== null) {
    tensorType['shape'] = {
      dim: v.shape.map((d) =>
        typeof d === 'number' ? { dim_value: d } : typeof d === 'string' ? { dim_param: d } : {},
      ),
    };
  }
  return { name: v.name, type: { tensor_type: tensorType } };
}

function encodeAttribute(name: string, a: OnnxAttribute): Raw {
  const r: Raw = { name, type: ATTR_CODES[a.type] };
  switch (a.type) {
    case 'float':
      r['f'] = a.value;
      break;
    case 'int':
      r['i'] = a.value;
      break;
    case 'string':
      r['s'] = utf8Encoder.encode(a.value);
      break;
    case 'tensor':
      r['t'] = encodeTensor(a.value);
      break;
    case 'graph':
      r['g'] = encodeGraph(a.value);
      break;
    case 'floats':
      r['floats'] = a.value;
      break;
    case 'ints':
      r['ints'] = a.value;
      break;
    case 'strings':
      r['strings'] = a.value.map((s) => utf8Encoder.encode(s));
      break;
    case 'tensors':
      r['tensors'] = a.value.map(encodeTensor);
      break;
    case 'graphs':
      r['graphs'] = a.value.map(encodeGraph);
      break;
  }
  return r;
}

function encodeGraph(g: OnnxGraph): Raw {
  return {
    name: g.name,
    node: g.nodes.map((n) => ({
      name: n.name,
      op_type: n.opType,
      ...(n.domain === '' ? {} : { domain: n.domain }),
      input: n.inputs,
      output: n.outputs,
      attribute: Object.entries(n.attributes).map(([k, a]) => encodeAttribute(k, a)),
    })),
    initializer: g.initializers.map(encodeTensor),
    input: g.inputs.map(encodeValueInfo),
    output: g.outputs.map(encodeValueInfo),
    value_info: g.valueInfo.map(encodeValueInfo),
  };
}

/**
 * Serializes a model to ONNX bytes (tensors as little-endian `raw_data`).
 *
 * @throws QuantError `BAD_ONNX` when the object does not fit onnx.proto.
 * @example
 * const bytes = encodeModel(decodeModel(input)); // a byte-level round trip of the content
 * @see https://github.com/onnx/onnx/blob/v1.12.0/onnx/onnx.proto
 */
export function encodeModel(model: OnnxModel): Uint8Array {
  const obj: Raw = {
    ir_version: model.irVersion,
    opset_import: model.opsetImport.map((o) =>
      o.domain === '' ? { version: o.version } : { domain: o.domain, version: o.version },
    ),
    producer_name: model.producerName,
    producer_version: model.producerVersion,
    domain: model.domain,
    model_version: model.modelVersion,
    doc_string: model.docString,
    graph: encodeGraph(model.graph),
    metadata_props: Object.entries(model.metadataProps).map(([key, value]) => ({ key, value })),
  };
  try {
    const type = getModelType();
    return type.encode(type.fromObject(obj)).finish();
  } catch (e) {
    throw new QuantError(
      'BAD_ONNX',
      `encodeModel: the model does not fit onnx.proto (${e instanceof Error ? e.message : String(e)}); check node attributes and tensors.`,
      { cause: e },
    );
  }
}

/**
 * The elements of a tensor as float32 (float16 bits are widened; integers converted).
 *
 * @example
 * tensorToFloat32(model.graph.initializers[0]!);
 */
export function tensorToFloat32(t: OnnxTensor): Float32Array {
  if (t.dataType === 'float') return t.data as Float32Array;
  if (t.dataType === 'float16') return Float32Array.from(t.data as Uint16Array, halfToFloat);
  const out = new Float32Array(t.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Number(t.data[i]);
  return out;
}

/**
 * The elements of an integer tensor as JS numbers (int64 beyond 2^53 lose precision; used for
 * shapes, axes and indices).
 *
 * @example
 * tensorToNumbers(shapeInitializer); // [1, -1]
 */
export function tensorToNumbers(t: OnnxTensor): number[] {
  return Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v));
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f === 0 ? s * Infinity : NaN;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}
