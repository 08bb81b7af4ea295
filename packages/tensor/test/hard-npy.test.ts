// Hard inputs for the .npy reader (issue 12): seeded fuzzing of random bytes, truncations and
// header mutations. Every case ends in a valid array or a QuantError with a code; shapes whose
// element count exceeds `maxTensorElements` are LIMIT_EXCEEDED before anything is allocated.
import { readFileSync } from 'node:fs';
import { fc } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import { isQuantError, npyToTensor, readNpy, readNpyHeader, writeNpy } from '../src/index.js';

const file = (name: string): Uint8Array =>
  new Uint8Array(readFileSync(new URL(`./goldens/npy/${name}`, import.meta.url)));

/** A .npy file (format 1.0) with this header text and `dataBytes` bytes of data. */
function npyWith(dict: string, dataBytes = 0, major = 1): Uint8Array {
  const pre = major === 1 ? 10 : 12;
  const total = Math.ceil((pre + dict.length + 1) / 64) * 64;
  const header = dict + ' '.repeat(total - pre - dict.length - 1) + '\n';
  const out = new Uint8Array(total + dataBytes);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const hl = header.length;
  out[8] = hl & 0xff;
  out[9] = (hl >> 8) & 0xff;
  if (major !== 1) {
    out[10] = (hl >> 16) & 0xff;
    out[11] = (hl >>> 24) & 0xff;
  }
  for (let k = 0; k < hl; k++) out[pre + k] = header.charCodeAt(k) & 0xff;
  return out;
}

/** 'ok' for a valid result, the QuantError code otherwise; any other exception fails the test. */
function outcome(fn: () => { shape: readonly number[]; data?: ArrayLike<unknown> }): string {
  try {
    const r = fn();
    if (r.data !== undefined) expect(r.data.length).toBe(r.shape.reduce((p, d) => p * d, 1));
    return 'ok';
  } catch (e) {
    if (!isQuantError(e)) throw new Error(`not a QuantError: ${String(e)}`, { cause: e });
    expect(e.message).not.toContain('\n');
    return e.code;
  }
}

const FUZZ = { seed: 12, interruptAfterTimeLimit: 4000 } as const;
const counts: Record<string, number> = {};
const tally = (target: string): void => void (counts[target] = (counts[target] ?? 0) + 1);

describe('fuzz: .npy reader', () => {
  test('random bytes (with and without a valid magic)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.boolean(), (bytes, magic) => {
        tally('random');
        if (magic && bytes.length >= 8) bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
        expect(['ok', 'BAD_NPY', 'BAD_DTYPE', 'LIMIT_EXCEEDED']).toContain(outcome(() => readNpy(bytes)));
      }),
      { ...FUZZ, numRuns: 1500 },
    );
  });

  test('truncations and byte flips of numpy-written files', () => {
    const files = ['f32_2x3x4.npy', 'f64_3x2.npy', 'i64_3.npy', 'f32_scalar.npy', 'f32_empty_0x3.npy'].map(file);
    fc.assert(
      fc.property(
        fc.nat({ max: files.length - 1 }),
        fc.nat({ max: 400 }),
        fc.array(fc.tuple(fc.nat({ max: 400 }), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        (which, cut, flips) => {
          tally('truncate/flip');
          const b = files[which]!.slice(0, cut);
          for (const [at, v] of flips) if (at < b.length) b[at] = v;
          outcome(() => readNpy(b));
          outcome(() => npyToTensor(b));
        },
      ),
      { ...FUZZ, numRuns: 1500 },
    );
  });

  // Header mutations: shapes (huge, negative, overflowing products, non-integers), dtypes,
  // fortran_order, data lengths that do not match, nesting and junk.
  const dim = fc.oneof(
    fc.nat({ max: 6 }),
    fc.constantFrom(-1, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 63, 10 ** 30, 2 ** 28, 2 ** 28 + 1),
    fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
  );
  const dimText = fc.oneof(
    dim.map(String),
    fc.constantFrom("'3'", '3.5', 'True', '1e9', '[]', '()', '0x10', '9'.repeat(400), ''),
  );
  const descr = fc.oneof(
    fc.constantFrom(
      '<f4',
      '<f8',
      '|i1',
      '|u1',
      '<i4',
      '<i8',
      '>f4',
      '<f2',
      '|O',
      '<c8',
      '|b1',
      '<U3',
      '|V4',
      'f4',
      '',
      '<f4\x00',
    ),
    fc.string({ maxLength: 6 }),
  );
  const header = fc.record({
    descr,
    fortran: fc.constantFrom('False', 'True', '0', "'no'"),
    shape: fc.array(dimText, { maxLength: 5 }),
    trailing: fc.constantFrom('', ',', ', }', ' }}', "'extra': 1,"),
  });
  test('mutated headers', () => {
    fc.assert(
      fc.property(header, fc.nat({ max: 256 }), fc.constantFrom(1, 2, 3), (h, data, major) => {
        tally('header');
        const shape = h.shape.length === 1 ? `(${h.shape[0]},)` : `(${h.shape.join(', ')})`;
        const dict = `{'descr': '${h.descr}', 'fortran_order': ${h.fortran}, 'shape': ${shape}, ${h.trailing}}`;
        const bytes = npyWith(dict, data, major);
        const got = outcome(() => readNpy(bytes, { maxTensorElements: 1 << 20 }));
        outcome(() => readNpyHeader(bytes));
        outcome(() => npyToTensor(bytes));
        expect(['ok', 'BAD_NPY', 'BAD_DTYPE', 'LIMIT_EXCEEDED']).toContain(got);
      }),
      { ...FUZZ, numRuns: 2000 },
    );
  });

  test('deeply nested header literals are BAD_NPY, not a stack overflow', () => {
    for (const depth of [1000, 30_000, 65_000]) {
      const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': ${'('.repeat(depth)}${')'.repeat(depth)}, }`;
      expect(outcome(() => readNpy(npyWith(dict, 0, 2)))).toBe('BAD_NPY');
    }
  });

  test('fuzz cases run per target', () => {
    // Printed for the closing note of issue 12; every target ran.
    console.info(`hard-npy fuzz cases: ${JSON.stringify(counts)}`);
    for (const t of ['random', 'truncate/flip', 'header']) expect(counts[t]).toBeGreaterThan(100);
  });
});

describe('limits: maxTensorElements', () => {
  const f32 = (shape: string, data = 0): Uint8Array =>
    npyWith(`{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`, data);

  test('a shape whose product wraps 2^32 or 2^64 is LIMIT_EXCEEDED before allocation', () => {
    for (const shape of [
      '(2147483648, 2147483648)',
      '(4294967296, 4294967296, 0)',
      '(4294967297, 4294967295)',
      '(65536, 65536, 65536, 65536)',
    ]) {
      const code = outcome(() => readNpy(f32(shape)));
      // [2^32, 2^32, 0] has no elements: it is only wrong because the data length does not match.
      expect(code).toBe(shape.endsWith(', 0)') ? 'ok' : 'LIMIT_EXCEEDED');
    }
  });

  test('the message names the array, its size, the limit and the option', () => {
    expect(() => readNpy(f32('(16385, 16384)'))).toThrow(
      /^\.npy array of shape \(16385, 16384\) has 268451840 elements, more than maxTensorElements = 268435456 \(2\^28\); pass a larger maxTensorElements/,
    );
    expect(() => npyToTensor(f32('(3, 4)', 48), { maxTensorElements: 11 })).toThrow(
      /12 elements, more than maxTensorElements = 11/,
    );
  });

  test('the default is 2^28 elements; raising the option reads the file', () => {
    const bytes = f32('(3, 4)', 48);
    expect(outcome(() => readNpy(bytes, { maxTensorElements: 12 }))).toBe('ok');
    expect(outcome(() => readNpy(bytes, { maxTensorElements: 11 }))).toBe('LIMIT_EXCEEDED');
    // A 2^28 + 1 element header is refused even though the (tiny) file could never hold it.
    expect(outcome(() => readNpy(f32(`(${2 ** 28 + 1},)`)))).toBe('LIMIT_EXCEEDED');
    expect(outcome(() => readNpy(f32(`(${2 ** 28 + 1},)`), { maxTensorElements: 2 ** 29 }))).toBe('BAD_NPY');
  });

  test('bad option values are INVALID_ARGUMENT', () => {
    for (const v of [0, -1, 1.5, Number.NaN])
      expect(outcome(() => readNpy(f32('(1,)', 4), { maxTensorElements: v }))).toBe('INVALID_ARGUMENT');
  });

  test('round trip under the limit is unchanged', () => {
    const a = {
      dtype: 'float32' as const,
      shape: [2, 2],
      data: new Float32Array([1, -0, Number.NaN, Number.POSITIVE_INFINITY]),
    };
    expect(new Uint8Array(readNpy(writeNpy(a), { maxTensorElements: 4 }).data.buffer)).toEqual(
      new Uint8Array(a.data.buffer),
    );
  });
});
