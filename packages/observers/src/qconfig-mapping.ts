import { QuantError } from '@quint/tensor';
import {
  defaultFixedQParamsRange0to1Observer,
  defaultFixedQParamsRangeNeg1to1Observer,
  defaultPlaceholderObserver,
  defaultWeightObserver,
} from './default-observers.js';
import {
  checkBackend,
  defaultReuseInputQConfig,
  getDefaultQConfig,
  QConfig,
  type DefaultQConfigOptions,
  type QConfigAny,
  type QConfigBackend,
} from './qconfig.js';

/**
 * What an object-type entry is keyed by: a string, or a class or function whose `name` is used.
 * Modules are named by their class name (`'Conv2d'`, `'Linear'`, `'ReLU'`), functional ops by their
 * function name (`'conv2d'`, `'linear'`, `'relu'`, `'add'`), tensor methods by their method name
 * (`'reshape'`, `'sigmoid_'`). Where PyTorch has two callables of one name (`torch.relu` and
 * `F.relu`), they share the key, and 1.13's defaults give both the same qconfig. Prefer strings:
 * bundlers and minifiers may rename classes and functions (esbuild turns a shadowed `add` into `add2`).
 */
export type ObjectType = string | { readonly name: string };

/** The `(moduleName, objectType, index)` key of {@link QConfigMapping.setModuleNameObjectTypeOrder}. */
export interface ModuleNameObjectTypeOrder {
  readonly moduleName: string;
  readonly objectType: ObjectType;
  readonly index: number;
}

/** PyTorch's `qconfig_dict` form of a mapping (keys as in `QConfigMapping.to_dict`). */
export interface QConfigDict {
  readonly ''?: QConfigAny;
  readonly object_type?: ReadonlyArray<readonly [ObjectType, QConfigAny]>;
  readonly module_name_regex?: ReadonlyArray<readonly [string, QConfigAny]>;
  readonly module_name?: ReadonlyArray<readonly [string, QConfigAny]>;
  readonly module_name_object_type_order?: ReadonlyArray<readonly [string, ObjectType, number, QConfigAny]>;
}

/** The string an {@link ObjectType} is keyed by. */
export function objectTypeKey(objectType: ObjectType): string {
  if (typeof objectType === 'string') return objectType;
  const name = objectType?.name;
  if (typeof name !== 'string' || name === '') {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `QConfigMapping: object type ${String(objectType)} has no name; pass a string such as 'Conv2d' or a named class/function.`,
    );
  }
  return name;
}

/** `'foo.bar.conv'` → `['foo.bar', 'conv']`, `'conv'` → `['', 'conv']` (PyTorch's `_parent_name`). */
function parentName(target: string): [string, string] {
  const i = target.lastIndexOf('.');
  return i < 0 ? ['', target] : [target.slice(0, i), target.slice(i + 1)];
}

/**
 * Which {@link QConfig} applies where (`torch.ao.quantization.QConfigMapping`). Match priority, low
 * to high: global < object type < module name regex < module name (a module inherits its
 * nearest configured parent's) < module name + object type + call index. Setting a key again
 * replaces its qconfig and keeps its original position (regexes are tried in registration order,
 * first match wins). `null` means "leave in float".
 *
 * @example
 * const m = new QConfigMapping()
 *   .setGlobal(getDefaultQConfig('qnnpack'))
 *   .setObjectType('Linear', defaultPerChannelQConfig)
 *   .setModuleName('head', null);
 * m.qconfigForModule('head.fc', 'Linear'); // null: the parent's module-name entry wins
 * @see https://pytorch.org/docs/stable/generated/torch.ao.quantization.qconfig_mapping.QConfigMapping.html
 */
export class QConfigMapping {
  globalQConfig: QConfigAny = null;
  readonly objectTypeQConfigs = new Map<string, QConfigAny>();
  readonly moduleNameRegexQConfigs = new Map<string, QConfigAny>();
  readonly moduleNameQConfigs = new Map<string, QConfigAny>();
  /** Keyed by `JSON.stringify([moduleName, objectTypeKey, index])`. */
  readonly moduleNameObjectTypeOrderQConfigs = new Map<
    string,
    { key: ModuleNameObjectTypeOrder; qconfig: QConfigAny }
  >();

  /** Sets the global (default) qconfig. */
  setGlobal(globalQConfig: QConfigAny): this {
    this.globalQConfig = checkQConfig(globalQConfig);
    return this;
  }

  /** Sets the qconfig of a module type, function or method name (see {@link ObjectType}). */
  setObjectType(objectType: ObjectType, qconfig: QConfigAny): this {
    this.objectTypeQConfigs.set(objectTypeKey(objectType), checkQConfig(qconfig));
    return this;
  }

  /**
   * Sets the qconfig of modules whose name matches `regex` from its start (Python `re.match`).
   *
   * @throws `INVALID_ARGUMENT` when the regex does not compile.
   */
  setModuleNameRegex(regex: string, qconfig: QConfigAny): this {
    try {
      new RegExp(regex);
    } catch (e) {
      throw new QuantError(
        'INVALID_ARGUMENT',
        `QConfigMapping.setModuleNameRegex: '${regex}' is not a valid regular expression; fix the pattern.`,
        { cause: e },
      );
    }
    this.moduleNameRegexQConfigs.set(regex, checkQConfig(qconfig));
    return this;
  }

  /** Sets the qconfig of a module by fully qualified name (its submodules inherit it). */
  setModuleName(moduleName: string, qconfig: QConfigAny): this {
    this.moduleNameQConfigs.set(moduleName, checkQConfig(qconfig));
    return this;
  }

  /**
   * Sets the qconfig of the `index`-th call (0-based) of `objectType` inside module `moduleName`.
   *
   * @throws `INVALID_ARGUMENT` when `index` is not a non-negative integer.
   */
  setModuleNameObjectTypeOrder(key: ModuleNameObjectTypeOrder, qconfig: QConfigAny): this {
    if (!Number.isInteger(key.index) || key.index < 0) {
      throw new QuantError(
        'INVALID_ARGUMENT',
        `QConfigMapping.setModuleNameObjectTypeOrder: index ${key.index} must be a non-negative integer.`,
      );
    }
    const k = JSON.stringify([key.moduleName, objectTypeKey(key.objectType), key.index]);
    this.moduleNameObjectTypeOrderQConfigs.set(k, { key, qconfig: checkQConfig(qconfig) });
    return this;
  }

  /** The object-type qconfig, else `fallback` (PyTorch's `get_object_type_qconfig`). */
  getObjectTypeQConfig(objectType: ObjectType, fallback: QConfigAny): QConfigAny {
    const k = objectTypeKey(objectType);
    return this.objectTypeQConfigs.has(k) ? this.objectTypeQConfigs.get(k)! : fallback;
  }

  /** The first regex entry matching `moduleName` from its start, else `fallback`. */
  getModuleNameRegexQConfig(moduleName: string, fallback: QConfigAny): QConfigAny {
    for (const [pattern, qconfig] of this.moduleNameRegexQConfigs) {
      // Python's re.match anchors at the start only.
      if (new RegExp(`^(?:${pattern})`).test(moduleName)) return qconfig;
    }
    return fallback;
  }

  /** The module-name entry of `moduleName` or its nearest configured parent, else `fallback`. */
  getModuleNameQConfig(moduleName: string, fallback: QConfigAny): QConfigAny {
    for (let name = moduleName; name !== ''; name = parentName(name)[0]) {
      if (this.moduleNameQConfigs.has(name)) return this.moduleNameQConfigs.get(name)!;
    }
    return fallback;
  }

  /**
   * module name > module name regex > object type > `fallback`, for a module of `moduleType` named
   * `moduleName` (PyTorch's `maybe_adjust_qconfig_for_module_type_or_name`).
   */
  getModuleTypeOrNameQConfig(moduleType: ObjectType, moduleName: string, fallback: QConfigAny): QConfigAny {
    const byType = this.getObjectTypeQConfig(moduleType, fallback);
    const byRegex = this.getModuleNameRegexQConfig(moduleName, byType);
    return this.getModuleNameQConfig(moduleName, byRegex);
  }

  /** The `(modulePath, objectType, index)` entry, else `fallback`. */
  getModuleNameObjectTypeOrderQConfig(key: ModuleNameObjectTypeOrder, fallback: QConfigAny): QConfigAny {
    const k = JSON.stringify([key.moduleName, objectTypeKey(key.objectType), key.index]);
    const hit = this.moduleNameObjectTypeOrderQConfigs.get(k);
    return hit === undefined ? fallback : hit.qconfig;
  }

  /**
   * The qconfig of a module call (an FX `call_module` node), with PyTorch 1.13's precedence:
   * `(parent, moduleType, callIndex)` order entry > module name (or a parent's) > regex > module type > global.
   * `callIndex` counts earlier calls of modules of this type inside the same parent module.
   *
   * @example
   * getDefaultQConfigMapping('qnnpack').qconfigForModule('features.0', 'Conv2d');
   * @see https://pytorch.org/docs/stable/generated/torch.ao.quantization.qconfig_mapping.QConfigMapping.html
   */
  qconfigForModule(moduleName: string, moduleType: ObjectType, callIndex?: number): QConfigAny {
    const q = this.getModuleTypeOrNameQConfig(moduleType, moduleName, this.globalQConfig);
    if (callIndex === undefined) return q;
    return this.getModuleNameObjectTypeOrderQConfig(
      { moduleName: parentName(moduleName)[0], objectType: moduleType, index: callIndex },
      q,
    );
  }

  /**
   * The qconfig of a function call (an FX `call_function` node such as `add` or `conv2d`) made inside
   * module `scope.moduleName` of type `scope.moduleType`: the function's object-type entry (else
   * global) is overridden by the scope module's name/regex/type entries, then by an order entry
   * `(scope.moduleName, fn, callIndex)`.
   *
   * @example
   * mapping.qconfigForFunction('add', { moduleName: 'block1', moduleType: 'BasicBlock' }, 0);
   * @see https://pytorch.org/docs/stable/generated/torch.ao.quantization.qconfig_mapping.QConfigMapping.html
   */
  qconfigForFunction(
    fn: ObjectType,
    scope: { moduleName: string; moduleType: ObjectType },
    callIndex?: number,
  ): QConfigAny {
    const fnQ = this.getObjectTypeQConfig(fn, this.globalQConfig);
    const q = this.getModuleTypeOrNameQConfig(scope.moduleType, scope.moduleName, fnQ);
    if (callIndex === undefined) return q;
    return this.getModuleNameObjectTypeOrderQConfig(
      { moduleName: scope.moduleName, objectType: fn, index: callIndex },
      q,
    );
  }

  /**
   * The qconfig of a tensor-method call (an FX `call_method` node such as `reshape`): the method
   * name's entries, then the scope module's (PyTorch 1.13 applies no order entries to methods).
   *
   * @example
   * getDefaultQConfigMapping('qnnpack').qconfigForMethod('reshape', { moduleName: '', moduleType: 'Net' });
   * @see https://pytorch.org/docs/stable/generated/torch.ao.quantization.qconfig_mapping.QConfigMapping.html
   */
  qconfigForMethod(method: string, scope: { moduleName: string; moduleType: ObjectType }): QConfigAny {
    const q = this.getModuleTypeOrNameQConfig(method, scope.moduleName, this.globalQConfig);
    return this.getModuleTypeOrNameQConfig(scope.moduleType, scope.moduleName, q);
  }

  /** PyTorch's `to_dict()` form; object types appear as their string keys. */
  toDict(): QConfigDict {
    return {
      '': this.globalQConfig,
      object_type: [...this.objectTypeQConfigs],
      module_name_regex: [...this.moduleNameRegexQConfigs],
      module_name: [...this.moduleNameQConfigs],
      module_name_object_type_order: [...this.moduleNameObjectTypeOrderQConfigs.values()].map(
        ({ key, qconfig }) => [key.moduleName, objectTypeKey(key.objectType), key.index, qconfig] as const,
      ),
    };
  }

  /**
   * A mapping from PyTorch's `qconfig_dict` form (every key optional).
   *
   * @example
   * QConfigMapping.fromDict({ '': defaultQConfig, module_name: [['fc', null]] });
   * @see https://pytorch.org/docs/stable/generated/torch.ao.quantization.qconfig_mapping.QConfigMapping.html
   */
  static fromDict(dict: QConfigDict): QConfigMapping {
    const m = new QConfigMapping();
    if ('' in dict) m.setGlobal(dict[''] ?? null);
    for (const [t, q] of dict.object_type ?? []) m.setObjectType(t, q);
    for (const [r, q] of dict.module_name_regex ?? []) m.setModuleNameRegex(r, q);
    for (const [n, q] of dict.module_name ?? []) m.setModuleName(n, q);
    for (const [n, t, i, q] of dict.module_name_object_type_order ?? [])
      m.setModuleNameObjectTypeOrder({ moduleName: n, objectType: t, index: i }, q);
    return m;
  }
}

function checkQConfig(q: QConfigAny): QConfigAny {
  if (q !== null && !(q instanceof QConfig) && !(typeof q === 'object' && 'activation' in q && 'weight' in q)) {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `QConfigMapping: ${String(q)} is not a QConfig; pass new QConfig({ activation, weight }) or null.`,
    );
  }
  return q;
}

// 1.13's _FIXED_QPARAMS_OP_TO_OBSERVER, keyed as described at ObjectType.
const FIXED_QPARAMS_OPS: ReadonlyArray<readonly [string, 'range0to1' | 'rangeNeg1to1']> = [
  ['Hardsigmoid', 'range0to1'],
  ['hardsigmoid', 'range0to1'],
  ['hardsigmoid_', 'range0to1'],
  ['Sigmoid', 'range0to1'],
  ['sigmoid', 'range0to1'],
  ['sigmoid_', 'range0to1'],
  ['Softmax', 'range0to1'],
  ['Tanh', 'rangeNeg1to1'],
  ['tanh', 'rangeNeg1to1'],
  ['tanh_', 'rangeNeg1to1'],
];

/**
 * PyTorch 1.13's default post-training {@link QConfigMapping} for a backend
 * (`get_default_qconfig_mapping`, spec §3.2): global {@link getDefaultQConfig}; `reshape` reuses its
 * input's observer; conv/linear/relu/batchnorm modules and functions get the backend qconfig;
 * transposed convs get per-tensor weights on fbgemm/x86; layer norm keeps float weights; sigmoid,
 * hardsigmoid and softmax get fixed qparams (1/256, 0) and tanh (2/256, 128).
 *
 * @throws `INVALID_ARGUMENT` for an unknown backend or version.
 * @example
 * const m = getDefaultQConfigMapping('qnnpack', { torchCompat: '1.13' });
 * m.qconfigForModule('sig', 'Sigmoid')?.activation.create().calculateQparams().scale; // Float32Array [0.00390625]
 * @see https://pytorch.org/docs/stable/generated/torch.ao.quantization.qconfig_mapping.get_default_qconfig_mapping.html
 */
export function getDefaultQConfigMapping(
  backend: QConfigBackend = 'fbgemm',
  options: DefaultQConfigOptions = {},
): QConfigMapping {
  checkBackend(backend, options, 'getDefaultQConfigMapping');
  const qconfig = getDefaultQConfig(backend, options);
  // default_per_channel_weight_observer does not work for transposed convs on fbgemm (pytorch#47535).
  const transpose =
    backend === 'fbgemm' || backend === 'x86'
      ? new QConfig({ activation: qconfig.activation, weight: defaultWeightObserver })
      : qconfig;
  const layerNorm = new QConfig({ activation: qconfig.activation, weight: defaultPlaceholderObserver });
  const m = new QConfigMapping().setGlobal(qconfig).setObjectType('reshape', defaultReuseInputQConfig);
  for (const t of ['Conv1d', 'Conv2d', 'Conv3d']) m.setObjectType(t, qconfig);
  for (const t of ['ConvTranspose1d', 'ConvTranspose2d', 'ConvTranspose3d']) m.setObjectType(t, transpose);
  m.setObjectType('Linear', qconfig);
  for (const t of ['conv1d', 'conv2d', 'conv3d']) m.setObjectType(t, qconfig);
  for (const t of ['conv_transpose1d', 'conv_transpose2d', 'conv_transpose3d']) m.setObjectType(t, transpose);
  m.setObjectType('linear', qconfig).setObjectType('ReLU', qconfig).setObjectType('relu', qconfig);
  for (const t of ['BatchNorm1d', 'BatchNorm2d', 'BatchNorm3d']) m.setObjectType(t, qconfig);
  m.setObjectType('layer_norm', layerNorm).setObjectType('LayerNorm', layerNorm);
  const fixed = {
    range0to1: new QConfig({ activation: defaultFixedQParamsRange0to1Observer, weight: defaultWeightObserver }),
    rangeNeg1to1: new QConfig({ activation: defaultFixedQParamsRangeNeg1to1Observer, weight: defaultWeightObserver }),
  };
  for (const [op, kind] of FIXED_QPARAMS_OPS) m.setObjectType(op, fixed[kind]);
  return m;
}
