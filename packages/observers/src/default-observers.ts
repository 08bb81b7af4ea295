// The predefined observer factories of torch/ao/quantization/observer.py (1.13 = main).
import { FixedQParamsObserver } from './fixed-qparams-observer.js';
import { HistogramObserver } from './histogram-observer.js';
import { MinMaxObserver } from './min-max-observer.js';
import { PerChannelMinMaxObserver } from './per-channel-min-max-observer.js';
import { PlaceholderObserver } from './placeholder-observer.js';
import { RecordingObserver } from './recording-observer.js';
import { ReuseInputObserver } from './reuse-input-observer.js';

/**
 * `default_observer`: MinMaxObserver over quint8 0..127 (a custom range, so `reduceRange` is moot).
 * @example defaultObserver.create().quantMax; // 127
 * @see https://pytorch.org/docs/stable/generated/torch.ao.quantization.observer.default_observer.html
 */
export const defaultObserver = MinMaxObserver.withArgs({ quantMin: 0, quantMax: 127 });

/**
 * `default_placeholder_observer`: a PlaceholderObserver (float32), e.g. for float16 or weight-only configs.
 * @example defaultPlaceholderObserver.create().dtype; // 'float32'
 * @see https://pytorch.org/docs/stable/generated/torch.ao.quantization.observer.default_placeholder_observer.html
 */
export const defaultPlaceholderObserver = PlaceholderObserver.withArgs({});

/**
 * `default_debug_observer`: a RecordingObserver.
 * @example defaultDebugObserver.create();
 * @see https://pytorch.org/docs/stable/generated/torch.ao.quantization.observer.default_debug_observer.html
 */
export const defaultDebugObserver = RecordingObserver.withArgs({});

/**
 * `default_weight_observer`: MinMaxObserver, qint8, `per_tensor_symmetric` (−128..127, scale `amax/127.5`).
 * @example defaultWeightObserver.create().qscheme; // 'per_tensor_symmetric'
 * @see https://pytorch.org/docs/stable/generated/torch.ao.quantization.observer.default_weight_observer.html
 */
export const defaultWeightObserver = MinMaxObserver.withArgs({ dtype: 'qint8', qscheme: 'per_tensor_symmetric' });

/**
 * `weight_observer_range_neg_127_to_127`: symmetric qint8 over −127..127 with `eps` 2^−12 (XNNPACK's limits).
 * @example weightObserverRangeNeg127To127.create().quantMin; // -127
 * @see https://pytorch.org/docs/stable/quantization-support.html#torch-ao-quantization-observer
 */
export const weightObserverRangeNeg127To127 = MinMaxObserver.withArgs({
  dtype: 'qint8',
  qscheme: 'per_tensor_symmetric',
  quantMin: -127,
  quantMax: 127,
  eps: 2 ** -12,
});

/**
 * `default_histogram_observer`: HistogramObserver over quint8 0..127 (current PyTorch's algorithm;
 * `.withArgs({ torchCompat: '1.13' })` for 1.13's).
 * @example defaultHistogramObserver.create().quantMax; // 127
 * @see https://pytorch.org/docs/stable/generated/torch.ao.quantization.observer.default_histogram_observer.html
 */
export const defaultHistogramObserver = HistogramObserver.withArgs({ quantMin: 0, quantMax: 127 });

/**
 * `default_per_channel_weight_observer`: PerChannelMinMaxObserver, qint8, `per_channel_symmetric`, `chAxis` 0.
 * @example defaultPerChannelWeightObserver.create().chAxis; // 0
 * @see https://pytorch.org/docs/stable/generated/torch.ao.quantization.observer.default_per_channel_weight_observer.html
 */
export const defaultPerChannelWeightObserver = PerChannelMinMaxObserver.withArgs({
  dtype: 'qint8',
  qscheme: 'per_channel_symmetric',
});

/**
 * `per_channel_weight_observer_range_neg_127_to_127`: per-channel symmetric qint8 over −127..127, `eps` 2^−12.
 * @example perChannelWeightObserverRangeNeg127To127.create().eps; // 0.000244140625
 * @see https://pytorch.org/docs/stable/quantization-support.html#torch-ao-quantization-observer
 */
export const perChannelWeightObserverRangeNeg127To127 = PerChannelMinMaxObserver.withArgs({
  dtype: 'qint8',
  qscheme: 'per_channel_symmetric',
  quantMin: -127,
  quantMax: 127,
  eps: 2 ** -12,
});

/**
 * `default_dynamic_quant_observer`: PlaceholderObserver(quint8, computeDtype quint8) — dynamic quantization.
 * @example defaultDynamicQuantObserver.create().isDynamic; // true
 * @see https://pytorch.org/docs/stable/generated/torch.ao.quantization.observer.default_dynamic_quant_observer.html
 */
export const defaultDynamicQuantObserver = PlaceholderObserver.withArgs({ dtype: 'quint8', computeDtype: 'quint8' });

/**
 * `default_float_qparams_observer`: PerChannelMinMaxObserver, quint8, `per_channel_affine_float_qparams`, `chAxis` 0 (embeddings).
 * @example defaultFloatQparamsObserver.create().calculateFloatQparams;
 * @see https://pytorch.org/docs/stable/generated/torch.ao.quantization.observer.default_float_qparams_observer.html
 */
export const defaultFloatQparamsObserver = PerChannelMinMaxObserver.withArgs({
  dtype: 'quint8',
  qscheme: 'per_channel_affine_float_qparams',
  chAxis: 0,
});

/**
 * `default_fixed_qparams_range_neg1to1_observer`: scale 2/256, zero point 128 (tanh).
 * @example defaultFixedQParamsRangeNeg1to1Observer.create().calculateQparams().zeroPoint; // Int32Array [128]
 * @see https://pytorch.org/docs/stable/quantization-support.html#torch-ao-quantization-observer
 */
export const defaultFixedQParamsRangeNeg1to1Observer = FixedQParamsObserver.withArgs({
  scale: 2.0 / 256.0,
  zeroPoint: 128,
  dtype: 'quint8',
  quantMin: 0,
  quantMax: 255,
});

/**
 * `default_fixed_qparams_range_0to1_observer`: scale 1/256, zero point 0 (sigmoid, hardsigmoid, softmax).
 * @example defaultFixedQParamsRange0to1Observer.create().calculateQparams().scale; // Float32Array [0.00390625]
 * @see https://pytorch.org/docs/stable/quantization-support.html#torch-ao-quantization-observer
 */
export const defaultFixedQParamsRange0to1Observer = FixedQParamsObserver.withArgs({
  scale: 1.0 / 256.0,
  zeroPoint: 0,
  dtype: 'quint8',
  quantMin: 0,
  quantMax: 255,
});

/**
 * `default_reuse_input_observer`: a ReuseInputObserver (reshape-like ops share their input's observer).
 * @example defaultReuseInputObserver.create();
 * @see https://pytorch.org/docs/stable/quantization-support.html#torch-ao-quantization-observer
 */
export const defaultReuseInputObserver = ReuseInputObserver.withArgs({});
