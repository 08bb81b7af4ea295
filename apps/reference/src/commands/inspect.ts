import type { Command } from 'commander';
import type { GraphModule, Node } from '@quint/fx-graph-tracer';
import type { Module } from '@quint/nn';
import { inspectModel, type InspectedNode, type QuintModel } from '@quint/onnx';
import { Tensor } from '@quint/tensor';
import { loadModelArg } from '../cli-io/options.js';

/** The options `quint inspect` parses. */
export interface InspectOptions {
  readonly json?: boolean;
}

/** One node of `quint inspect --json`: the flat qparams describe the node's quantized output. */
export interface InspectJsonNode {
  readonly name: string;
  readonly onnxName: string | string[] | null;
  readonly op: string;
  readonly inputs: string[];
  readonly outputs: string[];
  readonly quantized: boolean;
  readonly scale: number | null;
  readonly zeroPoint: number | null;
  readonly dtype: string | null;
  readonly qscheme: string | null;
  readonly axis: number | null;
  /** The int8 weight: scale/zeroPoint are arrays when per channel (axis 0). */
  readonly weight: {
    dtype: string;
    qscheme: string;
    axis: number | null;
    scale: number | number[];
    zeroPoint: number | number[];
  } | null;
}

/** `quint inspect --json`. */
export interface InspectJson {
  readonly kind: 'float' | 'quantized';
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly opset: number | null;
  readonly onnxOps: Readonly<Record<string, number>>;
  readonly engine: string;
  readonly modelBytes: { fp32: number; int8: number };
  readonly fileBytes: number | null;
  readonly provenance: Readonly<Record<string, string>>;
  readonly nodes: InspectJsonNode[];
}

/** `quint inspect <model.onnx> [--json]`: ops, qparams, model bytes, provenance. */
export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description('what a model holds: ops, qparams of every quantized node, model bytes, provenance')
    .argument('<model.onnx>', 'ONNX model (float, QDQ or QOperator)')
    .option('--json', 'print one JSON document instead of text')
    .option('--debug', 'print stack traces on failure')
    .addHelpText(
      'after',
      '\nModel bytes (DESIGN.md): fp32 = 4 x every weight and bias element; int8 = 1 x every int8 weight code\n' +
        '+ 4 x every int32 bias + 4 x every scale and zero point. For a float model, int8 is what its Conv/Linear\n' +
        'weights would take quantized per channel (BatchNorm folded).\n',
    )
    .action(async (model: string, opts: InspectOptions) => {
      const json = inspectJson(await loadModelArg(model));
      process.stdout.write(opts.json === true ? `${JSON.stringify(json, null, 2)}\n` : inspectText(model, json));
    });
}

/**
 * What a float model's weights would take quantized per channel: Conv/Linear weights as int8 codes
 * with a scale and zero point per output channel, int32 biases, an output scale and zero point;
 * BatchNorm folded into the conv before it; any other parameter stays float.
 * @see /tmp/requests-cli.md 4 (inspectModel reports int8 = fp32 for float models).
 */
function float8Estimate(gm: GraphModule): number {
  let bytes = 0;
  for (const m of gm.modules() as Module[]) {
    const kind = m.getName();
    const own = m.namedParameters().filter(([n]) => !n.includes('.'));
    if (kind === 'Conv2d' || kind === 'Linear') {
      const w = (m as unknown as { weight?: unknown }).weight;
      if (w instanceof Tensor) {
        const outCh = w.shape[0] ?? 1;
        bytes += w.numel + 4 * outCh + 4 * outCh + 4 * outCh + 8;
        continue;
      }
    }
    if (kind === 'BatchNorm2d') continue;
    for (const [, p] of own) bytes += 4 * p.numel;
  }
  return bytes;
}

function nodeNames(list: Iterable<Node>): string[] {
  return [...list].filter((n) => n.op !== 'get_attr').map((n) => n.name);
}

function jsonNode(gm: GraphModule, n: InspectedNode, kind: 'float' | 'quantized'): InspectJsonNode {
  const node = gm.graph.nodes.find((g) => g.name === n.name);
  const w = n.weight;
  const perChannel = w !== null && w.qscheme.startsWith('per_channel');
  return {
    name: n.name,
    onnxName: n.onnxName,
    op: n.op,
    inputs: node === undefined ? [] : nodeNames(node.allInputNodes),
    outputs: node === undefined ? [] : nodeNames(node.users),
    quantized: kind === 'quantized' && (n.output !== null || w !== null),
    scale: n.output?.scale ?? null,
    zeroPoint: n.output?.zeroPoint ?? null,
    dtype: n.output === null ? null : 'quint8',
    qscheme: n.output === null ? null : 'per_tensor_affine',
    axis: null,
    weight:
      w === null
        ? null
        : {
            dtype: w.dtype,
            qscheme: w.qscheme,
            axis: perChannel ? 0 : null,
            scale: perChannel ? w.scales : w.scales[0]!,
            zeroPoint: perChannel ? w.zeroPoints : w.zeroPoints[0]!,
          },
  };
}

/** The document `quint inspect --json` prints. */
export function inspectJson(model: QuintModel): InspectJson {
  const info = inspectModel(model);
  const gm = model.graphModule;
  return {
    kind: info.kind,
    inputs: info.inputs,
    outputs: info.outputs,
    opset: info.opset,
    onnxOps: info.onnxOps,
    engine: info.engine,
    modelBytes: { fp32: info.modelBytes.fp32, int8: info.kind === 'float' ? float8Estimate(gm) : info.modelBytes.int8 },
    fileBytes: info.fileBytes,
    provenance: info.provenance,
    nodes: info.nodes.map((n) => jsonNode(gm, n, info.kind)),
  };
}

function fmt(v: number | number[]): string {
  if (!Array.isArray(v)) return String(v);
  return v.length <= 4 ? `[${v.join(', ')}]` : `[${v.slice(0, 3).join(', ')}, … ${v.length} channels]`;
}

function inspectText(path: string, j: InspectJson): string {
  const lines: string[] = [];
  lines.push(`${path}: ${j.kind} model, opset ${j.opset ?? '?'}, ${j.fileBytes ?? '?'} bytes on disk`);
  lines.push(`inputs: ${j.inputs.join(', ')}   outputs: ${j.outputs.join(', ')}`);
  lines.push(
    `ONNX ops: ${Object.entries(j.onnxOps)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  const ratio = j.modelBytes.int8 > 0 ? (j.modelBytes.fp32 / j.modelBytes.int8).toFixed(2) : '-';
  lines.push(
    `model bytes: fp32 ${j.modelBytes.fp32}, int8 ${j.modelBytes.int8}${j.kind === 'float' ? ' (if quantized per channel)' : ''} (x${ratio})`,
  );
  const prov = Object.entries(j.provenance);
  lines.push(
    prov.length === 0
      ? 'provenance: none (not written by quint)'
      : `provenance: ${prov.map(([k, v]) => `${k}=${v}`).join(' ')}`,
  );
  lines.push('');
  const w = Math.max(4, ...j.nodes.map((n) => n.name.length));
  const wo = Math.max(2, ...j.nodes.map((n) => n.op.length));
  lines.push(`${'node'.padEnd(w)}  ${'op'.padEnd(wo)}  output qparams              weight`);
  for (const n of j.nodes) {
    const out = n.scale === null ? '-' : `scale ${n.scale.toPrecision(6)} zp ${n.zeroPoint}`;
    const wt = n.weight === null ? '' : `${n.weight.dtype} ${n.weight.qscheme} scale ${fmt(n.weight.scale)}`;
    lines.push(`${n.name.padEnd(w)}  ${n.op.padEnd(wo)}  ${out.padEnd(27)}  ${wt}`.trimEnd());
  }
  return `${lines.join('\n')}\n`;
}
