import { QuantError } from '@quint/tensor';
import {
  defaultDynamicQuantObserver,
  defaultFloatQparamsObserver,
  defaultObserver,
  defaultPerChannelWeightObserver,
  defaultPlaceholderObserver,
  defaultDebugObserver,
  defaultReuseInputObserver,
  defaultWeightObserver,
  perChannelWeightObserverRangeNeg127To127,
  weightObserverRangeNeg127To127,
} from './default-observers.js';
import { HistogramObserver, type HistogramTorchCompat } from './histogram-observer.js';
import { NoopObserver } from './noop-observer.js';
import { ObserverBase, ObserverFactory, isObserverFactory } from './observer-base.js';
import { PlaceholderObserver } from './placeholder-observer.js';
import { ReuseInputObserver } from './reuse-input-observer.js';

/** What a QConfig accepts for `activation`/`weight`: a factory (`X.withArgs({...})`) or an observer class. */
export type ObserverConstructor = ObserverFactory | (abstract new (options: never) => ObserverBase);

/** The two observer constructors of a {@link QConfig}. */
export interface QConfigInit {
  readonly activation: ObserverConstructor;
  readonly weight: ObserverConstructor;
}

/** A QConfig, or `null` for "leave this part in float" (PyTorch's `qconfig=None`). */
export type QConfigAny = QConfig | null;

function isObserverClass(v: unknown): v is new (options: never) => ObserverBase {
  return (
    typeof v === 'function' &&
    (v.prototype instanceof ObserverBase || typeof (v as { withArgs?: unknown }).withArgs === 'function')
  );
}

function toFactory(v: unknown, role: string): ObserverFactory {
  if (isObserverFactory(v)) return v;
  if (isObserverClass(v)) return new ObserverFactory(v as never, {});
  if (
    v instanceof ObserverBase ||
    (typeof v === 'object' && v !== null && typeof (v as { forward?: unknown }).forward === 'function')
  ) {
    const name = (v as object).constructor.name;
    throw new QuantError(
      'INVALID_ARGUMENT',
      `QConfig received observer instance (${role}: ${name}), please pass observer class instead. Use ${name}.withArgs({ x: 1 }) to override arguments to constructor if needed.`,
    );
  }
  throw new QuantError(
    'INVALID_ARGUMENT',
    `QConfig: ${role} is ${String(v)}; pass an observer class or a factory such as MinMaxObserver.withArgs({...}).`,
  );
}

/**
 * How to observe a layer's activation and weight (`torch.ao.quantization.QConfig`): two observer
 * factories, each called once per layer at prepare time. Observer instances are rejected, as in
 * PyTorch, because every layer needs its own; a bare class is taken as `Class.withArgs({})`.
 *
 * @throws `INVALID_ARGUMENT` when given an observer instance or anything that is not an observer
 *   class or factory.
 * @example
 * const q = new QConfig({
 *   activation: MinMaxObserver.withArgs({ reduceRange: false }),
 *   weight: defaultPerChannelWeightObserver,
 * });
 * const act = q.activation.create();
 * @see https://pytorch.org/docs/stable/generated/torch.ao.quantization.qconfig.QConfig.html
 */
export class QConfig {
  readonly activation: ObserverFactory;
  readonly weight: ObserverFactory;

  constructor(init: QConfigInit) {
    this.activation = toFactory(init?.activation, 'activation');
    this.weight = toFactory(init?.weight, 'weight');
    Object.freeze(this);
  }

  /** `QConfig(activation=…, weight=…)`. */
  toString(): string {
    return `QConfig(activation=${this.activation.toString()}, weight=${this.weight.toString()})`;
  }
}

function valueEquals(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === 'number' && typeof b === 'number') return Number.isNaN(a) && Number.isNaN(b);
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return (
    ka.length === kb.length &&
    ka.every((k) => valueEquals((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
  );
}

/**
 * True when two observer factories make the same observer: same class, equal arguments
 * (PyTorch's `obs_or_fq_ctr_equals`). Undefined-valued arguments count as absent.
 *
 * @example
 * observerFactoryEquals(MinMaxObserver.withArgs({ eps: 1 }), MinMaxObserver.withArgs({ eps: 1 })); // true
 * @see https://pytorch.org/docs/stable/generated/torch.ao.quantization.qconfig.QConfig.html
 */
export function observerFactoryEquals(a: ObserverFactory, b: ObserverFactory): boolean {
  const clean = (args: object) => Object.fromEntries(Object.entries(args).filter(([, v]) => v !== undefined));
  return a.observerClass === b.observerClass && valueEquals(clean(a.args), clean(b.args));
}

/**
 * True when two qconfigs are equal: both `null`, or equal activation and weight factories
 * (PyTorch's `qconfig_equals`). Converters use it to check fused modules share a qconfig.
 *
 * @example
 * qconfigEquals(getDefaultQConfig('qnnpack'), getDefaultQConfig('qnnpack')); // true
 * @see https://pytorch.org/docs/stable/generated/torch.ao.quantization.qconfig.QConfig.html
 */
export function qconfigEquals(q1: QConfigAny, q2: QConfigAny): boolean {
  if (q1 === null || q2 === null) return q1 === q2;
  return observerFactoryEquals(q1.activation, q2.activation) && observerFactoryEquals(q1.weight, q2.weight);
}

/**
 * True for the qconfig of ops that reuse their input's observer (`reshape`): ReuseInputObserver
 * activation and NoopObserver weight (PyTorch's `is_reuse_input_qconfig`).
 *
 * @example
 * isReuseInputQConfig(defaultReuseInputQConfig); // true
 * @see https://pytorch.org/docs/stable/quantization.html
 */
export function isReuseInputQConfig(qconfig: QConfigAny): boolean {
  return (
    qconfig !== null &&
    qconfig.activation.observerClass === ReuseInputObserver &&
    qconfig.weight.observerClass === NoopObserver
  );
}

/** Backends with PyTorch default qconfigs. */
export type QConfigBackend = 'fbgemm' | 'qnnpack' | 'x86' | 'onednn';

/** Options of {@link getDefaultQConfig} and {@link getDefaultQConfigMapping}. */
export interface DefaultQConfigOptions {
  /** PyTorch's `version`; only 0 exists for post-training qconfigs. */
  readonly version?: 0 | undefined;
  /** HistogramObserver algorithm for the activation: `'latest'` (default) or `'1.13'` (bit-exact with PyTorch 1.13). */
  readonly torchCompat?: HistogramTorchCompat | undefined;
}

const BACKENDS: readonly QConfigBackend[] = ['fbgemm', 'qnnpack', 'x86', 'onednn'];

/** Validates a backend name and options; shared by the qconfig presets. */
export function checkBackend(backend: string, options: DefaultQConfigOptions, owner: string): void {
  if (!BACKENDS.includes(backend as QConfigBackend)) {
    // PyTorch 1.13 silently falls back to default_qconfig here; current PyTorch raises.
    throw new QuantError(
      'INVALID_ARGUMENT',
      `${owner}: unknown backend '${backend}'; use one of ${BACKENDS.join(', ')}.`,
    );
  }
  if (options.version !== undefined && options.version !== 0) {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `${owner}: version ${String(options.version)} is not supported; version must be 0.`,
    );
  }
}

/**
 * PyTorch 1.13's default post-training qconfig for a backend (spec §3.1):
 * - `fbgemm`, `x86`: HistogramObserver with `reduceRange` (quint8 0..127); per-channel symmetric qint8 weights;
 * - `qnnpack`: HistogramObserver (0..255); **per-tensor** symmetric qint8 weights;
 * - `onednn`: HistogramObserver (0..255); per-channel symmetric qint8 weights.
 *
 * The default backend is `'fbgemm'`, as in 1.13. The activation runs current PyTorch's histogram
 * algorithm unless `torchCompat: '1.13'`.
 *
 * @throws `INVALID_ARGUMENT` for an unknown backend (1.13 silently returns `default_qconfig`) or version.
 * @example
 * const q = getDefaultQConfig('qnnpack', { torchCompat: '1.13' });
 * q.activation.create(); // HistogramObserver(min_val=inf, max_val=-inf)
 * @see https://pytorch.org/docs/stable/generated/torch.ao.quantization.qconfig.get_default_qconfig.html
 */
export function getDefaultQConfig(backend: QConfigBackend = 'fbgemm', options: DefaultQConfigOptions = {}): QConfig {
  checkBackend(backend, options, 'getDefaultQConfig');
  const reduceRange = backend === 'fbgemm' || backend === 'x86';
  const activation = HistogramObserver.withArgs(
    options.torchCompat === '1.13' ? { reduceRange, torchCompat: '1.13' } : { reduceRange },
  );
  const weight = backend === 'qnnpack' ? defaultWeightObserver : defaultPerChannelWeightObserver;
  return new QConfig({ activation, weight });
}

/**
 * `default_qconfig`: MinMax activations over quint8 0..127 and per-tensor symmetric qint8 weights.
 * @example defaultQConfig.activation.create().quantMax; // 127
 * @see https://pytorch.org/docs/stable/quantization.html
 */
export const defaultQConfig = new QConfig({ activation: defaultObserver, weight: defaultWeightObserver });

/**
 * `default_debug_qconfig`: RecordingObserver activations, default weights.
 * @example defaultDebugQConfig.activation.create();
 * @see https://pytorch.org/docs/stable/quantization.html
 */
export const defaultDebugQConfig = new QConfig({ activation: defaultDebugObserver, weight: defaultWeightObserver });

/**
 * `default_per_channel_qconfig`: MinMax activations (0..127) and per-channel symmetric qint8 weights.
 * @example defaultPerChannelQConfig.weight.create().qscheme; // 'per_channel_symmetric'
 * @see https://pytorch.org/docs/stable/quantization.html
 */
export const defaultPerChannelQConfig = new QConfig({
  activation: defaultObserver,
  weight: defaultPerChannelWeightObserver,
});

/**
 * `default_dynamic_qconfig`: dynamic activations (PlaceholderObserver quint8) and per-tensor symmetric qint8 weights.
 * @example defaultDynamicQConfig.activation.create().isDynamic; // true
 * @see https://pytorch.org/docs/stable/quantization.html
 */
export const defaultDynamicQConfig = new QConfig({
  activation: defaultDynamicQuantObserver,
  weight: defaultWeightObserver,
});

/**
 * `per_channel_dynamic_qconfig`: dynamic activations and per-channel symmetric qint8 weights.
 * @example perChannelDynamicQConfig.weight.create().chAxis; // 0
 * @see https://pytorch.org/docs/stable/quantization.html
 */
export const perChannelDynamicQConfig = new QConfig({
  activation: defaultDynamicQuantObserver,
  weight: defaultPerChannelWeightObserver,
});

/**
 * `float16_dynamic_qconfig`: float16 weights, dynamic float16 activations.
 * @example float16DynamicQConfig.weight.create().dtype; // 'float16'
 * @see https://pytorch.org/docs/stable/quantization.html
 */
export const float16DynamicQConfig = new QConfig({
  activation: PlaceholderObserver.withArgs({ dtype: 'float16', computeDtype: 'float16' }),
  weight: PlaceholderObserver.withArgs({ dtype: 'float16' }),
});

/**
 * `float16_static_qconfig`: float16 activations and weights.
 * @example float16StaticQConfig.activation.create().dtype; // 'float16'
 * @see https://pytorch.org/docs/stable/quantization.html
 */
export const float16StaticQConfig = new QConfig({
  activation: PlaceholderObserver.withArgs({ dtype: 'float16' }),
  weight: PlaceholderObserver.withArgs({ dtype: 'float16' }),
});

/**
 * `float_qparams_weight_only_qconfig`: float activations, per-channel quint8 weights with float zero points (embeddings).
 * @example floatQparamsWeightOnlyQConfig.weight.create().qscheme; // 'per_channel_affine_float_qparams'
 * @see https://pytorch.org/docs/stable/quantization.html
 */
export const floatQparamsWeightOnlyQConfig = new QConfig({
  activation: defaultPlaceholderObserver,
  weight: defaultFloatQparamsObserver,
});

/**
 * `default_reuse_input_qconfig`: ReuseInputObserver activation, NoopObserver weight (`reshape`).
 * @example isReuseInputQConfig(defaultReuseInputQConfig); // true
 * @see https://pytorch.org/docs/stable/quantization.html
 */
export const defaultReuseInputQConfig = new QConfig({ activation: defaultReuseInputObserver, weight: NoopObserver });

/**
 * `default_symmetric_qnnpack_qconfig`: qint8 HistogramObserver (eps 2^−12) activations, weights over −127..127.
 * @example defaultSymmetricQnnpackQConfig.activation.create().dtype; // 'qint8'
 * @see https://pytorch.org/docs/stable/quantization.html
 */
export const defaultSymmetricQnnpackQConfig = new QConfig({
  activation: HistogramObserver.withArgs({ dtype: 'qint8', reduceRange: false, eps: 2 ** -12 }),
  weight: weightObserverRangeNeg127To127,
});

/**
 * `default_per_channel_symmetric_qnnpack_qconfig`: as {@link defaultSymmetricQnnpackQConfig} with per-channel weights.
 * @example defaultPerChannelSymmetricQnnpackQConfig.weight.create().quantMin; // -127
 * @see https://pytorch.org/docs/stable/quantization.html
 */
export const defaultPerChannelSymmetricQnnpackQConfig = new QConfig({
  activation: HistogramObserver.withArgs({ dtype: 'qint8', reduceRange: false, eps: 2 ** -12 }),
  weight: perChannelWeightObserverRangeNeg127To127,
});
