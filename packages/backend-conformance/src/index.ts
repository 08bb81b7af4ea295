export { describeBackendConformance } from './suite.js';
export type { ConformanceOptions } from './suite.js';
export { CASE_GROUPS } from './cases/index.js';
export { differentialCase } from './cases/types.js';
export {
  ORT_ADD_DISAGREEING,
  ORT_MUL_DISAGREEING,
  ORT_SIGMOID_DISAGREEING,
  ORT_TANH_DISAGREEING,
} from './cases/ort-disagreeing.js';
export type { OrtBinaryQparams, OrtQparams } from './cases/ort-disagreeing.js';
export type {
  CaseGroup,
  CaseOutput,
  ConformanceCase,
  DifferentialCase,
  ExpectedOutput,
  GoldenCase,
} from './cases/types.js';
export {
  loadGolden,
  qtensorFromJson,
  floatsFromBits,
  bitsOfFloats,
  codesFromHex,
  bitsFromHex,
  diffExpected,
  diffOutputs,
} from './golden.js';
export type { QTensorJson } from './golden.js';
