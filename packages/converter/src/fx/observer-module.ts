// PyTorch's observers are nn.Modules, so prepare_fx can call them as `call_module` nodes named
// `activation_post_process_<k>`. quint's observers (@quint/observers) are plain objects; this module
// carries one so the graph can call it, print it and save its buffers under PyTorch's keys.
import { Module, type LoadStateDictContext, type ObserverLike, type StateDict } from '@quint/nn';
import { Tensor } from '@quint/tensor';

/**
 * The module an observed GraphModule calls for each `activation_post_process_<k>` node: it feeds
 * its input to {@link ObserverModule.observer} and returns the input unchanged. Several names may
 * hold one instance (PyTorch's shared observers: `cat` inputs, maxpool/flatten/relu outputs). Its
 * state-dict keys are the observer's buffers (`activation_post_process_0.min_val`, `.max_val`,
 * `.histogram`), so PyTorch's observer state loads with `gm.loadStateDict(sd, { strict: false })`.
 * Prints as the observer does.
 *
 * @example
 * const obs = prepared.getSubmodule('activation_post_process_0') as ObserverModule;
 * obs.observer.calculateQparams(); // { scale: Float32Array [...], zeroPoint: Int32Array [...] }
 * @see https://pytorch.org/docs/1.13/generated/torch.ao.quantization.observer.ObserverBase.html
 */
export class ObserverModule extends Module {
  /** The observer this module calls. */
  declare readonly observer: ObserverLike;

  /** Wraps `observer` (kept by reference). */
  constructor(observer: ObserverLike) {
    super();
    Object.defineProperty(this, 'observer', {
      value: observer,
      enumerable: false,
      writable: false,
      configurable: true,
    });
  }

  /** Feeds `x` to the observer and returns `x` itself. */
  forward(x: Tensor): Tensor {
    this.observer.forward(x);
    return x;
  }

  /** The observer's class name (`HistogramObserver`, …). */
  override getName(): string {
    return this.observer.constructor.name;
  }

  /** The observer's own printout, as PyTorch prints an observer module. */
  override toString(): string {
    return String(this.observer);
  }

  protected override saveToStateDict(out: StateDict, prefix: string): void {
    const sd = this.observer.stateDict?.() ?? {};
    for (const [k, v] of Object.entries(sd)) out[`${prefix}${k}`] = new Tensor(Float32Array.from(v), [v.length]);
  }

  protected override loadFromStateDict(
    sd: StateDict,
    prefix: string,
    ctx: LoadStateDictContext,
    consumed: Set<string>,
  ): void {
    const own = this.observer.stateDict?.() ?? {};
    const next: Record<string, Float32Array | Int32Array> = {};
    let found = 0;
    for (const k of Object.keys(own)) {
      const v = sd[`${prefix}${k}`];
      if (v instanceof Tensor) {
        next[k] =
          own[k] instanceof Int32Array ? Int32Array.from(v.toFloat32Array()) : Float32Array.from(v.toFloat32Array());
        consumed.add(`${prefix}${k}`);
        found++;
      } else if (ctx.strict) {
        ctx.missingKeys.push(`${prefix}${k}`);
      }
    }
    if (found === Object.keys(own).length && found > 0) this.observer.loadStateDict?.(next);
  }
}

/** True for the module of an `activation_post_process_<k>` node. */
export function isObserverModule(m: unknown): m is ObserverModule {
  return m instanceof ObserverModule;
}
