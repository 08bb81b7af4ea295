// ONNX Runtime Web as the latency peer of the report: the same model file, its wasm execution
// provider on one thread (as `quint bench` runs it), timed call by call.
import { QuantError, type Tensor } from '@quint/tensor';
import type { GraphModule } from '@quint/fx-graph-tracer';
import { encodeModel, exportModel } from '@quint/onnx';

/** Median of a list of numbers. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new QuantError('INVALID_ARGUMENT', 'median of no values; time at least one call.');
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Median milliseconds of one `session.run` of ONNX Runtime Web (wasm execution provider, one
 * thread, all graph optimizations) on each of `inputs`, after `warmup` untimed runs.
 *
 * @throws `BAD_ONNX` when ONNX Runtime rejects the model.
 * @example
 * await ortWebMsPerCall(readFileSync('mnist-cnn.onnx'), 'input', images);
 */
export async function ortWebMsPerCall(
  model: Uint8Array,
  inputName: string,
  inputs: readonly Tensor[],
  warmup = 5,
): Promise<number> {
  const ort = await import('onnxruntime-web');
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  ort.env.logLevel = 'error';
  let session: Awaited<ReturnType<typeof ort.InferenceSession.create>>;
  try {
    session = await ort.InferenceSession.create(model, {
      executionProviders: ['wasm'],
      graphOptimizationLevel: 'all',
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
    });
  } catch (e) {
    throw new QuantError('BAD_ONNX', `ONNX Runtime Web could not load the model: ${(e as Error).message}`, {
      cause: e,
    });
  }
  try {
    const feeds = inputs.map((x) => ({ [inputName]: new ort.Tensor('float32', x.contiguous().data, [...x.shape]) }));
    for (let i = 0; i < warmup; i++) await session.run(feeds[i % feeds.length]!);
    const times: number[] = [];
    for (const f of feeds) {
      const t0 = performance.now();
      await session.run(f);
      times.push(performance.now() - t0);
    }
    return median(times);
  } finally {
    await session.release();
  }
}

/**
 * A quantized GraphModule as QDQ ONNX bytes (`exportModel` of @quint/onnx), for ONNX Runtime.
 * `meta` is the imported float graph's `meta.onnx` (input names and shapes).
 */
export function qdqBytes(quantized: GraphModule, onnxMeta: unknown): Uint8Array {
  const prev = quantized.meta['onnx'];
  quantized.meta['onnx'] = onnxMeta;
  try {
    return encodeModel(exportModel(quantized, { format: 'qdq' }));
  } finally {
    quantized.meta['onnx'] = prev;
  }
}
