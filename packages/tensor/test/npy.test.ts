import { readFileSync } from 'node:fs';
import { fc, test as fcTest } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import { Tensor, isQuantError, npyToTensor, readNpy, readNpyHeader, writeNpy } from '../src/index.js';
import type { NpyArray } from '../src/index.js';

// Files written by numpy itself (tools/goldens/tensor_ops.py).
const file = (name: string): Uint8Array =>
  new Uint8Array(readFileSync(new URL(`./goldens/npy/${name}`, import.meta.url)));
const meta = JSON.parse(readFileSync(new URL('./goldens/npy/README.json', import.meta.url), 'utf8')) as {
  f32_2x3x4: number[];
};

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (isQuantError(e)) return e.code;
    throw e;
  }
  return 'no error';
}

describe('readNpy on numpy-written files', () => {
  test('float32 [2, 3, 4]', () => {
    const a = readNpy(file('f32_2x3x4.npy'));
    expect(a.dtype).toBe('float32');
    expect(a.shape).toEqual([2, 3, 4]);
    expect(Array.from(a.data as Float32Array)).toEqual(meta.f32_2x3x4);
  });
  test('float64, int8, uint8, int32, int64', () => {
    const f64 = readNpy(file('f64_3x2.npy'));
    expect([f64.dtype, f64.shape]).toEqual(['float64', [3, 2]]);
    expect(Array.from(f64.data as Float64Array)).toEqual([0.1, -2.5, 1e-40, 3.4028235677973366e38, Math.PI, 1 / 3]);
    expect(Array.from(readNpy(file('i8_5.npy')).data as Int8Array)).toEqual([-128, -1, 0, 1, 127]);
    const u8 = readNpy(file('u8_2x2.npy'));
    expect([u8.dtype, u8.shape, Array.from(u8.data as Uint8Array)]).toEqual(['uint8', [2, 2], [0, 1, 128, 255]]);
    expect(Array.from(readNpy(file('i32_4.npy')).data as Int32Array)).toEqual([-(2 ** 31), -1, 0, 2 ** 31 - 1]);
    expect(Array.from(readNpy(file('i64_3.npy')).data as BigInt64Array)).toEqual([-(2n ** 53n), 0n, 2n ** 53n]);
  });
  test('0-d and empty arrays', () => {
    const s = readNpy(file('f32_scalar.npy'));
    expect([s.shape, Array.from(s.data as Float32Array)]).toEqual([[], [1.5]]);
    const e = readNpy(file('f32_empty_0x3.npy'));
    expect([e.shape, e.data.length]).toEqual([[0, 3], 0]);
  });
  test('Fortran order, big-endian and object arrays are BAD_NPY; float16 is BAD_DTYPE', () => {
    expect(codeOf(() => readNpy(file('f32_fortran.npy')))).toBe('BAD_NPY');
    expect(codeOf(() => readNpy(file('f32_bigendian.npy')))).toBe('BAD_NPY');
    expect(codeOf(() => readNpy(file('object.npy')))).toBe('BAD_NPY');
    expect(codeOf(() => readNpy(file('f16.npy')))).toBe('BAD_DTYPE');
    expect(() => readNpy(file('f32_fortran.npy'))).toThrow(/Fortran order.*ascontiguousarray/);
  });
});

describe('writeNpy', () => {
  test('writes the bytes numpy writes (header padded to 64, data little-endian)', () => {
    const orig = file('f32_2x3x4.npy');
    const a = readNpy(orig);
    expect(writeNpy(a)).toEqual(orig);
    expect(writeNpy(readNpy(file('i64_3.npy')))).toEqual(file('i64_3.npy'));
    expect(writeNpy(readNpy(file('f32_scalar.npy')))).toEqual(file('f32_scalar.npy'));
    expect(writeNpy(readNpy(file('u8_2x2.npy')))).toEqual(file('u8_2x2.npy'));
  });
  test('round-trips every dtype', () => {
    const arrays: NpyArray[] = [
      { dtype: 'float32', shape: [2, 2], data: new Float32Array([1.5, -0, NaN, Infinity]) },
      { dtype: 'float64', shape: [3], data: new Float64Array([0.1, -1e300, 5e-324]) },
      { dtype: 'int8', shape: [1, 3], data: new Int8Array([-128, 0, 127]) },
      { dtype: 'uint8', shape: [0], data: new Uint8Array([]) },
      { dtype: 'int32', shape: [2], data: new Int32Array([-7, 2147483647]) },
      { dtype: 'int64', shape: [1], data: new BigInt64Array([-9007199254740993n]) },
    ];
    for (const a of arrays) {
      const back = readNpy(writeNpy(a));
      expect(back.dtype).toBe(a.dtype);
      expect(back.shape).toEqual(a.shape);
      expect(new Uint8Array(back.data.buffer)).toEqual(new Uint8Array(a.data.buffer));
    }
  });
  test('a Tensor (also a non-contiguous view) is written in C order as float32', () => {
    const t = Tensor.fromArray([1, 2, 3, 4, 5, 6], [2, 3]).permute([1, 0]);
    const back = npyToTensor(writeNpy(t));
    expect(back.shape).toEqual([3, 2]);
    expect(back.toArray()).toEqual([1, 4, 2, 5, 3, 6]);
  });
  test('rejects data that does not fit the shape or dtype', () => {
    expect(codeOf(() => writeNpy({ dtype: 'float32', shape: [3], data: new Float32Array(2) }))).toBe('SHAPE_MISMATCH');
    expect(codeOf(() => writeNpy({ dtype: 'int8', shape: [2], data: new Uint8Array(2) }))).toBe('DTYPE_MISMATCH');
  });
});

describe('npyToTensor', () => {
  test('float32 as is; float64 rounded to float32', () => {
    expect(npyToTensor(file('f32_2x3x4.npy')).toArray()).toEqual(meta.f32_2x3x4);
    const t = npyToTensor(file('f64_3x2.npy'));
    expect(t.shape).toEqual([3, 2]);
    expect(t.toArray()).toEqual([0.1, -2.5, 1e-40, 3.4028235677973366e38, Math.PI, 1 / 3].map(Math.fround));
  });
  test('integer dtypes are BAD_DTYPE', () => {
    for (const f of ['i8_5.npy', 'u8_2x2.npy', 'i32_4.npy', 'i64_3.npy'])
      expect(codeOf(() => npyToTensor(file(f)))).toBe('BAD_DTYPE');
  });
  // A Node Buffer from readFileSync is a view into a shared pool, and Buffer#slice returns a view
  // too: reading must copy exactly the data bytes, whatever the view's offset and its buffer's size.
  test('a Uint8Array view at an offset into a larger ArrayBuffer (plain and Node Buffer)', () => {
    const bytes = file('f32_2x3x4.npy');
    const pool = new ArrayBuffer(8192);
    for (const offset of [3, 1000]) {
      new Uint8Array(pool).fill(0xff);
      new Uint8Array(pool, offset, bytes.length).set(bytes);
      for (const v of [new Uint8Array(pool, offset, bytes.length), Buffer.from(pool, offset, bytes.length)]) {
        const a = readNpy(v);
        expect([a.shape, a.data.length, a.data.byteLength]).toEqual([[2, 3, 4], 24, 96]);
        expect(Array.from(a.data as Float32Array)).toEqual(meta.f32_2x3x4);
        expect(npyToTensor(v).toArray()).toEqual(meta.f32_2x3x4);
      }
    }
  });
});

describe('readNpyHeader and corrupt files', () => {
  test('reads the header from a prefix of the file', () => {
    const bytes = file('f32_2x3x4.npy');
    const h = readNpyHeader(bytes.subarray(0, 128));
    expect(h).toEqual({ dtype: 'float32', shape: [2, 3, 4], dataOffset: 128, itemSize: 4, dataLength: 96 });
  });
  test('bad magic, truncated header, truncated data, extra bytes, bad version, bad shape', () => {
    const ok = file('f32_2x3x4.npy');
    const bad = ok.slice();
    bad[1] = 0;
    expect(codeOf(() => readNpy(bad))).toBe('BAD_NPY');
    expect(codeOf(() => readNpy(ok.subarray(0, 50)))).toBe('BAD_NPY');
    expect(codeOf(() => readNpy(ok.subarray(0, ok.length - 1)))).toBe('BAD_NPY');
    expect(() => readNpy(ok.subarray(0, ok.length - 4))).toThrow(
      /data is 92 bytes but shape \(2, 3, 4\) of float32 needs 96; the file is truncated/,
    );
    const longer = new Uint8Array(ok.length + 4);
    longer.set(ok);
    expect(codeOf(() => readNpy(longer))).toBe('BAD_NPY');
    const v9 = ok.slice();
    v9[6] = 9;
    expect(codeOf(() => readNpy(v9))).toBe('BAD_NPY');
    const text = new TextDecoder('latin1').decode(ok.subarray(0, 128)).replace('(2, 3, 4)', '(2, -3, 4)');
    const negShape = Uint8Array.from([...text].map((ch) => ch.charCodeAt(0)));
    expect(codeOf(() => readNpyHeader(negShape))).toBe('BAD_NPY');
  });
  fcTest.prop([fc.uint8Array({ maxLength: 300 })])('random bytes: a QuantError, never another exception', (bytes) => {
    try {
      readNpy(bytes);
    } catch (e) {
      expect(isQuantError(e)).toBe(true);
    }
  });
  fcTest.prop([fc.integer({ min: 0, max: 220 }), fc.integer({ min: 0, max: 219 }), fc.integer({ min: 0, max: 255 })])(
    'truncated or byte-flipped numpy files: a valid result or a QuantError',
    (cut, at, value) => {
      const bytes = file('f32_2x3x4.npy').slice(0, cut + 4);
      if (at < bytes.length) bytes[at] = value;
      try {
        const a = readNpy(bytes);
        expect(a.data.length).toBe(a.shape.reduce((p, d) => p * d, 1));
      } catch (e) {
        expect(isQuantError(e)).toBe(true);
      }
    },
  );
});
