// torch/ao/quantization/quantize.py: eager-mode prepare, convert, quantize, quantize_dynamic.
import { isQuantError, QuantError } from '@quint/tensor';
import type { Engine, QuantizedBackend } from '@quint/qtensor';
import { createJsBackend } from '@quint/kernels-js';
import {
  defaultDynamicQConfig,
  defaultFixedQParamsRange0to1Observer,
  defaultFixedQParamsRangeNeg1to1Observer,
} from '@quint/observers';
import {
  cloneModule,
  DeQuantStub,
  Dropout,
  FloatFunctional,
  Hardsigmoid,
  isObserverLike,
  makeObserver,
  Sequential,
  setQuantizedBackend,
  Sigmoid,
  Tanh,
  nni,
  nnq,
  type ForwardHook,
  type ForwardPreHook,
  type Module,
  type ObserverFactoryLike,
  type ObserverLike,
  type QConfigLike,
} from '@quint/nn';
import {
  defaultDynamicQuantModuleMappings,
  defaultStaticQuantModuleMappings,
  getDefaultQConfigPropagationList,
  type ModuleClass,
  type ModuleMapping,
} from './quantization-mappings.js';

/** Name or type → qconfig, as PyTorch's `qconfig_dict` (names are property paths, `'layer1.conv'`). */
export type QConfigDict = ReadonlyMap<ModuleClass | string, QConfigLike | null>;

// Fused modules are observed and swapped as one unit (PyTorch's `_FusedModule`).
const FUSED: readonly ModuleClass[] = [nni.ConvReLU2d, nni.ConvBn2d, nni.ConvBnReLU2d, nni.LinearReLU];

function isFused(m: Module): boolean {
  return FUSED.includes(m.constructor as ModuleClass);
}

function pathOf(prefix: string, name: string): string {
  return prefix === '' ? name : `${prefix}.${name}`;
}

function where(path: string): string {
  return path === '' ? 'the root module' : `'${path}'`;
}

/**
 * Gives every module a `qconfig` (`propagate_qconfig_`): its own if set (`null` opts it and, by
 * inheritance, its children out), else the dict's entry for its path, else for its exact type, else
 * its parent's. Modifies `module` in place.
 *
 * @example
 * model.qconfig = getDefaultQConfig('qnnpack');
 * propagateQConfig(model); // model.conv.qconfig === model.qconfig
 * @see https://github.com/pytorch/pytorch/blob/v1.13.1/torch/ao/quantization/quantize.py
 */
export function propagateQConfig(module: Module, qconfigDict: QConfigDict = new Map()): void {
  const visit = (m: Module, parent: QConfigLike | null, prefix: string): void => {
    let q = qconfigDict.has(m.constructor as ModuleClass) ? qconfigDict.get(m.constructor as ModuleClass)! : parent;
    if (prefix !== '' && qconfigDict.has(prefix)) q = qconfigDict.get(prefix)!;
    if (m.qconfig !== undefined) q = m.qconfig;
    m.qconfig = q;
    for (const [name, child] of m.namedChildren()) visit(child, q, pathOf(prefix, name));
  };
  visit(module, null, '');
}

/**
 * The forward hook that feeds a module's output to its `activationPostProcess`
 * (`_observer_forward_hook`); `convert` drops it when swapping.
 */
const observerForwardHook: ForwardHook = (m, _args, output) => {
  const obs = m.activationPostProcess;
  return isObserverLike(obs) ? obs.forward(output as never) : output;
};

/** The pre-hook variant for memoryless activation observers (`_observer_forward_pre_hook`). */
const observerForwardPreHook: ForwardPreHook = (m, args) => {
  const obs = m.activationPostProcess;
  return isObserverLike(obs) ? obs.forward(args[0] as never) : undefined;
};

/** `activation_is_memoryless`: a moving-average observer with averaging constant 1. */
function activationIsMemoryless(qconfig: QConfigLike): boolean {
  const obs = makeObserver(qconfig.activation) as ObserverLike & { averagingConstant?: number };
  return obs.averagingConstant === 1;
}

// PyTorch's DEFAULT_MODULE_TO_ACT_POST_PROCESS (training mode only): fixed qparams, here as observers.
function specialActPostProcess(m: Module): ObserverFactoryLike | undefined {
  if (!m.training) return undefined;
  if (m.constructor === Hardsigmoid || m.constructor === Sigmoid) return defaultFixedQParamsRange0to1Observer;
  if (m.constructor === Tanh) return defaultFixedQParamsRangeNeg1to1Observer;
  return undefined;
}

/** Options of {@link addObserver}. */
export interface AddObserverOptions {
  /** Leaf module types that get an output observer (default {@link getDefaultQConfigPropagationList}). */
  readonly qconfigPropagationList?: ReadonlySet<ModuleClass>;
  /** Non-leaf module types that get one too. */
  readonly nonLeafModuleList?: ReadonlySet<ModuleClass>;
}

function needsObservation(m: Module): boolean {
  return m.qconfig !== undefined && m.qconfig !== null;
}

function insertActivationPostProcess(m: Module, special?: ObserverFactoryLike): void {
  if (!needsObservation(m) || m instanceof DeQuantStub) return;
  const qconfig = m.qconfig!;
  m.activationPostProcess = makeObserver(special ?? qconfig.activation);
  // 1.13 puts the observer first among the hooks; nn appends (the observer returns its input, so
  // only a hook that replaces the output would see a difference).
  if (activationIsMemoryless(qconfig)) m.registerForwardPreHook(observerForwardPreHook);
  else m.registerForwardHook(observerForwardHook);
}

/**
 * Attaches output observers (`add_observer_`): each leaf module whose exact type is in the
 * propagation list and that has a qconfig gets `activationPostProcess = qconfig.activation()` and a
 * forward hook calling it (a pre-hook for memoryless observers); fused modules (`nni.*`) get one on
 * their output; `FloatFunctional` gets one in its slot (called by `add`/`cat`/…); `QuantStub` gets
 * one, `DeQuantStub` and `Dropout` none. Modifies `module` in place.
 *
 * @example
 * propagateQConfig(model); addObserver(model);
 * @see https://github.com/pytorch/pytorch/blob/v1.13.1/torch/ao/quantization/quantize.py
 */
export function addObserver(module: Module, options: AddObserverOptions = {}): void {
  const list = options.qconfigPropagationList ?? getDefaultQConfigPropagationList();
  const nonLeaf = options.nonLeafModuleList;
  for (const [, child] of module.namedChildren()) {
    const type = child.constructor as ModuleClass;
    if (type === Dropout) continue;
    if (type === FloatFunctional || type === nnq.QFunctional) {
      if (needsObservation(child)) child.activationPostProcess = makeObserver(child.qconfig!.activation);
    } else if (isFused(child)) {
      insertActivationPostProcess(child);
    } else if (specialActPostProcess(child) !== undefined) {
      insertActivationPostProcess(child, specialActPostProcess(child));
    } else if (nonLeaf?.has(type) === true) {
      insertActivationPostProcess(child);
    } else {
      addObserver(child, options);
    }
  }
  if (
    module.namedChildren().length === 0 &&
    !(module instanceof Sequential) &&
    list.has(module.constructor as ModuleClass)
  ) {
    insertActivationPostProcess(module);
  }
}

/** Options of {@link prepare}. */
export interface PrepareOptions {
  /** Observe `model` itself instead of a deep copy (default false). */
  readonly inplace?: boolean;
  /** The module types to observe (PyTorch's `allow_list`; default {@link getDefaultQConfigPropagationList}). */
  readonly allowList?: ReadonlySet<ModuleClass>;
  /** Non-leaf module types to observe as a whole (`observer_non_leaf_module_list`). */
  readonly observerNonLeafModuleList?: ReadonlySet<ModuleClass>;
  /** Receives PyTorch's warnings (default `console.warn`). */
  readonly onWarning?: (message: string) => void;
}

/**
 * Prepares a model for calibration (`torch.ao.quantization.prepare`): propagates `qconfig` from
 * parents to children ({@link propagateQConfig}) and attaches observers ({@link addObserver}). Set
 * `model.qconfig` (or submodules' qconfigs) first; run representative data through the result, then
 * {@link convert}. Without any qconfig it warns as PyTorch ("None of the submodule got qconfig
 * applied…") and returns the model unobserved.
 *
 * @example
 * model.qconfig = getDefaultQConfig('qnnpack', { torchCompat: '1.13' });
 * const prepared = prepare(fuseModules(model.eval(), [['conv', 'relu']]));
 * prepared.call(calibrationBatch);
 * @see https://pytorch.org/docs/stable/generated/torch.ao.quantization.prepare.html
 */
export function prepare<M extends Module>(model: M, options: PrepareOptions = {}): M {
  const m = options.inplace === true ? model : cloneModule(model);
  propagateQConfig(m);
  if (!m.modules().some((x) => needsObservation(x))) {
    (options.onWarning ?? ((s: string) => console.warn(s)))(
      'None of the submodule got qconfig applied. Make sure you passed correct configuration through `qconfig_dict` or by assigning the `.qconfig` attribute directly on submodules',
    );
  }
  addObserver(m, {
    ...(options.allowList === undefined ? {} : { qconfigPropagationList: options.allowList }),
    ...(options.observerNonLeafModuleList === undefined
      ? {}
      : { nonLeafModuleList: options.observerNonLeafModuleList }),
  });
  return m;
}

/** Options of {@link convert} and {@link swapModule}. */
export interface ConvertOptions {
  /** Convert `module` itself instead of a deep copy (default false). */
  readonly inplace?: boolean;
  /** Float → quantized classes (default {@link defaultStaticQuantModuleMappings}). */
  readonly mapping?: ModuleMapping;
  /** The backend the quantized modules run on (default `createJsBackend()` of `@quint/kernels-js`). */
  readonly backend?: QuantizedBackend;
  /** The requantization convention (default `'qnnpack'`). */
  readonly engine?: Engine;
  /** Delete `qconfig` and observers afterwards (default true). */
  readonly removeQConfig?: boolean;
}

function isObserverHook(h: unknown): boolean {
  return h === observerForwardHook || h === observerForwardPreHook;
}

/**
 * The quantized module for `mod` (`swap_module`): when it has a qconfig and its exact type is in
 * `mapping`, `Q.fromFloat(mod, { backend, engine })`, keeping its forward pre-hooks and hooks
 * (except the observer's). Otherwise `mod` itself.
 *
 * @throws `NO_MAPPING` when `mod` was observed by `prepare` (it has a qconfig and an output
 *   observer) but `mapping` has no quantized class for its type, naming `path`; errors of
 *   `fromFloat` (`NOT_CALIBRATED`, `OVERFLOW`, …) with `path` added.
 * @example
 * const q = swapModule(prepared.conv, defaultStaticQuantModuleMappings, { backend, engine: 'qnnpack' }, 'conv');
 * @see https://github.com/pytorch/pytorch/blob/v1.13.1/torch/ao/quantization/quantize.py
 */
export function swapModule(
  mod: Module,
  mapping: ModuleMapping,
  options: { backend: QuantizedBackend; engine: Engine },
  path = '',
): Module {
  if (mod.qconfig === undefined || mod.qconfig === null) return mod;
  const Q = mapping.get(mod.constructor as ModuleClass);
  if (Q === undefined) {
    if (isObserverLike(mod.activationPostProcess)) {
      const hint =
        mod.constructor === nni.ConvBn2d || mod.constructor === nni.ConvBnReLU2d
          ? 'it is a training-mode (QAT) fusion: call model.eval() before fuseModules so the BatchNorm folds into the conv'
          : mod.getName() === 'BatchNorm2d'
            ? "fuse it into the conv before it (fuseModules(model, [['conv', 'bn']])) or set its qconfig to null to keep it in float (with a DeQuantStub before it)"
            : 'add an entry to the mapping option, or set its qconfig to null to keep it in float (with a DeQuantStub before it and a QuantStub after it)';
      throw new QuantError(
        'NO_MAPPING',
        `convert: ${mod.getName()} at ${where(path)} has a qconfig and an observer but no quantized module in the mapping; ${hint}.`,
      );
    }
    return mod;
  }
  let q: Module;
  try {
    q = Q.fromFloat(mod, options);
  } catch (e) {
    if (isQuantError(e))
      throw new QuantError(e.code, `convert: ${mod.getName()} at ${where(path)}: ${e.message}`, { cause: e });
    throw e;
  }
  const { preHooks, hooks } = mod.forwardHooks();
  for (const h of preHooks) if (!isObserverHook(h)) q.registerForwardPreHook(h);
  for (const h of hooks) if (!isObserverHook(h)) q.registerForwardHook(h);
  return q;
}

function convertChildren(
  module: Module,
  mapping: ModuleMapping,
  opts: { backend: QuantizedBackend; engine: Engine },
  prefix: string,
): void {
  for (const [name, child] of module.namedChildren()) {
    const path = pathOf(prefix, name);
    if (!isFused(child)) convertChildren(child, mapping, opts, path);
    const swapped = swapModule(child, mapping, opts, path);
    if (swapped !== child) module.setSubmodule(name, swapped);
  }
}

function removeQConfig(module: Module): void {
  for (const m of module.modules()) {
    delete m.qconfig;
    if (isObserverLike(m.activationPostProcess)) delete m.activationPostProcess;
  }
}

/**
 * Swaps observed float modules for quantized ones (`torch.ao.quantization.convert`): each module
 * with a qconfig whose exact type is in `mapping` becomes `Q.fromFloat(mod, { backend, engine })`,
 * which quantizes its weight with a fresh weight observer and takes its output qparams from its
 * activation observer (spec §5.1); fused modules swap as one unit. Then qconfigs and observers are
 * removed. Quantized modules run on `backend` (default kernels-js) with `engine` (default `'qnnpack'`).
 * Float modules left in place (pooling, flatten, ReLU, Identity) run on QTensors as PyTorch's do.
 * A quantized module given a float tensor, or a float-only module given a QTensor, fails when run,
 * naming its path (a missing QuantStub/DeQuantStub).
 *
 * @throws `NO_MAPPING` for an observed module with no quantized class (see {@link swapModule});
 *   `NOT_CALIBRATED`, `OVERFLOW`, … from `fromFloat`, naming the module path.
 * @example
 * const quantized = convert(prepared, { engine: 'qnnpack' });
 * quantized.call(x);
 * @see https://pytorch.org/docs/stable/generated/torch.ao.quantization.convert.html
 */
export function convert<M extends Module>(module: M, options: ConvertOptions = {}): M {
  const m = options.inplace === true ? module : cloneModule(module);
  const opts = { backend: options.backend ?? createJsBackend(), engine: options.engine ?? 'qnnpack' };
  convertChildren(m, options.mapping ?? defaultStaticQuantModuleMappings, opts, '');
  if (options.removeQConfig !== false) removeQConfig(m);
  // Float modules PyTorch runs on quantized tensors (pooling, ReLU, Flatten, …) get the backend too.
  setQuantizedBackend(m, opts);
  return m;
}

/** Options of {@link quantize}. */
export interface QuantizeOptions {
  readonly mapping?: ModuleMapping;
  readonly inplace?: boolean;
  readonly backend?: QuantizedBackend;
  readonly engine?: Engine;
  readonly onWarning?: (message: string) => void;
}

/**
 * Post-training static quantization in one call (`torch.ao.quantization.quantize`): a deep copy
 * (unless `inplace`) in eval mode, {@link prepare}, `runFn(model, ...runArgs)` to calibrate, then
 * {@link convert}.
 *
 * @throws as {@link convert}.
 * @example
 * model.qconfig = getDefaultQConfig('qnnpack', { torchCompat: '1.13' });
 * const q = quantize(model, (m, xs) => { for (const x of xs) m.call(x); }, [batches]);
 * @see https://github.com/pytorch/pytorch/blob/v1.13.1/torch/ao/quantization/quantize.py
 */
export function quantize<M extends Module, A extends unknown[]>(
  model: M,
  runFn: (model: M, ...args: A) => unknown,
  runArgs: A,
  options: QuantizeOptions = {},
): M {
  const m = options.inplace === true ? model : cloneModule(model);
  m.eval();
  prepare(m, { inplace: true, ...(options.onWarning === undefined ? {} : { onWarning: options.onWarning }) });
  runFn(m, ...runArgs);
  return convert(m, {
    inplace: true,
    ...(options.mapping === undefined ? {} : { mapping: options.mapping }),
    ...(options.backend === undefined ? {} : { backend: options.backend }),
    ...(options.engine === undefined ? {} : { engine: options.engine }),
  });
}

/** Options of {@link quantizeDynamic}. */
export interface QuantizeDynamicOptions {
  /**
   * Which modules: a set of types and/or paths (each gets the `dtype`'s default dynamic qconfig), or
   * a map to qconfigs. Default: every `Linear`.
   */
  readonly qconfigSpec?: ReadonlySet<ModuleClass | string> | QConfigDict;
  /** Weight dtype; only `'qint8'` (PyTorch also has float16, quint8 embeddings). */
  readonly dtype?: 'qint8';
  readonly mapping?: ModuleMapping;
  readonly inplace?: boolean;
  readonly backend?: QuantizedBackend;
  readonly engine?: Engine;
}

/**
 * Dynamic quantization (`torch.ao.quantization.quantize_dynamic`): weights of the chosen `Linear`
 * layers become qint8 (`nnqd.Linear`); activations stay float and are quantized per call from each
 * input's own min/max (spec §5.10). No calibration.
 *
 * @throws `UNSUPPORTED_OP` for a dtype other than `'qint8'`; errors of `fromFloat`, naming the path.
 * @example
 * const q = quantizeDynamic(mlp, { qconfigSpec: new Set([Linear]) });
 * q.call(x); // float output
 * @see https://pytorch.org/docs/stable/generated/torch.ao.quantization.quantize_dynamic.html
 */
export function quantizeDynamic<M extends Module>(model: M, options: QuantizeDynamicOptions = {}): M {
  const dtype: string = options.dtype ?? 'qint8';
  if (dtype !== 'qint8') {
    throw new QuantError(
      'UNSUPPORTED_OP',
      `quantizeDynamic: dtype '${dtype}' is not supported; quint quantizes Linear weights to 'qint8' only.`,
    );
  }
  const spec = options.qconfigSpec;
  let dict: QConfigDict;
  if (spec === undefined)
    dict = new Map<ModuleClass | string, QConfigLike | null>(
      [...defaultDynamicQuantModuleMappings.keys()].map((k) => [k, defaultDynamicQConfig]),
    );
  else if (spec instanceof Set) dict = new Map([...spec].map((k) => [k, defaultDynamicQConfig]));
  else dict = spec as QConfigDict;
  const m = options.inplace === true ? model : cloneModule(model);
  m.eval();
  propagateQConfig(m, dict);
  return convert(m, {
    inplace: true,
    mapping: options.mapping ?? defaultDynamicQuantModuleMappings,
    ...(options.backend === undefined ? {} : { backend: options.backend }),
    ...(options.engine === undefined ? {} : { engine: options.engine }),
  });
}
