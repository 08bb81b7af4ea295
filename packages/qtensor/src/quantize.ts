import { QuantError, shapeNumel, type Tensor } from '@quint/tensor';
import { quantizeWithInv } from './affine-quantizer-base.js';
import { RNE_MAGIC, roundHalfToEven } from './rounding.js';
import { axisLoop } from './dequantize.js';
import { allocStorage, DTYPE_RANGE, type IntArray, type QDtype } from './dtypes.js';
import { checkScale, checkZeroPoint, QTensor } from './qtensor.js';

const f32 = Math.fround;

function checkDtype(dtype: QDtype, what: string): void {
  if (!Object.hasOwn(DTYPE_RANGE, dtype)) {
    throw new QuantError(
      'BAD_DTYPE',
      `${what}: unknown quantized dtype '${String(dtype)}'; use 'quint8', 'qint8' or 'qint32'.`,
    );
  }
}

function checkAxis(axis: number, shape: readonly number[], what: string): void {
  if (!Number.isInteger(axis) || axis < 0 || axis >= shape.length) {
    throw new QuantError(
      'AXIS_OUT_OF_RANGE',
      `${what}: axis ${axis} is out of range for shape [${shape.join(', ')}]; pass an axis in [0, ${shape.length - 1}] (negative axes are not accepted, as in PyTorch).`,
    );
  }
}

/**
 * The checks of {@link quantizePerTensor}, for kernels that quantize with another formula (ONNX
 * Runtime's, FBGEMM's) and must reject the same qparams with the same errors, naming `what`.
 *
 * @throws `BAD_DTYPE`, `INVALID_QPARAMS` as {@link quantizePerTensor}.
 * @example
 * checkPerTensorQparams(0.1, 300, 'quint8', 'quantizePerTensor'); // throws INVALID_QPARAMS
 */
export function checkPerTensorQparams(scale: number, zeroPoint: number, dtype: QDtype, what: string): void {
  checkDtype(dtype, what);
  checkScale(scale, what);
  checkZeroPoint(zeroPoint, dtype, what);
}

/**
 * Quantizes a float tensor with one scale and zero point, bit-exact with PyTorch 1.13 builds without
 * FBGEMM (Debian x86, ARM, macOS; spec pytorch-semantics §1.2):
 * `inv = f32(1/f32(scale))`, `q = clamp(zp + rne(f32(x·inv)), qmin, qmax)`, ties to even, the zero
 * point added after rounding. NaN, ±Infinity and huge values give `qmin`, as PyTorch on x86 does.
 * The result is `per_tensor_affine`; `qScale()` returns `scale` as given (a double).
 *
 * @throws `BAD_DTYPE` for an unknown dtype; `INVALID_QPARAMS` for a scale that is not a positive
 *   finite float32, or a zero point that is not an integer inside the dtype's range.
 * @example
 * const q = quantizePerTensor(tensor([-1, 0, 0.25, 1]), 0.1, 10, 'quint8');
 * q.intRepr(); // Uint8Array [0, 10, 12, 20]
 * @see https://pytorch.org/docs/stable/generated/torch.quantize_per_tensor.html
 */
export function quantizePerTensor(x: Tensor, scale: number, zeroPoint: number, dtype: QDtype): QTensor {
  checkPerTensorQparams(scale, zeroPoint, dtype, 'quantizePerTensor');
  const src = x.toFloat32Array();
  const out = allocStorage(dtype, src.length);
  const [qmin, qmax] = DTYPE_RANGE[dtype];
  const inv = f32(1 / f32(scale));
  const zpF32 = f32(zeroPoint);
  if (out instanceof Int32Array) {
    for (let i = 0; i < src.length; i++) out[i] = quantizeWithInv(src[i]!, inv, zpF32, qmin, qmax);
  } else {
    quantize8(src, out, inv, zpF32, qmin, qmax);
  }
  return new QTensor(out, x.shape, dtype, { qscheme: 'per_tensor_affine', scale, zeroPoint });
}

/**
 * One code of ONNX Runtime's QuantizeLinear: `clamp(rne(f32(v / s)) + zp)` for a float32 scale `s`
 * — a division, not PyTorch's reciprocal multiply (spec onnx-ort-and-peers.md §1.3). NaN gives 0:
 * ONNX Runtime itself is not consistent there (int8: qmin on the inputs tried, but 0 on one 2×3
 * input in onnxruntime-web), so no test pins it to a runtime.
 *
 * @example
 * ortQuantizeCode(0.25, Math.fround(0.1), 10, 0, 255); // 12 (0.25 / 0.1 = 2.5 rounds to 2)
 */
export function ortQuantizeCode(v: number, s: number, zeroPoint: number, qmin: number, qmax: number): number {
  const r = roundHalfToEven(f32(v / s)) + zeroPoint;
  if (r !== r) return 0;
  return r < qmin ? qmin : r > qmax ? qmax : r;
}

/**
 * ONNX Runtime's QuantizeLinear per tensor: {@link ortQuantizeCode} of every element, with the qparam
 * checks of {@link quantizePerTensor}.
 *
 * @throws `INVALID_QPARAMS` for a non-positive or non-finite scale or a zero point out of range.
 * @example
 * ortQuantizePerTensor(tensor([0.25]), 0.1, 10, 'quint8').intRepr(); // Uint8Array [12]
 */
export function ortQuantizePerTensor(x: Tensor, scale: number, zeroPoint: number, dtype: QDtype): QTensor {
  checkPerTensorQparams(scale, zeroPoint, dtype, 'quantizePerTensor');
  const src = x.toFloat32Array();
  const [qmin, qmax] = DTYPE_RANGE[dtype];
  const codes = allocStorage(dtype, src.length);
  const s = f32(scale);
  for (let i = 0; i < src.length; i++) codes[i] = ortQuantizeCode(src[i]!, s, zeroPoint, qmin, qmax);
  return new QTensor(codes, x.shape, dtype, { qscheme: 'per_tensor_affine', scale, zeroPoint });
}

// |f32(x·inv)| below this: zp + rne is exact as a double, and rne is the RNE_MAGIC addition.
const FAST_LIMIT = 2 ** 30;

/**
 * {@link quantizeWithInv} over a whole array, for 8-bit codes. For |f32(x·inv)| < 2^30, `zp + rne`
 * is exact as a double, and wherever float32 rounding would change it (beyond 2^24) it clamps to
 * the same bound, so the float32 step is skipped; other values (NaN, ±Inf, huge) take the general
 * path.
 */
function quantize8(
  src: Float32Array,
  out: Uint8Array | Int8Array,
  inv: number,
  zpF32: number,
  qmin: number,
  qmax: number,
): void {
  for (let i = 0; i < src.length; i++) {
    const y = f32(src[i]! * inv);
    if (y > -FAST_LIMIT && y < FAST_LIMIT) {
      const v = zpF32 + (y + RNE_MAGIC - RNE_MAGIC); // a model's input: every pixel of every call
      out[i] = v < qmin ? qmin : v > qmax ? qmax : v;
    } else {
      out[i] = quantizeWithInv(src[i]!, inv, zpF32, qmin, qmax);
    }
  }
}

function toScales(scales: ArrayLike<number>): Float64Array {
  // PyTorch converts float32 scale tensors to float64; the values are kept exactly.
  return Float64Array.from(scales);
}

/**
 * Quantizes a float tensor with one scale and zero point per slice along `axis` (spec
 * pytorch-semantics §1.3): each element uses {@link quantizeVal}'s formula with its channel's
 * `inv = f32(1/f32(scales[c]))`. Scales are kept as float64 (`qPerChannelScales()`); the result is
 * `per_channel_affine`.
 *
 * @throws `AXIS_OUT_OF_RANGE` when `axis` is not in `[0, ndim)`; `SHAPE_MISMATCH` when the number of
 *   scales or zero points differs from `x.shape[axis]`; `INVALID_QPARAMS` for a bad scale or zero point;
 *   `BAD_DTYPE` for an unknown dtype.
 * @example
 * const q = quantizePerChannel(tensor([-1, 0, 0.5, 1], [2, 2]), [0.1, 0.01], [0, 0], 0, 'qint8');
 * q.intRepr(); // Int8Array [-10, 0, 50, 100]
 * @see https://pytorch.org/docs/stable/generated/torch.quantize_per_channel.html
 */
export function quantizePerChannel(
  x: Tensor,
  scales: ArrayLike<number>,
  zeroPoints: ArrayLike<number>,
  axis: number,
  dtype: QDtype,
): QTensor {
  const what = 'quantizePerChannel';
  checkDtype(dtype, what);
  checkAxis(axis, x.shape, what);
  const [outer, channels, inner] = axisLoop(x.shape, axis);
  checkChannelParams(scales, zeroPoints, channels, axis, dtype, what);
  const src = x.toFloat32Array();
  const out = allocStorage(dtype, src.length);
  const [qmin, qmax] = DTYPE_RANGE[dtype];
  let i = 0;
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const inv = f32(1 / f32(scales[c]!));
      const zpF32 = f32(zeroPoints[c]!);
      for (let e = 0; e < inner; e++, i++) out[i] = quantizeWithInv(src[i]!, inv, zpF32, qmin, qmax);
    }
  }
  return new QTensor(out, x.shape, dtype, {
    qscheme: 'per_channel_affine',
    scales: toScales(scales),
    zeroPoints: Int32Array.from(zeroPoints),
    axis,
  });
}

function checkChannelParams(
  scales: ArrayLike<number>,
  zeroPoints: ArrayLike<number>,
  channels: number,
  axis: number,
  dtype: QDtype,
  what: string,
): void {
  if (scales.length !== channels || zeroPoints.length !== channels) {
    throw new QuantError(
      'SHAPE_MISMATCH',
      `${what}: ${scales.length} scales and ${zeroPoints.length} zero points for ${channels} channels on axis ${axis}; pass one of each per channel.`,
    );
  }
  for (let c = 0; c < channels; c++) {
    checkScale(scales[c]!, `${what} (channel ${c})`);
    checkZeroPoint(zeroPoints[c]!, dtype, `${what} (channel ${c})`);
  }
}

/**
 * Dequantizes a quantized tensor to float32, bit-exact with PyTorch 1.13's `dequantize()` (spec
 * pytorch-semantics §1.4): per-tensor `f32(f32(scale)·f32(q − zp))`; per-channel
 * `f32((f32(q) − f32(zp_c))·scale_c)` with the product in double. Same as `q.dequantize()`.
 *
 * @example
 * dequantize(quantizePerTensor(tensor([0.25]), 0.1, 10, 'quint8')).toArray(); // [0.20000000298023224]
 * @see https://pytorch.org/docs/stable/generated/torch.dequantize.html
 */
export function dequantize(q: QTensor): Tensor {
  return q.dequantize();
}

/** An integer tensor: codes in C order with their shape (what `intRepr()` returns, with its shape). */
export interface IntTensor {
  readonly data: IntArray;
  readonly shape: readonly number[];
}

function dtypeOfCodes(codes: IntArray, what: string): QDtype {
  if (codes instanceof Uint8Array) return 'quint8';
  if (codes instanceof Int8Array) return 'qint8';
  if (codes instanceof Int32Array) return 'qint32';
  const name = (codes as object | null)?.constructor?.name ?? String(codes);
  throw new QuantError(
    'DTYPE_MISMATCH',
    `${what}: codes must be a Uint8Array, Int8Array or Int32Array, got ${name}; pass integer codes.`,
  );
}

function unpack(
  codes: IntArray | IntTensor,
  what: string,
): { data: IntArray; shape: readonly number[]; dtype: QDtype } {
  const isTensor = !ArrayBuffer.isView(codes);
  const data = isTensor ? (codes as IntTensor).data : (codes as IntArray);
  const shape = isTensor ? (codes as IntTensor).shape : [data.length];
  const dtype = dtypeOfCodes(data, what);
  if (data.length !== shapeNumel(shape)) {
    throw new QuantError(
      'SHAPE_MISMATCH',
      `${what}: ${data.length} codes do not fill shape [${shape.join(', ')}] (${shapeNumel(shape)} elements); pass codes of that length.`,
    );
  }
  return { data: data.slice(), shape, dtype };
}

/**
 * Wraps existing integer codes as a per-tensor quantized tensor, as
 * `torch._make_per_tensor_quantized_tensor(int_tensor, scale, zero_point)`: the dtype follows the
 * storage (`Uint8Array` → quint8, `Int8Array` → qint8, `Int32Array` → qint32); the codes are copied.
 * A bare typed array is 1-D; pass `{ data, shape }` for other shapes.
 *
 * @throws `DTYPE_MISMATCH` for other storage; `SHAPE_MISMATCH` when the codes do not fill the shape;
 *   `INVALID_QPARAMS` for a bad scale or zero point.
 * @example
 * const q = makePerTensorQuantizedTensor({ data: Uint8Array.of(0, 10, 20, 30), shape: [2, 2] }, 0.1, 10);
 * q.dequantize().toArray(); // [-1, 0, 1, 2] (as float32)
 * @see https://pytorch.org/docs/stable/quantization-support.html
 */
export function makePerTensorQuantizedTensor(codes: IntArray | IntTensor, scale: number, zeroPoint: number): QTensor {
  const what = 'makePerTensorQuantizedTensor';
  const { data, shape, dtype } = unpack(codes, what);
  checkScale(scale, what);
  checkZeroPoint(zeroPoint, dtype, what);
  return new QTensor(data, shape, dtype, { qscheme: 'per_tensor_affine', scale, zeroPoint });
}

/**
 * Wraps existing integer codes as a per-channel quantized tensor, as
 * `torch._make_per_channel_quantized_tensor(int_tensor, scales, zero_points, axis)`; the dtype
 * follows the storage, scales are kept as float64, the codes are copied.
 *
 * @throws `DTYPE_MISMATCH`, `SHAPE_MISMATCH`, `AXIS_OUT_OF_RANGE`, `INVALID_QPARAMS` as
 *   {@link quantizePerChannel}.
 * @example
 * const w = makePerChannelQuantizedTensor({ data: Int8Array.of(-127, 64, 3, 5), shape: [2, 2] }, [0.01, 0.5], [0, 0], 0);
 * w.qPerChannelScales(); // Float64Array [0.01, 0.5]
 * @see https://pytorch.org/docs/stable/quantization-support.html
 */
export function makePerChannelQuantizedTensor(
  codes: IntArray | IntTensor,
  scales: ArrayLike<number>,
  zeroPoints: ArrayLike<number>,
  axis: number,
): QTensor {
  const what = 'makePerChannelQuantizedTensor';
  const { data, shape, dtype } = unpack(codes, what);
  checkAxis(axis, shape, what);
  checkChannelParams(scales, zeroPoints, shape[axis]!, axis, dtype, what);
  return new QTensor(data, shape, dtype, {
    qscheme: 'per_channel_affine',
    scales: toScales(scales),
    zeroPoints: Int32Array.from(zeroPoints),
    axis,
  });
}
