// torch/ao/quantization/fx/convert.py (PyTorch 1.13): observers become quantize_per_tensor →
// dequantize, weighted modules become reference modules (float op on a quantize→dequantize weight).
import { QuantError, type Tensor } from '@quint/tensor';
import { quantizePerChannel, quantizePerTensor, type QTensor } from '@quint/qtensor';
import { cloneModule, Module, nni, observeWeight, Parameter } from '@quint/nn';
import type { QConfigAny } from '@quint/observers';
import { Graph, GraphModule, Node, type Argument } from '@quint/fx-graph-tracer';
import { moduleOf } from './backend-config.js';
import { isObserverModule, type ObserverModule } from './observer-module.js';
import { FX_STATE, type FxPrepareState } from './prepare.js';
import type { QuantizedOps } from './quantized-ops.js';

/**
 * The reference quantized form of a conv/linear (PyTorch's `nnqr.Conv2d`/`nnqr.Linear`, inside
 * `nni.ConvReLU2d`/`nni.LinearReLU` when fused): the float module run with its weight quantized
 * (qint8, the weight observer's qparams) and dequantized again. `qweight` holds the codes the
 * lowered nnq module uses.
 *
 * @example
 * const ref = reference.getSubmodule('conv1') as ReferenceQuantizedModule;
 * ref.qweight.intRepr(); // Int8Array [...]
 * @see https://github.com/pytorch/pytorch/blob/v1.13.1/torch/ao/nn/quantized/reference/modules/conv.py
 */
export class ReferenceQuantizedModule extends Module {
  /**
   * The float module (fused or not) whose weight is the dequantized `qweight`, made when first read:
   * convertFx lowers reference modules without running them, so there the dequantized weights (45 MB
   * for ResNet-18) are never made.
   */
  declare inner: Module;
  /** The quantized weight (codes and qparams). */
  declare readonly qweight: QTensor;
  /**
   * The float module it was made from (float weight; the prepared model's own, not a copy), kept
   * for lowering and inspection.
   */
  declare readonly floatModule: Module;

  /** Wraps `floatModule` with its weight quantized as `qweight`. */
  constructor(floatModule: Module, qweight: QTensor) {
    super();
    Object.defineProperty(this, 'qweight', { value: qweight, enumerable: false });
    Object.defineProperty(this, 'floatModule', { value: floatModule, enumerable: false });
    // An own enumerable accessor, so that namedChildren lists `inner` (and makes it).
    Object.defineProperty(this, 'inner', { get: makeInner, enumerable: true, configurable: true });
  }

  /** Runs the float op on the dequantized weight. */
  forward(x: Tensor): Tensor {
    return (this.inner.call as (x: Tensor) => Tensor)(x);
  }

  /** `QuantizedConv2d(Reference)`, `QuantizedLinearReLU(Reference)`, … as PyTorch names them. */
  override getName(): string {
    return `Quantized${this.floatModule.getName()}(Reference)`;
  }
}

/**
 * `inner` of a reference module: a copy of its float module that takes the dequantized weight in
 * place of the float one (never copied), stored as a plain property from then on.
 */
function makeInner(this: ReferenceQuantizedModule): Module {
  const weight = new Parameter(this.qweight.dequantize());
  const inner = cloneModule(this.floatModule, new Map([[gemmOf(this.floatModule).weight, weight]]));
  Object.defineProperty(this, 'inner', { value: inner, enumerable: true, writable: true, configurable: true });
  return inner;
}

/** `_quantize_weight` of the reference modules: the weight observer's qparams, no clamping. */
export function quantizeWeightForReference(weight: Tensor, qconfig: NonNullable<QConfigAny>, where: string): QTensor {
  const obs = observeWeight(qconfig, weight, `convertFx: ${where}`);
  const { scale, zeroPoint } = obs.calculateQparams();
  if (obs.dtype !== undefined && obs.dtype !== 'qint8') {
    throw new QuantError(
      'DTYPE_MISMATCH',
      `convertFx: the weight observer of ${where} has dtype ${obs.dtype}; conv/linear weights must be qint8 (use a qconfig whose weight observer is qint8).`,
    );
  }
  const qscheme = obs.qscheme ?? 'per_tensor_affine';
  if (qscheme === 'per_tensor_affine' || qscheme === 'per_tensor_symmetric')
    return quantizePerTensor(weight, scale[0]!, zeroPoint[0]!, 'qint8');
  if (qscheme === 'per_channel_affine' || qscheme === 'per_channel_symmetric') {
    return quantizePerChannel(weight, Float64Array.from(scale), Int32Array.from(zeroPoint), obs.chAxis ?? 0, 'qint8');
  }
  throw new QuantError(
    'INVALID_ARGUMENT',
    `convertFx: weight qscheme '${qscheme}' of ${where} is not supported; use per_tensor_* or per_channel_*.`,
  );
}

function gemmOf(m: Module): Module & { weight: Tensor } {
  return (m instanceof nni.ConvReLU2d || m instanceof nni.LinearReLU ? m.get(0) : m) as Module & { weight: Tensor };
}

function isWeighted(m: Module | undefined): boolean {
  return (
    m !== undefined &&
    ['Conv2d', 'Linear', 'ConvReLU2d', 'LinearReLU'].includes(m.constructor.name) &&
    'weight' in gemmOf(m)
  );
}

/** The prepare state of an observed GraphModule, or a clear error. */
export function prepareStateOf(prepared: GraphModule, fn: string): FxPrepareState {
  const st = prepared.meta?.[FX_STATE] as FxPrepareState | undefined;
  if (st === undefined) {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `${fn}: the model is not an observed GraphModule (no prepare state); call prepareFx(model, qconfigMapping, exampleInputs) and calibrate it first.`,
    );
  }
  return st;
}

function newAttrName(gm: GraphModule, prefix: string): string {
  for (let i = 0; ; i++) if (!Object.hasOwn(gm, `${prefix}${i}`)) return `${prefix}${i}`;
}

/**
 * PyTorch's `convert(model, is_reference=True)`: copies the observed graph (the prepared module is
 * not changed), replaces every observer with `quantize_per_tensor(x, <path>_scale_<k>,
 * <path>_zero_point_<k>, quint8)` → `dequantize`, and every observed conv/linear with its reference
 * module. Returns the reference GraphModule (observer modules dropped). @internal
 */
export function convertToReference(prepared: GraphModule, ops: QuantizedOps): GraphModule {
  const st = prepareStateOf(prepared, 'convertFx');
  const { qconfigMap, nodeNameToScope, observedNodeNames } = st;
  const graph = new Graph();
  const out = graph.graphCopy(prepared.graph, new Map());
  graph.output(out);
  const gm = new GraphModule(prepared, graph, prepared.getName());
  gm.meta[FX_STATE] = st;
  // An observed conv/linear becomes a reference module, which copies what it runs.
  const becomesReference = (node: Node, m: Module | undefined): boolean =>
    isWeighted(m) && (qconfigMap.get(node.name) ?? null) !== null && observedNodeNames.has(node.name);
  // The converted model owns copies of the other modules it runs (prepared keeps its own).
  for (const n of graph.nodes) {
    const m = moduleOf(gm, n);
    if (m !== undefined && !isObserverModule(m) && !becomesReference(n, m))
      gm.setSubmodule(n.target as string, cloneModule(m));
  }
  const hasNoneQConfig = (a: Argument): boolean =>
    a instanceof Node && qconfigMap.has(a.name) && qconfigMap.get(a.name) === null;

  for (const node of graph.nodes) {
    if (node.op !== 'call_module') continue;
    const m = moduleOf(gm, node);
    if (isObserverModule(m)) {
      const observed = node.args[0] as Node;
      const skip = [...node.args, ...node.users].every(hasNoneQConfig);
      const obs = (m as ObserverModule).observer;
      const dtype = obs.dtype;
      if (skip || (dtype !== 'quint8' && dtype !== 'qint8')) {
        node.replaceAllUsesWith(observed);
        graph.eraseNode(node);
        continue;
      }
      // get_module_path_and_prefix: an input-only observer is named after its first user's module.
      const inputOnly = qconfigMap.has(observed.name) && qconfigMap.get(observed.name) === null;
      const scopeNode = inputOnly ? [...node.users][0] : observed;
      const modulePath = scopeNode === undefined ? '' : (nodeNameToScope.get(scopeNode.name)?.[0] ?? '');
      const prefix = `${modulePath.replace(/\./g, '_')}${inputOnly ? '_input' : ''}`;
      const { scale, zeroPoint } = obs.calculateQparams();
      graph.insertingBefore(node, () => {
        const sName = newAttrName(gm, `${prefix}_scale_`);
        (gm as unknown as Record<string, unknown>)[sName] = scale[0]!;
        const sNode = graph.getAttr(sName);
        const zName = newAttrName(gm, `${prefix}_zero_point_`);
        (gm as unknown as Record<string, unknown>)[zName] = zeroPoint[0]!;
        const zNode = graph.getAttr(zName);
        const q = graph.callFunction(ops.quantizePerTensor, [observed, sNode, zNode, dtype]);
        const dq = graph.callMethod('dequantize', [q]);
        node.replaceAllUsesWith(dq);
      });
      graph.eraseNode(node);
      continue;
    }
    if (becomesReference(node, m)) {
      const qweight = quantizeWeightForReference(gemmOf(m!).weight, qconfigMap.get(node.name)!, `%${node.name}`);
      gm.setSubmodule(node.target as string, new ReferenceQuantizedModule(m!, qweight));
    }
  }
  graph.eliminateDeadCode();
  graph.lint();
  const ref = new GraphModule(gm, graph, gm.getName());
  ref.meta[FX_STATE] = st;
  return ref;
}
