// torch/ao/nn/quantized/modules/__init__.py: Quantize and DeQuantize.
import { QuantError, Tensor } from '@quint/tensor';
import {
  dequantize,
  quantizePerTensor,
  type Engine,
  type QDtype,
  type QTensor,
  type QuantizedBackend,
  type TraceOptions,
} from '@quint/qtensor';
import { torchScalarTensorRepr } from '../internal/repr.js';
import { BUILTIN, Module, type LoadStateDictContext, type StateDict } from '../module.js';
import { DeQuantStub, QuantStub } from '../stubs.js';
import { checkFloatModule, engineOf, kernelOptions, outputQparams, requireQTensor } from './utils.js';

/** Options of {@link Quantize}. */
export interface QuantizeOptions {
  /** Default `'quint8'`. */
  readonly dtype?: QDtype;
  /** The backend whose `quantizePerTensor` kernel runs it; without one, `quantizePerTensor` of `@quint/qtensor` (PyTorch's formula). */
  readonly backend?: QuantizedBackend;
  /** Default `'qnnpack'`; `'ort'` (QuantizeLinear divides by the scale) needs a backend. */
  readonly engine?: Engine;
}

/**
 * Quantizes its float input per tensor (`torch.ao.nn.quantized.Quantize`), what `convert` puts in
 * place of a `QuantStub`. The scale is stored as float32, as PyTorch's buffer: `scale` is that value.
 *
 * @throws `DTYPE_MISMATCH` when called with a QTensor.
 * @example
 * const q = new nnq.Quantize(0.05, 128);
 * q.call(tensor([-1, 0, 1])).intRepr(); // Uint8Array [108, 128, 148]
 * @see https://pytorch.org/docs/stable/generated/torch.ao.nn.quantized.Quantize.html
 */
export class Quantize extends Module {
  static readonly [BUILTIN] = true;
  scale: number;
  zeroPoint: number;
  readonly dtype: QDtype;
  override engine: Engine;
  declare backend: QuantizedBackend | undefined;
  /** When set, the kernel reports its arithmetic to `trace.sink` (for `quint explain`). */
  declare trace?: TraceOptions | undefined;

  constructor(scale: number, zeroPoint: number, options: QuantizeOptions = {}) {
    super();
    this.scale = Math.fround(scale);
    this.zeroPoint = zeroPoint;
    this.dtype = options.dtype ?? 'quint8';
    this.engine = engineOf(options);
    Object.defineProperty(this, 'backend', {
      value: options.backend,
      writable: true,
      enumerable: false,
      configurable: true,
    });
  }

  /**
   * The `Quantize` for a prepared `QuantStub`: its observer's qparams and dtype.
   *
   * @throws `INVALID_ARGUMENT` for another module type; `NOT_CALIBRATED` without an observer.
   * @example
   * const q = nnq.Quantize.fromFloat(prepared.quant, { backend });
   */
  static fromFloat(mod: Module, options: Omit<QuantizeOptions, 'dtype'> = {}): Quantize {
    checkFloatModule(mod, [QuantStub], 'nnq.Quantize', false);
    const { scale, zeroPoint } = outputQparams(mod, 'nnq.Quantize');
    const dtype = (mod.activationPostProcess as { dtype?: QDtype } | undefined)?.dtype ?? 'quint8';
    return new Quantize(scale, zeroPoint, { ...options, dtype });
  }

  forward(x: Tensor): QTensor {
    if (!(x instanceof Tensor)) {
      throw new QuantError(
        'DTYPE_MISMATCH',
        `Quantize: the input is already quantized (or not a Tensor); pass a float Tensor.`,
      );
    }
    if (this.backend === undefined) return quantizePerTensor(x, this.scale, this.zeroPoint, this.dtype);
    return this.backend.kernels.quantizePerTensor(
      x,
      { scale: this.scale, zeroPoint: this.zeroPoint, dtype: this.dtype },
      kernelOptions(this.engine, this.trace),
    );
  }

  protected override saveToStateDict(out: StateDict, prefix: string): void {
    out[`${prefix}scale`] = new Tensor(Float32Array.of(this.scale), [1]);
    out[`${prefix}zero_point`] = new Tensor(Float32Array.of(this.zeroPoint), [1]);
  }

  protected override loadFromStateDict(
    sd: StateDict,
    prefix: string,
    ctx: LoadStateDictContext,
    consumed: Set<string>,
  ): void {
    for (const k of ['scale', 'zero_point'] as const) {
      const v = sd[prefix + k];
      if (v === undefined) {
        ctx.missingKeys.push(prefix + k);
        continue;
      }
      consumed.add(prefix + k);
      const n = typeof v === 'number' ? v : v instanceof Tensor ? v.toFloat32Array()[0]! : NaN;
      if (k === 'scale') this.scale = Math.fround(n);
      else this.zeroPoint = n;
    }
  }

  override getName(): string {
    return 'Quantize';
  }

  override extraRepr(): string {
    return `scale=${torchScalarTensorRepr(this.scale)}, zero_point=tensor([${this.zeroPoint}]), dtype=torch.${this.dtype}`;
  }
}

/** Options of {@link DeQuantize}. */
export interface DeQuantizeOptions {
  /** The backend whose `dequantize` kernel runs it; without one, `dequantize` of `@quint/qtensor`. */
  readonly backend?: QuantizedBackend;
  readonly engine?: Engine;
}

/**
 * Dequantizes its QTensor input to float32 (`torch.ao.nn.quantized.DeQuantize`), what `convert`
 * puts in place of a `DeQuantStub`.
 *
 * @throws `DTYPE_MISMATCH` naming the module path when called with a float Tensor.
 * @example
 * new nnq.DeQuantize().call(q).toArray();
 * @see https://pytorch.org/docs/stable/generated/torch.ao.nn.quantized.DeQuantize.html
 */
export class DeQuantize extends Module {
  static readonly [BUILTIN] = true;
  override engine: Engine;
  declare backend: QuantizedBackend | undefined;
  declare trace?: TraceOptions | undefined;

  constructor(options: DeQuantizeOptions = {}) {
    super();
    this.engine = engineOf(options);
    Object.defineProperty(this, 'backend', {
      value: options.backend,
      writable: true,
      enumerable: false,
      configurable: true,
    });
  }

  /**
   * The `DeQuantize` for a `DeQuantStub`.
   *
   * @throws `INVALID_ARGUMENT` for another module type.
   * @example
   * const d = nnq.DeQuantize.fromFloat(prepared.dequant, { backend });
   */
  static fromFloat(mod: Module, options: DeQuantizeOptions = {}): DeQuantize {
    checkFloatModule(mod, [DeQuantStub], 'nnq.DeQuantize', false);
    return new DeQuantize(options);
  }

  forward(x: QTensor): Tensor {
    const q = requireQTensor(this, x);
    if (this.backend === undefined) return dequantize(q);
    return this.backend.kernels.dequantize(q, kernelOptions(this.engine, this.trace));
  }

  override getName(): string {
    return 'DeQuantize';
  }
}
