// Conformance cases of quantizePerTensor, quantizePerChannel and dequantize: PyTorch 1.13 goldens
// (goldens/kernels-quantize.json from tools/goldens/kernels_gemm.py), a hand-computed fbgemm case,
// and differential cases on every engine the reference claims (values on exact ties included).
import { OP_NAMES, type Engine, type OpName, type QDtype, type QuantizedBackend } from '@quint/qtensor';
import { Tensor } from '@quint/tensor';
import * as fc from 'fast-check';
import { loadGolden } from '../golden.js';
import { expectedFromHex, qFromHex, tensorFromBits, type HexQ } from './gemm-golden.js';
import { drawCodes, prng } from './random.js';
import { differentialCase, type CaseGroup, type ConformanceCase, type GoldenCase } from './types.js';

const f32 = Math.fround;

interface QuantizeGolden {
  readonly op: OpName;
  readonly engine: Engine;
  readonly name: string;
  readonly input: HexQ | { shape: number[]; floatBits: string };
  readonly params: {
    scale?: number;
    zeroPoint?: number;
    scales?: number[];
    zeroPoints?: number[];
    axis?: number;
    dtype: QDtype;
  };
  readonly output: { shape: number[]; floatBits: string } | (HexQ & { shape: number[] });
}

function goldenCase(g: QuantizeGolden): GoldenCase {
  const engine = g.engine;
  const base = { kind: 'golden' as const, op: g.op, engine, name: g.name };
  if (g.op === 'dequantize') {
    const q = qFromHex(g.input as HexQ);
    return {
      ...base,
      supports: { dtype: q.dtype, qscheme: q.qscheme() },
      run: (be) => be.kernels.dequantize(q, { engine }),
      expected: expectedFromHex(g.output as { shape: number[]; floatBits: string }),
    };
  }
  const x = tensorFromBits(g.input as { shape: number[]; floatBits: string });
  const p = g.params;
  const o = g.output as HexQ;
  const expectedQ = qFromHex(o);
  if (g.op === 'quantizePerTensor') {
    return {
      ...base,
      supports: { dtype: p.dtype, qscheme: 'per_tensor_affine' },
      run: (be) =>
        be.kernels.quantizePerTensor(x, { scale: p.scale!, zeroPoint: p.zeroPoint!, dtype: p.dtype }, { engine }),
      expected: { shape: o.shape, codes: Array.from(expectedQ.data), scale: p.scale!, zeroPoint: p.zeroPoint! },
    };
  }
  return {
    ...base,
    supports: { dtype: p.dtype, qscheme: 'per_channel_affine' },
    run: (be) =>
      be.kernels.quantizePerChannel(
        x,
        { scales: p.scales!, zeroPoints: p.zeroPoints!, axis: p.axis!, dtype: p.dtype },
        { engine },
      ),
    expected: {
      shape: o.shape,
      codes: Array.from(expectedQ.data),
      scales: p.scales!,
      zeroPoints: p.zeroPoints!,
      axis: p.axis!,
    },
  };
}

// fbgemm (experimental): FBGEMM's LEGACY quantize adds the zero point before a single rounding
// (spec §1.2 [S]). Hand-computed for scale 0.1 (inv = f32(1/f32(0.1)) = 10), zp 1, quint8:
//   0.25 → fma 3.5 → 4;  0.05 → 1.50000000745 → f32 1.5 → 2;  0.15 → 2.50000006 → f32 2.5 → 2;
//   −0.05 → 0.49999999 → f32 0.5 → 0;  0.35 → 4.49999994 → f32 4.5 → 4;  1 → 11;  0 → 1;  −1 → 0;
//   the 9th element is the scalar tail: f32(1 + f32(0.25·10)) = 3.5 → 4.
// PyTorch without FBGEMM gives [3, 1, 3, 1, 5, 11, 1, 0, 3] for the same inputs.
function fbgemmHandCase(): GoldenCase {
  const x = Tensor.fromArray([0.25, 0.05, 0.15, -0.05, 0.35, 1.0, 0.0, -1.0, 0.25]);
  return {
    kind: 'hand',
    op: 'quantizePerTensor',
    engine: 'fbgemm',
    name: 'LEGACY zero point before rounding, body and tail',
    supports: { dtype: 'quint8', qscheme: 'per_tensor_affine' },
    run: (be) => be.kernels.quantizePerTensor(x, { scale: 0.1, zeroPoint: 1 }, { engine: 'fbgemm' }),
    expected: { shape: [9], codes: [4, 2, 2, 0, 4, 11, 1, 0, 4], scale: 0.1, zeroPoint: 1 },
  };
}

interface QDraw {
  readonly n: number;
  readonly logS: number;
  readonly zp: number;
  readonly dtype: 'quint8' | 'qint8';
  readonly ties: boolean;
  readonly seed: number;
}

const qArb: fc.Arbitrary<QDraw> = fc.record({
  n: fc.integer({ min: 1, max: 200 }),
  logS: fc.double({ min: -12, max: 4, noNaN: true }),
  zp: fc.integer({ min: 0, max: 255 }),
  dtype: fc.constantFrom('quint8', 'qint8'),
  ties: fc.boolean(),
  seed: fc.integer(),
});

function drawFloats(d: QDraw, s: number): Float32Array {
  const rand = prng(d.seed);
  // Ties: exact multiples of s/2 land on .5 after the reciprocal multiply or division.
  return Float32Array.from({ length: d.n }, () =>
    d.ties ? (Math.floor(rand() * 600) - 300) * (s / 2) : (rand() * 2 - 1) * s * 300,
  );
}

function zpFor(d: QDraw): number {
  return d.dtype === 'qint8' ? d.zp - 128 : d.zp;
}

function differential(engine: Engine): ConformanceCase[] {
  return [
    differentialCase({
      op: 'quantizePerTensor',
      engine,
      name: 'random values and exact ties',
      supports: { qscheme: 'per_tensor_affine' },
      arbitrary: qArb,
      run: (be: QuantizedBackend, d: QDraw) => {
        const s = f32(2 ** d.logS);
        return be.kernels.quantizePerTensor(
          new Tensor(drawFloats(d, s), [d.n]),
          { scale: s, zeroPoint: zpFor(d), dtype: d.dtype },
          { engine },
        );
      },
    }),
    differentialCase({
      op: 'quantizePerChannel',
      engine,
      name: 'random values, 3 channels on axis 1',
      supports: { qscheme: 'per_channel_affine' },
      arbitrary: qArb,
      run: (be: QuantizedBackend, d: QDraw) => {
        const s = f32(2 ** d.logS);
        const scales = [s, f32(s * 1.37), f32(s * 0.21)];
        return be.kernels.quantizePerChannel(
          new Tensor(drawFloats({ ...d, n: d.n * 3 }, s), [d.n, 3]),
          { scales, zeroPoints: [zpFor(d), 0, 1], axis: 1, dtype: d.dtype },
          { engine },
        );
      },
    }),
    differentialCase({
      op: 'dequantize',
      engine,
      name: 'random codes, per tensor',
      supports: { qscheme: 'per_tensor_affine' },
      arbitrary: qArb,
      run: (be: QuantizedBackend, d: QDraw) => {
        const s = f32(2 ** d.logS);
        const lo = d.dtype === 'qint8' ? -128 : 0;
        const codes = drawCodes(prng(d.seed), d.n, lo, lo + 255, 'full');
        const q = be.kernels.quantizePerTensor(
          new Tensor(
            Float32Array.from(codes, (c) => (c - zpFor(d)) * s),
            [d.n],
          ),
          { scale: s, zeroPoint: zpFor(d), dtype: d.dtype },
          { engine: 'qnnpack' },
        );
        return be.kernels.dequantize(q, { engine });
      },
    }),
  ];
}

/**
 * Engine ort divides by the scale (QuantizeLinear); PyTorch multiplies by its float32 inverse. On
 * the half-step grid `f32(k·s/2)` the two round apart (82 of 1,021 values at s = 0.017, inside the
 * code range), so a backend that multiplies fails. NaN (code 0, as the reference gives it),
 * ±Infinity and ±1e30 follow, and the length leaves a scalar tail after 16-wide vectors.
 */
function ortDivisionCases(): ConformanceCase[] {
  const s = f32(0.017);
  const grid = Array.from({ length: 1021 }, (_, i) => f32(((i - 510) * s) / 2));
  const values = Float32Array.from([...grid, NaN, Infinity, -Infinity, 1e30, -1e30]);
  return (['quint8', 'qint8'] as const).map((dtype) =>
    differentialCase({
      op: 'quantizePerTensor',
      engine: 'ort',
      name: `half-step grid where division and the inverse's multiply round apart, ${dtype}`,
      supports: { qscheme: 'per_tensor_affine' },
      numRuns: 1,
      arbitrary: fc.constant(dtype),
      run: (be: QuantizedBackend, d: QDtype) =>
        be.kernels.quantizePerTensor(
          new Tensor(values, [values.length]),
          { scale: s, zeroPoint: d === 'qint8' ? 0 : 128, dtype: d },
          { engine: 'ort' },
        ),
    }),
  );
}

/** The quantize group: goldens, the fbgemm hand case, differential cases per engine. */
export const quantizeCases: CaseGroup = {
  name: 'quantize',
  cases: () => {
    const file = loadGolden<{ cases: QuantizeGolden[] }>('kernels-quantize.json');
    const cases: ConformanceCase[] = [...file.cases.map(goldenCase), fbgemmHandCase()];
    const engines = new Set<Engine>([
      ...OP_NAMES.quantizePerTensor.engines,
      ...OP_NAMES.quantizePerChannel.engines,
      ...OP_NAMES.dequantize.engines,
    ]);
    for (const engine of engines) cases.push(...differential(engine));
    cases.push(...ortDivisionCases());
    return cases;
  },
};
