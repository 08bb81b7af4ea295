export { QTensor } from './qtensor.js';
export type { Qparams, PerTensorQparams, PerChannelQparams } from './qtensor.js';
export { DTYPE_RANGE, allocStorage, isPerChannel } from './dtypes.js';
export type { QDtype, QScheme, IntArray, StorageOf } from './dtypes.js';
export { roundHalfToEven } from './rounding.js';
export { calculateQminQmax, calculateQparams, FLOAT32_EPS } from './qparams.js';
export type { CalculateQminQmaxOptions, CalculateQparamsOptions, QparamsResult, FloatQparamsResult } from './qparams.js';
