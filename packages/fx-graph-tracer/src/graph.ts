// Mirrors torch/fx/graph.py (PyTorch 1.13): a doubly linked list of nodes, unique names, insert
// points, erase/DCE/lint, the printout (`__str__`) and the generated forward (`python_code`).
import { QuantError } from '@quint/tensor';
import { getattr, getitem } from './builtins.js';
import { functionName, type CallableTarget } from './format.js';
import { Namespace, snakeCase } from './namespace.js';
import { Node, mapArg, reprArg, type Argument, type Kwargs, type Opcode, type Target, OPCODES } from './node.js';

/** What a graph needs from the module that owns it (a `GraphModule`). */
export interface OwningModule {
  /** The submodule at a qualified name, as `Module.getSubmodule`; may throw when missing. */
  getSubmodule(target: string): unknown;
}

const isIdentifier = (s: string): boolean => /^[A-Za-z_][A-Za-z0-9_]*$/.test(s);

// `self.layer1.0.conv` is not an attribute chain in Python; torch.fx writes getattr(self.layer1, "0").
function formatTarget(base: string, target: string): string {
  let r = base;
  for (const e of target.split('.')) r = isIdentifier(e) ? `${r}.${e}` : `getattr(${r}, "${e}")`;
  return r;
}

function formatCallArgs(args: readonly Argument[], kwargs: Kwargs): string {
  const a = args.map((x) => reprArg(x)).join(', ');
  const k = Object.entries(kwargs)
    .map(([key, v]) => `${key} = ${reprArg(v)}`)
    .join(', ');
  return a && k ? `${a}, ${k}` : a || k;
}

function isModuleLike(x: unknown): boolean {
  return (
    x !== null &&
    typeof x === 'object' &&
    typeof (x as { call?: unknown }).call === 'function' &&
    typeof (x as { forward?: unknown }).forward === 'function'
  );
}

/**
 * The torch.fx IR: a list of {@link Node}s in execution order, each defining one uniquely named
 * value. Build it with `placeholder`/`getAttr`/`callModule`/`callFunction`/`callMethod`/`output` (at the
 * insert point, the end by default), edit it with `insertingBefore`/`insertingAfter`,
 * `Node.replaceAllUsesWith` and `eraseNode`, and check it with `lint()`. `toString()` prints it as
 * torch.fx does.
 *
 * @example
 * const g = new Graph();
 * const x = g.placeholder('x');
 * g.output(g.callFunction(relu, [x]));
 * String(g);
 * // graph():
 * //     %x : [#users=1] = placeholder[target=x]
 * //     %relu : [#users=1] = call_function[target=relu](args = (%x,), kwargs = {})
 * //     return relu
 * @see https://pytorch.org/docs/1.13/fx.html#torch.fx.Graph
 */
export class Graph {
  /** The module whose `graph` this is, if any (set by `GraphModule`). */
  owningModule: OwningModule | undefined = undefined;

  private readonly root: Node;
  private readonly namespace = new Namespace();
  private insert: (n: Node) => void;
  private length = 0;

  /** Creates an empty graph. */
  constructor() {
    // The sentinel closes the circular list; it is never yielded by `nodes`.
    this.root = new Node(this, '', 'root' as Opcode, '', [], {});
    this.insert = (n) => this.root.prepend(n);
  }

  /** A snapshot of the nodes in order (erasing or inserting while looping over it is safe). */
  get nodes(): Node[] {
    const out: Node[] = [];
    for (let cur = this.root._next; cur !== this.root; cur = cur._next) if (!cur._erased) out.push(cur);
    return out;
  }

  /** Number of nodes. */
  get size(): number {
    return this.length;
  }

  /**
   * Creates a node at the insert point, named uniquely after `name` or the target (`conv`, `conv_1`,
   * …; `layer1.0.conv` → `layer1_0_conv`, `maxPool2d` → `max_pool2d`).
   *
   * @throws QuantError `INVALID_ARGUMENT` for an unknown opcode.
   * @example
   * graph.createNode('call_method', 'view', [x, [-1]]);
   */
  createNode(op: Opcode, target: Target, args: readonly Argument[] = [], kwargs: Kwargs = {}, name?: string): Node {
    if (!OPCODES.includes(op)) {
      throw new QuantError(
        'INVALID_ARGUMENT',
        `Graph.createNode: unknown opcode '${String(op)}'; use one of ${OPCODES.join(', ')}.`,
      );
    }
    const candidate = name ?? targetToStr(target);
    const n = new Node(this, this.namespace.createName(candidate), op, target, args, kwargs);
    this.insert(n);
    this.length += 1;
    return n;
  }

  /**
   * Adds a function input named `name`; `defaultValue` (when given) is used when the caller passes
   * fewer arguments.
   *
   * @example
   * const x = graph.placeholder('x');
   */
  placeholder(name: string, defaultValue?: Argument): Node {
    return this.createNode('placeholder', name, arguments.length > 1 ? [defaultValue] : []);
  }

  /**
   * Reads a parameter, buffer or submodule of the owning module by qualified name.
   *
   * @example
   * graph.getAttr('conv.weight');
   */
  getAttr(qualifiedName: string): Node {
    return this.createNode('get_attr', qualifiedName);
  }

  /**
   * Calls the submodule at `moduleName` (a qualified name) with `args`.
   *
   * @example
   * graph.callModule('layer1.0.conv', [x]);
   */
  callModule(moduleName: string, args: readonly Argument[] = [], kwargs: Kwargs = {}): Node {
    return this.createNode('call_module', moduleName, args, kwargs);
  }

  /**
   * Calls method `methodName` on `args[0]` with the rest of `args`.
   *
   * @example
   * graph.callMethod('view', [x, [-1]]);
   */
  callMethod(methodName: string, args: readonly Argument[] = [], kwargs: Kwargs = {}): Node {
    return this.createNode('call_method', methodName, args, kwargs);
  }

  /**
   * Calls a free function, usually a functional op of `@quint/tensor`.
   *
   * @example
   * graph.callFunction(add, [a, b]);
   */
  callFunction(fn: CallableTarget, args: readonly Argument[] = [], kwargs: Kwargs = {}): Node {
    return this.createNode('call_function', fn, args, kwargs);
  }

  /**
   * The `output` node: returns `result` (a node, or an array/object of nodes).
   *
   * @example
   * graph.output(relu);
   */
  output(result: Argument): Node {
    return this.createNode('output', 'output', [result]);
  }

  /**
   * Copies `node` into this graph; `argTransform` maps its input nodes to nodes of this graph. The
   * copy keeps the name when it is free, and a shallow copy of `meta`.
   *
   * @example
   * const env = new Map<Node, Node>();
   * for (const n of src.nodes) env.set(n, dst.nodeCopy(n, (a) => env.get(a)!));
   */
  nodeCopy(node: Node, argTransform: (n: Node) => Argument = (n) => n): Node {
    const args = mapArg(node.args, argTransform);
    const kwargs = mapArg(node.kwargs, argTransform);
    const copy = this.createNode(node.op, node.target, args, kwargs, node.name);
    copy.meta = { ...node.meta };
    return copy;
  }

  /**
   * Copies all nodes of `g` except its output into this graph, filling `valMap` (source → copy;
   * entries already there are used as is). Returns the copied output value, if `g` has an output.
   *
   * @example
   * const out = g2.graphCopy(g1, new Map()); g2.output(out);
   */
  graphCopy(g: Graph, valMap: Map<Node, Node>): Argument {
    for (const node of g.nodes) {
      if (valMap.has(node)) continue;
      if (node.op === 'output') return mapArg(node.args[0], (n) => valMap.get(n)!);
      valMap.set(
        node,
        this.nodeCopy(node, (n) => valMap.get(n)!),
      );
    }
    return undefined;
  }

  /**
   * Runs `fn` with the insert point just before `n` (the start of the graph when `n` is null), then
   * restores it. Returns what `fn` returns.
   *
   * @throws QuantError `INVALID_ARGUMENT` when `n` is in another graph.
   * @example
   * graph.insertingBefore(relu, () => graph.callFunction(mul, [conv, 2]));
   */
  insertingBefore<T>(n: Node | null, fn: () => T): T {
    if (n === null) return this.insertingAfter(this.root, fn);
    this.checkOwn(n, 'insertingBefore');
    return this.withInsert((x) => n.prepend(x), fn);
  }

  /**
   * Runs `fn` with the insert point just after `n` (the end of the graph when `n` is null); each new
   * node goes after the previous one, so `fn` builds in order.
   *
   * @throws QuantError `INVALID_ARGUMENT` when `n` is in another graph.
   * @example
   * graph.insertingAfter(conv, () => graph.callModule('observer', [conv]));
   */
  insertingAfter<T>(n: Node | null, fn: () => T): T {
    if (n === null) return this.withInsert((x) => this.root.prepend(x), fn);
    if (n !== this.root) this.checkOwn(n, 'insertingAfter');
    // torch.fx inserts before n.next, which keeps successive nodes in creation order.
    const anchor = n._next;
    return this.withInsert((x) => anchor.prepend(x), fn);
  }

  private withInsert<T>(insert: (n: Node) => void, fn: () => T): T {
    const saved = this.insert;
    this.insert = insert;
    try {
      return fn();
    } finally {
      this.insert = saved;
    }
  }

  private checkOwn(n: Node, where: string): void {
    if (n.graph !== this || n._erased) {
      throw new QuantError(
        'INVALID_ARGUMENT',
        `Graph.${where}: node ${n.name} is not in this graph; pass a node of this graph.`,
      );
    }
  }

  /**
   * Removes a node that nobody uses.
   *
   * @throws QuantError `INVALID_ARGUMENT` when the node still has users (replace its uses first).
   * @example
   * relu.replaceAllUsesWith(conv); graph.eraseNode(relu);
   */
  eraseNode(toErase: Node): void {
    if (toErase.graph !== this || toErase._erased) {
      throw new QuantError(
        'INVALID_ARGUMENT',
        `Graph.eraseNode: node ${toErase.name} is not in this graph; pass a node of this graph.`,
      );
    }
    if (toErase.users.size > 0) {
      throw new QuantError(
        'INVALID_ARGUMENT',
        `Graph.eraseNode: node ${toErase.name} still has ${toErase.users.size} users (${[...toErase.users].join(', ')}); call replaceAllUsesWith first.`,
      );
    }
    toErase.removeFromList();
    toErase._erased = true;
    this.length -= 1;
    // Drop its inputs so they no longer count it among their users.
    toErase.args = mapArg(toErase.args, () => null);
    toErase.kwargs = mapArg(toErase.kwargs, () => null);
  }

  /**
   * Removes nodes without users, last to first, keeping `placeholder`/`output` and impure nodes.
   * Returns whether anything changed. Runs `lint()` first.
   *
   * @example
   * graph.eliminateDeadCode(); // true when something was removed
   */
  eliminateDeadCode(): boolean {
    this.lint();
    let changed = false;
    for (const node of this.nodes.reverse()) {
      if (!node.isImpure() && node.users.size === 0) {
        this.eraseNode(node);
        changed = true;
      }
    }
    return changed;
  }

  /**
   * Checks that the graph is well formed: known opcodes, every input defined earlier in this graph
   * (topological order, no dangling references to erased or foreign nodes), unique names, consistent
   * `users`, and — when owned by a module — that `get_attr`/`call_module` targets exist there.
   *
   * @throws QuantError `BAD_GRAPH` naming the first problem found.
   * @example
   * graph.lint();
   */
  lint(): void {
    const seenNames = new Set<string>();
    const seen = new Set<Node>();
    const fail = (what: string): never => {
      throw new QuantError('BAD_GRAPH', `Graph.lint: ${what}.`);
    };
    for (const node of this.nodes) {
      if (!OPCODES.includes(node.op)) fail(`node ${node.name} has unknown opcode ${String(node.op)}`);
      if (node.graph !== this) fail(`node ${node.name} does not belong to this graph`);
      const check = (arg: Node): Node => {
        if (arg.graph !== this) {
          fail(
            `argument ${arg.name} of node ${node.name} belongs to another graph; remap it with nodeCopy's argTransform`,
          );
        }
        if (arg._erased)
          fail(`argument ${arg.name} of node ${node.name} was erased; replace its uses before erasing it`);
        if (!seen.has(arg))
          fail(
            `argument ${arg.name} of node ${node.name} is used before it is defined; keep nodes in topological order`,
          );
        if (!arg.users.has(node)) fail(`node ${node.name} uses ${arg.name} but is missing from its users`);
        return arg;
      };
      mapArg(node.args, check);
      mapArg(node.kwargs, check);
      for (const u of node.users) {
        if (u._erased || u.graph !== this)
          fail(`node ${node.name} lists ${u.name} among its users, which is not in this graph`);
        if (!u.allInputNodes.includes(node))
          fail(`node ${node.name} lists ${u.name} among its users, but ${u.name} does not use it`);
      }
      seen.add(node);
      if (seenNames.has(node.name)) fail(`name ${node.name} is defined twice`);
      seenNames.add(node.name);
      if (node.op === 'call_function' && typeof node.target !== 'function') {
        fail(`call_function node ${node.name} has target ${String(node.target)}, which is not a function`);
      }
      if (node.op !== 'call_function' && typeof node.target !== 'string') {
        fail(`${node.op} node ${node.name} has a non-string target`);
      }
    }
    const owner = this.owningModule;
    if (owner === undefined) return;
    for (const node of this.nodes) {
      if (node.op !== 'get_attr' && node.op !== 'call_module') continue;
      const atoms = (node.target as string).split('.');
      let cur: unknown = owner;
      for (let i = 0; i < atoms.length; i++) {
        const next = cur === null || cur === undefined ? undefined : (cur as Record<string, unknown>)[atoms[i]!];
        if (next === undefined || next === null) {
          fail(
            `node ${node.name} target ${String(node.target)} references nonexistent attribute ${atoms[i]} of ${atoms.slice(0, i).join('.') || 'the root module'}`,
          );
        }
        cur = next;
      }
      if (node.op === 'call_module' && !isModuleLike(cur)) {
        fail(`node ${node.name} target ${String(node.target)} is not a module`);
      }
    }
  }

  /**
   * The graph printout of torch.fx 1.13 (`print(gm.graph)`): one `%name : [#users=N] = op[target=…](args
   * = (…), kwargs = {…})` line per node and `return …` for the output. Functions print by op name.
   */
  toString(): string {
    let s = 'graph():';
    for (const node of this.nodes) s += `\n    ${node.formatNode()}`;
    return s;
  }

  /**
   * The forward function as Python-like code, as torch.fx's `gm.code`: one assignment per node, module
   * calls on `rootModule`, and `;  x = None` after a value's last use.
   *
   * @example
   * graph.pythonCode();
   * // def forward(self, x):
   * //     conv = self.conv(x);  x = None
   * //     return conv
   */
  pythonCode(rootModule = 'self'): string {
    const nodes = this.nodes;
    const freeVars: string[] = [];
    const body: string[] = [];
    // The first use found walking backwards is the last use in execution order; free values there.
    const lastUse = new Map<Node, Node>();
    const userToLastUses = new Map<Node, Node[]>();
    for (const node of [...nodes].reverse()) {
      const register = (n: Node): Node => {
        if (!lastUse.has(n)) {
          lastUse.set(n, node);
          const list = userToLastUses.get(node) ?? [];
          list.push(n);
          userToLastUses.set(node, list);
        }
        return n;
      };
      mapArg(node.args, register);
      mapArg(node.kwargs, register);
    }
    const deleteUnusedValues = (user: Node): void => {
      if (user.op === 'placeholder') return;
      if (user.op === 'output') {
        body.push('\n');
        return;
      }
      const toDelete = userToLastUses.get(user) ?? [];
      body.push(toDelete.length > 0 ? `;  ${[...toDelete.map((n) => n.name), 'None'].join(' = ')}\n` : '\n');
    };
    const emit = (node: Node): void => {
      const t = node.target;
      switch (node.op) {
        case 'placeholder': {
          const dflt = node.args.length > 0 ? ` = ${reprArg(node.args[0])}` : '';
          freeVars.push(`${String(t)}${dflt}`);
          if (String(t) !== node.name) body.push(`${node.name} = ${String(t)}\n`);
          return;
        }
        case 'call_method':
          body.push(
            `${node.name} = ${formatTarget(reprArg(node.args[0]), String(t))}(${formatCallArgs(node.args.slice(1), node.kwargs)})`,
          );
          return;
        case 'call_function': {
          if (t === getitem && node.args.length === 2) {
            body.push(`${node.name} = ${reprArg(node.args[0])}[${reprArg(node.args[1])}]`);
            return;
          }
          if (
            t === getattr &&
            node.args.length === 2 &&
            typeof node.args[1] === 'string' &&
            isIdentifier(node.args[1])
          ) {
            body.push(`${node.name} = ${formatTarget(reprArg(node.args[0]), node.args[1])}`);
            return;
          }
          body.push(`${node.name} = ${functionName(t as CallableTarget)}(${formatCallArgs(node.args, node.kwargs)})`);
          return;
        }
        case 'call_module':
          body.push(`${node.name} = ${formatTarget(rootModule, String(t))}(${formatCallArgs(node.args, node.kwargs)})`);
          return;
        case 'get_attr':
          body.push(`${node.name} = ${formatTarget(rootModule, String(t))}`);
          return;
        case 'output':
          body.push(`return ${reprArg(node.args[0])}`);
          return;
      }
    };
    for (const node of nodes) {
      emit(node);
      deleteUnusedValues(node);
    }
    if (body.length === 0) body.push('pass\n');
    if (freeVars[0] !== 'self') freeVars.unshift('self');
    const code = body
      .join('')
      .split('\n')
      .map((line) => `    ${line}`)
      .join('\n');
    return `def forward(${freeVars.join(', ')}):\n${code}`.replace(/\s+$/, '');
  }
}

/** The name candidate for a target (torch.fx `_target_to_str`): function name or `__magic__` stripped, snake_cased. */
function targetToStr(target: Target): string {
  let op: string;
  if (typeof target === 'function') op = functionName(target);
  else {
    op = target;
    if (op.length > 4 && op.startsWith('__') && op.endsWith('__')) op = op.slice(2, -2);
  }
  return snakeCase(op);
}
