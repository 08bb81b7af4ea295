// torch/ao/quantization/fuse_modules.py: eager-mode fusion by module paths.
import { isQuantError, QuantError } from '@quint/tensor';
import { cloneModule, Identity, type ForwardHook, type ForwardPreHook, type Module } from '@quint/nn';
import { defaultOpListToFuserMethod, getFuserMethod, type FuserMethodEntry } from './fuser-method-mappings.js';
import type { ModuleClass } from './quantization-mappings.js';

/** Options of {@link fuseModules}. */
export interface FuseModulesOptions {
  /** Fuse in `model` itself instead of a deep copy (default false, as PyTorch). */
  readonly inplace?: boolean;
  /** More (types → fuser) entries, tried before the defaults (`additional_fuser_method_mapping`). */
  readonly additionalFuserMethodMapping?: readonly FuserMethodEntry[];
}

/** Hook removal, when `@quint/nn` provides it (hooks move from the fused modules to the result). */
interface HookRemoval {
  removeForwardHook?(hook: ForwardHook): void;
  removeForwardPreHook?(hook: ForwardPreHook): void;
}

function typesString(mods: readonly Module[]): string {
  return `(${mods.map((m) => m.getName()).join(', ')})`;
}

function supportedList(additional: readonly FuserMethodEntry[]): string {
  return [...additional, ...defaultOpListToFuserMethod]
    .map(([ts]) => `(${ts.map((t) => t.name).join(', ')})`)
    .join(', ');
}

/**
 * The fused module for `mods` followed by an `Identity` for each of the others
 * (`fuse_known_modules`): pre-hooks of the first module and hooks of the last move to the fused module.
 *
 * @throws `BAD_FUSION` when no fuser method exists for these types in this order, naming them.
 * @example
 * const [fused, id] = fuseKnownModules([model.conv, model.relu], false);
 * @see https://github.com/pytorch/pytorch/blob/v1.13.1/torch/ao/quantization/fuse_modules.py
 */
export function fuseKnownModules(
  mods: readonly Module[],
  isQat: boolean,
  additional: readonly FuserMethodEntry[] = [],
  paths?: readonly string[],
): Module[] {
  const types = mods.map((m) => m.constructor as ModuleClass);
  const fuser = getFuserMethod(types, additional);
  const where = paths === undefined ? '' : ` at ${paths.map((p) => `'${p}'`).join(', ')}`;
  if (fuser === undefined) {
    throw new QuantError(
      'BAD_FUSION',
      `fuseModules: cannot fuse modules ${typesString(mods)}${where}: did not find fuser method for this sequence; list modules in forward order, one of ${supportedList(additional)}.`,
    );
  }
  const first = mods[0]!;
  const last = mods[mods.length - 1]!;
  const preHooks = first.forwardHooks().preHooks;
  const hooks = last.forwardHooks().hooks;
  let fused: Module;
  try {
    fused = fuser(isQat, ...mods);
  } catch (e) {
    if (isQuantError(e) && e.code === 'BAD_FUSION' && where !== '')
      throw new QuantError('BAD_FUSION', `${e.message.replace(/\.$/, '')} (fusing${where}).`, { cause: e });
    throw e;
  }
  const firstR = first as unknown as HookRemoval;
  const lastR = last as unknown as HookRemoval;
  if (
    (preHooks.length > 0 && typeof firstR.removeForwardPreHook !== 'function') ||
    (hooks.length > 0 && typeof lastR.removeForwardHook !== 'function')
  ) {
    throw new QuantError(
      'UNSUPPORTED_OP',
      `fuseModules: ${typesString([first, last])}${where} carry forward hooks, and @quint/nn has no hook removal to move them to the fused module yet; remove the hooks before fusing and register them on the fused module.`,
    );
  }
  for (const h of preHooks) {
    fused.registerForwardPreHook(h);
    firstR.removeForwardPreHook?.(h);
  }
  for (const h of hooks) {
    fused.registerForwardHook(h);
    lastR.removeForwardHook?.(h);
  }
  const out: Module[] = [fused];
  for (let i = 1; i < mods.length; i++) {
    const id = new Identity();
    id.training = first.training;
    out.push(id);
  }
  return out;
}

function getModule(model: Module, path: string): Module {
  try {
    return model.getSubmodule(path);
  } catch (e) {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `fuseModules: no submodule '${path}' in ${model.getName()}; name modules by their property paths as namedModules() lists them (e.g. 'layer1.conv').`,
      { cause: e },
    );
  }
}

function fuseHelper(
  model: Module,
  paths: readonly string[],
  isQat: boolean,
  additional: readonly FuserMethodEntry[],
): void {
  const mods = paths.map((p) => getModule(model, p));
  const fused = fuseKnownModules(mods, isQat, additional, paths);
  paths.forEach((p, i) => model.setSubmodule(p, fused[i]!));
}

function fuseImpl<M extends Module>(
  model: M,
  modulesToFuse: readonly string[] | readonly (readonly string[])[],
  isQat: boolean,
  options: FuseModulesOptions,
): M {
  const m = options.inplace === true ? model : cloneModule(model);
  const additional = options.additionalFuserMethodMapping ?? [];
  if (modulesToFuse.every((x) => typeof x === 'string')) {
    fuseHelper(m, modulesToFuse as readonly string[], isQat, additional);
  } else {
    for (const group of modulesToFuse) {
      if (!Array.isArray(group)) {
        throw new QuantError(
          'INVALID_ARGUMENT',
          `fuseModules: modulesToFuse mixes names and lists (${JSON.stringify(group)}); pass a list of lists such as [['conv', 'bn', 'relu'], ['fc', 'relu']].`,
        );
      }
      fuseHelper(m, group as readonly string[], isQat, additional);
    }
  }
  return m;
}

/**
 * Fuses lists of modules, given by path, into single modules (`torch.ao.quantization.fuse_modules`):
 * (Conv2d, BatchNorm2d) → Conv2d with the BN folded in; (Conv2d, BatchNorm2d, ReLU) →
 * `nni.ConvReLU2d` of the folded conv; (Conv2d, ReLU) → `nni.ConvReLU2d`; (Linear, ReLU) →
 * `nni.LinearReLU`. The first module of each list is replaced by the fused module, the others by
 * `Identity`. Types are matched exactly, in order. BN folding is bit-exact with PyTorch 1.13
 * (spec §4.2) and needs eval mode. Returns a deep copy unless `inplace`.
 *
 * @throws `BAD_FUSION` for a sequence with no fuser method (wrong order or types, naming the
 *   paths), or modules in training mode; `INVALID_ARGUMENT` for a path that names no submodule.
 * @example
 * const fused = fuseModules(model.eval(), [['conv', 'bn', 'relu'], ['fc', 'relu']]);
 * @see https://pytorch.org/docs/stable/generated/torch.ao.quantization.fuse_modules.html
 */
export function fuseModules<M extends Module>(
  model: M,
  modulesToFuse: readonly string[] | readonly (readonly string[])[],
  options: FuseModulesOptions = {},
): M {
  return fuseImpl(model, modulesToFuse, false, options);
}

/**
 * The QAT version of {@link fuseModules} (`fuse_modules_qat`): modules in training mode; Conv2d +
 * BatchNorm2d (+ ReLU) become `nni.ConvBn2d` / `nni.ConvBnReLU2d` instead of a folded conv.
 *
 * @throws as {@link fuseModules}.
 * @example
 * const fused = fuseModulesQat(model.train(), [['conv', 'bn', 'relu']]);
 * @see https://pytorch.org/docs/stable/generated/torch.ao.quantization.fuse_modules.html
 */
export function fuseModulesQat<M extends Module>(
  model: M,
  modulesToFuse: readonly string[] | readonly (readonly string[])[],
  options: FuseModulesOptions = {},
): M {
  return fuseImpl(model, modulesToFuse, true, options);
}
