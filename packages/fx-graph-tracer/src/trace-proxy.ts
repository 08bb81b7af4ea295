// torch/fx/proxy.py (PyTorch 1.13) `Proxy` and `Attribute`, renamed TraceProxy (Proxy is a JS global).
// A JS Proxy stands in for a tensor during symbolic tracing: any method call becomes a call_method
// node, `x[0]` a getitem node, and `x.shape` a getattr node. Coercions to primitives, iteration and
// reading data throw the tracer's data-dependence error. JavaScript gives no hook for truthiness, so
// `if (x)` on a proxy is always true and cannot be detected (see the README).
import type { QuantError } from '@quint/tensor';
import { getattr, getitem } from './builtins.js';
import type { Node, Opcode, Target } from './node.js';

/** What a {@link TraceProxy} needs from the tracer that made it. */
export interface ProxyTracer {
  /** Records a node (lowering `args` with the tracer's `createArg`) and wraps it in a proxy. */
  createProxy(
    op: Opcode,
    target: Target,
    args: readonly unknown[],
    kwargs?: Readonly<Record<string, unknown>>,
    name?: string,
  ): TraceProxy;
  /** The error for a data-dependent use of a traced value; `what` says which use. */
  dataDependenceError(what: string): QuantError;
}

interface ProxyState {
  node: Node | undefined;
  readonly tracer: ProxyTracer;
  // Set for attribute proxies (`x.view` before it is called, `x.shape`): the node is made lazily.
  readonly root?: TraceProxy;
  readonly attr?: string;
}

const STATES = new WeakMap<object, ProxyState>();

function stateOf(x: object): ProxyState {
  const s = STATES.get(x);
  if (s === undefined) throw new TypeError('not a TraceProxy');
  return s;
}

function nodeOf(s: ProxyState): Node {
  if (s.node !== undefined) return s.node;
  const n = s.tracer.createProxy('call_function', getattr, [s.root, s.attr]).node as Node;
  s.node = n;
  return n;
}

const INSPECT = Symbol.for('nodejs.util.inspect.custom');

// Reading a tensor's values cannot be recorded: these fail at once, naming the access.
const DATA_ACCESS: Readonly<Record<string, string>> = {
  item: 'read its value with .item()',
  data: 'read its .data',
  toArray: 'read its values with .toArray()',
  toFloat32Array: 'read its values with .toFloat32Array()',
  tolist: 'read its values with .tolist()',
  get: 'read an element with .get()',
  set: 'wrote an element with .set()',
  toJSON: 'serialized it with JSON.stringify',
};

function describe(s: ProxyState): string {
  return s.node !== undefined ? `%${s.node.name}` : `.${s.attr}`;
}

const HANDLER: ProxyHandler<object> = {
  get(target, key, receiver) {
    const s = stateOf(target);
    if (key === 'node') return nodeOf(s);
    if (key === 'tracer') return s.tracer;
    if (typeof key === 'symbol') {
      if (key === Symbol.toPrimitive) {
        return (hint: string) => {
          const use =
            hint === 'string'
              ? 'converted to a string (a template literal or String())'
              : hint === 'number'
                ? 'used as a number (a comparison such as x > 0, or arithmetic)'
                : 'used as a primitive (+, == or concatenation)';
          throw s.tracer.dataDependenceError(`the traced value ${describe(s)} was ${use}`);
        };
      }
      if (key === Symbol.iterator || key === Symbol.asyncIterator) {
        return () => {
          throw s.tracer.dataDependenceError(
            `the traced value ${describe(s)} was iterated (for…of, spread or destructuring); index it with a constant (x[0]) instead`,
          );
        };
      }
      if (key === INSPECT) return () => `TraceProxy(${describe(s)})`;
      if (key === Symbol.toStringTag) return 'TraceProxy';
      return undefined;
    }
    // A proxy must not look like a thenable, or returning it from an async function would call it.
    if (key === 'then') return undefined;
    if (key === 'valueOf' || key === 'toString') {
      return () => {
        throw s.tracer.dataDependenceError(`the traced value ${describe(s)} was converted with .${key}()`);
      };
    }
    const data = DATA_ACCESS[key];
    if (data !== undefined) throw s.tracer.dataDependenceError(`the code ${data} of the traced value ${describe(s)}`);
    if (/^(0|-?[1-9][0-9]*)$/.test(key)) return s.tracer.createProxy('call_function', getitem, [receiver, Number(key)]);
    return makeAttribute(receiver as TraceProxy, key, s.tracer);
  },
  set(target, key) {
    const s = stateOf(target);
    throw s.tracer.dataDependenceError(
      `the code assigned property ${String(key)} of the traced value ${describe(s)}, which tracing cannot record`,
    );
  },
  apply(target, _this, args: unknown[]) {
    const s = stateOf(target);
    if (s.root === undefined) {
      throw s.tracer.dataDependenceError(`the traced value ${describe(s)} was called as a function`);
    }
    return s.tracer.createProxy('call_method', s.attr!, [s.root, ...args]);
  },
};

function makeAttribute(root: TraceProxy, attr: string, tracer: ProxyTracer): TraceProxy {
  // An arrow function target makes the proxy callable (x.view(...)) and has no non-configurable
  // own properties that would constrain the get trap.
  const target = (() => undefined) as unknown as object;
  Object.setPrototypeOf(target, TraceProxy.prototype);
  const state: ProxyState = { node: undefined, tracer, root, attr };
  STATES.set(target, state);
  const p = new Proxy(target, HANDLER) as TraceProxy;
  STATES.set(p, state);
  return p;
}

/**
 * The stand-in for a tensor during {@link symbolicTrace} (torch.fx's `Proxy`): it wraps the
 * {@link Node} that produced it, and every method call, index or attribute read on it records a new
 * node — `x.view([n, -1])` → `call_method[target=view]`, `x[0]` → `call_function[target=getitem]`,
 * `x.shape` → `call_function[target=getattr]`. Using its value (comparisons, template strings,
 * `.item()`, `.data`, iteration) throws `TRACE_FAILED`. `if (x)` cannot be intercepted in JavaScript:
 * a proxy is always truthy.
 *
 * @example
 * const g = new Graph();
 * const tracer = new Tracer();
 * tracer.graph = g;
 * const x = new TraceProxy(g.placeholder('x'), tracer);
 * const y = x.flatten(1); // records %flatten : call_method[target=flatten](args = (%x, 1))
 * @see https://pytorch.org/docs/1.13/fx.html#torch.fx.Proxy
 */
export class TraceProxy {
  // Any method name is valid on a proxy; the result is another proxy.
  [key: string]: any;

  /** Wraps `node`; calls on the proxy record into `tracer`. */
  constructor(node: Node, tracer: ProxyTracer) {
    const state: ProxyState = { node, tracer };
    STATES.set(this, state);
    const p = new Proxy(this, HANDLER);
    STATES.set(p, state);
    return p as this;
  }
}

/**
 * True for a {@link TraceProxy} (node proxies and attribute proxies alike).
 *
 * @example
 * isTraceProxy(x); // true inside a forward being traced
 */
export function isTraceProxy(x: unknown): x is TraceProxy {
  return (typeof x === 'object' || typeof x === 'function') && x !== null && STATES.has(x);
}

/** The node behind a proxy (an attribute proxy records its getattr node now). @internal */
export function proxyNode(p: TraceProxy): Node {
  return nodeOf(stateOf(p));
}

/** The tracer a proxy records into. @internal */
export function proxyTracer(p: TraceProxy): ProxyTracer {
  return stateOf(p).tracer;
}
