export { ObserverBase, ObserverFactory, isObserverFactory } from './observer-base.js';
export type {
  ObserverArgs,
  ObserverClass,
  ObserverCommonOptions,
  ObserverDtype,
  ObserverFloatQparams,
  ObserverQparams,
  ObserverQScheme,
  ObserverStateDict,
} from './observer-base.js';
export { UniformQuantizationObserverBase } from './uniform-quantization-observer-base.js';
export type { UniformQuantizationObserverOptions } from './uniform-quantization-observer-base.js';
export { MinMaxObserver } from './min-max-observer.js';
export type { MinMaxObserverOptions } from './min-max-observer.js';
export { MovingAverageMinMaxObserver } from './moving-average-min-max-observer.js';
export type { MovingAverageMinMaxObserverOptions } from './moving-average-min-max-observer.js';
export { PerChannelMinMaxObserver } from './per-channel-min-max-observer.js';
export type { PerChannelMinMaxObserverOptions } from './per-channel-min-max-observer.js';
export { MovingAveragePerChannelMinMaxObserver } from './moving-average-per-channel-min-max-observer.js';
export type { MovingAveragePerChannelMinMaxObserverOptions } from './moving-average-per-channel-min-max-observer.js';
export { HistogramObserver } from './histogram-observer.js';
export type { HistogramObserverOptions, HistogramTorchCompat } from './histogram-observer.js';
export { FixedQParamsObserver } from './fixed-qparams-observer.js';
export type { FixedQParamsObserverOptions } from './fixed-qparams-observer.js';
export { PlaceholderObserver } from './placeholder-observer.js';
export type { PlaceholderObserverOptions } from './placeholder-observer.js';
export { NoopObserver } from './noop-observer.js';
export type { NoopObserverOptions } from './noop-observer.js';
export { RecordingObserver } from './recording-observer.js';
export type { RecordingObserverOptions } from './recording-observer.js';
export { ReuseInputObserver } from './reuse-input-observer.js';
export {
  defaultObserver,
  defaultPlaceholderObserver,
  defaultDebugObserver,
  defaultWeightObserver,
  weightObserverRangeNeg127To127,
  defaultHistogramObserver,
  defaultPerChannelWeightObserver,
  perChannelWeightObserverRangeNeg127To127,
  defaultDynamicQuantObserver,
  defaultFloatQparamsObserver,
  defaultFixedQParamsRangeNeg1to1Observer,
  defaultFixedQParamsRange0to1Observer,
  defaultReuseInputObserver,
} from './default-observers.js';
export {
  QConfig,
  qconfigEquals,
  observerFactoryEquals,
  isReuseInputQConfig,
  getDefaultQConfig,
  defaultQConfig,
  defaultDebugQConfig,
  defaultPerChannelQConfig,
  defaultDynamicQConfig,
  perChannelDynamicQConfig,
  float16DynamicQConfig,
  float16StaticQConfig,
  floatQparamsWeightOnlyQConfig,
  defaultReuseInputQConfig,
  defaultSymmetricQnnpackQConfig,
  defaultPerChannelSymmetricQnnpackQConfig,
} from './qconfig.js';
export type { QConfigInit, QConfigAny, QConfigBackend, DefaultQConfigOptions, ObserverConstructor } from './qconfig.js';
export { QConfigMapping, getDefaultQConfigMapping, objectTypeKey } from './qconfig-mapping.js';
export type { ObjectType, ModuleNameObjectTypeOrder, QConfigDict } from './qconfig-mapping.js';
