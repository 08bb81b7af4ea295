import { QuantError, type Tensor } from '@quint/tensor';
import type { QDtype, QScheme } from './dtypes.js';
import type { QTensor } from './qtensor.js';

// The backend contract (STYLE.md "Backends", spec/aesthetics-anchors.md §3.5): one op vocabulary,
// explicit factories, async init, a capability query, prepacked weights freed by dispose().

/**
 * A requantization convention, not a speed (DESIGN.md "Numerics"):
 * - `'qnnpack'` (default): PyTorch 1.13's qnnpack engine (spec pytorch-semantics.md §5.2a, §5.3–5.9).
 * - `'onednn'`: PyTorch 1.13's onednn engine: float bias, zero point added before rounding (§5.2b).
 * - `'ort'`: ONNX Runtime's CPU and wasm kernels: multiplier `f32(f32(x_s·w_s)/y_s)`
 *   (spec onnx-ort-and-peers.md §1.3).
 * - `'fbgemm'`: experimental, from FBGEMM's source only (§5.2c); backends warn once when it is chosen.
 *
 * An engine is a per-call option: a converted model records its engine, and one backend instance
 * serves any engine.
 */
export type Engine = 'qnnpack' | 'onednn' | 'ort' | 'fbgemm';

/** Every engine, in documentation order. */
export const ENGINES: readonly Engine[] = Object.freeze(['qnnpack', 'onednn', 'ort', 'fbgemm'] as const);

/** The engine used when a call does not name one (PyTorch 1.13's engine on ARM and Debian builds). */
export const DEFAULT_ENGINE: Engine = 'qnnpack';

/** The group an op belongs to; the conformance suite keeps one case file per group. */
export type OpGroup = 'quantize' | 'gemm' | 'elementwise' | 'activations' | 'pooling' | 'shape';

/** Metadata of one op in {@link OP_NAMES}. */
export interface OpInfo {
  /** The group, which is also the conformance case file (`src/cases/<group>.ts`). */
  readonly group: OpGroup;
  /** The PyTorch op it reproduces. */
  readonly torchOp: string;
  /** One line for the docs. */
  readonly description: string;
  /** The engines the reference backend (`@quint/kernels-js`) implements for this op. */
  readonly engines: readonly Engine[];
}

const ALL: readonly Engine[] = ['qnnpack', 'onednn', 'ort', 'fbgemm'];
// PyTorch's engines plus ONNX Runtime's, for non-GEMM ops whose ORT formula is established and
// tested against onnxruntime-node and -web (docs/numerics.md "Engine ort").
const PT_ORT: readonly Engine[] = ['qnnpack', 'onednn', 'ort'];

/**
 * The op vocabulary: every op a {@link QuantizedBackend} can implement, keyed by the camelCase of
 * `torch.ops.quantized.*`, with the metadata the docs and the conformance suite derive from.
 *
 * `engines` lists what the reference backend claims. An op's owner extends its list when a new engine
 * is implemented and tested (for ops other than conv/linear, `ort` needs ONNX Runtime's formula
 * researched and written into `docs/numerics.md` first).
 *
 * @example
 * for (const op of opNames()) console.log(op, OP_NAMES[op].engines.join(', '));
 * @see https://pytorch.org/docs/stable/quantization-support.html
 */
export const OP_NAMES = {
  quantizePerTensor: {
    group: 'quantize',
    torchOp: 'torch.quantize_per_tensor',
    description: 'float → codes: zp + rne(f32(x · f32(1/scale))) (ort: rne(f32(x / scale)) + zp), clamped (spec §1.2)',
    engines: ALL,
  },
  quantizePerChannel: {
    group: 'quantize',
    torchOp: 'torch.quantize_per_channel',
    description: 'float → codes with one scale and zero point per channel along an axis (spec §1.3)',
    engines: ALL,
  },
  dequantize: {
    group: 'quantize',
    torchOp: 'torch.dequantize',
    description: 'codes → float: f32(scale · (q − zp)) (spec §1.4)',
    engines: ALL,
  },
  conv2d: {
    group: 'gemm',
    torchOp: 'quantized::conv2d',
    description: '2-D convolution, NCHW, int32 accumulation, per-engine requantization (spec §5.2)',
    engines: ALL,
  },
  conv2dRelu: {
    group: 'gemm',
    torchOp: 'quantized::conv2d_relu',
    description: 'conv2d with ReLU fused into the output clamp (spec §5.2)',
    engines: ALL,
  },
  linear: {
    group: 'gemm',
    torchOp: 'quantized::linear',
    description: 'x · Wᵀ + b on the last dimension, int32 accumulation, per-engine requantization (spec §5.2)',
    engines: ALL,
  },
  linearRelu: {
    group: 'gemm',
    torchOp: 'quantized::linear_relu',
    description: 'linear with ReLU fused into the output clamp (spec §5.2)',
    engines: ALL,
  },
  linearDynamic: {
    group: 'gemm',
    torchOp: 'quantized::linear_dynamic',
    description: 'float in, float out: the activation is quantized per call as quantize_dynamic does (spec §5.10)',
    engines: ['qnnpack', 'onednn'],
  },
  add: {
    group: 'elementwise',
    torchOp: 'quantized::add',
    description: 'a + b requantized to the output qparams (qnnpack: fixed point) (spec §5.3)',
    engines: PT_ORT,
  },
  addRelu: {
    group: 'elementwise',
    torchOp: 'quantized::add_relu',
    description: 'add with ReLU fused (spec §5.3)',
    engines: PT_ORT,
  },
  mul: {
    group: 'elementwise',
    torchOp: 'quantized::mul',
    description: 'a · b via requantize_from_int (spec §5.4)',
    engines: PT_ORT,
  },
  mulRelu: {
    group: 'elementwise',
    torchOp: 'quantized::mul_relu',
    description: 'mul with ReLU fused (spec §5.4)',
    engines: PT_ORT,
  },
  cat: {
    group: 'elementwise',
    torchOp: 'quantized::cat',
    description: 'concatenation, inputs requantized to the output qparams (spec §5.5)',
    engines: PT_ORT,
  },
  relu: {
    group: 'activations',
    torchOp: 'torch.relu',
    description: 'max(q, zp), qparams kept (spec §5.6)',
    engines: ['qnnpack', 'onednn', 'ort'],
  },
  relu6: {
    group: 'activations',
    torchOp: 'torch.nn.functional.relu6',
    description: 'clamp(q, zp, quantize(6)), qparams kept (spec §5.6)',
    engines: PT_ORT,
  },
  hardtanh: {
    group: 'activations',
    torchOp: 'torch.nn.functional.hardtanh',
    description: 'clamp(q, quantize(minVal), quantize(maxVal)), qparams kept (spec §5.6)',
    engines: PT_ORT,
  },
  clamp: {
    group: 'activations',
    torchOp: 'torch.clamp',
    description: 'clamp(q, quantize(min), quantize(max)), qparams kept (spec §5.6)',
    engines: PT_ORT,
  },
  hardswish: {
    group: 'activations',
    torchOp: 'quantized::hardswish',
    description: 'x · relu6(x + 3) / 6 into the given output qparams (qnnpack: lookup table) (spec §5.7)',
    engines: PT_ORT,
  },
  hardsigmoid: {
    group: 'activations',
    torchOp: 'torch.nn.functional.hardsigmoid',
    description: 'relu6(x + 3) / 6 with fixed output qparams (spec §5.7)',
    engines: PT_ORT,
  },
  sigmoid: {
    group: 'activations',
    torchOp: 'torch.sigmoid',
    description: '1 / (1 + exp(−x)) with fixed output qparams (1/256, 0) (spec §5.7)',
    engines: PT_ORT,
  },
  tanh: {
    group: 'activations',
    torchOp: 'torch.tanh',
    description: 'tanh with fixed output qparams (2/256, 128) (spec §5.7)',
    engines: PT_ORT,
  },
  maxPool2d: {
    group: 'pooling',
    torchOp: 'quantized::max_pool2d',
    description: 'integer max over each window, qparams kept (spec §5.8)',
    engines: ['qnnpack', 'onednn', 'ort'],
  },
  avgPool2d: {
    group: 'pooling',
    torchOp: 'torch.nn.functional.avg_pool2d',
    description: 'window average, rounding per code path (NCHW, NHWC, qnnpack) (spec §5.8)',
    engines: PT_ORT,
  },
  adaptiveAvgPool2d: {
    group: 'pooling',
    torchOp: 'torch.nn.functional.adaptive_avg_pool2d',
    description: 'adaptive window average, rounding per code path (spec §5.8)',
    engines: PT_ORT,
  },
  mean: {
    group: 'pooling',
    torchOp: 'torch.mean',
    description: 'mean over dims, rounding per code path (spec §5.8)',
    engines: PT_ORT,
  },
  reshape: {
    group: 'shape',
    torchOp: 'torch.reshape',
    description: 'codes and qparams unchanged (spec §5.9)',
    engines: ALL,
  },
  flatten: {
    group: 'shape',
    torchOp: 'torch.flatten',
    description: 'codes and qparams unchanged (spec §5.9)',
    engines: ALL,
  },
} as const satisfies Record<string, OpInfo>;

/** The name of an op in {@link OP_NAMES}. */
export type OpName = keyof typeof OP_NAMES;

/**
 * Every op name, in table order (the order of the docs and the conformance suite).
 *
 * @example
 * opNames().filter((op) => OP_NAMES[op].group === 'gemm'); // ['conv2d', 'conv2dRelu', 'linear', …]
 */
export function opNames(): OpName[] {
  return Object.keys(OP_NAMES) as OpName[];
}

/** True when `name` is an op of {@link OP_NAMES}. */
export function isOpName(name: string): name is OpName {
  return Object.prototype.hasOwnProperty.call(OP_NAMES, name);
}

// ---------------------------------------------------------------------------------------------
// Options and records shared by every kernel

/**
 * The memory format PyTorch's input would have. Data here is always NCHW (C order); the hint only
 * picks between PyTorch's NCHW and channels-last code paths, which round differently for avg-pool,
 * adaptive avg-pool, mean and cat (spec §5.5, §5.8). PyTorch's quantized conv returns channels_last.
 */
export type MemoryFormat = 'contiguous' | 'channels_last';

/** Output quantization parameters of a kernel. */
export interface OutQparams {
  /** The scale as a double (as `q_scale()`); kernels use `Math.fround(scale)` where PyTorch does. */
  readonly scale: number;
  readonly zeroPoint: number;
  /** Default `'quint8'`. */
  readonly dtype?: QDtype;
}

/** One input of a traced element: codes that fed it and their qparams. */
export interface TraceOperand {
  /** The codes that fed this output element, in reduction order (padding reported as the zero point). */
  readonly codes: readonly number[];
  /** The zero point subtracted from `codes` (per channel: the channel's). */
  readonly zeroPoint: number;
  /** The scale (a double, as stored in the QTensor). */
  readonly scale: number;
}

/** What a conv/linear kernel reports for one output element. */
export interface GemmTraceRecord {
  readonly kind: 'gemm';
  readonly op: OpName;
  readonly engine: Engine;
  /** Flat C-order index of the output element. */
  readonly index: number;
  /** Output channel (conv) or output feature (linear). */
  readonly channel: number;
  readonly input: TraceOperand;
  readonly weight: TraceOperand;
  /** `Σ (x_q − x_zp)·(w_q − w_zp)` in int32. */
  readonly acc: number;
  /** `'int32'` on qnnpack/ort (the int32 bias), `'float'` on onednn/fbgemm (the float32 bias term added to `f32(acc)`), `'none'` without bias. */
  readonly biasKind: 'int32' | 'float' | 'none';
  /** The bias as the engine adds it: `bias_q` (int32), `f32(b·bs)` (onednn), `ba` (fbgemm), or 0. */
  readonly bias: number;
  /** The multiplier applied to the (biased) accumulator: `M[c]` (qnnpack/ort/fbgemm), `op` (onednn). */
  readonly multiplier: number;
  /** Engine-specific scales, e.g. onednn's `biasScale` (bs) or fbgemm's `actTimesWScale`. */
  readonly extra: Readonly<Record<string, number>>;
  /** The float32 value that gets rounded (onednn: already including the output zero point). */
  readonly preRound: number;
  /** The output code. For `linearDynamic`, the float32 output value. */
  readonly output: number;
}

/** What a non-GEMM kernel reports for one output element. */
export interface ElementTraceRecord {
  readonly kind: 'element';
  readonly op: OpName;
  readonly engine: Engine;
  /** Flat C-order index of the output element. */
  readonly index: number;
  /** The operands that fed the element (one for unary ops and pooling, two for add/mul, one for cat). */
  readonly inputs: readonly TraceOperand[];
  /** Named intermediates, e.g. `{ acc, aMult, bMult, shift }` for the qnnpack fixed-point add. */
  readonly intermediates: Readonly<Record<string, number>>;
  /** The value that gets rounded, or `null` for exact integer ops (relu, max-pool, reshape). */
  readonly preRound: number | null;
  /** The output code (for `dequantize`, the float32 value). */
  readonly output: number;
}

/** A trace record of either kind. */
export type TraceRecord = GemmTraceRecord | ElementTraceRecord;

/**
 * Asks a kernel to report its arithmetic: for output element `index` (flat, C order; default 0), or
 * for every element with `'all'`. Off when absent, and then it costs one branch per call.
 */
export interface TraceOptions {
  readonly index?: number | 'all';
  readonly sink: (record: TraceRecord) => void;
}

/** Options every kernel takes as its last argument. */
export interface KernelOptions {
  /** The requantization convention; default {@link DEFAULT_ENGINE}. */
  readonly engine?: Engine;
  /** Report the arithmetic of one or all output elements. */
  readonly trace?: TraceOptions;
  /** The memory format PyTorch's input would have (default `'contiguous'`); see {@link MemoryFormat}. */
  readonly memoryFormat?: MemoryFormat;
  /**
   * Engine `ort` only: which ONNX Runtime 1.30 build to reproduce where the builds compute different
   * float roundings (add, addRelu, mul, mulRelu, sigmoid, tanh, mean; docs/numerics.md "Engine ort").
   * `'wasm'` (default): onnxruntime-web, whose wasm build computes the same on every platform.
   * `'x64'`: onnxruntime-node on x86-64 with AVX2 + FMA. Native ORT on ARM or on x86-64 without AVX2
   * is not reproduced. Every other op, and the other engines, ignore it.
   */
  readonly target?: OrtTarget;
}

/**
 * An ONNX Runtime 1.30 build whose float roundings engine `ort` reproduces where the builds differ:
 * `'wasm'` (onnxruntime-web) or `'x64'` (onnxruntime-node on x86-64 with AVX2 + FMA).
 */
export type OrtTarget = 'wasm' | 'x64';

/**
 * The ONNX Runtime build a call reproduces: `opts.target`, default `'wasm'`.
 *
 * @throws `INVALID_ARGUMENT` for anything but `'wasm'` or `'x64'`.
 * @example
 * resolveOrtTarget('add', { engine: 'ort', target: 'x64' }); // 'x64'
 */
export function resolveOrtTarget(op: string, opts: { readonly target?: unknown } | undefined): OrtTarget {
  const t = opts?.target ?? 'wasm';
  if (t !== 'wasm' && t !== 'x64') {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `${op}: target ${JSON.stringify(t)} is not an ONNX Runtime build quint reproduces; pass 'wasm' (onnxruntime-web, the default) or 'x64' (onnxruntime-node on x86-64 with AVX2 + FMA).`,
    );
  }
  return t;
}

/** Options of `linearDynamic`. */
export interface LinearDynamicOptions extends KernelOptions {
  /** Quantize the activation to 0..127 (PyTorch's nnqd.Linear passes true; qnnpack ignores it). Default true. */
  readonly reduceRange?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Prepacked weights

/** Stride, padding and dilation as given to `prepackConv2d` (a number means the same for H and W). */
export interface Conv2dPrepackOptions {
  readonly stride?: number | readonly [number, number];
  readonly padding?: number | readonly [number, number];
  readonly dilation?: number | readonly [number, number];
  /** Default 1; `groups = inChannels` is depthwise. */
  readonly groups?: number;
  /** See {@link LinearPrepackOptions.minInputScale}. */
  readonly minInputScale?: number;
}

/** Options of `prepackLinear`. */
export interface LinearPrepackOptions {
  /**
   * The smallest input scale the prepack overflow check assumes when it bounds the int32 bias
   * `|b / (x_s·w_s)|` (the input scale is known only at run time). Default 2^−16. Kernels check the
   * exact bound again at run time with the real input scale and zero point.
   */
  readonly minInputScale?: number;
}

/**
 * A conv2d weight packed by one backend. Opaque: the public fields describe it; a backend adds its own
 * (hidden) data and accepts only handles it packed.
 */
export interface PackedConv2d {
  readonly kind: 'conv2d';
  /** The name of the backend that packed it. */
  readonly backend: string;
  /** The qint8 weight, `[outChannels, inChannels / groups, kH, kW]`, per tensor or per channel on axis 0. */
  readonly weight: QTensor;
  readonly bias: Float32Array | null;
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number];
  readonly dilation: readonly [number, number];
  readonly groups: number;
}

/** A linear weight packed by one backend (opaque; see {@link PackedConv2d}). */
export interface PackedLinear {
  readonly kind: 'linear';
  readonly backend: string;
  /** The qint8 weight, `[outFeatures, inFeatures]`, per tensor or per channel on axis 0. */
  readonly weight: QTensor;
  readonly bias: Float32Array | null;
}

// ---------------------------------------------------------------------------------------------
// Op parameters of non-GEMM kernels

/** Per-channel quantization parameters for `quantizePerChannel`. */
export interface PerChannelOutQparams {
  readonly scales: ArrayLike<number>;
  readonly zeroPoints: ArrayLike<number>;
  readonly axis: number;
  /** Default `'qint8'`. */
  readonly dtype?: QDtype;
}

/** `hardtanh(x, minVal, maxVal)` bounds. */
export interface HardtanhParams {
  readonly minVal: number;
  readonly maxVal: number;
}

/** `clamp(x, min, max)` bounds; either may be absent. */
export interface ClampParams {
  readonly min?: number;
  readonly max?: number;
}

/** `max_pool2d` parameters (PyTorch's names and defaults: stride = kernelSize, padding 0, dilation 1). */
export interface MaxPool2dParams {
  readonly kernelSize: number | readonly [number, number];
  readonly stride?: number | readonly [number, number];
  readonly padding?: number | readonly [number, number];
  readonly dilation?: number | readonly [number, number];
  readonly ceilMode?: boolean;
}

/** `avg_pool2d` parameters (PyTorch's names and defaults: countIncludePad true). */
export interface AvgPool2dParams {
  readonly kernelSize: number | readonly [number, number];
  readonly stride?: number | readonly [number, number];
  readonly padding?: number | readonly [number, number];
  readonly ceilMode?: boolean;
  readonly countIncludePad?: boolean;
  readonly divisorOverride?: number;
}

/** `mean(x, dim, keepdim)` parameters. */
export interface MeanParams {
  readonly dim: number | readonly number[];
  readonly keepdim?: boolean;
}

/** `flatten(x, startDim, endDim)` parameters (defaults 0 and −1, as `torch.flatten`). */
export interface FlattenParams {
  readonly startDim?: number;
  readonly endDim?: number;
}

// ---------------------------------------------------------------------------------------------
// The kernel table

/**
 * One typed kernel per {@link OpName}. Every kernel checks its inputs (dtypes, qschemes, shapes,
 * empty tensors) before any work and throws `QuantError` with a code; integer outputs are bit-exact
 * across backends for the engines they support.
 */
export interface KernelTable {
  /** Quantizes a float tensor per tensor (spec §1.2; engine `ort` divides by the scale). */
  quantizePerTensor(x: Tensor, out: OutQparams, opts?: KernelOptions): QTensor;
  /** Quantizes a float tensor per channel along `qparams.axis` (spec §1.3). */
  quantizePerChannel(x: Tensor, qparams: PerChannelOutQparams, opts?: KernelOptions): QTensor;
  /** Codes to float32 (spec §1.4). */
  dequantize(x: QTensor, opts?: KernelOptions): Tensor;

  /** NCHW quint8 conv2d with a packed qint8 weight; output NCHW in `out` qparams (spec §5.2). */
  conv2d(x: QTensor, w: PackedConv2d, out: OutQparams, opts?: KernelOptions): QTensor;
  /** conv2d with ReLU fused into the output clamp (spec §5.2). */
  conv2dRelu(x: QTensor, w: PackedConv2d, out: OutQparams, opts?: KernelOptions): QTensor;
  /** `x · Wᵀ + b` over the last dimension of a quint8 input of any rank ≥ 1 (spec §5.2). */
  linear(x: QTensor, w: PackedLinear, out: OutQparams, opts?: KernelOptions): QTensor;
  /** linear with ReLU fused into the output clamp (spec §5.2). */
  linearRelu(x: QTensor, w: PackedLinear, out: OutQparams, opts?: KernelOptions): QTensor;
  /** Dynamic linear: float in, float out; the activation is quantized per call (spec §5.10). */
  linearDynamic(x: Tensor, w: PackedLinear, opts?: LinearDynamicOptions): Tensor;

  /** Elementwise a + b (same shape, or broadcast where the engine allows) into `out` (spec §5.3). */
  add(a: QTensor, b: QTensor, out: OutQparams, opts?: KernelOptions): QTensor;
  /** add with ReLU fused (spec §5.3). */
  addRelu(a: QTensor, b: QTensor, out: OutQparams, opts?: KernelOptions): QTensor;
  /** Elementwise a · b into `out` (spec §5.4). */
  mul(a: QTensor, b: QTensor, out: OutQparams, opts?: KernelOptions): QTensor;
  /** mul with ReLU fused (spec §5.4). */
  mulRelu(a: QTensor, b: QTensor, out: OutQparams, opts?: KernelOptions): QTensor;
  /** Concatenation along `dim`; without `out`, the first input's qparams (as `torch.cat`) (spec §5.5). */
  cat(xs: readonly QTensor[], dim: number, out?: OutQparams, opts?: KernelOptions): QTensor;

  /** `max(q, zp)` (spec §5.6). */
  relu(x: QTensor, opts?: KernelOptions): QTensor;
  /** `clamp(q, zp, quantize(6))` (spec §5.6). */
  relu6(x: QTensor, opts?: KernelOptions): QTensor;
  /** `clamp(q, quantize(minVal), quantize(maxVal))` (spec §5.6). */
  hardtanh(x: QTensor, params: HardtanhParams, opts?: KernelOptions): QTensor;
  /** `clamp(q, quantize(min), quantize(max))` (spec §5.6). */
  clamp(x: QTensor, params: ClampParams, opts?: KernelOptions): QTensor;
  /** hardswish into `out` qparams (spec §5.7). */
  hardswish(x: QTensor, out: OutQparams, opts?: KernelOptions): QTensor;
  /** hardsigmoid; without `out`, the fixed qparams (1/256, 0) for quint8 (spec §5.7). */
  hardsigmoid(x: QTensor, out?: OutQparams, opts?: KernelOptions): QTensor;
  /** sigmoid; without `out`, the fixed qparams (1/256, 0) for quint8 (spec §5.7). */
  sigmoid(x: QTensor, out?: OutQparams, opts?: KernelOptions): QTensor;
  /** tanh; without `out`, the fixed qparams (2/256, 128) for quint8 (spec §5.7). */
  tanh(x: QTensor, out?: OutQparams, opts?: KernelOptions): QTensor;

  /** 2-D max pooling over NCHW (or CHW) codes (spec §5.8). */
  maxPool2d(x: QTensor, params: MaxPool2dParams, opts?: KernelOptions): QTensor;
  /** 2-D average pooling (spec §5.8). */
  avgPool2d(x: QTensor, params: AvgPool2dParams, opts?: KernelOptions): QTensor;
  /** Adaptive average pooling to `outputSize` (`null` keeps that dimension) (spec §5.8). */
  adaptiveAvgPool2d(
    x: QTensor,
    outputSize: number | readonly [number | null, number | null],
    opts?: KernelOptions,
  ): QTensor;
  /** Mean over `params.dim` (spec §5.8). */
  mean(x: QTensor, params: MeanParams, opts?: KernelOptions): QTensor;

  /** Same codes and qparams, new shape (one dim may be −1) (spec §5.9). */
  reshape(x: QTensor, shape: readonly number[], opts?: KernelOptions): QTensor;
  /** Same codes and qparams, dims `startDim..endDim` merged (spec §5.9). */
  flatten(x: QTensor, params?: FlattenParams, opts?: KernelOptions): QTensor;
}

/** Parameters a backend may look at in {@link QuantizedBackend.supports}. All optional. */
export interface SupportsParams {
  readonly engine?: Engine;
  /** Activation dtype. */
  readonly dtype?: QDtype;
  /** Weight dtype (conv/linear). */
  readonly weightDtype?: QDtype;
  /** Weight qscheme (conv/linear), or the input's qscheme for quantize ops. */
  readonly qscheme?: QScheme;
  /** conv2d groups. */
  readonly groups?: number;
  /** True when every weight zero point is 0 (onednn requires it for conv/linear, spec §5.2b). */
  readonly symmetricWeight?: boolean;
  /** The memory format hint the call will pass. */
  readonly memoryFormat?: MemoryFormat;
}

/**
 * A quantized compute backend: integer kernels for the ops of {@link OP_NAMES}, prepacked weights,
 * and a capability query. Build one with {@link defineBackend}.
 */
export interface QuantizedBackend {
  readonly name: string;
  /** Loads what the backend needs (a wasm module, …). Call once before any kernel. */
  init(): Promise<void>;
  /**
   * False when the backend has no kernel for `op` with these parameters; the conformance suite then
   * counts the case as skipped, by name.
   */
  supports(op: OpName, params?: SupportsParams): boolean;
  /** Frees every packed weight and whatever `init()` loaded. */
  dispose(): void;
  /** The kernels; a missing one throws `QuantError('UNSUPPORTED_OP')` when called. */
  readonly kernels: KernelTable;
  /**
   * Packs a qint8 conv weight `[outC, inC/groups, kH, kW]` and its float32 bias once.
   * @throws `QuantError('OVERFLOW')` when the int32 accumulator could overflow for these weights.
   */
  prepackConv2d(weight: QTensor, bias: Float32Array | null, opts?: Conv2dPrepackOptions): PackedConv2d;
  /**
   * Packs a qint8 linear weight `[outFeatures, inFeatures]` and its float32 bias once.
   * @throws `QuantError('OVERFLOW')` when the int32 accumulator could overflow for these weights.
   */
  prepackLinear(weight: QTensor, bias: Float32Array | null, opts?: LinearPrepackOptions): PackedLinear;
}

/** What {@link defineBackend} needs: the kernels present, and optionally the rest. */
export interface BackendDefinition {
  readonly name: string;
  readonly init?: () => Promise<void>;
  /** The kernels this backend has; any subset of {@link KernelTable}. */
  readonly kernels: Partial<KernelTable>;
  readonly prepackConv2d?: (weight: QTensor, bias: Float32Array | null, opts?: Conv2dPrepackOptions) => PackedConv2d;
  readonly prepackLinear?: (weight: QTensor, bias: Float32Array | null, opts?: LinearPrepackOptions) => PackedLinear;
  /**
   * Refines the capability query; called only for ops whose kernel is present and whose engine (if
   * given) the backend claims. Default: true.
   */
  readonly supports?: (op: OpName, params: SupportsParams) => boolean;
  /** Engines the backend claims per op; default: the reference's claims in {@link OP_NAMES}. */
  readonly engines?: Partial<Record<OpName, readonly Engine[]>>;
  readonly dispose?: () => void;
}

function unsupported(backend: string, what: string): never {
  throw new QuantError(
    'UNSUPPORTED_OP',
    `backend '${backend}' has no ${what} kernel; check backend.supports('${what}') first, or use createJsBackend() from @quint/kernels-js.`,
  );
}

/**
 * Builds a {@link QuantizedBackend} from the kernels a backend has. `supports(op, params)` is true
 * when the kernel is present, the engine (default qnnpack) is claimed for the op (by `engines`, else
 * by {@link OP_NAMES}) and the definition's own `supports` (if any) agrees. Missing kernels and
 * prepack functions throw `QuantError('UNSUPPORTED_OP')` when called.
 *
 * @example
 * export function createMyBackend(): QuantizedBackend {
 *   return defineBackend({ name: 'mine', kernels: { relu: (x) => myRelu(x) } });
 * }
 * @see https://pytorch.org/docs/stable/quantization.html#quantized-engine
 */
export function defineBackend(def: BackendDefinition): QuantizedBackend {
  const { name } = def;
  const present = def.kernels as Record<string, unknown>;
  // Missing kernels become throwing stubs so `backend.kernels.x(...)` fails with a clear code.
  const kernels = {} as Record<string, unknown>;
  for (const op of opNames()) {
    const k = present[op];
    kernels[op] = typeof k === 'function' ? k : () => unsupported(name, op);
  }
  return {
    name,
    init: def.init ?? (async () => {}),
    supports(op: OpName, params: SupportsParams = {}): boolean {
      if (!isOpName(op) || typeof present[op] !== 'function') return false;
      const engine = params.engine ?? DEFAULT_ENGINE;
      const claimed: readonly Engine[] = def.engines?.[op] ?? OP_NAMES[op].engines;
      if (!claimed.includes(engine)) return false;
      return def.supports ? def.supports(op, params) : true;
    },
    dispose: def.dispose ?? (() => {}),
    kernels: Object.freeze(kernels) as unknown as KernelTable,
    prepackConv2d: def.prepackConv2d ?? (() => unsupported(name, 'prepackConv2d')),
    prepackLinear: def.prepackLinear ?? (() => unsupported(name, 'prepackLinear')),
  };
}

/**
 * A kernel call's options: its last argument when that names an engine. Every kernel takes its
 * KernelOptions last, and no other argument (tensors, qparams, op parameters) has an `engine` field.
 */
function callOptions(args: readonly unknown[]): KernelOptions | undefined {
  const last = args[args.length - 1];
  return typeof last === 'object' && last !== null && 'engine' in last ? (last as KernelOptions) : undefined;
}

/**
 * `backend`, with its engine-`ort` calls reproducing ONNX Runtime build `target`: a call whose
 * options name an engine and no `target` gets `target` added (the kernel option only engine `ort`
 * reads; see {@link KernelOptions.target}). This is how a whole model picks the build it is
 * compared with (`loadModel(bytes, { engine: 'ort', target: 'x64' })` in `@quint/onnx`), since its
 * modules pass only the engine. `init`, `supports`, prepacking and `dispose` are `backend`'s own.
 *
 * @throws `INVALID_ARGUMENT` for a `target` other than `'wasm'` or `'x64'`.
 * @example
 * const native = withOrtTarget(createJsBackend(), 'x64'); // outputs of onnxruntime-node on x86-64
 * native.kernels.add(a, b, out, { engine: 'ort' });       // = add(a, b, out, { engine: 'ort', target: 'x64' })
 */
export function withOrtTarget(backend: QuantizedBackend, target: OrtTarget): QuantizedBackend {
  resolveOrtTarget('withOrtTarget', { target });
  const table = {} as Record<string, unknown>;
  for (const op of opNames()) {
    const kernel = backend.kernels[op] as (...a: unknown[]) => unknown;
    table[op] = (...args: unknown[]) => {
      const o = callOptions(args);
      if (o !== undefined && o.target === undefined) args[args.length - 1] = { ...o, target };
      return kernel(...args);
    };
  }
  return defineBackend({
    name: backend.name,
    kernels: table as Partial<KernelTable>,
    init: () => backend.init(),
    supports: (op, params) => backend.supports(op, params),
    engines: Object.fromEntries(opNames().map((op) => [op, ENGINES])) as Partial<Record<OpName, readonly Engine[]>>,
    prepackConv2d: (w, b, o) => backend.prepackConv2d(w, b, o),
    prepackLinear: (w, b, o) => backend.prepackLinear(w, b, o),
    dispose: () => backend.dispose(),
  });
}

/**
 * One backend made of two: each op runs on `primary` when it supports the op for the call's engine,
 * else on `fallback`; weights are prepacked by `primary` (it must support conv2d/linear for
 * `engine`). This is how kernels-wasm is used in practice: its SIMD kernels where it has them,
 * kernels-js for the rest. Support differs per engine (kernels-wasm has no `add` for engine ort, for
 * example), so each call is routed by the engine its options name (the last argument), and `engine`
 * for a call that names none. `dispose()` disposes both.
 *
 * @example
 * const backend = composeBackends({ primary: createWasmBackend(), fallback: createJsBackend(), engine: 'qnnpack' });
 * await backend.init();
 * @see https://pytorch.org/docs/stable/quantization.html#quantized-engines
 */
export function composeBackends(opts: {
  readonly primary: QuantizedBackend;
  readonly fallback: QuantizedBackend;
  readonly engine: Engine;
  readonly name?: string;
}): QuantizedBackend {
  const { primary, fallback, engine } = opts;
  // Chosen per engine at its first call, after init(): a backend may only know what it supports
  // once loaded.
  const chosen = new Map<Engine, Partial<Record<OpName, (...a: unknown[]) => unknown>>>();
  const kernelFor = (op: OpName, e: Engine): ((...a: unknown[]) => unknown) => {
    let table = chosen.get(e);
    if (table === undefined) {
      table = Object.fromEntries(
        opNames().map((o) => [o, (primary.supports(o, { engine: e }) ? primary : fallback).kernels[o]]),
      ) as Partial<Record<OpName, (...a: unknown[]) => unknown>>;
      chosen.set(e, table);
    }
    return table[op]!;
  };
  const table = {} as Record<string, unknown>;
  for (const op of opNames())
    table[op] = (...args: unknown[]) => kernelFor(op, callOptions(args)?.engine ?? engine)(...args);
  return defineBackend({
    name: opts.name ?? `${primary.name}+${fallback.name}`,
    kernels: table as Partial<KernelTable>,
    async init() {
      await primary.init();
      await fallback.init();
    },
    supports: (op, params) => primary.supports(op, params) || fallback.supports(op, params),
    engines: Object.fromEntries(opNames().map((op) => [op, ENGINES])) as Partial<Record<OpName, readonly Engine[]>>,
    prepackConv2d: (w, b, o) => primary.prepackConv2d(w, b, o),
    prepackLinear: (w, b, o) => primary.prepackLinear(w, b, o),
    dispose: () => {
      primary.dispose();
      fallback.dispose();
    },
  });
}
