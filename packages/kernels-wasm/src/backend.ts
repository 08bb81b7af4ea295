// createWasmBackend: the QuantizedBackend over the SIMD128 kernels.
import { QuantError, isQuantError, type Tensor } from '@quint/tensor';
import {
  createEngineContext,
  defineBackend,
  supportsGemm,
  supportsNonGemm,
  type Conv2dPrepackOptions,
  type Engine,
  type KernelOptions,
  type LinearDynamicOptions,
  type LinearPrepackOptions,
  type OpName,
  type OutQparams,
  type PackedConv2d,
  type PackedLinear,
  type QTensor,
  type QuantizedBackend,
} from '@quint/qtensor';
import { compileKernels, instantiateKernels, readWasmBytes, type KernelsAbi } from './abi.js';
import { conv2d, linear, linearDynamic, WASM_GEMM_ENGINES, WASM_LINEAR_DYNAMIC_ENGINES } from './gemm-ops.js';
import { MAX_WASM_BYTES } from './heap.js';
import {
  freeWeights,
  prepackConv2d,
  prepackLinear,
  type WasmPackedConv2d,
  type WasmPackedLinear,
  type WasmWeights,
} from './prepack.js';
import * as ng from './nongemm.js';
import { createThreadPool, inlineRunner, threadsAvailable, type Runner, type ThreadPool } from './threads.js';

/** Options of {@link createWasmBackend}. */
export interface WasmBackendOptions {
  /**
   * Where the single-threaded module is: default `new URL('../build/kernels.wasm', import.meta.url)`
   * (resolves from `src/` and `dist/` alike; bundlers can import `@quint/kernels-wasm/kernels.wasm`).
   * `file:` URLs are read with `fs` (Node), anything else with `fetch`.
   */
  readonly wasmUrl?: string | URL;
  /**
   * Worker threads for large conv/linear calls (default 1: no workers). Needs shared memory:
   * `worker_threads` in Node; in a browser, a cross-origin-isolated worker context (the browser main
   * thread may not block, so it stays single-threaded there). Outputs are identical for any count.
   */
  readonly threads?: number;
  /** The threads build (default `new URL('../build/kernels-threads.wasm', import.meta.url)`). */
  readonly threadsWasmUrl?: string | URL;
  /**
   * Receives the one-time warning printed when engine `fbgemm` is first used (default
   * `console.warn`), as @quint/kernels-js: fbgemm is implemented from FBGEMM's source only.
   */
  readonly onWarning?: (message: string) => void;
}

/** The backend's name, as `PackedLinear.backend` reports it. */
export const WASM_BACKEND_NAME = 'wasm';

/** The ops with a wasm kernel; every other op's `supports()` is false (run them on kernels-js). */
export const WASM_OPS: readonly OpName[] = [
  'conv2d',
  'conv2dRelu',
  'linear',
  'linearRelu',
  'linearDynamic',
  ...(Object.keys(ng.WASM_NON_GEMM_ENGINES) as OpName[]),
];

function toUrl(u: string | URL): URL {
  return u instanceof URL ? u : new URL(u, typeof location === 'object' ? location.href : undefined);
}

/**
 * Creates the WebAssembly SIMD128 backend: int8 conv2d and linear with weights prepacked into wasm
 * memory, bit-exact with `@quint/kernels-js` on engines qnnpack, onednn, ort and (experimental) fbgemm. Call `await init()`
 * once; `dispose()` frees every packed weight and the workers (a pack no longer referenced is freed
 * sooner, after garbage collection).
 *
 * @throws `QuantError('BACKEND_INIT_FAILED')` from `init()` when the module cannot be read, the
 * runtime lacks SIMD128, or the threads cannot start; fall back with {@link createBackendWithFallback}.
 * @example
 * const backend = createWasmBackend();
 * await backend.init();
 * const w = backend.prepackLinear(weight, bias);
 * const y = backend.kernels.linear(x, w, { scale: 0.05, zeroPoint: 128 });
 * @see https://pytorch.org/docs/stable/quantization.html#quantized-engine
 */
export function createWasmBackend(options: WasmBackendOptions = {}): QuantizedBackend {
  const threads = options.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1 || threads > 64) {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `createWasmBackend: threads ${threads} must be an integer in 1..64; pass 1 for no workers.`,
    );
  }
  let abi: KernelsAbi | undefined;
  let pool: ThreadPool | undefined;
  let runner: Runner | undefined;
  // Packed weights in wasm memory: freed by dispose(), or earlier, once their pack object is garbage
  // (a module given new weights, or a converted model dropped, in a long-lived process).
  const live = new Set<WasmWeights>();
  const unreachable = new FinalizationRegistry<WasmWeights>((w) => {
    live.delete(w);
    freeWeights(abi, w);
  });
  const ctx = createEngineContext(options.onWarning);
  const ours = new WeakSet<object>();

  const ready = (what: string): KernelsAbi => {
    if (!abi || !runner) {
      throw new QuantError(
        'BACKEND_INIT_FAILED',
        `${what}: the wasm backend is not initialized; await backend.init() first.`,
      );
    }
    return abi;
  };
  const mine = <T extends object>(op: string, w: T): T => {
    if (!ours.has(w)) {
      throw new QuantError(
        'INVALID_ARGUMENT',
        `${op}: the weight was not packed by this ${WASM_BACKEND_NAME} backend instance; pack it with this backend's prepackLinear/prepackConv2d.`,
      );
    }
    return w;
  };
  const track = <T extends WasmPackedLinear | WasmPackedConv2d>(p: T): T => {
    live.add(p.packed);
    unreachable.register(p, p.packed);
    ours.add(p);
    return p;
  };

  return defineBackend({
    name: WASM_BACKEND_NAME,
    async init() {
      if (abi) return;
      if (threads > 1) {
        if (!threadsAvailable()) {
          throw new QuantError(
            'BACKEND_INIT_FAILED',
            `createWasmBackend: threads ${threads} needs SharedArrayBuffer and a thread that may block (Node worker_threads, or a cross-origin-isolated browser worker); pass threads: 1 here, or use createJsBackend() from @quint/kernels-js.`,
          );
        }
        const url = toUrl(options.threadsWasmUrl ?? new URL('../build/kernels-threads.wasm', import.meta.url));
        const module = await compileKernels(await readWasmBytes(url), url);
        const memory = new WebAssembly.Memory({ initial: 256, maximum: MAX_WASM_BYTES / 65536, shared: true });
        const a = await instantiateKernels(module, memory);
        pool = await createThreadPool(a, threads);
        abi = a;
        runner = pool;
        return;
      }
      const url = toUrl(options.wasmUrl ?? new URL('../build/kernels.wasm', import.meta.url));
      const module = await compileKernels(await readWasmBytes(url), url);
      abi = await instantiateKernels(module, new WebAssembly.Memory({ initial: 256 }));
      runner = inlineRunner(abi);
    },
    engines: {
      ...(Object.fromEntries(WASM_OPS.map((op) => [op, WASM_GEMM_ENGINES])) as Partial<
        Record<OpName, readonly Engine[]>
      >),
      linearDynamic: WASM_LINEAR_DYNAMIC_ENGINES,
      ...ng.WASM_NON_GEMM_ENGINES,
    },
    // The reference's rules (@quint/qtensor): conv/linear dtypes and onednn; non-GEMM ops quint8 only.
    supports: (op, p) => (op in ng.WASM_NON_GEMM_ENGINES ? supportsNonGemm(op, p) : supportsGemm(op, p)),
    kernels: {
      linear: (x: QTensor, w: PackedLinear, out: OutQparams, opts?: KernelOptions) =>
        linear(ready('linear'), runner!, ctx, x, mine('linear', w) as WasmPackedLinear, out, opts, false),
      linearRelu: (x: QTensor, w: PackedLinear, out: OutQparams, opts?: KernelOptions) =>
        linear(ready('linearRelu'), runner!, ctx, x, mine('linearRelu', w) as WasmPackedLinear, out, opts, true),
      linearDynamic: (x: Tensor, w: PackedLinear, opts?: LinearDynamicOptions) =>
        linearDynamic(ready('linearDynamic'), runner!, ctx, x, mine('linearDynamic', w) as WasmPackedLinear, opts),
      conv2d: (x: QTensor, w: PackedConv2d, out: OutQparams, opts?: KernelOptions) =>
        conv2d(ready('conv2d'), runner!, ctx, x, mine('conv2d', w) as WasmPackedConv2d, out, opts, false),
      conv2dRelu: (x: QTensor, w: PackedConv2d, out: OutQparams, opts?: KernelOptions) =>
        conv2d(ready('conv2dRelu'), runner!, ctx, x, mine('conv2dRelu', w) as WasmPackedConv2d, out, opts, true),
      quantizePerTensor: (x, out, opts) => ng.quantizePerTensor(ready('quantizePerTensor'), x, out, opts),
      add: (a, b, out, opts) => ng.add(ready('add'), 'add', a, b, out, opts),
      addRelu: (a, b, out, opts) => ng.add(ready('addRelu'), 'addRelu', a, b, out, opts),
      mul: (a, b, out, opts) => ng.mul(ready('mul'), 'mul', a, b, out, opts),
      mulRelu: (a, b, out, opts) => ng.mul(ready('mulRelu'), 'mulRelu', a, b, out, opts),
      cat: (xs, dim, out, opts) => ng.cat(ready('cat'), xs, dim, out, opts),
      relu: (x, opts) => ng.relu(ready('relu'), x, opts),
      relu6: (x, opts) => ng.relu6(ready('relu6'), x, opts),
      hardtanh: (x, params, opts) => ng.hardtanh(ready('hardtanh'), x, params, opts),
      clamp: (x, params, opts) => ng.clamp(ready('clamp'), x, params, opts),
      hardswish: (x, out, opts) => ng.hardswish(ready('hardswish'), x, out, opts),
      hardsigmoid: (x, out, opts) => ng.hardsigmoid(ready('hardsigmoid'), x, out, opts),
      sigmoid: (x, out, opts) => ng.sigmoid(ready('sigmoid'), x, out, opts),
      tanh: (x, out, opts) => ng.tanh(ready('tanh'), x, out, opts),
      maxPool2d: (x, params, opts) => ng.maxPool2d(ready('maxPool2d'), x, params, opts),
      avgPool2d: (x, params, opts) => ng.avgPool2d(ready('avgPool2d'), x, params, opts),
      adaptiveAvgPool2d: (x, size, opts) => ng.adaptiveAvgPool2d(ready('adaptiveAvgPool2d'), x, size, opts),
      mean: (x, params, opts) => ng.mean(ready('mean'), x, params, opts),
    },
    prepackLinear: (weight: QTensor, bias: Float32Array | null, opts?: LinearPrepackOptions) =>
      track(prepackLinear(ready('prepackLinear'), WASM_BACKEND_NAME, weight, bias, opts)),
    prepackConv2d: (weight: QTensor, bias: Float32Array | null, opts?: Conv2dPrepackOptions) =>
      track(prepackConv2d(ready('prepackConv2d'), WASM_BACKEND_NAME, weight, bias, opts)),
    dispose() {
      for (const w of live) freeWeights(abi, w);
      live.clear();
      pool?.terminate();
      pool = undefined;
      runner = undefined;
      abi = undefined;
    },
  });
}

/** Options of {@link createBackendWithFallback}. */
export interface FallbackOptions {
  /** Options of the wasm backend tried first. */
  readonly wasm?: WasmBackendOptions;
  /** Makes the backend used when the wasm one cannot start, e.g. `createJsBackend` from @quint/kernels-js. */
  readonly fallback: () => QuantizedBackend;
  /** Told why the wasm backend could not start; default: a `quint: warning: …` line on `console.warn`. */
  readonly onFallback?: (error: QuantError) => void;
}

/**
 * Creates and initializes the wasm backend, or — when its `init()` fails with
 * `BACKEND_INIT_FAILED` (no SIMD128, the wasm file missing or unreadable, threads unavailable) —
 * the fallback backend, after reporting the cause. Other errors propagate.
 *
 * @example
 * import { createJsBackend } from '@quint/kernels-js';
 * const backend = await createBackendWithFallback({ fallback: createJsBackend });
 * backend.name; // 'kernels-wasm', or the fallback's name where wasm SIMD is unavailable
 */
export async function createBackendWithFallback(options: FallbackOptions): Promise<QuantizedBackend> {
  const wasm = createWasmBackend(options.wasm);
  try {
    await wasm.init();
    return wasm;
  } catch (e) {
    if (!isQuantError(e) || e.code !== 'BACKEND_INIT_FAILED') throw e;
    wasm.dispose();
    (options.onFallback ?? ((err: QuantError) => console.warn(`quint: warning: ${err.message}`)))(e);
    const fb = options.fallback();
    await fb.init();
    return fb;
  }
}
