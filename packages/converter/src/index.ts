export { fuseConvBnWeights, fuseLinearBnWeights, fuseConvBnEval, fuseLinearBnEval } from './fusion.js';
export type { FusedWeights, BnParams } from './fusion.js';
export {
  fuseConvBn,
  fuseConvBnReLU,
  sequentialWrapper2,
  defaultOpListToFuserMethod,
  getFuserMethod,
} from './fuser-method-mappings.js';
export type { FuserMethod, FuserMethodEntry } from './fuser-method-mappings.js';
export { fuseModules, fuseModulesQat, fuseKnownModules } from './fuse-modules.js';
export type { FuseModulesOptions } from './fuse-modules.js';
export {
  defaultStaticQuantModuleMappings,
  defaultDynamicQuantModuleMappings,
  getDefaultStaticQuantModuleMappings,
  getDefaultDynamicQuantModuleMappings,
  getDefaultQConfigPropagationList,
} from './quantization-mappings.js';
export type { ModuleClass, ModuleMapping, QuantizedModuleClass, FromFloatOptions } from './quantization-mappings.js';
export { propagateQConfig, addObserver, prepare, swapModule, convert, quantize, quantizeDynamic } from './quantize.js';
export type {
  QConfigDict,
  AddObserverOptions,
  PrepareOptions,
  ConvertOptions,
  QuantizeOptions,
  QuantizeDynamicOptions,
} from './quantize.js';
export { modelBytes } from './model-bytes.js';
export type { ModelBytes } from './model-bytes.js';
export { prepareFx, convertFx, convertToReferenceFx } from './fx/quantize-fx.js';
export type { PrepareFxOptions, ConvertFxOptions } from './fx/quantize-fx.js';
export { fuseFx } from './fx/fuse.js';
export type { FuseFxOptions } from './fx/fuse.js';
export { ObserverModule } from './fx/observer-module.js';
export { ReferenceQuantizedModule } from './fx/convert.js';
export { compareWeights, compareModelOutputs } from './ns/numeric-suite.js';
export type { WeightComparison, OutputComparison } from './ns/numeric-suite.js';
export { computeSqnr, computeL2Error, computeCosineSimilarity } from './ns/utils.js';
export type { Comparable } from './ns/utils.js';
