import type { CaseGroup } from './types.js';

/** Conformance cases of the quantize group (being written). */
export const quantizeCases: CaseGroup = {
  name: 'quantize',
  cases: () => [],
};
