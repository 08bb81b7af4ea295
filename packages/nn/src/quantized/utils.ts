// Shared by the quantized modules (torch/ao/nn/quantized/modules/utils.py and the module checks).
import { QuantError, type Tensor } from '@quint/tensor';
import {
  DEFAULT_ENGINE,
  DTYPE_RANGE,
  QTensor,
  quantizePerChannel,
  quantizePerTensor,
  makePerChannelQuantizedTensor,
  makePerTensorQuantizedTensor,
  type Engine,
  type KernelOptions,
  type QuantizedBackend,
  type TraceOptions,
} from '@quint/qtensor';
import { pyFloat } from '../internal/repr.js';
import { makeObserver, type Module, moduleError, type ObserverLike } from '../module.js';

/** Options every quantized module takes: the backend that runs it and the engine it was converted for. */
export interface QuantizedModuleOptions {
  /** The backend whose kernels run the module (`@quint/converter` passes kernels-js by default). */
  readonly backend: QuantizedBackend;
  /** The requantization convention (default `'qnnpack'`), passed to every kernel call. */
  readonly engine?: Engine;
}

/** True for a QTensor, from this or another copy of `@quint/qtensor`. */
export function isQTensor(x: unknown): x is QTensor {
  return (
    x instanceof QTensor ||
    (typeof x === 'object' && x !== null && typeof (x as { intRepr?: unknown }).intRepr === 'function' && 'qparams' in x)
  );
}

function describeValue(x: unknown): string {
  if (typeof x === 'object' && x !== null && 'shape' in x) {
    return `a float Tensor of shape [${(x as Tensor).shape.join(', ')}]`;
  }
  return typeof x;
}

/** Throws PyTorch-like when a quantized module gets a float tensor where a QTensor is needed. */
export function requireQTensor(module: Module, x: unknown, what = 'input'): QTensor {
  if (isQTensor(x)) return x;
  throw moduleError(
    module,
    new QuantError('DTYPE_MISMATCH', ''),
    (path) =>
      `${module.getName()}${path === '' ? '' : ` '${path}'`} got ${describeValue(x)} as its ${what}, where a QTensor is needed; put a QuantStub before it (it becomes nnq.Quantize at convert), or a DeQuantStub after the quantized part.`,
  );
}

/** The kernel options of one call: the module's engine and, when set, its trace request. */
export function kernelOptions(engine: Engine, trace: TraceOptions | undefined): KernelOptions {
  return trace === undefined ? { engine } : { engine, trace };
}

/** The engine option, defaulted. */
export function engineOf(options: { readonly engine?: Engine } | undefined): Engine {
  return options?.engine ?? DEFAULT_ENGINE;
}

/**
 * `_quantize_weight` (spec pytorch-semantics §5.1): quantize with the weight observer's qparams
 * (per tensor: `quantize_per_tensor(W, float(scale), int(zp), qint8)`; per channel:
 * `quantize_per_channel(W, scales.double(), zps, chAxis, qint8)`), then clamp the codes to the
 * observer's `[quantMin, quantMax]` when narrower than qint8 (`_clamp_weights`).
 *
 * @throws `DTYPE_MISMATCH` when the observer's dtype is not qint8; `INVALID_ARGUMENT` for a qscheme
 *   the quantized conv/linear modules do not take.
 */
export function quantizeWeight(weight: Tensor, observer: ObserverLike, owner: string): QTensor {
  if (observer.dtype !== undefined && observer.dtype !== 'qint8') {
    throw new QuantError('DTYPE_MISMATCH', `${owner}.fromFloat: the weight observer has dtype ${observer.dtype}; weights must be qint8 (use a qconfig whose weight observer has dtype 'qint8').`);
  }
  const { scale, zeroPoint } = observer.calculateQparams();
  const qscheme = observer.qscheme ?? 'per_tensor_affine';
  let q: QTensor;
  if (qscheme === 'per_tensor_affine' || qscheme === 'per_tensor_symmetric') {
    q = quantizePerTensor(weight, scale[0]!, zeroPoint[0]!, 'qint8');
  } else if (qscheme === 'per_channel_affine' || qscheme === 'per_channel_symmetric') {
    q = quantizePerChannel(weight, Float64Array.from(scale), Int32Array.from(zeroPoint), observer.chAxis ?? 0, 'qint8');
  } else {
    throw new QuantError('INVALID_ARGUMENT', `${owner}.fromFloat: weight qscheme '${qscheme}' is not supported for conv/linear weights; use per_tensor_* or per_channel_*.`);
  }
  const [lo, hi] = DTYPE_RANGE.qint8;
  const qmin = observer.quantMin ?? lo;
  const qmax = observer.quantMax ?? hi;
  if (qmin <= lo && qmax >= hi) return q;
  const codes = Int8Array.from(q.data as Int8Array, (v) => Math.min(Math.max(v, qmin), qmax));
  const p = q.qparams;
  if ('scales' in p) return makePerChannelQuantizedTensor({ data: codes, shape: q.shape }, p.scales, p.zeroPoints, p.axis);
  return makePerTensorQuantizedTensor({ data: codes, shape: q.shape }, p.scale, p.zeroPoint);
}

/** The float module's output qparams from its observer (`float(scale)`, `int(zp)`). */
export function outputQparams(mod: Module, owner: string, path = ''): { scale: number; zeroPoint: number } {
  const app = mod.activationPostProcess;
  if (app === undefined || typeof (app as { calculateQparams?: unknown }).calculateQparams !== 'function') {
    throw new QuantError(
      'NOT_CALIBRATED',
      `${owner}.fromFloat: ${mod.getName()}${path === '' ? '' : ` '${path}'`} has no activationPostProcess observer; run prepare() and calibrate before convert().`,
    );
  }
  const { scale, zeroPoint } = (app as ObserverLike).calculateQparams();
  return { scale: scale[0]!, zeroPoint: zeroPoint[0]! };
}

/** Checks `mod` is exactly one of `types` and has a qconfig; returns a fresh weight observer. */
export function checkFloatModule(
  mod: Module,
  types: readonly (abstract new (...a: never[]) => Module)[],
  owner: string,
  needsQConfig = true,
): void {
  if (!types.some((t) => mod.constructor === t)) {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `${owner}.fromFloat only works for ${types.map((t) => t.name).join(', ')}, but got ${mod.getName()}; convert it with the module mapping for its type.`,
    );
  }
  if (needsQConfig && (mod.qconfig === undefined || mod.qconfig === null)) {
    throw new QuantError('NO_QCONFIG', `${owner}.fromFloat: the input ${mod.getName()} has no qconfig; set model.qconfig and run prepare() first.`);
  }
}

/** A fresh weight observer from the module's qconfig, fed the weight (as `weight_post_process(mod.weight)`). */
export function observeWeight(mod: Module, weight: Tensor): ObserverLike {
  const obs = makeObserver(mod.qconfig!.weight);
  obs.forward(weight);
  return obs;
}

/** `scale=…, zero_point=…` with Python's float spelling. */
export function qparamsRepr(scale: number, zeroPoint: number): string {
  return `scale=${pyFloat(scale)}, zero_point=${zeroPoint}`;
}

/** PyTorch's `weight().qscheme()` printout: `torch.per_tensor_affine`. */
export function qschemeRepr(q: QTensor): string {
  return `torch.${q.qscheme()}`;
}
