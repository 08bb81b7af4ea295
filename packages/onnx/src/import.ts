// ONNX graph → GraphModule. Float ops become the @quint/nn modules and @quint/tensor functions that
// PyTorch's quantizer knows (README table); QDQ patterns and QOperator ops become quantized modules
// (nnq.*, QuantizedOp, …) that run on the given backend and engine. Every value is also computed on
// a sample input of the shape in use, which gives shapes for folding shape subgraphs
// (`x.view(x.size(0), -1)`), pooling decisions and the export; a dynamic batch stays dynamic
// through `x.size(0)`.
import type { Module } from '@quint/nn';
import {
  AdaptiveAvgPool2d,
  AvgPool2d,
  BatchNorm2d,
  Conv2d,
  Hardsigmoid,
  Hardswish,
  Hardtanh,
  Linear,
  MaxPool2d,
  Parameter,
  ReLU,
  ReLU6,
  Sigmoid,
  Tanh,
  nnq,
} from '@quint/nn';
import {
  makePerChannelQuantizedTensor,
  makePerTensorQuantizedTensor,
  ortBias,
  type Engine,
  type QTensor,
  type QuantizedBackend,
} from '@quint/qtensor';
import { Graph, GraphModule, type Argument, type Node } from '@quint/fx-graph-tracer';
import { QuantError, Tensor, add, cat, flatten, mul, permute, reshape, softmax } from '@quint/tensor';
import { FLOAT_NODES_KEY, parseFloatNodes, sanitizeName } from './names.js';
import {
  checkTensorElements,
  limitOption,
  tensorToFloat32,
  tensorToNumbers,
  type OnnxAttribute,
  type OnnxModel,
  type OnnxNode,
  type OnnxTensor,
} from './proto.js';
import {
  ConvInteger,
  DynamicQuantizeLinear,
  MatMulInteger,
  QuantizedOp,
  qScaleOf,
  quantizedPermute,
  quantizedReshape,
  sizeOf,
} from './quantized-ops.js';

const f32 = Math.fround;

/** Options of {@link importModel}. */
export interface ImportOptions {
  /** The shape of each graph input (by name); symbolic dimensions need one. Default: the file's static dims, batch 1. */
  readonly inputShapes?: Readonly<Record<string, readonly number[]>>;
  /** Runs quantized ops (imported QDQ/QOperator models). */
  readonly backend?: QuantizedBackend;
  /** The engine quantized modules use (default `'ort'`). */
  readonly engine?: Engine;
  /**
   * The largest element count of a graph input or of any value the import computes on its sample
   * input (default 2^28): larger is `LIMIT_EXCEEDED`, graph inputs and padded conv/pool inputs
   * before they are allocated.
   */
  readonly maxTensorElements?: number;
}

/** What the importer records on `gm.meta.onnx`. */
export interface ImportedGraphInfo {
  /** Graph input names (ONNX), in order, with the shape used for the sample. */
  readonly inputs: { name: string; shape: number[]; dynamicBatch: boolean }[];
  /** Graph output names (ONNX), in order. */
  readonly outputs: string[];
  /** Opset of the default domain in the file. */
  readonly opset: number;
  /** True when the graph has quantized values (QDQ or QOperator). */
  readonly quantized: boolean;
  /** The file's metadata_props. */
  readonly metadata: Record<string, string>;
}

type Sym = { node: Node; dim: number };
type Entry = number | Sym;

type QInfo = { node: Node; sample: QTensor; dyn: boolean };
type Value =
  | { kind: 'float'; node: Node; sample: Tensor; dyn: boolean }
  | { kind: 'quant'; node: Node; sample: QTensor; dyn: boolean }
  | { kind: 'const'; t: OnnxTensor }
  | { kind: 'shape'; entries: Entry[]; scalar: boolean }
  | { kind: 'dq'; of: QInfo; cache?: Extract<Value, { kind: 'float' }> }
  | { kind: 'dqconst'; codes: OnnxTensor; scale: OnnxTensor; zp: OnnxTensor | undefined; axis: number }
  | { kind: 'pad'; of: Extract<Value, { kind: 'float' } | { kind: 'dq' }>; pads: [number, number]; onnx: OnnxNode }
  | { kind: 'dqlScale'; of: QInfo }
  | { kind: 'dqlZp'; of: QInfo }
  | { kind: 'int'; node: Node; sample: Tensor; dyn: boolean };

/** `QLinearAdd` → `qlinear_add`, as torch.fx names nodes (its `_snake_case`). */
function snake(s: string): string {
  return s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

const TRANSFORMER_HINT = 'transformer ops (LayerNorm, GELU, attention, Gather on data) are not supported yet';

function label(n: OnnxNode): string {
  return `node '${n.name || '(unnamed)'}' (${n.domain === '' ? '' : `${n.domain}.`}${n.opType})`;
}

function unsupported(n: OnnxNode, why?: string): QuantError {
  return new QuantError(
    'UNSUPPORTED_OP',
    `${label(n)}: ${why ?? `${n.opType} is not in quint's ONNX op table (see the @quint/onnx README)`}; ${TRANSFORMER_HINT}. Remove the op, or keep this part of the model outside quint.`,
  );
}

function bad(n: OnnxNode, what: string): QuantError {
  return new QuantError('BAD_ONNX', `${label(n)}: ${what}; re-export the model.`);
}

function attr(n: OnnxNode, name: string): OnnxAttribute | undefined {
  return n.attributes[name];
}
function attrInt(n: OnnxNode, name: string, dflt: number): number {
  const a = attr(n, name);
  if (a === undefined) return dflt;
  if (a.type !== 'int') throw bad(n, `attribute ${name} should be an int, got ${a.type}`);
  return a.value;
}
function attrFloat(n: OnnxNode, name: string, dflt: number): number {
  const a = attr(n, name);
  if (a === undefined) return dflt;
  if (a.type !== 'float') throw bad(n, `attribute ${name} should be a float, got ${a.type}`);
  return a.value;
}
function attrInts(n: OnnxNode, name: string): number[] | undefined {
  const a = attr(n, name);
  if (a === undefined) return undefined;
  if (a.type !== 'ints') throw bad(n, `attribute ${name} should be ints, got ${a.type}`);
  return a.value;
}
function attrString(n: OnnxNode, name: string, dflt: string): string {
  const a = attr(n, name);
  if (a === undefined) return dflt;
  if (a.type !== 'string') throw bad(n, `attribute ${name} should be a string, got ${a.type}`);
  return a.value;
}

function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function isQ(x: unknown): x is QTensor {
  return typeof x === 'object' && x !== null && 'qparams' in x && typeof (x as QTensor).intRepr === 'function';
}

function setBackend(m: Module, backend: QuantizedBackend | undefined, engine: Engine): void {
  if (backend === undefined) return;
  Object.defineProperty(m, 'backend', { value: backend, writable: true, enumerable: false, configurable: true });
  Object.defineProperty(m, 'engine', { value: engine, writable: true, enumerable: false, configurable: true });
}

function constTensor(name: string, dims: number[], data: Float32Array | BigInt64Array): OnnxTensor {
  return { name, dataType: data instanceof Float32Array ? 'float' : 'int64', dims, data };
}

/** Sign-extends uint8 codes into int8 storage with zp − 128 where needed (U8 weights). */
function asInt8Weights(codes: OnnxTensor, zps: number[], n: OnnxNode): { data: Int8Array; zps: number[] } {
  if (codes.dataType === 'int8') return { data: codes.data as Int8Array, zps };
  if (codes.dataType === 'uint8') {
    // (w − zp) is unchanged when both shift by 128: exact.
    return { data: Int8Array.from(codes.data as Uint8Array, (v) => v - 128), zps: zps.map((z) => z - 128) };
  }
  throw unsupported(n, `weights of type ${codes.dataType} (quint reads int8 and uint8 weights)`);
}

/**
 * The float bias whose engine-`ort` quantization `rne(f32(b / f32(x_s·w_s)))` gives back the int32
 * `q` exactly: `f32(q·s)` and, when rounding moved it, the next float32 values around it.
 */
function biasFromInt32(q: number, xs: number, ws: number, n: OnnxNode): number {
  const s = f32(f32(xs) * f32(ws));
  const b = f32(q * s);
  if (ortBias(b, xs, ws) === q) return b;
  const buf = new Float32Array(1);
  const bits = new Int32Array(buf.buffer);
  for (let d = 1; d <= 8; d++) {
    for (const sgn of [1, -1]) {
      buf[0] = b;
      bits[0]! += sgn * d;
      if (ortBias(buf[0]!, xs, ws) === q) return buf[0]!;
    }
  }
  throw new QuantError(
    'UNSUPPORTED_OP',
    `${label(n)}: the int32 bias ${q} (scale ${s}) cannot be carried as a float32 bias exactly; such large biases are not supported.`,
  );
}

class Importer {
  readonly graph = new Graph();
  readonly record: Record<string, unknown> = {};
  readonly env = new Map<string, Value>();
  readonly consumers = new Map<string, OnnxNode[]>();
  readonly skip = new Set<OnnxNode>();
  readonly usedNames = new Set<string>();
  readonly sizeNodes = new Map<string, Node>();
  readonly engine: Engine;
  readonly backend: QuantizedBackend | undefined;
  readonly opset: number;
  quantized = false;
  constNodes = 0;

  constructor(
    readonly model: OnnxModel,
    readonly options: ImportOptions,
  ) {
    this.engine = options.engine ?? 'ort';
    this.backend = options.backend;
    this.opset = model.opsetImport.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 13;
  }

  // ------------------------------------------------------------------ naming and emission

  uniqueTarget(base: string): string {
    let name = base;
    for (let i = 1; this.usedNames.has(name) || this.usedNames.has(name.toLowerCase()); i++) name = `${base}_${i}`;
    this.usedNames.add(name);
    return name;
  }

  addModule(n: OnnxNode, m: Module, args: Argument[], suffix = ''): Node {
    const target = this.uniqueTarget(sanitizeName(n.name, n.opType) + suffix);
    m.eval();
    this.record[target] = m;
    const node = this.graph.callModule(target, args);
    node.meta['onnxName'] = n.name;
    node.meta['onnxOp'] = n.opType;
    return node;
  }

  addFunction(n: OnnxNode | null, fn: (...a: never[]) => unknown, args: Argument[]): Node {
    const node =
      n === null
        ? this.graph.callFunction(fn as never, args)
        : this.graph.createNode('call_function', fn as never, args, {}, snake(sanitizeName(n.name, n.opType)));
    if (n !== null) {
      node.meta['onnxName'] = n.name;
      node.meta['onnxOp'] = n.opType;
    }
    return node;
  }

  addConstBuffer(name: string, t: Tensor): Node {
    const target = this.uniqueTarget(`_const_${sanitizeName(name, 'const')}`);
    this.record[target] = t;
    return this.graph.getAttr(target);
  }

  // Runs the module or function a node calls on the sample values of its arguments.
  sample(node: Node, values: unknown[]): unknown {
    try {
      let out: unknown;
      if (node.op === 'call_module')
        out = (this.record[node.target as string] as unknown as { call(...a: unknown[]): unknown }).call(...values);
      else if (node.op === 'call_method')
        out = (values[0] as Record<string, (...a: unknown[]) => unknown>)[node.target as string]!(...values.slice(1));
      else out = (node.target as (...a: unknown[]) => unknown)(...values);
      // Ops that only combine their inputs (cat of cat of cat …) grow values geometrically: stop at the limit.
      if (out instanceof Tensor || isQ(out)) checkTensorElements('the value it computes', out.shape, this.options);
      return out;
    } catch (e) {
      const onnxName = node.meta['onnxName'];
      const where =
        onnxName === undefined
          ? `graph node ${node.name}`
          : `node '${String(onnxName)}' (${String(node.meta['onnxOp'])})`;
      const code = e instanceof QuantError ? e.code : 'BAD_ONNX';
      throw new QuantError(
        code === 'INTERNAL' ? 'BAD_ONNX' : code,
        `${where}: ${e instanceof Error ? e.message : String(e)}`,
        { cause: e },
      );
    }
  }

  // ------------------------------------------------------------------ values

  get(name: string, n: OnnxNode): Value {
    const v = this.env.get(name);
    if (v === undefined) {
      throw new QuantError(
        'BAD_ONNX',
        `${label(n)}: input '${name}' is not produced by any earlier node, initializer or graph input (a dangling input, or nodes out of topological order); re-export the model.`,
      );
    }
    return v;
  }

  input(n: OnnxNode, i: number): Value | undefined {
    const name = n.inputs[i];
    return name === undefined || name === '' ? undefined : this.get(name, n);
  }

  requireInput(n: OnnxNode, i: number): Value {
    const v = this.input(n, i);
    if (v === undefined) throw bad(n, `input ${i} is missing`);
    return v;
  }

  set(n: OnnxNode, i: number, v: Value): void {
    const name = n.outputs[i];
    if (name !== undefined && name !== '') this.env.set(name, v);
  }

  floatValue(node: Node, sample: unknown, dyn: boolean): Value {
    if (isQ(sample)) return { kind: 'quant', node, sample, dyn };
    return { kind: 'float', node, sample: sample as Tensor, dyn };
  }

  emitModule(n: OnnxNode, m: Module, inputs: Extract<Value, { node: Node }>[], dyn?: boolean): Value {
    const node = this.addModule(
      n,
      m,
      inputs.map((v) => v.node),
    );
    const out = this.sample(
      node,
      inputs.map((v) => v.sample),
    );
    return this.floatValue(node, out, dyn ?? inputs.some((v) => v.dyn));
  }

  emitFunction(
    n: OnnxNode | null,
    fn: (...a: never[]) => unknown,
    args: Argument[],
    sampleArgs: unknown[],
    dyn: boolean,
  ): Value {
    const node = this.addFunction(n, fn, args);
    return this.floatValue(node, this.sample(node, sampleArgs), dyn);
  }

  /** The value as a float graph value: dequantizes quantized values, materializes constants. */
  asFloat(v: Value, n: OnnxNode): Extract<Value, { kind: 'float' }> {
    switch (v.kind) {
      case 'float':
        return v;
      case 'int':
        return { kind: 'float', node: v.node, sample: v.sample, dyn: v.dyn };
      case 'dq': {
        if (v.cache === undefined) {
          const m = new nnq.DeQuantize(
            this.backend === undefined ? {} : { backend: this.backend, engine: this.engine },
          );
          const target = this.uniqueTarget(`${v.of.node.name}_dequant`);
          this.record[target] = m;
          const node = this.graph.callModule(target, [v.of.node]);
          v.cache = { kind: 'float', node, sample: this.sample(node, [v.of.sample]) as Tensor, dyn: v.of.dyn };
        }
        return v.cache;
      }
      case 'quant': {
        const dq: Value = { kind: 'dq', of: v };
        return this.asFloat(dq, n);
      }
      case 'const': {
        const t = new Tensor(tensorToFloat32(v.t).slice(), v.t.dims);
        return { kind: 'float', node: this.addConstBuffer(v.t.name, t), sample: t, dyn: false };
      }
      case 'dqconst': {
        const t = new Tensor(dequantConst(v, n), v.codes.dims);
        return { kind: 'float', node: this.addConstBuffer(v.codes.name, t), sample: t, dyn: false };
      }
      case 'shape': {
        if (v.entries.some((e) => typeof e !== 'number'))
          throw unsupported(n, 'arithmetic on a dynamic shape value used as data');
        const t = new Tensor(Float32Array.from(v.entries as number[]), v.scalar ? [] : [v.entries.length]);
        return { kind: 'float', node: this.addConstBuffer('shape', t), sample: t, dyn: false };
      }
      case 'pad':
        throw unsupported(
          n,
          'a Pad not followed by AveragePool (only the Pad → AveragePool pattern of AvgPool2d is read)',
        );
      case 'dqlScale': {
        const node = this.graph.callFunction(qScaleOf as never, [v.of.node]);
        return { kind: 'float', node, sample: qScaleOf(v.of.sample), dyn: false };
      }
      case 'dqlZp':
        throw unsupported(
          n,
          'the zero point output of DynamicQuantizeLinear used as data (only as the a_zero_point of MatMulInteger/ConvInteger)',
        );
    }
  }

  /** A constant's elements as numbers (shape values included), or undefined when the value is not constant. */
  constNumbers(v: Value | undefined): number[] | undefined {
    if (v === undefined) return undefined;
    if (v.kind === 'const')
      return v.t.dataType === 'float' || v.t.dataType === 'double' || v.t.dataType === 'float16'
        ? Array.from(tensorToFloat32(v.t))
        : tensorToNumbers(v.t);
    if (v.kind === 'shape' && v.entries.every((e) => typeof e === 'number')) return v.entries as number[];
    return undefined;
  }

  entriesOf(v: Value, n: OnnxNode): { entries: Entry[]; scalar: boolean } | undefined {
    if (v.kind === 'shape') return v;
    if (v.kind === 'const' && v.t.dataType !== 'float' && v.t.dataType !== 'float16' && v.t.dataType !== 'double') {
      if (v.t.dims.length > 1) throw unsupported(n, `a ${v.t.dims.length}-D integer constant in a shape computation`);
      return { entries: tensorToNumbers(v.t), scalar: v.t.dims.length === 0 };
    }
    return undefined;
  }

  sizeNode(s: Sym): Node {
    const key = `${s.node.name}:${s.dim}`;
    let node = this.sizeNodes.get(key);
    if (node === undefined) {
      node = this.graph.callFunction(sizeOf as never, [s.node, s.dim]);
      this.sizeNodes.set(key, node);
    }
    return node;
  }

  // ------------------------------------------------------------------ the walk

  run(): GraphModule {
    const g = this.model.graph;
    for (const n of g.nodes) {
      for (const i of n.inputs) {
        if (i === '') continue;
        const list = this.consumers.get(i) ?? [];
        list.push(n);
        this.consumers.set(i, list);
      }
    }
    for (const t of g.initializers) this.env.set(t.name, { kind: 'const', t });
    const inputs: ImportedGraphInfo['inputs'] = [];
    for (const vi of g.inputs) {
      if (this.env.has(vi.name)) continue; // an initializer listed as input (IR < 4)
      if (vi.elemType !== undefined && vi.elemType !== 'float') {
        throw new QuantError(
          'UNSUPPORTED_OP',
          `graph input '${vi.name}' has type ${vi.elemType}; quint's models take float32 inputs (quantize inside the model with QuantizeLinear).`,
        );
      }
      const given = this.options.inputShapes?.[vi.name];
      const fileShape = vi.shape ?? [];
      let dynamicBatch = false;
      let shape: number[];
      if (given !== undefined) {
        if (given.length !== fileShape.length && vi.shape !== null) {
          throw new QuantError(
            'SHAPE_MISMATCH',
            `graph input '${vi.name}' has rank ${fileShape.length} in the model, but the input has shape [${given.join(', ')}]; pass a tensor of rank ${fileShape.length}.`,
          );
        }
        fileShape.forEach((d, i) => {
          if (typeof d === 'number' && d !== given[i]) {
            throw new QuantError(
              'SHAPE_MISMATCH',
              `graph input '${vi.name}' has dim ${i} = ${d} in the model, but the input has shape [${given.join(', ')}]; pass a tensor of shape [${fileShape.map((x) => (typeof x === 'number' ? x : '?')).join(', ')}].`,
            );
          }
        });
        shape = [...given];
        dynamicBatch = fileShape.length > 0 && typeof fileShape[0] !== 'number';
      } else {
        if (vi.shape === null)
          throw new QuantError('BAD_ONNX', `graph input '${vi.name}' has no shape in the model; pass inputShapes.`);
        shape = fileShape.map((d, i) => {
          if (typeof d === 'number' && d > 0) return d;
          if (i === 0) {
            dynamicBatch = true;
            return 1;
          }
          throw new QuantError(
            'BAD_ONNX',
            `graph input '${vi.name}' has a symbolic dim ${i} ('${String(d)}'); quint needs static dims except the batch: pass inputShapes.`,
          );
        });
      }
      for (let i = 1; i < fileShape.length; i++) {
        if (typeof fileShape[i] !== 'number' && given === undefined)
          throw new QuantError('BAD_ONNX', `graph input '${vi.name}' has a symbolic dim ${i}; pass inputShapes.`);
      }
      if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
        throw new QuantError(
          'BAD_ONNX',
          `graph input '${vi.name}' has shape [${shape.join(', ')}]; dimensions must be non-negative integers: re-export the model or pass inputShapes.`,
        );
      }
      checkTensorElements(`graph input '${vi.name}'`, shape, this.options);
      const node = this.graph.placeholder(sanitizeName(vi.name, 'input').replace(/^_+/, '') || 'x');
      node.meta['onnxName'] = vi.name;
      const sample = new Tensor(new Float32Array(numel(shape)), shape);
      this.env.set(vi.name, { kind: 'float', node, sample, dyn: dynamicBatch });
      inputs.push({ name: vi.name, shape, dynamicBatch });
    }
    if (inputs.length === 0)
      throw new QuantError(
        'BAD_ONNX',
        'the model has no graph inputs (besides initializers); quint runs models that take at least one input.',
      );

    for (const n of g.nodes) {
      if (this.skip.has(n)) continue;
      this.node(n);
    }

    const outs: Argument[] = [];
    const outNames: string[] = [];
    for (const o of g.outputs) {
      const v = this.env.get(o.name);
      if (v === undefined)
        throw new QuantError('BAD_ONNX', `graph output '${o.name}' is not produced by any node; re-export the model.`);
      let node: Node;
      if (v.kind === 'quant') node = v.node;
      else if (v.kind === 'float' || v.kind === 'int' || v.kind === 'dq')
        node = this.asFloat(v, {
          name: o.name,
          opType: 'output',
          domain: '',
          inputs: [],
          outputs: [],
          attributes: {},
        }).node;
      else
        throw new QuantError(
          'UNSUPPORTED_OP',
          `graph output '${o.name}' is a constant or shape value; quint models return tensors computed from their inputs.`,
        );
      outs.push(node);
      outNames.push(o.name);
    }
    this.graph.output(outs.length === 1 ? outs[0]! : outs);
    this.graph.eliminateDeadCode();
    const gm = new GraphModule(this.record, this.graph, 'OnnxModel');
    gm.eval();
    const info: ImportedGraphInfo = {
      inputs,
      outputs: outNames,
      opset: this.opset,
      quantized: this.quantized,
      metadata: { ...this.model.metadataProps },
    };
    gm.meta['onnx'] = info;
    return gm;
  }

  onlyConsumer(name: string): OnnxNode | undefined {
    const c = this.consumers.get(name) ?? [];
    if (c.length !== 1) return undefined;
    if (this.model.graph.outputs.some((o) => o.name === name)) return undefined;
    return c[0];
  }

  // ------------------------------------------------------------------ one node

  node(n: OnnxNode): void {
    if (n.domain !== '' && n.domain !== 'ai.onnx' && n.domain !== 'com.microsoft')
      throw unsupported(n, `the domain '${n.domain}' is not read`);
    const ins = n.inputs.filter((x) => x !== '').map((x) => this.get(x, n));
    // Shape-subgraph folding: every input constant (or a shape value) → compute now.
    if (FOLDABLE.has(n.opType) && ins.length > 0 && ins.every((v) => v.kind === 'const' || v.kind === 'shape')) {
      this.fold(n);
      return;
    }
    switch (n.opType) {
      case 'Constant':
        return this.constant(n);
      case 'Identity':
      case 'Dropout': {
        if (n.outputs.length > 1 && n.outputs[1] !== '' && (this.consumers.get(n.outputs[1]!)?.length ?? 0) > 0)
          throw unsupported(n, 'the Dropout mask output is used (inference only)');
        this.set(n, 0, this.requireInput(n, 0));
        return;
      }
      case 'Shape':
        return this.shape(n);
      case 'Cast': {
        const to = attrInt(n, 'to', 1);
        const v = this.requireInput(n, 0);
        if (to === 1 && (v.kind === 'float' || v.kind === 'int' || v.kind === 'dq')) {
          this.set(n, 0, v.kind === 'int' ? { kind: 'float', node: v.node, sample: v.sample, dyn: v.dyn } : v);
          return;
        }
        throw unsupported(
          n,
          `Cast to type ${to} of a tensor (only float → float and the Cast after MatMulInteger/ConvInteger are read)`,
        );
      }
      case 'Conv':
        return this.conv(n);
      case 'BatchNormalization':
        return this.batchNorm(n);
      case 'Gemm':
        return this.gemm(n);
      case 'MatMul':
        return this.matmul(n);
      case 'Relu':
        return this.unary(n, new ReLU(), 'relu');
      case 'Clip':
        return this.clip(n);
      case 'Sigmoid':
        return this.sigmoidOp(n);
      case 'Tanh':
        return this.unary(n, new Tanh(), null);
      case 'HardSwish':
        return this.unary(n, new Hardswish(), null);
      case 'HardSigmoid':
        return this.hardSigmoid(n);
      case 'Add':
      case 'Mul':
        return this.binary(n);
      case 'Concat':
        return this.concat(n);
      case 'MaxPool':
        return this.maxPool(n);
      case 'Pad':
        return this.pad(n);
      case 'AveragePool':
        return this.avgPool(n);
      case 'GlobalAveragePool':
        return this.globalAvgPool(n);
      case 'Flatten':
        return this.flattenOp(n);
      case 'Reshape':
        return this.reshapeOp(n);
      case 'Transpose':
        return this.transpose(n);
      case 'Squeeze':
      case 'Unsqueeze':
        return this.squeezeOp(n);
      case 'Softmax':
        return this.softmaxOp(n);
      case 'QuantizeLinear':
        return this.quantizeLinear(n);
      case 'DequantizeLinear':
        return this.dequantizeLinear(n);
      case 'QLinearConv':
        return this.qlinearConv(n);
      case 'QLinearMatMul':
        return this.qlinearMatMul(n);
      case 'QGemm':
        return this.qgemm(n);
      case 'QLinearAdd':
      case 'QLinearMul':
        return this.qlinearBinary(n);
      case 'QLinearConcat':
        return this.qlinearConcat(n);
      case 'QLinearAveragePool':
        return this.qlinearAvgPool(n);
      case 'QLinearGlobalAveragePool':
        return this.qlinearGlobalAvgPool(n);
      case 'QLinearSigmoid':
        return this.qlinearSigmoid(n);
      case 'DynamicQuantizeLinear':
        return this.dynamicQuantizeLinear(n);
      case 'MatMulInteger':
        return this.matMulInteger(n);
      case 'ConvInteger':
        return this.convInteger(n);
      case 'Gather':
        throw unsupported(n, 'Gather on data');
      default:
        throw unsupported(n);
    }
  }

  constant(n: OnnxNode): void {
    const a =
      attr(n, 'value') ??
      attr(n, 'value_float') ??
      attr(n, 'value_floats') ??
      attr(n, 'value_int') ??
      attr(n, 'value_ints');
    if (a === undefined)
      throw unsupported(n, 'a Constant without value/value_float(s)/value_int(s) (sparse or string constants)');
    let t: OnnxTensor;
    if (a.type === 'tensor') t = a.value;
    else if (a.type === 'float') t = constTensor(n.outputs[0] ?? '', [], Float32Array.of(a.value));
    else if (a.type === 'floats') t = constTensor(n.outputs[0] ?? '', [a.value.length], Float32Array.from(a.value));
    else if (a.type === 'int') t = constTensor(n.outputs[0] ?? '', [], BigInt64Array.of(BigInt(a.value)));
    else if (a.type === 'ints')
      t = constTensor(n.outputs[0] ?? '', [a.value.length], BigInt64Array.from(a.value.map((v) => BigInt(v))));
    else throw unsupported(n, `a Constant of attribute type ${a.type}`);
    this.set(n, 0, { kind: 'const', t: { ...t, name: n.outputs[0] ?? t.name } });
  }

  shape(n: OnnxNode): void {
    const v = this.requireInput(n, 0);
    let shape: readonly number[];
    let src: Node | undefined;
    let dyn = false;
    if (v.kind === 'const') shape = v.t.dims;
    else if (v.kind === 'float' || v.kind === 'quant' || v.kind === 'int') {
      shape = v.sample.shape;
      src = v.node;
      dyn = v.dyn;
    } else if (v.kind === 'dq') {
      shape = v.of.sample.shape;
      src = v.of.node;
      dyn = v.of.dyn;
    } else throw unsupported(n, `Shape of a ${v.kind} value`);
    let entries: Entry[] = [...shape];
    if (dyn && src !== undefined) entries = entries.map((d, i) => (i === 0 ? { node: src, dim: 0 } : d));
    const start = attrInt(n, 'start', 0);
    const end = attr(n, 'end') === undefined ? entries.length : attrInt(n, 'end', entries.length);
    const norm = (i: number) => Math.min(Math.max(i < 0 ? i + entries.length : i, 0), entries.length);
    this.set(n, 0, { kind: 'shape', entries: entries.slice(norm(start), norm(end)), scalar: false });
  }

  fold(n: OnnxNode): void {
    const ins = n.inputs.map((x) => (x === '' ? undefined : this.get(x, n)));
    const E = (i: number) => {
      const v = ins[i];
      const e = v === undefined ? undefined : this.entriesOf(v, n);
      if (e === undefined) throw unsupported(n, `input ${i} of a shape computation is not an integer constant`);
      return e;
    };
    const out = (entries: Entry[], scalar = false) => this.set(n, 0, { kind: 'shape', entries, scalar });
    const nums = (i: number) => {
      const e = E(i).entries;
      if (e.some((x) => typeof x !== 'number')) throw unsupported(n, 'a dynamic value where a constant is needed');
      return e as number[];
    };
    switch (n.opType) {
      case 'Cast':
      case 'Identity': {
        const v = ins[0]!;
        if (
          v.kind === 'const' &&
          (v.t.dataType === 'float' || v.t.dataType === 'double' || v.t.dataType === 'float16')
        ) {
          const to = attrInt(n, 'to', 1);
          if (n.opType === 'Identity' || to === 1) {
            this.set(n, 0, v);
            return;
          }
          const vals = Array.from(tensorToFloat32(v.t), (x) => Math.trunc(x));
          out(vals, v.t.dims.length === 0);
          return;
        }
        const e = E(0);
        out(e.entries, e.scalar);
        return;
      }
      case 'Gather': {
        const data = E(0);
        const idx = E(1);
        const axis = attrInt(n, 'axis', 0);
        if (axis !== 0 || data.scalar) throw unsupported(n, 'Gather on data');
        const pick = (i: Entry) => {
          if (typeof i !== 'number') throw unsupported(n, 'a dynamic Gather index');
          const j = i < 0 ? i + data.entries.length : i;
          const r = data.entries[j];
          if (r === undefined) throw bad(n, `Gather index ${i} is out of range for ${data.entries.length} values`);
          return r;
        };
        out(idx.entries.map(pick), idx.scalar);
        return;
      }
      case 'Unsqueeze': {
        const e = E(0);
        const axes = attrInts(n, 'axes') ?? (ins[1] === undefined ? [0] : nums(1));
        if (!(e.scalar && axes.length === 1 && (axes[0] === 0 || axes[0] === -1))) {
          if (e.scalar) throw unsupported(n, `Unsqueeze of a shape scalar on axes [${axes.join(', ')}]`);
          throw unsupported(n, 'Unsqueeze of a 1-D shape value');
        }
        out(e.entries, false);
        return;
      }
      case 'Squeeze': {
        const e = E(0);
        if (e.entries.length !== 1) throw unsupported(n, 'Squeeze of a shape value with more than one element');
        out(e.entries, true);
        return;
      }
      case 'Concat': {
        const all: Entry[] = [];
        for (let i = 0; i < ins.length; i++) all.push(...E(i).entries);
        out(all);
        return;
      }
      case 'Slice': {
        const e = E(0);
        const starts = attrInts(n, 'starts') ?? nums(1);
        const ends = attrInts(n, 'ends') ?? nums(2);
        const axes = attrInts(n, 'axes') ?? (ins[3] === undefined ? [0] : nums(3));
        const steps = ins[4] === undefined ? [1] : nums(4);
        if (axes.length !== 1 || (axes[0] !== 0 && axes[0] !== -1) || steps[0] !== 1)
          throw unsupported(n, 'Slice of a shape value with steps or several axes');
        const L = e.entries.length;
        const clampI = (i: number) => Math.min(Math.max(i < 0 ? i + L : i, 0), L);
        out(e.entries.slice(clampI(starts[0]!), clampI(ends[0]!)));
        return;
      }
      case 'Add':
      case 'Sub':
      case 'Mul':
      case 'Div': {
        const a = E(0);
        const b = E(1);
        const L = Math.max(a.entries.length, b.entries.length);
        const at = (x: { entries: Entry[] }, i: number) => x.entries[x.entries.length === 1 ? 0 : i];
        const r: Entry[] = [];
        for (let i = 0; i < L; i++) {
          const x = at(a, i);
          const y = at(b, i);
          if (typeof x !== 'number' || typeof y !== 'number')
            throw unsupported(n, 'arithmetic on the dynamic batch size');
          r.push(
            n.opType === 'Add' ? x + y : n.opType === 'Sub' ? x - y : n.opType === 'Mul' ? x * y : Math.trunc(x / y),
          );
        }
        out(r, a.scalar && b.scalar);
        return;
      }
      case 'Reshape': {
        // Reshape of a constant (e.g. a scalar to [1]).
        const e = E(0);
        out(e.entries, nums(1).length === 0);
        return;
      }
      default:
        throw unsupported(n, `${n.opType} on constants`);
    }
  }

  // ------------------------------------------------------------------ QDQ helpers

  /** The Q node that consumes this node's output (through an optional Relu/Clip), for QDQ fusion. */
  fusedOutput(n: OnnxNode): { q: OnnxNode; relu: OnnxNode | null; scale: number; zeroPoint: number } | undefined {
    const out = n.outputs[0];
    if (out === undefined) return undefined;
    let c = this.onlyConsumer(out);
    let relu: OnnxNode | null = null;
    if (c !== undefined && c.opType === 'Relu') {
      relu = c;
      c = this.onlyConsumer(c.outputs[0] ?? '');
    }
    if (c === undefined || c.opType !== 'QuantizeLinear') return undefined;
    const qp = this.qparamsOf(c, 1, 2);
    if (qp === undefined || qp.perChannel) return undefined;
    return { q: c, relu, scale: qp.scales[0]!, zeroPoint: qp.zps[0]! };
  }

  qparamsOf(
    n: OnnxNode,
    si: number,
    zi: number,
  ): { scales: number[]; zps: number[]; perChannel: boolean; dtype: 'uint8' | 'int8' | 'int32' } | undefined {
    const s = this.constNumbers(this.input(n, si));
    if (s === undefined) return undefined;
    const zv = this.input(n, zi);
    const z = zv === undefined ? [0] : this.constNumbers(zv);
    if (z === undefined) return undefined;
    const zt = zv?.kind === 'const' ? zv.t.dataType : 'uint8';
    if (zt !== 'uint8' && zt !== 'int8' && zt !== 'int32')
      throw unsupported(n, `zero points of type ${zt} (uint8/int8 only)`);
    for (const x of s) if (!(x > 0 && Number.isFinite(x))) throw bad(n, `scale ${x} must be positive and finite`);
    const perChannel =
      s.length > 1 ||
      (this.input(n, si)?.kind === 'const' &&
        (this.input(n, si) as { t: OnnxTensor }).t.dims.length === 1 &&
        s.length > 1);
    return { scales: s.map(f32), zps: z.length === s.length ? z : s.map(() => z[0]!), perChannel, dtype: zt };
  }

  /** Marks the Q (and Relu) after a fused op as consumed; its output becomes `v`. */
  finishFused(f: { q: OnnxNode; relu: OnnxNode | null }, v: Value): void {
    this.skip.add(f.q);
    if (f.relu !== null) this.skip.add(f.relu);
    this.set(f.q, 0, v);
  }

  quantValue(node: Node, sample: unknown, dyn: boolean, n: OnnxNode): Extract<Value, { kind: 'quant' }> {
    if (!isQ(sample)) throw new QuantError('INTERNAL', `${label(n)}: expected a quantized result.`);
    this.quantized = true;
    return { kind: 'quant', node, sample, dyn };
  }

  /** Int8 activations are carried as quint8 with zp + 128 (same real values, same integer arithmetic). */
  actZp(zp: number, dtype: string): number {
    return dtype === 'int8' ? zp + 128 : zp;
  }

  requireBackend(n: OnnxNode): QuantizedBackend {
    if (this.backend === undefined)
      throw new QuantError(
        'INVALID_ARGUMENT',
        `${label(n)}: the model is quantized; pass a backend (createJsBackend() from @quint/kernels-js) to import it.`,
      );
    return this.backend;
  }

  /** The quantized weight of a conv/linear from a DQ'd constant (or codes + qparams). */
  weightQTensor(
    n: OnnxNode,
    codes: OnnxTensor,
    scales: number[],
    zps: number[],
    axis: number,
    shape: number[],
  ): QTensor {
    const w = asInt8Weights(codes, zps, n);
    if (w.zps.some((z) => z < -128 || z > 127)) throw unsupported(n, `weight zero points ${w.zps.join(', ')}`);
    if (scales.length === 1) return makePerTensorQuantizedTensor({ data: w.data, shape }, scales[0]!, w.zps[0]!);
    if (axis !== 0) throw unsupported(n, `per-channel weights on axis ${axis} (axis 0, the output channel, is read)`);
    return makePerChannelQuantizedTensor({ data: w.data, shape }, Float64Array.from(scales), Int32Array.from(w.zps), 0);
  }

  /** Float bias from an int32 (x_s·w_s) bias, or a float bias. */
  biasFloat(n: OnnxNode, b: Value | undefined, xs: number, ws: number[], outC: number): Tensor | null {
    if (b === undefined) return null;
    if (b.kind === 'dqconst' && b.codes.dataType === 'int32') {
      const q = b.codes.data as Int32Array;
      if (q.length !== outC) throw bad(n, `the bias has ${q.length} values for ${outC} output channels`);
      return new Tensor(
        Float32Array.from(q, (v, c) => biasFromInt32(v, xs, ws.length === 1 ? ws[0]! : ws[c]!, n)),
        [outC],
      );
    }
    if (b.kind === 'const' && b.t.dataType === 'int32') {
      const q = b.t.data as Int32Array;
      if (q.length !== outC) throw bad(n, `the bias has ${q.length} values for ${outC} output channels`);
      return new Tensor(
        Float32Array.from(q, (v, c) => biasFromInt32(v, xs, ws.length === 1 ? ws[0]! : ws[c]!, n)),
        [outC],
      );
    }
    const fnums = b.kind === 'const' ? tensorToFloat32(b.t) : b.kind === 'dqconst' ? dequantConst(b, n) : undefined;
    if (fnums === undefined) throw unsupported(n, 'a bias that is not a constant');
    if (fnums.length !== outC) throw bad(n, `the bias has ${fnums.length} values for ${outC} output channels`);
    return new Tensor(Float32Array.from(fnums), [outC]);
  }

  // ------------------------------------------------------------------ Conv / Gemm / MatMul

  convGeometry(n: OnnxNode, wDims: number[], inShape: readonly number[]) {
    if (wDims.length !== 4) throw unsupported(n, `a ${wDims.length - 2}-D convolution (Conv2d only)`);
    const [, , kh, kw] = wDims as [number, number, number, number];
    const ks = attrInts(n, 'kernel_shape');
    if (ks !== undefined && (ks[0] !== kh || ks[1] !== kw))
      throw bad(n, `kernel_shape [${ks.join(', ')}] disagrees with the weight's [${kh}, ${kw}]`);
    const strides = attrInts(n, 'strides') ?? [1, 1];
    const dil = attrInts(n, 'dilations') ?? [1, 1];
    const group = attrInt(n, 'group', 1);
    const pads = this.pads(n, inShape, [kh, kw], strides, dil);
    return {
      strides: [strides[0]!, strides[1]!] as [number, number],
      dilation: [dil[0]!, dil[1]!] as [number, number],
      group,
      pads,
      kh,
      kw,
    };
  }

  pads(n: OnnxNode, inShape: readonly number[], k: number[], strides: number[], dil: number[]): [number, number] {
    const auto = attrString(n, 'auto_pad', 'NOTSET');
    let p = attrInts(n, 'pads') ?? [0, 0, 0, 0];
    if (auto === 'VALID') p = [0, 0, 0, 0];
    else if (auto === 'SAME_UPPER' || auto === 'SAME_LOWER') {
      p = [0, 0, 0, 0];
      for (let i = 0; i < 2; i++) {
        const inp = inShape[2 + i]!;
        const out = Math.ceil(inp / strides[i]!);
        const total = Math.max(0, (out - 1) * strides[i]! + (k[i]! - 1) * dil[i]! + 1 - inp);
        const small = Math.floor(total / 2);
        p[i] = auto === 'SAME_UPPER' ? small : total - small;
        p[i + 2] = total - p[i]!;
      }
    } else if (auto !== 'NOTSET') throw bad(n, `auto_pad '${auto}'`);
    if (p.length !== 4) throw unsupported(n, `pads [${p.join(', ')}] (2-D ops only)`);
    if (p[0] !== p[2] || p[1] !== p[3])
      throw unsupported(n, `asymmetric padding [${p.join(', ')}] (PyTorch's Conv2d/pools pad both sides equally)`);
    if (p.some((x) => !Number.isSafeInteger(x) || x < 0))
      throw bad(n, `pads [${p.join(', ')}] must be non-negative integers`);
    if (strides.length !== 2 || dil.length !== 2 || [...strides, ...dil].some((x) => !Number.isSafeInteger(x) || x < 1))
      throw bad(n, `strides [${strides.join(', ')}] and dilations [${dil.join(', ')}] must be positive integers`);
    // Padding is the one attribute that makes an op's data larger than its input: check before any allocation.
    checkTensorElements(
      `${label(n)}: the padded input`,
      [inShape[0] ?? 1, inShape[1] ?? 1, (inShape[2] ?? 1) + 2 * p[0]!, (inShape[3] ?? 1) + 2 * p[1]!],
      this.options,
    );
    return [p[0]!, p[1]!];
  }

  conv(n: OnnxNode): void {
    const x = this.requireInput(n, 0);
    const w = this.requireInput(n, 1);
    const b = this.input(n, 2);
    const inShape =
      x.kind === 'dq' ? x.of.sample.shape : x.kind === 'float' || x.kind === 'quant' ? x.sample.shape : undefined;
    if (inShape === undefined) throw unsupported(n, `a Conv whose input is a ${x.kind} value`);
    if (w.kind !== 'const' && w.kind !== 'dqconst')
      throw unsupported(n, 'a Conv whose weight is not a constant initializer');
    const wDims = w.kind === 'const' ? w.t.dims : w.codes.dims;
    const geo = this.convGeometry(n, wDims, inShape);
    const [outC, inCg] = wDims as [number, number];
    const inC = inCg * geo.group;
    if (inShape[1] !== inC)
      throw bad(
        n,
        `the input has ${inShape[1]} channels but the weight [${wDims.join(', ')}] with group ${geo.group} needs ${inC}`,
      );
    const fused = x.kind === 'dq' && w.kind === 'dqconst' ? this.fusedOutput(n) : undefined;
    if (fused !== undefined && x.kind === 'dq' && w.kind === 'dqconst') {
      const backend = this.requireBackend(n);
      const wq = this.dqconstParams(w, n);
      const weight = this.weightQTensor(n, w.codes, wq.scales, wq.zps, w.axis, wDims);
      const xs = x.of.sample.qScale();
      const bias = this.biasFloat(n, b, xs, wq.scales, outC);
      const Cls = fused.relu === null ? nnq.Conv2d : nnq.ConvReLU2d;
      const m = new Cls(inC, outC, [geo.kh, geo.kw], {
        stride: geo.strides,
        padding: geo.pads,
        dilation: geo.dilation,
        groups: geo.group,
        bias: bias !== null,
        backend,
        engine: this.engine,
      });
      m.setWeightBias(weight, bias);
      m.scale = fused.scale;
      m.zeroPoint = this.actZp(fused.zeroPoint, this.qparamsOf(fused.q, 1, 2)!.dtype);
      const node = this.addModule(n, m, [x.of.node]);
      this.finishFused(fused, this.quantValue(node, this.sample(node, [x.of.sample]), x.of.dyn, n));
      return;
    }
    const xf = this.asFloat(x, n);
    const wt = w.kind === 'const' ? tensorToFloat32(w.t) : dequantConst(w, n);
    const bias = b === undefined ? null : this.asConstFloat(b, n, outC);
    const m = new Conv2d(inC, outC, [geo.kh, geo.kw], {
      stride: geo.strides,
      padding: geo.pads,
      dilation: geo.dilation,
      groups: geo.group,
      bias: bias !== null,
    });
    m.weight = new Parameter(new Tensor(Float32Array.from(wt), wDims));
    if (bias !== null) m.bias = new Parameter(bias);
    this.set(n, 0, this.emitModule(n, m, [xf]));
  }

  dqconstParams(w: Extract<Value, { kind: 'dqconst' }>, n: OnnxNode): { scales: number[]; zps: number[] } {
    const scales = Array.from(tensorToFloat32(w.scale), f32);
    const zps = w.zp === undefined ? scales.map(() => 0) : tensorToNumbers(w.zp);
    if (zps.length !== scales.length) throw bad(n, `${scales.length} weight scales but ${zps.length} zero points`);
    return { scales, zps };
  }

  asConstFloat(v: Value, n: OnnxNode, count: number): Tensor {
    const d = v.kind === 'const' ? tensorToFloat32(v.t) : v.kind === 'dqconst' ? dequantConst(v, n) : undefined;
    if (d === undefined) throw unsupported(n, 'a bias that is not a constant');
    if (d.length === 1 && count > 1) return new Tensor(new Float32Array(count).fill(d[0]!), [count]);
    if (d.length !== count) throw bad(n, `the bias has ${d.length} values for ${count} outputs`);
    return new Tensor(Float32Array.from(d), [count]);
  }

  batchNorm(n: OnnxNode): void {
    const x = this.asFloat(this.requireInput(n, 0), n);
    if (x.sample.shape.length !== 4)
      throw unsupported(n, `BatchNormalization on a rank-${x.sample.shape.length} input (BatchNorm2d only)`);
    if (n.outputs.filter((o) => o !== '').length > 1)
      throw unsupported(n, 'BatchNormalization in training mode (running statistics outputs)');
    const C = x.sample.shape[1]!;
    const get = (i: number, what: string) => {
      const v = this.requireInput(n, i);
      if (v.kind !== 'const') throw unsupported(n, `a BatchNormalization whose ${what} is not a constant`);
      const d = tensorToFloat32(v.t);
      if (d.length !== C) throw bad(n, `${what} has ${d.length} values for ${C} channels`);
      return new Tensor(Float32Array.from(d), [C]);
    };
    const m = new BatchNorm2d(C, { eps: attrFloat(n, 'epsilon', 1e-5) });
    m.weight = new Parameter(get(1, 'scale'));
    m.bias = new Parameter(get(2, 'B'));
    m.runningMean = get(3, 'input_mean');
    m.runningVar = get(4, 'input_var');
    this.set(n, 0, this.emitModule(n, m, [x]));
  }

  linearFrom(
    n: OnnxNode,
    x: Value,
    wKN: {
      data: Float32Array | null;
      q: Extract<Value, { kind: 'dqconst' }> | null;
      K: number;
      N: number;
      transposed: boolean;
    },
    bias: Value | undefined,
    fuseFrom: OnnxNode,
  ): void {
    const { K, N } = wKN;
    const xShape =
      x.kind === 'dq'
        ? x.of.sample.shape
        : x.kind === 'float' || x.kind === 'quant' || x.kind === 'int'
          ? x.sample.shape
          : undefined;
    if (xShape === undefined) throw unsupported(n, `a ${n.opType} whose input is a ${x.kind} value`);
    if (xShape[xShape.length - 1] !== K)
      throw bad(n, `the input has ${xShape[xShape.length - 1]} features but the weight expects ${K}`);
    const fused = x.kind === 'dq' && wKN.q !== null ? this.fusedOutput(fuseFrom) : undefined;
    if (fused !== undefined && x.kind === 'dq' && wKN.q !== null) {
      const backend = this.requireBackend(n);
      const wq = this.dqconstParams(wKN.q, n);
      // [N, K] weight: transpose the codes of a [K, N] MatMul weight.
      let codes = wKN.q.codes;
      if (!wKN.transposed) codes = transposeTensor(codes, K, N);
      if (wq.scales.length > 1 && wKN.q.axis !== (wKN.transposed ? 0 : 1))
        throw unsupported(n, `per-channel weights on axis ${wKN.q.axis} (the output-feature axis is read)`);
      const weight = this.weightQTensor(n, codes, wq.scales, wq.zps, 0, [N, K]);
      const b = this.biasFloat(n, bias, x.of.sample.qScale(), wq.scales, N);
      const Cls = fused.relu === null ? nnq.Linear : nnq.LinearReLU;
      const m = new Cls(K, N, { bias: b !== null, backend, engine: this.engine });
      m.setWeightBias(weight, b);
      m.scale = fused.scale;
      m.zeroPoint = this.actZp(fused.zeroPoint, this.qparamsOf(fused.q, 1, 2)!.dtype);
      const node = this.addModule(n, m, [x.of.node]);
      this.finishFused(fused, this.quantValue(node, this.sample(node, [x.of.sample]), x.of.dyn, n));
      return;
    }
    const xf = this.asFloat(x, n);
    let w = wKN.data ?? dequantConst(wKN.q!, n);
    if (!wKN.transposed) w = transposeF32(w, K, N);
    const b = bias === undefined ? null : this.asConstFloat(bias, n, N);
    const m = new Linear(K, N, { bias: b !== null });
    m.weight = new Parameter(new Tensor(Float32Array.from(w), [N, K]));
    if (b !== null) m.bias = new Parameter(b);
    this.set(fuseFrom, 0, this.emitModule(n, m, [xf]));
  }

  gemm(n: OnnxNode): void {
    if (attrInt(n, 'transA', 0) !== 0) throw unsupported(n, 'Gemm with transA=1');
    if (attrFloat(n, 'alpha', 1) !== 1 || attrFloat(n, 'beta', 1) !== 1)
      throw unsupported(n, `Gemm with alpha ${attrFloat(n, 'alpha', 1)}, beta ${attrFloat(n, 'beta', 1)} (1, 1 only)`);
    const x = this.requireInput(n, 0);
    const w = this.requireInput(n, 1);
    const transB = attrInt(n, 'transB', 0) === 1;
    if (w.kind !== 'const' && w.kind !== 'dqconst')
      throw unsupported(n, 'a Gemm whose B is not a constant initializer (matmul of two activations)');
    const dims = w.kind === 'const' ? w.t.dims : w.codes.dims;
    if (dims.length !== 2) throw bad(n, `B has dims [${dims.join(', ')}]`);
    const [K, N] = transB ? [dims[1]!, dims[0]!] : [dims[0]!, dims[1]!];
    this.linearFrom(
      n,
      x,
      {
        data: w.kind === 'const' ? tensorToFloat32(w.t) : null,
        q: w.kind === 'dqconst' ? w : null,
        K,
        N,
        transposed: transB,
      },
      this.input(n, 2),
      n,
    );
  }

  matmul(n: OnnxNode): void {
    const x = this.requireInput(n, 0);
    const w = this.requireInput(n, 1);
    if (w.kind !== 'const' && w.kind !== 'dqconst') throw unsupported(n, 'MatMul of two activations (attention)');
    const dims = w.kind === 'const' ? w.t.dims : w.codes.dims;
    if (dims.length !== 2) throw unsupported(n, `MatMul with a ${dims.length}-D constant`);
    const [K, N] = dims as [number, number];
    // MatMul + Add(constant [N]) is nn.Linear with a bias (what torch.onnx writes for Linear on N-D inputs).
    let bias: Value | undefined;
    let fuseFrom = n;
    const c = this.onlyConsumer(n.outputs[0] ?? '');
    if (c !== undefined && c.opType === 'Add') {
      const other = c.inputs[0] === n.outputs[0] ? c.inputs[1] : c.inputs[0];
      const ov = other === undefined ? undefined : this.env.get(other);
      const len = ov?.kind === 'const' ? numel(ov.t.dims) : ov?.kind === 'dqconst' ? numel(ov.codes.dims) : -1;
      if ((ov?.kind === 'const' || ov?.kind === 'dqconst') && len === N) {
        bias = ov;
        fuseFrom = c;
        this.skip.add(c);
      }
    }
    const data = w.kind === 'const' ? tensorToFloat32(w.t) : null;
    // Keep the Add's ONNX name only for QDQ fusion (its Q follows the Add).
    this.linearFrom(n, x, { data, q: w.kind === 'dqconst' ? w : null, K, N, transposed: false }, bias, fuseFrom);
  }

  // ------------------------------------------------------------------ elementwise and activations

  /** A unary op: fused on a DQ'd input when a Q follows with the same qparams (or a fixed-qparams op), else float. */
  /**
   * DQ → op → Q where the Q keeps the input's qparams: run `m` on the codes (PyTorch's quantized
   * op, on the model's backend and engine) instead of in float. True when it did.
   */
  private runOnCodesIfQparamsKept(n: OnnxNode, x: Extract<Value, { kind: 'dq' }>, m: Module): boolean {
    const f = this.fusedOutput(n);
    if (f === undefined || f.relu !== null || f.scale !== x.of.sample.qScale()) return false;
    if (this.actZp(f.zeroPoint, this.qparamsOf(f.q, 1, 2)!.dtype) !== x.of.sample.qZeroPoint()) return false;
    setBackend(m, this.requireBackend(n), this.engine);
    const node = this.addModule(n, m, [x.of.node]);
    this.finishFused(f, this.quantValue(node, this.sample(node, [x.of.sample]), x.of.dyn, n));
    return true;
  }

  unary(n: OnnxNode, m: Module, kernel: 'relu' | 'relu6' | 'hardtanh' | null): void {
    const x = this.requireInput(n, 0);
    if (x.kind === 'dq' && kernel !== null && this.runOnCodesIfQparamsKept(n, x, m)) return;
    this.set(n, 0, this.emitModule(n, m, [this.asFloat(x, n)]));
  }

  sigmoidOp(n: OnnxNode): void {
    const x = this.requireInput(n, 0);
    if (x.kind === 'dq') {
      const f = this.fusedOutput(n);
      if (f !== undefined && f.relu === null) {
        const m = new QuantizedOp('sigmoid', {
          scale: f.scale,
          zeroPoint: this.actZp(f.zeroPoint, this.qparamsOf(f.q, 1, 2)!.dtype),
          backend: this.requireBackend(n),
          engine: this.engine,
        });
        const node = this.addModule(n, m, [x.of.node]);
        this.finishFused(f, this.quantValue(node, this.sample(node, [x.of.sample]), x.of.dyn, n));
        return;
      }
    }
    this.set(n, 0, this.emitModule(n, new Sigmoid(), [this.asFloat(x, n)]));
  }

  clip(n: OnnxNode): void {
    let lo: number | undefined;
    let hi: number | undefined;
    if (this.opset < 11) {
      lo = attr(n, 'min') === undefined ? undefined : attrFloat(n, 'min', 0);
      hi = attr(n, 'max') === undefined ? undefined : attrFloat(n, 'max', 0);
    } else {
      const a = this.input(n, 1);
      const b = this.input(n, 2);
      const an = this.constNumbers(a);
      const bn = this.constNumbers(b);
      if ((a !== undefined && an === undefined) || (b !== undefined && bn === undefined))
        throw unsupported(n, 'Clip with bounds that are not constants');
      lo = an?.[0];
      hi = bn?.[0];
    }
    let m: Module;
    let kernel: 'relu' | 'relu6' | 'hardtanh' | null = null;
    // DQ → Clip → Q with the input's qparams runs the clamp kernel on the codes. On qnnpack/onednn
    // that is PyTorch's quantized relu6/hardtanh (what saveModel writes for them), so the reloaded
    // model keeps the memory-format hint of its input, e.g. qnnpack's permuted codes after a quantized
    // conv (docs/numerics.md, "Two PyTorch 1.13 quirks"). On ort it is the integer clamp at
    // ORT-quantized bounds, which equals ONNX Runtime's float DQ → Clip → Q on every code (kernels-js
    // test/ort-non-gemm.test.ts), without a float pass over the tensor.
    const clampOnCodes = lo !== undefined && hi !== undefined && Number.isFinite(lo) && Number.isFinite(hi);
    if (lo === 0 && hi === 6) {
      m = new ReLU6();
      if (clampOnCodes) kernel = 'relu6';
    } else if (lo === 0 && (hi === undefined || hi === Infinity)) {
      m = new ReLU();
      kernel = 'relu';
    } else {
      m = new Hardtanh({ minVal: lo ?? -Infinity, maxVal: hi ?? Infinity });
      if (clampOnCodes) kernel = 'hardtanh';
    }
    // Only the data input is a graph value.
    this.unary({ ...n, inputs: [n.inputs[0] ?? ''] }, m, kernel);
    if (n.outputs[0] !== undefined) {
      const v = this.env.get(n.outputs[0]);
      if (v !== undefined && 'node' in v) {
        v.node.meta['onnxName'] = n.name;
        v.node.meta['onnxOp'] = n.opType;
      }
    }
  }

  hardSigmoid(n: OnnxNode): void {
    const alpha = attrFloat(n, 'alpha', 0.2);
    const beta = attrFloat(n, 'beta', 0.5);
    if (f32(alpha) !== f32(1 / 6) || beta !== 0.5)
      throw unsupported(
        n,
        `HardSigmoid with alpha ${alpha}, beta ${beta} (PyTorch's hardsigmoid is alpha 1/6, beta 0.5)`,
      );
    // torch.onnx opset < 14 writes Hardswish as x * HardSigmoid(x) (spec §12.D).
    const xName = n.inputs[0] ?? '';
    const c = this.onlyConsumer(n.outputs[0] ?? '');
    if (c !== undefined && c.opType === 'Mul' && c.inputs.includes(xName) && c.inputs.includes(n.outputs[0] ?? '')) {
      this.skip.add(c);
      const x = this.asFloat(this.requireInput(n, 0), n);
      const v = this.emitModule(n, new Hardswish(), [x]);
      if ('node' in v) v.node.meta['onnxName'] = [n.name, c.name];
      this.set(c, 0, v);
      return;
    }
    this.set(n, 0, this.emitModule(n, new Hardsigmoid(), [this.asFloat(this.requireInput(n, 0), n)]));
  }

  binary(n: OnnxNode): void {
    const a = this.requireInput(n, 0);
    const b = this.requireInput(n, 1);
    if (a.kind === 'dq' && b.kind === 'dq') {
      const f = this.fusedOutput(n);
      if (f !== undefined) {
        const zeroPoint = this.actZp(f.zeroPoint, this.qparamsOf(f.q, 1, 2)!.dtype);
        // ORT drops the Relu of DQ → Add → Relu → Q only when Q's zero point is the code of 0.0;
        // otherwise it adds and clamps in float (docs/numerics.md, engine ort), as the float path does.
        const ortFloatRelu = this.engine === 'ort' && f.relu !== null && zeroPoint !== 0;
        const op =
          n.opType === 'Add'
            ? f.relu === null
              ? 'add'
              : ortFloatRelu
                ? null
                : 'addRelu'
            : f.relu === null
              ? 'mul'
              : null;
        if (op !== null) {
          const m = new QuantizedOp(op, {
            scale: f.scale,
            zeroPoint,
            backend: this.requireBackend(n),
            engine: this.engine,
          });
          const node = this.addModule(n, m, [a.of.node, b.of.node]);
          this.finishFused(
            f,
            this.quantValue(node, this.sample(node, [a.of.sample, b.of.sample]), a.of.dyn || b.of.dyn, n),
          );
          return;
        }
      }
    }
    const fa = this.asFloat(a, n);
    const fb = this.asFloat(b, n);
    const fn = n.opType === 'Add' ? add : mul;
    this.set(n, 0, this.emitFunction(n, fn, [fa.node, fb.node], [fa.sample, fb.sample], fa.dyn || fb.dyn));
  }

  concat(n: OnnxNode): void {
    const ins = n.inputs.filter((x) => x !== '').map((x) => this.get(x, n));
    const axis = attrInt(n, 'axis', 0);
    if (ins.every((v) => v.kind === 'dq')) {
      const f = this.fusedOutput(n);
      if (f !== undefined && f.relu === null) {
        const dqs = ins as Extract<Value, { kind: 'dq' }>[];
        const rank = dqs[0]!.of.sample.shape.length;
        const m = new QuantizedOp('cat', {
          scale: f.scale,
          zeroPoint: this.actZp(f.zeroPoint, this.qparamsOf(f.q, 1, 2)!.dtype),
          backend: this.requireBackend(n),
          engine: this.engine,
          dim: axis < 0 ? axis + rank : axis,
        });
        const node = this.addModule(n, m, [dqs.map((d) => d.of.node)]);
        this.finishFused(
          f,
          this.quantValue(
            node,
            this.sample(node, [dqs.map((d) => d.of.sample)]),
            dqs.some((d) => d.of.dyn),
            n,
          ),
        );
        return;
      }
    }
    const fs = ins.map((v) => this.asFloat(v, n));
    this.set(
      n,
      0,
      this.emitFunction(
        n,
        cat,
        [fs.map((f) => f.node), axis],
        [fs.map((f) => f.sample), axis],
        fs.some((f) => f.dyn),
      ),
    );
  }

  // ------------------------------------------------------------------ pooling

  maxPool(n: OnnxNode): void {
    if (n.outputs.length > 1 && n.outputs[1] !== '' && (this.consumers.get(n.outputs[1]!)?.length ?? 0) > 0)
      throw unsupported(n, 'MaxPool indices output');
    if (attrInt(n, 'storage_order', 0) !== 0) throw unsupported(n, 'MaxPool storage_order 1');
    const x = this.requireInput(n, 0);
    const shape = x.kind === 'dq' ? x.of.sample.shape : x.kind === 'float' || x.kind === 'quant' ? x.sample.shape : [];
    if (shape.length !== 4) throw unsupported(n, `MaxPool on a rank-${shape.length} input (MaxPool2d only)`);
    const k = attrInts(n, 'kernel_shape');
    if (k === undefined || k.length !== 2) throw bad(n, 'kernel_shape must have 2 values');
    const strides = attrInts(n, 'strides') ?? [1, 1];
    const dil = attrInts(n, 'dilations') ?? [1, 1];
    const pads = this.pads(n, shape, k, strides, dil);
    const m = new MaxPool2d([k[0]!, k[1]!], {
      stride: [strides[0]!, strides[1]!],
      padding: pads,
      dilation: [dil[0]!, dil[1]!],
      ceilMode: attrInt(n, 'ceil_mode', 0) === 1,
    });
    if (x.kind === 'quant') {
      // QOperator graphs run MaxPool on uint8 codes directly.
      setBackend(m, this.requireBackend(n), this.engine);
      const node = this.addModule(n, m, [x.node]);
      this.set(n, 0, this.quantValue(node, this.sample(node, [x.sample]), x.dyn, n));
      return;
    }
    if (x.kind === 'dq' && this.runOnCodesIfQparamsKept(n, x, m)) return;
    this.set(n, 0, this.emitModule(n, m, [this.asFloat(x, n)]));
  }

  pad(n: OnnxNode): void {
    const x = this.requireInput(n, 0);
    const mode = attrString(n, 'mode', 'constant');
    const pads = this.opset < 11 ? attrInts(n, 'pads') : this.constNumbers(this.input(n, 1));
    const value = this.opset < 11 ? attrFloat(n, 'value', 0) : (this.constNumbers(this.input(n, 2))?.[0] ?? 0);
    if (pads === undefined) throw unsupported(n, 'Pad with pads that are not constants');
    if (this.input(n, 3) !== undefined) throw unsupported(n, 'Pad with axes');
    const c = this.onlyConsumer(n.outputs[0] ?? '');
    if (pads.every((p) => p === 0)) {
      // torch.onnx writes AvgPool2d(count_include_pad=True) as Pad + AveragePool even for padding 0.
      if (c?.opType === 'AveragePool' && (x.kind === 'float' || x.kind === 'dq'))
        this.set(n, 0, { kind: 'pad', of: x, pads: [0, 0], onnx: n });
      else this.set(n, 0, x);
      return;
    }
    const ok =
      mode === 'constant' &&
      value === 0 &&
      pads.length === 8 &&
      pads[0] === 0 &&
      pads[1] === 0 &&
      pads[4] === 0 &&
      pads[5] === 0 &&
      pads[2] === pads[6] &&
      pads[3] === pads[7];
    if (!ok || c === undefined || c.opType !== 'AveragePool' || (x.kind !== 'float' && x.kind !== 'dq')) {
      throw unsupported(
        n,
        `Pad (mode ${mode}, pads [${pads.join(', ')}]) other than the zero spatial padding before an AveragePool that AvgPool2d exports to`,
      );
    }
    this.set(n, 0, { kind: 'pad', of: x, pads: [pads[2]!, pads[3]!], onnx: n });
  }

  avgPool(n: OnnxNode): void {
    let x = this.requireInput(n, 0);
    let extra: [number, number] = [0, 0];
    let padNode: OnnxNode | undefined;
    if (x.kind === 'pad') {
      extra = x.pads;
      padNode = x.onnx;
      x = x.of;
    }
    const shape = x.kind === 'dq' ? x.of.sample.shape : x.kind === 'float' || x.kind === 'quant' ? x.sample.shape : [];
    if (shape.length !== 4) throw unsupported(n, `AveragePool on a rank-${shape.length} input (AvgPool2d only)`);
    const k = attrInts(n, 'kernel_shape');
    if (k === undefined || k.length !== 2) throw bad(n, 'kernel_shape must have 2 values');
    const strides = attrInts(n, 'strides') ?? [1, 1];
    if ((attrInts(n, 'dilations') ?? [1, 1]).some((d) => d !== 1)) throw unsupported(n, 'AveragePool with dilations');
    const hasPadsAttr = attr(n, 'pads') !== undefined || attr(n, 'auto_pad') !== undefined;
    const pads = this.pads(
      n,
      [shape[0]!, shape[1]!, shape[2]! + 2 * extra[0], shape[3]! + 2 * extra[1]],
      k,
      strides,
      [1, 1],
    );
    const ceil = attrInt(n, 'ceil_mode', 0) === 1;
    const H = shape[2]!;
    const W = shape[3]!;
    let m: Module;
    let geometry:
      | { kind: 'adaptive'; out: [number, number] }
      | { kind: 'avg'; k: [number, number]; s: [number, number]; p: [number, number]; include: boolean };
    if (
      padNode === undefined &&
      !hasPadsAttr &&
      attr(n, 'ceil_mode') === undefined &&
      strides[0] === k[0] &&
      strides[1] === k[1] &&
      H % k[0]! === 0 &&
      W % k[1]! === 0
    ) {
      // torch.onnx writes AdaptiveAvgPool2d(out) as a bare AveragePool (spec §12.D).
      const out: [number, number] = [H / k[0]!, W / k[1]!];
      m = new AdaptiveAvgPool2d(out);
      geometry = { kind: 'adaptive', out };
    } else {
      if (padNode !== undefined && (pads[0] !== 0 || pads[1] !== 0))
        throw unsupported(n, 'Pad before an AveragePool that pads again');
      const p: [number, number] = padNode === undefined ? pads : extra;
      const include = padNode !== undefined ? true : attrInt(n, 'count_include_pad', 0) === 1;
      m = new AvgPool2d([k[0]!, k[1]!], {
        stride: [strides[0]!, strides[1]!],
        padding: p,
        ceilMode: ceil,
        countIncludePad: include,
      });
      geometry = { kind: 'avg', k: [k[0]!, k[1]!], s: [strides[0]!, strides[1]!], p, include };
    }
    const target: OnnxNode = padNode === undefined ? n : { ...n, name: n.name };
    if (x.kind === 'dq') {
      const f = this.fusedOutput(n);
      if (f !== undefined && f.relu === null) {
        const zp = this.actZp(f.zeroPoint, this.qparamsOf(f.q, 1, 2)!.dtype);
        const q =
          geometry.kind === 'adaptive'
            ? new QuantizedOp('adaptiveAvgPool2d', {
                scale: f.scale,
                zeroPoint: zp,
                backend: this.requireBackend(n),
                engine: this.engine,
                outputSize: geometry.out,
              })
            : new QuantizedOp('avgPool2d', {
                scale: f.scale,
                zeroPoint: zp,
                backend: this.requireBackend(n),
                engine: this.engine,
                kernelSize: geometry.k,
                stride: geometry.s,
                padding: geometry.p,
                ceilMode: ceil,
                countIncludePad: geometry.include,
              });
        const node = this.addModule(target, q, [x.of.node]);
        this.finishFused(f, this.quantValue(node, this.sample(node, [x.of.sample]), x.of.dyn, n));
        return;
      }
    }
    const v = this.emitModule(target, m, [this.asFloat(x, n)]);
    if (padNode !== undefined && 'node' in v) v.node.meta['onnxName'] = [padNode.name, n.name];
    this.set(n, 0, v);
  }

  globalAvgPool(n: OnnxNode): void {
    const x = this.requireInput(n, 0);
    if (x.kind === 'dq') {
      const f = this.fusedOutput(n);
      if (f !== undefined && f.relu === null) {
        const m = new QuantizedOp('adaptiveAvgPool2d', {
          scale: f.scale,
          zeroPoint: this.actZp(f.zeroPoint, this.qparamsOf(f.q, 1, 2)!.dtype),
          backend: this.requireBackend(n),
          engine: this.engine,
          outputSize: [1, 1],
        });
        const node = this.addModule(n, m, [x.of.node]);
        this.finishFused(f, this.quantValue(node, this.sample(node, [x.of.sample]), x.of.dyn, n));
        return;
      }
    }
    const xf = this.asFloat(x, n);
    if (xf.sample.shape.length !== 4)
      throw unsupported(n, `GlobalAveragePool on a rank-${xf.sample.shape.length} input`);
    this.set(n, 0, this.emitModule(n, new AdaptiveAvgPool2d(1), [xf]));
  }

  // ------------------------------------------------------------------ shape ops on tensors

  /** Shape ops on a float, quantized or DQ'd value: a DQ'd value stays quantized (codes unchanged). */
  dataOf(v: Value, n: OnnxNode): { node: Node; sample: Tensor | QTensor; dyn: boolean; quant: boolean; dq: boolean } {
    if (v.kind === 'dq') return { node: v.of.node, sample: v.of.sample, dyn: v.of.dyn, quant: true, dq: true };
    if (v.kind === 'quant') return { node: v.node, sample: v.sample, dyn: v.dyn, quant: true, dq: false };
    const f = this.asFloat(v, n);
    return { node: f.node, sample: f.sample, dyn: f.dyn, quant: false, dq: false };
  }

  emitShapeOp(
    n: OnnxNode,
    d: ReturnType<Importer['dataOf']>,
    fnFloat: (...a: never[]) => unknown,
    fnQuant: (...a: never[]) => unknown,
    rest: Argument[],
    restSample: unknown[],
    dyn: boolean,
  ): void {
    const fn = d.quant ? fnQuant : fnFloat;
    const node = this.addFunction(n, fn, [d.node, ...rest]);
    const s = this.sample(node, [d.sample, ...restSample]);
    if (d.quant) {
      const q = this.quantValue(node, s, dyn, n);
      // A DQ'd input stays a DQ'd output: ORT drops QDQ around shape ops; keep the pattern for a following op.
      if (d.dq) {
        const f = this.fusedOutput(n);
        if (
          f !== undefined &&
          f.relu === null &&
          f.scale === q.sample.qScale() &&
          this.actZp(f.zeroPoint, this.qparamsOf(f.q, 1, 2)!.dtype) === q.sample.qZeroPoint()
        ) {
          this.finishFused(f, q);
          return;
        }
        this.set(n, 0, { kind: 'dq', of: q });
        return;
      }
      this.set(n, 0, q);
      return;
    }
    this.set(n, 0, this.floatValue(node, s, dyn));
  }

  flattenOp(n: OnnxNode): void {
    const d = this.dataOf(this.requireInput(n, 0), n);
    const rank = d.sample.shape.length;
    let axis = attrInt(n, 'axis', 1);
    if (axis < 0) axis += rank;
    if (axis === 1 && !d.quant) {
      this.emitShapeOp(n, d, flatten, flatten, [1], [1], d.dyn);
      return;
    }
    const lead = numel(d.sample.shape.slice(0, axis));
    const shape: Argument[] =
      axis === 0 ? [1, -1] : axis === 1 && d.dyn ? [this.sizeNode({ node: d.node, dim: 0 }), -1] : [lead, -1];
    const sampleShape = axis === 0 ? [1, -1] : [lead, -1];
    this.emitShapeOp(n, d, reshape, quantizedReshape, [shape], [sampleShape], d.dyn && axis >= 1);
  }

  reshapeOp(n: OnnxNode): void {
    const d = this.dataOf(this.requireInput(n, 0), n);
    const sv = this.requireInput(n, 1);
    const e = this.entriesOf(sv, n);
    if (e === undefined) throw unsupported(n, 'a Reshape whose shape is computed from data (not a shape subgraph)');
    const inShape = d.sample.shape;
    const entries = e.entries.map((x, i) =>
      x === 0 && attrInt(n, 'allowzero', 0) === 0 ? (i === 0 && d.dyn ? { node: d.node, dim: 0 } : inShape[i]!) : x,
    );
    const args: Argument[] = entries.map((x) => (typeof x === 'number' ? x : this.sizeNode(x)));
    const sampleShape = entries.map((x) => (typeof x === 'number' ? x : d.sample.shape[x.dim]!));
    const first = entries[0];
    const dyn = d.dyn && (typeof first !== 'number' || first === -1);
    this.emitShapeOp(n, d, reshape, quantizedReshape, [args], [sampleShape], dyn);
  }

  transpose(n: OnnxNode): void {
    const d = this.dataOf(this.requireInput(n, 0), n);
    const rank = d.sample.shape.length;
    const perm = attrInts(n, 'perm') ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
    this.emitShapeOp(n, d, permute, quantizedPermute, [perm], [perm], d.dyn && perm[0] === 0);
  }

  squeezeOp(n: OnnxNode): void {
    const d = this.dataOf(this.requireInput(n, 0), n);
    const shape = [...d.sample.shape];
    const rank = shape.length;
    const axes = attrInts(n, 'axes') ?? this.constNumbers(this.input(n, 1));
    let out: number[];
    if (n.opType === 'Squeeze') {
      const ax = (axes ?? shape.map((s, i) => (s === 1 ? i : -1)).filter((i) => i >= 0)).map((a) =>
        a < 0 ? a + rank : a,
      );
      if (ax.includes(0) && d.dyn) throw unsupported(n, 'Squeeze of the dynamic batch axis');
      out = shape.filter((_, i) => !ax.includes(i));
    } else {
      if (axes === undefined) throw bad(n, 'Unsqueeze needs axes');
      const outRank = rank + axes.length;
      const ax = axes.map((a) => (a < 0 ? a + outRank : a));
      out = [];
      let j = 0;
      for (let i = 0; i < outRank; i++) out.push(ax.includes(i) ? 1 : shape[j++]!);
    }
    const keepBatch =
      d.dyn &&
      out[0] === shape[0] &&
      (n.opType === 'Squeeze' ||
        !(attrInts(n, 'axes') ?? this.constNumbers(this.input(n, 1)) ?? []).some((a) => a === 0));
    const args: Argument[] = out.map((x, i) => (i === 0 && keepBatch ? this.sizeNode({ node: d.node, dim: 0 }) : x));
    this.emitShapeOp(n, d, reshape, quantizedReshape, [args], [out], keepBatch);
  }

  softmaxOp(n: OnnxNode): void {
    const x = this.asFloat(this.requireInput(n, 0), n);
    const rank = x.sample.shape.length;
    let axis = attrInt(n, 'axis', this.opset < 13 ? 1 : -1);
    if (axis < 0) axis += rank;
    // Before opset 13 Softmax coerces to 2-D at `axis`: the same as PyTorch's softmax only on the last axis.
    if (this.opset < 13 && axis !== rank - 1)
      throw unsupported(n, `Softmax (opset ${this.opset}) on axis ${axis} of a rank-${rank} input`);
    this.set(n, 0, this.emitFunction(n, softmax, [x.node, axis], [x.sample, axis], x.dyn));
  }

  // ------------------------------------------------------------------ Q / DQ

  quantizeLinear(n: OnnxNode): void {
    const x = this.requireInput(n, 0);
    const qp = this.qparamsOf(n, 1, 2);
    if (qp === undefined) throw unsupported(n, 'QuantizeLinear with a scale or zero point that is not a constant');
    if (qp.perChannel) throw unsupported(n, 'per-axis QuantizeLinear of an activation');
    if (qp.dtype === 'int32') throw unsupported(n, 'QuantizeLinear to int32');
    if (x.kind === 'const') {
      // Quantizing a constant (a weight stored as float + Q/DQ): fold.
      const codes = quantizeConst(x.t, qp.scales, qp.zps, qp.dtype, attrInt(n, 'axis', 1));
      this.set(n, 0, { kind: 'const', t: codes });
      return;
    }
    const backend = this.requireBackend(n);
    const zp = this.actZp(qp.zps[0]!, qp.dtype);
    const m = new nnq.Quantize(qp.scales[0]!, zp, { dtype: 'quint8', backend, engine: this.engine });
    const xf = this.asFloat(x, n);
    const node = this.addModule(n, m, [xf.node]);
    this.set(n, 0, this.quantValue(node, this.sample(node, [xf.sample]), xf.dyn, n));
  }

  dequantizeLinear(n: OnnxNode): void {
    const x = this.requireInput(n, 0);
    if (x.kind === 'const') {
      const s = this.input(n, 1);
      const z = this.input(n, 2);
      if (s?.kind !== 'const' || (z !== undefined && z.kind !== 'const'))
        throw unsupported(n, 'DequantizeLinear of a constant with non-constant qparams');
      const axis = attrInt(n, 'axis', 1);
      const ax = axis < 0 ? axis + x.t.dims.length : axis;
      const count = numel(s.t.dims);
      if (count > 1 && x.t.dims[ax] !== count)
        throw bad(n, `${count} scales for axis ${ax} of size ${x.t.dims[ax]} in '${x.t.name}'`);
      if (z !== undefined && z.kind === 'const' && numel(z.t.dims) !== count)
        throw bad(n, `${count} scales but ${numel(z.t.dims)} zero points`);
      this.set(n, 0, { kind: 'dqconst', codes: x.t, scale: s.t, zp: z?.kind === 'const' ? z.t : undefined, axis: ax });
      return;
    }
    if (x.kind !== 'quant') throw unsupported(n, `DequantizeLinear of a ${x.kind} value`);
    const qp = this.qparamsOf(n, 1, 2);
    if (qp === undefined) throw unsupported(n, 'DequantizeLinear with qparams that are not constants');
    const zp = this.actZp(qp.zps[0]!, qp.dtype);
    if (qp.perChannel || qp.scales[0] !== f32(x.sample.qScale()) || zp !== x.sample.qZeroPoint()) {
      throw unsupported(
        n,
        `DequantizeLinear with qparams (scale ${qp.scales[0]}, zero point ${qp.zps[0]}) that differ from its QuantizeLinear's (scale ${x.sample.qScale()}, zero point ${x.sample.qZeroPoint()})`,
      );
    }
    this.set(n, 0, { kind: 'dq', of: x });
  }

  // ------------------------------------------------------------------ QOperator

  qinput(
    n: OnnxNode,
    i: number,
    si: number,
    zi: number,
  ): { v: Extract<Value, { kind: 'quant' }>; scale: number; zp: number } {
    const v = this.requireInput(n, i);
    const qp = this.qparamsOf(n, si, zi);
    if (qp === undefined || qp.perChannel)
      throw unsupported(n, `input ${i} with a scale/zero point that is not a constant scalar`);
    if (v.kind !== 'quant') throw unsupported(n, `input ${i} is a ${v.kind} value, not the output of a quantized op`);
    const zp = this.actZp(qp.zps[0]!, qp.dtype);
    if (f32(v.sample.qScale()) !== qp.scales[0] || v.sample.qZeroPoint() !== zp) {
      throw unsupported(
        n,
        `input ${i} carries (scale ${v.sample.qScale()}, zero point ${v.sample.qZeroPoint()}) but the op reads it with (scale ${qp.scales[0]}, zero point ${qp.zps[0]})`,
      );
    }
    return { v, scale: qp.scales[0]!, zp };
  }

  qout(n: OnnxNode, si: number, zi: number): { scale: number; zp: number } {
    const qp = this.qparamsOf(n, si, zi);
    if (qp === undefined || qp.perChannel)
      throw unsupported(n, 'an output scale/zero point that is not a constant scalar');
    return { scale: qp.scales[0]!, zp: this.actZp(qp.zps[0]!, qp.dtype) };
  }

  qlinearConv(n: OnnxNode): void {
    const x = this.qinput(n, 0, 1, 2);
    const w = this.requireInput(n, 3);
    if (w.kind !== 'const') throw unsupported(n, 'QLinearConv with a weight that is not a constant initializer');
    const ws = this.qparamsOf(n, 4, 5);
    if (ws === undefined) throw unsupported(n, 'weight qparams that are not constants');
    const out = this.qout(n, 6, 7);
    const geo = this.convGeometry(n, w.t.dims, x.v.sample.shape);
    const [outC, inCg] = w.t.dims as [number, number];
    if (ws.scales.length !== 1 && ws.scales.length !== outC)
      throw bad(n, `${ws.scales.length} weight scales for ${outC} output channels`);
    const weight = this.weightQTensor(n, w.t, ws.scales, ws.zps, 0, w.t.dims);
    const bias = this.biasFloat(n, this.input(n, 8), x.scale, ws.scales, outC);
    const m = new nnq.Conv2d(inCg * geo.group, outC, [geo.kh, geo.kw], {
      stride: geo.strides,
      padding: geo.pads,
      dilation: geo.dilation,
      groups: geo.group,
      bias: bias !== null,
      backend: this.requireBackend(n),
      engine: this.engine,
    });
    m.setWeightBias(weight, bias);
    m.scale = out.scale;
    m.zeroPoint = out.zp;
    const node = this.addModule(n, m, [x.v.node]);
    this.set(n, 0, this.quantValue(node, this.sample(node, [x.v.sample]), x.v.dyn, n));
  }

  qlinearMatMul(n: OnnxNode): void {
    const a = this.qinput(n, 0, 1, 2);
    const b = this.requireInput(n, 3);
    if (b.kind !== 'const' || b.t.dims.length !== 2)
      throw unsupported(n, 'QLinearMatMul whose B is not a 2-D constant (matmul of two activations)');
    const bs = this.qparamsOf(n, 4, 5);
    if (bs === undefined) throw unsupported(n, 'B qparams that are not constants');
    const out = this.qout(n, 6, 7);
    const [K, N] = b.t.dims as [number, number];
    const weight = this.weightQTensor(n, transposeTensor(b.t, K, N), bs.scales, bs.zps, 0, [N, K]);
    const m = new nnq.Linear(K, N, { bias: false, backend: this.requireBackend(n), engine: this.engine });
    m.setWeightBias(weight, null);
    m.scale = out.scale;
    m.zeroPoint = out.zp;
    const node = this.addModule(n, m, [a.v.node]);
    this.set(n, 0, this.quantValue(node, this.sample(node, [a.v.sample]), a.v.dyn, n));
  }

  qgemm(n: OnnxNode): void {
    // com.microsoft.QGemm(A, a_scale, a_zp, B, b_scale, b_zp, C, y_scale, y_zp); float output when y_scale is absent.
    if (attrInt(n, 'transA', 0) !== 0 || attrFloat(n, 'alpha', 1) !== 1)
      throw unsupported(n, 'QGemm with transA or alpha ≠ 1');
    const a = this.qinput(n, 0, 1, 2);
    const b = this.requireInput(n, 3);
    if (b.kind !== 'const' || b.t.dims.length !== 2) throw unsupported(n, 'QGemm whose B is not a 2-D constant');
    if (this.input(n, 7) === undefined) throw unsupported(n, 'QGemm with a float output');
    const bs = this.qparamsOf(n, 4, 5);
    if (bs === undefined) throw unsupported(n, 'B qparams that are not constants');
    const out = this.qout(n, 7, 8);
    const transB = attrInt(n, 'transB', 0) === 1;
    const [K, N] = transB ? [b.t.dims[1]!, b.t.dims[0]!] : [b.t.dims[0]!, b.t.dims[1]!];
    const codes = transB ? b.t : transposeTensor(b.t, K, N);
    const weight = this.weightQTensor(n, codes, bs.scales, bs.zps, 0, [N, K]);
    const bias = this.biasFloat(n, this.input(n, 6), a.scale, bs.scales, N);
    const m = new nnq.Linear(K, N, { bias: bias !== null, backend: this.requireBackend(n), engine: this.engine });
    m.setWeightBias(weight, bias);
    m.scale = out.scale;
    m.zeroPoint = out.zp;
    const node = this.addModule(n, m, [a.v.node]);
    this.set(n, 0, this.quantValue(node, this.sample(node, [a.v.sample]), a.v.dyn, n));
  }

  qlinearBinary(n: OnnxNode): void {
    const a = this.qinput(n, 0, 1, 2);
    const b = this.qinput(n, 3, 4, 5);
    const out = this.qout(n, 6, 7);
    const m = new QuantizedOp(n.opType === 'QLinearAdd' ? 'add' : 'mul', {
      scale: out.scale,
      zeroPoint: out.zp,
      backend: this.requireBackend(n),
      engine: this.engine,
    });
    const node = this.addModule(n, m, [a.v.node, b.v.node]);
    this.set(n, 0, this.quantValue(node, this.sample(node, [a.v.sample, b.v.sample]), a.v.dyn || b.v.dyn, n));
  }

  qlinearConcat(n: OnnxNode): void {
    // QLinearConcat(Y_scale, Y_zp, (X, X_scale, X_zp)…)
    const out = this.qout(n, 0, 1);
    const xs: ReturnType<Importer['qinput']>[] = [];
    for (let i = 2; i + 2 < n.inputs.length + 1; i += 3) xs.push(this.qinput(n, i, i + 1, i + 2));
    if (xs.length === 0) throw bad(n, 'QLinearConcat without inputs');
    const rank = xs[0]!.v.sample.shape.length;
    const axis = attrInt(n, 'axis', 0);
    const m = new QuantizedOp('cat', {
      scale: out.scale,
      zeroPoint: out.zp,
      backend: this.requireBackend(n),
      engine: this.engine,
      dim: axis < 0 ? axis + rank : axis,
    });
    const node = this.addModule(n, m, [xs.map((x) => x.v.node)]);
    this.set(
      n,
      0,
      this.quantValue(
        node,
        this.sample(node, [xs.map((x) => x.v.sample)]),
        xs.some((x) => x.v.dyn),
        n,
      ),
    );
  }

  qlinearAvgPool(n: OnnxNode): void {
    if (attrInt(n, 'channels_last', 0) !== 0) throw unsupported(n, 'QLinearAveragePool with channels_last');
    const x = this.qinput(n, 0, 1, 2);
    const out = this.qout(n, 3, 4);
    const k = attrInts(n, 'kernel_shape');
    if (k === undefined || k.length !== 2) throw bad(n, 'kernel_shape must have 2 values');
    const strides = attrInts(n, 'strides') ?? [1, 1];
    const pads = this.pads(n, x.v.sample.shape, k, strides, [1, 1]);
    const m = new QuantizedOp('avgPool2d', {
      scale: out.scale,
      zeroPoint: out.zp,
      backend: this.requireBackend(n),
      engine: this.engine,
      kernelSize: [k[0]!, k[1]!],
      stride: [strides[0]!, strides[1]!],
      padding: pads,
      ceilMode: attrInt(n, 'ceil_mode', 0) === 1,
      countIncludePad: attrInt(n, 'count_include_pad', 0) === 1,
    });
    const node = this.addModule(n, m, [x.v.node]);
    this.set(n, 0, this.quantValue(node, this.sample(node, [x.v.sample]), x.v.dyn, n));
  }

  qlinearGlobalAvgPool(n: OnnxNode): void {
    if (attrInt(n, 'channels_last', 0) !== 0) throw unsupported(n, 'QLinearGlobalAveragePool with channels_last');
    const x = this.qinput(n, 0, 1, 2);
    const out = this.qout(n, 3, 4);
    const m = new QuantizedOp('adaptiveAvgPool2d', {
      scale: out.scale,
      zeroPoint: out.zp,
      backend: this.requireBackend(n),
      engine: this.engine,
      outputSize: [1, 1],
    });
    const node = this.addModule(n, m, [x.v.node]);
    this.set(n, 0, this.quantValue(node, this.sample(node, [x.v.sample]), x.v.dyn, n));
  }

  qlinearSigmoid(n: OnnxNode): void {
    const x = this.qinput(n, 0, 1, 2);
    const out = this.qout(n, 3, 4);
    const m = new QuantizedOp('sigmoid', {
      scale: out.scale,
      zeroPoint: out.zp,
      backend: this.requireBackend(n),
      engine: this.engine,
    });
    const node = this.addModule(n, m, [x.v.node]);
    this.set(n, 0, this.quantValue(node, this.sample(node, [x.v.sample]), x.v.dyn, n));
  }

  dynamicQuantizeLinear(n: OnnxNode): void {
    const x = this.asFloat(this.requireInput(n, 0), n);
    const node = this.addModule(n, new DynamicQuantizeLinear(), [x.node]);
    const q = this.quantValue(node, this.sample(node, [x.sample]), x.dyn, n);
    this.set(n, 0, q);
    this.set(n, 1, { kind: 'dqlScale', of: q });
    this.set(n, 2, { kind: 'dqlZp', of: q });
  }

  integerInput(n: OnnxNode): Extract<Value, { kind: 'quant' }> {
    const a = this.requireInput(n, 0);
    if (a.kind !== 'quant')
      throw unsupported(
        n,
        `input 0 is a ${a.kind} value (the output of DynamicQuantizeLinear or QuantizeLinear is read)`,
      );
    const z = this.input(n, 2);
    if (z !== undefined) {
      const ok = (z.kind === 'dqlZp' && z.of.node === a.node) || this.constNumbers(z)?.[0] === a.sample.qZeroPoint();
      if (!ok) throw unsupported(n, 'an a_zero_point that is not the zero point of its input');
    }
    return a;
  }

  integerWeight(
    n: OnnxNode,
    outAxisLen: (dims: number[]) => number,
  ): { weight: Int8Array | Uint8Array; weightShape: number[]; weightZeroPoint: number[] } {
    const w = this.requireInput(n, 1);
    if (w.kind !== 'const' || (w.t.dataType !== 'int8' && w.t.dataType !== 'uint8'))
      throw unsupported(n, 'a weight that is not an int8/uint8 constant');
    const zv = this.input(n, 3);
    const z = zv === undefined ? [0] : this.constNumbers(zv);
    if (z === undefined) throw unsupported(n, 'a weight zero point that is not a constant');
    const c = outAxisLen(w.t.dims);
    if (z.length !== 1 && z.length !== c) throw bad(n, `${z.length} weight zero points for ${c} outputs`);
    return { weight: w.t.data as Int8Array | Uint8Array, weightShape: w.t.dims, weightZeroPoint: z };
  }

  matMulInteger(n: OnnxNode): void {
    const a = this.integerInput(n);
    const w = this.integerWeight(n, (d) => d[1]!);
    if (w.weightShape.length !== 2) throw unsupported(n, 'MatMulInteger with a B that is not 2-D');
    const node = this.addModule(n, new MatMulInteger(w), [a.node]);
    this.set(n, 0, { kind: 'int', node, sample: this.sample(node, [a.sample]) as Tensor, dyn: a.dyn });
    this.quantized = true;
  }

  convInteger(n: OnnxNode): void {
    const a = this.integerInput(n);
    const w = this.integerWeight(n, (d) => d[0]!);
    const geo = this.convGeometry(n, w.weightShape, a.sample.shape);
    const m = new ConvInteger({
      ...w,
      stride: geo.strides,
      padding: geo.pads,
      dilation: geo.dilation,
      groups: geo.group,
    });
    const node = this.addModule(n, m, [a.node]);
    this.set(n, 0, { kind: 'int', node, sample: this.sample(node, [a.sample]) as Tensor, dyn: a.dyn });
    this.quantized = true;
  }
}

const FOLDABLE = new Set([
  'Cast',
  'Identity',
  'Gather',
  'Unsqueeze',
  'Squeeze',
  'Concat',
  'Slice',
  'Add',
  'Sub',
  'Mul',
  'Div',
  'Reshape',
]);

function transposeF32(d: Float32Array, K: number, N: number): Float32Array {
  const out = new Float32Array(K * N);
  for (let k = 0; k < K; k++) for (let j = 0; j < N; j++) out[j * K + k] = d[k * N + j]!;
  return out;
}

function transposeTensor(t: OnnxTensor, K: number, N: number): OnnxTensor {
  const d = t.data as Int8Array | Uint8Array;
  const out = new (d.constructor as new (n: number) => Int8Array | Uint8Array)(K * N);
  for (let k = 0; k < K; k++) for (let j = 0; j < N; j++) out[j * K + k] = d[k * N + j]!;
  return { ...t, dims: [N, K], data: out };
}

/** `DequantizeLinear` of a constant: `f32((q − zp)·s)` per tensor or along the axis. */
function dequantConst(v: Extract<Value, { kind: 'dqconst' }>, n: OnnxNode): Float32Array {
  const q = v.codes.data;
  const s = tensorToFloat32(v.scale);
  const z = v.zp === undefined ? [0] : tensorToNumbers(v.zp);
  const dims = v.codes.dims;
  const inner = numel(dims.slice(v.axis + 1));
  const C = s.length;
  if (C > 1 && dims[v.axis] !== C)
    throw bad(n, `${C} scales for axis ${v.axis} of '${v.codes.name}' [${dims.join(', ')}]`);
  const out = new Float32Array(q.length);
  for (let i = 0; i < q.length; i++) {
    const c = C === 1 ? 0 : Math.floor(i / inner) % C;
    out[i] = f32((Number(q[i]) - (z[c] ?? z[0]!)) * s[c]!);
  }
  return out;
}

function quantizeConst(
  t: OnnxTensor,
  scales: number[],
  zps: number[],
  dtype: 'uint8' | 'int8' | 'int32',
  axis: number,
): OnnxTensor {
  const d = tensorToFloat32(t);
  const [lo, hi] = dtype === 'uint8' ? [0, 255] : [-128, 127];
  const out = dtype === 'uint8' ? new Uint8Array(d.length) : new Int8Array(d.length);
  const ax = axis < 0 ? axis + t.dims.length : axis;
  const inner = numel(t.dims.slice(ax + 1));
  for (let i = 0; i < d.length; i++) {
    const c = scales.length === 1 ? 0 : Math.floor(i / inner) % scales.length;
    const r = f32(d[i]! / scales[c]!);
    const rn = Math.round(r);
    const rne = Math.abs(r - Math.trunc(r)) === 0.5 ? 2 * Math.round(r / 2) : rn;
    out[i] = Math.min(hi, Math.max(lo, rne + zps[c]!));
  }
  return { name: t.name, dataType: dtype === 'uint8' ? 'uint8' : 'int8', dims: t.dims, data: out };
}

/**
 * Builds a runnable {@link GraphModule} from a decoded ONNX model (see the README's op table):
 * float ops become @quint/nn modules and @quint/tensor functions, QDQ patterns and QOperator ops
 * become quantized modules on `options.backend` / `options.engine` (default `'ort'`). Shape
 * subgraphs are folded for the input shapes in use; a symbolic batch stays dynamic.
 *
 * @throws QuantError `UNSUPPORTED_OP` naming the node and op for ops outside the table;
 *   `BAD_ONNX` for dangling inputs, missing initializers and malformed attributes;
 *   `LIMIT_EXCEEDED` for a graph input or computed value of more than `options.maxTensorElements`.
 * @example
 * const gm = importModel(decodeModel(bytes));
 * gm.call(x);
 */
export function importModel(model: OnnxModel, options: ImportOptions = {}): GraphModule {
  limitOption(options, 'maxTensorElements');
  const names = new Set<string>();
  for (const t of model.graph.initializers) names.add(t.name);
  for (const i of model.graph.inputs) names.add(i.name);
  for (const n of model.graph.nodes) {
    for (const i of n.inputs) {
      if (i !== '' && !names.has(i)) {
        throw new QuantError(
          'BAD_ONNX',
          `${label(n)}: input '${i}' is not produced by any earlier node, initializer or graph input (a missing initializer, a dangling input, or nodes out of topological order); re-export the model.`,
        );
      }
    }
    for (const o of n.outputs) if (o !== '') names.add(o);
  }
  const gm = new Importer(model, options).run();
  restoreFloatNodes(gm, model);
  return gm;
}

/** Links the nodes of a file quint wrote back to the float model's nodes (see {@link FLOAT_NODES_KEY}). */
function restoreFloatNodes(gm: GraphModule, model: OnnxModel): void {
  const map = parseFloatNodes(model.metadataProps[FLOAT_NODES_KEY]);
  if (map.size === 0) return;
  for (const node of gm.graph.nodes) {
    const o = node.meta['onnxName'];
    const key = typeof o === 'string' ? o : Array.isArray(o) && typeof o[0] === 'string' ? o[0] : undefined;
    const names = key === undefined ? undefined : map.get(key);
    if (names === undefined) continue;
    if (names.length > 1) node.meta['fusedFrom'] = [...names];
    else node.meta['nsName'] = names[0];
  }
}
