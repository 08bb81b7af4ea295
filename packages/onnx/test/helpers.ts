// Shared by the onnx tests: fixtures, and onnxruntime-node / onnxruntime-web (wasm, 1 thread) as peers.
import { readFileSync } from 'node:fs';
import { npyToTensor, type Tensor } from '@quint/tensor';
import { encodeModel, type OnnxGraph, type OnnxModel, type OnnxNode, type OnnxTensor } from '../src/index.js';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';

ortWeb.env.wasm.numThreads = 1;

/** The bytes of `test/fixtures/<name>`. */
export function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(`./fixtures/${name}`, import.meta.url)));
}

/** A float32 `.npy` fixture as a Tensor. */
export function npyFixture(name: string): Tensor {
  return npyToTensor(fixture(name));
}

type Ort = typeof ortNode;
/** The two ONNX Runtime peers. */
export const RUNTIMES: readonly [string, Ort][] = [
  ['onnxruntime-node', ortNode],
  ['onnxruntime-web (wasm)', ortWeb as unknown as Ort],
];

/** Runs `bytes` in an ONNX Runtime on float inputs; returns every output as a typed array with its shape. */
export async function runOrt(
  ort: Ort,
  bytes: Uint8Array,
  inputs: Record<string, Tensor>,
  options: { optimization?: 'all' | 'disabled' } = {},
): Promise<Record<string, { data: Float32Array | Uint8Array | Int8Array; dims: number[] }>> {
  const session = await ort.InferenceSession.create(bytes, {
    graphOptimizationLevel: options.optimization ?? 'all',
    intraOpNumThreads: 1,
  });
  try {
    const feeds: Record<string, ortNode.Tensor> = {};
    for (const [k, v] of Object.entries(inputs)) feeds[k] = new ort.Tensor('float32', v.toFloat32Array(), [...v.shape]);
    const out = await session.run(feeds);
    const r: Record<string, { data: Float32Array | Uint8Array | Int8Array; dims: number[] }> = {};
    for (const [k, v] of Object.entries(out)) r[k] = { data: v.data as Float32Array, dims: [...v.dims] };
    return r;
  } finally {
    await session.release();
  }
}

/** Count of elements that differ, and the largest absolute difference. */
export function diff(a: ArrayLike<number>, b: ArrayLike<number>): { mismatches: number; maxAbs: number } {
  let mismatches = 0;
  let maxAbs = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(a[i] === b[i])) mismatches++;
    if (d > maxAbs || Number.isNaN(d)) maxAbs = d;
  }
  if (a.length !== b.length) mismatches += Math.abs(a.length - b.length);
  return { mismatches, maxAbs };
}

/**
 * An opset-13 model around a graph that tests build by hand: the graph's name, initializers,
 * value infos and the model's other fields get neutral defaults, which `extra` may override.
 */
export function modelOf(
  graph: Pick<OnnxGraph, 'nodes' | 'inputs' | 'outputs'> & Partial<OnnxGraph>,
  extra: Partial<OnnxModel> = {},
): OnnxModel {
  return {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    producerName: 'test',
    producerVersion: '',
    domain: '',
    modelVersion: 0,
    docString: '',
    metadataProps: {},
    ...extra,
    graph: { name: 'g', initializers: [], valueInfo: [], ...graph },
  };
}

/** Per-tensor uint8 quantization parameters of a hand-built model. */
export interface Q8 {
  readonly s: number;
  readonly z: number;
}

const node = (opType: string, inputs: string[], outputs: string[]): OnnxNode => ({
  name: outputs[0]!,
  opType,
  domain: '',
  inputs,
  outputs,
  attributes: {},
});
const scalar = (name: string, v: number, dataType: 'float' | 'uint8'): OnnxTensor => ({
  name,
  dataType,
  dims: [],
  data: dataType === 'float' ? Float32Array.of(v) : Uint8Array.of(v),
});

/**
 * The QDQ form of a quantized Add as ORT's quantize_static writes it, on two float inputs `a`, `b`
 * of shape [1, n]: `DQ(Q(a)) + DQ(Q(b))`, then (with `relu`) a Relu, then Q → DQ to output `y`.
 */
export function qdqAddModel(
  q: { readonly a: Q8; readonly b: Q8; readonly y: Q8 },
  n: number,
  relu = false,
): Uint8Array {
  return encodeModel(
    modelOf({
      nodes: [
        node('QuantizeLinear', ['a', 'sa', 'za'], ['aq']),
        node('DequantizeLinear', ['aq', 'sa', 'za'], ['ad']),
        node('QuantizeLinear', ['b', 'sb', 'zb'], ['bq']),
        node('DequantizeLinear', ['bq', 'sb', 'zb'], ['bd']),
        node('Add', ['ad', 'bd'], ['s']),
        ...(relu ? [node('Relu', ['s'], ['r'])] : []),
        node('QuantizeLinear', [relu ? 'r' : 's', 'sy', 'zy'], ['yq']),
        node('DequantizeLinear', ['yq', 'sy', 'zy'], ['y']),
      ],
      initializers: (['a', 'b', 'y'] as const).flatMap((k) => [
        scalar(`s${k}`, q[k].s, 'float'),
        scalar(`z${k}`, q[k].z, 'uint8'),
      ]),
      inputs: [
        { name: 'a', elemType: 'float', shape: [1, n] },
        { name: 'b', elemType: 'float', shape: [1, n] },
      ],
      outputs: [{ name: 'y', elemType: 'float', shape: null }],
    }),
  );
}
