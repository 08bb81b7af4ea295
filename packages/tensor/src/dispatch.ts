/**
 * The dispatch point for functional ops. Every op in `functional.ts` is made with {@link defineOp};
 * while a tracer is installed (the FX tracer pushes one for the duration of `symbolicTrace`), calls
 * go to it instead of the float implementation, so user code is traced without changes.
 */

/** What a tracer implements to intercept functional ops. */
export interface OpInterceptor {
  /**
   * Called for every functional op while installed. Return {@link NOT_INTERCEPTED} to let the float
   * implementation run (e.g. when no argument is a trace proxy).
   */
  callOp(op: TracedOp, args: readonly unknown[]): unknown;
  /**
   * Called by `Module.call` (in `@quint/nn`) for every module call while installed; `forward` runs
   * the module normally. Return {@link NOT_INTERCEPTED} to trace through the module.
   */
  callModule(module: object, args: readonly unknown[], forward: () => unknown): unknown;
}

/** Returned by an {@link OpInterceptor} that leaves a call to the float implementation. */
export const NOT_INTERCEPTED: unique symbol = Symbol('quint.notIntercepted');

/** A functional op: callable like its implementation, and carrying its name for graphs. */
export type TracedOp<F extends (...args: never[]) => unknown = (...args: never[]) => unknown> = F & {
  readonly opName: string;
  readonly impl: F;
};

// The one piece of module-level state DESIGN.md allows: symbolicTrace pushes and pops it.
const interceptors: OpInterceptor[] = [];

/**
 * Installs an interceptor until {@link popOpInterceptor}. Nested tracing stacks.
 *
 * @example
 * pushOpInterceptor(tracer); try { module.forward(proxy) } finally { popOpInterceptor() }
 */
export function pushOpInterceptor(interceptor: OpInterceptor): void {
  interceptors.push(interceptor);
}

/** Removes the interceptor installed last. */
export function popOpInterceptor(): void {
  interceptors.pop();
}

/**
 * Routes a module call through the installed interceptor, if any. `@quint/nn`'s `Module.call` uses it
 * so `symbolicTrace` sees module boundaries (leaf modules become `call_module` nodes).
 *
 * @example
 * call(...args) { return dispatchModuleCall(this, args, () => this.forward(...args)); }
 */
export function dispatchModuleCall(module: object, args: readonly unknown[], forward: () => unknown): unknown {
  const top = interceptors[interceptors.length - 1];
  if (top !== undefined) {
    const r = top.callModule(module, args, forward);
    if (r !== NOT_INTERCEPTED) return r;
  }
  return forward();
}

/**
 * Wraps a float implementation as a functional op that tracers can intercept.
 *
 * @example
 * export const relu = defineOp('relu', reluImpl);
 */
export function defineOp<F extends (...args: never[]) => unknown>(opName: string, impl: F): TracedOp<F> {
  const op = ((...args: never[]) => {
    const top = interceptors[interceptors.length - 1];
    if (top !== undefined) {
      const r = top.callOp(op as unknown as TracedOp, args);
      if (r !== NOT_INTERCEPTED) return r;
    }
    return impl(...args);
  }) as unknown as TracedOp<F>;
  Object.defineProperty(op, 'opName', { value: opName });
  Object.defineProperty(op, 'impl', { value: impl });
  Object.defineProperty(op, 'name', { value: opName });
  return op;
}
