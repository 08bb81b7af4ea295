// GraphModule → ONNX. The graph is run once on zeros of the input shapes (torch.fx's ShapeProp) to
// learn every value's shape and, for quantized values, its qparams; then each node is written as the
// ONNX ops torch.onnx 1.13 / ONNX Runtime's quantizer write for it: float ops as torch.onnx does,
// quantized graphs as QDQ (U8S8: uint8 activations, int8 symmetric weights, int32 bias with scale
// x_s·w_s and zero point 0 — the form ORT fuses into integer kernels, spec onnx-ort-and-peers §1.4,
// §7) or as QOperator ops (com.microsoft where the standard has none).
import type { Module } from '@quint/nn';
import {
  AdaptiveAvgPool2d,
  AvgPool2d,
  BatchNorm2d,
  Conv2d,
  Dropout,
  Flatten,
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
  nnq,
  nnqd,
} from '@quint/nn';
import { ortBias, type QTensor } from '@quint/qtensor';
import type { GraphModule } from '@quint/fx-graph-tracer';
import { Interpreter, type Argument, type Node } from '@quint/fx-graph-tracer';
import { QuantError, Tensor } from '@quint/tensor';
import type { ImportedGraphInfo } from './import.js';
import { FLOAT_NODES_KEY } from './names.js';
import type { OnnxAttribute, OnnxGraph, OnnxModel, OnnxNode, OnnxTensor, OnnxValueInfo } from './proto.js';
import {
  ConvInteger,
  DynamicQuantizeLinear,
  MatMulInteger,
  QuantizedOp,
  qScaleOf,
  quantizedPermute,
  quantizedReshape,
} from './quantized-ops.js';

const f32 = Math.fround;

function isQuantizedModule(m: Module): boolean {
  return (
    m instanceof nnq.Quantize ||
    m instanceof nnq.Conv2d ||
    m instanceof nnq.Linear ||
    m instanceof QuantizedOp ||
    m instanceof nnqd.Linear
  );
}

/** The ONNX form of a quantized graph. */
export type QuantizedFormat = 'qdq' | 'qoperator';

/** Options of {@link exportModel}. */
export interface ExportOptions {
  /** How quantized ops are written (default `'qdq'`); float graphs are always plain ONNX. */
  readonly format?: QuantizedFormat;
  /** The default-domain opset (default 13; 11–21). */
  readonly opset?: number;
  /** Input shapes for the shape pass; default: what the importer recorded in `gm.meta.onnx`. */
  readonly inputShapes?: Readonly<Record<string, readonly number[]>>;
  /** `metadata_props` to write (provenance). */
  readonly metadata?: Readonly<Record<string, string>>;
  /** `producer_name` (default `'quint'`). */
  readonly producerName?: string;
  /** `producer_version`. */
  readonly producerVersion?: string;
}

type Val = Tensor | QTensor | number | unknown;

function isQ(x: unknown): x is QTensor {
  return typeof x === 'object' && x !== null && 'qparams' in x && typeof (x as QTensor).intRepr === 'function';
}

class ShapeProp extends Interpreter {
  readonly values = new Map<Node, Val>();

  override runNode(n: Node): unknown {
    const v = super.runNode(n);
    this.values.set(n, v);
    return v;
  }
}

const ints = (value: number[]): OnnxAttribute => ({ type: 'ints', value });
const int = (value: number): OnnxAttribute => ({ type: 'int', value });
const float = (value: number): OnnxAttribute => ({ type: 'float', value });

function pair(v: number | readonly number[]): [number, number] {
  return typeof v === 'number' ? [v, v] : [v[0]!, v[1]!];
}

function irVersionFor(opset: number): number {
  if (opset <= 13) return 7;
  if (opset <= 15) return 8;
  if (opset <= 20) return 9;
  return 10;
}

class Exporter {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensor[] = [];
  readonly names = new Map<Node, string>();
  readonly used = new Set<string>();
  readonly values: Map<Node, Val>;
  readonly info: ImportedGraphInfo | undefined;
  readonly format: QuantizedFormat;
  readonly opset: number;
  readonly outputNames = new Map<Node, string>();
  readonly usedNodes = new Set<string>();
  /** Written node name → the float graph node names it stands for ({@link FLOAT_NODES_KEY}). */
  readonly floatNodes: Record<string, string[]> = {};
  msDomain = false;
  counter = 0;

  constructor(
    readonly gm: GraphModule,
    readonly options: ExportOptions,
  ) {
    this.info = gm.meta['onnx'] as ImportedGraphInfo | undefined;
    this.format = options.format ?? 'qdq';
    this.opset = options.opset ?? 13;
    if (!(this.opset >= 11 && this.opset <= 21))
      throw new QuantError(
        'INVALID_ARGUMENT',
        `exportModel: opset ${this.opset} is outside 11–21; pass an opset in that range.`,
      );
    const placeholders = gm.graph.nodes.filter((n) => n.op === 'placeholder');
    const samples = placeholders.map((p, i) => {
      const onnxName = (p.meta['onnxName'] as string | undefined) ?? (p.target as string);
      const shape =
        options.inputShapes?.[onnxName] ?? options.inputShapes?.[p.target as string] ?? this.info?.inputs[i]?.shape;
      if (shape === undefined) {
        throw new QuantError(
          'INVALID_ARGUMENT',
          `exportModel: no shape for graph input '${onnxName}'; pass options.inputShapes { '${onnxName}': [...] }.`,
        );
      }
      return new Tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
    });
    const sp = new ShapeProp(gm, { garbageCollectValues: false });
    sp.run(...samples);
    this.values = sp.values;
  }

  // ------------------------------------------------------------------ naming

  fresh(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }

  init(base: string, t: Omit<OnnxTensor, 'name'>): string {
    const name = this.fresh(base);
    this.initializers.push({ ...t, name });
    return name;
  }

  scalarF(base: string, v: number): string {
    return this.init(base, { dataType: 'float', dims: [], data: Float32Array.of(f32(v)) });
  }

  scalarU8(base: string, v: number): string {
    return this.init(base, { dataType: 'uint8', dims: [], data: Uint8Array.of(v) });
  }

  int64(base: string, v: number[]): string {
    return this.init(base, { dataType: 'int64', dims: [v.length], data: BigInt64Array.from(v.map((x) => BigInt(x))) });
  }

  op(
    opType: string,
    inputs: string[],
    outBase: string,
    attributes: Record<string, OnnxAttribute> = {},
    nodeName?: string,
    domain = '',
    outName?: string,
  ): string {
    const out = outName ?? this.fresh(outBase);
    if (domain === 'com.microsoft') this.msDomain = true;
    this.nodes.push({
      name: nodeName ?? this.freshNode(`${outBase}_${opType}`),
      opType,
      domain,
      inputs,
      outputs: [out],
      attributes,
    });
    return out;
  }

  /** The ONNX name of a node's value: the graph output name when it is one. */
  outName(n: Node): string {
    const want = this.outputNames.get(n);
    if (want !== undefined) {
      this.used.add(want);
      return want;
    }
    return this.fresh(n.name);
  }

  /**
   * The ONNX name of the node that computes `n`: the float model's ONNX name when the graph node
   * came from one (so int8 files keep the float file's node names), else the graph name. Records
   * which float graph nodes it stands for (`fusedFrom`, or the `nsName` of a lowered op) for
   * {@link FLOAT_NODES_KEY}.
   */
  nodeName(n: Node): string {
    const o = n.meta['onnxName'];
    const name =
      typeof o === 'string' && o !== ''
        ? this.freshNode(o)
        : Array.isArray(o) && typeof o[0] === 'string' && o[0] !== ''
          ? this.freshNode(o[0])
          : this.freshNode(n.name);
    const fused = n.meta['fusedFrom'];
    const ns = n.meta['nsName'];
    if (Array.isArray(fused) && fused.length > 0) this.floatNodes[name] = fused.map(String);
    else if (typeof ns === 'string') this.floatNodes[name] = [ns];
    else if (n.name !== name) this.floatNodes[name] = [n.name];
    return name;
  }

  /** Node names live apart from value names in ONNX: a node may be called `conv1` beside a value `conv1`. */
  freshNode(base: string): string {
    let name = base;
    for (let i = 1; this.usedNodes.has(name); i++) name = `${base}_${i}`;
    this.usedNodes.add(name);
    return name;
  }

  // ------------------------------------------------------------------ values

  nameOf(a: Argument, n: Node): string {
    if (typeof a === 'object' && a !== null && 'op' in (a as object) && this.names.has(a as Node))
      return this.names.get(a as Node)!;
    throw new QuantError('INTERNAL', `exportModel: node ${n.name} uses a value that has no ONNX name (${String(a)}).`);
  }

  qparams(a: Argument, n: Node): { scale: number; zeroPoint: number } {
    const v = this.values.get(a as Node);
    if (!isQ(v))
      throw new QuantError(
        'UNSUPPORTED_OP',
        `exportModel: node ${n.name} expects a quantized input but got a float value; insert a Quantize before it.`,
      );
    if (v.dtype !== 'quint8')
      throw new QuantError(
        'UNSUPPORTED_OP',
        `exportModel: node ${n.name} has a ${v.dtype} activation; quint writes uint8 activations (the U8S8 form ORT fuses).`,
      );
    return { scale: f32(v.qScale()), zeroPoint: v.qZeroPoint() };
  }

  /** A float view of a value: the value itself, or (QDQ) a fresh DequantizeLinear of a quantized one. */
  floatIn(a: Argument, n: Node): string {
    const v = this.values.get(a as Node);
    const name = this.nameOf(a, n);
    if (!isQ(v)) return name;
    const q = this.qparams(a, n);
    return this.op(
      'DequantizeLinear',
      [name, this.scalarF(`${name}_scale`, q.scale), this.scalarU8(`${name}_zero_point`, q.zeroPoint)],
      `${name}_dequantized`,
    );
  }

  quantizeOut(floatName: string, q: { scale: number; zeroPoint: number }, n: Node, out: string): string {
    return this.op(
      'QuantizeLinear',
      [floatName, this.scalarF(`${out}_scale`, q.scale), this.scalarU8(`${out}_zero_point`, q.zeroPoint)],
      out,
      {},
      this.freshNode(`${out}_QuantizeLinear`),
      '',
      out,
    );
  }

  // ------------------------------------------------------------------ run

  run(): OnnxModel {
    const g = this.gm.graph;
    const outNode = g.nodes.find((n) => n.op === 'output');
    const outArgs =
      outNode === undefined
        ? []
        : Array.isArray(outNode.args[0])
          ? (outNode.args[0] as Node[])
          : [outNode.args[0] as Node];
    outArgs.forEach((a, i) => {
      if (!this.outputNames.has(a))
        this.outputNames.set(a, this.info?.outputs[i] ?? (outArgs.length === 1 ? 'y' : `y${i}`));
    });
    const inputs: OnnxValueInfo[] = [];
    for (const n of g.nodes) {
      if (n.op === 'placeholder') {
        const name = (n.meta['onnxName'] as string | undefined) ?? (n.target as string);
        this.used.add(name);
        this.names.set(n, name);
        const v = this.values.get(n) as Tensor;
        const idx = inputs.length;
        const dyn = this.info?.inputs[idx]?.dynamicBatch ?? false;
        inputs.push({ name, elemType: 'float', shape: v.shape.map((d, i) => (i === 0 && dyn ? 'batch' : d)) });
        continue;
      }
      if (n.op === 'output') continue;
      if (n.op === 'get_attr') {
        const v = this.values.get(n);
        // Numbers (convertFx keeps qparams as attributes) are read from the values they produce.
        if (!(v instanceof Tensor)) continue;
        this.names.set(
          n,
          this.init(n.name, { dataType: 'float', dims: [...v.shape], data: v.toFloat32Array().slice() }),
        );
        continue;
      }
      this.names.set(n, this.emit(n));
    }
    const outputs: OnnxValueInfo[] = outArgs.map((a) => {
      const v = this.values.get(a);
      const name = this.names.get(a)!;
      const shape = isQ(v) ? [...v.shape] : v instanceof Tensor ? [...v.shape] : null;
      const dyn = this.info?.inputs.some((i) => i.dynamicBatch) ?? false;
      return {
        name,
        elemType: isQ(v) ? 'uint8' : 'float',
        shape: shape === null ? null : shape.map((d, i) => (i === 0 && dyn ? 'batch' : d)),
      };
    });
    const graph: OnnxGraph = {
      name: 'quint',
      nodes: this.nodes,
      initializers: this.initializers,
      inputs,
      outputs,
      valueInfo: [],
    };
    return {
      irVersion: irVersionFor(this.opset),
      opsetImport: [
        { domain: '', version: this.opset },
        ...(this.msDomain ? [{ domain: 'com.microsoft', version: 1 }] : []),
      ],
      producerName: this.options.producerName ?? 'quint',
      producerVersion: this.options.producerVersion ?? '',
      domain: '',
      modelVersion: 0,
      docString: '',
      graph,
      metadataProps: this.metadataProps(),
    };
  }

  metadataProps(): Record<string, string> {
    const props: Record<string, string> = { ...(this.info?.metadata ?? {}), ...(this.options.metadata ?? {}) };
    // Recomputed from this graph: a stale map from the file the model was loaded from must not stay.
    delete props[FLOAT_NODES_KEY];
    const quantized = this.gm.graph.nodes.some(
      (n) => n.op === 'call_module' && isQuantizedModule(this.gm.getSubmodule(n.target as string) as Module),
    );
    if (quantized && Object.keys(this.floatNodes).length > 0) props[FLOAT_NODES_KEY] = JSON.stringify(this.floatNodes);
    return props;
  }

  emit(n: Node): string {
    if (n.op === 'call_module') return this.emitModule(n, this.gm.getSubmodule(n.target as string) as Module);
    if (n.op === 'call_function') return this.emitFunction(n);
    if (n.op === 'call_method') return this.emitMethod(n);
    throw new QuantError('UNSUPPORTED_OP', `exportModel: node ${n.name} (${n.op}) cannot be written to ONNX.`);
  }

  emitMethod(n: Node): string {
    const t = n.target as string;
    if (t === 'size') return this.sizeOp(n, n.args[0]!, n.args[1] as number);
    if (t === 'dequantize') return this.emitModuleLike(n, 'dequantize');
    if (t === 'view' || t === 'reshape') return this.reshapeOp(n, n.args[0]!, n.args[1] as Argument[]);
    if (t === 'flatten') return this.flattenOp(n, n.args[0]!, (n.args[1] as number | undefined) ?? 0);
    if (t === 'permute') return this.permuteOp(n, n.args[0]!, n.args[1] as number[]);
    throw new QuantError(
      'UNSUPPORTED_OP',
      `exportModel: method call .${t}() of node ${n.name} has no ONNX mapping; quint writes the ops of its README table.`,
    );
  }

  emitModuleLike(n: Node, what: 'dequantize'): string {
    const x = n.args[0]!;
    if (what === 'dequantize') {
      const q = this.qparams(x, n);
      const name = this.nameOf(x, n);
      return this.op(
        'DequantizeLinear',
        [name, this.scalarF(`${name}_scale`, q.scale), this.scalarU8(`${name}_zero_point`, q.zeroPoint)],
        n.name,
        {},
        this.nodeName(n),
        '',
        this.outName(n),
      );
    }
    return '';
  }

  // A float op whose input may be quantized: QDQ → DQ, op, Q (same qparams as the recorded output).
  wrap(
    n: Node,
    inputs: Argument[],
    build: (floatInputs: string[], out: string, nodeName: string) => string,
    quantOutOp?: (qInputs: string[], out: string, nodeName: string) => string,
  ): string {
    const out = this.values.get(n);
    const nodeName = this.nodeName(n);
    if (!isQ(out))
      return build(
        inputs.map((a) => this.floatIn(a, n)),
        this.outName(n),
        nodeName,
      );
    const q = this.qparams(n, n);
    if (this.format === 'qoperator' && quantOutOp !== undefined)
      return quantOutOp(
        inputs.map((a) => this.nameOf(a, n)),
        this.outName(n),
        nodeName,
      );
    const outName = this.outName(n);
    const f = build(
      inputs.map((a) => this.floatIn(a, n)),
      this.fresh(`${n.name}_float`),
      nodeName,
    );
    return this.quantizeOut(f, q, n, outName);
  }

  sizeOp(n: Node, x: Argument, dim: number): string {
    const shape = this.op('Shape', [this.nameOf(x, n)], `${n.name}_shape`);
    return this.op(
      'Gather',
      [shape, this.int64(`${n.name}_index`, [dim])],
      n.name,
      { axis: int(0) },
      this.nodeName(n),
      '',
      this.outName(n),
    );
  }

  shapeInput(n: Node, shape: Argument[]): string {
    if (shape.every((s) => typeof s === 'number')) return this.int64(`${n.name}_shape`, shape as number[]);
    const parts = shape.map((s) => (typeof s === 'number' ? this.int64(`${n.name}_dim`, [s]) : this.nameOf(s, n)));
    return this.op('Concat', parts, `${n.name}_shape`, { axis: int(0) });
  }

  reshapeOp(n: Node, x: Argument, shape: Argument[]): string {
    const s = this.shapeInput(n, shape);
    return this.wrap(
      n,
      [x],
      ([a], out, nn) => this.op('Reshape', [a!, s], out, {}, nn, '', out),
      ([a], out, nn) => this.op('Reshape', [a!, s], out, {}, nn, '', out),
    );
  }

  flattenOp(n: Node, x: Argument, start: number): string {
    if (start !== 1) {
      const v = this.values.get(n) as Tensor | QTensor;
      return this.reshapeOp(n, x, [...v.shape]);
    }
    return this.wrap(
      n,
      [x],
      ([a], out, nn) => this.op('Flatten', [a!], out, { axis: int(1) }, nn, '', out),
      ([a], out, nn) => this.op('Flatten', [a!], out, { axis: int(1) }, nn, '', out),
    );
  }

  permuteOp(n: Node, x: Argument, perm: number[]): string {
    return this.wrap(
      n,
      [x],
      ([a], out, nn) => this.op('Transpose', [a!], out, { perm: ints(perm) }, nn, '', out),
      ([a], out, nn) => this.op('Transpose', [a!], out, { perm: ints(perm) }, nn, '', out),
    );
  }

  emitFunction(n: Node): string {
    const fn = n.target as unknown;
    const a = n.args;
    const opName = (fn as { opName?: string }).opName ?? (fn as { name?: string }).name ?? '';
    const unaryOp = (opType: string, attrs: Record<string, OnnxAttribute> = {}, extra: string[] = []) =>
      this.wrap(n, [a[0]!], ([x], out, nn) => this.op(opType, [x!, ...extra], out, attrs, nn, '', out));
    switch (opName) {
      case 'add':
      case 'mul': {
        const opType = opName === 'add' ? 'Add' : 'Mul';
        return this.wrap(n, [a[0]!, a[1]!], ([x, y], out, nn) => this.op(opType, [x!, y!], out, {}, nn, '', out));
      }
      case 'cat': {
        const xs = a[0] as Argument[];
        const axis = (a[1] as number | undefined) ?? 0;
        return this.wrap(n, xs, (ins, out, nn) => this.op('Concat', ins, out, { axis: int(axis) }, nn, '', out));
      }
      case 'flatten':
        return this.flattenOp(n, a[0]!, (a[1] as number | undefined) ?? 0);
      case 'reshape':
        return this.reshapeOp(n, a[0]!, a[1] as Argument[]);
      case 'permute':
        return this.permuteOp(n, a[0]!, a[1] as number[]);
      case 'softmax':
        return unaryOp('Softmax', { axis: int(a[1] as number) });
      case 'sizeOf':
        return this.sizeOp(n, a[0]!, a[1] as number);
      case 'relu':
        return unaryOp('Relu');
      case 'relu6':
        return unaryOp('Clip', {}, [this.scalarF(`${n.name}_min`, 0), this.scalarF(`${n.name}_max`, 6)]);
      case 'hardtanh':
        return unaryOp('Clip', {}, [
          this.scalarF(`${n.name}_min`, (a[1] as number | undefined) ?? -1),
          this.scalarF(`${n.name}_max`, (a[2] as number | undefined) ?? 1),
        ]);
      case 'sigmoid':
        return unaryOp('Sigmoid');
      case 'tanh':
        return unaryOp('Tanh');
      case 'hardsigmoid':
        return unaryOp('HardSigmoid', { alpha: float(f32(1 / 6)), beta: float(0.5) });
      case 'hardswish':
      case 'quantized.hardswish':
        return this.hardswishOp(n, a[0]!);
      case 'maxPool2d':
      case 'avgPool2d': {
        const o = (a[1] ?? {}) as {
          kernelSize: number | number[];
          stride?: number | number[];
          padding?: number | number[];
          dilation?: number | number[];
          ceilMode?: boolean;
          countIncludePad?: boolean;
        };
        const m =
          opName === 'maxPool2d'
            ? new MaxPool2d(o.kernelSize as number, o as never)
            : new AvgPool2d(o.kernelSize as number, o as never);
        return this.emitModule(n, m);
      }
      case 'adaptiveAvgPool2d':
        return this.emitModule(n, new AdaptiveAvgPool2d(a[1] as number));
      case 'quantize_per_tensor': {
        const q = this.qparams(n, n);
        return this.quantizeOut(this.nameOf(a[0]!, n), q, n, this.outName(n));
      }
      case 'quantized.add':
      case 'quantized.add_relu':
      case 'quantized.mul':
      case 'quantized.mul_relu': {
        const q = this.qparams(n, n);
        const kind = (
          {
            'quantized.add': 'add',
            'quantized.add_relu': 'addRelu',
            'quantized.mul': 'mul',
            'quantized.mul_relu': null,
          } as const
        )[opName];
        if (kind === null) {
          const f = this.op(
            'Relu',
            [this.op('Mul', [this.floatIn(a[0]!, n), this.floatIn(a[1]!, n)], `${n.name}_float`, {}, this.nodeName(n))],
            `${n.name}_relu`,
          );
          return this.quantizeOut(f, q, n, this.outName(n));
        }
        return this.qop(
          n,
          { op: kind, scale: q.scale, zeroPoint: q.zeroPoint, options: {} } as unknown as QuantizedOp,
          [a[0]!, a[1]!],
        );
      }
    }
    if (fn === quantizedReshape) return this.reshapeOp(n, a[0]!, a[1] as Argument[]);
    if (fn === quantizedPermute) return this.permuteOp(n, a[0]!, a[1] as number[]);
    if (fn === qScaleOf) {
      // Output 1 of the DynamicQuantizeLinear that made the input.
      const src = this.dqlScales.get(a[0] as Node);
      if (src === undefined)
        throw new QuantError(
          'UNSUPPORTED_OP',
          `exportModel: ${n.name} reads the scale of a value that is not a DynamicQuantizeLinear output.`,
        );
      return src;
    }
    throw new QuantError(
      'UNSUPPORTED_OP',
      `exportModel: function ${opName || String(fn)} (node ${n.name}) has no ONNX mapping; quint writes the ops of its README table.`,
    );
  }

  hardswishOp(n: Node, x: Argument): string {
    return this.wrap(n, [x], ([a], out, nm) => {
      if (this.opset >= 14) return this.op('HardSwish', [a!], out, {}, nm, '', out);
      const hs = this.op('HardSigmoid', [a!], `${n.name}_hardsigmoid`, { alpha: float(f32(1 / 6)) }, nm);
      return this.op('Mul', [a!, hs], out, {}, this.freshNode(`${nm}_Mul`), '', out);
    });
  }

  readonly dqlScales = new Map<Node, string>();
  readonly dqlZps = new Map<Node, string>();

  emitModule(n: Node, m: Module): string {
    const x = n.args[0]!;
    const nn = () => this.nodeName(n);
    // ---- quantized modules
    if (m instanceof nnq.Quantize) {
      if (m.dtype !== 'quint8')
        throw new QuantError(
          'UNSUPPORTED_OP',
          `exportModel: ${n.name} quantizes to ${m.dtype}; quint writes uint8 activations.`,
        );
      return this.quantizeOut(this.nameOf(x, n), { scale: f32(m.scale), zeroPoint: m.zeroPoint }, n, this.outName(n));
    }
    if (m instanceof nnq.DeQuantize) return this.emitModuleLike(n, 'dequantize');
    if (m instanceof nnq.Conv2d) return this.qconv(n, m);
    if (m instanceof nnq.Linear) return this.qlinear(n, m);
    if (m instanceof QuantizedOp) return this.qop(n, m);
    if (m instanceof nnqd.Linear) return this.dynamicLinear(n, m);
    if (m instanceof DynamicQuantizeLinear) {
      const out = this.outName(n);
      const s = this.fresh(`${out}_scale`);
      const z = this.fresh(`${out}_zero_point`);
      this.nodes.push({
        name: nn(),
        opType: 'DynamicQuantizeLinear',
        domain: '',
        inputs: [this.nameOf(x, n)],
        outputs: [out, s, z],
        attributes: {},
      });
      this.dqlScales.set(n, s);
      this.dqlZps.set(n, z);
      return out;
    }
    if (m instanceof MatMulInteger || m instanceof ConvInteger) {
      const o = m.options;
      const w = this.init(`${n.name}_weight`, {
        dataType: o.weight instanceof Int8Array ? 'int8' : 'uint8',
        dims: [...o.weightShape],
        data: o.weight,
      });
      const zs = Array.from(o.weightZeroPoint);
      const wz = this.init(`${n.name}_weight_zero_point`, {
        dataType: o.weight instanceof Int8Array ? 'int8' : 'uint8',
        dims: zs.length === 1 ? [] : [zs.length],
        data: o.weight instanceof Int8Array ? Int8Array.from(zs) : Uint8Array.from(zs),
      });
      const az = this.dqlZps.get(x as Node) ?? this.scalarU8(`${n.name}_a_zero_point`, this.qparams(x, n).zeroPoint);
      const attrs: Record<string, OnnxAttribute> = {};
      if (m instanceof ConvInteger) {
        const c = m.options;
        Object.assign(attrs, {
          kernel_shape: ints(c.weightShape.slice(2) as number[]),
          strides: ints([...c.stride]),
          pads: ints([c.padding[0], c.padding[1], c.padding[0], c.padding[1]]),
          dilations: ints([...c.dilation]),
          group: int(c.groups),
        });
      }
      const acc = this.op(
        m instanceof MatMulInteger ? 'MatMulInteger' : 'ConvInteger',
        [this.nameOf(x, n), w, az, wz],
        `${n.name}_int32`,
        attrs,
        nn(),
      );
      return this.op('Cast', [acc], n.name, { to: int(1) }, this.freshNode(`${n.name}_Cast`), '', this.outName(n));
    }
    // ---- float modules (on float or, after convert, on quantized values)
    if (m instanceof Conv2d) {
      const build = this.floatConv(n, m);
      return this.wrap(n, [x], ([a], out, nm) => build(a!, out, nm));
    }
    if (m instanceof nni.ConvReLU2d || m instanceof nni.LinearReLU) return this.floatFused(n, m);
    if (m instanceof BatchNorm2d) {
      const C = m.numFeatures;
      const vec = (t: Tensor | null, base: string, dflt: number) =>
        this.init(`${n.name}.${base}`, {
          dataType: 'float',
          dims: [C],
          data: t === null ? new Float32Array(C).fill(dflt) : t.toFloat32Array().slice(),
        });
      const ins = [
        vec(m.weight, 'weight', 1),
        vec(m.bias, 'bias', 0),
        vec(m.runningMean, 'running_mean', 0),
        vec(m.runningVar, 'running_var', 1),
      ];
      return this.wrap(n, [x], ([a], out, nm) =>
        this.op(
          'BatchNormalization',
          [a!, ...ins],
          out,
          { epsilon: float(f32(m.eps)), momentum: float(f32(1 - m.momentum)) },
          nm,
          '',
          out,
        ),
      );
    }
    if (m instanceof Linear) {
      const build = this.floatLinear(n, m);
      return this.wrap(n, [x], ([a], out, nm) => build(a!, out, nm));
    }
    if (m instanceof ReLU) {
      return this.wrap(n, [x], ([a], out, nm) => this.op('Relu', [a!], out, {}, nm, '', out));
    }
    if (m instanceof Hardtanh) {
      const lo = m instanceof ReLU6 ? 0 : m.minVal;
      const hi = m instanceof ReLU6 ? 6 : m.maxVal;
      return this.wrap(n, [x], ([a], out, nm) => {
        const ins = [a!];
        const attrs: Record<string, OnnxAttribute> = {};
        if (this.opset >= 11) ins.push(this.scalarF(`${n.name}_min`, lo), this.scalarF(`${n.name}_max`, hi));
        else Object.assign(attrs, { min: float(lo), max: float(hi) });
        return this.op('Clip', ins, out, attrs, nm, '', out);
      });
    }
    if (m instanceof Hardswish || m instanceof nnq.Hardswish) return this.hardswishOp(n, x);
    if (m instanceof Hardsigmoid)
      return this.wrap(n, [x], ([a], out, nm) =>
        this.op('HardSigmoid', [a!], out, { alpha: float(f32(1 / 6)), beta: float(0.5) }, nm, '', out),
      );
    if (m instanceof Sigmoid)
      return this.wrap(n, [x], ([a], out, nm) => this.op('Sigmoid', [a!], out, {}, nm, '', out));
    if (m instanceof Tanh) return this.wrap(n, [x], ([a], out, nm) => this.op('Tanh', [a!], out, {}, nm, '', out));
    if (m instanceof MaxPool2d) {
      const k = pair(m.kernelSize);
      const s = pair(m.stride);
      const p = pair(m.padding);
      const attrs = {
        ceil_mode: int(m.ceilMode ? 1 : 0),
        dilations: ints(pair(m.dilation)),
        kernel_shape: ints(k),
        pads: ints([p[0], p[1], p[0], p[1]]),
        strides: ints(s),
      };
      // MaxPool runs on uint8 in both formats (ORT drops the QDQ pair around it, docs/numerics.md).
      return this.wrap(
        n,
        [x],
        ([a], out, nm) => this.op('MaxPool', [a!], out, attrs, nm, '', out),
        ([a], out, nm) => this.op('MaxPool', [a!], out, attrs, nm, '', out),
      );
    }
    if (m instanceof AvgPool2d) {
      if (m.divisorOverride !== null)
        throw new QuantError(
          'UNSUPPORTED_OP',
          `exportModel: ${n.name} has divisorOverride, which ONNX AveragePool cannot express.`,
        );
      const k = pair(m.kernelSize);
      const s = pair(m.stride);
      const p = pair(m.padding);
      return this.wrap(n, [x], ([a], out, nm) => {
        if (m.countIncludePad && (p[0] > 0 || p[1] > 0)) {
          // torch.onnx 1.13 writes count_include_pad=True as Pad + AveragePool (spec §12.D).
          const padded = this.op(
            'Pad',
            [a!, this.int64(`${n.name}_pads`, [0, 0, p[0], p[1], 0, 0, p[0], p[1]])],
            `${n.name}_padded`,
            { mode: { type: 'string', value: 'constant' } },
            this.freshNode(`${nm}_Pad`),
          );
          return this.op(
            'AveragePool',
            [padded],
            out,
            { ceil_mode: int(m.ceilMode ? 1 : 0), kernel_shape: ints(k), pads: ints([0, 0, 0, 0]), strides: ints(s) },
            nm,
            '',
            out,
          );
        }
        return this.op(
          'AveragePool',
          [a!],
          out,
          {
            ceil_mode: int(m.ceilMode ? 1 : 0),
            count_include_pad: int(m.countIncludePad ? 1 : 0),
            kernel_shape: ints(k),
            pads: ints([p[0], p[1], p[0], p[1]]),
            strides: ints(s),
          },
          nm,
          '',
          out,
        );
      });
    }
    if (m instanceof AdaptiveAvgPool2d) {
      const inV = this.values.get(x as Node) as Tensor | QTensor;
      const outV = this.values.get(n) as Tensor | QTensor;
      const [H, W] = [inV.shape[2]!, inV.shape[3]!];
      const [oh, ow] = [outV.shape[2]!, outV.shape[3]!];
      return this.wrap(n, [x], ([a], out, nm) => {
        if (oh === 1 && ow === 1) return this.op('GlobalAveragePool', [a!], out, {}, nm, '', out);
        if (H % oh !== 0 || W % ow !== 0)
          throw new QuantError(
            'UNSUPPORTED_OP',
            `exportModel: ${n.name} is an adaptive pool from ${H}×${W} to ${oh}×${ow}, which is not a plain AveragePool (sizes must divide).`,
          );
        return this.op(
          'AveragePool',
          [a!],
          out,
          { kernel_shape: ints([H / oh, W / ow]), strides: ints([H / oh, W / ow]) },
          nm,
          '',
          out,
        );
      });
    }
    if (m instanceof Flatten) {
      const rank = (this.values.get(x as Node) as Tensor).shape.length;
      const end = m.endDim < 0 ? m.endDim + rank : m.endDim;
      if (m.startDim === 1 && end === rank - 1) return this.flattenOp(n, x, 1);
      return this.reshapeOp(n, x, [...(this.values.get(n) as Tensor).shape]);
    }
    if (m instanceof Identity || m instanceof Dropout)
      return this.wrap(
        n,
        [x],
        ([a], out, nm) => this.op('Identity', [a!], out, {}, nm, '', out),
        ([a], out, nm) => this.op('Identity', [a!], out, {}, nm, '', out),
      );
    throw new QuantError(
      'UNSUPPORTED_OP',
      `exportModel: module ${n.target as string} (${m.getName()}) has no ONNX mapping; quint writes the modules of its README table.`,
    );
  }

  /** A float Conv2d's ONNX node: initializers now, the node when called with its input, output and node name. */
  floatConv(n: Node, m: Conv2d): (a: string, out: string, nm: string) => string {
    const w = this.init(`${n.name}.weight`, {
      dataType: 'float',
      dims: [...m.weight.shape],
      data: m.weight.toFloat32Array().slice(),
    });
    const ins = [w];
    if (m.bias !== null)
      ins.push(
        this.init(`${n.name}.bias`, {
          dataType: 'float',
          dims: [...m.bias.shape],
          data: m.bias.toFloat32Array().slice(),
        }),
      );
    const p = convPads(m);
    return (a, out, nm) =>
      this.op(
        'Conv',
        [a, ...ins],
        out,
        {
          dilations: ints([...m.dilation]),
          group: int(m.groups),
          kernel_shape: ints([...m.kernelSize]),
          pads: ints([p[0], p[1], p[0], p[1]]),
          strides: ints([...m.stride]),
        },
        nm,
        '',
        out,
      );
  }

  /** A float Linear's ONNX nodes: Gemm on 2-D inputs, else MatMul(x, Wᵀ) + Add(b) as torch.onnx writes it. */
  floatLinear(n: Node, m: Linear): (a: string, out: string, nm: string) => string {
    const inVal = this.values.get(n.args[0] as Node) as Tensor | QTensor;
    const W = m.weight.toFloat32Array();
    const [N, K] = [m.outFeatures, m.inFeatures];
    if (inVal.shape.length === 2) {
      const ins = [this.init(`${n.name}.weight`, { dataType: 'float', dims: [N, K], data: W.slice() })];
      if (m.bias !== null)
        ins.push(this.init(`${n.name}.bias`, { dataType: 'float', dims: [N], data: m.bias.toFloat32Array().slice() }));
      return (a, out, nm) =>
        this.op('Gemm', [a, ...ins], out, { alpha: float(1), beta: float(1), transB: int(1) }, nm, '', out);
    }
    const WT = new Float32Array(K * N);
    for (let j = 0; j < N; j++) for (let k = 0; k < K; k++) WT[k * N + j] = W[j * K + k]!;
    const wt = this.init(`${n.name}.weight_t`, { dataType: 'float', dims: [K, N], data: WT });
    const b =
      m.bias === null
        ? null
        : this.init(`${n.name}.bias`, { dataType: 'float', dims: [N], data: m.bias.toFloat32Array().slice() });
    return (a, out, nm) => {
      if (b === null) return this.op('MatMul', [a, wt], out, {}, nm, '', out);
      const mm = this.op('MatMul', [a, wt], `${n.name}_matmul`, {}, nm);
      return this.op('Add', [mm, b], out, {}, this.freshNode(`${nm}_Add`), '', out);
    };
  }

  /**
   * A fused conv/linear + ReLU left in float (keepFloat): the op, then Relu, each named after the
   * float nodes it stands for — the op after the first (BN folded in), the Relu after the last — so
   * the numeric suite compares the op with the float BN output and the Relu with the float ReLU.
   */
  floatFused(n: Node, m: InstanceType<typeof nni.ConvReLU2d> | InstanceType<typeof nni.LinearReLU>): string {
    const inner = m.get(0);
    const build = inner instanceof Conv2d ? this.floatConv(n, inner) : this.floatLinear(n, inner as Linear);
    const fused = Array.isArray(n.meta['fusedFrom']) ? (n.meta['fusedFrom'] as unknown[]).map(String) : [];
    const onnx = ([] as unknown[]).concat(n.meta['onnxName'] ?? []);
    return this.wrap(n, [n.args[0]!], ([a], out, nm) => {
      if (fused.length > 1) this.floatNodes[nm] = fused.slice(0, -1);
      const y = build(a!, this.fresh(`${n.name}_${inner instanceof Conv2d ? 'conv' : 'linear'}`), nm);
      const last = onnx.length === fused.length && onnx.length > 1 ? onnx[onnx.length - 1] : undefined;
      const reluName = this.freshNode(typeof last === 'string' && last !== '' ? last : `${nm}_Relu`);
      if (fused.length > 1) this.floatNodes[reluName] = fused.slice(-1);
      return this.op('Relu', [y], out, {}, reluName, '', out);
    });
  }

  // ------------------------------------------------------------------ quantized conv / linear

  weightInits(n: Node, w: QTensor): { codes: string; scale: string; zp: string; scales: number[] } {
    const codes = this.init(`${n.name}.weight_quantized`, {
      dataType: 'int8',
      dims: [...w.shape],
      data: (w.data as Int8Array).slice(),
    });
    if (w.isPerChannel()) {
      const s = Array.from(w.qPerChannelScales(), f32);
      const z = Array.from(w.qPerChannelZeroPoints());
      return {
        codes,
        scale: this.init(`${n.name}.weight_scale`, { dataType: 'float', dims: [s.length], data: Float32Array.from(s) }),
        zp: this.init(`${n.name}.weight_zero_point`, { dataType: 'int8', dims: [z.length], data: Int8Array.from(z) }),
        scales: s,
      };
    }
    const s = f32(w.qScale());
    return {
      codes,
      scale: this.scalarF(`${n.name}.weight_scale`, s),
      zp: this.init(`${n.name}.weight_zero_point`, { dataType: 'int8', dims: [], data: Int8Array.of(w.qZeroPoint()) }),
      scales: [s],
    };
  }

  /**
   * The bias input of a QDQ Conv/Gemm. Engine onednn adds the FLOAT bias (PyTorch 1.13, spec
   * pytorch-semantics §5.2b): an int32 bias re-read as a float moves outputs by a code, so it is
   * written as a float initializer (QDQ allows one; the importer reads it back bit for bit). Other
   * engines get ORT's int32 bias with scale f32(x_s·w_s), dequantized.
   */
  qdqBias(n: Node, m: Module, bias: Tensor | null, xs: number, ws: number[], count: number): string | null {
    if (bias === null) return null;
    if (m.engine === 'onednn')
      return this.init(`${n.name}.bias`, { dataType: 'float', dims: [count], data: bias.toFloat32Array().slice() });
    const bi = this.biasInit(n, bias, xs, ws, count)!;
    return this.op(
      'DequantizeLinear',
      [
        bi.q,
        bi.scale,
        this.init(`${n.name}.bias_zero_point`, {
          dataType: 'int32',
          dims: ws.length === 1 ? [] : [ws.length],
          data: new Int32Array(ws.length),
        }),
      ],
      `${n.name}.bias_dequantized`,
      ws.length === 1 ? {} : { axis: int(0) },
    );
  }

  biasInit(n: Node, bias: Tensor | null, xs: number, ws: number[], count: number): { q: string; scale: string } | null {
    if (bias === null) return null;
    const b = bias.toFloat32Array();
    // The int32 bias engine ort computes with (qtensor's ortBias), scale f32(x_s·w_s), zero point 0.
    const q = Int32Array.from({ length: count }, (_, c) => ortBias(b[c]!, xs, ws.length === 1 ? ws[0]! : ws[c]!));
    const scales = Float32Array.from({ length: ws.length }, (_, c) => f32(f32(xs) * f32(ws[c]!)));
    return {
      q: this.init(`${n.name}.bias_quantized`, { dataType: 'int32', dims: [count], data: q }),
      scale:
        ws.length === 1
          ? this.scalarF(`${n.name}.bias_scale`, scales[0]!)
          : this.init(`${n.name}.bias_scale`, { dataType: 'float', dims: [ws.length], data: scales }),
    };
  }

  qconv(n: Node, m: InstanceType<typeof nnq.Conv2d>): string {
    const x = n.args[0]!;
    const xq = this.qparams(x, n);
    const w = m.weight();
    const wi = this.weightInits(n, w);
    const relu = m instanceof nnq.ConvReLU2d;
    const out = { scale: f32(m.scale), zeroPoint: m.zeroPoint };
    const attrs = {
      dilations: ints([...m.dilation]),
      group: int(m.groups),
      kernel_shape: ints([...m.kernelSize]),
      pads: ints([m.padding[0], m.padding[1], m.padding[0], m.padding[1]]),
      strides: ints([...m.stride]),
    };
    const outName = this.outName(n);
    const nm = this.nodeName(n);
    if (this.format === 'qoperator') {
      const xn = this.nameOf(x, n);
      const ins = [
        xn,
        this.scalarF(`${xn}_scale`, xq.scale),
        this.scalarU8(`${xn}_zero_point`, xq.zeroPoint),
        wi.codes,
        wi.scale,
        wi.zp,
        this.scalarF(`${outName}_scale`, out.scale),
        this.scalarU8(`${outName}_zero_point`, out.zeroPoint),
      ];
      // QLinearConv's bias is int32 by the ONNX spec, whatever the engine.
      const bi = this.biasInit(n, m.bias(), xq.scale, wi.scales, m.outChannels);
      if (bi !== null) ins.push(bi.q);
      return this.reluCodes(
        relu,
        out,
        this.op('QLinearConv', ins, relu ? `${n.name}_conv` : outName, attrs, nm, '', relu ? undefined : outName),
        outName,
        n,
      );
    }
    const wdq = this.op(
      'DequantizeLinear',
      [wi.codes, wi.scale, wi.zp],
      `${n.name}.weight_dequantized`,
      w.isPerChannel() ? { axis: int(0) } : {},
    );
    const ins = [this.floatIn(x, n), wdq];
    const b = this.qdqBias(n, m, m.bias(), xq.scale, wi.scales, m.outChannels);
    if (b !== null) ins.push(b);
    let f = this.op('Conv', ins, `${n.name}_float`, attrs, nm);
    if (relu) f = this.op('Relu', [f], `${n.name}_relu`);
    return this.quantizeOut(f, out, n, outName);
  }

  qlinear(n: Node, m: InstanceType<typeof nnq.Linear>): string {
    const x = n.args[0]!;
    const xq = this.qparams(x, n);
    const inV = this.values.get(x as Node) as QTensor;
    if (inV.shape.length !== 2)
      throw new QuantError(
        'UNSUPPORTED_OP',
        `exportModel: quantized linear ${n.name} has a rank-${inV.shape.length} input; quint writes quantized Linear on 2-D inputs (flatten first).`,
      );
    const w = m.weight();
    const wi = this.weightInits(n, w);
    const N = w.shape[0]!;
    const relu = m instanceof nnq.LinearReLU;
    const out = { scale: f32(m.scale), zeroPoint: m.zeroPoint };
    const outName = this.outName(n);
    const nm = this.nodeName(n);
    if (this.format === 'qoperator') {
      const xn = this.nameOf(x, n);
      // com.microsoft.QGemm: ONNX has no quantized Gemm with a bias (QLinearMatMul has none); its bias is int32.
      const bi = this.biasInit(n, m.bias(), xq.scale, wi.scales, N);
      const ins = [
        xn,
        this.scalarF(`${xn}_scale`, xq.scale),
        this.scalarU8(`${xn}_zero_point`, xq.zeroPoint),
        wi.codes,
        wi.scale,
        wi.zp,
        bi === null ? '' : bi.q,
        this.scalarF(`${outName}_scale`, out.scale),
        this.scalarU8(`${outName}_zero_point`, out.zeroPoint),
      ];
      return this.reluCodes(
        relu,
        out,
        this.op(
          'QGemm',
          ins,
          relu ? `${n.name}_gemm` : outName,
          { transB: int(1) },
          nm,
          'com.microsoft',
          relu ? undefined : outName,
        ),
        outName,
        n,
      );
    }
    const wdq = this.op(
      'DequantizeLinear',
      [wi.codes, wi.scale, wi.zp],
      `${n.name}.weight_dequantized`,
      w.isPerChannel() ? { axis: int(0) } : {},
    );
    const ins = [this.floatIn(x, n), wdq];
    const b = this.qdqBias(n, m, m.bias(), xq.scale, wi.scales, N);
    if (b !== null) ins.push(b);
    let f = this.op('Gemm', ins, `${n.name}_float`, { alpha: float(1), beta: float(1), transB: int(1) }, nm);
    if (relu) f = this.op('Relu', [f], `${n.name}_relu`);
    return this.quantizeOut(f, out, n, outName);
  }

  /**
   * A dynamic quantized Linear in ONNX Runtime's `quantize_dynamic` form (both formats):
   * DynamicQuantizeLinear → MatMulInteger(Wᵀ int8) → Cast → Mul(x_s·w_s) → Add(b). ONNX's
   * DynamicQuantizeLinear chooses the activation qparams its own way (uint8, full range), so ONNX
   * Runtime's outputs are close to, not identical with, PyTorch's `quantize_dynamic` numerics.
   */
  dynamicLinear(n: Node, m: InstanceType<typeof nnqd.Linear>): string {
    const x = n.args[0]!;
    const w = m.weight();
    const [N, K] = [w.shape[0]!, w.shape[1]!];
    const codes = w.data as Int8Array;
    const wt = new Int8Array(K * N);
    for (let j = 0; j < N; j++) for (let k = 0; k < K; k++) wt[k * N + j] = codes[j * K + k]!;
    const per = w.isPerChannel();
    const scales = per ? Array.from(w.qPerChannelScales(), f32) : [f32(w.qScale())];
    const zps = per ? Array.from(w.qPerChannelZeroPoints()) : [w.qZeroPoint()];
    if (zps.some((z) => z !== zps[0]))
      throw new QuantError(
        'UNSUPPORTED_OP',
        `exportModel: dynamic linear ${n.name} has per-channel weight zero points that differ; MatMulInteger takes one per column only as int8 [N].`,
      );
    const xn = this.nameOf(x, n);
    const q = this.fresh(`${n.name}_input_quantized`);
    const s = this.fresh(`${n.name}_input_scale`);
    const z = this.fresh(`${n.name}_input_zero_point`);
    this.nodes.push({
      name: this.freshNode(`${n.name}_DynamicQuantizeLinear`),
      opType: 'DynamicQuantizeLinear',
      domain: '',
      inputs: [xn],
      outputs: [q, s, z],
      attributes: {},
    });
    const wi = this.init(`${n.name}.weight_quantized`, { dataType: 'int8', dims: [K, N], data: wt });
    const wz = this.init(`${n.name}.weight_zero_point`, {
      dataType: 'int8',
      dims: zps.length === 1 ? [] : [N],
      data: Int8Array.from(zps.length === 1 ? zps : zps),
    });
    const ws =
      scales.length === 1
        ? this.scalarF(`${n.name}.weight_scale`, scales[0]!)
        : this.init(`${n.name}.weight_scale`, { dataType: 'float', dims: [N], data: Float32Array.from(scales) });
    const acc = this.op('MatMulInteger', [q, wi, z, wz], `${n.name}_int32`, {}, this.nodeName(n));
    const f = this.op('Cast', [acc], `${n.name}_float`, { to: int(1) });
    const scale = this.op('Mul', [s, ws], `${n.name}_scale`);
    const b = m.bias();
    const outName = this.outName(n);
    if (b === null) return this.op('Mul', [f, scale], outName, {}, this.freshNode(`${n.name}_Mul`), '', outName);
    const y = this.op('Mul', [f, scale], `${n.name}_scaled`);
    return this.op(
      'Add',
      [y, this.init(`${n.name}.bias`, { dataType: 'float', dims: [N], data: b.toFloat32Array().slice() })],
      outName,
      {},
      this.freshNode(`${n.name}_Add`),
      '',
      outName,
    );
  }

  /** QOperator: a fused ReLU is `max(q, zp)` on the codes — nothing when zp is 0, else DQ → Relu → Q (exact, docs/numerics.md). */
  reluCodes(relu: boolean, out: { scale: number; zeroPoint: number }, name: string, outName: string, n: Node): string {
    if (!relu) return name;
    if (out.zeroPoint === 0)
      return this.op('Identity', [name], outName, {}, this.freshNode(`${n.name}_Identity`), '', outName);
    const s = this.scalarF(`${name}_scale`, out.scale);
    const z = this.scalarU8(`${name}_zero_point`, out.zeroPoint);
    const f = this.op('DequantizeLinear', [name, s, z], `${name}_dequantized`);
    const r = this.op('Relu', [f], `${name}_relu`);
    return this.op('QuantizeLinear', [r, s, z], outName, {}, this.freshNode(`${n.name}_QuantizeLinear`), '', outName);
  }

  qop(n: Node, m: QuantizedOp, inputs?: Argument[]): string {
    const out = { scale: f32(m.scale), zeroPoint: m.zeroPoint };
    const ins = inputs ?? (m.op === 'cat' ? (n.args[0] as Argument[]) : (n.args as Argument[]));
    const o = m.options;
    const nm = this.nodeName(n);
    const outName = this.outName(n);
    if (this.format === 'qoperator') {
      const qin = (a: Argument) => {
        const q = this.qparams(a, n);
        const name = this.nameOf(a, n);
        return [name, this.scalarF(`${name}_scale`, q.scale), this.scalarU8(`${name}_zero_point`, q.zeroPoint)];
      };
      const os = [this.scalarF(`${outName}_scale`, out.scale), this.scalarU8(`${outName}_zero_point`, out.zeroPoint)];
      const ms = 'com.microsoft';
      switch (m.op) {
        case 'add':
        case 'addRelu':
        case 'mul': {
          const r = this.op(
            m.op === 'mul' ? 'QLinearMul' : 'QLinearAdd',
            [...qin(ins[0]!), ...qin(ins[1]!), ...os],
            m.op === 'addRelu' ? `${n.name}_add` : outName,
            {},
            nm,
            ms,
            m.op === 'addRelu' ? undefined : outName,
          );
          return this.reluCodes(m.op === 'addRelu', out, r, outName, n);
        }
        case 'cat':
          return this.op(
            'QLinearConcat',
            [...os, ...ins.flatMap(qin)],
            outName,
            { axis: int(o.dim ?? 0) },
            nm,
            ms,
            outName,
          );
        case 'sigmoid':
          return this.op('QLinearSigmoid', [...qin(ins[0]!), ...os], outName, {}, nm, ms, outName);
        case 'adaptiveAvgPool2d': {
          const [oh, ow] = o.outputSize ?? [1, 1];
          if (oh === 1 && ow === 1)
            return this.op(
              'QLinearGlobalAveragePool',
              [...qin(ins[0]!), ...os],
              outName,
              { channels_last: int(0) },
              nm,
              ms,
              outName,
            );
          const inV = this.values.get(ins[0] as Node) as QTensor;
          const [H, W] = [inV.shape[2]!, inV.shape[3]!];
          return this.op(
            'QLinearAveragePool',
            [...qin(ins[0]!), ...os],
            outName,
            { kernel_shape: ints([H / oh, W / ow]), strides: ints([H / oh, W / ow]) },
            nm,
            ms,
            outName,
          );
        }
        case 'avgPool2d': {
          const p = o.padding ?? [0, 0];
          return this.op(
            'QLinearAveragePool',
            [...qin(ins[0]!), ...os],
            outName,
            {
              ceil_mode: int(o.ceilMode ? 1 : 0),
              count_include_pad: int((o.countIncludePad ?? true) ? 1 : 0),
              kernel_shape: ints([...(o.kernelSize ?? [1, 1])]),
              pads: ints([p[0], p[1], p[0], p[1]]),
              strides: ints([...(o.stride ?? o.kernelSize ?? [1, 1])]),
            },
            nm,
            ms,
            outName,
          );
        }
      }
    }
    const fins = ins.map((a) => this.floatIn(a, n));
    let f: string;
    switch (m.op) {
      case 'add':
      case 'addRelu':
        f = this.op('Add', fins, `${n.name}_float`, {}, nm);
        if (m.op === 'addRelu') f = this.op('Relu', [f], `${n.name}_relu`);
        break;
      case 'mul':
        f = this.op('Mul', fins, `${n.name}_float`, {}, nm);
        break;
      case 'cat':
        f = this.op('Concat', fins, `${n.name}_float`, { axis: int(o.dim ?? 0) }, nm);
        break;
      case 'sigmoid':
        f = this.op('Sigmoid', fins, `${n.name}_float`, {}, nm);
        break;
      case 'adaptiveAvgPool2d': {
        const [oh, ow] = o.outputSize ?? [1, 1];
        const inV = this.values.get(ins[0] as Node) as QTensor;
        const [H, W] = [inV.shape[2]!, inV.shape[3]!];
        f =
          oh === 1 && ow === 1
            ? this.op('GlobalAveragePool', fins, `${n.name}_float`, {}, nm)
            : this.op(
                'AveragePool',
                fins,
                `${n.name}_float`,
                { kernel_shape: ints([H / oh, W / ow]), strides: ints([H / oh, W / ow]) },
                nm,
              );
        break;
      }
      case 'avgPool2d': {
        const p = o.padding ?? [0, 0];
        f = this.op(
          'AveragePool',
          fins,
          `${n.name}_float`,
          {
            ceil_mode: int(o.ceilMode ? 1 : 0),
            count_include_pad: int((o.countIncludePad ?? true) ? 1 : 0),
            kernel_shape: ints([...(o.kernelSize ?? [1, 1])]),
            pads: ints([p[0], p[1], p[0], p[1]]),
            strides: ints([...(o.stride ?? o.kernelSize ?? [1, 1])]),
          },
          nm,
        );
        break;
      }
    }
    return this.quantizeOut(f, out, n, outName);
  }
}

function convPads(m: Conv2d): [number, number] {
  if (m.padding === 'valid') return [0, 0];
  if (m.padding === 'same') {
    const t = m.kernelSize.map((k, i) => m.dilation[i]! * (k - 1));
    if (t.some((v) => v % 2 !== 0))
      throw new QuantError(
        'UNSUPPORTED_OP',
        `exportModel: Conv2d with padding 'same' and kernel ${m.kernelSize.join('×')} needs asymmetric pads.`,
      );
    return [t[0]! / 2, t[1]! / 2];
  }
  return m.padding;
}

/**
 * Writes a {@link GraphModule} as an ONNX model: float graphs as plain ONNX (what torch.onnx 1.13
 * writes for the same modules), quantized graphs as QDQ (default) or QOperator at `options.opset`
 * (13 by default). The graph is run once on zeros of its input shapes to learn shapes and qparams.
 *
 * @throws QuantError `UNSUPPORTED_OP` for nodes without an ONNX mapping; `INVALID_ARGUMENT` when an
 *   input shape is unknown.
 * @example
 * const onnx = exportModel(gm, { format: 'qdq', metadata: { 'quint.engine': 'ort' } });
 * const bytes = encodeModel(onnx);
 */
export function exportModel(gm: GraphModule, options: ExportOptions = {}): OnnxModel {
  return new Exporter(gm, options).run();
}
