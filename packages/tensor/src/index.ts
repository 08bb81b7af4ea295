export { QuantError, isQuantError, QUANT_ERROR_CODES } from './errors.js';
export type { QuantErrorCode } from './errors.js';
export { Tensor, contiguousStrides, shapeNumel } from './tensor.js';
export { Generator, zeros, ones, full, arange, tensor, rand, randn } from './creation.js';
export { defineOp, dispatchModuleCall, pushOpInterceptor, popOpInterceptor, NOT_INTERCEPTED } from './dispatch.js';
export type { OpInterceptor, TracedOp } from './dispatch.js';
export {
  relu,
  relu6,
  hardtanh,
  hardswish,
  hardsigmoid,
  sigmoid,
  tanh,
  add,
  mul,
  cat,
  matmul,
  linear,
  batchNorm2d,
  softmax,
  mean,
  flatten,
  reshape,
  permute,
  dropout,
} from './functional.js';
export type { BatchNorm2dOptions } from './functional.js';
export { conv2d } from './conv.js';
export type { Conv2dOptions } from './conv.js';
export { maxPool2d, avgPool2d, adaptiveAvgPool2d } from './pooling.js';
export type { MaxPool2dOptions, AvgPool2dOptions } from './pooling.js';
export { readNpy, readNpyHeader, writeNpy, npyToTensor } from './npy.js';
export type { NpyArray, NpyData, NpyDtype, NpyHeader, NpyReadOptions } from './npy.js';
export { sleefExpf } from './sleef.js';
