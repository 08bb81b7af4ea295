import { QuantError, type Tensor } from '@quint/tensor';
import type { QDtype, QScheme } from '@quint/qtensor';

/** Dtypes an observer can target: the quantized ones, and the float ones of placeholder observers. */
export type ObserverDtype = QDtype | 'float16' | 'float32';

/** Quantization schemes an observer can use (`per_channel_affine_float_qparams` is for embeddings). */
export type ObserverQScheme = QScheme | 'per_channel_affine_float_qparams';

/** Scale and zero point from an observer: one element per channel, one for per-tensor schemes. */
export interface ObserverQparams {
  /** float32, as PyTorch's scale tensor. */
  readonly scale: Float32Array;
  readonly zeroPoint: Int32Array;
}

/** Scale and float zero point of a `per_channel_affine_float_qparams` observer. */
export interface ObserverFloatQparams {
  readonly scale: Float32Array;
  readonly zeroPoint: Float32Array;
}

/**
 * An observer's buffers under PyTorch's names (`eps`, `min_val`, `max_val`, `histogram`, …). A
 * 0-d PyTorch buffer is a one-element array; a per-channel buffer not yet observed is empty.
 */
export type ObserverStateDict = Record<string, Float32Array | Int32Array>;

/** Options every observer takes besides PyTorch's: what to do with NaN/±Inf and where warnings go. */
export interface ObserverCommonOptions {
  /**
   * Skip NaN and ±Inf in observed data (with one warning) instead of throwing `NON_FINITE`.
   * PyTorch lets them poison min/max. Default false.
   */
  readonly ignoreNonFinite?: boolean | undefined;
  /** Receives warnings (PyTorch's `warnings.warn`). Default `console.warn`. */
  readonly warn?: ((message: string) => void) | undefined;
}

/** An observer class: constructible from one options object, with `withArgs`. */
export type ObserverClass<O extends ObserverBase = ObserverBase, A = never> = (new (options: A) => O) & {
  readonly name: string;
};

/** The options object an observer class takes. */
export type ObserverArgs<C> = C extends new (options: infer A) => ObserverBase ? NonNullable<A> : never;

/**
 * A factory of observers, as PyTorch's `MyObserver.with_args(...)`: holds a class and its arguments,
 * and makes a fresh observer on each {@link ObserverFactory.create}. QConfigs hold factories, never
 * observer instances, because every quantized layer needs its own observer.
 *
 * @example
 * const f = MinMaxObserver.withArgs({ dtype: 'qint8', qscheme: 'per_tensor_symmetric' });
 * const a = f.create(); const b = f.create(); // two observers
 * @see https://pytorch.org/docs/stable/generated/torch.ao.quantization.qconfig.QConfig.html
 */
// `any` as the default erases the options type, so a factory of any observer class fits (options are contravariant).
export class ObserverFactory<O extends ObserverBase = ObserverBase, A = any> {
  /** The observer class this factory instantiates. */
  readonly observerClass: ObserverClass<O, A>;
  /** The arguments passed to its constructor (frozen). */
  readonly args: Readonly<Partial<A>>;

  constructor(observerClass: ObserverClass<O, A>, args: Partial<A> = {}) {
    this.observerClass = observerClass;
    this.args = Object.freeze({ ...args });
  }

  /** A new observer made with the stored arguments. */
  create(): O {
    return new this.observerClass(this.args as A);
  }

  /** A new factory with more (or overriding) arguments, as chained `with_args`. */
  withArgs(more: Partial<A>): ObserverFactory<O, A> {
    return new ObserverFactory(this.observerClass, { ...this.args, ...more });
  }

  /** `MinMaxObserver.withArgs({"dtype":"qint8"})`. */
  toString(): string {
    const shown = Object.entries(this.args).filter(([, v]) => typeof v !== 'function');
    return `${this.observerClass.name}.withArgs(${JSON.stringify(Object.fromEntries(shown))})`;
  }
}

/** True for an {@link ObserverFactory} from any copy of this package. */
export function isObserverFactory(value: unknown): value is ObserverFactory {
  return (
    value instanceof ObserverFactory ||
    (typeof value === 'object' &&
      value !== null &&
      typeof (value as { create?: unknown }).create === 'function' &&
      typeof (value as { observerClass?: unknown }).observerClass === 'function')
  );
}

/** Python's `repr(float)`: shortest round-trip digits, `.0` on integers, `inf`, `nan`, `e-08`. */
export function pyFloatRepr(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  if (Object.is(v, -0)) return '-0.0';
  const abs = Math.abs(v);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e16)) {
    const [m, e] = v.toExponential().split('e') as [string, string];
    const exp = Number(e);
    return `${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  const s = String(v);
  return Number.isInteger(v) ? `${s}.0` : s;
}

/** PyTorch's short tensor print for per-channel buffers: `tensor([-3.0548, 2.2135])`. */
export function pyTensorRepr(values: Float32Array): string {
  return `tensor([${Array.from(values, (v) => (Number.isFinite(v) ? v.toFixed(4) : pyFloatRepr(v))).join(', ')}])`;
}

let consoleWarn: ((message: string) => void) | undefined;
function defaultWarn(message: string): void {
  consoleWarn ??= (m: string) => console.warn(m);
  consoleWarn(message);
}

/**
 * The base of every observer (`torch.ao.quantization.ObserverBase`): `forward` records statistics
 * of a tensor and returns it unchanged; `calculateQparams` turns them into a scale and zero point.
 *
 * @see https://pytorch.org/docs/stable/quantization-support.html#torch-ao-quantization-observer
 */
export abstract class ObserverBase {
  /** The dtype the observed tensor will be quantized to. */
  abstract readonly dtype: ObserverDtype;
  /** Skip NaN/±Inf instead of throwing (see {@link ObserverCommonOptions}). */
  readonly ignoreNonFinite: boolean;
  protected readonly warnFn: (message: string) => void;
  private warnedNonFinite = false;

  constructor(options: ObserverCommonOptions = {}) {
    this.ignoreNonFinite = options.ignoreNonFinite ?? false;
    this.warnFn = options.warn ?? defaultWarn;
  }

  /**
   * A factory that makes this observer class with these arguments, as PyTorch's `with_args`.
   *
   * @example
   * const f = MinMaxObserver.withArgs({ quantMin: 0, quantMax: 127 });
   * const obs = f.create();
   * @see https://pytorch.org/docs/stable/generated/torch.ao.quantization.observer.MinMaxObserver.html
   */
  static withArgs<C extends new (options: never) => ObserverBase>(
    this: C,
    args: Partial<ObserverArgs<C>> = {},
  ): ObserverFactory<InstanceType<C>, ObserverArgs<C>> {
    return new ObserverFactory(this as unknown as ObserverClass<InstanceType<C>, ObserverArgs<C>>, args);
  }

  /** Records `x`'s statistics and returns `x` unchanged. */
  abstract forward(x: Tensor): Tensor;

  /** The scale and zero point for the data seen so far. */
  abstract calculateQparams(): ObserverQparams;

  /** The observer's buffers under PyTorch's names (copies). */
  stateDict(): ObserverStateDict {
    return {};
  }

  /**
   * Loads buffers saved by {@link ObserverBase.stateDict} or taken from PyTorch's `state_dict()`.
   *
   * @throws `INVALID_ARGUMENT` when a buffer is missing or has the wrong length, with `strict`
   *   (default true) also when there are unknown keys.
   */
  loadStateDict(stateDict: ObserverStateDict, strict = true): void {
    const own = this.stateDict();
    for (const key of Object.keys(stateDict)) {
      if (!(key in own) && strict) {
        throw new QuantError(
          'INVALID_ARGUMENT',
          `${this.constructor.name}.loadStateDict: unexpected key '${key}'; expected ${Object.keys(own).join(', ') || 'no keys'}.`,
        );
      }
    }
    for (const key of Object.keys(own)) {
      if (!(key in stateDict)) {
        throw new QuantError(
          'INVALID_ARGUMENT',
          `${this.constructor.name}.loadStateDict: missing key '${key}'; pass every buffer of stateDict().`,
        );
      }
    }
    this.loadBuffers(stateDict);
  }

  /** Copies checked buffers in; subclasses with buffers override it. */
  protected loadBuffers(_stateDict: ObserverStateDict): void {}

  /** `MinMaxObserver(min_val=-1.0, max_val=3.0)`, as PyTorch's repr. */
  toString(): string {
    return `${this.constructor.name}(${this.extraRepr()})`;
  }

  /** The part of `toString` inside the parentheses (PyTorch's `extra_repr`). */
  protected extraRepr(): string {
    return '';
  }

  /**
   * The elements of `x` in C order as float32, with NaN/±Inf handled by the `ignoreNonFinite`
   * policy: thrown (`NON_FINITE`, with the count) or dropped with one warning per observer.
   */
  protected finiteData(x: Tensor): Float32Array {
    const data = x.toFloat32Array();
    let bad = 0;
    for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) bad++;
    if (bad === 0) return data;
    this.onNonFinite(bad, data.length);
    return data.filter((v) => Number.isFinite(v));
  }

  /** Applies the `ignoreNonFinite` policy to `bad` NaN/±Inf values among `total`: throw, or warn once. */
  protected onNonFinite(bad: number, total: number): void {
    if (!this.ignoreNonFinite) {
      throw new QuantError(
        'NON_FINITE',
        `${this.constructor.name}.forward: ${bad} of ${total} values are NaN or ±Inf; clean the data or create the observer with { ignoreNonFinite: true }.`,
      );
    }
    if (!this.warnedNonFinite) {
      this.warnedNonFinite = true;
      this.warnFn(
        `${this.constructor.name}: skipping ${bad} NaN/±Inf values of ${total} (ignoreNonFinite); later ones are skipped silently.`,
      );
    }
  }

  /** Checks that a loaded buffer has the expected length. */
  protected static buffer(stateDict: ObserverStateDict, key: string, owner: string, length?: number): Float32Array {
    const v = stateDict[key];
    if (!(v instanceof Float32Array)) {
      throw new QuantError(
        'INVALID_ARGUMENT',
        `${owner}.loadStateDict: '${key}' must be a Float32Array, got ${Object.prototype.toString.call(v)}; pass float32 buffers.`,
      );
    }
    if (length !== undefined && v.length !== length) {
      throw new QuantError(
        'INVALID_ARGUMENT',
        `${owner}.loadStateDict: '${key}' has ${v.length} elements, expected ${length}; pass the buffer of a matching observer.`,
      );
    }
    return v;
  }
}
