import { QuantError, shapeNumel, Tensor } from '@quint/tensor';
import { dequantizeCodes } from './dequantize.js';
import { formatFloats, formatInts, formatNested } from './format.js';
import { DTYPE_RANGE, isPerChannel, storageClass, type IntArray, type QDtype, type QScheme } from './dtypes.js';

/** Per-tensor quantization parameters. */
export interface PerTensorQparams {
  readonly qscheme: 'per_tensor_affine' | 'per_tensor_symmetric';
  /** The scale as given (a double, as `q_scale()` returns it); arithmetic uses `Math.fround(scale)`. */
  readonly scale: number;
  readonly zeroPoint: number;
}

/** Per-channel quantization parameters along `axis`. */
export interface PerChannelQparams {
  readonly qscheme: 'per_channel_affine' | 'per_channel_symmetric';
  /** Doubles, as `q_per_channel_scales()` (float64 in PyTorch). */
  readonly scales: Float64Array;
  readonly zeroPoints: Int32Array;
  readonly axis: number;
}

/** Either kind of quantization parameters. */
export type Qparams = PerTensorQparams | PerChannelQparams;

/** @internal */
export function checkZeroPoint(zp: number, dtype: QDtype, what: string): void {
  const [lo, hi] = DTYPE_RANGE[dtype];
  if (!Number.isInteger(zp)) {
    throw new QuantError(
      'INVALID_QPARAMS',
      `${what}: zero point ${zp} is not an integer; pass an integer in [${lo}, ${hi}].`,
    );
  }
  if (zp < lo || zp > hi) {
    throw new QuantError(
      'INVALID_QPARAMS',
      `${what}: zero point ${zp} is ${zp < lo ? 'below lower' : 'above upper'} bound ${zp < lo ? lo : hi} of ${dtype}; pass a zero point in [${lo}, ${hi}].`,
    );
  }
}

/** @internal */
export function checkScale(scale: number, what: string): void {
  if (!(scale > 0) || !Number.isFinite(scale) || !(Math.fround(scale) > 0) || !Number.isFinite(Math.fround(scale))) {
    throw new QuantError(
      'INVALID_QPARAMS',
      `${what}: scale ${scale} must be a positive finite float32; pass a scale > 0.`,
    );
  }
}

/**
 * A quantized tensor. Its codes live in a `Uint8Array` (quint8), `Int8Array` (qint8) or `Int32Array`
 * (qint32), in C order; the real value of code `q` is `scale · (q − zeroPoint)`. Never floats.
 *
 * @example
 * const q = quantizePerTensor(tensor([-1, 0, 1]), 0.1, 10, 'quint8');
 * q.intRepr(); // Uint8Array [0, 10, 20]
 * q.qScale();  // 0.1
 * @see https://pytorch.org/docs/stable/quantization-support.html
 */
export class QTensor {
  readonly dtype: QDtype;
  readonly shape: readonly number[];
  /** The integer codes, C order. Shared, not copied: use {@link QTensor.intRepr} for a copy. */
  readonly data: IntArray;
  readonly qparams: Qparams;

  constructor(data: IntArray, shape: readonly number[], dtype: QDtype, qparams: Qparams) {
    const n = shapeNumel(shape);
    if (data.length !== n) {
      throw new QuantError(
        'SHAPE_MISMATCH',
        `QTensor: ${data.length} codes do not fill shape [${shape.join(', ')}] (${n} elements).`,
      );
    }
    const expected = storageClass(dtype);
    if (data.constructor !== expected) {
      throw new QuantError(
        'DTYPE_MISMATCH',
        `QTensor: ${dtype} codes must be a ${expected.name}, got ${data.constructor.name}.`,
      );
    }
    if (isPerChannel(qparams.qscheme)) {
      const p = qparams as PerChannelQparams;
      if (!Number.isInteger(p.axis) || p.axis < 0 || p.axis >= shape.length) {
        throw new QuantError(
          'AXIS_OUT_OF_RANGE',
          `QTensor: axis ${p.axis} is out of range for shape [${shape.join(', ')}]; use 0..${shape.length - 1}.`,
        );
      }
      const c = shape[p.axis]!;
      if (p.scales.length !== c || p.zeroPoints.length !== c) {
        throw new QuantError(
          'SHAPE_MISMATCH',
          `QTensor: ${p.scales.length} scales and ${p.zeroPoints.length} zero points for ${c} channels on axis ${p.axis}; pass one per channel.`,
        );
      }
      p.scales.forEach((s) => checkScale(s, 'QTensor'));
      p.zeroPoints.forEach((z) => checkZeroPoint(z, dtype, 'QTensor'));
    } else {
      const p = qparams as PerTensorQparams;
      checkScale(p.scale, 'QTensor');
      checkZeroPoint(p.zeroPoint, dtype, 'QTensor');
    }
    this.data = data;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.qparams = qparams;
  }

  /** Number of elements. */
  get numel(): number {
    return this.data.length;
  }

  /** Number of dimensions. */
  get ndim(): number {
    return this.shape.length;
  }

  /** Bytes the codes take (1 per quint8/qint8 element, 4 per qint32), as `nbytes` in PyTorch. */
  get nbytes(): number {
    return this.data.byteLength;
  }

  /** The quantization scheme. */
  qscheme(): QScheme {
    return this.qparams.qscheme;
  }

  /** A copy of the integer codes (PyTorch's `int_repr()`). */
  intRepr(): IntArray {
    return this.data.slice();
  }

  /** The per-tensor scale (the double given). @throws `INVALID_QPARAMS` for per-channel tensors. */
  qScale(): number {
    return this.perTensor('qScale').scale;
  }

  /** The per-tensor zero point. @throws `INVALID_QPARAMS` for per-channel tensors. */
  qZeroPoint(): number {
    return this.perTensor('qZeroPoint').zeroPoint;
  }

  /** Per-channel scales (float64, as PyTorch). @throws `INVALID_QPARAMS` for per-tensor tensors. */
  qPerChannelScales(): Float64Array {
    return this.perChannel('qPerChannelScales').scales.slice();
  }

  /** Per-channel zero points. @throws `INVALID_QPARAMS` for per-tensor tensors. */
  qPerChannelZeroPoints(): Int32Array {
    return this.perChannel('qPerChannelZeroPoints').zeroPoints.slice();
  }

  /** The channel axis. @throws `INVALID_QPARAMS` for per-tensor tensors. */
  qPerChannelAxis(): number {
    return this.perChannel('qPerChannelAxis').axis;
  }

  /** True when quantized per channel. */
  isPerChannel(): boolean {
    return isPerChannel(this.qparams.qscheme);
  }

  /**
   * The real values `scale · (q − zeroPoint)` as a float32 tensor, bit-exact with PyTorch 1.13's
   * `dequantize()` (spec pytorch-semantics §1.4): per-tensor `f32(f32(scale)·f32(q − zp))`,
   * per-channel `f32((f32(q) − f32(zp_c))·scale_c)` with the product in double.
   *
   * @example
   * quantizePerTensor(tensor([0.25]), 0.1, 10, 'quint8').dequantize().toArray(); // [0.20000000298023224]
   * @see https://pytorch.org/docs/stable/generated/torch.Tensor.dequantize.html
   */
  dequantize(): Tensor {
    return new Tensor(dequantizeCodes(this.data, this.shape, this.qparams), this.shape);
  }

  /**
   * PyTorch's printout (dequantized values, size, dtype, qscheme, scale(s), zero point(s)) plus an
   * `int_repr=` line with the integer codes actually stored.
   *
   * @example
   * String(quantizePerTensor(tensor([-1, 0, 0.25]), 0.1, 10, 'quint8'));
   * // tensor([-1.0000,  0.0000,  0.2000], size=(3,), dtype=torch.quint8,
   * //        quantization_scheme=torch.per_tensor_affine, scale=0.1, zero_point=10,
   * //        int_repr=tensor([ 0, 10, 12], dtype=torch.uint8))
   */
  toString(): string {
    const pad = ' '.repeat(7);
    const values = formatNested(formatFloats(this.dequantize().data), this.shape, 7);
    const size = `size=(${this.shape.join(', ')}${this.shape.length === 1 ? ',' : ''})`;
    const storage = this.dtype === 'quint8' ? 'uint8' : this.dtype === 'qint8' ? 'int8' : 'int32';
    const codes = formatNested(formatInts(this.data), this.shape, pad.length + 16);
    let params: string;
    if (isPerChannel(this.qparams.qscheme)) {
      const p = this.qparams as PerChannelQparams;
      params =
        `quantization_scheme=torch.${p.qscheme},\n` +
        `${pad}scale=tensor(${formatNested(formatFloats(p.scales), [p.scales.length], pad.length + 13)}, dtype=torch.float64),\n` +
        `${pad}zero_point=tensor(${formatNested(formatInts(p.zeroPoints), [p.zeroPoints.length], pad.length + 18)}), axis=${p.axis},`;
    } else {
      const p = this.qparams as PerTensorQparams;
      params = `quantization_scheme=torch.${p.qscheme}, scale=${p.scale}, zero_point=${p.zeroPoint},`;
    }
    return `tensor(${values}, ${size}, dtype=torch.${this.dtype},\n${pad}${params}\n${pad}int_repr=tensor(${codes}, dtype=torch.${storage}))`;
  }

  private perTensor(what: string): PerTensorQparams {
    if (isPerChannel(this.qparams.qscheme)) {
      throw new QuantError(
        'INVALID_QPARAMS',
        `${what}() needs a per-tensor quantized tensor, this one is ${this.qparams.qscheme}; use qPerChannelScales()/qPerChannelZeroPoints().`,
      );
    }
    return this.qparams as PerTensorQparams;
  }

  private perChannel(what: string): PerChannelQparams {
    if (!isPerChannel(this.qparams.qscheme)) {
      throw new QuantError(
        'INVALID_QPARAMS',
        `${what}() needs a per-channel quantized tensor, this one is ${this.qparams.qscheme}; use qScale()/qZeroPoint().`,
      );
    }
    return this.qparams as PerChannelQparams;
  }
}
