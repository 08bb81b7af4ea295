// `quint explain <model.onnx> --node <name>`: the seed's integer walk-through for any quantized conv
// or linear of a loaded model. The numbers are the kernel's own (its trace hook, the per-call
// `trace` option of @quint/qtensor, set through the nnq module's `trace` property); a forward hook
// on the same module captures its quantized input, weight and output, and each traced element's
// accumulator is recomputed here from those codes, so a disagreement is caught, not printed.
import type { Node } from '@quint/fx-graph-tracer';
import { nnq, type Module } from '@quint/nn';
import { runModel, type QuintModel } from '@quint/onnx';
import type { Engine, GemmTraceRecord, QTensor } from '@quint/qtensor';
import { QuantError, type Tensor } from '@quint/tensor';
import type { ExplainSource } from '../seed/explain-report.js';
import type { SeedElement } from '../seed/seed-program.js';

/** The quantized conv/linear modules `explain` walks through (the ReLU-fused ones extend them). */
type GemmModule = nnq.Conv2d | nnq.Linear;

/** The node a run explains: its names and what it computes. */
export interface ExplainedNode {
  /** The ONNX node name (what `--node` takes), or the graph node name when the node has none. */
  readonly name: string;
  /** The graph node name (FX), which `--node` also takes. */
  readonly graphName: string;
  /** The ONNX op type it was imported from (`Conv`, `QLinearConv`, `Gemm`, `QGemm`, …), or null. */
  readonly onnxOp: string | null;
  /** The quantized module class (`QuantizedConv2d`, `QuantizedConvReLU2d`, `QuantizedLinear`, …). */
  readonly module: string;
  readonly kind: 'conv2d' | 'linear';
  /** True when ReLU is fused: output codes clamp at the output zero point. */
  readonly relu: boolean;
}

/** One explained element: the seed's {@link SeedElement} plus the output channel it belongs to. */
export interface ModelElement extends SeedElement {
  /** Output channel (conv) or output feature (linear). */
  readonly channel: number;
}

/** What {@link explainModel} computes; `explainJson` of src/seed/explain-report.ts prints it. */
export interface ModelExplainRun extends ExplainSource {
  readonly engine: Engine;
  readonly torchCompat: string | null;
  readonly node: ExplainedNode;
  /** What the forward hook on the node's module saw. */
  readonly captured: {
    readonly input: QTensor;
    readonly weight: QTensor;
    readonly bias: Tensor | null;
    readonly output: QTensor;
  };
  /** The traced elements in index order: all of them, or the one `index` asked for. */
  readonly elements: readonly ModelElement[];
}

/** Options of {@link explainModel}. */
export interface ExplainModelOptions {
  /** ONNX node name or graph node name of a quantized conv/linear. */
  readonly node: string;
  /** Flat C-order index of the one output element to explain (default: all of them). */
  readonly index?: number;
}

const SHOWN_NAMES = 8;

function onnxNames(n: Node): string[] {
  const o = n.meta['onnxName'];
  return typeof o === 'string'
    ? [o]
    : Array.isArray(o)
      ? (o as unknown[]).filter((s): s is string => typeof s === 'string')
      : [];
}

/** The name a node is listed by: its (first) ONNX name, else its graph name. */
function displayName(n: Node): string {
  return onnxNames(n)[0] ?? n.name;
}

function moduleOf(model: QuintModel, n: Node): Module | null {
  if (n.op !== 'call_module') return null;
  try {
    return model.graphModule.getSubmodule(n.target as string) as Module;
  } catch {
    return null;
  }
}

function isGemmModule(m: Module | null): m is GemmModule {
  return m instanceof nnq.Conv2d || m instanceof nnq.Linear;
}

/** The names of the model's quantized conv/linear nodes, as `--node` takes them. */
export function explainableNodes(model: QuintModel): string[] {
  return model.graphModule.graph.nodes.filter((n) => isGemmModule(moduleOf(model, n))).map(displayName);
}

function listNames(names: readonly string[]): string {
  if (names.length === 0) return 'the model has none';
  const shown = names.slice(0, SHOWN_NAMES).join(', ');
  return names.length > SHOWN_NAMES ? `${shown}, … (${names.length} in all; quint inspect lists them)` : shown;
}

/**
 * Finds the quantized conv/linear `--node` names: by ONNX node name first, then by graph node name
 * or module target.
 *
 * @throws `USAGE` when no node has that name (listing some that do); `UNSUPPORTED_OP` when the node
 *   is not a quantized conv/linear (a float, dynamic or other op), or the ONNX node was fused away;
 *   `INVALID_ARGUMENT` for a float model.
 */
export function findExplainNode(
  model: QuintModel,
  name: string,
): { node: Node; module: GemmModule; info: ExplainedNode } {
  if (model.kind !== 'quantized') {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `the model is a float model: explain shows the integer arithmetic of a quantized one; quantize it first (quint quantize <model.onnx> --calib <calib.npy> --out <model.int8.onnx>).`,
    );
  }
  const candidates = explainableNodes(model);
  const nodes = model.graphModule.graph.nodes;
  const node =
    nodes.find((n) => onnxNames(n).includes(name)) ??
    nodes.find((n) => (n.op === 'call_module' || n.op === 'call_function') && (n.name === name || n.target === name));
  if (node === undefined) {
    const inFile = model.onnx?.graph.nodes.find((n) => n.name === name);
    if (inFile !== undefined) {
      throw new QuantError(
        'UNSUPPORTED_OP',
        `--node ${name}: the ONNX ${inFile.opType} node is not a quantized conv or linear (it was folded into a neighbour on import); explain one of: ${listNames(candidates)}.`,
      );
    }
    throw new QuantError(
      'USAGE',
      `--node ${name}: the model has no node of that name; pass a quantized conv or linear node: ${listNames(candidates)}.`,
    );
  }
  const m = moduleOf(model, node);
  if (!isGemmModule(m)) {
    const what = m?.getName() ?? (node.target as { name?: string } | null)?.name ?? node.op;
    throw new QuantError(
      'UNSUPPORTED_OP',
      `--node ${name}: it is a ${what} node, not a quantized conv or linear (explain shows their int32 accumulators); pass one of: ${listNames(candidates)}.`,
    );
  }
  const op = node.meta['onnxOp'];
  return {
    node,
    module: m,
    info: {
      name: displayName(node),
      graphName: node.name,
      onnxOp: typeof op === 'string' ? op : null,
      module: m.getName(),
      kind: m instanceof nnq.Conv2d ? 'conv2d' : 'linear',
      relu: m instanceof nnq.ConvReLU2d || m instanceof nnq.LinearReLU,
    },
  };
}

interface Captured {
  input: QTensor;
  weight: QTensor;
  bias: Tensor | null;
  output: QTensor;
}

/** Runs the model once with a forward hook on the module (and, when given, a trace request on it). */
async function runHooked(
  model: QuintModel,
  inputs: Tensor | Readonly<Record<string, Tensor>>,
  module: GemmModule,
  nodeName: string,
  trace: GemmModule['trace'],
): Promise<Captured> {
  let captured: Captured | undefined;
  const handle = module.registerForwardHook((mod, args, output) => {
    captured = { input: args[0] as QTensor, weight: mod.weight(), bias: mod.bias(), output: output as QTensor };
  });
  module.trace = trace;
  try {
    await runModel(model, inputs);
  } finally {
    handle.remove();
    module.trace = undefined;
  }
  if (captured === undefined) {
    throw new QuantError(
      'INTERNAL',
      `node ${nodeName} did not run in the model's forward (it feeds no output); report it.`,
    );
  }
  return captured;
}

const f32 = Math.fround;

/**
 * Checks one trace record against the codes the forward hook saw and returns the element: the
 * accumulator is recomputed from the record's input and weight codes with the hooked tensors' zero
 * points; on the int32-bias engines (qnnpack, ort) the value before rounding too, as
 * `f32(f32(acc + bias) · M)` (spec pytorch-semantics.md §5.2a, onnx-ort-and-peers.md §1.3); and the
 * output code must be the one forward() produced.
 */
function element(r: GemmTraceRecord, c: Captured, nodeName: string): ModelElement {
  const xZp = c.input.qZeroPoint();
  const wZp = c.weight.isPerChannel() ? c.weight.qPerChannelZeroPoints()[r.channel]! : c.weight.qZeroPoint();
  let acc = 0;
  r.input.codes.forEach((xq, k) => {
    acc = (acc + (xq - xZp) * (r.weight.codes[k]! - wZp)) | 0;
  });
  const forwardCode = c.output.intRepr()[r.index]!;
  const checks: Array<[string, number, number]> = [
    ['accumulator', acc, r.acc],
    ['forwardCode', r.output, forwardCode],
  ];
  if (r.engine === 'qnnpack' || r.engine === 'ort')
    checks.push(['preRound', f32(f32((acc + r.bias) | 0) * r.multiplier), r.preRound]);
  for (const [what, mine, kernel] of checks) {
    if (!Object.is(mine, kernel)) {
      throw new QuantError(
        'INTERNAL',
        `explain ${nodeName}, output element ${r.index}: ${what === 'forwardCode' ? `the traced output code is ${mine}, forward() gave ${kernel}` : `${what} recomputed from the codes is ${mine}, the kernel traced ${kernel}`}; report it.`,
      );
    }
  }
  return {
    index: r.index,
    channel: r.channel,
    inputCodes: r.input.codes,
    weightCodes: r.weight.codes,
    accumulator: acc,
    bias: r.bias,
    multiplier: r.multiplier,
    preRound: r.preRound,
    outputCode: r.output,
    forwardCode,
  };
}

/**
 * Runs a quantized model on its inputs and returns the integer arithmetic its conv/linear node
 * `options.node` performed: the node's input, weight and output codes with their qparams, and for
 * every output element (or only `options.index`) the kernel's int32 accumulator, bias, multiplier,
 * value before rounding and output code, next to the code forward() produced. Runs on the model's
 * backend and engine (load it with `{ engine }` to choose another). With `index`, the model runs
 * twice: once to learn the node's output size, once with the trace request.
 *
 * @throws `USAGE`/`UNSUPPORTED_OP`/`INVALID_ARGUMENT` from {@link findExplainNode};
 *   `OUT_OF_RANGE` for an index outside the node's output; `SHAPE_MISMATCH` for inputs of the
 *   wrong shape (runModel); `INTERNAL` if the trace disagrees with the codes or with forward().
 * @example
 * const run = await explainModel(await loadModel('m.int8.onnx'), x, { node: 'conv1_1', index: 0 });
 * run.elements[0]; // { index: 0, channel: 0, accumulator: 1234, bias: -56, …, outputCode: 17, forwardCode: 17 }
 */
export async function explainModel(
  model: QuintModel,
  inputs: Tensor | Readonly<Record<string, Tensor>>,
  options: ExplainModelOptions,
): Promise<ModelExplainRun> {
  const { module, info } = findExplainNode(model, options.node);
  const index = options.index;
  if (index !== undefined) {
    if (!Number.isSafeInteger(index) || index < 0) {
      throw new QuantError(
        'USAGE',
        `--index ${index}: pass a whole number ≥ 0 (a flat NCHW index of the node's output).`,
      );
    }
    const { output } = await runHooked(model, inputs, module, info.name, undefined);
    if (index >= output.numel) {
      throw new QuantError(
        'OUT_OF_RANGE',
        `--index ${index}: node ${info.name}'s output [${output.shape.join(', ')}] has ${output.numel} elements on this input; pass 0..${output.numel - 1} (a flat NCHW index).`,
      );
    }
  }
  const records: GemmTraceRecord[] = [];
  const captured = await runHooked(model, inputs, module, info.name, {
    index: index ?? 'all',
    sink: (r) => void (r.kind === 'gemm' && records.push(r)),
  });
  const want = index === undefined ? captured.output.numel : 1;
  if (records.length !== want) {
    throw new QuantError(
      'INTERNAL',
      `explain ${info.name}: the kernel traced ${records.length} of ${want} output elements (does backend ${model.backend.name} trace?); report it.`,
    );
  }
  records.sort((a, b) => a.index - b.index);
  return {
    engine: model.engine,
    torchCompat: model.metadata['quint.torchCompat'] ?? null,
    node: info,
    captured,
    elements: records.map((r) => element(r, captured, info.name)),
  };
}
