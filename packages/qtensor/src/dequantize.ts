import { isPerChannel, type IntArray } from './dtypes.js';
import type { PerChannelQparams, PerTensorQparams, Qparams } from './qtensor.js';

const f32 = Math.fround;

/** Splits `shape` around `axis` into (outer, channels, inner) counts for C-order loops. @internal */
export function axisLoop(shape: readonly number[], axis: number): [number, number, number] {
  let outer = 1;
  let inner = 1;
  for (let d = 0; d < axis; d++) outer *= shape[d]!;
  for (let d = axis + 1; d < shape.length; d++) inner *= shape[d]!;
  return [outer, shape[axis]!, inner];
}

/**
 * Dequantizes codes to float32 (spec pytorch-semantics §1.4). Per-tensor: `f32(f32(s)·f32(q − zp))`
 * with the subtraction in int32; per-channel: `f32((f32(q) − f32(zp_c)) · s_c)` with the product in
 * double, since PyTorch keeps per-channel scales as float64. @internal
 */
export function dequantizeCodes(data: IntArray, shape: readonly number[], qparams: Qparams): Float32Array {
  const out = new Float32Array(data.length);
  if (!isPerChannel(qparams.qscheme)) {
    const { scale, zeroPoint } = qparams as PerTensorQparams;
    const s = f32(scale);
    for (let i = 0; i < data.length; i++) out[i] = s * f32((data[i]! - zeroPoint) | 0);
    return out;
  }
  const { scales, zeroPoints, axis } = qparams as PerChannelQparams;
  const [outer, channels, inner] = axisLoop(shape, axis);
  let i = 0;
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const s = scales[c]!;
      const zp = f32(zeroPoints[c]!);
      for (let e = 0; e < inner; e++, i++) out[i] = f32(f32(data[i]!) - zp) * s;
    }
  }
  return out;
}
