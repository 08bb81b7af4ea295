// The `nnqd` namespace (torch.ao.nn.quantized.dynamic).
export { Linear } from './linear.js';
export type { DynamicLinearOptions } from './linear.js';
