// torch/ao/quantization/fx/fuse.py (PyTorch 1.13): find conv-bn(-relu), conv-relu and linear-relu
// chains in a traced graph and replace each with the fused module, using the eager fusers.
import { BatchNorm2d, Conv2d, Linear, ReLU, nni, type Module } from '@quint/nn';
import { relu } from '@quint/tensor';
import {
  GraphModule,
  matchSequential,
  symbolicTrace,
  type LeafModules,
  type PatternElement,
} from '@quint/fx-graph-tracer';
import { fuseConvBn, fuseConvBnReLU, sequentialWrapper2, type FuserMethod } from '../fuser-method-mappings.js';

/** Options of {@link fuseFx}. */
export interface FuseFxOptions {
  /** Module classes the tracer keeps as leaves in addition to `@quint/nn`'s built-in layers. */
  readonly leafModules?: LeafModules;
}

// Longest patterns first, as PyTorch sorts its fusion patterns. A functional relu in a pattern
// becomes an nn.ReLU inside the fused module, as PyTorch's DefaultFuseHandler does.
const FUSION_PATTERNS: ReadonlyArray<readonly [readonly PatternElement[], FuserMethod]> = [
  [[Conv2d, BatchNorm2d, ReLU], fuseConvBnReLU as FuserMethod],
  [[Conv2d, BatchNorm2d, relu], fuseConvBnReLU as FuserMethod],
  [[Conv2d, BatchNorm2d], fuseConvBn],
  [[Conv2d, ReLU], sequentialWrapper2(nni.ConvReLU2d)],
  [[Conv2d, relu], sequentialWrapper2(nni.ConvReLU2d)],
  [[Linear, ReLU], sequentialWrapper2(nni.LinearReLU)],
  [[Linear, relu], sequentialWrapper2(nni.LinearReLU)],
];

/**
 * Fuses a traced GraphModule in place of its chains (`_fuse_fx`) and returns a new GraphModule
 * owning only what the fused graph references. Each fused node keeps the first node's name and
 * records the names it replaced in `meta.fusedFrom` (the numeric suite matches on them) and, for an
 * imported model, their ONNX names in `meta.onnxName`.
 *
 * @internal
 */
export function fuseGraphModule(gm: GraphModule): GraphModule {
  const used = new Set<string>();
  for (const [pattern, fuser] of FUSION_PATTERNS) {
    for (const { nodes, modules } of matchSequential(gm, pattern)) {
      if (nodes.some((n) => used.has(n.name))) continue;
      for (const n of nodes) used.add(n.name);
      const mods = modules.map((m) => m ?? new ReLU().train(modules[0]!.training));
      const fused = fuser(false, ...mods);
      const first = nodes[0]!;
      const last = nodes[nodes.length - 1]!;
      gm.setSubmodule(first.target as string, fused);
      last.replaceAllUsesWith(first);
      for (const n of [...nodes].reverse()) if (n !== first) gm.graph.eraseNode(n);
      first.meta.fusedFrom = nodes.map((n) => n.name);
      // An imported model's ONNX node names: the fused node stands for all of them.
      const onnxNames = nodes.flatMap((n) =>
        n.meta.onnxName === undefined ? [] : ([] as unknown[]).concat(n.meta.onnxName),
      );
      if (onnxNames.length > 0) first.meta.onnxName = onnxNames.length === 1 ? onnxNames[0] : onnxNames;
    }
  }
  gm.graph.lint();
  return new GraphModule(gm, gm.graph, gm.getName());
}

/**
 * Traces `model` and fuses conv-bn, conv-bn-relu, conv-relu and linear-relu (relu as `nn.ReLU` or
 * the functional `relu`), as PyTorch 1.13's `fuse_fx`: BatchNorm is folded into the conv (bit-exact
 * with PyTorch, spec §4.2), ReLU becomes part of `nni.ConvReLU2d`/`nni.LinearReLU`. The model must
 * be in eval mode; it is not modified (the result owns copies of what it changes).
 *
 * @throws QuantError `TRACE_FAILED` when the model cannot be traced; `BAD_FUSION` when a BatchNorm
 *   is in training mode.
 * @example
 * const fused = fuseFx(model.eval());
 * String(fused.graph); // conv1 is now a ConvReLU2d; bn1 and relu1 are gone
 * @see https://pytorch.org/docs/1.13/generated/torch.quantization.quantize_fx.fuse_fx.html
 */
export function fuseFx(model: Module, options: FuseFxOptions = {}): GraphModule {
  const gm = symbolicTrace(model, options.leafModules === undefined ? {} : { leafModules: options.leafModules });
  return fuseGraphModule(gm);
}
