import type { CaseGroup } from './types.js';

/** Conformance cases of the conv group (being written). */
export const convCases: CaseGroup = {
  name: 'conv',
  cases: () => [],
};
