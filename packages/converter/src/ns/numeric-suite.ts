// torch/ao/ns/_numeric_suite.py (PyTorch 1.13): compare a float model with its quantized version,
// weight by weight and layer by layer. Graph-mode models are compared node by node (the names
// _numeric_suite_fx matches on); eager models module by module, as compare_model_outputs does.
import { QuantError, Tensor } from '@quint/tensor';
import type { QTensor } from '@quint/qtensor';
import { nnq, type Module, type StateDict, type StateDictValue } from '@quint/nn';
import { GraphModule, Interpreter, symbolicTrace, type Node } from '@quint/fx-graph-tracer';
import { computeCosineSimilarity, computeL2Error, computeSqnr } from './utils.js';
import { isObserverModule } from '../fx/observer-module.js';

/** One weight of {@link compareWeights}: the float tensor and its quantized counterpart. */
export interface WeightComparison {
  readonly float: Tensor;
  readonly quantized: QTensor | Tensor;
}

// PyTorch's `_find_match`: 'conv.weight' matches 'conv.weight' and (fused) 'conv.0.weight'.
function findMatch(keys: readonly string[], key: string, postfix: string): string | undefined {
  const split = key.split('.');
  if (split[split.length - 1] !== postfix) return undefined;
  const match = split.slice(0, -1).join('');
  for (const s of keys) {
    const p = s.split('.');
    if (match === p.slice(0, -1).join('') || match === p.slice(0, -2).join('')) return s;
  }
  return undefined;
}

/**
 * Pairs every weight of a quantized model's state dict with the float weight it came from
 * (PyTorch's `compare_weights`): `conv1.weight` ↔ `conv1.weight` or, for fused float modules,
 * `conv1.0.weight`; a quantized linear's `fc._packed_params.weight` ↔ `fc.weight`. Keys are the
 * quantized state dict's.
 *
 * @example
 * const w = compareWeights(fused.stateDict(), quantized.stateDict());
 * computeSqnr(w['conv1.weight']!.float, w['conv1.weight']!.quantized); // dB
 * @see https://pytorch.org/docs/1.13/torch.ao.ns._numeric_suite.html
 */
export function compareWeights(floatDict: StateDict, quantizedDict: StateDict): Record<string, WeightComparison> {
  const out: Record<string, WeightComparison> = {};
  const floatKeys = Object.keys(floatDict);
  const isTensorish = (v: StateDictValue | undefined): v is Tensor | QTensor => v instanceof Tensor || nnq.isQTensor(v);
  for (const [key, q] of Object.entries(quantizedDict)) {
    if (!isTensorish(q)) continue;
    // quint keeps a quantized linear's weight under `_packed_params.weight` (PyTorch: a tuple).
    const k = key.endsWith('._packed_params.weight') ? key.replace(/\._packed_params\.weight$/, '.weight') : key;
    const m = findMatch(floatKeys, k, 'weight');
    const f = m === undefined ? undefined : floatDict[m];
    if (f instanceof Tensor) out[key] = { float: f, quantized: q };
  }
  return out;
}

/** One row of {@link compareModelOutputs}: a layer's output in both models and how far apart they are. */
export interface OutputComparison {
  /** The node name (graph mode) or module path (eager) in the quantized model. */
  readonly name: string;
  /** What runs there in the quantized model: a module's name (`QuantizedConvReLU2d`) or an op (`quantized.add`, `flatten`). */
  readonly op: string;
  /** The node or module of the float model it is compared with (`relu1` for a fused `conv1`). */
  readonly floatName: string;
  /** {@link computeSqnr}(float, quantized) in dB. */
  readonly sqnr: number;
  /** {@link computeL2Error}(float, quantized). */
  readonly l2: number;
  /** {@link computeCosineSimilarity}(float, quantized). */
  readonly cosine: number;
  /** The float model's output there. */
  readonly float: Tensor;
  /** The quantized model's output there (dequantized). */
  readonly quantized: Tensor;
}

interface Logged {
  readonly name: string;
  readonly op: string;
  readonly aliases: readonly string[];
  readonly value: Tensor;
}

function asFloat(v: unknown): Tensor | undefined {
  if (nnq.isQTensor(v)) return v.dequantize();
  return v instanceof Tensor ? v : undefined;
}

function opOf(gm: GraphModule, n: Node): string {
  if (n.op === 'call_module') return gm.getSubmodule(n.target as string).getName();
  if (n.op === 'call_function') {
    const t = n.target as { opName?: string; name?: string };
    return t.opName ?? t.name ?? 'function';
  }
  return String(n.target);
}

/** Every layer output of a GraphModule, by node name (quantize/dequantize/observer steps left out). */
function logGraph(gm: GraphModule, inputs: readonly unknown[]): Logged[] {
  const out: Logged[] = [];
  class Logger extends Interpreter {
    override runNode(n: Node): unknown {
      const v = super.runNode(n);
      const skip =
        n.op === 'placeholder' ||
        n.op === 'output' ||
        n.op === 'get_attr' ||
        (n.op === 'call_method' && n.target === 'dequantize') ||
        (n.op === 'call_function' && (n.target as { opName?: string }).opName === 'quantize_per_tensor') ||
        (n.op === 'call_module' && isObserverModule(gm.getSubmodule(n.target as string)));
      const t = skip ? undefined : asFloat(v);
      if (t !== undefined) {
        const fused = n.meta.fusedFrom as string[] | undefined;
        const nsName = (n.meta.nsName as string | undefined) ?? n.name;
        const aliases = [...(fused === undefined ? [] : [fused[fused.length - 1]!]), nsName, n.name];
        out.push({ name: n.name, op: opOf(gm, n), aliases, value: t });
      }
      return v;
    }
  }
  new Logger(gm, { garbageCollectValues: false }).run(...inputs);
  return out;
}

/** Every leaf module output of an eager model, by module path (PyTorch's OutputLogger). */
function logModules(model: Module, inputs: readonly unknown[]): Logged[] {
  const out: Logged[] = [];
  const handles = model
    .namedModules()
    // Identity: what eager fusion leaves where the BN and ReLU were.
    .filter(
      ([path, m]) => path !== '' && m.getName() !== 'Identity' && (m.namedChildren().length === 0 || isFusedLike(m)),
    )
    .map(([path, m]) =>
      m.registerForwardHook((mod, _args, output) => {
        const t = asFloat(output);
        if (t !== undefined) out.push({ name: path, op: mod.getName(), aliases: [path], value: t });
      }),
    );
  try {
    (model.call as (...a: unknown[]) => unknown)(...inputs);
  } finally {
    for (const h of handles) h.remove();
  }
  return out;
}

function isFusedLike(m: Module): boolean {
  return ['ConvReLU2d', 'LinearReLU', 'ConvBn2d', 'ConvBnReLU2d'].includes(m.constructor.name);
}

/**
 * Runs the float and the quantized model on the same input and compares their layer outputs
 * (PyTorch's `compare_model_outputs`, with the metrics of `torch.ao.ns.fx.utils`): one row per
 * layer of the quantized model that has a float counterpart of the same size, in execution order,
 * with SQNR, normalized L2 error and cosine similarity — which layer costs accuracy. Graph-mode
 * models are matched by node name (a fused `conv1` is compared with the float model's last fused
 * node, e.g. `relu1`; a lowered `add_1` with `add`); a float model that is not a GraphModule is
 * traced when the quantized one is. Eager models are matched by module path (leaf modules).
 *
 * @throws QuantError `INVALID_ARGUMENT` when nothing matches (different models).
 * @example
 * for (const r of compareModelOutputs(model, convertFx(prepared), x)) {
 *   console.log(r.name, r.op, r.sqnr.toFixed(1), 'dB');
 * }
 * @see https://pytorch.org/docs/1.13/torch.ao.ns._numeric_suite.html
 */
export function compareModelOutputs(
  floatModel: Module,
  quantizedModel: Module,
  ...inputs: unknown[]
): OutputComparison[] {
  const graphMode = quantizedModel instanceof GraphModule;
  let floatLog: Logged[];
  let qLog: Logged[];
  if (graphMode) {
    const fgm = floatModel instanceof GraphModule ? floatModel : symbolicTrace(floatModel);
    floatLog = logGraph(fgm, inputs);
    qLog = logGraph(quantizedModel, inputs);
  } else {
    floatLog = logModules(floatModel, inputs);
    qLog = logModules(quantizedModel, inputs);
  }
  const byName = new Map<string, Logged>();
  for (const l of floatLog) if (!byName.has(l.name)) byName.set(l.name, l);
  const rows: OutputComparison[] = [];
  for (const q of qLog) {
    const f = q.aliases.map((a) => byName.get(a)).find((x) => x !== undefined && x.value.numel === q.value.numel);
    if (f === undefined) continue;
    rows.push({
      name: q.name,
      op: q.op,
      floatName: f.name,
      sqnr: computeSqnr(f.value, q.value),
      l2: computeL2Error(f.value, q.value),
      cosine: computeCosineSimilarity(f.value, q.value),
      float: f.value,
      quantized: q.value,
    });
  }
  if (rows.length === 0) {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `compareModelOutputs: no layer of the quantized model (${qLog
        .map((l) => l.name)
        .slice(0, 5)
        .join(
          ', ',
        )}, …) matches a layer of the float model by name; pass the float model the quantized one was made from.`,
    );
  }
  return rows;
}
