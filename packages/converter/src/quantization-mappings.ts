// torch/ao/quantization/quantization_mappings.py: which float module becomes which quantized one.
import {
  BatchNorm2d,
  Conv2d,
  DeQuantStub,
  Dropout,
  FloatFunctional,
  Hardswish,
  Linear,
  QuantStub,
  ReLU6,
  Sequential,
  nni,
  nnq,
  nnqd,
  type Module,
} from '@quint/nn';

/** A module class, matched exactly (subclasses do not match, as PyTorch's `type(m) in mapping`). */
export type ModuleClass = abstract new (...args: never[]) => Module;

/** Options every quantized module's `fromFloat` takes (nn's `nnq.QuantizedModuleOptions`). */
export type FromFloatOptions = nnq.QuantizedModuleOptions;

/** A quantized module class: anything with PyTorch's `from_float` as `fromFloat(mod, { backend, engine })`. */
export interface QuantizedModuleClass {
  readonly name: string;
  fromFloat(mod: Module, options: FromFloatOptions): Module;
}

/** Float module class → quantized module class, as PyTorch's mapping dicts. */
export type ModuleMapping = ReadonlyMap<ModuleClass, QuantizedModuleClass>;

/**
 * `DEFAULT_STATIC_QUANT_MODULE_MAPPINGS` for the modules `@quint/nn` has (spec §6): QuantStub →
 * `nnq.Quantize`, DeQuantStub → `nnq.DeQuantize`, Conv2d, Linear, ReLU6, Hardswish,
 * FloatFunctional → `nnq.QFunctional`, `nni.ConvReLU2d`, `nni.LinearReLU`. PyTorch's BatchNorm2d →
 * `nnq.BatchNorm2d` and Dropout → `nnq.Dropout` have no quantized module here yet: a standalone
 * BatchNorm2d fails at convert (`NO_MAPPING`; fuse it into its conv), a Dropout stays float (eval: identity).
 *
 * @example
 * defaultStaticQuantModuleMappings.get(Conv2d) === nnq.Conv2d; // true
 * @see https://github.com/pytorch/pytorch/blob/v1.13.1/torch/ao/quantization/quantization_mappings.py
 */
export const defaultStaticQuantModuleMappings: ModuleMapping = new Map<ModuleClass, QuantizedModuleClass>([
  [QuantStub, nnq.Quantize],
  [DeQuantStub, nnq.DeQuantize],
  [Conv2d, nnq.Conv2d],
  [Hardswish, nnq.Hardswish],
  [Linear, nnq.Linear],
  [ReLU6, nnq.ReLU6],
  [FloatFunctional, nnq.QFunctional],
  [nni.ConvReLU2d, nnq.ConvReLU2d],
  [nni.LinearReLU, nnq.LinearReLU],
]);

/**
 * `DEFAULT_DYNAMIC_QUANT_MODULE_MAPPINGS` for the modules `@quint/nn` has: Linear → `nnqd.Linear`
 * (PyTorch's `nni.LinearReLU` → `nniqd.LinearReLU`, the RNNs and embeddings are not there yet).
 *
 * @example
 * defaultDynamicQuantModuleMappings.get(Linear) === nnqd.Linear; // true
 * @see https://github.com/pytorch/pytorch/blob/v1.13.1/torch/ao/quantization/quantization_mappings.py
 */
export const defaultDynamicQuantModuleMappings: ModuleMapping = new Map<ModuleClass, QuantizedModuleClass>([
  [Linear, nnqd.Linear],
]);

/**
 * A copy of {@link defaultStaticQuantModuleMappings} to extend (`get_default_static_quant_module_mappings`).
 *
 * @example
 * const mapping = getDefaultStaticQuantModuleMappings().set(MyFloat, MyQuantized);
 * @see https://github.com/pytorch/pytorch/blob/v1.13.1/torch/ao/quantization/quantization_mappings.py
 */
export function getDefaultStaticQuantModuleMappings(): Map<ModuleClass, QuantizedModuleClass> {
  return new Map(defaultStaticQuantModuleMappings);
}

/**
 * A copy of {@link defaultDynamicQuantModuleMappings} (`get_default_dynamic_quant_module_mappings`).
 *
 * @example
 * const mapping = getDefaultDynamicQuantModuleMappings();
 * @see https://github.com/pytorch/pytorch/blob/v1.13.1/torch/ao/quantization/quantization_mappings.py
 */
export function getDefaultDynamicQuantModuleMappings(): Map<ModuleClass, QuantizedModuleClass> {
  return new Map(defaultDynamicQuantModuleMappings);
}

/**
 * The module types `prepare` attaches observers to when they are leaves
 * (`get_default_qconfig_propagation_list`): the keys of the static, QAT and dynamic mappings of
 * PyTorch 1.13 that exist in `@quint/nn` (including BatchNorm2d, Dropout, `nni.ConvBn2d` and
 * `nni.ConvBnReLU2d`, which have no eager quantized module here), plus Sequential.
 *
 * @example
 * getDefaultQConfigPropagationList().has(Conv2d); // true
 * @see https://github.com/pytorch/pytorch/blob/v1.13.1/torch/ao/quantization/quantization_mappings.py
 */
export function getDefaultQConfigPropagationList(): Set<ModuleClass> {
  return new Set<ModuleClass>([
    ...defaultStaticQuantModuleMappings.keys(),
    BatchNorm2d,
    Dropout,
    nni.ConvBn2d,
    nni.ConvBnReLU2d,
    ...defaultDynamicQuantModuleMappings.keys(),
    Sequential,
  ]);
}
