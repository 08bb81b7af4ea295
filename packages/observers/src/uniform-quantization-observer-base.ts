import { QuantError } from '@quint/tensor';
import { calculateQminQmax, calculateQparams, FLOAT32_EPS, type QDtype, type QScheme } from '@quint/qtensor';
import {
  ObserverBase,
  type ObserverCommonOptions,
  type ObserverFloatQparams,
  type ObserverQparams,
  type ObserverQScheme,
  type ObserverStateDict,
} from './observer-base.js';

/** PyTorch's constructor arguments shared by the uniform-quantization observers. */
export interface UniformQuantizationObserverOptions extends ObserverCommonOptions {
  /** Default `'quint8'`. */
  readonly dtype?: QDtype | undefined;
  /** Default depends on the class (`per_tensor_affine` or `per_channel_affine`). */
  readonly qscheme?: ObserverQScheme | undefined;
  /** Halve the range (quint8 0..127, qint8 −64..63); x86 needs it to avoid `vpmaddubsw` overflow. Default false. */
  readonly reduceRange?: boolean | undefined;
  /** Custom lower bound of the integer range (give both bounds, or neither). */
  readonly quantMin?: number | undefined;
  /** Custom upper bound of the integer range. */
  readonly quantMax?: number | undefined;
  /** Lower bound of the scale, stored as float32. Default 2^−23 (`torch.finfo(torch.float32).eps`). */
  readonly eps?: number | undefined;
}

const QSCHEMES: readonly ObserverQScheme[] = [
  'per_tensor_affine',
  'per_tensor_symmetric',
  'per_channel_affine',
  'per_channel_symmetric',
  'per_channel_affine_float_qparams',
];

/** True for `per_tensor_affine` and `per_tensor_symmetric`. */
export function isPerTensorQScheme(qscheme: ObserverQScheme): qscheme is 'per_tensor_affine' | 'per_tensor_symmetric' {
  return qscheme === 'per_tensor_affine' || qscheme === 'per_tensor_symmetric';
}

/**
 * The common base of observers that compute an affine or symmetric scale and zero point from a
 * range (`torch.ao.quantization.observer.UniformQuantizationObserverBase`): checks the dtype and
 * qscheme, resolves `quantMin`/`quantMax` (spec §2.1) and holds the `eps` buffer.
 *
 * @see https://pytorch.org/docs/stable/quantization-support.html#torch-ao-quantization-observer
 */
export abstract class UniformQuantizationObserverBase extends ObserverBase {
  readonly dtype: QDtype;
  readonly qscheme: ObserverQScheme;
  readonly reduceRange: boolean;
  /** The resolved integer range (after `reduceRange`). */
  readonly quantMin: number;
  readonly quantMax: number;
  /** PyTorch's `has_customized_qrange`: both bounds were given. */
  readonly hasCustomizedQrange: boolean;
  /** The `eps` buffer, float32. */
  protected epsBuf: number;

  constructor(options: UniformQuantizationObserverOptions, defaults: { qscheme: ObserverQScheme; owner: string }) {
    super(options);
    this.dtype = options.dtype ?? 'quint8';
    this.qscheme = options.qscheme ?? defaults.qscheme;
    this.reduceRange = options.reduceRange ?? false;
    if (!QSCHEMES.includes(this.qscheme)) {
      throw new QuantError(
        'INVALID_ARGUMENT',
        `${defaults.owner}: unknown qscheme '${String(this.qscheme)}'; use one of ${QSCHEMES.join(', ')}.`,
      );
    }
    if (this.dtype !== 'quint8' && this.dtype !== 'qint8' && this.dtype !== 'qint32') {
      throw new QuantError(
        'BAD_DTYPE',
        `${defaults.owner}: dtype '${String(this.dtype)}' is not supported; use 'quint8', 'qint8' or 'qint32'.`,
      );
    }
    this.hasCustomizedQrange = options.quantMin !== undefined && options.quantMax !== undefined;
    const r = calculateQminQmax({
      dtype: this.dtype,
      quantMin: options.quantMin,
      quantMax: options.quantMax,
      reduceRange: this.reduceRange,
    });
    this.quantMin = r.quantMin;
    this.quantMax = r.quantMax;
    this.epsBuf = Math.fround(options.eps ?? FLOAT32_EPS);
    if (
      (this.qscheme === 'per_tensor_symmetric' || this.qscheme === 'per_channel_symmetric') &&
      this.reduceRange &&
      this.dtype === 'quint8'
    ) {
      throw new QuantError(
        'INVALID_ARGUMENT',
        `${defaults.owner}: reduceRange is not supported for symmetric quint8 (as in PyTorch); use qint8 or reduceRange: false.`,
      );
    }
  }

  /** The `eps` buffer value (float32). */
  get eps(): number {
    return this.epsBuf;
  }

  /** PyTorch's `_calculate_qparams(min_val, max_val)` (spec §2.2), through `@quint/qtensor`. */
  protected qparamsFromMinMax(minVal: Float32Array, maxVal: Float32Array): ObserverQparams {
    if (this.qscheme === 'per_channel_affine_float_qparams') {
      throw new QuantError(
        'INVALID_ARGUMENT',
        `${this.constructor.name}.calculateQparams: qscheme per_channel_affine_float_qparams has float zero points; call calculateFloatQparams() instead.`,
      );
    }
    const r = calculateQparams(minVal, maxVal, {
      dtype: this.dtype,
      qscheme: this.qscheme as QScheme,
      quantMin: this.quantMin,
      quantMax: this.quantMax,
      eps: this.epsBuf,
      hasCustomizedQrange: this.hasCustomizedQrange,
      onWarning: (m) => this.warnFn(`${this.constructor.name}: ${m}`),
    });
    return { scale: r.scales, zeroPoint: r.zeroPoints };
  }

  /** Float-zero-point variant of {@link UniformQuantizationObserverBase.qparamsFromMinMax}. */
  protected floatQparamsFromMinMax(minVal: Float32Array, maxVal: Float32Array): ObserverFloatQparams {
    const r = calculateQparams(minVal, maxVal, {
      dtype: this.dtype,
      qscheme: 'per_channel_affine_float_qparams',
      quantMin: this.quantMin,
      quantMax: this.quantMax,
      eps: this.epsBuf,
      hasCustomizedQrange: this.hasCustomizedQrange,
      onWarning: (m) => this.warnFn(`${this.constructor.name}: ${m}`),
    });
    return { scale: r.scales, zeroPoint: r.zeroPoints };
  }

  override stateDict(): ObserverStateDict {
    return { eps: Float32Array.of(this.epsBuf) };
  }

  protected override loadBuffers(stateDict: ObserverStateDict): void {
    this.epsBuf = ObserverBase.buffer(stateDict, 'eps', this.constructor.name, 1)[0]!;
  }
}
