// NumPy `.npy` read/write over bytes (no `fs`: this package runs in browsers too). Format:
// https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
import { QuantError } from './errors.js';
import { shapeNumel, Tensor } from './tensor.js';

/** The dtypes quint reads and writes, by numpy name. */
export type NpyDtype = 'float32' | 'float64' | 'int8' | 'uint8' | 'int32' | 'int64';

/** The typed array holding each {@link NpyDtype} (int64 as `BigInt64Array`). */
export type NpyData = Float32Array | Float64Array | Int8Array | Uint8Array | Int32Array | BigInt64Array;

/** A C-order array as stored in a `.npy` file. */
export interface NpyArray {
  dtype: NpyDtype;
  shape: number[];
  data: NpyData;
}

/** Options of {@link readNpy} and {@link npyToTensor}. */
export interface NpyReadOptions {
  /**
   * The largest element count read (default 2^28 = 268,435,456: 1 GiB of float32). A header whose
   * shape holds more is `LIMIT_EXCEEDED` before anything is allocated.
   */
  readonly maxTensorElements?: number;
}

/** Default of {@link NpyReadOptions.maxTensorElements}. */
const DEFAULT_MAX_TENSOR_ELEMENTS = 2 ** 28;

function checkElementLimit(shape: readonly number[], options: NpyReadOptions): void {
  const limit = options.maxTensorElements ?? DEFAULT_MAX_TENSOR_ELEMENTS;
  if (!(Number.isSafeInteger(limit) && limit > 0)) {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `maxTensorElements ${limit} is not a positive integer; pass a count such as ${DEFAULT_MAX_TENSOR_ELEMENTS}.`,
    );
  }
  // BigInt: a product of float dims could round, and an int32 product could wrap.
  const n = shape.reduce((p, d) => p * BigInt(d), 1n);
  if (n > BigInt(limit)) {
    const pow = Math.log2(limit);
    throw new QuantError(
      'LIMIT_EXCEEDED',
      `.npy array of shape (${shape.join(', ')}) has ${n} elements, more than maxTensorElements = ${limit}${Number.isInteger(pow) ? ` (2^${pow})` : ''}; pass a larger maxTensorElements if the file is trusted and memory allows.`,
    );
  }
}

/** What {@link readNpyHeader} learns from the first bytes of a `.npy` file. */
export interface NpyHeader {
  dtype: NpyDtype;
  shape: number[];
  /** Byte offset of the first element. */
  dataOffset: number;
  /** Bytes of one element. */
  itemSize: number;
  /** Bytes of all elements (`numel · itemSize`); the file is `dataOffset + dataLength` bytes. */
  dataLength: number;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

const DESCR: Record<string, NpyDtype> = {
  '<f4': 'float32',
  '<f8': 'float64',
  '|i1': 'int8',
  '<i1': 'int8',
  '>i1': 'int8',
  '=i1': 'int8',
  '|u1': 'uint8',
  '<u1': 'uint8',
  '>u1': 'uint8',
  '=u1': 'uint8',
  '<i4': 'int32',
  '<i8': 'int64',
};

const ITEM_SIZE: Record<NpyDtype, number> = { float32: 4, float64: 8, int8: 1, uint8: 1, int32: 4, int64: 8 };
const WRITE_DESCR: Record<NpyDtype, string> = {
  float32: '<f4',
  float64: '<f8',
  int8: '|i1',
  uint8: '|u1',
  int32: '<i4',
  int64: '<i8',
};

function bad(message: string): QuantError {
  return new QuantError('BAD_NPY', message);
}

type PyValue = string | boolean | number | PyValue[] | { [k: string]: PyValue };

/** Parses the Python literal of a `.npy` header: a dict of strings, booleans, ints and tuples. */
function parseHeaderLiteral(src: string): PyValue {
  let i = 0;
  let depth = 0;
  const ws = (): void => {
    while (i < src.length && /\s/.test(src[i]!)) i++;
  };
  const value = (): PyValue => {
    ws();
    const ch = src[i];
    // numpy writes one dict holding one tuple: deeper nesting is hostile, and would overflow the stack.
    if ((ch === '{' || ch === '(' || ch === '[') && ++depth > 8) {
      throw bad(`.npy header: literals nested more than 8 deep at offset ${i}; the header is not numpy's format.`);
    }
    if (ch === '{') {
      i++;
      const obj: Record<string, PyValue> = {};
      for (;;) {
        ws();
        if (src[i] === '}') {
          i++;
          depth--;
          return obj;
        }
        const k = value();
        if (typeof k !== 'string')
          throw bad(`.npy header: dict key ${JSON.stringify(k)} is not a string; the header is not numpy's format.`);
        ws();
        if (src[i] !== ':') throw bad(`.npy header: expected ':' at offset ${i}; the header is corrupt.`);
        i++;
        obj[k] = value();
        ws();
        if (src[i] === ',') i++;
        else if (src[i] !== '}') throw bad(`.npy header: expected ',' or '}' at offset ${i}; the header is corrupt.`);
      }
    }
    if (ch === '(' || ch === '[') {
      const close = ch === '(' ? ')' : ']';
      i++;
      const arr: PyValue[] = [];
      for (;;) {
        ws();
        if (src[i] === close) {
          i++;
          depth--;
          return arr;
        }
        arr.push(value());
        ws();
        if (src[i] === ',') i++;
        else if (src[i] !== close)
          throw bad(`.npy header: expected ',' or '${close}' at offset ${i}; the header is corrupt.`);
      }
    }
    if (ch === "'" || ch === '"') {
      const end = src.indexOf(ch, i + 1);
      if (end < 0) throw bad('.npy header: unterminated string; the header is corrupt.');
      const s = src.slice(i + 1, end);
      i = end + 1;
      return s;
    }
    const m = /^(True|False|-?\d+L?)/.exec(src.slice(i));
    if (m === null)
      throw bad(
        `.npy header: unexpected text ${JSON.stringify(src.slice(i, i + 20))}; the header is not numpy's format.`,
      );
    i += m[0].length;
    if (m[0] === 'True') return true;
    if (m[0] === 'False') return false;
    return Number.parseInt(m[0], 10);
  };
  const v = value();
  ws();
  if (i !== src.length)
    throw bad(`.npy header: trailing text ${JSON.stringify(src.slice(i, i + 20))}; the header is corrupt.`);
  return v;
}

/**
 * Reads the header of a `.npy` file from its first bytes (a prefix of the file is enough), for
 * reading big files in chunks: elements start at `dataOffset`.
 *
 * @throws QuantError `BAD_NPY` for a bad magic, a truncated or corrupt header, Fortran order,
 *   object arrays or big-endian data; `BAD_DTYPE` for dtypes other than {@link NpyDtype}.
 * @example
 * const h = readNpyHeader(firstKilobyte); // { dtype: 'float32', shape: [1000, 3, 32, 32], dataOffset: 128, … }
 * @see https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 */
export function readNpyHeader(bytes: Uint8Array): NpyHeader {
  if (bytes.length < 10 || MAGIC.some((b, k) => bytes[k] !== b)) {
    throw bad(
      `not a .npy file: the first bytes are not \\x93NUMPY (got ${bytes.length} bytes); pass a file written by numpy.save.`,
    );
  }
  const major = bytes[6]!;
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = bytes[8]! | (bytes[9]! << 8);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12)
      throw bad(`truncated .npy file: ${bytes.length} bytes end inside the header length; the file is incomplete.`);
    headerLen = (bytes[8]! | (bytes[9]! << 8) | (bytes[10]! << 16)) + bytes[11]! * 2 ** 24;
    start = 12;
  } else {
    throw bad(`.npy format version ${major}.${bytes[7]} is not supported; save with numpy's default format (1.0).`);
  }
  const dataOffset = start + headerLen;
  if (bytes.length < dataOffset) {
    throw bad(
      `truncated .npy file: the header needs ${dataOffset} bytes, got ${bytes.length}; the file is incomplete.`,
    );
  }
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, dataOffset)).trim();
  const dict = parseHeaderLiteral(text);
  if (typeof dict !== 'object' || Array.isArray(dict))
    throw bad(`.npy header is not a dict: ${text.slice(0, 60)}; the file is corrupt.`);
  const descr = dict['descr'];
  const fortran = dict['fortran_order'];
  const shapeV = dict['shape'];
  if (typeof descr !== 'string' || typeof fortran !== 'boolean' || !Array.isArray(shapeV)) {
    throw bad(`.npy header ${text.slice(0, 80)} lacks descr/fortran_order/shape; the file is corrupt.`);
  }
  if (fortran) {
    throw bad(
      '.npy array is in Fortran order; quint reads C order only: re-save with np.save(path, np.ascontiguousarray(a)).',
    );
  }
  if (descr.includes('O')) {
    throw bad(`.npy array holds Python objects (descr ${descr}); save a numeric array (e.g. a.astype(np.float32)).`);
  }
  const dtype = DESCR[descr];
  if (dtype === undefined) {
    if (descr.startsWith('>') && /^>[fiu][248]$/.test(descr)) {
      throw bad(
        `.npy array is big-endian (descr ${descr}); re-save as little-endian with a.astype(a.dtype.newbyteorder('<')).`,
      );
    }
    throw new QuantError(
      'BAD_DTYPE',
      `.npy dtype ${descr} is not supported; use float32, float64, int8, uint8, int32 or int64.`,
    );
  }
  const shape: number[] = [];
  for (const d of shapeV) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      throw bad(
        `.npy header shape (${shapeV.join(', ')}) has an invalid dimension ${JSON.stringify(d)}; the file is corrupt.`,
      );
    }
    shape.push(d);
  }
  const itemSize = ITEM_SIZE[dtype];
  const dataLength = shapeNumel(shape) * itemSize;
  if (!Number.isSafeInteger(dataLength)) {
    throw new QuantError(
      'LIMIT_EXCEEDED',
      `.npy header shape (${shape.join(', ')}) holds ${shape.reduce((p, d) => p * BigInt(d), 1n)} elements, too many to address; the file is corrupt or not meant for quint.`,
    );
  }
  return { dtype, shape, dataOffset, itemSize, dataLength };
}

function view(dtype: NpyDtype, buf: ArrayBuffer): NpyData {
  switch (dtype) {
    case 'float32':
      return new Float32Array(buf);
    case 'float64':
      return new Float64Array(buf);
    case 'int8':
      return new Int8Array(buf);
    case 'uint8':
      return new Uint8Array(buf);
    case 'int32':
      return new Int32Array(buf);
    case 'int64':
      return new BigInt64Array(buf);
  }
}

/**
 * Reads a whole `.npy` file (C order, little-endian) into a typed array of its dtype.
 *
 * @throws QuantError `BAD_NPY` for a bad magic, truncated data or header, a data length that does
 *   not match the shape, Fortran order, object arrays or big-endian data; `BAD_DTYPE` for other dtypes;
 *   `LIMIT_EXCEEDED` for a shape of more than `options.maxTensorElements` (default 2^28) elements,
 *   checked before allocating.
 * @example
 * const { dtype, shape, data } = readNpy(new Uint8Array(await file.arrayBuffer()));
 * @see https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 */
export function readNpy(bytes: Uint8Array, options: NpyReadOptions = {}): NpyArray {
  const h = readNpyHeader(bytes);
  checkElementLimit(h.shape, options);
  const have = bytes.length - h.dataOffset;
  if (have !== h.dataLength) {
    throw bad(
      `.npy data is ${have} bytes but shape (${h.shape.join(', ')}) of ${h.dtype} needs ${h.dataLength}; the file is ${have < h.dataLength ? 'truncated' : 'corrupt (extra bytes)'}.`,
    );
  }
  // Copy into a fresh ArrayBuffer of exactly the data's length, so the typed array is aligned
  // whatever the offset of `bytes` (the file is little-endian, as every platform quint runs on).
  // Not `bytes.slice(…)`: a Node Buffer's slice is a view whose `.buffer` is the whole pool.
  const copy = new Uint8Array(h.dataLength);
  copy.set(bytes.subarray(h.dataOffset, h.dataOffset + h.dataLength));
  const buf = copy.buffer;
  return { dtype: h.dtype, shape: h.shape, data: view(h.dtype, buf) };
}

function dtypeOf(data: NpyData): NpyDtype {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Int32Array) return 'int32';
  return 'int64';
}

/**
 * Writes a `.npy` file (format 1.0, or 2.0 for a header over 64 KiB) in C order. A {@link Tensor}
 * is written as float32 in C order.
 *
 * @throws QuantError `SHAPE_MISMATCH` when `data` does not hold `shape`'s element count;
 *   `DTYPE_MISMATCH` when `dtype` does not match the typed array.
 * @example
 * const bytes = writeNpy({ dtype: 'int8', shape: [2], data: new Int8Array([-1, 1]) });
 * @see https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 */
export function writeNpy(array: NpyArray | Tensor): Uint8Array {
  const a: NpyArray =
    array instanceof Tensor ? { dtype: 'float32', shape: [...array.shape], data: array.toFloat32Array() } : array;
  if (dtypeOf(a.data) !== a.dtype) {
    throw new QuantError(
      'DTYPE_MISMATCH',
      `writeNpy: dtype '${a.dtype}' but data is a ${a.data.constructor.name}; pass the typed array of that dtype.`,
    );
  }
  const n = shapeNumel(a.shape);
  if (!a.shape.every((d) => Number.isSafeInteger(d) && d >= 0) || a.data.length !== n) {
    throw new QuantError(
      'SHAPE_MISMATCH',
      `writeNpy: shape [${a.shape.join(', ')}] holds ${n} elements, data has ${a.data.length}; pass matching data.`,
    );
  }
  const shapeStr = a.shape.length === 1 ? `(${a.shape[0]},)` : `(${a.shape.join(', ')})`;
  const dict = `{'descr': '${WRITE_DESCR[a.dtype]}', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  // numpy pads the header with spaces and a newline so the data starts on a 64-byte boundary.
  let major = 1;
  let pre = 10;
  if (dict.length + 1 + pre > 65535) {
    major = 2;
    pre = 12;
  }
  const total = Math.ceil((pre + dict.length + 1) / 64) * 64;
  const header = dict + ' '.repeat(total - pre - dict.length - 1) + '\n';
  const dataBytes = new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength);
  const out = new Uint8Array(total + dataBytes.length);
  out.set(MAGIC, 0);
  out[6] = major;
  out[7] = 0;
  const hl = header.length;
  out[8] = hl & 0xff;
  out[9] = (hl >> 8) & 0xff;
  if (major === 2) {
    out[10] = (hl >> 16) & 0xff;
    out[11] = (hl >>> 24) & 0xff;
  }
  for (let k = 0; k < hl; k++) out[pre + k] = header.charCodeAt(k);
  out.set(dataBytes, total);
  return out;
}

/**
 * A float32 {@link Tensor} from `.npy` bytes or a read array: float32 as is, float64 rounded to
 * float32 (as `torch.from_numpy(a).float()`).
 *
 * @throws QuantError `BAD_DTYPE` for integer dtypes; the errors of {@link readNpy} (including
 *   `LIMIT_EXCEEDED` above `options.maxTensorElements`).
 * @example
 * const x = npyToTensor(bytes); // x.shape as saved
 * @see https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 */
export function npyToTensor(source: Uint8Array | NpyArray, options: NpyReadOptions = {}): Tensor {
  const a = source instanceof Uint8Array ? readNpy(source, options) : source;
  if (!(source instanceof Uint8Array)) checkElementLimit(a.shape, options);
  if (a.dtype === 'float32') return new Tensor(a.data as Float32Array, a.shape);
  if (a.dtype === 'float64') return new Tensor(Float32Array.from(a.data as Float64Array), a.shape);
  throw new QuantError(
    'BAD_DTYPE',
    `.npy dtype ${a.dtype} cannot be a float tensor; save the input as float32 (a.astype(np.float32)).`,
  );
}
