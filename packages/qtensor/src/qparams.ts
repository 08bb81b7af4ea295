import { QuantError } from '@quint/tensor';
import type { QDtype, QScheme } from './dtypes.js';
import { roundHalfToEven } from './rounding.js';

const f32 = Math.fround;

/** `torch.finfo(torch.float32).eps` = 2^−23, the observers' default `eps`. */
export const FLOAT32_EPS = 1.1920928955078125e-7;

/** Options of {@link calculateQminQmax}. */
export interface CalculateQminQmaxOptions {
  readonly dtype: QDtype;
  /** Custom lower bound; used only when `quantMax` is given too (PyTorch's `has_customized_qrange`). */
  readonly quantMin?: number | undefined;
  /** Custom upper bound; used only when `quantMin` is given too. */
  readonly quantMax?: number | undefined;
  readonly reduceRange?: boolean | undefined;
}

function checkInt(v: number, what: string): void {
  if (!Number.isSafeInteger(v)) {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `calculateQminQmax: ${what} ${v} is not an integer; pass an integer bound.`,
    );
  }
}

/**
 * The integer range an observer quantizes to, as `torch.ao.quantization.utils.calculate_qmin_qmax`
 * together with the observer's `_validate_qmin_qmax` (spec pytorch-semantics §2.1).
 *
 * Without a custom range: quint8 0..255 (0..127 with `reduceRange`), qint8 −128..127 (−64..63),
 * qint32 −2^31..2^31−1 (`reduceRange` ignored). With a custom range `(lo, hi)`: it must contain 0 and
 * `lo < hi`; qint8 spans at most 256 codes, qint32 at most 2^31; quint8 is not checked further (as in
 * PyTorch). `reduceRange` then halves both bounds with floor division: `lo//2 .. hi//2`.
 *
 * Unlike PyTorch, which silently ignores a lone `quant_min` or `quant_max`, giving only one is an error.
 *
 * @throws `INVALID_ARGUMENT` when only one bound is given, a bound is not an integer, the range does
 *   not contain 0 or `lo >= hi`; `OUT_OF_RANGE` when the range spans more codes than the dtype allows.
 * @example
 * calculateQminQmax({ dtype: 'quint8', reduceRange: true }); // { quantMin: 0, quantMax: 127 }
 * calculateQminQmax({ dtype: 'qint8', quantMin: -127, quantMax: 127 }); // { quantMin: -127, quantMax: 127 }
 * @see https://pytorch.org/docs/stable/generated/torch.ao.quantization.observer.MinMaxObserver.html
 */
export function calculateQminQmax(options: CalculateQminQmaxOptions): { quantMin: number; quantMax: number } {
  const { dtype, quantMin, quantMax } = options;
  const reduceRange = options.reduceRange ?? false;
  if ((quantMin === undefined) !== (quantMax === undefined)) {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `calculateQminQmax: got quantMin ${String(quantMin)} and quantMax ${String(quantMax)}; pass both bounds of a custom range, or neither.`,
    );
  }
  if (quantMin !== undefined && quantMax !== undefined) {
    checkInt(quantMin, 'quantMin');
    checkInt(quantMax, 'quantMax');
    if (!(quantMin <= 0 && 0 <= quantMax)) {
      throw new QuantError(
        'INVALID_ARGUMENT',
        `calculateQminQmax: custom range [${quantMin}, ${quantMax}] does not include 0; pass quantMin <= 0 <= quantMax.`,
      );
    }
    if (!(quantMin < quantMax)) {
      throw new QuantError(
        'INVALID_ARGUMENT',
        `calculateQminQmax: custom range [${quantMin}, ${quantMax}] is empty; pass quantMin < quantMax.`,
      );
    }
    const span = quantMax - quantMin + 1;
    if (dtype === 'qint8' && span > 256) {
      throw new QuantError(
        'OUT_OF_RANGE',
        `calculateQminQmax: custom qint8 range [${quantMin}, ${quantMax}] spans ${span} codes; use at most 256.`,
      );
    }
    if (dtype === 'qint32' && span > 2 ** 31) {
      throw new QuantError(
        'OUT_OF_RANGE',
        `calculateQminQmax: custom qint32 range [${quantMin}, ${quantMax}] spans ${span} codes; use at most 2^31.`,
      );
    }
    if (reduceRange) return { quantMin: Math.floor(quantMin / 2), quantMax: Math.floor(quantMax / 2) };
    return { quantMin, quantMax };
  }
  switch (dtype) {
    case 'qint8':
      return reduceRange ? { quantMin: -64, quantMax: 63 } : { quantMin: -128, quantMax: 127 };
    case 'quint8':
      return reduceRange ? { quantMin: 0, quantMax: 127 } : { quantMin: 0, quantMax: 255 };
    case 'qint32':
      return { quantMin: -2147483648, quantMax: 2147483647 };
    default:
      throw new QuantError(
        'BAD_DTYPE',
        `calculateQminQmax: unknown dtype '${String(dtype)}'; use 'quint8', 'qint8' or 'qint32'.`,
      );
  }
}

/** Options of {@link calculateQparams}. */
export interface CalculateQparamsOptions<S extends QScheme | 'per_channel_affine_float_qparams' = QScheme> {
  readonly dtype: QDtype;
  readonly qscheme: S;
  /** The observer's range, as {@link calculateQminQmax} returns it. */
  readonly quantMin: number;
  readonly quantMax: number;
  /** Lower bound of the scale; default `FLOAT32_EPS` (2^−23). Used as float32, as the observer's buffer. */
  readonly eps?: number | undefined;
  /**
   * Whether the range was custom (PyTorch's `has_customized_qrange`). Only matters for symmetric quint8:
   * the zero point is 128 for the default range, `(quantMin + quantMax) // 2` for a custom one.
   */
  readonly hasCustomizedQrange?: boolean | undefined;
  /** Called with PyTorch's warning when the observer never saw data (instead of printing it). */
  readonly onWarning?: ((message: string) => void) | undefined;
}

/** Result of {@link calculateQparams}: one scale and zero point per channel (one for per-tensor schemes). */
export interface QparamsResult {
  /** float32, as PyTorch's scale tensor. */
  readonly scales: Float32Array;
  readonly zeroPoints: Int32Array;
  /** False when min/max were never observed and the defaults (scale 1, zero point 0) were returned. */
  readonly observed: boolean;
}

/** Result of {@link calculateQparams} for `per_channel_affine_float_qparams`: float zero points. */
export interface FloatQparamsResult {
  readonly scales: Float32Array;
  readonly zeroPoints: Float32Array;
  readonly observed: boolean;
}

const NOT_OBSERVED = 'must run observer before calling calculate_qparams. Returning default values.';

/** `static_cast<int32_t>(float)` as x86 `cvttss2si` does it: out of range and NaN give INT32_MIN. */
function castToInt32(v: number): number {
  if (!(v > -2147483649 && v < 2147483648)) return -2147483648;
  return Math.trunc(v);
}

/**
 * Scales and zero points from observed minima and maxima, exactly as the observers'
 * `_calculate_qparams` in PyTorch 1.13 computes them in float32 (spec pytorch-semantics §2.2).
 *
 * - The range is widened to include 0: `mn = min(min, 0)`, `mx = max(max, 0)`.
 * - Symmetric: `scale = max(f32(max(−mn, mx) / f32((qmax − qmin)/2)), eps)` (divisor 127.5 for 8 bits);
 *   zero point 0, or 128 for quint8 (`(qmin + qmax) // 2` with a custom range).
 * - Affine: `scale = max(f32(f32(mx − mn) / f32(qmax − qmin)), eps)`,
 *   `zp = clamp(qmin − rne(f32(mn / scale)), qmin, qmax)`.
 * - `per_channel_affine_float_qparams`: `scale = f32((max − min)/(qmax − qmin))`, 1 where `≤ eps`;
 *   `zp = f32(−min / scale)`, not rounded.
 * - Never observed (empty input, or per-tensor min +∞ and max −∞): scale `[1]`, zero point `[0]`,
 *   `observed: false`, and `onWarning` gets PyTorch's warning.
 *
 * Inputs are read as float32 (observer buffers are float32). Per-tensor schemes take one value.
 *
 * @throws `INVALID_ARGUMENT` when min > max (or NaN) for some channel, the lengths differ, or a
 *   per-tensor scheme gets more than one value.
 * @example
 * calculateQparams([-1], [3], { dtype: 'quint8', qscheme: 'per_tensor_affine', quantMin: 0, quantMax: 255 });
 * // { scales: Float32Array [0.01568627543747425], zeroPoints: Int32Array [64], observed: true }
 * @see https://pytorch.org/docs/stable/generated/torch.ao.quantization.observer.MinMaxObserver.html
 */
export function calculateQparams(
  minVal: Float32Array | readonly number[],
  maxVal: Float32Array | readonly number[],
  options: CalculateQparamsOptions<'per_channel_affine_float_qparams'>,
): FloatQparamsResult;
export function calculateQparams(
  minVal: Float32Array | readonly number[],
  maxVal: Float32Array | readonly number[],
  options: CalculateQparamsOptions<QScheme>,
): QparamsResult;
export function calculateQparams(
  minVal: Float32Array | readonly number[],
  maxVal: Float32Array | readonly number[],
  options: CalculateQparamsOptions<QScheme | 'per_channel_affine_float_qparams'>,
): QparamsResult | FloatQparamsResult {
  const { dtype, qscheme, quantMin: qmin, quantMax: qmax } = options;
  const eps = f32(options.eps ?? FLOAT32_EPS);
  const floatQparams = qscheme === 'per_channel_affine_float_qparams';
  const perTensor = qscheme === 'per_tensor_affine' || qscheme === 'per_tensor_symmetric';
  const notObserved = (): QparamsResult | FloatQparamsResult => {
    options.onWarning?.(NOT_OBSERVED);
    return {
      scales: Float32Array.of(1),
      zeroPoints: floatQparams ? Float32Array.of(0) : Int32Array.of(0),
      observed: false,
    } as QparamsResult | FloatQparamsResult;
  };
  if (minVal.length !== maxVal.length) {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `calculateQparams: ${minVal.length} minima but ${maxVal.length} maxima; pass one of each per channel.`,
    );
  }
  if (minVal.length === 0) return notObserved();
  if (perTensor && minVal.length !== 1) {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `calculateQparams: ${qscheme} takes one min and one max, got ${minVal.length}; use a per-channel qscheme.`,
    );
  }
  const n = minVal.length;
  const mins = Float32Array.from(minVal);
  const maxs = Float32Array.from(maxVal);
  // PyTorch's per-tensor observers hold 0-d buffers, for which (+inf, -inf) means "never observed";
  // per-channel (1-d) buffers are empty until observed, and (+inf, -inf) there fails the assertion.
  if (perTensor && mins[0] === Infinity && maxs[0] === -Infinity) return notObserved();
  for (let c = 0; c < n; c++) {
    if (!(mins[c]! <= maxs[c]!)) {
      throw new QuantError(
        'INVALID_ARGUMENT',
        `calculateQparams: min ${mins[c]} is not <= max ${maxs[c]}${n > 1 ? ` in channel ${c}` : ''}; observe data before computing qparams.`,
      );
    }
  }
  const scales = new Float32Array(n);
  if (floatQparams) {
    const zeroPoints = new Float32Array(n);
    const range = f32(qmax - qmin);
    for (let c = 0; c < n; c++) {
      let s = f32(f32(maxs[c]! - mins[c]!) / range);
      if (!(s > eps)) s = 1;
      scales[c] = s;
      zeroPoints[c] = f32(f32(-mins[c]!) / s);
    }
    return { scales, zeroPoints, observed: true };
  }
  const zeroPoints = new Int32Array(n);
  const symmetric = qscheme === 'per_tensor_symmetric' || qscheme === 'per_channel_symmetric';
  for (let c = 0; c < n; c++) {
    const mn = Math.min(mins[c]!, 0);
    const mx = Math.max(maxs[c]!, 0);
    if (symmetric) {
      // The divisor is a Python double, (qmax - qmin) / 2 = 127.5, cast to float32 by the tensor op.
      const amax = Math.max(-mn, mx);
      scales[c] = Math.max(f32(amax / f32((qmax - qmin) / 2)), eps);
      if (dtype === 'quint8') zeroPoints[c] = options.hasCustomizedQrange ? Math.floor((qmin + qmax) / 2) : 128;
    } else {
      const s = Math.max(f32(f32(mx - mn) / f32(qmax - qmin)), eps);
      scales[c] = s;
      // torch.round(...).to(torch.int), then `quant_min - zp` in int32 (wrapping), then clamp.
      const r = castToInt32(roundHalfToEven(f32(mn / s)));
      const zp = (qmin - r) | 0;
      zeroPoints[c] = Math.min(Math.max(zp, qmin), qmax);
    }
  }
  return { scales, zeroPoints, observed: true };
}
