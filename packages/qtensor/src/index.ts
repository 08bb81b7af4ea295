export { QTensor } from './qtensor.js';
export type { Qparams, PerTensorQparams, PerChannelQparams } from './qtensor.js';
export { DTYPE_RANGE, allocStorage, isPerChannel } from './dtypes.js';
export type { QDtype, QScheme, IntArray, StorageOf } from './dtypes.js';
export { roundHalfToEven } from './rounding.js';
export { calculateQminQmax, calculateQparams, FLOAT32_EPS } from './qparams.js';
export type { CalculateQminQmaxOptions, CalculateQparamsOptions, QparamsResult, FloatQparamsResult } from './qparams.js';
export { OP_NAMES, ENGINES, DEFAULT_ENGINE, opNames, isOpName, defineBackend } from './backend.js';
export type {
  Engine,
  OpGroup,
  OpInfo,
  OpName,
  MemoryFormat,
  OutQparams,
  TraceOperand,
  GemmTraceRecord,
  ElementTraceRecord,
  TraceRecord,
  TraceOptions,
  KernelOptions,
  LinearDynamicOptions,
  Conv2dPrepackOptions,
  LinearPrepackOptions,
  PackedConv2d,
  PackedLinear,
  PerChannelOutQparams,
  HardtanhParams,
  ClampParams,
  MaxPool2dParams,
  AvgPool2dParams,
  MeanParams,
  FlattenParams,
  KernelTable,
  SupportsParams,
  QuantizedBackend,
  BackendDefinition,
} from './backend.js';
export { quantizePerTensor, quantizePerChannel, dequantize, makePerTensorQuantizedTensor, makePerChannelQuantizedTensor } from './quantize.js';
export type { IntTensor } from './quantize.js';
export { quantizeVal, dequantizeVal, dequantizeValFma, fmaf } from './affine-quantizer-base.js';
export {
  qnnpackMultiplier,
  qnnpackBias,
  qnnpackPreRound,
  qnnpackOutputCode,
  outputRange,
  onednnScales,
  onednnBias,
  onednnPreRound,
  onednnOutputCode,
  ortMultiplier,
  ortBias,
  ortOutputCode,
  fbgemmScales,
  fbgemmBias,
  fbgemmPreRound,
  fbgemmOutputCode,
  requantizeFromInt,
  prepareGemmRequantization,
  requantizePreRound,
  requantizeOutputCode,
  requantizeAcc,
  chooseQuantizationParams,
} from './requantize.js';
export type { OutputRange, GemmRequantizationParams, GemmRequantization } from './requantize.js';
export {
  DEFAULT_MIN_INPUT_SCALE,
  checkConv2dPrepack,
  checkLinearPrepack,
  createEngineContext,
  resolveEngine,
  checkGemmActivation,
  checkGemmOutQparams,
  checkInFeatures,
  conv2dGeometry,
  gemmCallRequantization,
  checkLinearDynamicInput,
  quantizeDynamicInput,
  linearDynamicOutput,
  emitGemmTrace,
  linearTraceOperands,
  conv2dTraceOperands,
  supportsGemm,
} from './gemm-checks.js';
export type {
  WeightChannels,
  CheckedConv2dWeight,
  CheckedLinearWeight,
  EngineContext,
  Conv2dGeometry,
  GemmTraceOperands,
} from './gemm-checks.js';
