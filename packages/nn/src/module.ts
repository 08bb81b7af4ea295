import { dispatchModuleCall, isQuantError, QuantError, Tensor } from '@quint/tensor';
import { QTensor, type Engine, type QuantizedBackend } from '@quint/qtensor';
import { addIndent, snakeCase } from './internal/repr.js';

/**
 * A tensor that is a module's learnable weight: assigning one to a property of a {@link Module}
 * registers it as a parameter (as `torch.nn.Parameter`). It shares the storage of the tensor it wraps.
 *
 * @example
 * this.weight = new Parameter(zeros([4, 3]));
 * @see https://pytorch.org/docs/stable/generated/torch.nn.parameter.Parameter.html
 */
export class Parameter extends Tensor {
  constructor(data: Tensor) {
    super(data.data, data.shape, data.strides, data.offset);
  }
}

/** A value in a state dict: float tensors, and for quantized modules QTensors, numbers and strings. */
export type StateDictValue = Tensor | QTensor | number | string;

/**
 * PyTorch's `state_dict()`: keys in PyTorch's spelling (`'0.weight'`, `'bn.running_mean'`), in
 * PyTorch's order (each module's parameters, then its buffers, then its children).
 */
export type StateDict = Record<string, StateDictValue>;

/** What {@link Module.loadStateDict} reports, as PyTorch's `_IncompatibleKeys`. */
export interface IncompatibleKeys {
  readonly missingKeys: string[];
  readonly unexpectedKeys: string[];
}

/** Options of {@link Module.loadStateDict}. */
export interface LoadStateDictOptions {
  /** Throw when keys are missing or unexpected (default true, as PyTorch). */
  readonly strict?: boolean | undefined;
}

/** The bookkeeping {@link Module.loadFromStateDict} overrides add to. */
export interface LoadStateDictContext {
  readonly strict: boolean;
  readonly missingKeys: string[];
  readonly unexpectedKeys: string[];
  readonly errorMsgs: string[];
}

/**
 * An object a module carries like a submodule without being one: the observers of
 * `@quint/observers`. The module prints it, calls it (`forward`), and keeps its buffers in the state
 * dict under the property's name (`conv.activation_post_process.min_val`, as 1-D tensors).
 */
export interface ObserverLike {
  forward(x: Tensor): Tensor;
  /** One scale and zero point per channel (one for per-tensor observers). */
  calculateQparams(): { readonly scale: Float32Array; readonly zeroPoint: Int32Array | Float32Array };
  toString(): string;
  readonly dtype?: string;
  readonly qscheme?: string;
  readonly quantMin?: number;
  readonly quantMax?: number;
  readonly chAxis?: number;
  stateDict?(): Record<string, Float32Array | Int32Array>;
  loadStateDict?(stateDict: Record<string, Float32Array | Int32Array>): void;
}

/** Something that makes observers: an `ObserverFactory` of `@quint/observers` (`create()`), or a function. */
export type ObserverFactoryLike = { create(): ObserverLike } | (() => ObserverLike);

/**
 * The shape of a `QConfig` of `@quint/observers` that `nn` relies on: observer factories for
 * activations and weights.
 */
export interface QConfigLike {
  readonly activation: ObserverFactoryLike;
  readonly weight: ObserverFactoryLike;
}

/**
 * A new observer from a factory (`create()`) or a function.
 *
 * @example
 * const obs = makeObserver(qconfig.weight);
 */
export function makeObserver(factory: ObserverFactoryLike): ObserverLike {
  return typeof factory === 'function' ? factory() : factory.create();
}

/** A forward pre-hook: may return replacement arguments (an array, or one value). */
export type ForwardPreHook<M extends Module = Module> = (module: M, args: unknown[]) => unknown;

/** A forward hook: may return a replacement output. */
export type ForwardHook<M extends Module = Module> = (module: M, args: unknown[], output: unknown) => unknown;

/**
 * Returned by hook registration; `remove()` unregisters the hook (PyTorch's `RemovableHandle`).
 *
 * @example
 * const h = conv.registerForwardHook((m, args, out) => { seen.push(out) }); h.remove();
 */
export interface RemovableHandle {
  readonly id: number;
  remove(): void;
}

interface ModuleState {
  parameters: Set<string>;
  buffers: Set<string>;
  nonPersistent: Set<string>;
  preHooks: Map<number, ForwardPreHook>;
  hooks: Map<number, ForwardHook>;
  nextHookId: number;
}

// Internal state lives under a symbol key, so scanning own string-keyed properties finds only what
// user code assigned (children, parameters, attributes), in assignment order.
const STATE: unique symbol = Symbol('quint.nn.moduleState');
/** Marks classes defined in this package; checked as an own property so user subclasses are not. */
export const BUILTIN: unique symbol = Symbol('quint.nn.builtin');
const PATH_ERROR: unique symbol = Symbol('quint.nn.pathError');

interface PathErrorInfo {
  owner: object;
  trail: string[];
  format: (path: string) => string;
}

/** True for an observer-like object (see {@link ObserverLike}). */
export function isObserverLike(v: unknown): v is ObserverLike {
  return (
    typeof v === 'object' &&
    v !== null &&
    !(v instanceof Module) &&
    typeof (v as { forward?: unknown }).forward === 'function' &&
    typeof (v as { calculateQparams?: unknown }).calculateQparams === 'function'
  );
}

/**
 * The base class of every layer and model, as `torch.nn.Module`.
 *
 * Subclasses assign children, parameters and attributes as properties in their constructor, and
 * implement `forward`. Children are found by scanning own properties in assignment order
 * (Module-valued properties), parameters are {@link Parameter}-valued properties or registered with
 * {@link Module.registerParameter}, buffers are registered with {@link Module.registerBuffer}. Call a
 * module with {@link Module.call}, never `forward` directly: `call` runs hooks and lets the FX
 * tracer see the call.
 *
 * Names: `namedModules`, `namedParameters`, `namedBuffers` and `getSubmodule` use property paths as
 * written (`'bn.runningMean'`); `stateDict` keys and `toString` use PyTorch's spelling of each
 * segment (`'bn.running_mean'`, `(activation_post_process)`), so torch's state dicts load as they are.
 *
 * @example
 * class M extends Module {
 *   conv = new Conv2d(1, 1, 1);
 *   relu = new ReLU();
 *   forward(x: Tensor): Tensor { return this.relu.call(this.conv.call(x)); }
 * }
 * const y = new M().eval().call(x);
 * @see https://pytorch.org/docs/stable/generated/torch.nn.Module.html
 */
export abstract class Module {
  /** Training mode (PyTorch's `training`); {@link Module.train} and {@link Module.eval} set it recursively. */
  training = true;
  /** The quantization config `prepare` reads (set by the user or propagated; removed by `convert`). */
  declare qconfig?: QConfigLike | null | undefined;
  /** The output observer `prepare` attaches (PyTorch's `activation_post_process`). */
  declare activationPostProcess?: Module | ObserverLike | undefined;
  /**
   * The backend that runs this module on QTensors: the converted model's (quantized modules get
   * it at `fromFloat`; float modules left in a converted model get it from
   * {@link setQuantizedBackend}).
   */
  declare backend?: QuantizedBackend | undefined;
  /** The engine passed to the backend's kernels (default `'qnnpack'`). */
  declare engine?: Engine | undefined;
  declare private [STATE]: ModuleState;

  constructor() {
    Object.defineProperty(this, STATE, {
      value: {
        parameters: new Set(),
        buffers: new Set(),
        nonPersistent: new Set(),
        preHooks: new Map(),
        hooks: new Map(),
        nextHookId: 0,
      } satisfies ModuleState,
      enumerable: false,
      writable: true,
      configurable: true,
    });
  }

  /** The computation; implemented by every subclass. Call {@link Module.call} to run it. */
  abstract forward(...args: never[]): unknown;

  /**
   * Runs the module: forward pre-hooks, `forward`, forward hooks — through
   * `dispatchModuleCall`, so `symbolicTrace` records the call. A `QuantError` raised inside gets the
   * module path of the module that raised it in its message.
   *
   * @example
   * const y = model.call(x);
   */
  call<M extends Module>(this: M, ...args: Parameters<M['forward']>): ReturnType<M['forward']> {
    try {
      return dispatchModuleCall(this, args, () => this.runHooksAndForward(args)) as ReturnType<M['forward']>;
    } catch (e) {
      annotatePath(this, e);
      throw e;
    }
  }

  private runHooksAndForward(callArgs: unknown[]): unknown {
    const st = this[STATE];
    let args = callArgs;
    // Copies of the hook lists (a hook may remove itself), made only when there are hooks: every
    // module call of a model's forward passes here.
    if (st.preHooks.size > 0) {
      for (const hook of [...st.preHooks.values()]) {
        const r = hook(this, args);
        if (r !== undefined) args = Array.isArray(r) ? r : [r];
      }
    }
    let out = (this.forward as (...a: unknown[]) => unknown)(...args);
    if (st.hooks.size > 0) {
      for (const hook of [...st.hooks.values()]) {
        const r = hook(this, args, out);
        if (r !== undefined) out = r;
      }
    }
    return out;
  }

  /**
   * Registers a hook run before `forward` with `(module, args)`; a returned array (or single value)
   * replaces the arguments.
   *
   * @example
   * const h = m.registerForwardPreHook((mod, args) => { inputs.push(args[0]) }); h.remove();
   */
  registerForwardPreHook<M extends Module>(this: M, hook: ForwardPreHook<M>): RemovableHandle {
    return addHook(this[STATE], this[STATE].preHooks, hook as ForwardPreHook);
  }

  /**
   * Registers a hook run after `forward` with `(module, args, output)`; a returned value replaces the
   * output.
   *
   * @example
   * const h = m.conv.registerForwardHook((mod, args, out) => { outputs.push(out) }); h.remove();
   */
  registerForwardHook<M extends Module>(this: M, hook: ForwardHook<M>): RemovableHandle {
    return addHook(this[STATE], this[STATE].hooks, hook as ForwardHook);
  }

  /**
   * The registered hooks, in order (what the converter moves when it fuses or swaps modules).
   *
   * @example
   * const { preHooks, hooks } = m.forwardHooks();
   */
  forwardHooks(): { preHooks: ForwardPreHook[]; hooks: ForwardHook[] } {
    const st = this[STATE];
    return { preHooks: [...st.preHooks.values()], hooks: [...st.hooks.values()] };
  }

  /**
   * Registers `value` (a tensor, or null for "absent", as `bias=False`) as the parameter `name` and
   * assigns it to `this[name]`.
   *
   * @throws `INVALID_ARGUMENT` when `name` is empty, contains a dot, or names a child module.
   * @example
   * this.registerParameter('bias', null);
   */
  registerParameter(name: string, value: Tensor | null): void {
    checkName(this, name, 'registerParameter');
    this[STATE].parameters.add(name);
    (this as unknown as Record<string, unknown>)[name] =
      value === null || value instanceof Parameter ? value : new Parameter(value);
  }

  /**
   * Registers a buffer: state that is not a weight (running statistics), saved in the state dict
   * unless `persistent` is false. Assigns it to `this[name]`.
   *
   * @throws `INVALID_ARGUMENT` when `name` is empty, contains a dot, or names a child module.
   * @example
   * this.registerBuffer('runningMean', zeros([numFeatures]));
   */
  registerBuffer(name: string, value: Tensor | null, options: { persistent?: boolean } = {}): void {
    checkName(this, name, 'registerBuffer');
    const st = this[STATE];
    st.buffers.add(name);
    if (options.persistent === false) st.nonPersistent.add(name);
    else st.nonPersistent.delete(name);
    (this as unknown as Record<string, unknown>)[name] = value;
  }

  /**
   * Adds (or replaces) the child `name`, as `add_module`.
   *
   * @example
   * seq.addModule('2', new ReLU());
   */
  addModule(name: string, module: Module | ObserverLike): void {
    if (name === '' || name.includes('.')) {
      throw new QuantError(
        'INVALID_ARGUMENT',
        `addModule: module name '${name}' is empty or contains '.'; pass a plain name.`,
      );
    }
    (this as unknown as Record<string, unknown>)[name] = module;
  }

  private ownEntries(): [string, unknown][] {
    return Object.entries(this);
  }

  /**
   * Direct children, `[name, module]`, in assignment order.
   *
   * @example
   * for (const [name, child] of model.namedChildren()) console.log(name);
   */
  namedChildren(): [string, Module][] {
    return this.ownEntries().filter((e): e is [string, Module] => e[1] instanceof Module);
  }

  /** Direct children in assignment order. @example model.children().length */
  children(): Module[] {
    return this.namedChildren().map(([, m]) => m);
  }

  /**
   * This module and every descendant, pre-order, each once, with dotted paths as PyTorch
   * (`''` for this module, `'layer1.0.conv1'`).
   *
   * @example
   * const paths = model.namedModules().map(([p]) => p);
   */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [];
    const seen = new Set<Module>();
    const visit = (m: Module, p: string): void => {
      if (seen.has(m)) return;
      seen.add(m);
      out.push([p, m]);
      for (const [name, c] of m.namedChildren()) visit(c, p === '' ? name : `${p}.${name}`);
    };
    visit(this, prefix);
    return out;
  }

  /** This module and every descendant, pre-order. @example model.modules().filter((m) => m instanceof Conv2d) */
  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  /** Names of the parameters of this module alone (registered or Parameter-valued), in order. */
  private parameterNames(): string[] {
    const reg = this[STATE].parameters;
    return this.ownEntries()
      .filter(([k, v]) => v instanceof Parameter || (reg.has(k) && v === null) || (reg.has(k) && v instanceof Tensor))
      .map(([k]) => k);
  }

  private bufferNames(): string[] {
    const reg = this[STATE].buffers;
    return this.ownEntries()
      .filter(([k]) => reg.has(k))
      .map(([k]) => k);
  }

  /**
   * Every parameter of this module and its descendants, `[path, tensor]` (property paths,
   * `'conv.weight'`); absent (null) parameters are skipped; shared tensors appear once.
   *
   * @example
   * const n = model.namedParameters().reduce((s, [, p]) => s + p.numel, 0);
   */
  namedParameters(): [string, Tensor][] {
    return this.collect((m) => m.parameterNames());
  }

  /** Every parameter tensor. @example model.parameters().length */
  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /**
   * Every buffer of this module and its descendants, `[path, tensor]` (property paths,
   * `'bn.runningMean'`).
   *
   * @example
   * model.namedBuffers().map(([p]) => p); // ['bn.runningMean', 'bn.runningVar', 'bn.numBatchesTracked']
   */
  namedBuffers(): [string, Tensor][] {
    return this.collect((m) => m.bufferNames());
  }

  /** Every buffer tensor. @example model.buffers().length */
  buffers(): Tensor[] {
    return this.namedBuffers().map(([, t]) => t);
  }

  private collect(names: (m: Module) => string[]): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    for (const [p, m] of this.namedModules()) {
      for (const k of names(m)) {
        const v = (m as unknown as Record<string, unknown>)[k];
        if (!(v instanceof Tensor) || seen.has(v)) continue;
        seen.add(v);
        out.push([p === '' ? k : `${p}.${k}`, v]);
      }
    }
    return out;
  }

  /**
   * The module at a dotted property path (`''` is this module).
   *
   * @throws `INVALID_ARGUMENT` when a segment is not a child module.
   * @example
   * const conv = model.getSubmodule('layer1.0.conv1');
   */
  getSubmodule(path: string): Module {
    if (path === '') return this;
    let m: Module = this;
    const segs = path.split('.');
    for (let i = 0; i < segs.length; i++) {
      const v = (m as unknown as Record<string, unknown>)[segs[i]!];
      if (!(v instanceof Module) || !Object.hasOwn(m, segs[i]!)) {
        const at = segs.slice(0, i).join('.');
        throw new QuantError(
          'INVALID_ARGUMENT',
          `getSubmodule: '${path}' not found: ${m.getName()}${at === '' ? '' : ` at '${at}'`} has no submodule '${segs[i]}'; use one of the paths namedModules() lists.`,
        );
      }
      m = v;
    }
    return m;
  }

  /**
   * Puts `module` at a dotted property path, replacing what is there (keeping its position) or
   * adding it; the converter's module swap.
   *
   * @throws `INVALID_ARGUMENT` when the parent path does not exist or the path is empty.
   * @example
   * model.setSubmodule('features.0', fused);
   */
  setSubmodule(path: string, module: Module | ObserverLike): void {
    if (path === '') {
      throw new QuantError(
        'INVALID_ARGUMENT',
        "setSubmodule: the path is empty; pass the dotted path of the child to replace, e.g. 'conv'.",
      );
    }
    const i = path.lastIndexOf('.');
    const parent = this.getSubmodule(i < 0 ? '' : path.slice(0, i));
    parent.addModule(path.slice(i + 1), module);
  }

  /**
   * Sets training mode on this module and every descendant; returns this.
   *
   * @example
   * model.train(false);
   */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  /** `train(false)`: inference mode (BatchNorm uses running statistics, Dropout is identity). @example model.eval() */
  eval(): this {
    return this.train(false);
  }

  /**
   * The module's state with PyTorch's keys and order: parameters (non-null), persistent buffers,
   * then each child's (and each observer's) state under `<name>.`. Values are the module's own tensors,
   * not copies (as PyTorch).
   *
   * @example
   * Object.keys(new Sequential(new Conv2d(1, 1, 1), new BatchNorm2d(1)).stateDict());
   * // ['0.weight', '0.bias', '1.weight', '1.bias', '1.running_mean', '1.running_var', '1.num_batches_tracked']
   */
  stateDict(prefix = ''): StateDict {
    const out: StateDict = {};
    this.stateDictInto(out, prefix, new Set());
    return out;
  }

  private stateDictInto(out: StateDict, prefix: string, seen: Set<Module>): void {
    this.saveToStateDict(out, prefix);
    for (const [name, v] of this.ownEntries()) {
      const key = `${prefix}${snakeCase(name)}.`;
      if (v instanceof Module) {
        v.stateDictInto(out, key, seen);
      } else if (isObserverLike(v) && typeof v.stateDict === 'function') {
        for (const [k, val] of Object.entries(v.stateDict()))
          out[`${key}${snakeCase(k)}`] = new Tensor(Float32Array.from(val), [val.length]);
      }
    }
  }

  /**
   * Writes this module's own entries (not its children's) under `prefix`; PyTorch's
   * `_save_to_state_dict`. Quantized modules override it to save QTensors and qparams.
   */
  protected saveToStateDict(out: StateDict, prefix: string): void {
    const self = this as unknown as Record<string, unknown>;
    for (const k of this.parameterNames()) {
      const v = self[k];
      if (v instanceof Tensor) out[prefix + snakeCase(k)] = v;
    }
    const st = this[STATE];
    for (const k of this.bufferNames()) {
      const v = self[k];
      if (v instanceof Tensor && !st.nonPersistent.has(k)) out[prefix + snakeCase(k)] = v;
    }
  }

  /**
   * Copies values from a state dict (PyTorch keys) into this module's tensors, in place. With
   * `strict` (default), missing or unexpected keys throw, listing them as PyTorch does.
   *
   * @throws `INVALID_ARGUMENT` for missing/unexpected keys under `strict`; `SHAPE_MISMATCH` when a
   *   value's shape differs from the module's tensor (named by key).
   * @example
   * model.loadStateDict(torchStateDict);
   */
  loadStateDict(stateDict: StateDict, options: LoadStateDictOptions = {}): IncompatibleKeys {
    const ctx: LoadStateDictContext = {
      strict: options.strict ?? true,
      missingKeys: [],
      unexpectedKeys: [],
      errorMsgs: [],
    };
    const consumed = new Set<string>();
    const load = (m: Module, prefix: string): void => {
      const local: StateDict = {};
      for (const [k, v] of Object.entries(stateDict)) if (k.startsWith(prefix)) local[k] = v;
      m.loadFromStateDict(local, prefix, ctx, consumed);
      for (const [name, v] of m.ownEntries()) {
        const childPrefix = `${prefix}${snakeCase(name)}.`;
        if (v instanceof Module) load(v, childPrefix);
        else if (isObserverLike(v)) loadObserver(v, stateDict, childPrefix, ctx, consumed);
      }
    };
    load(this, '');
    for (const k of Object.keys(stateDict)) if (!consumed.has(k)) ctx.unexpectedKeys.push(k);
    if (ctx.strict) {
      if (ctx.unexpectedKeys.length > 0)
        ctx.errorMsgs.unshift(
          `Unexpected key(s) in state_dict: ${ctx.unexpectedKeys.map((k) => `"${k}"`).join(', ')}.`,
        );
      if (ctx.missingKeys.length > 0)
        ctx.errorMsgs.unshift(`Missing key(s) in state_dict: ${ctx.missingKeys.map((k) => `"${k}"`).join(', ')}.`);
    }
    if (ctx.errorMsgs.length > 0) {
      const code = ctx.errorMsgs.some((m) => m.startsWith('size mismatch')) ? 'SHAPE_MISMATCH' : 'INVALID_ARGUMENT';
      throw new QuantError(
        code,
        `loadStateDict: error(s) loading state_dict for ${this.getName()}: ${ctx.errorMsgs.join(' ')} Pass a state dict of this architecture, or { strict: false }.`,
      );
    }
    return { missingKeys: ctx.missingKeys, unexpectedKeys: ctx.unexpectedKeys };
  }

  /**
   * Loads this module's own entries (keys `prefix + name`) and marks them in `consumed`; PyTorch's
   * `_load_from_state_dict`. Quantized modules override it.
   */
  protected loadFromStateDict(
    stateDict: StateDict,
    prefix: string,
    ctx: LoadStateDictContext,
    consumed: Set<string>,
  ): void {
    const self = this as unknown as Record<string, unknown>;
    const st = this[STATE];
    const names = [...this.parameterNames(), ...this.bufferNames().filter((k) => !st.nonPersistent.has(k))];
    for (const k of names) {
      const cur = self[k];
      if (!(cur instanceof Tensor)) continue;
      const key = prefix + snakeCase(k);
      if (!(key in stateDict)) {
        ctx.missingKeys.push(key);
        continue;
      }
      consumed.add(key);
      const v = stateDict[key];
      if (!(v instanceof Tensor)) {
        ctx.errorMsgs.push(`While copying the parameter named "${key}", expected a Tensor, got ${describe(v)}.`);
        continue;
      }
      const same = v.shape.length === cur.shape.length && v.shape.every((d, i) => d === cur.shape[i]);
      // A 0-d value may load into a one-element tensor, as torch's scalar num_batches_tracked.
      if (!same && !(v.numel === 1 && cur.numel === 1)) {
        ctx.errorMsgs.push(
          `size mismatch for ${key}: copying a param with shape [${v.shape.join(', ')}] from checkpoint, the shape in current model is [${cur.shape.join(', ')}].`,
        );
        continue;
      }
      copyInto(cur, v);
    }
  }

  /**
   * Releases what this module and its descendants hold outside JS values (quantized modules drop
   * their prepacked weights; they re-pack on the next call). Float modules hold nothing.
   *
   * @example
   * quantized.dispose();
   */
  dispose(): void {
    for (const m of this.children()) m.dispose();
  }

  /**
   * Called on each module of a {@link cloneModule} copy after its properties are copied; quantized
   * modules drop the prepacked weights they shared with the original (a backend accepts only its
   * own handles), so the copy re-packs on first use.
   */
  protected afterClone(): void {}

  /**
   * PyTorch's `extra_repr()`: the one-line description inside the parentheses of `toString()`.
   *
   * @example
   * new Linear(2, 3).extraRepr(); // 'in_features=2, out_features=3, bias=True'
   */
  extraRepr(): string {
    return '';
  }

  /**
   * The class name PyTorch prints (`_get_name()`): the class name for user modules, PyTorch's for
   * ours (`QuantizedConv2d` for `nnq.Conv2d`).
   */
  getName(): string {
    return this.constructor.name;
  }

  /**
   * PyTorch's module printout (`repr(module)`), character for character.
   *
   * @example
   * String(new M()); // 'M(\n  (conv): Conv2d(1, 1, kernel_size=(1, 1), stride=(1, 1))\n  (relu): ReLU()\n)'
   */
  toString(): string {
    const extra = this.extraRepr();
    const extraLines = extra === '' ? [] : extra.split('\n');
    const childLines: string[] = [];
    for (const [name, v] of this.ownEntries()) {
      if (v instanceof Module || isObserverLike(v)) childLines.push(`(${snakeCase(name)}): ${addIndent(String(v), 2)}`);
    }
    const lines = [...extraLines, ...childLines];
    let s = `${this.getName()}(`;
    if (lines.length > 0) {
      if (extraLines.length === 1 && childLines.length === 0) s += extraLines[0];
      else s += `\n  ${lines.join('\n  ')}\n`;
    }
    return `${s})`;
  }
}

function describe(v: unknown): string {
  if (v instanceof QTensor) return `a QTensor of shape [${v.shape.join(', ')}]`;
  return typeof v === 'object' && v !== null ? (v.constructor?.name ?? 'an object') : `${typeof v} ${String(v)}`;
}

function copyInto(dst: Tensor, src: Tensor): void {
  const values = src.toFloat32Array();
  if (dst.isContiguous()) {
    dst.data.set(values);
    return;
  }
  const n = dst.numel;
  const idx = new Array<number>(dst.ndim).fill(0);
  for (let i = 0; i < n; i++) {
    dst.set(values[i]!, ...idx);
    for (let d = dst.ndim - 1; d >= 0; d--) {
      if (++idx[d]! < dst.shape[d]!) break;
      idx[d] = 0;
    }
  }
}

function loadObserver(
  obs: ObserverLike,
  stateDict: StateDict,
  prefix: string,
  ctx: LoadStateDictContext,
  consumed: Set<string>,
): void {
  if (typeof obs.stateDict !== 'function' || typeof obs.loadStateDict !== 'function') return;
  const own = obs.stateDict();
  const local: Record<string, Float32Array | Int32Array> = {};
  let complete = true;
  for (const [k, cur] of Object.entries(own)) {
    const key = prefix + snakeCase(k);
    const v = stateDict[key];
    if (v === undefined) {
      ctx.missingKeys.push(key);
      complete = false;
      continue;
    }
    consumed.add(key);
    if (!(v instanceof Tensor)) {
      ctx.errorMsgs.push(`While copying the buffer named "${key}", expected a Tensor, got ${describe(v)}.`);
      complete = false;
      continue;
    }
    const values = v.toFloat32Array();
    local[k] = cur instanceof Int32Array ? Int32Array.from(values) : values;
  }
  if (complete) obs.loadStateDict(local);
}

function checkName(m: Module, name: string, what: string): void {
  if (name === '' || name.includes('.')) {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `${what}: name '${name}' is empty or contains '.'; pass a plain property name.`,
    );
  }
  const cur = (m as unknown as Record<string, unknown>)[name];
  if (cur instanceof Module) {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `${what}: '${name}' is already a child module of ${m.getName()}; pick another name.`,
    );
  }
}

function addHook<H>(st: ModuleState, map: Map<number, H>, hook: H): RemovableHandle {
  const id = st.nextHookId++;
  map.set(id, hook);
  return { id, remove: () => void map.delete(id) };
}

/**
 * Marks a QuantError as raised by `module`, with a message that names the module's path once the
 * callers above it are known. `format(path)` writes the message; `path` is `''` at the root.
 */
export function moduleError(module: Module, error: QuantError, format: (path: string) => string): QuantError {
  const info: PathErrorInfo = { owner: module, trail: [], format };
  Object.defineProperty(error, PATH_ERROR, { value: info, enumerable: false });
  error.message = format('');
  return error;
}

// Each enclosing Module.call finds the raising module among its children and prepends the name, so
// the message read at the top names the full path ('features.0'); no global call stack is kept.
function annotatePath(caller: Module, e: unknown): void {
  if (!isQuantError(e)) return;
  const info = (e as unknown as Record<symbol, PathErrorInfo | undefined>)[PATH_ERROR];
  if (info === undefined || info.owner === caller) return;
  const entry = Object.entries(caller).find(([, v]) => v === info.owner);
  if (entry === undefined) return;
  info.trail.unshift(snakeCase(entry[0]));
  info.owner = caller;
  e.message = info.format(info.trail.join('.'));
}

/**
 * Gives every module of `root` that has no backend yet (the float modules a converted model keeps:
 * ReLU, pooling, Flatten, …) the backend and engine to run on QTensors, as PyTorch dispatches
 * `nn.ReLU` or `nn.MaxPool2d` on a quantized tensor. `convert` calls it; quantized modules keep
 * their own.
 *
 * @example
 * setQuantizedBackend(quantized, { backend: createJsBackend(), engine: 'qnnpack' });
 */
export function setQuantizedBackend(
  root: Module,
  options: { readonly backend: QuantizedBackend; readonly engine?: Engine },
): void {
  for (const m of root.modules()) {
    if (m.backend !== undefined) continue;
    Object.defineProperty(m, 'backend', {
      value: options.backend,
      writable: true,
      enumerable: false,
      configurable: true,
    });
    Object.defineProperty(m, 'engine', {
      value: options.engine ?? 'qnnpack',
      writable: true,
      enumerable: false,
      configurable: true,
    });
  }
}

/**
 * True when `m` is an instance of a class defined in `@quint/nn` itself (not a user subclass):
 * what the FX tracer treats as a leaf by default (PyTorch: modules of `torch.nn`, except
 * `Sequential`, which the tracer must still trace through).
 *
 * @example
 * isBuiltinModule(new Conv2d(1, 1, 1)); // true
 * isBuiltinModule(new M());             // false
 */
export function isBuiltinModule(m: unknown): boolean {
  return m instanceof Module && Object.hasOwn(m.constructor, BUILTIN);
}

/**
 * A deep copy of a module, as `copy.deepcopy` (what `prepare`/`convert` do unless `inplace`):
 * children, parameters, buffers, hooks, observers and QTensors are copied; shared modules stay
 * shared within the copy; a backend, functions, and other class instances without a `clone()`
 * method are shared. Quantized modules re-pack their weights on first use. `memo`, as deepcopy's,
 * maps values to what the copy holds instead of copies of them (e.g. a weight the copy replaces,
 * which is then never copied).
 *
 * @example
 * const copy = cloneModule(model);
 * const requantized = cloneModule(conv, new Map([[conv.weight, new Parameter(w2)]]));
 */
export function cloneModule<M extends Module>(m: M, memo?: ReadonlyMap<unknown, unknown>): M {
  const seen = new Map<unknown, unknown>(memo);
  const out = deepCopy(m, seen) as M;
  for (const [from, v] of seen) {
    if (v instanceof Module && !memo?.has(from)) (v as unknown as { afterClone(): void }).afterClone();
  }
  return out;
}

function deepCopy(v: unknown, memo: Map<unknown, unknown>): unknown {
  if (typeof v !== 'object' || v === null) return v;
  if (memo.has(v)) return memo.get(v);
  if (v instanceof Parameter) return remember(memo, v, new Parameter(v.clone()));
  if (v instanceof Tensor) return remember(memo, v, v.clone());
  if (v instanceof QTensor) return remember(memo, v, new QTensor(v.intRepr(), v.shape, v.dtype, copyQparams(v)));
  if (ArrayBuffer.isView(v)) return remember(memo, v, (v as unknown as { slice(): unknown }).slice());
  if (Array.isArray(v)) {
    const out: unknown[] = [];
    memo.set(v, out);
    for (const x of v) out.push(deepCopy(x, memo));
    return out;
  }
  if (v instanceof Map) {
    const out = new Map();
    memo.set(v, out);
    for (const [k, x] of v) out.set(k, deepCopy(x, memo));
    return out;
  }
  if (v instanceof Set) {
    const out = new Set();
    memo.set(v, out);
    for (const x of v) out.add(deepCopy(x, memo));
    return out;
  }
  if (isBackendLike(v)) return v;
  const proto = Object.getPrototypeOf(v) as object | null;
  const plain = proto === Object.prototype || proto === null;
  // Observers are plain state (min/max, histograms): copied field by field, as deepcopy does.
  if (!(v instanceof Module) && !plain && !isObserverLike(v)) {
    const clone = (v as { clone?: unknown }).clone;
    return typeof clone === 'function' ? remember(memo, v, (clone as () => unknown).call(v)) : v;
  }
  const out = Object.create(proto) as Record<PropertyKey, unknown>;
  memo.set(v, out);
  for (const key of Reflect.ownKeys(v)) {
    const d = Object.getOwnPropertyDescriptor(v, key)!;
    if ('value' in d) d.value = deepCopy(d.value, memo);
    Object.defineProperty(out, key, d);
  }
  return out;
}

// A QuantizedBackend (a plain object of kernels) is shared, never copied: it owns packed weights.
function isBackendLike(v: object): boolean {
  const b = v as { kernels?: unknown; prepackConv2d?: unknown; supports?: unknown };
  return typeof b.kernels === 'object' && typeof b.prepackConv2d === 'function' && typeof b.supports === 'function';
}

function remember<T>(memo: Map<unknown, unknown>, from: unknown, to: T): T {
  memo.set(from, to);
  return to;
}

function copyQparams(q: QTensor): QTensor['qparams'] {
  const p = q.qparams;
  if ('scales' in p) return { ...p, scales: p.scales.slice(), zeroPoints: p.zeroPoints.slice() };
  return { ...p };
}
