// quantize_per_tensor / quantize_per_channel / dequantize per engine. qnnpack and onednn delegate to
// @quint/qtensor (PyTorch 1.13 builds without FBGEMM, spec pytorch-semantics.md §1.2–1.4); ort follows
// ONNX Runtime's QuantizeLinear/DequantizeLinear (onnx-ort-and-peers.md §1.3: it divides by the scale);
// fbgemm follows FBGEMM's LEGACY quantize (§1.2, from source only).
import { QuantError, Tensor } from '@quint/tensor';
import {
  DTYPE_RANGE,
  QTensor,
  allocStorage,
  checkPerTensorQparams,
  dequantize as dequantizePt,
  fmaf,
  ortQuantizeCode,
  ortQuantizePerTensor,
  quantizePerChannel as quantizePerChannelPt,
  quantizePerTensor as quantizePerTensorPt,
  resolveEngine,
  roundHalfToEven,
  type EngineContext,
  type KernelOptions,
  type OutQparams,
  type PerChannelOutQparams,
  type PerChannelQparams,
  type PerTensorQparams,
  type QDtype,
} from '@quint/qtensor';

const f32 = Math.fround;

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

/** Elements per AVX2 step of FBGEMM's `QuantizeAvx2` (8 floats); the rest take the scalar tail. */
const FBGEMM_VEC = 8;

/**
 * quantizePerTensor per engine. ort: `clamp(rne(f32(x / f32(s))) + zp)` (QuantizeLinear divides).
 * fbgemm: the LEGACY form, zero point added before a single rounding: `rne(fma(x, inv, f32(zp)))` on
 * the 8-wide body and `rne(f32(f32(zp) + f32(x·inv)))` on the `numel % 8` tail (spec §1.2 [S]).
 */
export function quantizePerTensor(
  ctx: EngineContext,
  x: Tensor,
  out: OutQparams,
  opts: KernelOptions | undefined,
): QTensor {
  const engine = resolveEngine('quantizePerTensor', opts, ctx);
  const dtype: QDtype = out.dtype ?? 'quint8';
  if (engine === 'qnnpack' || engine === 'onednn') return quantizePerTensorPt(x, out.scale, out.zeroPoint, dtype);
  if (engine === 'ort') return ortQuantizePerTensor(x, out.scale, out.zeroPoint, dtype);
  // The same checks and errors as PyTorch's path, without its pass over the tensor.
  checkPerTensorQparams(out.scale, out.zeroPoint, dtype, 'quantizePerTensor');
  const src = x.toFloat32Array();
  const [qmin, qmax] = DTYPE_RANGE[dtype];
  const codes = allocStorage(dtype, src.length);
  const inv = f32(1 / f32(out.scale));
  const zp = f32(out.zeroPoint);
  const body = src.length - (src.length % FBGEMM_VEC);
  for (let i = 0; i < src.length; i++) {
    const v = i < body ? fmaf(src[i]!, inv, zp) : f32(zp + f32(src[i]! * inv));
    codes[i] = clamp(roundHalfToEven(v), qmin, qmax);
  }
  return new QTensor(codes, x.shape, dtype, {
    qscheme: 'per_tensor_affine',
    scale: out.scale,
    zeroPoint: out.zeroPoint,
  });
}

/** quantizePerChannel per engine; ort divides by each channel's float32 scale, the others use `quantize_val` (§1.3). */
export function quantizePerChannel(
  ctx: EngineContext,
  x: Tensor,
  q: PerChannelOutQparams,
  opts: KernelOptions | undefined,
): QTensor {
  const engine = resolveEngine('quantizePerChannel', opts, ctx);
  const dtype: QDtype = q.dtype ?? 'qint8';
  const pt = quantizePerChannelPt(x, q.scales, q.zeroPoints, q.axis, dtype);
  if (engine !== 'ort') return pt;
  const src = x.toFloat32Array();
  const [qmin, qmax] = DTYPE_RANGE[dtype];
  const codes = allocStorage(dtype, src.length);
  const inner = x.shape.slice(q.axis + 1).reduce((a, b) => a * b, 1);
  const channels = x.shape[q.axis]!;
  for (let i = 0; i < src.length; i++) {
    const c = Math.floor(i / inner) % channels;
    codes[i] = ortQuantizeCode(src[i]!, f32(q.scales[c]!), q.zeroPoints[c]!, qmin, qmax);
  }
  return new QTensor(codes, x.shape, dtype, pt.qparams);
}

/**
 * dequantize per engine. ort (DequantizeLinear): `f32(f32(q − zp)·f32(s))` per tensor and per axis;
 * the others as PyTorch (per channel: the product in double, §1.4).
 */
export function dequantize(ctx: EngineContext, x: QTensor, opts: KernelOptions | undefined): Tensor {
  const engine = resolveEngine('dequantize', opts, ctx);
  if (!(x instanceof QTensor)) {
    throw new QuantError('INVALID_ARGUMENT', 'dequantize: input is not a QTensor.');
  }
  if (engine !== 'ort' || !x.isPerChannel()) {
    if (engine === 'ort') {
      const p = x.qparams as PerTensorQparams;
      const s = f32(p.scale);
      const y = new Float32Array(x.numel);
      for (let i = 0; i < y.length; i++) y[i] = f32(f32(x.data[i]! - p.zeroPoint) * s);
      return new Tensor(y, x.shape);
    }
    return dequantizePt(x);
  }
  const p = x.qparams as PerChannelQparams;
  const inner = x.shape.slice(p.axis + 1).reduce((a, b) => a * b, 1);
  const channels = x.shape[p.axis]!;
  const y = new Float32Array(x.numel);
  for (let i = 0; i < y.length; i++) {
    const c = Math.floor(i / inner) % channels;
    y[i] = f32(f32(x.data[i]! - p.zeroPoints[c]!) * f32(p.scales[c]!));
  }
  return new Tensor(y, x.shape);
}
