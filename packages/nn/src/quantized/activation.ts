// torch/ao/nn/quantized/modules/activation.py: ReLU6 and Hardswish.
import type { Engine, QTensor, QuantizedBackend, TraceOptions } from '@quint/qtensor';
import { Hardswish as FloatHardswish, ReLU6 as FloatReLU6 } from '../activation.js';
import { BUILTIN, Module, type LoadStateDictContext, type StateDict } from '../module.js';
import { runUnary } from '../internal/quantized-dispatch.js';
import {
  checkFloatModule,
  engineOf,
  hidden,
  outputQparams,
  requireQTensor,
  type QuantizedModuleOptions,
} from './utils.js';

/** Options of the quantized {@link ReLU6}. */
export interface QuantizedReLU6Options extends QuantizedModuleOptions {
  /** Recorded for printing (`inplace=True`). */
  readonly inplace?: boolean;
}

/**
 * Quantized ReLU6 (`torch.ao.nn.quantized.ReLU6`): `clamp(q, zp, quantize(6))`, qparams kept
 * (spec §5.6). Prints as `QuantizedReLU6()`.
 *
 * @throws `DTYPE_MISMATCH` naming the module path when called with a float Tensor.
 * @example
 * const r = nnq.ReLU6.fromFloat(new ReLU6(), { backend });
 * @see https://pytorch.org/docs/stable/generated/torch.ao.nn.quantized.ReLU6.html
 */
export class ReLU6 extends Module {
  static readonly [BUILTIN] = true;
  readonly inplace: boolean;
  override engine: Engine;
  declare backend: QuantizedBackend;
  declare trace?: TraceOptions | undefined;

  constructor(options: QuantizedReLU6Options) {
    super();
    this.inplace = options.inplace ?? false;
    this.engine = engineOf(options);
    hidden(this, 'backend', options.backend);
  }

  /**
   * The quantized module for a float `ReLU6` (no observer needed: qparams pass through).
   *
   * @throws `INVALID_ARGUMENT` for another module type.
   * @example
   * const r = nnq.ReLU6.fromFloat(model.act, { backend });
   */
  static fromFloat(mod: Module, options: QuantizedModuleOptions): ReLU6 {
    checkFloatModule(mod, [FloatReLU6], 'nnq.ReLU6', false);
    return new ReLU6({ ...options, inplace: (mod as FloatReLU6).inplace });
  }

  forward(x: QTensor): QTensor {
    const q = requireQTensor(this, x);
    return runUnary(this, 'relu6', q, (be, o) => be.kernels.relu6(q, o));
  }

  override getName(): string {
    return 'QuantizedReLU6';
  }

  override extraRepr(): string {
    return this.inplace ? 'inplace=True' : '';
  }
}

/**
 * Quantized Hardswish (`torch.ao.nn.quantized.Hardswish`) into the output `(scale, zeroPoint)`
 * (qnnpack: lookup table; onednn: generic kernel; spec §5.7). Prints as `QuantizedHardswish()`;
 * `scale`/`zeroPoint` are plain attributes, not in the state dict (as PyTorch).
 *
 * @throws `DTYPE_MISMATCH` naming the module path when called with a float Tensor.
 * @example
 * const h = nnq.Hardswish.fromFloat(prepared.act, { backend });
 * @see https://pytorch.org/docs/stable/generated/torch.ao.nn.quantized.Hardswish.html
 */
export class Hardswish extends Module {
  static readonly [BUILTIN] = true;
  scale: number;
  zeroPoint: number;
  override engine: Engine;
  declare backend: QuantizedBackend;
  declare trace?: TraceOptions | undefined;

  constructor(scale: number, zeroPoint: number, options: QuantizedModuleOptions) {
    super();
    this.scale = scale;
    this.zeroPoint = zeroPoint;
    this.engine = engineOf(options);
    hidden(this, 'backend', options.backend);
  }

  /**
   * The quantized module for a prepared `Hardswish`: output qparams from its observer.
   *
   * @throws `INVALID_ARGUMENT` for another module type; `NOT_CALIBRATED` without an observer.
   * @example
   * const h = nnq.Hardswish.fromFloat(prepared.act, { backend });
   */
  static fromFloat(mod: Module, options: QuantizedModuleOptions): Hardswish {
    checkFloatModule(mod, [FloatHardswish], 'nnq.Hardswish', false);
    const { scale, zeroPoint } = outputQparams(mod, 'nnq.Hardswish');
    return new Hardswish(scale, zeroPoint, options);
  }

  forward(x: QTensor): QTensor {
    const q = requireQTensor(this, x);
    return runUnary(this, 'hardswish', q, (be, o) =>
      be.kernels.hardswish(q, { scale: this.scale, zeroPoint: this.zeroPoint }, o),
    );
  }

  override getName(): string {
    return 'QuantizedHardswish';
  }
}

/** Loads `scale` and `zero_point` (numbers or one-element tensors). */
export function loadScaleZeroPoint(
  m: { scale: number; zeroPoint: number },
  sd: StateDict,
  prefix: string,
  ctx: LoadStateDictContext,
  consumed: Set<string>,
): void {
  for (const [k, set] of [
    ['scale', (v: number) => (m.scale = v)],
    ['zero_point', (v: number) => (m.zeroPoint = v)],
  ] as const) {
    const key = prefix + k;
    const v = sd[key];
    if (v === undefined) {
      ctx.missingKeys.push(key);
      continue;
    }
    consumed.add(key);
    const n =
      typeof v === 'number' ? v : typeof v === 'object' && 'item' in v && typeof v.item === 'function' ? v.item() : NaN;
    if (Number.isFinite(n)) set(n);
    else ctx.errorMsgs.push(`While copying "${key}", expected a number, got ${String(v)}.`);
  }
}
