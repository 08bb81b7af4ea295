// Weight prepacking for conv2d and linear. The checks and the int32 overflow bound (issue 4 "Bad
// input") are @quint/qtensor's, shared with every backend; kernels-js packs nothing beyond them:
// its loops read the weight's codes in C order.
import {
  DEFAULT_MIN_INPUT_SCALE,
  checkConv2dPrepack,
  checkLinearPrepack,
  type Conv2dPrepackOptions,
  type LinearPrepackOptions,
  type PackedConv2d,
  type PackedLinear,
  type QTensor,
  type WeightChannels,
} from '@quint/qtensor';

export { DEFAULT_MIN_INPUT_SCALE };

/** A conv2d weight packed by kernels-js: the public fields plus the per-channel weight record. */
export interface JsPackedConv2d extends PackedConv2d {
  readonly channels: WeightChannels;
  /** `[outC, inC/groups, kH, kW]`. */
  readonly kernelShape: readonly [number, number, number, number];
}

/** A linear weight packed by kernels-js. */
export interface JsPackedLinear extends PackedLinear {
  readonly channels: WeightChannels;
  readonly inFeatures: number;
}

/**
 * Packs a conv2d weight `[outC, inC/groups, kH, kW]` (qint8, per tensor or per channel on axis 0)
 * with its float32 bias, after the overflow check.
 */
export function prepackConv2d(
  backend: string,
  weight: QTensor,
  bias: Float32Array | null,
  opts: Conv2dPrepackOptions = {},
): JsPackedConv2d {
  const c = checkConv2dPrepack(weight, bias, opts);
  return {
    kind: 'conv2d',
    backend,
    weight,
    bias: c.bias,
    stride: c.stride,
    padding: c.padding,
    dilation: c.dilation,
    groups: c.groups,
    channels: c.channels,
    kernelShape: c.kernelShape,
  };
}

/** Packs a linear weight `[outFeatures, inFeatures]` (qint8) with its float32 bias, after the overflow check. */
export function prepackLinear(
  backend: string,
  weight: QTensor,
  bias: Float32Array | null,
  opts: LinearPrepackOptions = {},
): JsPackedLinear {
  const c = checkLinearPrepack(weight, bias, opts);
  return { kind: 'linear', backend, weight, bias: c.bias, channels: c.channels, inFeatures: c.inFeatures };
}
