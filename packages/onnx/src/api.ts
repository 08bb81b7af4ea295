// The library API of the whole flow, shared by the CLI, the browser page and users' code:
// loadModel → quantizeModel → runModel / saveModel / inspectModel. No `fs` here except behind a
// dynamic import inside loadModel's path branch (Node only), so browser bundles never load it.
import { convertFx, fuseFx, modelBytes, prepareFx, quantizeDynamic, type ModelBytes } from '@quint/converter';
import type { GraphModule } from '@quint/fx-graph-tracer';
import { createJsBackend } from '@quint/kernels-js';
import { Conv2d, Linear, Module, nnq } from '@quint/nn';
import {
  HistogramObserver,
  MinMaxObserver,
  MovingAverageMinMaxObserver,
  PerChannelMinMaxObserver,
  QConfig,
  getDefaultQConfigMapping,
  type QConfigMapping,
} from '@quint/observers';
import {
  ENGINES,
  makePerChannelQuantizedTensor,
  resolveOrtTarget,
  withOrtTarget,
  type Engine,
  type OrtTarget,
  type QTensor,
  type QuantizedBackend,
} from '@quint/qtensor';
import { isQuantError, QuantError, Tensor } from '@quint/tensor';
import { exportModel, type QuantizedFormat } from './export.js';
import { importModel, type ImportedGraphInfo } from './import.js';
import {
  checkModelBytes,
  decodeModel,
  encodeModel,
  externalDataLocations,
  limitOption,
  type OnnxModel,
} from './proto.js';
import { QuantizedOp } from './quantized-ops.js';
import { QUINT_VERSION } from './version.js';

/** A model quint holds: the runnable graph, where it came from, and how it runs. */
export interface QuintModel {
  /** `'float'`, or `'quantized'` (QDQ/QOperator files, and quantizeModel's results). */
  readonly kind: 'float' | 'quantized';
  /** The runnable graph (input shapes as loaded; a symbolic batch stays dynamic). */
  readonly graphModule: GraphModule;
  /** The decoded ONNX file, when loaded from one. */
  readonly onnx: OnnxModel | null;
  /** Graph input and output names (ONNX names). */
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** The backend and engine the quantized modules run with. */
  readonly backend: QuantizedBackend;
  readonly engine: Engine;
  /**
   * On engine `ort`, the ONNX Runtime build reproduced where builds round differently (add, mul,
   * sigmoid, tanh, mean): `'wasm'` (onnxruntime-web, the default) or `'x64'` (onnxruntime-node on
   * x86-64 with AVX2 + FMA). quantizeModel's results start at `'wasm'`.
   */
  readonly target: OrtTarget;
  /** `metadata_props` of the file, plus quint's provenance after quantizeModel. */
  readonly metadata: Readonly<Record<string, string>>;
  /** Size of the ONNX file it was loaded from, in bytes (null when not loaded from a file). */
  readonly fileBytes: number | null;
}

/** Options of {@link loadModel}. */
export interface LoadModelOptions {
  /** Runs quantized models (default: a new kernels-js backend). */
  readonly backend?: QuantizedBackend;
  /** Engine for quantized models (default: the file's `quint.engine`, else `'ort'`). */
  readonly engine?: Engine;
  /**
   * Engine `ort`: the ONNX Runtime build to reproduce, `'wasm'` (default, onnxruntime-web) or
   * `'x64'` (onnxruntime-node on x86-64 with AVX2 + FMA); see {@link QuintModel.target}.
   */
  readonly target?: OrtTarget;
  /** Shapes of graph inputs with symbolic dims other than the batch. */
  readonly inputShapes?: Readonly<Record<string, readonly number[]>>;
  /** Reads external-data files for models given as bytes (a path finds them next to the file). */
  readonly externalData?: (location: string) => Uint8Array | Promise<Uint8Array>;
  /**
   * The largest element count of one initializer, graph input or value computed while importing
   * (default 2^28 = 268,435,456): larger is `LIMIT_EXCEEDED`, checked before allocating.
   */
  readonly maxTensorElements?: number;
  /** The largest model in bytes, file plus external data (default 2^31 = 2 GiB); checked before reading. */
  readonly maxModelBytes?: number;
}

function checkEngine(engine: unknown, where: string): Engine {
  if (!ENGINES.includes(engine as Engine)) {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `${where}: engine '${String(engine)}' is not one of ${ENGINES.join(', ')}; pass one of them.`,
    );
  }
  return engine as Engine;
}

function build(onnx: OnnxModel, options: LoadModelOptions, fileBytes: number | null): QuintModel {
  const backend = options.backend ?? createJsBackend();
  const engine = checkEngine(
    options.engine ?? (onnx.metadataProps['quint.engine'] as Engine | undefined) ?? 'ort',
    'loadModel',
  );
  const target = resolveOrtTarget('loadModel', options);
  const gm = importModel(onnx, {
    // The modules pass only the engine; the backend adds the target to their calls.
    backend: target === 'wasm' ? backend : withOrtTarget(backend, target),
    engine,
    ...(options.inputShapes === undefined ? {} : { inputShapes: options.inputShapes }),
    ...(options.maxTensorElements === undefined ? {} : { maxTensorElements: options.maxTensorElements }),
  });
  const info = gm.meta['onnx'] as ImportedGraphInfo;
  return {
    kind: info.quantized ? 'quantized' : 'float',
    graphModule: gm,
    onnx,
    inputNames: info.inputs.map((i) => i.name),
    outputNames: info.outputs,
    backend,
    engine,
    target,
    metadata: { ...onnx.metadataProps },
    fileBytes,
  };
}

/**
 * A file's bytes as a plain Uint8Array over the Buffer's own memory: `new Uint8Array(buffer)` would
 * copy them (45 MB more at the peak of loading ResNet-18), and protobufjs decodes a plain
 * Uint8Array with its portable reader.
 */
function plainBytes(b: Uint8Array): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * Loads an ONNX model (float, QDQ or QOperator) from its bytes or, in Node, from a path: decodes it
 * (protobufjs, onnx.proto) and imports it into a runnable {@link GraphModule}. External data files
 * are read next to the model file (paths) or through `options.externalData` (bytes).
 *
 * @throws QuantError `BAD_ONNX` for bytes that are not a valid ONNX model, dangling inputs or
 *   malformed initializers; `UNSUPPORTED_OP` naming the node and op outside quint's table;
 *   `IO_ERROR` when a file cannot be read; `LIMIT_EXCEEDED` above `maxModelBytes` (default 2 GiB)
 *   or `maxTensorElements` (default 2^28), checked before reading or allocating (SECURITY.md).
 * @example
 * const model = await loadModel('model.onnx');          // Node
 * const model = await loadModel(new Uint8Array(buffer)); // browser or Node
 */
export async function loadModel(
  source: Uint8Array | string | URL,
  options: LoadModelOptions = {},
): Promise<QuintModel> {
  let bytes: Uint8Array;
  let external = options.externalData;
  limitOption(options, 'maxTensorElements');
  const limits = {
    ...(options.maxTensorElements === undefined ? {} : { maxTensorElements: options.maxTensorElements }),
    ...(options.maxModelBytes === undefined ? {} : { maxModelBytes: options.maxModelBytes }),
  };
  if (source instanceof Uint8Array) bytes = source;
  else if (typeof source === 'string' || source instanceof URL) {
    // Node only: loaded on demand so that browser bundles of @quint/onnx never reference node:fs.
    const fs = await import('node:fs/promises');
    const path = await import('node:path');
    const url = await import('node:url');
    const file = source instanceof URL ? url.fileURLToPath(source) : source;
    try {
      // The size first: a file over the limit is never read.
      checkModelBytes(`loadModel: '${file}'`, (await fs.stat(file)).size, limits);
      bytes = plainBytes(await fs.readFile(file));
    } catch (e) {
      if (e instanceof QuantError) throw e;
      throw new QuantError(
        'IO_ERROR',
        `loadModel: cannot read '${file}' (${e instanceof Error ? e.message : String(e)}); check the path.`,
        { cause: e },
      );
    }
    const dir = path.dirname(file);
    external ??= async (location: string) => {
      const p = path.resolve(dir, location);
      if (!p.startsWith(path.resolve(dir)))
        throw new QuantError('BAD_ONNX', `external data location '${location}' points outside the model's folder.`);
      return plainBytes(await fs.readFile(p));
    };
  } else {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `loadModel: expected a Uint8Array or a path, got ${Object.prototype.toString.call(source)}.`,
    );
  }
  checkModelBytes('loadModel: the model', bytes.length, limits);
  const files = new Map<string, Uint8Array>();
  let total = bytes.length;
  if (external !== undefined) {
    for (const location of externalDataLocations(bytes)) {
      try {
        files.set(location, await external(location));
      } catch (e) {
        throw new QuantError(
          'IO_ERROR',
          `loadModel: reading external data '${location}' failed (${e instanceof Error ? e.message : String(e)}); put it next to the model.`,
          { cause: e },
        );
      }
      total += files.get(location)!.length;
      checkModelBytes(`loadModel: the model with its external data (at '${location}')`, total, limits);
    }
  }
  const onnx = decodeModel(
    bytes,
    external === undefined
      ? limits
      : {
          ...limits,
          externalData: (l) => {
            const f = files.get(l);
            if (f === undefined) throw new QuantError('IO_ERROR', `external data '${l}' was not read.`);
            return f;
          },
        },
  );
  // Decoding copied every tensor out of the file's bytes: drop them before the import copies the
  // weights once more, so that the two copies of a large model's file are never alive together.
  const fileBytes = bytes.length;
  bytes = new Uint8Array(0);
  files.clear();
  return build(onnx, options, fileBytes);
}

/** The qconfig presets of the CLI's `--qconfig`. */
export type QConfigPreset = 'fbgemm' | 'qnnpack' | 'x86' | 'onednn';

/** Options of {@link quantizeModel} (the CLI's `quantize` flags). */
export interface QuantizeModelOptions {
  /** `getDefaultQConfigMapping(preset)` of PyTorch 1.13 (default `'qnnpack'`). */
  readonly qconfig?: QConfigPreset;
  /** Replaces the preset's activation observer (global and per-type entries; fixed-qparams ops keep theirs). */
  readonly activationObserver?: 'minmax' | 'moving-average-minmax' | 'histogram';
  /** Replaces the weight observer: qint8 per-tensor or per-channel symmetric. */
  readonly weightObserver?: 'minmax' | 'per-channel-minmax';
  /** Requantization convention (default `'qnnpack'`); recorded as `quint.engine`. */
  readonly engine?: Engine;
  /** HistogramObserver algorithm (default `'latest'`). */
  readonly torchCompat?: 'latest' | '1.13';
  /** Node names (ONNX or graph names) to leave in float. */
  readonly keepFloat?: readonly string[];
  /** Dynamic quantization (no calibration): Linear weights int8, activations per batch. */
  readonly dynamic?: boolean;
  /** Splits each calibration tensor along axis 0 into batches of this size (default: the model's static batch, else 1). */
  readonly batchSize?: number;
  /**
   * The number of calibration batches, for `onProgress`'s total when the batches come from an
   * iterator (a Tensor or an array is counted without it).
   */
  readonly totalBatches?: number;
  /** Skip calibration batches with NaN/Inf (with a warning) instead of failing with `NON_FINITE`. */
  readonly ignoreNonFinite?: boolean;
  /**
   * Called after each calibration batch with the batches done and the total: `totalBatches`, else
   * the count of a Tensor or array (less the batches skipped for NaN/Inf), else `NaN` (unknown).
   */
  readonly onProgress?: (done: number, total: number) => void;
  /**
   * Warnings (skipped batches, ops left in float), as bare messages without a `quint: warning: `
   * prefix; default: `console.warn` of `quint: warning: <message>`.
   */
  readonly onWarning?: (message: string) => void;
  /** The backend the quantized model runs on (default: the model's). */
  readonly backend?: QuantizedBackend;
}

function observerOverrides(mapping: QConfigMapping, options: QuantizeModelOptions): QConfigMapping {
  const act =
    options.activationObserver === undefined
      ? undefined
      : options.activationObserver === 'minmax'
        ? MinMaxObserver.withArgs({ dtype: 'quint8', qscheme: 'per_tensor_affine', reduceRange: false })
        : options.activationObserver === 'moving-average-minmax'
          ? MovingAverageMinMaxObserver.withArgs({ dtype: 'quint8', qscheme: 'per_tensor_affine', reduceRange: false })
          : HistogramObserver.withArgs({
              dtype: 'quint8',
              qscheme: 'per_tensor_affine',
              reduceRange: false,
              ...(options.torchCompat === undefined ? {} : { torchCompat: options.torchCompat }),
            });
  const weight =
    options.weightObserver === undefined
      ? undefined
      : options.weightObserver === 'minmax'
        ? MinMaxObserver.withArgs({ dtype: 'qint8', qscheme: 'per_tensor_symmetric' })
        : PerChannelMinMaxObserver.withArgs({ dtype: 'qint8', qscheme: 'per_channel_symmetric', chAxis: 0 });
  if (act === undefined && weight === undefined) return mapping;
  const replace = (q: QConfig | null): QConfig | null => {
    if (q === null) return null;
    // Fixed-qparams ops (sigmoid, tanh, hardsigmoid) keep their observers.
    const a = q.activation as unknown as { name?: string; cls?: { name?: string } };
    const actName = a.cls?.name ?? a.name ?? '';
    const keepAct = actName.includes('FixedQParams');
    return new QConfig({ activation: keepAct || act === undefined ? q.activation : act, weight: weight ?? q.weight });
  };
  mapping.setGlobal(replace(mapping.globalQConfig as QConfig | null));
  for (const [k, q] of mapping.objectTypeQConfigs) mapping.objectTypeQConfigs.set(k, replace(q as QConfig | null));
  return mapping;
}

/** One calibration batch: a Tensor (single-input models), or a Tensor per graph input by ONNX input name. */
export type CalibrationBatch = Tensor | Readonly<Record<string, Tensor>>;

/** What {@link quantizeModel} calibrates with: batches one by one, sync or async, or one Tensor. */
export type CalibrationBatches = Iterable<CalibrationBatch> | AsyncIterable<CalibrationBatch> | Tensor;

function notTensor(t: unknown): QuantError {
  return new QuantError(
    'INVALID_ARGUMENT',
    `quantizeModel: calibration data must be float Tensors (or records input name → Tensor), got ${Object.prototype.toString.call(t)}.`,
  );
}

/** A batch as the model's inputs, in graph-input order. */
function batchInputs(item: unknown, names: readonly string[]): Tensor[] {
  if (item instanceof Tensor) {
    if (names.length > 1) {
      throw new QuantError(
        'INVALID_ARGUMENT',
        `quantizeModel: the model takes ${names.length} inputs (${names.join(', ')}); pass each calibration batch as a record { ${names.map((n) => `'${n}': Tensor`).join(', ')} }.`,
      );
    }
    return [item];
  }
  if (typeof item !== 'object' || item === null || Array.isArray(item)) throw notTensor(item);
  const rec = item as Record<string, unknown>;
  const extra = Object.keys(rec).filter((k) => !names.includes(k));
  const missing = names.filter((n) => !(n in rec));
  if (extra.length > 0 || missing.length > 0) {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `quantizeModel: a calibration record has inputs {${Object.keys(rec).join(', ')}} but the model takes {${names.join(', ')}}; give one Tensor per graph input, by name.`,
    );
  }
  const list = names.map((n) => rec[n]);
  for (const t of list) if (!(t instanceof Tensor)) throw notTensor(t);
  const ts = list as Tensor[];
  const n0 = ts[0]?.shape[0];
  if (ts.some((t) => t.shape[0] !== n0)) {
    throw new QuantError(
      'SHAPE_MISMATCH',
      `quantizeModel: a calibration record holds ${ts.map((t, i) => `${names[i]} [${t.shape.join(', ')}]`).join(', ')}; every input needs the same number of samples (axis 0).`,
    );
  }
  return ts;
}

/** Splits one calibration batch along axis 0 into batches of at most `batchSize` (every input alike). */
function* splitBatch(ts: Tensor[], batchSize: number): Generator<Tensor[]> {
  const n = ts[0]?.shape[0] ?? 1;
  if (n <= batchSize || ts.some((t) => t.shape.length === 0)) {
    yield ts;
    return;
  }
  const data = ts.map((t) => t.toFloat32Array());
  for (let i = 0; i < n; i += batchSize) {
    const b = Math.min(batchSize, n - i);
    yield ts.map((t, k) => {
      const per = t.numel / n;
      return new Tensor(data[k]!.slice(i * per, (i + b) * per), [b, ...t.shape.slice(1)]);
    });
  }
}

/**
 * The calibration batches, pulled one at a time: a generator (the CLI's chunked `.npy` reader) is
 * never read ahead, so only the batch being calibrated is held, whatever the size of the set.
 */
async function* streamBatches(
  batches: CalibrationBatches,
  names: readonly string[],
  batchSize: number,
): AsyncGenerator<Tensor[]> {
  if (batches instanceof Tensor) {
    yield* splitBatch(batchInputs(batches, names), batchSize);
    return;
  }
  if (
    typeof batches !== 'object' ||
    batches === null ||
    (!(Symbol.iterator in batches) && !(Symbol.asyncIterator in batches))
  )
    throw notTensor(batches);
  for await (const item of batches as AsyncIterable<unknown>) yield* splitBatch(batchInputs(item, names), batchSize);
}

/** The batch count of a Tensor or an array (known without reading data); undefined for iterators. */
function countBatches(batches: CalibrationBatches, names: readonly string[], batchSize: number): number | undefined {
  const count = (item: unknown): number => {
    const t =
      item instanceof Tensor
        ? item
        : typeof item === 'object' && item !== null
          ? (item as Record<string, unknown>)[names[0] ?? '']
          : undefined;
    return t instanceof Tensor && t.shape.length > 0 ? Math.max(1, Math.ceil((t.shape[0] ?? 1) / batchSize)) : 1;
  };
  if (batches instanceof Tensor) return count(batches);
  return Array.isArray(batches) ? (batches as unknown[]).reduce<number>((a, t) => a + count(t), 0) : undefined;
}

function findNodeTargets(
  gm: GraphModule,
  names: readonly string[],
): { modules: string[]; functions: { target: unknown; index: number }[] } {
  const modules: string[] = [];
  const functions: { target: unknown; index: number }[] = [];
  for (const want of names) {
    const node = gm.graph.nodes.find(
      (n) =>
        n.name === want ||
        n.target === want ||
        n.meta['onnxName'] === want ||
        (Array.isArray(n.meta['onnxName']) && (n.meta['onnxName'] as unknown[]).includes(want)),
    );
    if (node === undefined) {
      throw new QuantError(
        'INVALID_ARGUMENT',
        `quantizeModel: keepFloat names '${want}', which is no node of the model; use an ONNX node name or a graph node name (inspectModel lists them).`,
      );
    }
    if (node.op === 'call_module') modules.push(node.target as string);
    else if (node.op === 'call_function') {
      const index = gm.graph.nodes.filter((n) => n.op === 'call_function' && n.target === node.target).indexOf(node);
      functions.push({ target: node.target, index });
    } else
      throw new QuantError(
        'INVALID_ARGUMENT',
        `quantizeModel: keepFloat names '${want}', a ${node.op} node; name an op node.`,
      );
  }
  return { modules, functions };
}

function hasNonFinite(t: Tensor): boolean {
  const d = t.toFloat32Array();
  for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i]!)) return true;
  return false;
}

/**
 * Quantizes a float model as PyTorch 1.13's graph mode does (`prepareFx` → calibration →
 * `convertFx` of `@quint/converter`), or dynamically (`quantizeDynamic`), and records provenance
 * (`quint.version`, `quint.engine`, `quint.qconfig`, `quint.torchCompat`, `quint.calibrationSamples`).
 * Calibration is streamed: `calibrationBatches` (a Tensor, an array, or any sync or async iterable
 * of Tensors — or, for models with several graph inputs, of records input name → Tensor) is pulled
 * one item at a time, each split along axis 0 into `batchSize` batches, observed and dropped; the
 * first batch is prepareFx's example input.
 *
 * @throws QuantError `INVALID_ARGUMENT` for a model that is already quantized, unknown options,
 *   a batchSize that is not a positive integer, keepFloat names, or batches that do not name
 *   every graph input; `SHAPE_MISMATCH` for a record whose inputs differ in sample count; `NON_FINITE` for NaN/Inf
 *   calibration data (unless `ignoreNonFinite`); `NOT_CALIBRATED` without calibration batches in
 *   static mode.
 * @example
 * const q = await quantizeModel(model, [calib], { qconfig: 'qnnpack', engine: 'ort' });
 * const streamed = await quantizeModel(model, readBatches('calib.npy'), { totalBatches: 16 });
 * const twoInputs = await quantizeModel(model2, [{ image: x, mask: m }]);
 * const bytes = saveModel(q, { format: 'qdq' });
 */
export async function quantizeModel(
  model: QuintModel,
  calibrationBatches: CalibrationBatches,
  options: QuantizeModelOptions = {},
): Promise<QuintModel> {
  if (model.kind !== 'float')
    throw new QuantError('INVALID_ARGUMENT', 'quantizeModel: the model is already quantized; load the float model.');
  const engine = checkEngine(options.engine ?? 'qnnpack', 'quantizeModel');
  const preset = options.qconfig ?? 'qnnpack';
  if (!['fbgemm', 'qnnpack', 'x86', 'onednn'].includes(preset))
    throw new QuantError(
      'INVALID_ARGUMENT',
      `quantizeModel: qconfig '${preset}' is not one of fbgemm, qnnpack, x86, onednn.`,
    );
  const torchCompat = options.torchCompat ?? 'latest';
  const backend = options.backend ?? model.backend;
  const onWarning = options.onWarning ?? ((m: string) => console.warn(`quint: warning: ${m}`));
  const info = model.graphModule.meta['onnx'] as ImportedGraphInfo | undefined;
  let q: GraphModule;
  let samples = 0;
  if (options.dynamic === true) {
    q = quantizeDynamic(model.graphModule) as GraphModule;
  } else {
    const staticBatch = info?.inputs[0]?.dynamicBatch === false ? info.inputs[0].shape[0] : undefined;
    const batchSize = options.batchSize ?? staticBatch ?? 1;
    if (!(Number.isSafeInteger(batchSize) && batchSize > 0))
      throw new QuantError(
        'INVALID_ARGUMENT',
        `quantizeModel: batchSize ${batchSize} is not a positive integer; pass one such as 8.`,
      );
    const mapping = observerOverrides(getDefaultQConfigMapping(preset, { torchCompat }), options);
    const keep = findNodeTargets(model.graphModule, options.keepFloat ?? []);
    for (const m of keep.modules) mapping.setModuleName(m, null);
    for (const f of keep.functions)
      mapping.setModuleNameObjectTypeOrder({ moduleName: '', objectType: f.target as never, index: f.index }, null);
    const names = model.inputNames.length > 0 ? model.inputNames : ['input'];
    let total = options.totalBatches ?? countBatches(calibrationBatches, names, batchSize) ?? Number.NaN;
    let prepared: GraphModule | undefined;
    let done = 0;
    let index = -1;
    let lastYield = Date.now();
    // One batch at a time: the first is prepareFx's example input, each is dropped once observed.
    for await (const b of streamBatches(calibrationBatches, names, batchSize)) {
      index++;
      if (b.some(hasNonFinite)) {
        if (options.ignoreNonFinite !== true)
          throw new QuantError(
            'NON_FINITE',
            `quantizeModel: calibration batch ${index} has NaN or Inf values; clean the data or pass ignoreNonFinite.`,
          );
        onWarning(`calibration batch ${index} has NaN/Inf values; skipped (ignoreNonFinite).`);
        if (options.totalBatches === undefined) total--;
        continue;
      }
      // prepareFx's check of the example input would be a whole extra forward pass (5 s of 17 on
      // ResNet-18): the first batch checks itself here instead.
      prepared ??= prepareFx(model.graphModule, mapping, b, { onWarning, checkExampleInputs: false });
      try {
        prepared.call(...b);
      } catch (e) {
        if (done > 0 || (isQuantError(e) && e.code !== 'SHAPE_MISMATCH')) throw e;
        throw new QuantError(
          'SHAPE_MISMATCH',
          `quantizeModel: calibration batch ${index} (${b.map((t) => `[${t.shape.join(', ')}]`).join(', ')}) does not fit the model: ${e instanceof Error ? e.message : String(e)}; pass batches of the shape the model takes.`,
          { cause: e },
        );
      }
      samples += b[0]?.shape[0] ?? 1;
      done++;
      options.onProgress?.(done, total);
      // Calibration is long and synchronous: let the event loop run every ~25 ms so that a SIGINT
      // handler (the CLI's: remove temp files, exit 130) or a browser page's UI can act meanwhile.
      if (Date.now() - lastYield > 25) {
        await new Promise<void>((resolve) => setTimeout(resolve, 0));
        lastYield = Date.now();
      }
    }
    if (prepared === undefined)
      throw new QuantError(
        'NOT_CALIBRATED',
        'quantizeModel: no calibration batches; pass at least one float Tensor (static quantization needs data).',
      );
    q = convertFx(prepared, { backend, engine });
  }
  q.meta['onnx'] = info;
  const metadata: Record<string, string> = {
    ...model.metadata,
    'quint.version': QUINT_VERSION,
    'quint.engine': engine,
    'quint.qconfig':
      options.dynamic === true
        ? 'dynamic'
        : JSON.stringify({
            preset,
            ...(options.activationObserver === undefined ? {} : { activation: options.activationObserver }),
            ...(options.weightObserver === undefined ? {} : { weight: options.weightObserver }),
            ...(options.keepFloat?.length ? { keepFloat: options.keepFloat } : {}),
          }),
    'quint.torchCompat': torchCompat,
    'quint.calibrationSamples': String(samples),
  };
  return {
    ...model,
    kind: 'quantized',
    graphModule: q,
    onnx: null,
    backend,
    engine,
    target: 'wasm',
    metadata,
    fileBytes: null,
  };
}

/** Options of {@link runModel}. */
export interface RunModelOptions {
  /** Run on another backend (e.g. kernels-wasm); the model is rebuilt for it. */
  readonly backend?: QuantizedBackend;
  /** Run with another engine (default: the model's: `quint.engine`, else `'ort'`). */
  readonly engine?: Engine;
  /** Engine `ort`: reproduce another ONNX Runtime build (default: the model's `target`). */
  readonly target?: OrtTarget;
}

function asInputs(model: QuintModel, inputs: Tensor | readonly Tensor[] | Readonly<Record<string, Tensor>>): Tensor[] {
  const list: unknown[] =
    inputs instanceof Tensor
      ? [inputs]
      : Array.isArray(inputs)
        ? [...inputs]
        : model.inputNames.map((n) => (inputs as Record<string, Tensor>)[n]);
  if (list.length !== model.inputNames.length || list.some((t) => !(t instanceof Tensor))) {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `runModel: the model takes ${model.inputNames.length} float Tensor input(s) (${model.inputNames.join(', ')}); pass one per input (by name or in order).`,
    );
  }
  const info = model.graphModule.meta['onnx'] as ImportedGraphInfo | undefined;
  (list as Tensor[]).forEach((t, i) => {
    const want = info?.inputs[i];
    if (want === undefined) return;
    const ok =
      t.shape.length === want.shape.length &&
      t.shape.every((d, j) => d === want.shape[j] || (j === 0 && want.dynamicBatch));
    if (!ok) {
      throw new QuantError(
        'SHAPE_MISMATCH',
        `runModel: input '${want.name}' has shape [${t.shape.join(', ')}], the model takes [${want.shape.map((d, j) => (j === 0 && want.dynamicBatch ? 'N' : d)).join(', ')}]; pass a tensor of that shape.`,
      );
    }
  });
  return list as Tensor[];
}

/**
 * Runs a model on float inputs and returns its outputs by ONNX output name: float Tensors, or
 * QTensors for outputs a QOperator file leaves quantized. Quantized ops run with integer
 * arithmetic on the model's backend and engine, or on `options` (the model is then rebuilt).
 *
 * @throws QuantError `SHAPE_MISMATCH` for inputs of the wrong shape; `INVALID_ARGUMENT` for a wrong
 *   number of inputs.
 * @example
 * const { y } = await runModel(model, x, { engine: 'ort' });
 */
export async function runModel(
  model: QuintModel,
  inputs: Tensor | readonly Tensor[] | Readonly<Record<string, Tensor>>,
  options: RunModelOptions = {},
): Promise<Record<string, Tensor | QTensor>> {
  let m = model;
  const engine = options.engine === undefined ? model.engine : checkEngine(options.engine, 'runModel');
  const target = options.target === undefined ? model.target : resolveOrtTarget('runModel', options);
  if (
    model.kind === 'quantized' &&
    ((options.backend !== undefined && options.backend !== model.backend) ||
      engine !== model.engine ||
      target !== model.target)
  ) {
    const onnx = model.onnx ?? decodeModel(saveModel(model));
    m = build(onnx, { backend: options.backend ?? model.backend, engine, target }, model.fileBytes);
  }
  const xs = asInputs(m, inputs);
  const out = m.graphModule.call(...xs) as Tensor | QTensor | (Tensor | QTensor)[];
  const list = Array.isArray(out) ? out : [out];
  const r: Record<string, Tensor | QTensor> = {};
  list.forEach((t, i) => (r[m.outputNames[i] ?? `output${i}`] = t));
  return r;
}

/** Options of {@link saveModel}. */
export interface SaveModelOptions {
  /** Quantized graphs as QDQ (default) or QOperator; float graphs are plain ONNX either way. */
  readonly format?: QuantizedFormat;
  /** Default-domain opset (default 13). */
  readonly opset?: number;
}

/**
 * Serializes a model to ONNX bytes: float graphs as float ONNX, quantized graphs as QDQ (uint8
 * activations, int8 symmetric weights, int32 bias, opset 13) or QOperator, with the model's
 * metadata (quint's provenance after quantizeModel).
 *
 * @throws QuantError `UNSUPPORTED_OP` for graph nodes without an ONNX form.
 * @example
 * await writeFile('model.int8.onnx', saveModel(q, { format: 'qdq' }));
 */
export function saveModel(model: QuintModel, options: SaveModelOptions = {}): Uint8Array {
  return encodeModel(
    exportModel(model.graphModule, {
      format: options.format ?? 'qdq',
      ...(options.opset === undefined ? {} : { opset: options.opset }),
      metadata: model.metadata,
      producerName: 'quint',
      producerVersion: QUINT_VERSION,
    }),
  );
}

/** One node in {@link ModelInspection}. */
export interface InspectedNode {
  /** Graph node name (what `--keep-float` and `explain --node` accept, besides the ONNX name). */
  readonly name: string;
  /** The ONNX node name(s) it came from. */
  readonly onnxName: string | string[] | null;
  /** Module class or function name (`Conv2d`, `QuantizedConv2d`, `add`, …). */
  readonly op: string;
  /** Output qparams of a quantized node. */
  readonly output: { scale: number; zeroPoint: number } | null;
  /** Quantized weight: dtype, qscheme and scales. */
  readonly weight: { dtype: string; qscheme: string; scales: number[]; zeroPoints: number[] } | null;
  /** Graph names of the nodes it reads (qparam attributes left out). */
  readonly inputs: readonly string[];
  /** Graph names of the nodes that read it. */
  readonly outputs: readonly string[];
}

/** What `quint inspect` shows. */
export interface ModelInspection {
  readonly kind: 'float' | 'quantized';
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** ONNX op types of the file and their counts (when loaded from ONNX). */
  readonly onnxOps: Readonly<Record<string, number>>;
  readonly opset: number | null;
  readonly nodes: readonly InspectedNode[];
  /**
   * DESIGN.md's model bytes (modelBytes of @quint/converter). For a float model `int8` is what it
   * would take quantized per channel ({@link perChannelInt8Bytes}).
   */
  readonly modelBytes: ModelBytes;
  /** The file size, when loaded from a file. */
  readonly fileBytes: number | null;
  /** The `quint.*` metadata. */
  readonly provenance: Readonly<Record<string, string>>;
  readonly engine: Engine;
}

/**
 * A quantized Conv/Linear as modelBytes counts it — int8 weight codes with a scale and zero point
 * per output channel, a bias, an output scale and zero point — holding only sizes (the codes are
 * zeros: a byte count does not need the values).
 */
class PerChannelWeights extends Module {
  readonly scale = 1;
  readonly zeroPoint = 0;
  readonly #weight: QTensor;
  readonly #bias: Tensor | null;

  constructor(m: Conv2d | Linear) {
    super();
    const shape = [...m.weight.shape];
    const outC = shape[0] ?? 1;
    this.#weight = makePerChannelQuantizedTensor(
      { data: new Int8Array(m.weight.numel), shape },
      new Float64Array(outC).fill(1),
      new Int32Array(outC),
      0,
    );
    this.#bias = m.bias;
  }

  weight(): QTensor {
    return this.#weight;
  }

  bias(): Tensor | null {
    return this.#bias;
  }

  forward(): never {
    throw new QuantError('INTERNAL', 'PerChannelWeights only holds sizes for modelBytes; it does not run.');
  }
}

/** Holds modules and parameters for modelBytes to count. */
class Holder extends Module {
  forward(): never {
    throw new QuantError('INTERNAL', 'Holder only holds modules for modelBytes; it does not run.');
  }
}

/**
 * DESIGN.md's int8 model bytes of a float model if it were quantized per channel, counted by
 * `modelBytes` itself on a stand-in model: BatchNorm folded into the conv before it (`fuseFx`),
 * every Conv2d/Linear as a per-channel quantized module, every other parameter left in float.
 */
function perChannelInt8Bytes(gm: GraphModule): number {
  let fused: Module;
  try {
    fused = fuseFx(gm);
  } catch {
    fused = gm; // untraceable for fusion: count BatchNorm parameters as float rather than fail inspect
  }
  const standIn = new Holder();
  const rest = new Holder();
  let k = 0;
  for (const m of fused.modules()) {
    if (m instanceof Conv2d || m instanceof Linear) {
      standIn.addModule(`w${k++}`, new PerChannelWeights(m));
      continue;
    }
    for (const [name, p] of m.namedParameters()) if (!name.includes('.')) rest.registerParameter(`p${k++}`, p);
  }
  standIn.addModule('rest', rest);
  return modelBytes(standIn).int8;
}

/**
 * The data `quint inspect` prints: ops, qparams of every quantized node, each node's inputs and
 * outputs, model bytes (for a float model, `int8` is what it would take quantized per channel),
 * provenance.
 *
 * @example
 * const info = inspectModel(await loadModel('model.int8.onnx'));
 * info.nodes.filter((n) => n.weight !== null);
 */
export function inspectModel(model: QuintModel): ModelInspection {
  const gm = model.graphModule;
  const nodes: InspectedNode[] = [];
  for (const n of gm.graph.nodes) {
    if (n.op !== 'call_module' && n.op !== 'call_function') continue;
    let op: string;
    let output: InspectedNode['output'] = null;
    let weight: InspectedNode['weight'] = null;
    if (n.op === 'call_module') {
      const m = gm.getSubmodule(n.target as string) as Module;
      op = m.getName();
      const sm = m as unknown as { scale?: unknown; zeroPoint?: unknown };
      if (
        typeof sm.scale === 'number' &&
        typeof sm.zeroPoint === 'number' &&
        (m instanceof nnq.Quantize || m instanceof QuantizedOp || 'weight' in m)
      ) {
        output = { scale: sm.scale, zeroPoint: sm.zeroPoint };
      }
      if (m instanceof nnq.Conv2d || m instanceof nnq.Linear) {
        const w = m.weight();
        weight = w.isPerChannel()
          ? {
              dtype: w.dtype,
              qscheme: w.qscheme(),
              scales: Array.from(w.qPerChannelScales()),
              zeroPoints: Array.from(w.qPerChannelZeroPoints()),
            }
          : { dtype: w.dtype, qscheme: w.qscheme(), scales: [w.qScale()], zeroPoints: [w.qZeroPoint()] };
      }
    } else {
      const t = n.target as { opName?: string; name?: string };
      op = t.opName ?? t.name ?? 'function';
    }
    nodes.push({
      name: n.name,
      onnxName: (n.meta['onnxName'] as string | string[] | undefined) ?? null,
      op,
      output,
      weight,
      inputs: n.allInputNodes.filter((a) => a.op !== 'get_attr').map((a) => a.name),
      outputs: [...n.users].map((u) => u.name),
    });
  }
  const onnxOps: Record<string, number> = {};
  for (const n of model.onnx?.graph.nodes ?? []) onnxOps[n.opType] = (onnxOps[n.opType] ?? 0) + 1;
  const provenance = Object.fromEntries(Object.entries(model.metadata).filter(([k]) => k.startsWith('quint.')));
  return {
    kind: model.kind,
    inputs: model.inputNames,
    outputs: model.outputNames,
    onnxOps,
    opset: model.onnx?.opsetImport.find((o) => o.domain === '')?.version ?? null,
    nodes,
    modelBytes: model.kind === 'float' ? { fp32: modelBytes(gm).fp32, int8: perChannelInt8Bytes(gm) } : modelBytes(gm),
    fileBytes: model.fileBytes,
    provenance,
    engine: model.engine,
  };
}
