// Conformance cases of the pooling group: maxPool2d, avgPool2d, adaptiveAvgPool2d, mean (spec §5.8,
// §12.C6–C7).
import * as fc from 'fast-check';
import { nonGemmGoldenCases, type NonGemmRunner } from './non-gemm-golden.js';
import { memoryFormatArb, nchwArb, qdataArb, toQ } from './non-gemm-arbitraries.js';
import { differentialCase, type CaseGroup, type ConformanceCase } from './types.js';

const pair = (v: readonly number[]) => [v[0]!, v[1]!] as [number, number];

const RUNNERS: Record<string, NonGemmRunner> = {
  maxPool2d: (be, [x], p, o) =>
    be.kernels.maxPool2d(
      x!,
      {
        kernelSize: pair(p.kernelSize),
        stride: pair(p.stride),
        padding: pair(p.padding),
        dilation: pair(p.dilation),
        ceilMode: p.ceilMode,
      },
      o,
    ),
  avgPool2d: (be, [x], p, o) =>
    be.kernels.avgPool2d(
      x!,
      {
        kernelSize: pair(p.kernelSize),
        stride: pair(p.stride),
        padding: pair(p.padding),
        ceilMode: p.ceilMode,
        countIncludePad: p.countIncludePad,
        ...(p.divisorOverride === null ? {} : { divisorOverride: p.divisorOverride }),
      },
      o,
    ),
  adaptiveAvgPool2d: (be, [x], p, o) => be.kernels.adaptiveAvgPool2d(x!, pair(p.outputSize), o),
  mean: (be, [x], p, o) => be.kernels.mean(x!, { dim: p.dim, keepdim: p.keepdim }, o),
};

/** A window that PyTorch accepts for an H×W input: padding ≤ k/2 and at least one output. */
const windowArb = fc.record({
  k: fc.integer({ min: 1, max: 4 }),
  s: fc.integer({ min: 1, max: 3 }),
  p: fc.integer({ min: 0, max: 2 }),
  ceil: fc.boolean(),
  cip: fc.boolean(),
});

function differential(): ConformanceCase[] {
  const out: ConformanceCase[] = [];
  const input = nchwArb(2, 6, 9, 9).chain((s) => fc.tuple(qdataArb(s), memoryFormatArb));
  for (const engine of ['qnnpack', 'onednn'] as const) {
    const base = { engine, supports: { dtype: 'quint8' as const }, name: 'random' };
    // Windows are clipped to valid ones inside run, so every drawn input exercises the kernel.
    const fit = (h: number, w: number, k: number, p: number, ceil: boolean, qnnpackNoUnit: boolean) => {
      let kk = Math.min(k, h + 2 * p, w + 2 * p);
      if (qnnpackNoUnit && kk === 1 && !ceil) kk = Math.min(2, h, w) === 2 ? 2 : 1;
      const pp = Math.min(p, Math.floor(kk / 2));
      return { kk, pp };
    };
    out.push(
      differentialCase({
        ...base,
        op: 'maxPool2d',
        arbitrary: fc.tuple(input, windowArb, fc.integer({ min: 1, max: 2 })),
        run: (be, [[x, memoryFormat], w, d]) => {
          const { kk, pp } = fit(x.shape[2]!, x.shape[3]!, w.k, w.p, w.ceil, engine === 'qnnpack');
          const dil = (kk - 1) * d + 1 <= Math.min(x.shape[2]!, x.shape[3]!) + 2 * pp ? d : 1;
          if (kk === 1 && engine === 'qnnpack' && !w.ceil)
            return be.kernels.maxPool2d(toQ(x), { kernelSize: 1, ceilMode: true }, { engine, memoryFormat });
          return be.kernels.maxPool2d(
            toQ(x),
            { kernelSize: kk, stride: w.s, padding: pp, dilation: dil, ceilMode: w.ceil },
            { engine, memoryFormat },
          );
        },
      }),
      differentialCase({
        ...base,
        op: 'avgPool2d',
        arbitrary: fc.tuple(input, windowArb),
        run: (be, [[x, memoryFormat], w]) => {
          const { kk, pp } = fit(x.shape[2]!, x.shape[3]!, w.k, w.p, w.ceil, engine === 'qnnpack');
          const ceil = w.ceil || (kk === 1 && engine === 'qnnpack');
          return be.kernels.avgPool2d(
            toQ(x),
            { kernelSize: kk, stride: w.s, padding: pp, ceilMode: ceil, countIncludePad: w.cip },
            { engine, memoryFormat },
          );
        },
      }),
      differentialCase({
        ...base,
        op: 'adaptiveAvgPool2d',
        arbitrary: fc.tuple(input, fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 })),
        run: (be, [[x, memoryFormat], oh, ow]) =>
          be.kernels.adaptiveAvgPool2d(toQ(x), [Math.min(oh, x.shape[2]!), Math.min(ow, x.shape[3]!)], {
            engine,
            memoryFormat,
          }),
      }),
      differentialCase({
        ...base,
        op: 'mean',
        arbitrary: fc.tuple(input, fc.boolean()),
        run: (be, [[x], keepdim]) => be.kernels.mean(toQ(x), { dim: [2, 3], keepdim }, { engine }),
      }),
    );
  }
  // Engine ort: maxPool2d, avgPool2d (no ceil mode), adaptiveAvgPool2d to 1×1 (docs/numerics.md
  // "Engine ort"; kernels-js checks them against ONNX Runtime itself).
  out.push(
    differentialCase({
      op: 'avgPool2d',
      engine: 'ort',
      name: 'random',
      supports: { dtype: 'quint8' },
      arbitrary: fc.tuple(input, windowArb),
      run: (be, [[x], w]) => {
        const kk = Math.min(w.k, x.shape[2]!, x.shape[3]!);
        return be.kernels.avgPool2d(
          toQ(x),
          { kernelSize: kk, stride: w.s, padding: Math.min(w.p, Math.floor(kk / 2)), countIncludePad: w.cip },
          { engine: 'ort' },
        );
      },
    }),
    ...(['wasm', 'x64'] as const).map((target) =>
      differentialCase({
        op: 'mean',
        engine: 'ort',
        name: `random innermost dims, target ${target}`,
        supports: { dtype: 'quint8' },
        arbitrary: fc.tuple(input, fc.constantFrom([3], [2, 3], [1, 2, 3]), fc.boolean()),
        run: (be, [[x], dim, keepdim]) => be.kernels.mean(toQ(x), { dim, keepdim }, { engine: 'ort', target }),
      }),
    ),
    differentialCase({
      op: 'adaptiveAvgPool2d',
      engine: 'ort',
      name: 'random 1×1',
      supports: { dtype: 'quint8' },
      arbitrary: input,
      run: (be, [x]) => be.kernels.adaptiveAvgPool2d(toQ(x), 1, { engine: 'ort' }),
    }),
    differentialCase({
      op: 'maxPool2d',
      engine: 'ort',
      name: 'random',
      supports: { dtype: 'quint8' },
      arbitrary: fc.tuple(input, windowArb),
      run: (be, [[x], w]) => {
        const kk = Math.min(w.k, x.shape[2]!, x.shape[3]!);
        return be.kernels.maxPool2d(
          toQ(x),
          { kernelSize: kk, stride: w.s, padding: Math.min(w.p, Math.floor(kk / 2)), ceilMode: w.ceil },
          { engine: 'ort' },
        );
      },
    }),
    {
      kind: 'hand',
      op: 'maxPool2d',
      engine: 'ort',
      name: '3x3 codes 1..9, k3 s2 p1: padding skipped',
      supports: { dtype: 'quint8' },
      run: (be) =>
        be.kernels.maxPool2d(
          toQ({ shape: [1, 1, 3, 3], codes: [1, 2, 3, 4, 5, 6, 7, 8, 9], scale: 0.1, zeroPoint: 0 }),
          { kernelSize: 3, stride: 2, padding: 1 },
          { engine: 'ort' },
        ),
      expected: { shape: [1, 1, 2, 2], codes: [5, 6, 8, 9], scale: 0.1, zeroPoint: 0 },
    },
  );
  return out;
}

/**
 * Pooling cases: PyTorch 1.13 goldens (tools/goldens/kernels_ops.py; `mean` on PyTorch's dequantize →
 * float mean → quantize fallback on channels_last inputs on onednn: tools/goldens/kernels_mean_cl.py)
 * and differential cases.
 */
export const poolingCases: CaseGroup = {
  name: 'pooling',
  cases: () => [
    ...nonGemmGoldenCases('kernels-pooling.json', RUNNERS),
    ...nonGemmGoldenCases('kernels-mean-cl.json', RUNNERS),
    ...differential(),
  ],
};
