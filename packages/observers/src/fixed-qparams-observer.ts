import { QuantError, type Tensor } from '@quint/tensor';
import type { QDtype } from '@quint/qtensor';
import {
  ObserverBase,
  type ObserverCommonOptions,
  type ObserverQparams,
  type ObserverQScheme,
  type ObserverStateDict,
} from './observer-base.js';

/** Constructor options of {@link FixedQParamsObserver}. */
export interface FixedQParamsObserverOptions extends ObserverCommonOptions {
  /** The fixed scale (stored as float32). */
  readonly scale: number;
  /** The fixed zero point (int32). */
  readonly zeroPoint: number;
  /** Default `'quint8'`. */
  readonly dtype?: QDtype | undefined;
  /** Default `'per_tensor_affine'`. */
  readonly qscheme?: ObserverQScheme | undefined;
  /** Default 0. */
  readonly quantMin?: number | undefined;
  /** Default 255. */
  readonly quantMax?: number | undefined;
}

/**
 * An observer with fixed qparams, for ops whose output range is known (`sigmoid`, `tanh`,
 * `hardsigmoid`, `softmax`): `forward` is the identity and `calculateQparams` returns the given scale
 * (float32) and zero point (`torch.ao.quantization.FixedQParamsObserver`). Presets:
 * {@link defaultFixedQParamsRange0to1Observer} (1/256, 0) and {@link defaultFixedQParamsRangeNeg1to1Observer} (2/256, 128).
 *
 * @throws `INVALID_QPARAMS` when the scale is not positive and finite or the zero point not an integer.
 * @example
 * const obs = new FixedQParamsObserver({ scale: 1 / 256, zeroPoint: 0 });
 * obs.calculateQparams(); // { scale: Float32Array [0.00390625], zeroPoint: Int32Array [0] }
 * @see https://pytorch.org/docs/stable/generated/torch.ao.quantization.observer.FixedQParamsObserver.html
 */
export class FixedQParamsObserver extends ObserverBase {
  readonly dtype: QDtype;
  readonly qscheme: ObserverQScheme;
  readonly quantMin: number;
  readonly quantMax: number;
  private scaleBuf: number;
  private zeroPointBuf: number;

  constructor(options: FixedQParamsObserverOptions) {
    super(options);
    const { scale, zeroPoint } = options ?? ({} as Partial<FixedQParamsObserverOptions>);
    if (!(typeof scale === 'number' && scale > 0 && Number.isFinite(scale))) {
      throw new QuantError(
        'INVALID_QPARAMS',
        `FixedQParamsObserver: scale ${String(scale)} must be a positive finite number; pass e.g. { scale: 1 / 256, zeroPoint: 0 }.`,
      );
    }
    if (!Number.isInteger(zeroPoint)) {
      throw new QuantError(
        'INVALID_QPARAMS',
        `FixedQParamsObserver: zeroPoint ${String(zeroPoint)} must be an integer; pass e.g. { scale: 1 / 256, zeroPoint: 0 }.`,
      );
    }
    this.scaleBuf = Math.fround(scale);
    this.zeroPointBuf = zeroPoint;
    this.dtype = options.dtype ?? 'quint8';
    this.qscheme = options.qscheme ?? 'per_tensor_affine';
    this.quantMin = options.quantMin ?? 0;
    this.quantMax = options.quantMax ?? 255;
  }

  /** Identity: fixed qparams need no statistics. */
  forward(x: Tensor): Tensor {
    return x;
  }

  calculateQparams(): ObserverQparams {
    return { scale: Float32Array.of(this.scaleBuf), zeroPoint: Int32Array.of(this.zeroPointBuf) };
  }

  override stateDict(): ObserverStateDict {
    return { scale: Float32Array.of(this.scaleBuf), zero_point: Int32Array.of(this.zeroPointBuf) };
  }

  protected override loadBuffers(sd: ObserverStateDict): void {
    this.scaleBuf = ObserverBase.buffer(sd, 'scale', 'FixedQParamsObserver', 1)[0]!;
    const zp = sd['zero_point'];
    if (!(zp instanceof Int32Array) || zp.length !== 1) {
      throw new QuantError(
        'INVALID_ARGUMENT',
        'FixedQParamsObserver.loadStateDict: zero_point must be an Int32Array of 1 element; pass the buffer from stateDict().',
      );
    }
    this.zeroPointBuf = zp[0]!;
  }
}
