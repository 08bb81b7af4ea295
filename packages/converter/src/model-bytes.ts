// Model size, counted one way everywhere (DESIGN.md "Numerics": model bytes).
import type { QTensor } from '@quint/qtensor';
import { nnq, type Module } from '@quint/nn';

/** Bytes of a model's weights, as DESIGN.md counts them. */
export interface ModelBytes {
  /** 4 × every weight and bias element: the model's size in float32. */
  readonly fp32: number;
  /**
   * The model as it is: 1 × every int8 weight code + 4 × every bias element (int32 at run time) +
   * 4 × every scale and zero point (weights' and outputs'), + 4 × every weight left in float.
   */
  readonly int8: number;
}

interface QuantizedWeights {
  weight(): QTensor;
  bias(): { numel: number } | null;
}

function hasQuantizedWeight(m: Module): m is Module & QuantizedWeights {
  const w = (m as unknown as { weight?: unknown }).weight;
  return typeof w === 'function' && nnq.isQTensor((w as () => unknown).call(m));
}

/**
 * Weight bytes of a float or quantized model (DESIGN.md): `fp32` = 4 × every weight and bias
 * element; `int8` = 1 × every int8 weight code + 4 × every bias element + 4 × every scale and zero
 * point (per channel: one pair per channel; each quantized module's output pair; `Quantize`'s pair)
 * + 4 × every weight still in float. For a float model both are equal. Buffers (BatchNorm
 * statistics) are not weights. Tiny layers do not shrink: the seed's `Conv2d(1, 1, 1)` is 8 bytes in
 * float and 29 quantized (1 code, a 4-byte bias, and five 4-byte qparams).
 *
 * @example
 * const { fp32, int8 } = modelBytes(quantized); // fp32 / int8 ≈ 4 for a CNN with thousands of weights
 */
export function modelBytes(model: Module): ModelBytes {
  let fp32 = 0;
  let int8 = 0;
  for (const [, p] of model.namedParameters()) {
    fp32 += 4 * p.numel;
    int8 += 4 * p.numel;
  }
  for (const m of model.modules()) {
    if (hasQuantizedWeight(m)) {
      const w = m.weight();
      const n = w.shape.reduce((a, d) => a * d, 1);
      fp32 += 4 * n;
      int8 += n;
      const qp = w.qparams;
      int8 += 4 * ('scales' in qp ? qp.scales.length + qp.zeroPoints.length : 2);
      const b = m.bias();
      if (b !== null) {
        fp32 += 4 * b.numel;
        int8 += 4 * b.numel;
      }
    }
    const o = m as unknown as { scale?: unknown; zeroPoint?: unknown };
    if (typeof o.scale === 'number' && typeof o.zeroPoint === 'number') int8 += 8;
  }
  return { fp32, int8 };
}
