// Mirrors torch/fx/_symbolic_trace.py (PyTorch 1.13) `Tracer` and `symbolic_trace`. Instead of
// patching `Module.__call__` and `torch.*`, the tracer installs itself with pushOpInterceptor:
// `Module.call` and every `defineOp` op of @quint/tensor consult it while it is installed.
import { DeQuantStub, Module, Parameter, QuantStub, Sequential, isBuiltinModule } from '@quint/nn';
import {
  NOT_INTERCEPTED,
  QuantError,
  Tensor,
  popOpInterceptor,
  pushOpInterceptor,
  type OpInterceptor,
  type TracedOp,
} from '@quint/tensor';
import { isPlainObject } from './format.js';
import { Graph } from './graph.js';
import { GraphModule } from './graph-module.js';
import type { Argument, Kwargs, Node, Opcode, Target } from './node.js';
import { TraceProxy, isTraceProxy, proxyNode, proxyTracer, type ProxyTracer } from './trace-proxy.js';

/** A module class, for {@link SymbolicTraceOptions.leafModules}. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ModuleClass = abstract new (...args: any[]) => Module;

/**
 * Which modules to keep as `call_module` nodes besides the default ones: classes (any instance,
 * subclasses included), instances, or a predicate over the module and its qualified name.
 */
export type LeafModules = readonly (ModuleClass | Module)[] | ((m: Module, qualifiedName: string) => boolean);

/** Options of {@link symbolicTrace} and {@link Tracer}. */
export interface SymbolicTraceOptions {
  /**
   * Modules to record as `call_module` instead of tracing through, in addition to the default leaves:
   * the built-in layers of `@quint/nn` (`isBuiltinModule`), except `Sequential`, `QuantStub` and
   * `DeQuantStub`, which torch.fx traces through as well.
   */
  readonly leafModules?: LeafModules | undefined;
  /**
   * Values for named `forward` parameters, passed as they are instead of a traced input: such
   * parameters are specialized and are not inputs of the graph.
   */
  readonly concreteArgs?: Readonly<Record<string, unknown>> | undefined;
}

interface ForwardParam {
  readonly name: string;
  readonly hasDefault: boolean;
}

function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  let quote: string | null = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote !== null) {
      cur += c;
      if (c === '\\') cur += s[++i] ?? '';
      else if (c === quote) quote = null;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') quote = c;
    else if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    if (c === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  if (cur.trim() !== '') out.push(cur);
  return out;
}

function stripComments(s: string): string {
  return s.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/[^\n]*/g, '');
}

/** The parameter list of `forward`, read from its source (JS keeps no signature at runtime). */
function forwardParams(fn: (...a: never[]) => unknown, where: string): ForwardParam[] {
  const src = stripComments(Function.prototype.toString.call(fn));
  const arrow = /^\s*(?:async\s+)?([A-Za-z_$][\w$]*)\s*=>/.exec(src);
  if (arrow !== null) return [{ name: arrow[1]!, hasDefault: false }];
  const open = src.indexOf('(');
  let depth = 0;
  let close = -1;
  for (let i = open; i < src.length; i++) {
    if (src[i] === '(') depth++;
    else if (src[i] === ')' && --depth === 0) {
      close = i;
      break;
    }
  }
  if (open < 0 || close < 0) {
    throw new QuantError(
      'TRACE_FAILED',
      `symbolicTrace: cannot read the parameters of ${where}.forward; define forward as a method with named parameters.`,
    );
  }
  return splitTopLevel(src.slice(open + 1, close)).map((raw) => {
    const p = raw.trim();
    const m = /^([A-Za-z_$][\w$]*)\s*(=[\s\S]*)?$/.exec(p);
    if (m === null) {
      throw new QuantError(
        'TRACE_FAILED',
        `symbolicTrace: parameter '${p}' of ${where}.forward cannot be traced (rest or destructured parameters have no single input); give forward one named parameter per input.`,
      );
    }
    return { name: m[1]!, hasDefault: m[2] !== undefined };
  });
}

/** Does a structure of arguments hold a proxy? */
function containsProxy(a: unknown): boolean {
  if (isTraceProxy(a)) return true;
  if (Array.isArray(a)) return a.some(containsProxy);
  if (isPlainObject(a)) return Object.values(a).some(containsProxy);
  return false;
}

const here = (() => {
  try {
    return decodeURIComponent(new URL('.', import.meta.url).pathname);
  } catch {
    return '';
  }
})();

/** The first stack frame outside this package: the user's line that used the traced value. */
function userFrame(): string | undefined {
  const stack = new Error().stack?.split('\n').slice(1) ?? [];
  for (const line of stack) {
    const m = /\(?((?:file:\/\/)?\/[^()]+?):(\d+):(\d+)\)?\s*$/.exec(line.trim());
    if (m === null) continue;
    let file = decodeURIComponent(m[1]!.replace(/^file:\/\//, ''));
    if (here !== '' && file.startsWith(here)) continue;
    if (/\/packages\/(tensor|nn)\/(src|dist)\//.test(file) || file.includes('/node_modules/')) continue;
    const cwd = typeof process !== 'undefined' ? `${process.cwd()}/` : '';
    if (cwd !== '/' && file.startsWith(cwd)) file = file.slice(cwd.length);
    return `${file}:${m[2]}:${m[3]}`;
  }
  return undefined;
}

/**
 * Records a module's `forward` into a {@link Graph} (torch.fx's `Tracer`): inputs become
 * `placeholder` nodes holding {@link TraceProxy} values; leaf-module calls become `call_module`,
 * functional ops of `@quint/tensor` `call_function`, methods on proxies `call_method`, and
 * parameters/buffers used as arguments `get_attr`. Non-leaf modules are traced through. Subclass it
 * and override `isLeafModule`, `callModule`, `callOp` or `createArg` to change what is recorded.
 *
 * @throws QuantError `TRACE_FAILED` for data-dependent control flow and untraceable signatures.
 * @example
 * const graph = new Tracer({ leafModules: [MyBlock] }).trace(model);
 * @see https://pytorch.org/docs/1.13/fx.html#torch.fx.Tracer
 */
export class Tracer implements OpInterceptor, ProxyTracer {
  /** The graph being built (a fresh one per {@link Tracer.trace}). */
  graph = new Graph();
  /** The module being traced. */
  root: Module | undefined = undefined;
  /** Tensors that are not attributes of the root, stored on the GraphModule as `_tensor_constant<i>`. */
  readonly tensorConstants = new Map<string, Tensor>();
  private readonly leafModules: LeafModules | undefined;
  private submodulePaths = new Map<Module, string>();
  private tensorAttrs = new Map<Tensor, string>();
  private parameterProxies = new Map<string, TraceProxy>();
  private readonly moduleStack: { path: string; module: Module }[] = [];
  private tracing = false;

  /** A tracer with extra leaf modules (see {@link SymbolicTraceOptions.leafModules}). */
  constructor(options: Pick<SymbolicTraceOptions, 'leafModules'> = {}) {
    this.leafModules = options.leafModules;
  }

  /**
   * Traces `root.forward` and returns the graph. Each named parameter of `forward` becomes a
   * placeholder, except those in `concreteArgs` and those with a default value, which are passed
   * as given (or left to their default) and specialized.
   *
   * @throws QuantError `TRACE_FAILED` (see {@link Tracer}).
   * @example
   * const g = new Tracer().trace(model);
   */
  trace(root: Module, concreteArgs: Readonly<Record<string, unknown>> = {}): Graph {
    this.root = root;
    this.graph = new Graph();
    this.tensorConstants.clear();
    this.parameterProxies = new Map();
    this.submodulePaths = new Map();
    for (const [name, m] of root.namedModules()) if (!this.submodulePaths.has(m)) this.submodulePaths.set(m, name);
    // Every tensor attribute of the hierarchy (parameters, buffers, plain tensors) by qualified name.
    this.tensorAttrs = new Map();
    for (const [path, m] of root.namedModules()) {
      for (const [k, v] of Object.entries(m)) {
        if (v instanceof Tensor && !this.tensorAttrs.has(v)) this.tensorAttrs.set(v, path === '' ? k : `${path}.${k}`);
      }
    }
    const params: ForwardParam[] =
      root instanceof GraphModule
        ? root.graph.nodes
            .filter((n) => n.op === 'placeholder')
            .map((n) => ({ name: n.target as string, hasDefault: false }))
        : forwardParams(root.forward, root.getName());
    const args = params.map((p) => {
      if (Object.hasOwn(concreteArgs, p.name)) return concreteArgs[p.name];
      if (p.hasDefault) return undefined;
      return this.createProxy('placeholder', p.name, []);
    });
    pushOpInterceptor(this);
    this.tracing = true;
    this.moduleStack.push({ path: '', module: root });
    try {
      const out = (root.forward as (...a: unknown[]) => unknown).apply(root, args);
      this.createNode('output', 'output', [this.createArg(out)], {});
    } finally {
      this.moduleStack.pop();
      this.tracing = false;
      popOpInterceptor();
    }
    return this.graph;
  }

  /**
   * Whether `m` is recorded as one `call_module` node (true) or traced through (false). Default: the
   * built-in layers of `@quint/nn` except `Sequential`/`QuantStub`/`DeQuantStub`, plus
   * `leafModules`.
   */
  isLeafModule(m: Module, qualifiedName: string): boolean {
    const lm = this.leafModules;
    if (typeof lm === 'function') {
      if (lm(m, qualifiedName)) return true;
    } else if (lm !== undefined) {
      for (const l of lm) {
        if (l === m) return true;
        if (typeof l === 'function' && m instanceof l) return true;
      }
    }
    return isBuiltinModule(m) && !(m instanceof Sequential) && !(m instanceof QuantStub) && !(m instanceof DeQuantStub);
  }

  /**
   * The qualified name of `m` in the root module.
   *
   * @throws QuantError `TRACE_FAILED` when `m` is not a submodule of the root.
   */
  pathOfModule(m: Module): string {
    const p = this.submodulePaths.get(m);
    if (p === undefined) {
      throw new QuantError(
        'TRACE_FAILED',
        `symbolicTrace: ${this.where()}.forward calls a ${m.getName()} that is not a submodule of the traced module; assign it to a property in the constructor.`,
      );
    }
    return p;
  }

  /**
   * Called by `Module.call` while tracing: leaf modules become `call_module` nodes, others run
   * `forward` (traced through).
   */
  callModule(module: object, args: readonly unknown[], forward: () => unknown): unknown {
    if (!this.tracing || !(module instanceof Module)) return NOT_INTERCEPTED;
    const path = this.pathOfModule(module);
    if (this.isLeafModule(module, path)) return this.createProxy('call_module', path, args);
    this.moduleStack.push({ path, module });
    try {
      return forward();
    } finally {
      this.moduleStack.pop();
    }
  }

  /**
   * Called for every functional op while tracing: records a `call_function` node when an argument
   * holds a proxy or a parameter of the root; otherwise lets the op compute (constants fold, as in
   * torch.fx).
   */
  callOp(op: TracedOp, args: readonly unknown[]): unknown {
    if (!this.tracing || !this.isTraced(args)) return NOT_INTERCEPTED;
    return this.createProxy('call_function', op, args);
  }

  // Parameters of the root count as traced values (torch.fx proxies them on attribute access), so
  // `relu(this.weight)` is recorded rather than folded into a constant.
  private isTraced(a: unknown): boolean {
    if (containsProxy(a)) return true;
    if (a instanceof Parameter) return this.tensorAttrs.has(a);
    if (Array.isArray(a)) return a.some((x) => this.isTraced(x));
    if (isPlainObject(a)) return Object.values(a).some((x) => this.isTraced(x));
    return false;
  }

  /** Inserts a node (after lowering nothing: `args` are already arguments). */
  createNode(op: Opcode, target: Target, args: readonly Argument[], kwargs: Kwargs, name?: string): Node {
    return this.graph.createNode(op, target, args, kwargs, name);
  }

  /** Lowers `args`/`kwargs` with {@link Tracer.createArg}, inserts a node, and wraps it in a proxy. */
  createProxy(
    op: Opcode,
    target: Target,
    args: readonly unknown[],
    kwargs: Readonly<Record<string, unknown>> = {},
    name?: string,
  ): TraceProxy {
    const a = args.map((x) => this.createArg(x));
    const k: Record<string, Argument> = {};
    for (const [key, v] of Object.entries(kwargs)) k[key] = this.createArg(v);
    return new TraceProxy(this.createNode(op, target, a, k, name), this);
  }

  /**
   * Turns a value met during tracing into a node argument: proxies into their nodes, parameters into
   * (cached) `get_attr` nodes, other tensors of the module into `get_attr` nodes, foreign tensors
   * into `_tensor_constant<i>` attributes, arrays and plain objects element-wise; numbers, strings,
   * booleans, null and undefined stay.
   *
   * @throws QuantError `TRACE_FAILED` for proxies of another tracer and values that cannot be recorded.
   */
  createArg(a: unknown): Argument {
    if (isTraceProxy(a)) {
      if (proxyTracer(a) !== this) {
        throw new QuantError(
          'TRACE_FAILED',
          `symbolicTrace: ${this.where()}.forward uses a traced value of another trace; trace one module at a time.`,
        );
      }
      return proxyNode(a);
    }
    if (Array.isArray(a)) return a.map((x: unknown) => this.createArg(x));
    if (isPlainObject(a)) {
      const r: Record<string, Argument> = {};
      for (const [k, v] of Object.entries(a)) r[k] = this.createArg(v);
      return r;
    }
    if (a instanceof Tensor) return this.tensorArg(a);
    if (a instanceof Module) {
      const p = this.submodulePaths.get(a);
      if (p !== undefined) return this.createNode('get_attr', p, [], {});
    }
    if (a === null || a === undefined || ['number', 'string', 'boolean', 'bigint'].includes(typeof a)) return a;
    if (typeof a === 'function' && typeof (a as { opName?: unknown }).opName === 'string') return a;
    const what = typeof a === 'object' ? ((a as object).constructor?.name ?? 'object') : typeof a;
    throw new QuantError(
      'TRACE_FAILED',
      `symbolicTrace: ${this.where()}.forward passes a ${what} to a traced call, which a graph cannot hold; pass tensors, numbers, strings or arrays of them.`,
    );
  }

  private tensorArg(t: Tensor): Node {
    const name = this.tensorAttrs.get(t);
    if (name !== undefined) {
      // Parameters get one get_attr node each, as torch.fx's parameter_proxy_cache; buffers one per use.
      if (!(t instanceof Parameter)) return this.createNode('get_attr', name, [], {});
      let p = this.parameterProxies.get(name);
      if (p === undefined) {
        p = this.createProxy('get_attr', name, []);
        this.parameterProxies.set(name, p);
      }
      return proxyNode(p);
    }
    let qualname: string | undefined;
    for (const [k, v] of this.tensorConstants) if (v === t) qualname = k;
    if (qualname === undefined) {
      let i = 0;
      while (
        this.tensorConstants.has(`_tensor_constant${i}`) ||
        (this.root !== undefined && `_tensor_constant${i}` in this.root)
      )
        i++;
      qualname = `_tensor_constant${i}`;
      this.tensorConstants.set(qualname, t);
    }
    return this.createNode('get_attr', qualname, [], {});
  }

  private where(): string {
    const top = this.moduleStack[this.moduleStack.length - 1];
    if (top === undefined) return this.root?.getName() ?? 'the traced module';
    return top.path === '' ? top.module.getName() : top.path;
  }

  /**
   * The `TRACE_FAILED` error for a data-dependent use of a traced value, naming the module whose
   * forward was running, the use, the user's source line, and the fix.
   */
  dataDependenceError(what: string): QuantError {
    const top = this.moduleStack[this.moduleStack.length - 1];
    const at = userFrame();
    const loc = at === undefined ? '' : ` (at ${at})`;
    if (!this.tracing || top === undefined) {
      return new QuantError(
        'TRACE_FAILED',
        `a traced value was used after symbolic tracing ended: ${what}${loc}; use the GraphModule's outputs, not the proxies.`,
      );
    }
    const fix =
      top.path === ''
        ? `move that code into a submodule and mark it as a leaf with symbolicTrace(m, { leafModules: [...] }) or remove the data dependence`
        : `mark that module as a leaf with symbolicTrace(m, { leafModules: [${top.module.getName()}] }) or remove the data dependence`;
    return new QuantError(
      'TRACE_FAILED',
      `symbolic tracing hit data-dependent control flow in ${this.where()}.forward: ${what}${loc}; ${fix}.`,
    );
  }
}

/**
 * Traces `root` into a {@link GraphModule} (torch.fx's `symbolic_trace`): the same computation as a
 * graph of `call_module` (leaf modules), `call_function` (functional ops), `call_method` (tensor
 * methods) and `get_attr` nodes, named as torch.fx names them. The GraphModule's class name is the
 * root's.
 *
 * Limitations of JavaScript: `if (x)` on a traced value cannot be detected (a proxy is always
 * truthy), operators such as `+` cannot be recorded (use `add`), and `forward` must take named
 * parameters (their names become the placeholders; parameters with defaults are specialized).
 *
 * @throws QuantError `TRACE_FAILED` for data-dependent control flow (comparisons, template strings,
 *   `.item()`, `.data`, iteration), calls to modules outside the hierarchy, or untraceable signatures.
 * @example
 * const gm = symbolicTrace(model, { leafModules: [MyBlock] });
 * console.log(String(gm.graph));
 * gm.call(x); // same result as model.call(x)
 * @see https://pytorch.org/docs/1.13/fx.html#torch.fx.symbolic_trace
 */
export function symbolicTrace(root: Module, options: SymbolicTraceOptions = {}): GraphModule {
  const tracer = new Tracer({ leafModules: options.leafModules });
  const graph = tracer.trace(root, options.concreteArgs ?? {});
  const name = root.getName();
  if (tracer.tensorConstants.size === 0) return new GraphModule(root, graph, name);
  const record: Record<string, unknown> = {};
  for (const n of graph.nodes) {
    if (n.op !== 'get_attr' && n.op !== 'call_module') continue;
    const t = n.target as string;
    const c = tracer.tensorConstants.get(t);
    record[t] = c ?? t.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], root);
  }
  const gm = new GraphModule(record, graph, name);
  gm.training = root.training;
  return gm;
}
