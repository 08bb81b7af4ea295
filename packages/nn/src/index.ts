export {
  Module,
  Parameter,
  isBuiltinModule,
  cloneModule,
  isObserverLike,
  makeObserver,
  setQuantizedBackend,
} from './module.js';
export type {
  StateDict,
  StateDictValue,
  IncompatibleKeys,
  LoadStateDictOptions,
  LoadStateDictContext,
  ObserverLike,
  ObserverFactoryLike,
  QConfigLike,
  ForwardHook,
  ForwardPreHook,
  RemovableHandle,
} from './module.js';
export { Sequential } from './container.js';
export { Conv2d } from './conv.js';
export type { Conv2dOptions, IntPair } from './conv.js';
export { Linear, Identity } from './linear.js';
export type { LinearOptions } from './linear.js';
export { ReLU, ReLU6, Hardtanh, Hardswish, Hardsigmoid, Sigmoid, Tanh } from './activation.js';
export type { InplaceOptions, HardtanhOptions } from './activation.js';
export { BatchNorm2d } from './batchnorm.js';
export type { BatchNorm2dOptions } from './batchnorm.js';
export { MaxPool2d, AvgPool2d, AdaptiveAvgPool2d } from './pooling.js';
export type { MaxPool2dOptions, AvgPool2dOptions, AdaptiveSize } from './pooling.js';
export { Flatten } from './flatten.js';
export { Dropout } from './dropout.js';
export type { DropoutOptions } from './dropout.js';
export { FloatFunctional } from './functional-modules.js';
export { QuantStub, DeQuantStub } from './stubs.js';
export * as nni from './intrinsic/index.js';
export * as nnq from './quantized/index.js';
export { observeWeight } from './quantized/utils.js';
export * as nnqd from './quantized/dynamic/index.js';
