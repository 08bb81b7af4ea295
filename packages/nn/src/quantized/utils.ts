// Shared by the quantized modules (torch/ao/nn/quantized/modules/utils.py and the module checks).
import { QuantError, Tensor } from '@quint/tensor';
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
import { Sequential } from '../container.js';
import { pyFloat } from '../internal/repr.js';
import {
  makeObserver,
  Module,
  moduleError,
  type LoadStateDictContext,
  type ObserverLike,
  type QConfigLike,
  type StateDict,
} from '../module.js';

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
    (typeof x === 'object' &&
      x !== null &&
      typeof (x as { intRepr?: unknown }).intRepr === 'function' &&
      'qparams' in x)
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
    throw new QuantError(
      'DTYPE_MISMATCH',
      `${owner}.fromFloat: the weight observer has dtype ${observer.dtype}; weights must be qint8 (use a qconfig whose weight observer has dtype 'qint8').`,
    );
  }
  const { scale, zeroPoint } = observer.calculateQparams();
  const qscheme = observer.qscheme ?? 'per_tensor_affine';
  let q: QTensor;
  if (qscheme === 'per_tensor_affine' || qscheme === 'per_tensor_symmetric') {
    q = quantizePerTensor(weight, scale[0]!, zeroPoint[0]!, 'qint8');
  } else if (qscheme === 'per_channel_affine' || qscheme === 'per_channel_symmetric') {
    q = quantizePerChannel(weight, Float64Array.from(scale), Int32Array.from(zeroPoint), observer.chAxis ?? 0, 'qint8');
  } else {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `${owner}.fromFloat: weight qscheme '${qscheme}' is not supported for conv/linear weights; use per_tensor_* or per_channel_*.`,
    );
  }
  const [lo, hi] = DTYPE_RANGE.qint8;
  const qmin = observer.quantMin ?? lo;
  const qmax = observer.quantMax ?? hi;
  if (qmin <= lo && qmax >= hi) return q;
  const codes = Int8Array.from(q.data as Int8Array, (v) => Math.min(Math.max(v, qmin), qmax));
  const p = q.qparams;
  if ('scales' in p)
    return makePerChannelQuantizedTensor({ data: codes, shape: q.shape }, p.scales, p.zeroPoints, p.axis);
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
    throw new QuantError(
      'NO_QCONFIG',
      `${owner}.fromFloat: the input ${mod.getName()} has no qconfig; set model.qconfig and run prepare() first.`,
    );
  }
}

/**
 * A fresh weight observer from `qconfig`, fed the weight (as `weight_post_process(mod.weight)`), for
 * the eager and FX converters alike. NaN/±Inf weights are refused first, naming the layer: an
 * observer's `ignoreNonFinite` is for calibration data, and a weight cannot skip values.
 *
 * @param where the error's prefix, naming the call and the layer (`nnq.Linear.fromFloat`, `convertFx: %fc1`).
 * @throws `NON_FINITE` when the weight holds NaN or ±Inf.
 * @example
 * const obs = observeWeight(model.qconfig!, fc.weight, 'convertFx: %fc1');
 * obs.calculateQparams();
 */
export function observeWeight(qconfig: QConfigLike, weight: Tensor, where: string): ObserverLike {
  const data = weight.toFloat32Array();
  let bad = 0;
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) bad++;
  if (bad > 0) {
    throw new QuantError(
      'NON_FINITE',
      `${where}: the float weight [${weight.shape.join(', ')}] has ${bad} NaN/±Inf value(s) of ${data.length}; fix the float model's weights before converting.`,
    );
  }
  const obs = makeObserver(qconfig.weight);
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

/** Defines a non-enumerable own property (state that is not a child, parameter or attribute to print). */
export function hidden(obj: object, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, writable: true, enumerable: false, configurable: true });
}

/**
 * PyTorch's qnnpack prepack stores a zero bias when there is none, and `bias()` then returns it (so a
 * qnnpack module prints no `bias=False`); the other engines keep None. The arithmetic is the same.
 */
export function qnnpackBias(engine: Engine, bias: Tensor | null, outChannels: number): Tensor | null {
  return bias === null && engine === 'qnnpack' ? new Tensor(new Float32Array(outChannels), [outChannels]) : bias;
}

/**
 * A quantized module with a qint8 weight and a float32 bias prepacked on its backend (PyTorch's
 * `WeightedQuantizedModule`): the static and dynamic conv/linear modules. It holds the backend and
 * engine, the weight, bias and their pack (made again lazily after `dispose()` or `clone()`).
 * Subclasses say how to prepack and which kernel to run.
 */
export abstract class WeightedQuantizedModule<P extends object> extends Module {
  /** The engine recorded at convert, passed to every kernel call. */
  override engine: Engine;
  declare backend: QuantizedBackend;
  /** When set, the kernel reports its integer arithmetic to `trace.sink` (for `quint explain`). */
  declare trace?: TraceOptions | undefined;
  declare protected qweight: QTensor;
  declare protected qbias: Tensor | null;
  declare private packed: P | null;

  protected constructor(options: QuantizedModuleOptions) {
    super();
    this.engine = engineOf(options);
    hidden(this, 'backend', options.backend);
    hidden(this, 'packed', null);
  }

  /**
   * Sets an all-zero weight of `shape` (scale 1, zero point 0) and a zero bias unless `bias` is
   * false, as PyTorch's constructors do; called last by a subclass constructor, once its geometry
   * (which {@link prepack} reads) is set. The zeros are packed on first use, not here: `fromFloat`
   * replaces them at once, and packing them put a second copy of every weight in the backend's
   * memory while a model was converted.
   */
  protected initWeightBias(shape: readonly number[], bias: boolean | undefined): void {
    const n = shape.reduce((p, d) => p * d, 1);
    const out = shape[0]!;
    this.qweight = new QTensor(new Int8Array(n), [...shape], 'qint8', {
      qscheme: 'per_tensor_affine',
      scale: 1,
      zeroPoint: 0,
    });
    this.qbias = qnnpackBias(this.engine, bias === false ? null : new Tensor(new Float32Array(out), [out]), out);
  }

  /** Prepacks the weight and float32 bias on the backend (which checks int32 overflow). */
  protected abstract prepack(weight: QTensor, bias: Float32Array | null): P;

  /** The weight packed on the backend, packed again when `dispose()` or `clone()` dropped it. */
  protected packedWeight(): P {
    this.packed ??= this.prepack(this.qweight, this.qbias === null ? null : this.qbias.toFloat32Array());
    return this.packed;
  }

  /** The qint8 weight (PyTorch's `weight()`). @example qfc.weight().intRepr() */
  weight(): QTensor {
    return this.qweight;
  }

  /** The float32 bias, or null (PyTorch's `bias()`). @example qfc.bias()?.toArray() */
  bias(): Tensor | null {
    return this.qbias;
  }

  /**
   * Sets the weight and bias and prepacks them on the backend (PyTorch's `set_weight_bias`).
   *
   * @throws `OVERFLOW` (from the backend) when the int32 accumulator could overflow.
   * @example
   * qfc.setWeightBias(qweight, bias);
   */
  setWeightBias(weight: QTensor, bias: Tensor | null): void {
    this.qweight = weight;
    this.qbias = qnnpackBias(this.engine, bias, weight.shape[0]!);
    this.packed = null;
    this.packedWeight();
  }

  override dispose(): void {
    this.packed = null;
    super.dispose();
  }

  protected override afterClone(): void {
    this.packed = null;
  }
}

/**
 * PyTorch's `from_float` of a conv/linear module: checks `mod` is one of `types` (a fused module
 * gives its first child's weight and bias), quantizes the weight with a fresh observer from
 * `mod.qconfig.weight` (`_quantize_weight`, spec §5.1) and builds the module with `create`.
 * Static modules (no `dynamicQConfig`) need a qconfig and take the output qparams from
 * `mod.activationPostProcess`: Linear reads them before quantizing the weight, Conv after
 * (`qparamsFirst`), as PyTorch does, which decides the error when both are wrong. Dynamic modules
 * fall back to `dynamicQConfig` and have no output qparams.
 */
export function weightedFromFloat<
  F extends Module & { readonly weight: Tensor; readonly bias: Tensor | null },
  M extends WeightedQuantizedModule<object> & { scale?: number; zeroPoint?: number },
>(args: {
  readonly mod: Module;
  readonly owner: string;
  readonly types: readonly (abstract new (...a: never[]) => Module)[];
  readonly qparamsFirst?: boolean;
  readonly dynamicQConfig?: QConfigLike;
  readonly create: (float: F) => M;
}): M {
  const { mod, owner } = args;
  const dynamic = args.dynamicQConfig !== undefined;
  checkFloatModule(mod, args.types, owner, !dynamic);
  const float = (mod instanceof Sequential ? mod.get(0) : mod) as F;
  const observer = observeWeight(mod.qconfig ?? args.dynamicQConfig!, float.weight, `${owner}.fromFloat`);
  const before = !dynamic && args.qparamsFirst === true ? outputQparams(mod, owner) : undefined;
  const qweight = quantizeWeight(float.weight, observer, owner);
  const qparams = dynamic ? undefined : (before ?? outputQparams(mod, owner));
  const q = args.create(float);
  q.setWeightBias(qweight, float.bias === null ? null : float.bias.clone());
  if (qparams !== undefined) {
    q.scale = qparams.scale;
    q.zeroPoint = qparams.zeroPoint;
  }
  return q;
}

/** Loads `weight`, `bias`, `scale`, `zero_point` of a quantized conv/linear. */
export function loadQuantizedGemm(
  m: { scale: number; zeroPoint: number; bias(): Tensor | null },
  sd: StateDict,
  prefix: string,
  ctx: LoadStateDictContext,
  consumed: Set<string>,
  keys: readonly [string, string],
  set: (w: QTensor, b: Tensor | null) => void,
): void {
  const take = (k: string, optional = false): StateDict[string] | undefined => {
    const key = prefix + k;
    if (!(key in sd)) {
      if (!optional) ctx.missingKeys.push(key);
      return undefined;
    }
    consumed.add(key);
    return sd[key];
  };
  const w = take(keys[0]);
  const b = take(keys[1], m.bias() === null);
  const s = take('scale');
  const z = take('zero_point');
  const num = (v: unknown): number | undefined =>
    typeof v === 'number' ? v : v instanceof Tensor && v.numel === 1 ? v.item() : undefined;
  if (s !== undefined) m.scale = num(s) ?? m.scale;
  if (z !== undefined) m.zeroPoint = num(z) ?? m.zeroPoint;
  if (w === undefined) return;
  if (!isQTensor(w)) {
    ctx.errorMsgs.push(
      `While copying "${prefix}${keys[0]}", expected a QTensor (qint8 weight), got ${typeof w === 'object' ? w.constructor.name : typeof w}.`,
    );
    return;
  }
  set(w, b instanceof Tensor ? b : null);
}
