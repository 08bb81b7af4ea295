import { fc, test } from '@fast-check/vitest';
import { Tensor } from '@quint/tensor';
import { describe, expect } from 'vitest';
import {
  DTYPE_RANGE,
  fmaf,
  quantizePerChannel,
  quantizePerTensor,
  quantizeVal,
  roundHalfToEven,
  type QDtype,
} from '../src/index.js';

const f32 = Math.fround;
const dtypeArb = fc.constantFrom<QDtype>('quint8', 'qint8', 'qint32');
const scaleArb = fc.float({ min: f32(1e-6), max: f32(1e6), noNaN: true });

/** A dtype with a zero point inside its range (qint32 zero points kept moderate). */
const dtypeZpArb = dtypeArb.chain((dtype) => {
  const [lo, hi] = dtype === 'qint32' ? [-100000, 100000] : DTYPE_RANGE[dtype];
  return fc.record({ dtype: fc.constant(dtype), zeroPoint: fc.integer({ min: lo, max: hi }) });
});

describe('quantize properties', () => {
  test.prop([fc.array(fc.float(), { minLength: 1, maxLength: 64 }), scaleArb, dtypeZpArb])(
    'intRepr() stays within [qmin, qmax] for every float32, NaN and ±Infinity included',
    (xs, scale, { dtype, zeroPoint }) => {
      const q = quantizePerTensor(Tensor.fromArray(xs), scale, zeroPoint, dtype);
      const [qmin, qmax] = DTYPE_RANGE[dtype];
      for (const c of q.intRepr()) {
        expect(c).toBeGreaterThanOrEqual(qmin);
        expect(c).toBeLessThanOrEqual(qmax);
      }
    },
  );

  // The 8-bit dtypes take a faster whole-array path (rounding by adding 1.5·2^52 while
  // |x·inv| < 2^30); it must give quantizeVal's code for every float: ties both ways, the edges of
  // that range, NaN, ±Infinity, ±0 and values past int64.
  const edges = [
    0.5,
    1.5,
    2.5,
    -0.5,
    -1.5,
    -2.5,
    2 ** 30,
    -(2 ** 30),
    f32(2 ** 30 - 64),
    -f32(2 ** 30 - 64),
    2 ** 24 + 2,
    2 ** 63,
    -(2 ** 63),
    1e38,
    Number.NaN,
    Infinity,
    -Infinity,
    0,
    -0,
  ];
  test.prop([
    fc.array(fc.oneof(fc.float(), fc.constantFrom(...edges)), { minLength: 1, maxLength: 64 }),
    fc.oneof(scaleArb, fc.constant(1)),
    dtypeZpArb,
  ])('quantizePerTensor gives quantizeVal for every element', (xs, scale, { dtype, zeroPoint }) => {
    const q = quantizePerTensor(Tensor.fromArray(xs), scale, zeroPoint, dtype);
    expect(Array.from(q.intRepr())).toEqual(xs.map((x) => quantizeVal(x, scale, zeroPoint, dtype)));
  });

  test.prop([
    fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 64 }),
    scaleArb,
    dtypeZpArb,
  ])(
    'round-trip error is at most scale/2 (+ float32 slack) inside the representable range',
    (us, scale, { dtype, zeroPoint }) => {
      const [qmin, qmax] = dtype === 'qint32' ? [-1000000, 1000000] : DTYPE_RANGE[dtype];
      const s = f32(scale);
      // Points spread over [s·(qmin − zp), s·(qmax − zp)], the range the codes can represent.
      const xs = us.map((u) => f32(s * (qmin - zeroPoint + u * (qmax - qmin))));
      const x = Tensor.fromArray(xs);
      const d = quantizePerTensor(x, scale, zeroPoint, dtype).dequantize().data;
      xs.forEach((xi, i) => {
        // Rounding of 1/s, of x·(1/s) and of the dequantized product: a few float32 ulps of |x|.
        const slack = (Math.abs(xi) + Math.abs(d[i]!)) * 2 ** -22;
        expect(Math.abs(d[i]! - xi)).toBeLessThanOrEqual(s / 2 + slack);
      });
    },
  );

  const perChannelCase = fc
    .record({
      shape: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }),
      dtypeZp: dtypeZpArb,
      seed: fc.integer(),
    })
    .chain(({ shape, dtypeZp, seed }) =>
      fc.record({
        shape: fc.constant(shape),
        dtype: fc.constant(dtypeZp.dtype),
        axis: fc.integer({ min: 0, max: shape.length - 1 }),
        seed: fc.constant(seed),
        values: fc.array(fc.float({ noNaN: false }), {
          minLength: shape.reduce((a, b) => a * b, 1),
          maxLength: shape.reduce((a, b) => a * b, 1),
        }),
      }),
    );

  test.prop([
    perChannelCase,
    fc.array(fc.tuple(scaleArb, fc.integer({ min: 0, max: 1000 })), { minLength: 4, maxLength: 4 }),
  ])(
    'quantizePerChannel equals quantizePerTensor applied channel by channel (codes and dequantized floats)',
    ({ shape, dtype, axis, values }, params) => {
      const [lo, hi] = DTYPE_RANGE[dtype];
      const channels = shape[axis]!;
      // Scales drawn as float32 values: then the per-channel double-product dequantize equals the
      // per-tensor float32 one (spec pytorch-semantics §1.4).
      const scales = params.slice(0, channels).map(([s]) => s);
      const zps = params.slice(0, channels).map(([, z]) => (dtype === 'qint32' ? z - 500 : lo + (z % (hi - lo + 1))));
      const x = new Tensor(Float32Array.from(values), shape);
      const pc = quantizePerChannel(x, scales, zps, axis, dtype);
      const pcCodes = pc.intRepr();
      const pcDeq = pc.dequantize().data;
      let inner = 1;
      for (let dd = axis + 1; dd < shape.length; dd++) inner *= shape[dd]!;
      for (let c = 0; c < channels; c++) {
        const pt = quantizePerTensor(x, scales[c]!, zps[c]!, dtype);
        const ptCodes = pt.intRepr();
        const ptDeq = pt.dequantize().data;
        for (let i = 0; i < values.length; i++) {
          if (Math.floor(i / inner) % channels !== c) continue;
          expect(pcCodes[i]).toBe(ptCodes[i]);
          // Per-channel subtracts in float32, per-tensor in int32: they agree while q − zp is exact
          // in float32 (always for 8-bit codes; qint32 codes beyond 2^24 round, as in PyTorch).
          if (Math.abs(pcCodes[i]!) < 2 ** 24) expect(pcDeq[i]).toBe(ptDeq[i]);
        }
      }
    },
  );
});

describe('roundHalfToEven properties', () => {
  test.prop([fc.double({ noNaN: true, noDefaultInfinity: true })])('nearest integer, ties to even', (x) => {
    const r = roundHalfToEven(x);
    expect(Number.isInteger(r)).toBe(true);
    const d = Math.abs(r - x);
    expect(d).toBeLessThanOrEqual(0.5);
    if (d === 0.5) expect(Math.abs(r % 2)).toBe(0);
  });
  test.prop([fc.integer({ min: -(2 ** 30), max: 2 ** 30 })])('exact ties k + 0.5 go to the even neighbour', (k) => {
    const r = roundHalfToEven(k + 0.5);
    expect(r === k || r === k + 1).toBe(true);
    expect(Math.abs(r % 2)).toBe(0);
  });
});

/** float32 `v` as `m · 2^e` with integer m (exact). */
function decompose(v: number): { m: bigint; e: number } {
  if (v === 0) return { m: 0n, e: 0 };
  let e = 0;
  let m = v;
  while (!Number.isInteger(m)) {
    m *= 2;
    e -= 1;
  }
  return { m: BigInt(m), e };
}

/** Compares |A − X| with |B − X| exactly for float32 A, B and X = m·2^e. */
function closer(a: number, b: number, x: { m: bigint; e: number }): number {
  const da = decompose(a);
  const db = decompose(b);
  const e = Math.min(da.e, db.e, x.e);
  const scale = (t: { m: bigint; e: number }): bigint => t.m * 2n ** BigInt(t.e - e);
  const X = scale(x);
  const ea = scale(da) - X;
  const eb = scale(db) - X;
  const abs = (v: bigint): bigint => (v < 0n ? -v : v);
  return abs(ea) < abs(eb) ? -1 : abs(ea) > abs(eb) ? 1 : 0;
}

function neighbours(r: number): number[] {
  const f = new Float32Array([r, r]);
  const u = new Int32Array(f.buffer);
  u[0]! -= 1;
  u[1]! += 1;
  return [f[0]!, f[1]!];
}

describe('fmaf', () => {
  const fl = fc.float({ noNaN: true, noDefaultInfinity: true, min: f32(-1e18), max: f32(1e18) });
  test.prop([fl, fl, fl], { numRuns: 300 })(
    'is a*b + c rounded once to float32 (checked with exact BigInt arithmetic)',
    (a, b, c) => {
      const r = fmaf(a, b, c);
      const pa = decompose(a);
      const pb = decompose(b);
      const pc = decompose(c);
      const pe = pa.e + pb.e;
      const e = Math.min(pe, pc.e);
      const exact = { m: pa.m * pb.m * 2n ** BigInt(pe - e) + pc.m * 2n ** BigInt(pc.e - e), e };
      expect(f32(r)).toBe(r);
      for (const n of neighbours(r)) {
        if (!Number.isFinite(n)) continue;
        const cmp = closer(r, n, exact);
        // r must be at least as close as either neighbour; on a tie its significand must be even.
        expect(cmp).toBeLessThanOrEqual(0);
        if (cmp === 0) expect(new Int32Array(new Float32Array([r]).buffer)[0]! & 1).toBe(0);
      }
    },
  );

  test('a double-rounded sum that lands on a float32 midpoint is resolved by the true sum', () => {
    // a·a = 1 + 2^-11 + 2^-24 exactly: a float32 midpoint. Adding ±2^-80 moves the true value off
    // the midpoint, but the double sum drops 2^-80 and Math.fround would then tie to even.
    const a = f32(1 + 2 ** -12);
    const tiny = f32(2 ** -80);
    expect(f32(a * a + tiny)).toBe(1 + 2 ** -11); // the naive double-then-float32 result
    expect(fmaf(a, a, tiny)).toBe(1 + 2 ** -11 + 2 ** -23);
    expect(fmaf(a, a, -tiny)).toBe(1 + 2 ** -11);
    expect(fmaf(a, a, 0)).toBe(1 + 2 ** -11); // an exact tie goes to even
  });
});
