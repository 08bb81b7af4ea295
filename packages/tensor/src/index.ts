export { QuantError, isQuantError, QUANT_ERROR_CODES } from './errors.js';
export type { QuantErrorCode } from './errors.js';
export { Tensor, contiguousStrides, shapeNumel } from './tensor.js';
export { Generator, zeros, ones, full, arange, tensor, rand, randn } from './creation.js';
export { defineOp, dispatchModuleCall, pushOpInterceptor, popOpInterceptor, NOT_INTERCEPTED } from './dispatch.js';
export type { OpInterceptor, TracedOp } from './dispatch.js';
