// Conformance cases of conv2d and conv2dRelu: PyTorch 1.13 goldens (goldens/kernels-gemm.json from
// tools/goldens/kernels_gemm.py) and randomized differential cases on every engine the reference
// claims: stride, padding, dilation, groups and depthwise, per-tensor and per-channel weights, 1×1
// inputs and kernels, batch 1 and 2, multipliers from 2^-20 to 2^10. (fbgemm hand cases: gemm.ts.)
import { OP_NAMES, type Engine, type QuantizedBackend } from '@quint/qtensor';
import * as fc from 'fast-check';
import { gemmGoldenCases } from './gemm-golden.js';
import { drawCodes, prng, qint8Weight, quint8, type CodeMode } from './random.js';
import { differentialCase, type CaseGroup, type ConformanceCase } from './types.js';

const f32 = Math.fround;

interface ConvDraw {
  readonly n: number;
  readonly grouping: 'single' | 'grouped' | 'depthwise';
  readonly cpg: number;
  readonly opg: number;
  readonly kh: number;
  readonly kw: number;
  readonly sh: number;
  readonly sw: number;
  readonly ph: number;
  readonly pw: number;
  readonly dh: number;
  readonly dw: number;
  readonly extraH: number;
  readonly extraW: number;
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

function convArbitrary(weightZp: boolean): fc.Arbitrary<ConvDraw> {
  return fc.record({
    n: fc.integer({ min: 1, max: 2 }),
    grouping: fc.constantFrom('single', 'single', 'grouped', 'depthwise'),
    cpg: fc.integer({ min: 1, max: 4 }),
    opg: fc.integer({ min: 1, max: 3 }),
    kh: fc.integer({ min: 1, max: 3 }),
    kw: fc.integer({ min: 1, max: 3 }),
    sh: fc.integer({ min: 1, max: 3 }),
    sw: fc.integer({ min: 1, max: 2 }),
    ph: fc.integer({ min: 0, max: 2 }),
    pw: fc.integer({ min: 0, max: 1 }),
    dh: fc.integer({ min: 1, max: 2 }),
    dw: fc.integer({ min: 1, max: 2 }),
    extraH: fc.integer({ min: 0, max: 5 }),
    extraW: fc.integer({ min: 0, max: 5 }),
    perChannel: fc.boolean(),
    withBias: fc.boolean(),
    weightZp: weightZp ? fc.boolean() : fc.constant(false),
    logXs: fc.double({ min: -10, max: 0, noNaN: true }),
    logWs: fc.double({ min: -12, max: -4, noNaN: true }),
    logM: fc.double({ min: -20, max: 10, noNaN: true }),
    xzp: fc.integer({ min: 0, max: 255 }),
    ozp: fc.integer({ min: 0, max: 255 }),
    mode: fc.constantFrom<CodeMode>('full', 'full', 'narrow', 'extreme'),
    seed: fc.integer(),
  });
}

function buildConv(d: ConvDraw) {
  const rand = prng(d.seed);
  const groups = d.grouping === 'single' ? 1 : d.grouping === 'grouped' ? 2 : 1 + Math.floor(rand() * 5);
  const cpg = d.grouping === 'depthwise' ? 1 : d.cpg;
  const c = cpg * groups;
  const oc = d.opg * groups;
  // Smallest input for which the dilated kernel fits after padding, plus a drawn margin.
  const h = Math.max(1, (d.kh - 1) * d.dh + 1 - 2 * d.ph) + d.extraH;
  const w = Math.max(1, (d.kw - 1) * d.dw + 1 - 2 * d.pw) + d.extraW;
  const xs = f32(2 ** d.logXs);
  const ws = Array.from({ length: oc }, () => f32(2 ** (d.logWs + (d.perChannel ? rand() : 0))));
  const wzp = Array.from({ length: oc }, () => (d.weightZp ? Math.floor(rand() * 21) - 10 : 0));
  const x = quint8([d.n, c, h, w], drawCodes(rand, d.n * c * h * w, 0, 255, d.mode), xs, d.xzp);
  const wt = qint8Weight(
    [oc, cpg, d.kh, d.kw],
    drawCodes(rand, oc * cpg * d.kh * d.kw, -127, 127, d.mode),
    ws,
    wzp,
    d.perChannel,
  );
  const bias = d.withBias
    ? Float32Array.from({ length: oc }, (_, i) => (rand() * 2 - 1) * xs * ws[i]! * 2 ** (rand() * 14))
    : null;
  const out = { scale: f32((xs * ws[0]!) / 2 ** d.logM), zeroPoint: d.ozp };
  const params = {
    stride: [d.sh, d.sw] as const,
    padding: [d.ph, d.pw] as const,
    dilation: [d.dh, d.dw] as const,
    groups,
  };
  return { x, wt, bias, out, params };
}

function convDifferential(op: 'conv2d' | 'conv2dRelu', engine: Engine): ConformanceCase {
  return differentialCase({
    op,
    engine,
    name: 'random shapes, groups, strides, scales and multipliers',
    supports: { dtype: 'quint8', weightDtype: 'qint8', symmetricWeight: engine === 'onednn' },
    arbitrary: convArbitrary(engine !== 'onednn'),
    numRuns: 30,
    run: (be: QuantizedBackend, d: ConvDraw) => {
      const { x, wt, bias, out, params } = buildConv(d);
      return be.kernels[op](x, be.prepackConv2d(wt, bias, params), out, { engine });
    },
  });
}

/** The conv group: goldens and differential cases per engine. */
export const convCases: CaseGroup = {
  name: 'gemm (conv2d)',
  cases: () => {
    const cases: ConformanceCase[] = [...gemmGoldenCases(['conv2d', 'conv2dRelu'])];
    for (const op of ['conv2d', 'conv2dRelu'] as const) {
      for (const engine of OP_NAMES[op].engines) cases.push(convDifferential(op, engine));
    }
    return cases;
  },
};
