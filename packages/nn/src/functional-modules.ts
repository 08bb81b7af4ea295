import { add, cat, mul, QuantError, relu, type Tensor } from '@quint/tensor';
import { Identity } from './linear.js';
import { BUILTIN, isObserverLike, Module, moduleError, type ObserverLike } from './module.js';

/** Applies an `activationPostProcess` slot: a module is called (hooks, tracing), an observer forwarded. */
export function applyPostProcess<T>(slot: Module | ObserverLike | undefined, x: T): T {
  if (slot === undefined) return x;
  if (slot instanceof Module) return (slot.call as (...a: unknown[]) => unknown).call(slot, x) as T;
  if (isObserverLike(slot)) return slot.forward(x as unknown as Tensor) as unknown as T;
  return x;
}

/**
 * Float operations that eager-mode quantization can observe and later swap for quantized ones
 * (`torch.ao.nn.quantized.FloatFunctional`): use `ff.add(x, y)` instead of `add(x, y)`. `add`,
 * `mul`, `cat` and `addRelu` pass their result through `activationPostProcess` (an `Identity`
 * until `prepare` puts an observer there); `addScalar` and `mulScalar` are not observed, as in
 * PyTorch.
 *
 * @throws `UNSUPPORTED_OP` from `forward` (PyTorch's "not intended to use the 'forward'").
 * @example
 * class Block extends Module {
 *   skipAdd = new FloatFunctional();
 *   forward(x: Tensor): Tensor { return this.skipAdd.add(x, x); }
 * }
 * @see https://pytorch.org/docs/stable/generated/torch.ao.nn.quantized.FloatFunctional.html
 */
export class FloatFunctional extends Module {
  static readonly [BUILTIN] = true;
  override activationPostProcess: Module | ObserverLike = new Identity();

  forward(): never {
    throw moduleError(
      this,
      new QuantError('UNSUPPORTED_OP', ''),
      (path) =>
        `FloatFunctional${path === '' ? '' : ` '${path}'`} is not intended to use 'forward'; call its operations (add, mul, cat, addRelu, addScalar, mulScalar).`,
    );
  }

  /** `add(x, y)`, observed. @example ff.add(x, y) */
  add(x: Tensor, y: Tensor): Tensor {
    return applyPostProcess(this.activationPostProcess, add(x, y));
  }

  /** `add(x, y)` with a number, not observed. @example ff.addScalar(x, 1) */
  addScalar(x: Tensor, y: number): Tensor {
    return add(x, y);
  }

  /** `mul(x, y)`, observed. @example ff.mul(x, y) */
  mul(x: Tensor, y: Tensor): Tensor {
    return applyPostProcess(this.activationPostProcess, mul(x, y));
  }

  /** `mul(x, y)` with a number, not observed. @example ff.mulScalar(x, 0.5) */
  mulScalar(x: Tensor, y: number): Tensor {
    return mul(x, y);
  }

  /** `cat(xs, dim)`, observed. @example ff.cat([a, b], 1) */
  cat(xs: readonly Tensor[], dim = 0): Tensor {
    return applyPostProcess(this.activationPostProcess, cat(xs, dim));
  }

  /** `relu(add(x, y))`, observed. @example ff.addRelu(x, y) */
  addRelu(x: Tensor, y: Tensor): Tensor {
    return applyPostProcess(this.activationPostProcess, relu(add(x, y)));
  }
}
