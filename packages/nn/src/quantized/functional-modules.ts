// torch/ao/nn/quantized/modules/functional_modules.py: QFunctional.
import { QuantError } from '@quint/tensor';
import type { Engine, QTensor, QuantizedBackend, TraceOptions } from '@quint/qtensor';
import { applyPostProcess, FloatFunctional } from '../functional-modules.js';
import { Identity } from '../linear.js';
import {
  BUILTIN,
  Module,
  moduleError,
  type LoadStateDictContext,
  type ObserverLike,
  type StateDict,
} from '../module.js';
import { memoryFormatOf, resultFormat, withMemoryFormat } from '../internal/memory-format.js';
import { loadScaleZeroPoint } from './activation.js';
import {
  checkFloatModule,
  engineOf,
  hidden,
  kernelOptions,
  outputQparams,
  qparamsRepr,
  requireQTensor,
  type QuantizedModuleOptions,
} from './utils.js';

/**
 * Quantized operations in place of a `FloatFunctional` (`torch.ao.nn.quantized.QFunctional`):
 * `add`, `addRelu`, `mul` and `cat` requantize into `(scale, zeroPoint)` with the backend's kernels
 * (spec §5.3–5.5). `addScalar`/`mulScalar` need `quantized::add_scalar`/`mul_scalar` kernels that
 * the backend interface does not have yet: they throw `UNSUPPORTED_OP`.
 *
 * @throws `DTYPE_MISMATCH` naming the module path when an operand is a float Tensor.
 * @example
 * const qf = nnq.QFunctional.fromFloat(prepared.skipAdd, { backend });
 * const y = qf.add(a, b);
 * @see https://pytorch.org/docs/stable/generated/torch.ao.nn.quantized.QFunctional.html
 */
export class QFunctional extends Module {
  static readonly [BUILTIN] = true;
  scale = 1;
  zeroPoint = 0;
  override activationPostProcess: Module | ObserverLike = new Identity();
  override engine: Engine;
  declare backend: QuantizedBackend;
  declare trace?: TraceOptions | undefined;

  constructor(options: QuantizedModuleOptions) {
    super();
    this.engine = engineOf(options);
    hidden(this, 'backend', options.backend);
  }

  /**
   * The quantized functional for a prepared `FloatFunctional`: output qparams from its observer.
   *
   * @throws `INVALID_ARGUMENT` for another module type; `NOT_CALIBRATED` without an observer.
   * @example
   * const qf = nnq.QFunctional.fromFloat(prepared.skipAdd, { backend });
   */
  static fromFloat(mod: Module, options: QuantizedModuleOptions): QFunctional {
    checkFloatModule(mod, [FloatFunctional], 'nnq.QFunctional', false);
    const { scale, zeroPoint } = outputQparams(mod, 'nnq.QFunctional');
    const q = new QFunctional(options);
    q.scale = scale;
    q.zeroPoint = zeroPoint;
    return q;
  }

  forward(): never {
    throw moduleError(
      this,
      new QuantError('UNSUPPORTED_OP', ''),
      (path) =>
        `QFunctional${path === '' ? '' : ` '${path}'`} is not intended to use 'forward'; call its operations (add, addRelu, mul, cat).`,
    );
  }

  private get out() {
    return { scale: this.scale, zeroPoint: this.zeroPoint };
  }

  private binary(op: 'add' | 'addRelu' | 'mul', x: QTensor, y: QTensor): QTensor {
    const a = requireQTensor(this, x, 'first operand');
    const b = requireQTensor(this, y, 'second operand');
    // Both operands channels_last (e.g. two conv outputs) → PyTorch walks NHWC memory order.
    const fmt =
      memoryFormatOf(a) === 'channels_last' && memoryFormatOf(b) === 'channels_last' ? 'channels_last' : 'contiguous';
    const r = this.backend.kernels[op](a, b, this.out, {
      ...kernelOptions(this.engine, this.trace),
      memoryFormat: fmt,
    });
    return applyPostProcess(this.activationPostProcess, withMemoryFormat(r, resultFormat(op, this.engine, fmt)));
  }

  /** `quantized::add` into `(scale, zeroPoint)`. @example qf.add(a, b) */
  add(x: QTensor, y: QTensor): QTensor {
    return this.binary('add', x, y);
  }

  /** `quantized::add_relu` into `(scale, zeroPoint)`. @example qf.addRelu(a, b) */
  addRelu(x: QTensor, y: QTensor): QTensor {
    return this.binary('addRelu', x, y);
  }

  /** `quantized::mul` into `(scale, zeroPoint)`. @example qf.mul(a, b) */
  mul(x: QTensor, y: QTensor): QTensor {
    return this.binary('mul', x, y);
  }

  /** `quantized::cat` along `dim` into `(scale, zeroPoint)`. @example qf.cat([a, b], 1) */
  cat(xs: readonly QTensor[], dim = 0): QTensor {
    const qs = xs.map((x, i) => requireQTensor(this, x, `input ${i}`));
    const fmt =
      qs.length > 0 && qs.every((q) => memoryFormatOf(q) === 'channels_last') ? 'channels_last' : 'contiguous';
    const r = this.backend.kernels.cat(qs, dim, this.out, {
      ...kernelOptions(this.engine, this.trace),
      memoryFormat: fmt,
    });
    return applyPostProcess(this.activationPostProcess, withMemoryFormat(r, resultFormat('cat', this.engine, fmt)));
  }

  /**
   * `quantized::add_scalar`: not available (no backend kernel).
   *
   * @throws `UNSUPPORTED_OP` always.
   */
  addScalar(_x: QTensor, _y: number): QTensor {
    throw this.noScalarKernel('addScalar', 'add_scalar');
  }

  /**
   * `quantized::mul_scalar`: not available (no backend kernel).
   *
   * @throws `UNSUPPORTED_OP` always.
   */
  mulScalar(_x: QTensor, _y: number): QTensor {
    throw this.noScalarKernel('mulScalar', 'mul_scalar');
  }

  private noScalarKernel(method: string, op: string): QuantError {
    return moduleError(
      this,
      new QuantError('UNSUPPORTED_OP', ''),
      (path) =>
        `QFunctional${path === '' ? '' : ` '${path}'`}.${method}: the backend interface has no quantized::${op} kernel yet; keep this operation in float (qconfig null on its FloatFunctional) for now.`,
    );
  }

  protected override saveToStateDict(out: StateDict, prefix: string): void {
    out[`${prefix}scale`] = this.scale;
    out[`${prefix}zero_point`] = this.zeroPoint;
  }

  protected override loadFromStateDict(
    sd: StateDict,
    prefix: string,
    ctx: LoadStateDictContext,
    consumed: Set<string>,
  ): void {
    loadScaleZeroPoint(this, sd, prefix, ctx, consumed);
  }

  override getName(): string {
    return 'QFunctional';
  }

  override extraRepr(): string {
    return qparamsRepr(this.scale, this.zeroPoint);
  }
}
