import type { CaseGroup } from './types.js';

/** Conformance cases of the gemm group (being written). */
export const gemmCases: CaseGroup = {
  name: 'gemm',
  cases: () => [],
};
