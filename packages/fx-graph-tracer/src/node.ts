// Mirrors torch/fx/node.py (PyTorch 1.13): the IR spec is the docstring of `Node`.
import { QuantError } from '@quint/tensor';
import { functionName, isPlainObject, pyStr, pyStringRepr, type CallableTarget } from './format.js';
import type { Graph } from './graph.js';

/**
 * The six opcodes of torch.fx, spelled as in PyTorch.
 *
 * @see https://pytorch.org/docs/1.13/fx.html#torch.fx.Node
 */
export type Opcode = 'placeholder' | 'get_attr' | 'call_function' | 'call_module' | 'call_method' | 'output';

/** The opcodes, in the order torch.fx documents them. */
export const OPCODES: readonly Opcode[] = Object.freeze([
  'placeholder',
  'get_attr',
  'call_function',
  'call_module',
  'call_method',
  'output',
]);

/**
 * What a node calls or names: a qualified name (`'layer1.0.conv'`) for `get_attr`/`call_module`, a
 * method name for `call_method`, the argument name for `placeholder`, `'output'` for `output`, and
 * the function itself (usually a `defineOp` op of `@quint/tensor`) for `call_function`.
 */
export type Target = string | CallableTarget;

/**
 * A value in `args`/`kwargs`: a {@link Node}, a number, string, boolean, `null`/`undefined`, a nested
 * array or plain object of arguments, or any other constant (kept by reference).
 */
export type Argument = unknown;

/** Keyword arguments of a node; `call_function`/`call_method` pass them as a trailing options object. */
export type Kwargs = Readonly<Record<string, Argument>>;

function mapAggregateInner(a: Argument, fn: (x: Argument) => Argument): Argument {
  if (Array.isArray(a)) {
    // A loop, not a.map: no closure per array (the interpreter maps every node's args on every run).
    const r: Argument[] = new Array(a.length);
    for (let i = 0; i < a.length; i++) r[i] = mapAggregateInner(a[i], fn);
    return Object.freeze(r);
  }
  if (isPlainObject(a)) {
    const r: Record<string, Argument> = {};
    for (const k of Object.keys(a)) r[k] = mapAggregateInner(a[k], fn);
    return Object.freeze(r);
  }
  return fn(a);
}

/**
 * Applies `fn` to every leaf of an argument structure (arrays and plain objects are rebuilt, frozen).
 *
 * @example
 * mapAggregate([1, [2, 3]], (x) => (typeof x === 'number' ? x * 10 : x)); // [10, [20, 30]]
 * @see https://github.com/pytorch/pytorch/blob/v1.13.1/torch/fx/node.py
 */
export function mapAggregate<T extends Argument>(a: T, fn: (x: Argument) => Argument): T {
  return mapAggregateInner(a, fn) as T;
}

/**
 * Applies `fn` to every {@link Node} inside an argument structure, keeping everything else.
 *
 * @example
 * const renamed = mapArg(node.args, (n) => (n === oldNode ? newNode : n));
 * @see https://github.com/pytorch/pytorch/blob/v1.13.1/torch/fx/node.py
 */
export function mapArg<T extends Argument>(a: T, fn: (n: Node) => Argument): T {
  return mapAggregateInner(a, (x) => (x instanceof Node ? fn(x) : x)) as T;
}

/**
 * Formats an argument as torch.fx's graph printout does: nodes as `%name`, arrays as `[a, b]`, the
 * top-level args as a tuple `(a,)`, plain objects as `{k: v}`, `null` as `None`.
 *
 * @example
 * formatArg(node.args, true); // '(%x, 1)'
 */
export function formatArg(arg: Argument, asTuple = false): string {
  if (Array.isArray(arg)) {
    const items = arg.map((a: Argument) => formatArg(a)).join(', ');
    if (!asTuple) return `[${items}]`;
    return `(${items}${arg.length === 1 ? ',' : ''})`;
  }
  if (isPlainObject(arg)) {
    return `{${Object.entries(arg)
      .map(([k, v]) => `${k}: ${formatArg(v)}`)
      .join(', ')}}`;
  }
  if (arg instanceof Node) return `%${arg.name}`;
  return pyStr(arg);
}

/**
 * Python's `repr()` of an argument, as generated code and the `return` line of the printout show it:
 * nodes by bare name, strings quoted, arrays as `[a, b]`, plain objects as `{'k': v}`.
 *
 * @example
 * reprArg([node, 'x', null]); // "[conv, 'x', None]"
 */
export function reprArg(a: Argument): string {
  if (a instanceof Node) return a.name;
  if (Array.isArray(a)) return `[${a.map((e: Argument) => reprArg(e)).join(', ')}]`;
  if (isPlainObject(a)) {
    return `{${Object.entries(a)
      .map(([k, v]) => `${pyStringRepr(k)}: ${reprArg(v)}`)
      .join(', ')}}`;
  }
  if (typeof a === 'string') return pyStringRepr(a);
  return pyStr(a);
}

/**
 * One operation of a {@link Graph}: `op` says what kind, `target` what it calls, `args`/`kwargs` its
 * inputs (other nodes or constants). `users` is kept up to date whenever `args`/`kwargs` change, and
 * nodes form a doubly linked list (`prev`/`next`) in execution order. `meta` is free for passes and is
 * copied by {@link Graph.nodeCopy}.
 *
 * @example
 * const g = new Graph();
 * const x = g.placeholder('x');
 * const r = g.callFunction(relu, [x]);
 * g.output(r);
 * [...x.users].map(String); // ['relu']
 * @see https://pytorch.org/docs/1.13/fx.html#torch.fx.Node
 */
export class Node {
  /** The graph this node belongs to. */
  readonly graph: Graph;
  /** The unique name of the value this node defines (`conv`, `conv_1`, …). */
  name: string;
  /** The opcode. */
  readonly op: Opcode;
  /** See {@link Target}. */
  target: Target;
  /** Free-form metadata for passes (observers, qconfigs, shapes, …). */
  meta: Record<string, unknown> = {};

  private _args: readonly Argument[] = Object.freeze([]);
  private _kwargs: Kwargs = Object.freeze({});
  private readonly _inputNodes = new Set<Node>();
  private readonly _users = new Set<Node>();
  /** @internal */
  _prev: Node = this;
  /** @internal */
  _next: Node = this;
  /** @internal */
  _erased = false;

  /**
   * Prefer {@link Graph.createNode} and its companions, which name the node uniquely and insert it.
   *
   * @internal
   */
  constructor(graph: Graph, name: string, op: Opcode, target: Target, args: readonly Argument[], kwargs: Kwargs) {
    this.graph = graph;
    this.name = name;
    this.op = op;
    this.target = target;
    this.updateArgsKwargs(args, kwargs);
  }

  /** The nodes that use this node's value, in the order they started using it. */
  get users(): ReadonlySet<Node> {
    return this._users;
  }

  /** Positional arguments; assigning replaces them and updates `users` of old and new inputs. */
  get args(): readonly Argument[] {
    return this._args;
  }

  set args(a: readonly Argument[]) {
    this.updateArgsKwargs(a, this._kwargs);
  }

  /** Keyword arguments; assigning replaces them and updates `users`. */
  get kwargs(): Kwargs {
    return this._kwargs;
  }

  set kwargs(k: Kwargs) {
    this.updateArgsKwargs(this._args, k);
  }

  /** Every node appearing in `args` and `kwargs`, once each, in order of appearance. */
  get allInputNodes(): Node[] {
    return [...this._inputNodes];
  }

  /** The node before this one (the graph's sentinel when this is the first). */
  get prev(): Node {
    return this._prev;
  }

  /** The node after this one (the graph's sentinel when this is the last). */
  get next(): Node {
    return this._next;
  }

  /** Replaces `args[idx]`, keeping `users` up to date. */
  updateArg(idx: number, arg: Argument): void {
    const a = [...this._args];
    a[idx] = arg;
    this.args = a;
  }

  /** Sets `kwargs[key]`, keeping `users` up to date. */
  updateKwarg(key: string, arg: Argument): void {
    this.kwargs = { ...this._kwargs, [key]: arg };
  }

  private updateArgsKwargs(args: readonly Argument[], kwargs: Kwargs): void {
    this._args = mapAggregate(args, (x) => x) as readonly Argument[];
    this._kwargs = mapAggregate(kwargs, (x) => x) as Kwargs;
    for (const old of this._inputNodes) old._users.delete(this);
    this._inputNodes.clear();
    const collect = (n: Node): Node => {
      this._inputNodes.add(n);
      return n;
    };
    mapArg(this._args, collect);
    mapArg(this._kwargs, collect);
    for (const n of this._inputNodes) n._users.add(this);
  }

  /**
   * Moves `x` to just before this node (the same graph only).
   *
   * @throws QuantError `INVALID_ARGUMENT` when `x` belongs to another graph.
   */
  prepend(x: Node): void {
    if (x.graph !== this.graph) {
      throw new QuantError(
        'INVALID_ARGUMENT',
        `Node.prepend: node ${x.name} belongs to another graph than ${this.name}; use Graph.nodeCopy to copy it first.`,
      );
    }
    if (x === this) return;
    x.removeFromList();
    const p = this._prev;
    p._next = x;
    x._prev = p;
    x._next = this;
    this._prev = x;
  }

  /**
   * Moves `x` to just after this node (the same graph only).
   *
   * @throws QuantError `INVALID_ARGUMENT` when `x` belongs to another graph.
   */
  append(x: Node): void {
    this._next.prepend(x);
  }

  /** @internal */
  removeFromList(): void {
    const p = this._prev;
    const n = this._next;
    p._next = n;
    n._prev = p;
    this._prev = this;
    this._next = this;
  }

  /**
   * Makes every user of this node use `replaceWith` instead (those for which `deleteUserCb` returns
   * true; all by default). Returns the users that were changed.
   *
   * @example
   * relu.replaceAllUsesWith(conv); graph.eraseNode(relu);
   * @see https://pytorch.org/docs/1.13/fx.html#torch.fx.Node.replace_all_uses_with
   */
  replaceAllUsesWith(replaceWith: Node, deleteUserCb: (user: Node) => boolean = () => true): Node[] {
    const changed: Node[] = [];
    for (const user of [...this._users]) {
      if (!deleteUserCb(user)) continue;
      user.replaceInputWith(this, replaceWith);
      changed.push(user);
    }
    return changed;
  }

  /**
   * Replaces every occurrence of `oldInput` in this node's `args`/`kwargs` with `newInput`.
   *
   * @example
   * add.replaceInputWith(relu, conv);
   */
  replaceInputWith(oldInput: Node, newInput: Node): void {
    const swap = (n: Node): Node => (n === oldInput ? newInput : n);
    this.updateArgsKwargs(mapArg(this._args, swap), mapArg(this._kwargs, swap));
  }

  /**
   * True for nodes dead-code elimination must keep: `placeholder`, `output`, and `call_module` nodes
   * whose module has `isImpure === true` (torch.fx's `_is_impure`).
   */
  isImpure(): boolean {
    if (this.op === 'placeholder' || this.op === 'output') return true;
    if (this.op === 'call_module') {
      const owner = this.graph.owningModule;
      if (owner !== undefined && typeof this.target === 'string') {
        let m: unknown;
        try {
          m = owner.getSubmodule(this.target);
        } catch {
          return false;
        }
        return (m as { isImpure?: unknown } | undefined)?.isImpure === true;
      }
    }
    return false;
  }

  /**
   * One line of the graph printout, as torch.fx's `format_node`:
   * `%conv : [#users=1] = call_module[target=conv](args = (%x,), kwargs = {})`.
   */
  formatNode(): string {
    const users = `[#users=${this._users.size}]`;
    if (this.op === 'placeholder') {
      const dflt = this._args.length > 0 ? `(default=${pyStr(this._args[0])})` : '';
      return `%${this.name} : ${users} = placeholder[target=${String(this.target)}]${dflt}`;
    }
    if (this.op === 'get_attr') return `%${this.name} : ${users} = get_attr[target=${prettyTarget(this.target)}]`;
    if (this.op === 'output') return `return ${reprArg(this._args[0])}`;
    return (
      `%${this.name} : ${users} = ${this.op}[target=${prettyTarget(this.target)}]` +
      `(args = ${formatArg(this._args, true)}, kwargs = ${formatArg(this._kwargs)})`
    );
  }

  /** The node's name (what torch.fx's `repr(node)` prints). */
  toString(): string {
    return this.name;
  }
}

/** The printed form of a target: a string as is, a function by its op name. */
export function prettyTarget(target: Target): string {
  return typeof target === 'string' ? target : functionName(target);
}
