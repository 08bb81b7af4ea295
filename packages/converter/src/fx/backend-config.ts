// The part of PyTorch 1.13's native BackendConfig (backend_config/native.py,
// _common_operator_config_utils.py) and of _lower_to_native_backend.py's op lists that covers the
// modules and functional ops quint has. It answers, per node, how prepare observes it and how
// convert lowers it.
import {
  AdaptiveAvgPool2d,
  AvgPool2d,
  BatchNorm2d,
  Conv2d,
  Dropout,
  Hardsigmoid,
  Hardswish,
  Hardtanh,
  Identity,
  Linear,
  MaxPool2d,
  ReLU,
  ReLU6,
  Sigmoid,
  Tanh,
  nni,
  type Module,
} from '@quint/nn';
import type { Node } from '@quint/fx-graph-tracer';

/**
 * How a pattern is observed and lowered (PyTorch's ObservationType plus the lowering family):
 * - `weighted`: conv/linear (fused or not): input observer, own output observer, lowered to nnq.
 * - `binary`: add/mul: own output observer with two tensor inputs; shares its input's with one.
 * - `share`: maxpool, avgpool, adaptive avgpool, flatten, relu, relu6, hardtanh, mean, reshape, …:
 *   the output observer is the input's instance (OUTPUT_SHARE_OBSERVER_WITH_INPUT).
 * - `cat`: like `share`, and every input shares the first input's observer.
 * - `fixed`: sigmoid, tanh, hardsigmoid: a FixedQParamsObserver on the output.
 * - `default`: hardswish, dropout: own output observer, lowered to a quantized op.
 */
export type PatternKind = 'weighted' | 'binary' | 'share' | 'cat' | 'fixed' | 'default';

type ModuleClass = abstract new (...args: never[]) => Module;

const MODULE_KINDS: ReadonlyArray<readonly [ModuleClass, PatternKind]> = [
  [Conv2d, 'weighted'],
  [Linear, 'weighted'],
  [nni.ConvReLU2d, 'weighted'],
  [nni.LinearReLU, 'weighted'],
  [AdaptiveAvgPool2d, 'share'],
  [AvgPool2d, 'share'],
  [Hardtanh, 'share'],
  [Identity, 'share'],
  [MaxPool2d, 'share'],
  [ReLU, 'share'],
  [ReLU6, 'share'],
  [Sigmoid, 'fixed'],
  [Tanh, 'fixed'],
  [Hardsigmoid, 'fixed'],
  [Hardswish, 'default'],
  [Dropout, 'default'],
];

// Functional ops by opName (@quint/tensor): the torch functions they stand for are in the comment.
const FUNCTION_KINDS: ReadonlyMap<string, PatternKind> = new Map<string, PatternKind>([
  ['add', 'binary'], // operator.add, torch.add
  ['mul', 'binary'], // operator.mul, torch.mul
  ['cat', 'cat'], // torch.cat
  ['relu', 'share'], // F.relu (quint has one relu op; PyTorch's unfusable torch.relu is not modelled)
  ['relu6', 'share'], // F.relu6
  ['hardtanh', 'share'], // F.hardtanh
  ['maxPool2d', 'share'], // F.max_pool2d
  ['avgPool2d', 'share'], // torch._C._nn.avg_pool2d
  ['adaptiveAvgPool2d', 'share'], // F.adaptive_avg_pool2d
  ['flatten', 'share'], // torch.flatten
  ['mean', 'share'], // torch.mean
  ['sigmoid', 'fixed'], // torch.sigmoid, F.sigmoid
  ['tanh', 'fixed'], // torch.tanh
  ['hardsigmoid', 'fixed'], // F.hardsigmoid
  ['hardswish', 'default'], // F.hardswish
  ['dropout', 'default'], // F.dropout
]);

const METHOD_KINDS: ReadonlyMap<string, PatternKind> = new Map<string, PatternKind>([
  ...[
    'contiguous',
    'clamp',
    'detach',
    'detach_',
    'mean',
    'permute',
    'repeat',
    'repeat_interleave',
    'reshape',
    'resize_',
    'relu',
    'relu_',
    'shape',
    'size',
    'squeeze',
    'squeeze_',
    'transpose',
    'unsqueeze',
    'unsqueeze_',
    'view',
  ].map((m) => [m, 'share'] as const),
  ...['hardsigmoid', 'hardsigmoid_', 'sigmoid', 'sigmoid_', 'tanh', 'tanh_'].map((m) => [m, 'fixed'] as const),
]);

/** The opName of a call_function target (`add`, `flatten`, …), or its function name. */
export function functionKey(target: unknown): string {
  const t = target as { opName?: unknown; name?: unknown };
  return typeof t.opName === 'string' ? t.opName : typeof t.name === 'string' ? t.name : String(target);
}

/** The module a call_module node calls, or undefined. */
export function moduleOf(root: Module, node: Node): Module | undefined {
  if (node.op !== 'call_module' || typeof node.target !== 'string') return undefined;
  try {
    return root.getSubmodule(node.target);
  } catch {
    return undefined;
  }
}

/** The pattern kind of a single node, or undefined when the native backend has no pattern for it. */
export function patternKindOf(root: Module, node: Node): PatternKind | undefined {
  if (node.op === 'call_module') {
    const m = moduleOf(root, node);
    if (m === undefined) return undefined;
    return MODULE_KINDS.find(([cls]) => m.constructor === cls)?.[1];
  }
  if (node.op === 'call_function') return FUNCTION_KINDS.get(functionKey(node.target));
  if (node.op === 'call_method') return METHOD_KINDS.get(String(node.target));
  return undefined;
}

/** True for a ReLU that can close a binary pattern (`(nn.ReLU, add)`, `(F.relu, add)`). */
export function isReluNode(root: Module, node: Node): boolean {
  if (node.op === 'call_function') return functionKey(node.target) === 'relu';
  if (node.op === 'call_module') return moduleOf(root, node)?.constructor === ReLU;
  return false;
}

/** The fixed qparams range of a fixed-qparams node: sigmoid/hardsigmoid (1/256, 0), tanh (2/256, 128). */
export function fixedQparamsRange(root: Module, node: Node): 'range0to1' | 'rangeNeg1to1' {
  const m = moduleOf(root, node);
  if (m !== undefined) return m.constructor === Tanh ? 'rangeNeg1to1' : 'range0to1';
  const key = node.op === 'call_function' ? functionKey(node.target) : String(node.target);
  return key.startsWith('tanh') ? 'rangeNeg1to1' : 'range0to1';
}

/** True for a standalone BatchNorm2d, which PyTorch quantizes but quint has no quantized kernel for. */
export function isStandaloneBatchNorm(root: Module, node: Node): boolean {
  return moduleOf(root, node)?.constructor === BatchNorm2d;
}

/** The type key QConfigMapping uses for a module: its class name (`Conv2d`, `ConvReLU2d`, …). */
export function moduleTypeKey(m: Module): string {
  return m.constructor.name;
}
