// Conformance cases of the activations group: relu, relu6, hardtanh, clamp, hardswish, hardsigmoid,
// sigmoid, tanh (spec §5.6, §5.7, §12.C1–C4).
import * as fc from 'fast-check';
import { QTensor } from '@quint/qtensor';
import { nonGemmGoldenCases, type NonGemmRunner } from './non-gemm-golden.js';
import { memoryFormatArb, nchwArb, qdataArb, scaleArb, toQ, zeroPointArb } from './non-gemm-arbitraries.js';
import { ORT_SIGMOID_DISAGREEING, ORT_TANH_DISAGREEING, type OrtQparams } from './ort-disagreeing.js';
import { differentialCase, type CaseGroup, type ConformanceCase } from './types.js';

const RUNNERS: Record<string, NonGemmRunner> = {
  relu: (be, [x], _p, o) => be.kernels.relu(x!, o),
  relu6: (be, [x], _p, o) => be.kernels.relu6(x!, o),
  hardtanh: (be, [x], p, o) => be.kernels.hardtanh(x!, { minVal: p.minVal, maxVal: p.maxVal }, o),
  clamp: (be, [x], p, o) => be.kernels.clamp(x!, { min: p.min, max: p.max }, o),
  hardswish: (be, [x], p, o) => be.kernels.hardswish(x!, { scale: p.outScale, zeroPoint: p.outZeroPoint }, o),
  hardsigmoid: (be, [x], _p, o) => be.kernels.hardsigmoid(x!, undefined, o),
  sigmoid: (be, [x], _p, o) => be.kernels.sigmoid(x!, undefined, o),
  tanh: (be, [x], _p, o) => be.kernels.tanh(x!, undefined, o),
};

/** The 256 quint8 codes, one each, as a [1, 1, 16, 16] tensor with qparams `q`. */
function everyCode(q: OrtQparams): QTensor {
  return new QTensor(
    Uint8Array.from({ length: 256 }, (_, c) => c),
    [1, 1, 16, 16],
    'quint8',
    { qscheme: 'per_tensor_affine', ...q },
  );
}

function differential(): ConformanceCase[] {
  const out: ConformanceCase[] = [];
  const input = nchwArb(2, 9, 9, 17).chain((s) => fc.tuple(qdataArb(s), memoryFormatArb));
  for (const engine of ['qnnpack', 'onednn'] as const) {
    const base = { engine, supports: { dtype: 'quint8' as const }, name: 'random' };
    out.push(
      differentialCase({
        ...base,
        op: 'relu',
        arbitrary: input,
        run: (be, [x, memoryFormat]) => be.kernels.relu(toQ(x), { engine, memoryFormat }),
      }),
      differentialCase({
        ...base,
        op: 'relu6',
        arbitrary: input,
        run: (be, [x, memoryFormat]) => be.kernels.relu6(toQ(x), { engine, memoryFormat }),
      }),
      differentialCase({
        ...base,
        op: 'hardtanh',
        arbitrary: fc.tuple(
          input,
          fc.double({ min: -8, max: 0, noNaN: true }),
          fc.double({ min: 0, max: 8, noNaN: true }),
        ),
        run: (be, [[x, memoryFormat], lo, hi]) =>
          be.kernels.hardtanh(toQ(x), { minVal: lo, maxVal: hi }, { engine, memoryFormat }),
      }),
      differentialCase({
        ...base,
        op: 'clamp',
        arbitrary: fc.tuple(
          input,
          fc.option(fc.double({ min: -8, max: 8, noNaN: true }), { nil: undefined }),
          fc.option(fc.double({ min: -8, max: 8, noNaN: true }), { nil: undefined }),
        ),
        run: (be, [[x, memoryFormat], min, max]) =>
          be.kernels.clamp(
            toQ(x),
            { ...(min === undefined ? {} : { min }), ...(max === undefined ? {} : { max }) },
            { engine, memoryFormat },
          ),
      }),
      differentialCase({
        ...base,
        op: 'hardswish',
        arbitrary: fc.tuple(input, scaleArb(0.005, 0.2), zeroPointArb),
        run: (be, [[x, memoryFormat], s, z]) =>
          be.kernels.hardswish(toQ(x), { scale: s, zeroPoint: z }, { engine, memoryFormat }),
      }),
      differentialCase({
        ...base,
        op: 'hardsigmoid',
        arbitrary: input,
        run: (be, [x, memoryFormat]) => be.kernels.hardsigmoid(toQ(x), undefined, { engine, memoryFormat }),
      }),
      differentialCase({
        ...base,
        op: 'sigmoid',
        arbitrary: input,
        run: (be, [x, memoryFormat]) => be.kernels.sigmoid(toQ(x), undefined, { engine, memoryFormat }),
      }),
      differentialCase({
        ...base,
        op: 'tanh',
        arbitrary: input,
        run: (be, [x, memoryFormat]) => be.kernels.tanh(toQ(x), undefined, { engine, memoryFormat }),
      }),
    );
  }
  // Engine ort: relu, the Clip ops, hardswish, hardsigmoid (docs/numerics.md "Engine ort"; kernels-js
  // checks them against ONNX Runtime itself, test/ort-exact-ops.test.ts and ort-non-gemm.test.ts).
  const ort = { engine: 'ort' as const, supports: { dtype: 'quint8' as const }, name: 'random' };
  out.push(
    differentialCase({
      ...ort,
      op: 'relu6',
      arbitrary: input,
      run: (be, [x]) => be.kernels.relu6(toQ(x), { engine: 'ort' }),
    }),
    differentialCase({
      ...ort,
      op: 'hardtanh',
      arbitrary: fc.tuple(
        input,
        fc.double({ min: -8, max: 0, noNaN: true }),
        fc.double({ min: 0, max: 8, noNaN: true }),
      ),
      run: (be, [[x], lo, hi]) => be.kernels.hardtanh(toQ(x), { minVal: lo, maxVal: hi }, { engine: 'ort' }),
    }),
    differentialCase({
      ...ort,
      op: 'clamp',
      arbitrary: fc.tuple(
        input,
        fc.option(fc.double({ min: -8, max: 8, noNaN: true }), { nil: undefined }),
        fc.option(fc.double({ min: -8, max: 8, noNaN: true }), { nil: undefined }),
      ),
      run: (be, [[x], min, max]) =>
        be.kernels.clamp(
          toQ(x),
          { ...(min === undefined ? {} : { min }), ...(max === undefined ? {} : { max }) },
          { engine: 'ort' },
        ),
    }),
    differentialCase({
      ...ort,
      op: 'hardswish',
      arbitrary: fc.tuple(input, scaleArb(0.005, 0.2), zeroPointArb),
      run: (be, [[x], s, z]) => be.kernels.hardswish(toQ(x), { scale: s, zeroPoint: z }, { engine: 'ort' }),
    }),
    differentialCase({
      ...ort,
      op: 'hardsigmoid',
      arbitrary: input,
      run: (be, [x]) => be.kernels.hardsigmoid(toQ(x), undefined, { engine: 'ort' }),
    }),
    // sigmoid and tanh: the two ONNX Runtime builds differ (`target`), any output qparams.
    ...(['wasm', 'x64'] as const).flatMap((target) =>
      (['sigmoid', 'tanh'] as const).map((op) =>
        differentialCase({
          ...ort,
          op,
          name: `random, target ${target}`,
          arbitrary: fc.tuple(input, fc.option(fc.tuple(scaleArb(0.0001, 0.02), zeroPointArb), { nil: undefined })),
          run: (be, [[x], o]) =>
            be.kernels[op](toQ(x), o === undefined ? undefined : { scale: o[0], zeroPoint: o[1] }, {
              engine: 'ort',
              target,
            }),
        }),
      ),
    ),
    // Every code at qparams where onnxruntime-node and -web disagree: a backend that ignores
    // `target` fails one of the two targets.
    ...(['wasm', 'x64'] as const).flatMap((target) => [
      ...ORT_SIGMOID_DISAGREEING.map(([qi, qo], i) =>
        differentialCase({
          ...ort,
          op: 'sigmoid',
          name: `qparams set ${i + 1} where the ONNX Runtime builds differ, target ${target}`,
          numRuns: 1,
          arbitrary: fc.constant(qi),
          run: (be, q) => be.kernels.sigmoid(everyCode(q), qo, { engine: 'ort', target }),
        }),
      ),
      ...ORT_TANH_DISAGREEING.map((qi, i) =>
        differentialCase({
          ...ort,
          op: 'tanh',
          name: `qparams set ${i + 1} where the ONNX Runtime builds differ, target ${target}`,
          numRuns: 1,
          arbitrary: fc.constant(qi),
          run: (be, q) => be.kernels.tanh(everyCode(q), undefined, { engine: 'ort', target }),
        }),
      ),
    ]),
    differentialCase({
      op: 'relu',
      engine: 'ort',
      name: 'random',
      supports: { dtype: 'quint8' },
      arbitrary: input,
      run: (be, [x]) => be.kernels.relu(toQ(x), { engine: 'ort' }),
    }),
    {
      kind: 'hand',
      op: 'relu',
      engine: 'ort',
      name: 'max(q, zp) around zp 117',
      supports: { dtype: 'quint8' },
      run: (be) =>
        be.kernels.relu(toQ({ shape: [5], codes: [0, 116, 117, 118, 255], scale: 0.0371, zeroPoint: 117 }), {
          engine: 'ort',
        }),
      expected: { shape: [5], codes: [117, 117, 117, 118, 255], scale: 0.0371, zeroPoint: 117 },
    },
  );
  return out;
}

/** Activation cases: PyTorch 1.13 goldens (tools/goldens/kernels_ops.py) and differential cases. */
export const activationsCases: CaseGroup = {
  name: 'activations',
  cases: () => [...nonGemmGoldenCases('kernels-activations.json', RUNNERS), ...differential()],
};
