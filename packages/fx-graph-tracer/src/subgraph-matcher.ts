// Mirrors torch/fx/passes/utils/matcher_utils.py (PyTorch 1.13) `SubgraphMatcher`, plus
// `matchSequential`, the chain matcher torch.ao.quantization's fusion and lowering patterns use
// (`(ReLU, (BatchNorm2d, Conv2d))`, matched backwards through args[0], exact module types, and no
// intermediate with a user outside the chain).
import type { Module } from '@quint/nn';
import { QuantError } from '@quint/tensor';
import { isPlainObject, type CallableTarget } from './format.js';
import type { Graph } from './graph.js';
import type { GraphModule } from './graph-module.js';
import { Node, type Argument } from './node.js';
import type { ModuleClass } from './symbolic-trace.js';

/**
 * One match of a pattern graph in a graph (torch.fx's `InternalMatch`): `nodesMap` maps each pattern
 * node (placeholders included) to the graph node it matched.
 */
export interface InternalMatch {
  /** The pattern nodes the search started from (the pattern's sinks). */
  readonly anchors: readonly Node[];
  /** Pattern node → graph node. */
  readonly nodesMap: Map<Node, Node>;
  /** The graph nodes matched by the pattern's placeholders, in pattern order (the match's inputs). */
  placeholderNodes: Node[];
  /** The graph nodes matched by what the pattern returns (the match's outputs). */
  returningNodes: Node[];
}

/** Options of {@link SubgraphMatcher}, as torch.fx's. */
export interface SubgraphMatcherOptions {
  /** Match the pattern's output node too (default false: the output is ignored). */
  readonly matchOutput?: boolean;
  /** Match placeholders by op (default false: they are wildcards for any value). */
  readonly matchPlaceholder?: boolean;
  /** Keep only the first of overlapping matches (default true). */
  readonly removeOverlappingMatches?: boolean;
}

function flatten(a: Argument, out: Argument[] = []): Argument[] {
  if (Array.isArray(a)) for (const x of a as Argument[]) flatten(x, out);
  else if (isPlainObject(a)) for (const v of Object.values(a)) flatten(v, out);
  else out.push(a);
  return out;
}

function cloneMatch(m: InternalMatch): InternalMatch {
  return {
    anchors: m.anchors,
    nodesMap: new Map(m.nodesMap),
    placeholderNodes: [...m.placeholderNodes],
    returningNodes: [...m.returningNodes],
  };
}

/** False when fusing `nodes` would form a cycle: a path leaves the set and comes back. */
function validatePartition(nodes: readonly Node[]): boolean {
  const inside = new Set(nodes);
  const visited = new Set<Node>();
  const stack: Node[] = [];
  for (const n of nodes) for (const u of n.users) if (!inside.has(u)) stack.push(u);
  while (stack.length > 0) {
    const cur = stack.pop()!;
    if (visited.has(cur)) continue;
    visited.add(cur);
    for (const u of cur.users) {
      if (inside.has(u)) return false;
      stack.push(u);
    }
  }
  return true;
}

/**
 * Finds every occurrence of a pattern graph in a graph (torch.fx 1.13's `SubgraphMatcher`): nodes
 * match when their op and target are equal (functions by identity, module/method names as strings),
 * arguments match structurally, pattern placeholders match any node (not constants), and a match is kept only when
 * its internal nodes have no users outside it (only the nodes the pattern returns may be used
 * elsewhere) and fusing it would not form a cycle. A pattern node with a function in `meta.match`
 * matches the graph nodes it accepts instead of comparing targets (e.g. by module type).
 *
 * @throws QuantError `INVALID_ARGUMENT` for an empty pattern or one with dead code.
 * @example
 * const p = new Graph();
 * const x = p.placeholder('x');
 * p.output(p.callFunction(relu, [p.callFunction(add, [x, p.placeholder('y')])]));
 * for (const m of new SubgraphMatcher(p).match(gm.graph)) console.log(m.returningNodes[0]!.name);
 * @see https://github.com/pytorch/pytorch/blob/v1.13.1/torch/fx/passes/utils/matcher_utils.py
 */
export class SubgraphMatcher {
  /** The pattern graph. */
  readonly pattern: Graph;
  private readonly matchOutput: boolean;
  private readonly matchPlaceholder: boolean;
  private readonly removeOverlapping: boolean;
  private readonly patternPlaceholderNodes: Node[];
  private readonly patternReturningNodes: Node[];
  private readonly patternAnchors: Node[];

  /** Prepares to match `pattern`. */
  constructor(pattern: Graph, options: SubgraphMatcherOptions = {}) {
    this.pattern = pattern;
    this.matchOutput = options.matchOutput ?? false;
    this.matchPlaceholder = options.matchPlaceholder ?? false;
    this.removeOverlapping = options.removeOverlappingMatches ?? true;
    const nodes = pattern.nodes;
    const outputNode = nodes[nodes.length - 1];
    if (outputNode === undefined || outputNode.op !== 'output') {
      throw new QuantError(
        'INVALID_ARGUMENT',
        'SubgraphMatcher: the pattern graph is empty or has no output node; end it with graph.output(...).',
      );
    }
    for (const n of nodes) {
      if (n.op !== 'output' && n.users.size === 0) {
        throw new QuantError(
          'INVALID_ARGUMENT',
          `SubgraphMatcher: pattern node ${n.name} has no users (dead code); remove it or return it.`,
        );
      }
    }
    this.patternPlaceholderNodes = nodes.filter((n) => n.op === 'placeholder');
    this.patternReturningNodes = outputNode.allInputNodes;
    this.patternAnchors = this.matchOutput ? [outputNode] : outputNode.allInputNodes.filter((n) => n.users.size === 1);
  }

  private nodesAreEqual(pn: Node, gn: Node): boolean {
    if (!this.matchPlaceholder && pn.op === 'placeholder') return true;
    const custom = pn.meta['match'];
    if (typeof custom === 'function') return (custom as (gn: Node) => boolean)(gn) === true;
    if (pn.op !== gn.op) return false;
    if (pn.op === 'placeholder' || pn.op === 'output') return true;
    return pn.target === gn.target;
  }

  private isContained(nodesMap: Map<Node, Node>): boolean {
    const lookup = new Map<Node, Node>();
    for (const [pn, gn] of nodesMap) lookup.set(gn, pn);
    for (const [gn, pn] of lookup) {
      if (pn.op === 'placeholder') continue;
      if (this.patternReturningNodes.includes(pn)) continue;
      for (const user of gn.users) if (!lookup.has(user)) return false;
    }
    return true;
  }

  private removeOverlappingMatches(matches: InternalMatch[]): InternalMatch[] {
    const kept: InternalMatch[] = [];
    const matched = new Set<Node>();
    for (const m of matches) {
      const compute = [...m.nodesMap]
        .filter(([pn]) => pn.op !== 'placeholder' && pn.op !== 'output')
        .map(([, gn]) => gn);
      if (compute.some((gn) => matched.has(gn))) continue;
      kept.push(m);
      for (const gn of compute) matched.add(gn);
    }
    return kept;
  }

  private matchArgs(pn: Argument, gn: Argument): boolean {
    // Unlike torch.fx, a pattern placeholder matches graph nodes only, not constants, so `nodesMap`
    // and `placeholderNodes` always hold nodes.
    if (pn instanceof Node || gn instanceof Node) return false;
    return typeof pn === typeof gn && pn === gn;
  }

  private matchNodes(pn: Node, gn: Node, match: InternalMatch): boolean {
    const prev = match.nodesMap.get(pn);
    if (prev !== undefined) return prev === gn;
    for (const v of match.nodesMap.values()) if (v === gn) return false;
    if (!this.nodesAreEqual(pn, gn)) return false;
    const saved = new Map(match.nodesMap);
    match.nodesMap.set(pn, gn);
    if (pn.op === 'placeholder') return true;
    const pArgs = flatten(pn.args);
    const gArgs = flatten(gn.args);
    const pKeys = Object.keys(pn.kwargs);
    const gKeys = Object.keys(gn.kwargs);
    let ok = pKeys.length === gKeys.length && pKeys.every((k, i) => gKeys[i] === k);
    if (ok) {
      for (const k of pKeys) {
        pArgs.push(...flatten(pn.kwargs[k]));
        gArgs.push(...flatten(gn.kwargs[k]));
      }
    }
    if (ok && pArgs.length === gArgs.length) {
      for (let i = 0; i < pArgs.length && ok; i++) {
        const p = pArgs[i];
        const g = gArgs[i];
        ok = p instanceof Node && g instanceof Node ? this.matchNodes(p, g, match) : this.matchArgs(p, g);
      }
    } else {
      ok = false;
    }
    if (!ok) {
      match.nodesMap.clear();
      for (const [k, v] of saved) match.nodesMap.set(k, v);
    }
    return ok;
  }

  /**
   * All matches of the pattern in `graph`, in the order their anchors appear (overlaps removed unless
   * `removeOverlappingMatches: false`). Backtracking, as torch.fx: exponential in theory, fast on
   * small patterns.
   */
  match(graph: Graph): InternalMatch[] {
    const candidates = this.patternAnchors.map(
      (anchor) => [anchor, graph.nodes.filter((n) => this.nodesAreEqual(anchor, n))] as const,
    );
    let matches: InternalMatch[] = [];
    const backtrack = (i: number, match: InternalMatch): void => {
      if (i === candidates.length) {
        match.placeholderNodes = this.patternPlaceholderNodes.map((pn) => match.nodesMap.get(pn)!);
        match.returningNodes = this.patternReturningNodes.map((pn) => match.nodesMap.get(pn)!);
        matches.push(match);
        return;
      }
      const [anchor, nodes] = candidates[i]!;
      for (const node of nodes) {
        const attempt = cloneMatch(match);
        if (this.matchNodes(anchor, node, attempt)) backtrack(i + 1, attempt);
      }
    };
    backtrack(0, { anchors: this.patternAnchors, nodesMap: new Map(), placeholderNodes: [], returningNodes: [] });
    matches = matches.filter((m) => this.isContained(m.nodesMap));
    matches = matches.filter((m) =>
      validatePartition(
        [...m.nodesMap].filter(([pn]) => pn.op !== 'placeholder' && pn.op !== 'output').map(([, gn]) => gn),
      ),
    );
    return this.removeOverlapping ? this.removeOverlappingMatches(matches) : matches;
  }
}

/**
 * One element of a sequential pattern: a module class (a `call_module` node whose module is exactly
 * of that class), a functional op (a `call_function` node with that target), a method name (a
 * `call_method` node), or a predicate over the node and its module.
 */
export type PatternElement =
  ModuleClass | CallableTarget | string | ((node: Node, module: Module | undefined) => boolean);

/** A match of {@link matchSequential}: the nodes in pattern order, and the module of each `call_module`. */
export interface SequentialMatch {
  /** The matched nodes, first to last. */
  readonly nodes: readonly Node[];
  /** The module each node calls (undefined for functions and methods). */
  readonly modules: readonly (Module | undefined)[];
}

/** Options of {@link matchSequential}. */
export interface MatchSequentialOptions {
  /** Keep only the first of overlapping matches, in graph order (default true). */
  readonly removeOverlappingMatches?: boolean;
}

function isModuleClass(e: PatternElement): e is ModuleClass {
  return (
    typeof e === 'function' &&
    typeof (e as { prototype?: { call?: unknown; forward?: unknown } }).prototype?.forward === 'function'
  );
}

function elementMatches(e: PatternElement, node: Node, module: Module | undefined): boolean {
  if (typeof e === 'string') return node.op === 'call_method' && node.target === e;
  if (isModuleClass(e)) return module !== undefined && module.constructor === e;
  if (typeof (e as { opName?: unknown }).opName === 'string') return node.op === 'call_function' && node.target === e;
  return (e as (n: Node, m: Module | undefined) => boolean)(node, module) === true;
}

/**
 * Finds chains `a → b → c` in a GraphModule's graph that match a sequential pattern such as
 * `[Conv2d, BatchNorm2d, ReLU]`, `[Linear, ReLU]` or `[conv2d, relu]` (what fusion and lowering
 * look for): each node after the first takes the previous one as `args[0]`, and every node but the
 * last has that next node as its only user, so the chain can be replaced as a whole. Module
 * classes match exactly (a subclass does not match), as PyTorch's `type(m) == pattern`.
 *
 * @throws QuantError `INVALID_ARGUMENT` for an empty pattern.
 * @example
 * for (const { nodes, modules } of matchSequential(gm, [Conv2d, BatchNorm2d, ReLU])) {
 *   console.log(nodes.map(String)); // ['conv1', 'bn1', 'relu1']
 * }
 */
export function matchSequential(
  gm: GraphModule,
  pattern: readonly PatternElement[],
  options: MatchSequentialOptions = {},
): SequentialMatch[] {
  if (pattern.length === 0) {
    throw new QuantError(
      'INVALID_ARGUMENT',
      'matchSequential: the pattern is empty; pass at least one element, e.g. [Conv2d, ReLU].',
    );
  }
  const moduleOf = (n: Node): Module | undefined => {
    if (n.op !== 'call_module' || typeof n.target !== 'string') return undefined;
    try {
      return gm.getSubmodule(n.target);
    } catch {
      return undefined;
    }
  };
  const removeOverlap = options.removeOverlappingMatches ?? true;
  const used = new Set<Node>();
  const out: SequentialMatch[] = [];
  for (const first of gm.graph.nodes) {
    const nodes: Node[] = [];
    const modules: (Module | undefined)[] = [];
    let cur: Node | undefined = first;
    for (let i = 0; i < pattern.length; i++) {
      if (cur === undefined) break;
      const m = moduleOf(cur);
      if (!elementMatches(pattern[i]!, cur, m)) break;
      if (i > 0 && cur.args[0] !== nodes[i - 1]) break;
      nodes.push(cur);
      modules.push(m);
      if (i === pattern.length - 1) break;
      cur = cur.users.size === 1 ? [...cur.users][0] : undefined;
    }
    if (nodes.length !== pattern.length) continue;
    if (removeOverlap && nodes.some((n) => used.has(n))) continue;
    for (const n of nodes) used.add(n);
    out.push({ nodes, modules });
  }
  return out;
}
