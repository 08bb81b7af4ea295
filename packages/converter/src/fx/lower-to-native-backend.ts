// torch/ao/quantization/fx/_lower_to_native_backend.py (PyTorch 1.13): replace the reference
// patterns dequantize → float op → quantize_per_tensor with quantized modules and ops.
import type { Linear as FloatLinear } from '@quint/nn';
import { Conv2d as FloatConv2d, nni, nnq, Hardswish, type Module } from '@quint/nn';
import { GraphModule, Node, type Argument } from '@quint/fx-graph-tracer';
import { functionKey, isReluNode, moduleOf, patternKindOf } from './backend-config.js';
import { ReferenceQuantizedModule } from './convert.js';
import { FX_STATE, type FxPrepareState } from './prepare.js';
import type { QuantizedOps } from './quantized-ops.js';

const isDequantize = (a: Argument): a is Node =>
  a instanceof Node && a.op === 'call_method' && a.target === 'dequantize';

function attrValue(gm: GraphModule, n: Argument): number {
  return (gm as unknown as Record<string, number>)[(n as Node).target as string]!;
}

function explicitPadding(c: FloatConv2d): [number, number] {
  if (c.padding === 'valid') return [0, 0];
  if (c.padding === 'same') return [0, 1].map((i) => (c.dilation[i]! * (c.kernelSize[i]! - 1)) / 2) as [number, number];
  return [c.padding[0], c.padding[1]];
}

/** `q_class.from_reference(ref, scale, zp)`: the nnq module with the reference module's weight codes. */
function fromReference(ref: ReferenceQuantizedModule, scale: number, zeroPoint: number, ops: QuantizedOps): Module {
  const f = ref.floatModule;
  const relu = f instanceof nni.ConvReLU2d || f instanceof nni.LinearReLU;
  const gemm = (relu ? (f as nni.ConvReLU2d).get(0) : f) as FloatConv2d | FloatLinear;
  const opts = { backend: ops.backend, engine: ops.engine };
  let q: InstanceType<typeof nnq.Conv2d> | InstanceType<typeof nnq.Linear>;
  if (gemm instanceof FloatConv2d) {
    const Cls = relu ? nnq.ConvReLU2d : nnq.Conv2d;
    q = new Cls(gemm.inChannels, gemm.outChannels, gemm.kernelSize, {
      ...opts,
      stride: gemm.stride,
      padding: explicitPadding(gemm),
      dilation: gemm.dilation,
      groups: gemm.groups,
      bias: gemm.bias !== null,
    });
  } else {
    const Cls = relu ? nnq.LinearReLU : nnq.Linear;
    q = new Cls(gemm.inFeatures, gemm.outFeatures, { ...opts, bias: gemm.bias !== null });
  }
  q.setWeightBias(ref.qweight, gemm.bias === null ? null : gemm.bias.clone());
  q.scale = scale;
  q.zeroPoint = zeroPoint;
  return q;
}

/**
 * Lowers a reference GraphModule in place (PyTorch's `_lower_to_native_backend`, the passes quint
 * has kernels for) and returns the lowered GraphModule:
 * 1. `dequantize → reference conv/linear(-relu) → quantize` becomes `nnq.Conv2d`/`nnq.ConvReLU2d`/
 *    `nnq.Linear`/`nnq.LinearReLU`;
 * 2. `dequantize ×2 → add/mul (→ relu) → quantize` becomes `quantized.add(a, b, scale, zp)` (and
 *    `add_relu`, `mul`, `mul_relu`);
 * 3. `dequantize → op → quantize` for the ops PyTorch runs on quantized tensors (pools, flatten,
 *    relu, relu6, hardtanh, sigmoid, tanh, hardsigmoid, cat) drops both ends; `nn.Hardswish`
 *    becomes `nnq.Hardswish`, functional `hardswish` becomes `quantized.hardswish`.
 * Anything else keeps `dequantize → float op → quantize_per_tensor`.
 *
 * @internal
 */
export function lowerToNativeBackend(gm: GraphModule, ops: QuantizedOps): GraphModule {
  const st = gm.meta[FX_STATE] as FxPrepareState;
  const graph = gm.graph;
  const skipLowering = (n: Node): boolean => st.qconfigMap.has(n.name) && st.qconfigMap.get(n.name) === null;
  const isQuantize = (n: Node): boolean => n.op === 'call_function' && n.target === ops.quantizePerTensor;

  // 1. weighted modules
  for (const q of graph.nodes) {
    if (!isQuantize(q)) continue;
    const ref = q.args[0] as Node;
    const m = moduleOf(gm, ref);
    if (!(m instanceof ReferenceQuantizedModule) || skipLowering(ref) || !isDequantize(ref.args[0])) continue;
    const [, sNode, zNode] = q.args as [Node, Node, Node];
    gm.setSubmodule(ref.target as string, fromReference(m, attrValue(gm, sNode), attrValue(gm, zNode), ops));
    const dq = ref.args[0] as Node;
    ref.replaceInputWith(dq, dq.args[0] as Node);
    q.replaceAllUsesWith(ref);
    graph.eraseNode(q);
    graph.eraseNode(sNode);
    graph.eraseNode(zNode);
  }

  // 2. binary ops
  for (const q of graph.nodes) {
    if (!isQuantize(q)) continue;
    let bop = q.args[0] as Node;
    let relu: Node | undefined;
    if (isReluNode(gm, bop)) {
      relu = bop;
      bop = relu.args[0] as Node;
    }
    if (bop.op !== 'call_function' || !['add', 'mul'].includes(functionKey(bop.target)) || skipLowering(bop)) continue;
    const dqArgs = bop.args.slice(0, 2);
    if (dqArgs.some((a) => a instanceof Node && !isDequantize(a)) || !dqArgs.some(isDequantize)) continue;
    // A scalar operand needs quantized::add_scalar / mul_scalar, which the backends do not have yet.
    if (!dqArgs.every(isDequantize)) continue;
    const [, sNode, zNode] = q.args as [Node, Node, Node];
    for (const dq of dqArgs as Node[]) bop.replaceInputWith(dq, dq.args[0] as Node);
    const key = `${functionKey(bop.target)}${relu === undefined ? '' : '_relu'}` as
      'add' | 'add_relu' | 'mul' | 'mul_relu';
    const qop = graph.insertingAfter(q, () =>
      graph.createNode('call_function', ops.binary[key], [...bop.args, sNode, zNode], {}, bop.name),
    );
    qop.meta = { ...bop.meta, nsName: relu === undefined ? bop.name : relu.name };
    q.replaceAllUsesWith(qop);
    graph.eraseNode(q);
    if (relu !== undefined) graph.eraseNode(relu);
    graph.eraseNode(bop);
  }

  // 3. special patterns (PyTorch's special_pattern_replacement)
  for (const q of graph.nodes) {
    if (!isQuantize(q)) continue;
    const ref = q.args[0] as Node;
    if (!(ref instanceof Node)) continue;
    const kind = patternKindOf(gm, ref);
    if (kind === undefined || kind === 'weighted' || kind === 'binary') continue;
    const dqs = ref.args[0];
    const dqList = Array.isArray(dqs) ? (dqs as Argument[]) : [dqs];
    if (dqList.length === 0 || !dqList.every(isDequantize)) continue;
    const m = moduleOf(gm, ref);
    let loweredFn: ReturnType<QuantizedOps['lowered']>;
    if (ref.op === 'call_function') {
      if (functionKey(ref.target) !== 'hardswish') {
        loweredFn = ops.lowered(ref.target);
        if (loweredFn === undefined) continue;
      }
    } else if (ref.op === 'call_method') {
      continue; // QTensor has no tensor methods: these stay dequantize → method → quantize.
    } else if (kind === 'default' && !(m instanceof Hardswish)) {
      continue; // Dropout: no nnq.Dropout yet.
    }
    const [, sNode, zNode] = q.args as [Node, Node, Node];
    if (m instanceof Hardswish) {
      gm.setSubmodule(
        ref.target as string,
        new nnq.Hardswish(attrValue(gm, sNode), attrValue(gm, zNode), { backend: ops.backend, engine: ops.engine }),
      );
    }
    for (const dq of dqList as Node[]) ref.replaceInputWith(dq, dq.args[0] as Node);
    q.replaceAllUsesWith(ref);
    graph.eraseNode(q);
    if (ref.op === 'call_function' && functionKey(ref.target) === 'hardswish') {
      const qop = graph.insertingAfter(zNode, () =>
        graph.createNode(
          'call_function',
          ops.hardswish,
          [...ref.args],
          { output_scale: sNode, output_zero_point: zNode },
          ref.name,
        ),
      );
      qop.meta = { ...ref.meta, nsName: ref.name };
      ref.replaceAllUsesWith(qop);
      graph.eraseNode(ref);
    } else {
      if (loweredFn !== undefined) ref.target = loweredFn;
      graph.eraseNode(sNode);
      graph.eraseNode(zNode);
    }
  }

  graph.eliminateDeadCode();
  graph.lint();
  const out = new GraphModule(gm, graph, gm.getName());
  out.meta[FX_STATE] = st;
  ops.bind(out);
  return out;
}
