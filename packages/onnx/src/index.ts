export { loadModel, quantizeModel, runModel, saveModel, inspectModel } from './api.js';
export type {
  QuintModel,
  LoadModelOptions,
  QConfigPreset,
  CalibrationBatch,
  CalibrationBatches,
  QuantizeModelOptions,
  RunModelOptions,
  SaveModelOptions,
  InspectedNode,
  ModelInspection,
} from './api.js';
export {
  decodeModel,
  encodeModel,
  externalDataLocations,
  tensorToFloat32,
  tensorToNumbers,
  dataTypeName,
  dataTypeCode,
  allocTyped,
} from './proto.js';
export type {
  OnnxModel,
  OnnxGraph,
  OnnxNode,
  OnnxTensor,
  OnnxTensorData,
  OnnxDataType,
  OnnxAttribute,
  OnnxAttributeType,
  OnnxValueInfo,
  OnnxOpset,
  DecodeModelOptions,
  ExternalDataResolver,
} from './proto.js';
export { importModel } from './import.js';
export type { ImportOptions, ImportedGraphInfo } from './import.js';
export { exportModel } from './export.js';
export type { ExportOptions, QuantizedFormat } from './export.js';
export {
  QuantizedOp,
  DynamicQuantizeLinear,
  MatMulInteger,
  ConvInteger,
  quantizedReshape,
  quantizedPermute,
  sizeOf,
  qScaleOf,
} from './quantized-ops.js';
export type { QuantizedOpKind, QuantizedOpOptions, IntegerWeightOptions, ConvIntegerOptions } from './quantized-ops.js';
export { sanitizeName } from './names.js';
export { QUINT_VERSION } from './version.js';
