// Mirrors torch/fx/graph_module.py (PyTorch 1.13): a Module that owns what its graph references and
// runs the graph. PyTorch compiles `gm.code` to Python; here `forward` interprets the graph, and
// `code` is the same text for reading.
import { Module, Parameter } from '@quint/nn';
import { QuantError, Tensor } from '@quint/tensor';
import type { Graph } from './graph.js';
import { Interpreter } from './interpreter.js';

// The stand-in for an empty `torch.nn.Module()` that holds copied submodules at a nested path.
class ModuleHolder extends Module {
  forward(): never {
    throw new QuantError(
      'UNSUPPORTED_OP',
      'this Module only holds the submodules a GraphModule references; call the GraphModule instead.',
    );
  }

  override getName(): string {
    return 'Module';
  }
}

function setAttr(to: Module, field: string, value: unknown): void {
  // A tensor that is not a Parameter becomes a buffer, as torch.fx's `_copy_attr`/`_assign_attr`.
  if (value instanceof Tensor && !(value instanceof Parameter)) to.registerBuffer(field, value);
  else (to as unknown as Record<string, unknown>)[field] = value;
}

function lookup(root: Module, target: string): unknown {
  let cur: unknown = root;
  for (const atom of target.split('.')) {
    cur = cur === null || cur === undefined ? undefined : (cur as Record<string, unknown>)[atom];
  }
  return cur;
}

/**
 * A {@link Module} made from a {@link Graph}: it owns the submodules, parameters and buffers its nodes
 * name (copied by reference from `root` at the same qualified paths, with empty holder modules for
 * the path prefixes), and its `forward` runs the graph with an {@link Interpreter}. Being a `Module`,
 * it nests in other modules, prints, and has `namedModules`/`stateDict`. `code` shows the forward as
 * torch.fx's `gm.code` does.
 *
 * @throws QuantError `INVALID_ARGUMENT` when a node names a target that `root` does not have.
 * @example
 * const gm = new GraphModule(model, graph);
 * const y = gm.call(x);
 * console.log(gm.code);
 * @see https://pytorch.org/docs/1.13/fx.html#torch.fx.GraphModule
 */
export class GraphModule extends Module {
  declare private _graph: Graph;
  declare private _className: string;
  /** Free-form metadata (torch.fx's `gm.meta`). */
  declare meta: Record<string, unknown>;

  /**
   * Copies what `graph` references from `root` — a module (targets are qualified paths in it) or a
   * record from qualified name to value — and takes ownership of `graph`.
   */
  constructor(root: Module | Readonly<Record<string, unknown>>, graph: Graph, className = 'GraphModule') {
    super();
    // Bookkeeping is non-enumerable so Module's property scan sees only children and tensors.
    Object.defineProperty(this, '_graph', { value: graph, writable: true, enumerable: false, configurable: true });
    Object.defineProperty(this, '_className', {
      value: className,
      writable: true,
      enumerable: false,
      configurable: true,
    });
    Object.defineProperty(this, 'meta', { value: {}, writable: true, enumerable: false, configurable: true });
    const targets = graph.nodes
      .filter((n) => n.op === 'get_attr' || n.op === 'call_module')
      .map((n) => n.target as string);
    if (root instanceof Module) {
      this.training = root.training;
      for (const t of targets) this.copyAttr(root, t);
    } else {
      for (const t of targets) {
        if (!Object.hasOwn(root, t)) {
          throw new QuantError(
            'INVALID_ARGUMENT',
            `GraphModule: the graph references '${t}' but root has no entry '${t}'; add it to the record.`,
          );
        }
      }
      // Shallow paths first, so `foo.bar` does not wipe an already assigned `foo.bar.baz`.
      for (const t of [...new Set(targets)].sort((a, b) => a.split('.').length - b.split('.').length)) {
        this.assignAttr(root[t], t);
      }
    }
    graph.owningModule = this;
  }

  private copyAttr(from: Module, target: string): void {
    const atoms = target.split('.');
    const field = atoms.pop()!;
    let src: unknown = from;
    let dst: Module = this;
    for (const item of atoms) {
      const f = (src as Record<string, unknown> | undefined)?.[item];
      let t = (dst as unknown as Record<string, unknown>)[item];
      // A parent already copied whole brings its children along.
      if (f !== undefined && f === t) return;
      if (t === undefined) {
        t = new ModuleHolder();
        (dst as unknown as Record<string, unknown>)[item] = t;
      }
      src = f;
      dst = t as Module;
    }
    const orig = (src as Record<string, unknown> | undefined)?.[field];
    if (orig === undefined) {
      throw new QuantError(
        'INVALID_ARGUMENT',
        `GraphModule: the graph references '${target}' but the root module has no such attribute (lookup gives ${String(lookup(from, target))}); add it to the root or fix the node target.`,
      );
    }
    setAttr(dst, field, orig);
  }

  private assignAttr(value: unknown, target: string): void {
    const atoms = target.split('.');
    const field = atoms.pop()!;
    let dst: Module = this;
    for (const item of atoms) {
      let t = (dst as unknown as Record<string, unknown>)[item];
      if (t === undefined) {
        t = new ModuleHolder();
        (dst as unknown as Record<string, unknown>)[item] = t;
      }
      dst = t as Module;
    }
    setAttr(dst, field, value);
  }

  /** The graph; assigning a new one makes this module its owner. */
  get graph(): Graph {
    return this._graph;
  }

  set graph(g: Graph) {
    this._graph = g;
    g.owningModule = this;
  }

  /** The forward as Python-like text, as torch.fx's `gm.code` (generated from the current graph). */
  get code(): string {
    return this._graph.pythonCode('self');
  }

  /**
   * Runs the graph on `args` (one per placeholder). Use `call`, which also runs hooks and lets
   * `symbolicTrace` trace through a GraphModule.
   */
  forward(...args: unknown[]): unknown {
    return new Interpreter(this).run(...args);
  }

  /** The class name given at construction (the traced module's class for `symbolicTrace`). */
  override getName(): string {
    return this._className;
  }

  /** The module printout, a blank line, and {@link GraphModule.code} (torch.fx's `str(gm)`). */
  override toString(): string {
    return `${super.toString()}\n\n${this.code}`;
  }
}
