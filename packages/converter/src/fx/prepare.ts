// torch/ao/quantization/fx/prepare.py and qconfig_mapping_utils.py (PyTorch 1.13): per-node
// qconfigs, pattern matching against the native backend config, and observer insertion.
import { QuantError } from '@quint/tensor';
import { makeObserver, type Module, type ObserverLike } from '@quint/nn';
import {
  defaultFixedQParamsRange0to1Observer,
  defaultFixedQParamsRangeNeg1to1Observer,
  isReuseInputQConfig,
  observerFactoryEquals,
  qconfigEquals,
  QConfigMapping,
  type QConfigAny,
} from '@quint/observers';
import { GraphModule, Node, type Argument } from '@quint/fx-graph-tracer';
import {
  fixedQparamsRange,
  functionKey,
  isReluNode,
  isStandaloneBatchNorm,
  moduleOf,
  moduleTypeKey,
  patternKindOf,
  type PatternKind,
} from './backend-config.js';
import { isObserverModule, ObserverModule } from './observer-module.js';

/** What prepare records on the observed GraphModule (`gm.meta[FX_STATE]`) for convert. */
export interface FxPrepareState {
  /** Node name → qconfig (null: keep float), as PyTorch's `_qconfig_map`. */
  readonly qconfigMap: Map<string, QConfigAny>;
  /** Node name → [module path, module type] of the module whose forward holds it. */
  readonly nodeNameToScope: Map<string, readonly [string, string]>;
  /** Names of the nodes that got observers (PyTorch's `observed_node_names`). */
  readonly observedNodeNames: Set<string>;
  /** Node name → pattern kind, for the nodes that matched a pattern. */
  readonly patternKinds: Map<string, PatternKind>;
  /** Node names left in float because no pattern matched (named in the warning). */
  readonly unsupported: readonly string[];
}

/** The `meta` key of {@link FxPrepareState}. */
export const FX_STATE = 'quint.fx.prepare';

type Dtype = 'quint8' | 'qint8' | 'float' | null;

interface MatchInfo {
  readonly kind: PatternKind;
  /** First node of the pattern (gets input observers). */
  readonly root: Node;
  /** Last node of the pattern (gets the output observer). */
  readonly last: Node;
  readonly qconfig: QConfigAny;
}

function parentName(target: string): string {
  const i = target.lastIndexOf('.');
  return i < 0 ? '' : target.slice(0, i);
}

/**
 * PyTorch's `update_qconfig_for_fusion`: a fused module type gets the object-type qconfig of its
 * first module type; the others must agree.
 */
function updateQConfigForFusion(mapping: QConfigMapping, gm: GraphModule): QConfigMapping {
  const m = QConfigMapping.fromDict(mapping.toDict());
  const fusedTypes: ReadonlyArray<readonly [string, readonly string[]]> = [
    ['ConvReLU2d', ['Conv2d', 'ReLU']],
    ['LinearReLU', ['Linear', 'ReLU']],
  ];
  const present = new Set(
    gm.graph.nodes
      .map((n) => moduleOf(gm, n))
      .filter((x): x is Module => x !== undefined)
      .map(moduleTypeKey),
  );
  for (const [fused, parts] of fusedTypes) {
    if (!present.has(fused)) continue;
    const first = m.objectTypeQConfigs.get(parts[0]!);
    for (const p of parts.slice(1)) {
      if (!qconfigEquals(m.objectTypeQConfigs.get(p) ?? null, first ?? null)) {
        throw new QuantError(
          'INVALID_ARGUMENT',
          `prepareFx: the QConfigMapping gives ${parts[0]} and ${p} different object-type qconfigs, but they are fused into ${fused}; give both the same qconfig.`,
        );
      }
    }
    if (first !== undefined && first !== null && !m.objectTypeQConfigs.has(fused)) m.setObjectType(fused, first);
  }
  return m;
}

/** PyTorch's `generate_qconfig_map`: every node's qconfig by the 1.13 precedence rules. */
export function generateQConfigMap(
  gm: GraphModule,
  mapping: QConfigMapping,
  scopes: Map<string, readonly [string, string]>,
): Map<string, QConfigAny> {
  const out = new Map<string, QConfigAny>();
  const counters = new Map<string, number>();
  const next = (key: string): number => {
    const i = counters.get(key) ?? 0;
    counters.set(key, i + 1);
    return i;
  };
  for (const node of gm.graph.nodes) {
    let q: QConfigAny = null;
    if (node.op === 'get_attr') {
      const parent = parentName(node.target as string);
      let pm: Module | undefined;
      try {
        pm = gm.getSubmodule(parent);
      } catch {
        pm = undefined;
      }
      q = mapping.getModuleTypeOrNameQConfig(pm === undefined ? '' : moduleTypeKey(pm), parent, mapping.globalQConfig);
    } else if (node.op === 'call_function') {
      const [path, type] = scopes.get(node.name) ?? ['', ''];
      const fn = functionKey(node.target);
      q = mapping.qconfigForFunction(
        fn,
        { moduleName: path, moduleType: type },
        next(JSON.stringify([path, 'fn', fn])),
      );
    } else if (node.op === 'call_method') {
      const [path, type] = scopes.get(node.name) ?? ['', ''];
      q = mapping.qconfigForMethod(String(node.target), { moduleName: path, moduleType: type });
    } else if (node.op === 'call_module') {
      const m = moduleOf(gm, node);
      if (m === undefined || isObserverModule(m)) continue;
      const target = node.target as string;
      const type = moduleTypeKey(m);
      q = mapping.qconfigForModule(target, type, next(JSON.stringify([parentName(target), 'mod', type])));
    }
    out.set(node.name, q);
  }
  return out;
}

/** PyTorch's `node_name_to_scope` for a graph traced at the root (nested traced-through scopes are not recorded by the tracer). */
export function scopesOf(gm: GraphModule): Map<string, readonly [string, string]> {
  const rootType = gm.getName();
  const out = new Map<string, readonly [string, string]>();
  for (const n of gm.graph.nodes) {
    const m = moduleOf(gm, n);
    out.set(
      n.name,
      n.op === 'call_module' && m !== undefined ? [n.target as string, moduleTypeKey(m)] : ['', rootType],
    );
  }
  return out;
}

function activationDtype(qconfig: QConfigAny): Dtype {
  if (qconfig === null) return null;
  const obs = makeObserver(qconfig.activation) as ObserverLike & { dtype?: string };
  const d = obs.dtype;
  return d === 'quint8' || d === 'qint8' ? d : 'float';
}

function weightDtype(qconfig: QConfigAny): Dtype {
  if (qconfig === null) return null;
  const d = (makeObserver(qconfig.weight) as ObserverLike & { dtype?: string }).dtype;
  return d === 'quint8' || d === 'qint8' ? d : 'float';
}

/** Options of {@link prepare}. */
export interface PrepareInternalOptions {
  readonly onWarning: (message: string) => void;
}

/**
 * Inserts observers into a fused, traced GraphModule (PyTorch's `insert_observers_for_model` and
 * the passes around it) and returns the observed GraphModule. `gm` is modified.
 *
 * @internal
 */
export function prepare(gm: GraphModule, userMapping: QConfigMapping, options: PrepareInternalOptions): GraphModule {
  const graph = gm.graph;
  const mapping = updateQConfigForFusion(userMapping, gm);
  const scopes = scopesOf(gm);
  const qconfigMap = generateQConfigMap(gm, mapping, scopes);

  // Pattern matching (PyTorch's `find_matches` on the native backend patterns).
  const matches = new Map<Node, MatchInfo>();
  const unsupported: string[] = [];
  for (const node of graph.nodes) {
    if (matches.has(node)) continue;
    const kind = patternKindOf(gm, node);
    const qconfig = qconfigMap.get(node.name) ?? null;
    if (kind === undefined) {
      const isData = node.op === 'call_module' || node.op === 'call_function' || node.op === 'call_method';
      const builtin = node.op === 'call_function' && ['getitem', 'getattr'].includes(functionKey(node.target));
      if (isData && !builtin && qconfig !== null) {
        unsupported.push(node.name);
        const what =
          node.op === 'call_module'
            ? `module ${moduleOf(gm, node)?.getName() ?? '?'}`
            : `${node.op} ${functionKey(node.target)}`;
        const why = isStandaloneBatchNorm(gm, node)
          ? 'a BatchNorm2d that does not follow a conv (quint has no quantized batch_norm kernel)'
          : 'no quantized pattern in the native backend config';
        options.onWarning(
          `prepareFx: node %${node.name} (${what}) has ${why}; it stays in float, with dequantize before it and quantize after it where its neighbours are quantized.`,
        );
      }
      continue;
    }
    // Binary op followed by a ReLU that is its only user: the (ReLU, add) pattern.
    if (kind === 'binary' && node.users.size === 1) {
      const user = [...node.users][0]!;
      if (isReluNode(gm, user) && user.args[0] === node && !matches.has(user)) {
        const info: MatchInfo = { kind, root: node, last: user, qconfig };
        matches.set(node, info);
        matches.set(user, { ...info, qconfig: qconfigMap.get(user.name) ?? null });
        continue;
      }
    }
    matches.set(node, { kind, root: node, last: node, qconfig });
  }

  // Fixed-qparams ops need a fixed-qparams observer (PyTorch's `_validate_fixed_qparams_qconfigs`).
  for (const [node, info] of matches) {
    if (info.kind !== 'fixed' || info.qconfig === null) continue;
    const want =
      fixedQparamsRange(gm, node) === 'range0to1'
        ? defaultFixedQParamsRange0to1Observer
        : defaultFixedQParamsRangeNeg1to1Observer;
    if (!observerFactoryEquals(info.qconfig.activation, want)) {
      throw new QuantError(
        'INVALID_ARGUMENT',
        `prepareFx: node %${node.name} is a fixed-qparams op but its qconfig's activation is ${String(info.qconfig.activation)}; use getDefaultQConfigMapping(...), which gives it ${String(want)}.`,
      );
    }
  }

  // Target dtypes (PyTorch's `get_target_activation_dtype_for_node`, static quantization only).
  const outDtype = new Map<Node, Dtype>();
  const supported = (info: MatchInfo | undefined): boolean => {
    if (info === undefined || info.qconfig === null) return false;
    const a = activationDtype(info.qconfig);
    if (a !== 'quint8') return false;
    return info.kind !== 'weighted' || weightDtype(info.qconfig) === 'qint8';
  };
  for (const node of graph.nodes) {
    const info = matches.get(node);
    outDtype.set(node, supported(info) ? 'quint8' : 'float');
  }
  const dtypeAsOutput = (arg: Node): Dtype => {
    if (arg.op === 'call_module' && isObserverModule(moduleOf(gm, arg))) {
      const observed = arg.args[0];
      return observed instanceof Node ? (outDtype.get(observed) ?? 'float') : 'float';
    }
    return outDtype.get(arg) ?? 'float';
  };

  let counter = 0;
  const newObserverName = (): string => {
    while (Object.hasOwn(gm, `activation_post_process_${counter}`)) counter++;
    return `activation_post_process_${counter++}`;
  };
  const insertObserver = (node: Node, observer: ObserverLike): Node => {
    const name = newObserverName();
    gm.addModule(name, new ObserverModule(observer));
    return graph.insertingAfter(node, () => graph.callModule(name, [node]));
  };
  const isObserverNode = (n: unknown): n is Node =>
    n instanceof Node && n.op === 'call_module' && isObserverModule(moduleOf(gm, n));

  const maybeInputObserver = (node: Node, arg: Argument, qconfig: NonNullable<QConfigAny>): Argument => {
    if (Array.isArray(arg)) return arg.map((a: Argument) => maybeInputObserver(node, a, qconfig));
    if (!(arg instanceof Node)) return arg;
    const argOut = dtypeAsOutput(arg);
    const argIn: Dtype = 'quint8';
    const needs = argOut !== argIn && !isReuseInputQConfig(qconfig);
    if (!needs) return arg;
    const obs = makeObserver(qconfig.activation);
    // Reuse an observer of the same class and dtype already on this value (PyTorch does).
    for (const u of arg.users) {
      if (isObserverNode(u)) {
        const existing = (moduleOf(gm, u) as ObserverModule).observer as ObserverLike & { dtype?: string };
        if (existing.constructor === obs.constructor && existing.dtype === argIn) return u;
      }
    }
    return insertObserver(arg, obs);
  };

  // PyTorch's `maybe_make_input_output_share_observers`.
  const shareObservers = (node: Node): boolean => {
    const firstArg = node.args.find((a) => a instanceof Node || Array.isArray(a));
    if (firstArg === undefined) return false;
    let cur: unknown = Array.isArray(firstArg) ? firstArg[0] : firstArg;
    while (!isObserverNode(cur)) {
      if (!(cur instanceof Node) || cur.op === 'placeholder') return false;
      let back: unknown = undefined;
      for (const a of cur.args) {
        back = a;
        if (a instanceof Node) break;
      }
      if (back === undefined) return false;
      cur = back;
    }
    const shared = moduleOf(gm, cur)!;
    if (Array.isArray(firstArg)) {
      for (let i = 1; i < firstArg.length; i++) {
        let inp: unknown = firstArg[i];
        while (!isObserverNode(inp)) {
          if (!(inp instanceof Node) || inp.args.length < 1) return false;
          inp = inp.args[0];
        }
        gm.setSubmodule(inp.target as string, shared);
      }
    }
    for (const u of node.users) {
      if (isObserverNode(u)) gm.setSubmodule(u.target as string, shared);
    }
    return true;
  };

  const observedNodeNames = new Set<string>();
  for (const node of graph.nodes) {
    if (node.op === 'placeholder' || node.op === 'output' || node.op === 'get_attr') continue;
    const info = matches.get(node);
    if (info === undefined || info.qconfig === null) continue;
    if (node.op === 'call_function' && functionKey(node.target) === 'getitem') continue;
    if (!supported(info)) continue;
    observedNodeNames.add(info.root.name);
    observedNodeNames.add(info.last.name);
    const qconfig = info.qconfig;
    if (node === info.root) {
      node.args = node.args.map((a) => maybeInputObserver(node, a, qconfig));
      node.kwargs = Object.fromEntries(
        Object.entries(node.kwargs).map(([k, v]) => [k, maybeInputObserver(node, v, qconfig)]),
      );
    }
    if (node === info.last) {
      const obsNode = insertObserver(node, makeObserver(qconfig.activation));
      for (const u of [...node.users]) if (u !== obsNode) u.replaceInputWith(node, obsNode);
      const tensorArgs = node.args.filter((a) => a instanceof Node || Array.isArray(a)).length;
      const generalTensorValueOp =
        info.kind === 'share' ||
        info.kind === 'cat' ||
        (info.kind === 'binary' && tensorArgs === 1 && info.root === info.last);
      if (generalTensorValueOp || isReuseInputQConfig(qconfig)) {
        if (!shareObservers(node)) {
          obsNode.replaceAllUsesWith(node);
          graph.eraseNode(obsNode);
        }
      }
    }
  }
  graph.lint();

  const patternKinds = new Map<string, PatternKind>();
  for (const [n, info] of matches) patternKinds.set(n.name, info.kind);
  const out = new GraphModule(gm, graph, gm.getName());
  const state: FxPrepareState = { qconfigMap, nodeNameToScope: scopes, observedNodeNames, patternKinds, unsupported };
  out.meta[FX_STATE] = state;
  return out;
}
