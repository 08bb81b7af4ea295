// Conformance cases of the elementwise group: add, addRelu, mul, mulRelu, cat (spec §5.3–§5.5).
import { QTensor, type Engine, type QuantizedBackend } from '@quint/qtensor';
import * as fc from 'fast-check';
import { nonGemmGoldenCases, type NonGemmRunner } from './non-gemm-golden.js';
import { memoryFormatArb, nchwArb, qdataArb, scaleArb, toQ, zeroPointArb } from './non-gemm-arbitraries.js';
import { ORT_ADD_DISAGREEING, ORT_MUL_DISAGREEING, type OrtQparams } from './ort-disagreeing.js';
import { differentialCase, type CaseGroup, type ConformanceCase } from './types.js';

/**
 * One operand of all 65,536 code pairs, as a [256, 256] tensor with qparams `q`: code `(i >> shift) &
 * 255` at index i (shift 8: the row, the first operand; shift 0: the column, the second).
 */
function everyPairCode(q: OrtQparams, shift: number): QTensor {
  const codes = Uint8Array.from({ length: 1 << 16 }, (_, i) => (i >> shift) & 255);
  return new QTensor(codes, [256, 256], 'quint8', { qscheme: 'per_tensor_affine', ...q });
}

const binary =
  (op: 'add' | 'addRelu' | 'mul' | 'mulRelu'): NonGemmRunner =>
  (be, [a, b], p, opts) =>
    be.kernels[op](a!, b!, { scale: p.outScale, zeroPoint: p.outZeroPoint }, opts);

const RUNNERS = {
  add: binary('add'),
  addRelu: binary('addRelu'),
  mul: binary('mul'),
  mulRelu: binary('mulRelu'),
  cat: (
    be: QuantizedBackend,
    xs: readonly QTensor[],
    p: Record<string, any>,
    opts: { engine: Engine; memoryFormat: 'contiguous' | 'channels_last' },
  ) =>
    be.kernels.cat(
      xs,
      p.dim,
      p.outScale === undefined ? undefined : { scale: p.outScale, zeroPoint: p.outZeroPoint },
      opts,
    ),
};

function differential(): ConformanceCase[] {
  const out: ConformanceCase[] = [];
  for (const engine of ['qnnpack', 'onednn'] as const) {
    for (const op of ['add', 'addRelu', 'mul', 'mulRelu'] as const) {
      // Same shape (QNNPACK's fixed-point add on qnnpack) with ratios inside its [2^-14, 2^8) range.
      out.push(
        differentialCase({
          op,
          engine,
          name: 'random same shape',
          supports: { dtype: 'quint8' },
          arbitrary: nchwArb(2, 12, 6, 13).chain((s) =>
            fc.tuple(qdataArb(s), qdataArb(s), scaleArb(0.01, 0.5), zeroPointArb, memoryFormatArb),
          ),
          run: (be, [a, b, os, oz, memoryFormat]) =>
            be.kernels[op](toQ(a), toQ(b), { scale: os, zeroPoint: oz }, { engine, memoryFormat }),
        }),
        differentialCase({
          op,
          engine,
          name: 'random broadcast [1,C,1,1]',
          supports: { dtype: 'quint8' },
          arbitrary: nchwArb(2, 8, 5, 70).chain(([n, c, h, w]) =>
            fc.tuple(
              qdataArb([n, c, h, w]),
              qdataArb([1, c, 1, 1]),
              scaleArb(0.01, 0.5),
              zeroPointArb,
              memoryFormatArb,
            ),
          ),
          run: (be, [a, b, os, oz, memoryFormat]) =>
            be.kernels[op](toQ(a), toQ(b), { scale: os, zeroPoint: oz }, { engine, memoryFormat }),
        }),
      );
    }
    out.push(
      differentialCase({
        op: 'cat',
        engine,
        name: 'random dim 1, mixed qparams',
        supports: { dtype: 'quint8' },
        arbitrary: fc
          .tuple(nchwArb(2, 1, 4, 4), fc.array(fc.integer({ min: 1, max: 45 }), { minLength: 1, maxLength: 3 }))
          .chain(([[n, , h, w], cs]) =>
            fc.tuple(
              fc.tuple(...cs.map((c) => qdataArb([n, c, h, w]))),
              fc.option(fc.tuple(scaleArb(), zeroPointArb), { nil: undefined }),
              memoryFormatArb,
            ),
          ),
        run: (be, [xs, o, memoryFormat]) =>
          be.kernels.cat(xs.map(toQ), 1, o === undefined ? undefined : { scale: o[0], zeroPoint: o[1] }, {
            engine,
            memoryFormat,
          }),
      }),
    );
  }
  // Engine ort: add/mul (both ONNX Runtime builds, `target`) and cat (docs/numerics.md "Engine ort";
  // kernels-js checks them against ONNX Runtime itself).
  for (const target of ['wasm', 'x64'] as const) {
    for (const op of ['add', 'addRelu', 'mul', 'mulRelu'] as const) {
      out.push(
        differentialCase({
          op,
          engine: 'ort',
          name: `random broadcast both ways, target ${target}`,
          supports: { dtype: 'quint8' },
          // [1,C,1,W] with [N,1,H,1], either order (ORT swaps the operands when input 0 is the per-span scalar).
          arbitrary: nchwArb(2, 8, 5, 13).chain(([n, c, h, w]) =>
            fc.tuple(qdataArb([1, c, 1, w]), qdataArb([n, 1, h, 1]), fc.boolean(), scaleArb(0.01, 0.5), zeroPointArb),
          ),
          run: (be, [a, b, swap, os, oz]) =>
            be.kernels[op](
              toQ(swap ? b : a),
              toQ(swap ? a : b),
              { scale: os, zeroPoint: oz },
              { engine: 'ort', target },
            ),
        }),
      );
    }
    // Every code pair at qparams where onnxruntime-node and -web disagree: a backend that ignores
    // `target` fails one of the two targets.
    for (const [op, sets] of [
      ['add', ORT_ADD_DISAGREEING],
      ['mul', ORT_MUL_DISAGREEING],
    ] as const) {
      sets.forEach((q, i) =>
        out.push(
          differentialCase({
            op,
            engine: 'ort',
            name: `every code pair, qparams set ${i + 1} where the ONNX Runtime builds differ, target ${target}`,
            supports: { dtype: 'quint8' },
            numRuns: 1,
            arbitrary: fc.constant(q),
            run: (be, { a, b, c }) =>
              be.kernels[op](everyPairCode(a, 8), everyPairCode(b, 0), c, { engine: 'ort', target }),
          }),
        ),
      );
    }
  }
  out.push(
    differentialCase({
      op: 'cat',
      engine: 'ort',
      name: 'random dim 1, mixed qparams',
      supports: { dtype: 'quint8' },
      arbitrary: fc
        .tuple(nchwArb(2, 1, 4, 4), fc.array(fc.integer({ min: 1, max: 45 }), { minLength: 1, maxLength: 3 }))
        .chain(([[n, , h, w], cs]) =>
          fc.tuple(
            fc.tuple(...cs.map((c) => qdataArb([n, c, h, w]))),
            fc.option(fc.tuple(scaleArb(), zeroPointArb), { nil: undefined }),
          ),
        ),
      run: (be, [xs, o]) =>
        be.kernels.cat(xs.map(toQ), 1, o === undefined ? undefined : { scale: o[0], zeroPoint: o[1] }, {
          engine: 'ort',
        }),
    }),
  );
  return out;
}

/** Elementwise cases: PyTorch 1.13 goldens (tools/goldens/kernels_ops.py) and differential cases. */
export const elementwiseCases: CaseGroup = {
  name: 'elementwise',
  cases: () => [...nonGemmGoldenCases('kernels-elementwise.json', RUNNERS), ...differential()],
};
