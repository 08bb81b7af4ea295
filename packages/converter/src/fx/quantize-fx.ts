// torch/ao/quantization/quantize_fx.py (PyTorch 1.13): the public graph-mode entry points.
import { isQuantError, QuantError, Tensor } from '@quint/tensor';
import { DEFAULT_ENGINE, type Engine, type QuantizedBackend } from '@quint/qtensor';
import { createJsBackend } from '@quint/kernels-js';
import type { Module } from '@quint/nn';
import { QConfigMapping } from '@quint/observers';
import { GraphModule, symbolicTrace, type LeafModules } from '@quint/fx-graph-tracer';
import { convertToReference, prepareStateOf } from './convert.js';
import { fuseGraphModule } from './fuse.js';
import { lowerToNativeBackend } from './lower-to-native-backend.js';
import { prepare } from './prepare.js';
import { makeQuantizedOps } from './quantized-ops.js';

/** Options of {@link prepareFx}. */
export interface PrepareFxOptions {
  /**
   * Module classes to keep as leaves in addition to `@quint/nn`'s built-in layers (PyTorch's
   * `prepare_custom_config.non_traceable_module_classes`): mark modules with data-dependent control
   * flow here.
   */
  readonly leafModules?: LeafModules;
  /**
   * Called with one line per node left in float because no quantized pattern matched it (default:
   * `console.warn`).
   */
  readonly onWarning?: (message: string) => void;
  /**
   * Run the example inputs once through the fused float model to check that they fit (default
   * true): a full forward pass. False skips it, for a caller whose first calibration batch is the
   * example input and runs next anyway.
   */
  readonly checkExampleInputs?: boolean;
}

/** Options of {@link convertFx} and {@link convertToReferenceFx}. */
export interface ConvertFxOptions {
  /** The backend whose kernels run the converted model (default: a new kernels-js backend). */
  readonly backend?: QuantizedBackend;
  /** The requantization convention passed to every kernel (default `'qnnpack'`). */
  readonly engine?: Engine;
}

/**
 * Retracing a GraphModule makes new nodes: carry over what the source nodes knew (an imported
 * model's `onnxName`, …) to the traced node of the same name, op and target, so the quantized
 * model keeps the link to the float model's nodes (the exporter names nodes after it).
 */
function copySourceMeta(source: Module, traced: GraphModule): void {
  if (!(source instanceof GraphModule)) return;
  const byName = new Map(source.graph.nodes.map((n) => [n.name, n]));
  for (const t of traced.graph.nodes) {
    const s = byName.get(t.name);
    if (s === undefined || s.op !== t.op || s.target !== t.target) continue;
    for (const [k, v] of Object.entries(s.meta)) if (!(k in t.meta)) t.meta[k] = v;
  }
}

function shapeOf(x: unknown): string {
  return x instanceof Tensor ? `[${x.shape.join(', ')}]` : typeof x;
}

/**
 * Graph-mode post-training quantization, step 1 (PyTorch 1.13's `prepare_fx`): traces `model`
 * (`symbolicTrace`), fuses conv-bn(-relu), conv-relu and linear-relu, resolves every node's qconfig
 * from `qconfigMapping` (module name > regex > object type > global, with call-order entries), and
 * inserts observers where PyTorch 1.13 FX does, as `activation_post_process_<k>` call_module nodes:
 * on graph inputs, on conv/linear/add/mul/hardswish outputs; maxpool, avgpool, adaptive avgpool,
 * flatten, relu, relu6, hardtanh and reshape share their input's observer instance (and feed it
 * again, in graph order); `cat` makes all its inputs and its output share the first input's;
 * sigmoid, tanh and hardsigmoid get their fixed-qparams observer. Ops without a quantized pattern
 * stay in float, each named in a warning. Run calibration data through the result (`gm.call(x)`),
 * then {@link convertFx}.
 *
 * `model` is not modified. `exampleInputs` are run once through the fused float model (before any
 * observer exists) to check that they fit, unless `checkExampleInputs` is false.
 *
 * @throws QuantError `TRACE_FAILED` for untraceable code (mark the module a leaf); `SHAPE_MISMATCH`
 *   when the example inputs do not fit the model; `BAD_FUSION` when the model is in training mode;
 *   `INVALID_ARGUMENT` for a fixed-qparams op whose qconfig has another observer.
 * @example
 * const prepared = prepareFx(model.eval(), getDefaultQConfigMapping('qnnpack', { torchCompat: '1.13' }), [x]);
 * for (const batch of calibration) prepared.call(batch);
 * const quantized = convertFx(prepared);
 * @see https://pytorch.org/docs/1.13/generated/torch.quantization.quantize_fx.prepare_fx.html
 */
export function prepareFx(
  model: Module,
  qconfigMapping: QConfigMapping,
  exampleInputs: readonly unknown[],
  options: PrepareFxOptions = {},
): GraphModule {
  if (!(qconfigMapping instanceof QConfigMapping)) {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `prepareFx: qconfigMapping is ${String(qconfigMapping)}, not a QConfigMapping; pass getDefaultQConfigMapping('qnnpack') or a new QConfigMapping().`,
    );
  }
  if (!Array.isArray(exampleInputs)) {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `prepareFx: exampleInputs must be an array of the model's inputs (e.g. [x]), got ${shapeOf(exampleInputs)}.`,
    );
  }
  const onWarning = options.onWarning ?? ((m: string) => console.warn(m));
  // As PyTorch's prepare_fx, no copy: the traced GraphModule shares the model's leaf modules (their
  // weights), and fusion and observers change only its own module tree (fused modules are new).
  const traced = symbolicTrace(model, options.leafModules === undefined ? {} : { leafModules: options.leafModules });
  copySourceMeta(model, traced);
  const fused = fuseGraphModule(traced);
  const placeholders = fused.graph.nodes.filter((n) => n.op === 'placeholder' && n.args.length === 0);
  if (exampleInputs.length < placeholders.length) {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `prepareFx: the model takes ${placeholders.length} inputs (${placeholders.map((n) => n.name).join(', ')}) but ${exampleInputs.length} example inputs were given; pass one per input.`,
    );
  }
  try {
    if (options.checkExampleInputs !== false) fused.call(...exampleInputs);
  } catch (e) {
    const what = exampleInputs.map(shapeOf).join(', ');
    const msg = e instanceof Error ? e.message : String(e);
    throw new QuantError(
      isQuantError(e) && e.code !== 'SHAPE_MISMATCH' ? e.code : 'SHAPE_MISMATCH',
      `prepareFx: the example inputs (${what}) do not fit the model: ${msg}; pass example inputs of the shape the model takes.`,
      { cause: e },
    );
  }
  return prepare(fused, qconfigMapping, { onWarning });
}

/**
 * Graph-mode step 2, reference form (PyTorch 1.13's `convert_to_reference_fx`): every observer
 * becomes `quantize_per_tensor(x, <name>_scale_<k>, <name>_zero_point_<k>, quint8)` followed by
 * `dequantize` (qparams as attributes of the returned module), and every observed conv/linear a
 * {@link ReferenceQuantizedModule} (float op on the quantized-then-dequantized weight). Ops run in
 * float on dequantized values: the simulated numerics of the quantized model. `prepared` is not
 * modified.
 *
 * @throws QuantError `INVALID_ARGUMENT` when `prepared` did not come from {@link prepareFx};
 *   `NOT_CALIBRATED`-like errors from observers that saw no data.
 * @example
 * const ref = convertToReferenceFx(prepared);
 * String(ref.graph); // … quantize_per_tensor → dequantize → conv1 → …
 * @see https://pytorch.org/docs/1.13/generated/torch.quantization.quantize_fx.convert_to_reference_fx.html
 */
export function convertToReferenceFx(prepared: GraphModule, options: ConvertFxOptions = {}): GraphModule {
  prepareStateOf(prepared, 'convertToReferenceFx');
  const ops = makeQuantizedOps(options.backend ?? createJsBackend(), options.engine ?? DEFAULT_ENGINE);
  return convertToReference(prepared, ops);
}

/**
 * Graph-mode step 2 (PyTorch 1.13's `convert_fx`): the reference model lowered to quantized
 * kernels. conv/linear(-relu) become `nnq.Conv2d`/`nnq.ConvReLU2d`/`nnq.Linear`/`nnq.LinearReLU`,
 * add/mul become `quantized.add(a, b, scale, zero_point)` (`add_relu`, `mul`, `mul_relu`),
 * `nn.Hardswish` becomes `nnq.Hardswish`, and pools, flatten, relu, relu6, hardtanh, sigmoid, tanh,
 * hardsigmoid and cat run directly on quantized tensors; what cannot be lowered keeps
 * `dequantize → float op → quantize_per_tensor`. The graph (`String(q.graph)`) has PyTorch's node
 * sequence and names. Everything runs on `backend` with `engine`; `prepared` is not modified.
 *
 * @throws QuantError `INVALID_ARGUMENT` when `prepared` did not come from {@link prepareFx};
 *   `OVERFLOW` from the backend when a weight could overflow the int32 accumulator.
 * @example
 * const q = convertFx(prepared, { engine: 'qnnpack' });
 * const y = q.call(x); // float output, computed with integer kernels
 * @see https://pytorch.org/docs/1.13/generated/torch.quantization.quantize_fx.convert_fx.html
 */
export function convertFx(prepared: GraphModule, options: ConvertFxOptions = {}): GraphModule {
  prepareStateOf(prepared, 'convertFx');
  const ops = makeQuantizedOps(options.backend ?? createJsBackend(), options.engine ?? DEFAULT_ENGINE);
  return lowerToNativeBackend(convertToReference(prepared, ops), ops);
}
