// Mirrors torch/fx/interpreter.py (PyTorch 1.13): run a GraphModule node by node, one overridable
// method per opcode.
import { QuantError } from '@quint/tensor';
import type { Module } from '@quint/nn';
import type { GraphModule } from './graph-module.js';
import { mapArg, type Argument, type Kwargs, type Node, type Target } from './node.js';

/** Options of {@link Interpreter}. */
export interface InterpreterOptions {
  /**
   * Drop each value from `env` after its last use (default true, as torch.fx). Pass false to keep
   * every intermediate value for inspection.
   */
  readonly garbageCollectValues?: boolean;
}

function callWithKwargs(
  fn: (...a: unknown[]) => unknown,
  thisArg: unknown,
  args: readonly unknown[],
  kwargs: Kwargs,
): unknown {
  // JavaScript has no keyword arguments: non-empty kwargs travel as a trailing options object.
  for (const _ in kwargs) return fn.apply(thisArg, [...args, kwargs]);
  return fn.apply(thisArg, args as unknown[]);
}

/**
 * Executes a {@link GraphModule}'s graph node by node (torch.fx's `Interpreter`). Subclass it and
 * override one method per opcode — `placeholder`, `getAttr`, `callFunction`, `callModule`,
 * `callMethod`, `output` — or `runNode`, to observe or change execution: the converter's numeric
 * suite and calibration passes are interpreters.
 *
 * @example
 * class Logger extends Interpreter {
 *   override callModule(target: string, args: readonly unknown[], kwargs: Kwargs) {
 *     const out = super.callModule(target, args, kwargs);
 *     console.log(target, out);
 *     return out;
 *   }
 * }
 * new Logger(gm).run(x);
 * @see https://pytorch.org/docs/1.13/fx.html#torch.fx.Interpreter
 */
export class Interpreter {
  /** The module being run. */
  readonly module: GraphModule;
  /** Values computed so far, by node. */
  env = new Map<Node, unknown>();
  /** See {@link InterpreterOptions.garbageCollectValues}. */
  readonly garbageCollectValues: boolean;
  private readonly userToLastUses = new Map<Node, Node[]>();
  private argsIter: Iterator<unknown> = [][Symbol.iterator]();

  /** Prepares to run `module`. */
  constructor(module: GraphModule, options: InterpreterOptions = {}) {
    this.module = module;
    this.garbageCollectValues = options.garbageCollectValues ?? true;
    if (this.garbageCollectValues) {
      // Walking the nodes backwards, a node's first user met is its last use. The nodes' own input
      // sets, not mapArg: this runs on every forward, and rebuilding every node's args was a good
      // part of a small model's pass.
      const seen = new Set<Node>();
      const nodes = module.graph.nodes;
      for (let i = nodes.length - 1; i >= 0; i--) {
        const node = nodes[i]!;
        for (const n of node.allInputNodes) {
          if (seen.has(n)) continue;
          seen.add(n);
          const list = this.userToLastUses.get(node);
          if (list) list.push(n);
          else this.userToLastUses.set(node, [n]);
        }
      }
    }
  }

  /**
   * Runs the graph on `args` (one per placeholder, in order) and returns the output value.
   *
   * @throws the error of the node that failed, with `(while executing %node …)` appended to its message.
   * @example
   * const y = new Interpreter(gm).run(x);
   */
  run(...args: unknown[]): unknown {
    this.env = new Map();
    this.argsIter = args[Symbol.iterator]();
    for (const node of this.module.graph.nodes) {
      if (this.env.has(node)) continue;
      try {
        this.env.set(node, this.runNode(node));
      } catch (e) {
        throw annotate(e, node);
      }
      if (this.garbageCollectValues) {
        for (const dead of this.userToLastUses.get(node) ?? []) this.env.delete(dead);
      }
      if (node.op === 'output') return this.env.get(node);
    }
    return undefined;
  }

  /**
   * Runs one node: fetches its argument values from `env` and dispatches on `n.op`.
   *
   * @example
   * override runNode(n: Node) { const v = super.runNode(n); this.seen.set(n.name, v); return v; }
   */
  runNode(n: Node): unknown {
    const [args, kwargs] = this.fetchArgsKwargsFromEnv(n);
    switch (n.op) {
      case 'placeholder':
        return this.placeholder(n.target as string, args, kwargs);
      case 'get_attr':
        return this.getAttr(n.target as string, args, kwargs);
      case 'call_function':
        return this.callFunction(n.target, args, kwargs);
      case 'call_module':
        return this.callModule(n.target as string, args, kwargs);
      case 'call_method':
        return this.callMethod(n.target as string, args, kwargs);
      case 'output':
        return this.output(n.target as string, args, kwargs);
    }
  }

  /**
   * The next argument passed to `run`, or the placeholder's default when the arguments ran out.
   *
   * @throws QuantError `INVALID_ARGUMENT` when an argument without default is missing.
   */
  placeholder(target: string, args: readonly Argument[], _kwargs: Kwargs): unknown {
    const next = this.argsIter.next();
    if (!next.done) return next.value;
    if (args.length > 0) return args[0];
    throw new QuantError(
      'INVALID_ARGUMENT',
      `expected a value for input '${target}' but fewer arguments were passed; pass one argument per input of the graph.`,
    );
  }

  /** The attribute at `target` (a qualified name) of the module. */
  getAttr(target: string, _args: readonly Argument[], _kwargs: Kwargs): unknown {
    return this.fetchAttr(target);
  }

  /** Calls `target(...args)` (kwargs, if any, as a trailing options object). */
  callFunction(target: Target, args: readonly Argument[], kwargs: Kwargs): unknown {
    if (typeof target !== 'function') {
      throw new QuantError(
        'BAD_GRAPH',
        `call_function target ${String(target)} is not a function; use call_method for method names.`,
      );
    }
    return callWithKwargs(target as (...a: unknown[]) => unknown, undefined, args, kwargs);
  }

  /** Calls `args[0][target](...args.slice(1))`. */
  callMethod(target: string, args: readonly Argument[], kwargs: Kwargs): unknown {
    const [self, ...rest] = args;
    const fn = self === null || self === undefined ? undefined : (self as Record<string, unknown>)[target];
    if (typeof fn !== 'function') {
      const what =
        self === null || self === undefined ? String(self) : ((self as object).constructor?.name ?? typeof self);
      throw new QuantError(
        'UNSUPPORTED_OP',
        `call_method: ${what} has no method '${target}'; call a method the value's class defines.`,
      );
    }
    return callWithKwargs(fn as (...a: unknown[]) => unknown, self, rest, kwargs);
  }

  /** Calls the submodule at `target` through `Module.call` (hooks and tracing apply). */
  callModule(target: string, args: readonly Argument[], kwargs: Kwargs): unknown {
    const m = this.fetchAttr(target) as Module;
    if (m === null || typeof m !== 'object' || typeof (m as { call?: unknown }).call !== 'function') {
      throw new QuantError(
        'BAD_GRAPH',
        `call_module target '${target}' is not a module of the GraphModule; add it with setSubmodule.`,
      );
    }
    return callWithKwargs(m.call as (...a: unknown[]) => unknown, m, args, kwargs);
  }

  /** The value the output node returns: `args[0]`. */
  output(_target: string, args: readonly Argument[], _kwargs: Kwargs): unknown {
    return args[0];
  }

  /**
   * The value at a qualified name in the module hierarchy (`'layer1.0.conv.weight'`).
   *
   * @throws QuantError `BAD_GRAPH` when a segment does not exist.
   */
  fetchAttr(target: string): unknown {
    // A top-level name (most submodules of a converted model) needs no split.
    if (!target.includes('.')) {
      const v = (this.module as unknown as Record<string, unknown>)[target];
      if (v !== undefined) return v;
    }
    const atoms = target.split('.');
    let cur: unknown = this.module;
    for (let i = 0; i < atoms.length; i++) {
      const next = cur === null || cur === undefined ? undefined : (cur as Record<string, unknown>)[atoms[i]!];
      if (next === undefined) {
        throw new QuantError(
          'BAD_GRAPH',
          `node target '${target}' does not exist: ${atoms.slice(0, i).join('.') || 'the GraphModule'} has no attribute '${atoms[i]}'; add it to the GraphModule or fix the target.`,
        );
      }
      cur = next;
    }
    return cur;
  }

  /** `n.args` and `n.kwargs` with every node replaced by its value from `env`. */
  fetchArgsKwargsFromEnv(n: Node): [readonly Argument[], Kwargs] {
    return [this.mapNodesToValues(n.args, n) as readonly Argument[], this.mapNodesToValues(n.kwargs, n) as Kwargs];
  }

  /**
   * `args` with every node replaced by its value from `env`.
   *
   * @throws QuantError `BAD_GRAPH` when a node has no value yet (the graph is not in topological order).
   */
  mapNodesToValues(args: Argument, n: Node): Argument {
    this.user = n;
    return mapArg(args, this.valueOfNode);
  }

  // The node whose arguments mapNodesToValues is fetching, for valueOfNode's error: one lookup
  // function per interpreter rather than a closure per node (not named `valueOf`, which would shadow
  // Object.prototype.valueOf).
  private user: Node | undefined;

  private readonly valueOfNode = (a: Node): unknown => {
    const v = this.env.get(a);
    if (v === undefined && !this.env.has(a)) {
      throw new QuantError(
        'BAD_GRAPH',
        `node ${this.user!.name} uses ${a.name}, which has no value yet; keep the graph in topological order (run graph.lint()).`,
      );
    }
    return v;
  };
}

function annotate(e: unknown, node: Node): unknown {
  // As torch.fx, the error is kept (same object, code and stack) and names the node that failed.
  if (e instanceof Error && !e.message.includes('(while executing ')) {
    e.message = `${e.message} (while executing ${node.formatNode()})`;
  }
  return e;
}
