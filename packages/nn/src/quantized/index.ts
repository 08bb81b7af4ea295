// The `nnq` namespace (torch.ao.nn.quantized, with torch.ao.nn.intrinsic.quantized's fused modules).
export { Quantize, DeQuantize } from './quantize.js';
export type { QuantizeOptions, DeQuantizeOptions } from './quantize.js';
export { Conv2d, ConvReLU2d } from './conv.js';
export type { QuantizedConv2dOptions } from './conv.js';
export { Linear, LinearReLU } from './linear.js';
export type { QuantizedLinearOptions } from './linear.js';
export { ReLU6, Hardswish } from './activation.js';
export type { QuantizedReLU6Options } from './activation.js';
export { QFunctional } from './functional-modules.js';
export { isQTensor } from './utils.js';
export type { QuantizedModuleOptions } from './utils.js';
