// Which memory format PyTorch's quantized tensor would have at this point of an eager model. Our
// codes are always NCHW; the backend only needs the hint, because several PyTorch 1.13 kernels
// round or order differently on channels_last input (spec pytorch-semantics §5.5, §5.8, §11.3,
// §12.C4–C5). Quantized conv outputs are channels_last; most ops keep their input's format.
// Internal: a non-enumerable tag on the QTensor object (QTensor has no field for it yet).
import type { Engine, MemoryFormat, OpName, QTensor } from '@quint/qtensor';

const TAG: unique symbol = Symbol('quint.nn.memoryFormat');

/** The format tagged on `q` by the module that produced it (default contiguous). */
export function memoryFormatOf(q: QTensor): MemoryFormat {
  return (q as unknown as Record<symbol, MemoryFormat | undefined>)[TAG] ?? 'contiguous';
}

/** Tags `q` (4-D only; other ranks are always contiguous). Returns `q`. */
export function withMemoryFormat<T extends QTensor>(q: T, format: MemoryFormat): T {
  if (format === 'channels_last' && q.ndim === 4)
    Object.defineProperty(q, TAG, { value: format, enumerable: false, configurable: true });
  return q;
}

// qnnpack's clamp kernel writes NHWC-ordered results into a contiguous output (kernels-js
// activations.ts, a PyTorch 1.13 quirk): the result is contiguous.
const CONTIGUOUS_ON_QNNPACK: ReadonlySet<OpName> = new Set(['relu6', 'hardtanh', 'clamp']);
const ALWAYS_CONTIGUOUS: ReadonlySet<OpName> = new Set([
  'flatten',
  'reshape',
  'linear',
  'linearRelu',
  'quantizePerTensor',
]);

/** The format of an op's output given its (first) input's format. */
export function resultFormat(op: OpName, engine: Engine, input: MemoryFormat): MemoryFormat {
  if (op === 'conv2d' || op === 'conv2dRelu') return 'channels_last';
  if (input !== 'channels_last' || ALWAYS_CONTIGUOUS.has(op)) return 'contiguous';
  if (engine === 'qnnpack' && CONTIGUOUS_ON_QNNPACK.has(op)) return 'contiguous';
  return 'channels_last';
}
