// Conformance cases of linear, linearRelu and linearDynamic: PyTorch 1.13 goldens
// (goldens/kernels-gemm.json from tools/goldens/kernels_gemm.py), hand-computed fbgemm cases, and
// randomized differential cases on every engine the reference claims.
import { OP_NAMES, QTensor, type Engine, type QuantizedBackend } from '@quint/qtensor';
import { Tensor } from '@quint/tensor';
import * as fc from 'fast-check';
import { gemmGoldenCases, gemmSupports } from './gemm-golden.js';
import { drawCodes, prng, qint8Weight, quint8, type CodeMode } from './random.js';
import { differentialCase, type CaseGroup, type ConformanceCase, type GoldenCase } from './types.js';

const f32 = Math.fround;

/** A drawn linear configuration; codes come from `seed`. */
interface LinearDraw {
  readonly lead: number[];
  readonly k: number;
  readonly n: number;
  readonly perChannel: boolean;
  readonly withBias: boolean;
  readonly weightZp: boolean;
  readonly logXs: number;
  readonly logWs: number;
  readonly logM: number;
  readonly xzp: number;
  readonly ozp: number;
  readonly mode: CodeMode;
  readonly seed: number;
}

function linearArbitrary(opts: {
  kMin: number;
  kMax: number;
  maxRows: number;
  weightZp: boolean;
}): fc.Arbitrary<LinearDraw> {
  return fc.record({
    lead: fc.oneof(
      fc.constant([] as number[]),
      fc.tuple(fc.integer({ min: 1, max: opts.maxRows })).map((t) => [...t]),
      fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })).map((t) => [...t]),
    ),
    k: fc.integer({ min: opts.kMin, max: opts.kMax }),
    n: fc.integer({ min: 1, max: 8 }),
    perChannel: fc.boolean(),
    withBias: fc.boolean(),
    weightZp: opts.weightZp ? fc.boolean() : fc.constant(false),
    // Scales are powers of two times a float32 mantissa, so multipliers span 2^-20 .. 2^10:
    // tiny multipliers (every output at the zero point) and M > 1 (saturation at 0 and 255).
    logXs: fc.double({ min: -10, max: 0, noNaN: true }),
    logWs: fc.double({ min: -12, max: -4, noNaN: true }),
    logM: fc.double({ min: -20, max: 10, noNaN: true }),
    xzp: fc.integer({ min: 0, max: 255 }),
    ozp: fc.integer({ min: 0, max: 255 }),
    mode: fc.constantFrom<CodeMode>('full', 'full', 'narrow', 'extreme'),
    seed: fc.integer(),
  });
}

/** Builds the tensors of a drawn linear; shared with the conv draws' scale logic. */
function buildLinear(d: LinearDraw) {
  const rand = prng(d.seed);
  const xs = f32(2 ** d.logXs);
  const ws = Array.from({ length: d.n }, () => f32(2 ** (d.logWs + (d.perChannel ? rand() : 0))));
  const wzp = Array.from({ length: d.n }, () => (d.weightZp ? Math.floor(rand() * 21) - 10 : 0));
  const shape = [...d.lead, d.k];
  const rows = d.lead.reduce((a, b) => a * b, 1);
  const x = quint8(shape, drawCodes(rand, rows * d.k, 0, 255, d.mode), xs, d.xzp);
  const w = qint8Weight([d.n, d.k], drawCodes(rand, d.n * d.k, -127, 127, d.mode), ws, wzp, d.perChannel);
  const bias = d.withBias
    ? Float32Array.from({ length: d.n }, (_, c) => (rand() * 2 - 1) * xs * ws[c]! * 2 ** (rand() * 14))
    : null;
  const out = { scale: f32((xs * ws[0]!) / 2 ** d.logM), zeroPoint: d.ozp };
  return { x, w, bias, out };
}

function linearDifferential(
  op: 'linear' | 'linearRelu',
  engine: Engine,
  name: string,
  arb: fc.Arbitrary<LinearDraw>,
  numRuns: number,
): ConformanceCase {
  return differentialCase({
    op,
    engine,
    name,
    supports: { dtype: 'quint8', weightDtype: 'qint8', symmetricWeight: engine === 'onednn' },
    arbitrary: arb,
    numRuns,
    run: (be: QuantizedBackend, d: LinearDraw) => {
      const { x, w, bias, out } = buildLinear(d);
      return be.kernels[op](x, be.prepackLinear(w, bias), out, { engine });
    },
  });
}

interface DynamicDraw {
  readonly lead: number[];
  readonly k: number;
  readonly n: number;
  readonly perChannel: boolean;
  readonly withBias: boolean;
  readonly kind: 'normal' | 'positive' | 'negative' | 'constant' | 'zeros';
  readonly spread: number;
  readonly seed: number;
}

const dynamicArbitrary: fc.Arbitrary<DynamicDraw> = fc.record({
  lead: fc.oneof(
    fc.tuple(fc.integer({ min: 1, max: 5 })).map((t) => [...t]),
    fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 3 })).map((t) => [...t]),
  ),
  k: fc.integer({ min: 1, max: 48 }),
  n: fc.integer({ min: 1, max: 6 }),
  perChannel: fc.boolean(),
  withBias: fc.boolean(),
  kind: fc.constantFrom('normal', 'normal', 'positive', 'negative', 'constant', 'zeros'),
  spread: fc.double({ min: -12, max: 6, noNaN: true }),
  seed: fc.integer(),
});

function buildDynamic(d: DynamicDraw) {
  const rand = prng(d.seed);
  const rows = d.lead.reduce((a, b) => a * b, 1);
  const s = 2 ** d.spread;
  const xv = Float32Array.from({ length: rows * d.k }, () => {
    const u = (rand() * 2 - 1) * s;
    return d.kind === 'positive'
      ? Math.abs(u)
      : d.kind === 'negative'
        ? -Math.abs(u)
        : d.kind === 'constant'
          ? s
          : d.kind === 'zeros'
            ? 0
            : u;
  });
  const ws = Array.from({ length: d.n }, () => f32(0.002 + rand() * 0.02));
  const w = qint8Weight(
    [d.n, d.k],
    drawCodes(rand, d.n * d.k, -127, 127, 'full'),
    ws,
    new Array<number>(d.n).fill(0),
    d.perChannel,
  );
  const bias = d.withBias ? Float32Array.from({ length: d.n }, () => rand() - 0.5) : null;
  return { x: new Tensor(xv, [...d.lead, d.k]), w, bias };
}

// fbgemm (experimental) hand-computed cases: FBGEMM cannot run here, so the expected codes were
// computed from spec §5.2c in float32 numpy, independently of the TS code:
//   atw = f32(f32(x_s)·f32(w_s[c])), M = f32(atw / f32(o_s)),
//   ba = f32(b·f32(1/atw)) per tensor, f32(b/atw) per channel,
//   y = clamp(sat16(rne(f32(f32(f32(acc) + ba)·M))) + o_zp, 0, 255).
function fbgemmHandCases(): GoldenCase[] {
  const perTensor = (scale: number) => ({ qscheme: 'per_tensor_affine' as const, scale, zeroPoint: 0 });
  // (1) the spec §5.2 worked example: preRound [70.0000076, -4.0] → [170, 96], as qnnpack.
  const x1 = new QTensor(Uint8Array.of(178, 103), [1, 2], 'quint8', {
    qscheme: 'per_tensor_affine',
    scale: 0.01,
    zeroPoint: 128,
  });
  const w1 = new QTensor(Int8Array.of(64, -127, 21, 42), [2, 2], 'qint8', perTensor(0.004705882631242275));
  const b1 = Float32Array.of(0.05, -0.02);
  // (2) per channel where the float bias changes a code: row 1, channel 0 has preRound −117.49793
  //     → rne −117 → 226 − 117 = 109 (qnnpack, with its rounded int32 bias, gives 108).
  const xs2 = f32(0.02);
  const ws2 = [0.018187861889600754, 0.018641965463757515];
  const x2 = new QTensor(Uint8Array.of(30, 160, 59, 112, 120, 245), [2, 3], 'quint8', {
    qscheme: 'per_tensor_affine',
    scale: xs2,
    zeroPoint: 3,
  });
  const w2codes = Int8Array.of(31, -76, -48, 80, -95, 56);
  const w2 = new QTensor(w2codes, [2, 3], 'qint8', {
    qscheme: 'per_channel_affine',
    scales: Float64Array.from(ws2),
    zeroPoints: Int32Array.of(0, 0),
    axis: 0,
  });
  const b2 = Float32Array.of(0.3559008538722992, -0.11627823859453201);
  const out2 = { scale: f32(0.05), zeroPoint: 226 };
  // (3) the same numbers as a 1×1 conv2d over a [2, 3, 1, 1] input (batch 2): NCHW codes.
  const x3 = new QTensor(Uint8Array.of(30, 160, 59, 112, 120, 245), [2, 3, 1, 1], 'quint8', {
    qscheme: 'per_tensor_affine',
    scale: xs2,
    zeroPoint: 3,
  });
  const w3 = new QTensor(w2codes.slice(), [2, 3, 1, 1], 'qint8', {
    qscheme: 'per_channel_affine',
    scales: Float64Array.from(ws2),
    zeroPoints: Int32Array.of(0, 0),
    axis: 0,
  });
  const sup = { dtype: 'quint8' as const, weightDtype: 'qint8' as const, symmetricWeight: true };
  return [
    {
      kind: 'hand',
      op: 'linear',
      engine: 'fbgemm',
      name: 'spec §5.2 worked example',
      supports: sup,
      run: (be) =>
        be.kernels.linear(x1, be.prepackLinear(w1, b1), { scale: 0.005, zeroPoint: 100 }, { engine: 'fbgemm' }),
      expected: { shape: [1, 2], codes: [170, 96], scale: 0.005, zeroPoint: 100 },
    },
    {
      kind: 'hand',
      op: 'linear',
      engine: 'fbgemm',
      name: 'per-channel float bias changes a code (qnnpack gives 108)',
      supports: sup,
      run: (be) => be.kernels.linear(x2, be.prepackLinear(w2, b2), out2, { engine: 'fbgemm' }),
      expected: { shape: [2, 2], codes: [133, 152, 109, 255], scale: out2.scale, zeroPoint: 226 },
    },
    {
      kind: 'hand',
      op: 'linearRelu',
      engine: 'fbgemm',
      name: 'relu clamps at the zero point',
      supports: sup,
      run: (be) => be.kernels.linearRelu(x2, be.prepackLinear(w2, b2), out2, { engine: 'fbgemm' }),
      expected: { shape: [2, 2], codes: [226, 226, 226, 255], scale: out2.scale, zeroPoint: 226 },
    },
    {
      kind: 'hand',
      op: 'conv2d',
      engine: 'fbgemm',
      name: '1x1 conv, per-channel float bias',
      supports: { ...sup, groups: 1 },
      run: (be) => be.kernels.conv2d(x3, be.prepackConv2d(w3, b2), out2, { engine: 'fbgemm' }),
      expected: { shape: [2, 2, 1, 1], codes: [133, 152, 109, 255], scale: out2.scale, zeroPoint: 226 },
    },
    {
      kind: 'hand',
      op: 'conv2dRelu',
      engine: 'fbgemm',
      name: '1x1 conv relu',
      supports: { ...sup, groups: 1 },
      run: (be) => be.kernels.conv2dRelu(x3, be.prepackConv2d(w3, b2), out2, { engine: 'fbgemm' }),
      expected: { shape: [2, 2, 1, 1], codes: [226, 226, 226, 255], scale: out2.scale, zeroPoint: 226 },
    },
  ];
}

/** The linear group: goldens, fbgemm hand cases, differential cases per engine. */
export const gemmCases: CaseGroup = {
  name: 'gemm (linear)',
  cases: () => {
    const cases: ConformanceCase[] = [
      ...gemmGoldenCases(['linear', 'linearRelu', 'linearDynamic']),
      ...fbgemmHandCases(),
    ];
    for (const op of ['linear', 'linearRelu'] as const) {
      for (const engine of OP_NAMES[op].engines) {
        const wzp = engine !== 'onednn';
        cases.push(
          linearDifferential(
            op,
            engine,
            'random shapes, scales and multipliers',
            linearArbitrary({ kMin: 1, kMax: 64, maxRows: 6, weightZp: wzp }),
            30,
          ),
        );
        if (op === 'linear') {
          cases.push(
            linearDifferential(
              op,
              engine,
              'large K (1000..6000), batch 1',
              linearArbitrary({ kMin: 1000, kMax: 6000, maxRows: 1, weightZp: wzp }),
              6,
            ),
          );
        }
      }
    }
    for (const engine of OP_NAMES.linearDynamic.engines) {
      cases.push(
        differentialCase({
          op: 'linearDynamic',
          engine,
          name: 'random inputs (normal, one-signed, constant, zeros)',
          supports: { weightDtype: 'qint8', symmetricWeight: true },
          arbitrary: dynamicArbitrary,
          numRuns: 30,
          run: (be: QuantizedBackend, d: DynamicDraw) => {
            const { x, w, bias } = buildDynamic(d);
            return be.kernels.linearDynamic(x, be.prepackLinear(w, bias), { engine });
          },
        }),
      );
    }
    return cases;
  },
};

export { gemmSupports };
