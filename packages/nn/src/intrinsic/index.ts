// The `nni` namespace (torch.ao.nn.intrinsic): fused float modules.
export { ConvReLU2d, ConvBn2d, ConvBnReLU2d, LinearReLU } from './fused.js';
