// The registry of conformance case groups. describeBackendConformance runs every case of every group
// listed here, in this order.
//
// To add a group:
//   1. write `src/cases/<group>.ts` exporting one `CaseGroup` (see ./types.ts): golden cases
//      (`kind: 'golden'`, read from `goldens/*.json` with `loadGolden` from ../golden.js, inside
//      `cases()` so nothing is read at import time), hand-computed cases (`kind: 'hand'`) and
//      differential cases (`differentialCase({ … arbitrary, run })`, compared with the reference);
//   2. add ONE import line below and the group to CASE_GROUPS. Nothing else to edit.
//
// Owners: gemm.ts, conv.ts, quantize.ts (core kernels); elementwise.ts, activations.ts, pooling.ts,
// shape.ts (non-GEMM kernels).
import { convCases } from './conv.js';
import { gemmCases } from './gemm.js';
import { quantizeCases } from './quantize.js';
import { elementwiseCases } from './elementwise.js';
import { activationsCases } from './activations.js';
import { poolingCases } from './pooling.js';
import { shapeCases } from './shape.js';
import type { CaseGroup } from './types.js';

/**
 * Every case group, in run order.
 *
 * @example
 * describeBackendConformance(make, { reference, groups: CASE_GROUPS.filter((g) => g.name === 'quantize') });
 */
export const CASE_GROUPS: readonly CaseGroup[] = [
  quantizeCases,
  gemmCases,
  convCases,
  elementwiseCases,
  activationsCases,
  poolingCases,
  shapeCases,
];
