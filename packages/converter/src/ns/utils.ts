// torch/ao/ns/fx/utils.py (PyTorch 1.13): the comparison metrics of the numeric suite.
import { QuantError, Tensor } from '@quint/tensor';
import type { QTensor } from '@quint/qtensor';
import { nnq } from '@quint/nn';

/** A float tensor, or a quantized one (dequantized first, as PyTorch's metrics do). */
export type Comparable = Tensor | QTensor;

function values(x: Comparable, fn: string, which: string): Float32Array {
  if (nnq.isQTensor(x)) return x.dequantize().toFloat32Array();
  if (x instanceof Tensor) return x.toFloat32Array();
  throw new QuantError(
    'INVALID_ARGUMENT',
    `${fn}: ${which} is ${typeof x}, not a Tensor or QTensor; pass two tensors of the same size.`,
  );
}

function pair(x: Comparable, y: Comparable, fn: string): [Float32Array, Float32Array] {
  const a = values(x, fn, 'x');
  const b = values(y, fn, 'y');
  if (a.length !== b.length) {
    throw new QuantError(
      'SHAPE_MISMATCH',
      `${fn}: x has ${a.length} elements and y has ${b.length}; compare tensors of the same size.`,
    );
  }
  return [a, b];
}

/**
 * Signal-to-quantization-noise ratio in dB, `20·log10(‖x‖₂ / ‖x − y‖₂)` (PyTorch's `compute_sqnr`;
 * `x` is the reference). QTensors are dequantized first. The difference is taken in float32 as
 * PyTorch does; the norms are summed in float64 and the result rounded to float32 (PyTorch's
 * reduction order differs, so the last bit may too). `Infinity` when `x` and `y` are equal.
 *
 * @throws QuantError `SHAPE_MISMATCH` when the sizes differ.
 * @example
 * computeSqnr(floatOut, quantizedOut); // e.g. 38.2 (dB)
 * @see https://github.com/pytorch/pytorch/blob/v1.13.1/torch/ao/ns/fx/utils.py
 */
export function computeSqnr(x: Comparable, y: Comparable): number {
  const [a, b] = pair(x, y, 'computeSqnr');
  let ps = 0;
  let pn = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.fround(a[i]! - b[i]!);
    ps += a[i]! * a[i]!;
    pn += d * d;
  }
  return Math.fround(20 * Math.log10(Math.fround(Math.sqrt(ps)) / Math.fround(Math.sqrt(pn))));
}

/**
 * Normalized L2 error `sqrt(Σ(x − y)² / Σx²)` (PyTorch's `compute_normalized_l2_error`; `x` is the
 * reference). QTensors are dequantized first; float32 differences, float64 sums, float32 result.
 *
 * @throws QuantError `SHAPE_MISMATCH` when the sizes differ.
 * @example
 * computeL2Error(floatOut, quantizedOut); // e.g. 0.012
 * @see https://github.com/pytorch/pytorch/blob/v1.13.1/torch/ao/ns/fx/utils.py
 */
export function computeL2Error(x: Comparable, y: Comparable): number {
  const [a, b] = pair(x, y, 'computeL2Error');
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.fround(a[i]! - b[i]!);
    num += d * d;
    den += a[i]! * a[i]!;
  }
  return Math.fround(Math.sqrt(Math.fround(num) / Math.fround(den)));
}

/**
 * Cosine similarity of the flattened tensors (PyTorch's `compute_cosine_similarity`:
 * `F.cosine_similarity(x.reshape(1, -1), y.reshape(1, -1))`, i.e. `Σxy / sqrt(max(Σx²·Σy², eps²))`
 * with eps 1e-8). QTensors are dequantized first; float64 sums, float32 result.
 *
 * @throws QuantError `SHAPE_MISMATCH` when the sizes differ.
 * @example
 * computeCosineSimilarity(floatOut, quantizedOut); // e.g. 0.9998
 * @see https://github.com/pytorch/pytorch/blob/v1.13.1/torch/ao/ns/fx/utils.py
 */
export function computeCosineSimilarity(x: Comparable, y: Comparable): number {
  const [a, b] = pair(x, y, 'computeCosineSimilarity');
  let w12 = 0;
  let w1 = 0;
  let w2 = 0;
  for (let i = 0; i < a.length; i++) {
    w12 += a[i]! * b[i]!;
    w1 += a[i]! * a[i]!;
    w2 += b[i]! * b[i]!;
  }
  const eps = 1e-8;
  return Math.fround(Math.fround(w12) / Math.fround(Math.sqrt(Math.max(Math.fround(w1) * Math.fround(w2), eps * eps))));
}
