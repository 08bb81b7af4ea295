// createJsBackend: the reference backend, assembled from the kernel files with defineBackend.
//
// Kernel files: quantize.ts, conv2d.ts, linear.ts (core); elementwise.ts, activations.ts, pooling.ts,
// shape.ts (non-GEMM). A kernel file exports its kernels as a `Partial<KernelTable>` object; add it
// to the spread list in `kernels` below (one import line, one spread line).
import {
  createEngineContext,
  defineBackend,
  supportsGemm,
  supportsNonGemm,
  type KernelTable,
  type PackedConv2d,
  type PackedLinear,
  type QuantizedBackend,
} from '@quint/qtensor';
import { QuantError } from '@quint/tensor';
import { conv2d } from './conv2d.js';
import { linear, linearDynamic } from './linear.js';
import { prepackConv2d, prepackLinear, type JsPackedConv2d, type JsPackedLinear } from './prepack.js';
import { dequantize, quantizePerChannel, quantizePerTensor } from './quantize.js';
import { elementwiseKernels } from './elementwise.js';
import { activationKernels } from './activations.js';
import { poolingKernels } from './pooling.js';
import { shapeKernels } from './shape.js';

/** Options of {@link createJsBackend}. */
export interface JsBackendOptions {
  /**
   * Receives the one-time warning printed when engine `fbgemm` is first used (default
   * `console.warn`). fbgemm is implemented from FBGEMM's source only and never compared with a run.
   */
  readonly onWarning?: (message: string) => void;
}

/**
 * Creates the reference integer backend: plain loops, `(x_q − x_zp)·(w_q − w_zp)` summed in int32,
 * then each engine's requantization (`qnnpack` default, `onednn`, `ort`, `fbgemm` experimental),
 * bit-exact with PyTorch 1.13 (qnnpack, onednn) and ONNX Runtime 1.30 (ort). Every kernel takes
 * `{ engine, trace }` as its last argument.
 *
 * @example
 * const be = createJsBackend();
 * await be.init();
 * const w = be.prepackLinear(weight, bias); // qint8 weight, float32 bias
 * const y = be.kernels.linear(x, w, { scale: 0.05, zeroPoint: 128 }, { engine: 'qnnpack' });
 * @see https://pytorch.org/docs/stable/quantization.html#quantized-engine
 */
export function createJsBackend(options: JsBackendOptions = {}): QuantizedBackend {
  const name = 'js';
  const ctx = createEngineContext(options.onWarning);
  // Packed weights of this instance: kernels accept only these, and dispose() forgets them.
  let packs = new WeakSet<object>();
  const conv = (w: PackedConv2d): JsPackedConv2d => {
    if (!packs.has(w)) {
      throw new QuantError(
        'INVALID_ARGUMENT',
        `conv2d: the weight was not packed by this js backend (packed by '${w?.backend}', or disposed); call prepackConv2d on this backend.`,
      );
    }
    return w as JsPackedConv2d;
  };
  const lin = (w: PackedLinear): JsPackedLinear => {
    if (!packs.has(w)) {
      throw new QuantError(
        'INVALID_ARGUMENT',
        `linear: the weight was not packed by this js backend (packed by '${w?.backend}', or disposed); call prepackLinear on this backend.`,
      );
    }
    return w as JsPackedLinear;
  };
  const core: Partial<KernelTable> = {
    quantizePerTensor: (x, out, opts) => quantizePerTensor(ctx, x, out, opts),
    quantizePerChannel: (x, q, opts) => quantizePerChannel(ctx, x, q, opts),
    dequantize: (x, opts) => dequantize(ctx, x, opts),
    conv2d: (x, w, out, opts) => conv2d(ctx, x, conv(w), out, opts, false),
    conv2dRelu: (x, w, out, opts) => conv2d(ctx, x, conv(w), out, opts, true),
    linear: (x, w, out, opts) => linear(ctx, x, lin(w), out, opts, false),
    linearRelu: (x, w, out, opts) => linear(ctx, x, lin(w), out, opts, true),
    linearDynamic: (x, w, opts) => linearDynamic(ctx, x, lin(w), opts),
  };
  return defineBackend({
    name,
    kernels: {
      ...core,
      ...elementwiseKernels,
      ...activationKernels,
      ...poolingKernels,
      ...shapeKernels,
    },
    prepackConv2d(weight, bias, opts) {
      const p = prepackConv2d(name, weight, bias, opts);
      packs.add(p);
      return p;
    },
    prepackLinear(weight, bias, opts) {
      const p = prepackLinear(name, weight, bias, opts);
      packs.add(p);
      return p;
    },
    supports: (op, p) => supportsGemm(op, p) && supportsNonGemm(op, p),
    dispose() {
      packs = new WeakSet();
    },
  });
}
