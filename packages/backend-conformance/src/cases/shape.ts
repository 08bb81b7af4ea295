// Conformance cases of the shape group: reshape, flatten (spec §5.9).
import type { Engine } from '@quint/qtensor';
import * as fc from 'fast-check';
import { nonGemmGoldenCases, type NonGemmRunner } from './non-gemm-golden.js';
import { nchwArb, qdataArb, toQ } from './non-gemm-arbitraries.js';
import { differentialCase, type CaseGroup, type ConformanceCase } from './types.js';

const RUNNERS: Record<string, NonGemmRunner> = {
  reshape: (be, [x], p, o) => be.kernels.reshape(x!, p.shape, o),
  flatten: (be, [x], p, o) => be.kernels.flatten(x!, { startDim: p.startDim, endDim: p.endDim }, o),
};

function differential(): ConformanceCase[] {
  const out: ConformanceCase[] = [];
  for (const engine of ['qnnpack', 'onednn', 'ort', 'fbgemm'] as Engine[]) {
    out.push(
      differentialCase({
        op: 'flatten',
        engine,
        name: 'random',
        arbitrary: nchwArb(3, 5, 5, 5).chain((s) => fc.tuple(qdataArb(s), fc.integer({ min: -4, max: 3 }))),
        run: (be, [x, start]) => be.kernels.flatten(toQ(x), { startDim: start }, { engine }),
      }),
      differentialCase({
        op: 'reshape',
        engine,
        name: 'random',
        arbitrary: nchwArb(3, 5, 5, 5).chain((s) => qdataArb(s)),
        run: (be, x) => be.kernels.reshape(toQ(x), [x.shape[0]! * x.shape[1]!, -1], { engine }),
      }),
    );
  }
  return out;
}

/** Shape cases: PyTorch 1.13 goldens (tools/goldens/kernels_ops.py) and differential cases. */
export const shapeCases: CaseGroup = {
  name: 'shape',
  cases: () => [...nonGemmGoldenCases('kernels-shape.json', RUNNERS), ...differential()],
};
