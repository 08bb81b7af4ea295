// Shared by the onnx tests: fixtures, and onnxruntime-node / onnxruntime-web (wasm, 1 thread) as peers.
import { readFileSync } from 'node:fs';
import { npyToTensor, type Tensor } from '@quint/tensor';
import type { OnnxGraph, OnnxModel } from '../src/index.js';
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
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: options.optimization ?? 'all', intraOpNumThreads: 1 });
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
export function modelOf(graph: Pick<OnnxGraph, 'nodes' | 'inputs' | 'outputs'> & Partial<OnnxGraph>, extra: Partial<OnnxModel> = {}): OnnxModel {
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
