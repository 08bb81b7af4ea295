// quantized::linear / conv2d (+ relu) on the wasm kernels: exact int32 accumulators from the SIMD
// micro-kernels, then each engine's requantization, vectorized, with the float steps of
// @quint/qtensor's requantize.ts (spec pytorch-semantics.md §5.2, onnx-ort-and-peers.md §1.3).
import { QuantError, Tensor } from '@quint/tensor';
import {
  ENGINES,
  QTensor,
  chooseQuantizationParams,
  quantizePerTensor,
  prepareGemmRequantization,
  requantizePreRound,
  type Engine,
  type GemmRequantization,
  type KernelOptions,
  type LinearDynamicOptions,
  type OpName,
  type OutQparams,
  type PerTensorQparams,
  type TraceOptions,
} from '@quint/qtensor';
import { CONV_DESC_BYTES, type KernelExport, type KernelsAbi } from './abi.js';
import { INT32_MAX, type WasmPackedConv2d, type WasmPackedLinear, type WasmWeights, type WeightChannels } from './prepack.js';

/** One kernel call a lane runs: a raw export and its i32 arguments. */
export type Task = readonly [KernelExport, readonly number[]];

/** Runs lanes of tasks: lane 0 on the calling thread, the others on workers when there are any. */
export interface Runner {
  /** How many lanes run at once (1 without threads). */
  readonly lanes: number;
  run(lanes: readonly (readonly Task[])[]): void;
}

// Below ~2 M multiply-accumulates a call takes < 100 µs, and waking workers would cost more than
// they save: such calls run on one lane.
const MIN_MACS_PER_LANE = 1 << 20;

function lanesFor(runner: Runner, macs: number): number {
  return Math.max(1, Math.min(runner.lanes, Math.floor(macs / MIN_MACS_PER_LANE)));
}

/** The engines whose conv/linear requantization the wasm kernels implement (fbgemm experimental). */
export const WASM_GEMM_ENGINES: readonly Engine[] = ['qnnpack', 'onednn', 'ort', 'fbgemm'];

/** Per-backend state the engine choice needs: the one-time fbgemm warning. */
export interface EngineContext {
  readonly warnFbgemm: () => void;
}

function resolveEngine(op: OpName, opts: KernelOptions | undefined, ctx: EngineContext): Engine {
  const engine = opts?.engine ?? 'qnnpack';
  if (!ENGINES.includes(engine)) {
    throw new QuantError('INVALID_ARGUMENT', `${op}: unknown engine '${String(engine)}'; use one of ${ENGINES.join(', ')}.`);
  }
  if (!WASM_GEMM_ENGINES.includes(engine)) {
    throw new QuantError(
      'UNSUPPORTED_OP',
      `${op}: engine ${engine} has no wasm kernel; use engine ${WASM_GEMM_ENGINES.join('/')} or createJsBackend() from @quint/kernels-js.`,
    );
  }
  if (engine === 'fbgemm') ctx.warnFbgemm();
  return engine;
}

function checkActivation(op: OpName, x: QTensor, rank: number | null): PerTensorQparams {
  if (!(x instanceof QTensor)) {
    throw new QuantError('INVALID_ARGUMENT', `${op}: input is not a QTensor; quantize it first (quantizePerTensor).`);
  }
  if (x.dtype !== 'quint8') {
    throw new QuantError('DTYPE_MISMATCH', `${op}: input dtype is ${x.dtype}; conv/linear take quint8 activations (PyTorch's qnnpack and onednn kernels do), requantize to quint8.`);
  }
  if (x.isPerChannel()) {
    throw new QuantError('INVALID_QPARAMS', `${op}: input is ${x.qparams.qscheme}; activations must be quantized per tensor.`);
  }
  if (rank !== null ? x.ndim !== rank : x.ndim < 1) {
    throw new QuantError(
      'SHAPE_MISMATCH',
      `${op}: input shape [${x.shape.join(', ')}] has rank ${x.ndim}; pass a ${rank !== null ? `${rank}-D (NCHW)` : 'rank ≥ 1'} tensor.`,
    );
  }
  if (x.numel === 0) {
    throw new QuantError('EMPTY_TENSOR', `${op}: input of shape [${x.shape.join(', ')}] is empty; pass at least one element.`);
  }
  return x.qparams as PerTensorQparams;
}

function checkOut(op: OpName, out: OutQparams): { scale: number; zeroPoint: number } {
  if (out === undefined || out === null || typeof out !== 'object') {
    throw new QuantError('INVALID_ARGUMENT', `${op}: output qparams are missing; pass { scale, zeroPoint }.`);
  }
  const dtype = out.dtype ?? 'quint8';
  if (dtype !== 'quint8') {
    throw new QuantError('DTYPE_MISMATCH', `${op}: output dtype ${dtype} is not supported; conv/linear produce quint8.`);
  }
  const s = Math.fround(out.scale);
  if (!(out.scale > 0) || !Number.isFinite(out.scale) || !(s > 0) || !Number.isFinite(s)) {
    throw new QuantError('INVALID_QPARAMS', `${op}: output scale ${out.scale} must be a positive finite float32; pass a scale > 0.`);
  }
  if (!Number.isInteger(out.zeroPoint) || out.zeroPoint < 0 || out.zeroPoint > 255) {
    throw new QuantError('INVALID_QPARAMS', `${op}: output zero point ${out.zeroPoint} is outside [0, 255]; pass an integer in [0, 255].`);
  }
  return { scale: out.scale, zeroPoint: out.zeroPoint };
}

// The per-call requantization and the exact overflow bound of @quint/kernels-js (gemm-common.ts
// `callRequantization`): Σ_k |w_q − w_zp|·max(x_zp, 255 − x_zp) + |bias_q| ≤ 2^31 − 1 per channel.
function callRequantization(args: {
  readonly op: OpName;
  readonly engine: Engine;
  readonly input: PerTensorQparams;
  readonly weight: WeightChannels;
  readonly bias: Float32Array | null;
  readonly out: { scale: number; zeroPoint: number };
  readonly relu: boolean;
  readonly layer: string;
}): GemmRequantization {
  const { op, engine, weight: w } = args;
  if (engine === 'onednn' && !w.symmetric) {
    throw new QuantError(
      'UNSUPPORTED_OP',
      `${op}: engine onednn needs weight zero points 0 (PyTorch: "ONEDNN only supports symmetric quantization of weight"), ${args.layer} has [${Array.from(w.zeroPoints).slice(0, 4).join(', ')}${w.outChannels > 4 ? ', …' : ''}]; quantize the weight symmetrically or use engine qnnpack.`,
    );
  }
  const rq = prepareGemmRequantization(engine, {
    inputScale: args.input.scale,
    weightScales: w.scales,
    perChannel: w.perChannel,
    outputScale: args.out.scale,
    outputZeroPoint: args.out.zeroPoint,
    outputDtype: 'quint8',
    bias: args.bias,
    relu: args.relu,
  });
  const xSpan = Math.max(args.input.zeroPoint, 255 - args.input.zeroPoint);
  for (let c = 0; c < w.outChannels; c++) {
    const biasMag = rq.biasKind === 'int32' ? Math.abs(rq.bias[c]!) : 0;
    const bound = w.absSum[c]! * xSpan + biasMag;
    if (bound > INT32_MAX) {
      throw new QuantError(
        'OVERFLOW',
        `${op}: the int32 accumulator of ${args.layer}, output channel ${c}, can reach ${bound} > 2^31−1 with input (scale ${args.input.scale}, zero point ${args.input.zeroPoint}) on engine ${engine}; use a larger input scale, a smaller bias, or split the layer.`,
      );
    }
  }
  return rq;
}

/**
 * The call's requantization, from the packed weight's cache when the engine, ReLU and qparams repeat;
 * otherwise computed (with the overflow check) and its per-channel bias and multipliers written to the
 * weight's wasm buffers.
 */
function cachedRequantization(
  abi: KernelsAbi,
  packed: WasmWeights,
  args: Parameters<typeof callRequantization>[0],
): GemmRequantization {
  const key = `${args.engine}|${args.relu}|${args.input.scale}|${args.input.zeroPoint}|${args.out.scale}|${args.out.zeroPoint}`;
  if (packed.cache?.key === key) return packed.cache.rq;
  const rq = callRequantization(args);
  const n = rq.multipliers.length;
  abi.heap.f32(packed.mult, n).set(rq.multipliers);
  if (rq.bias instanceof Int32Array) abi.heap.i32(packed.bias, n).set(rq.bias);
  else abi.heap.f32(packed.bias, n).set(rq.bias);
  packed.cache = { key, rq };
  return rq;
}

function checkLive(op: OpName, packed: { ptr: number }): void {
  if (packed.ptr === 0) {
    throw new QuantError('INVALID_ARGUMENT', `${op}: the packed weight was freed by dispose(); prepack it again on a live backend.`);
  }
}

/** The vectorized requantization, with the per-channel values already in the weight's buffers. */
function requantize(
  abi: KernelsAbi,
  rq: GemmRequantization,
  buf: { bias: number; mult: number },
  acc: number,
  out: number,
  shape: { rows: number; cols: number; perRow: boolean },
): void {
  const common = {
    acc,
    bias: buf.bias,
    mult: buf.mult,
    out,
    rows: shape.rows,
    cols: shape.cols,
    perRow: shape.perRow,
    zeroPoint: rq.outputZeroPoint,
    lo: rq.range.lo,
    hi: rq.range.hi,
    signedOut: false,
  };
  if (rq.engine === 'onednn' || rq.engine === 'fbgemm') abi.requantFbias({ ...common, zeroPointBeforeRounding: rq.engine === 'onednn' });
  else abi.requantFp32({ ...common, qnnpackSaturation: rq.engine === 'qnnpack' });
}

function traceTargets(op: OpName, trace: TraceOptions, numel: number): number[] {
  const index = trace.index ?? 0;
  if (index === 'all') return Array.from({ length: numel }, (_, i) => i);
  if (!Number.isInteger(index) || index < 0 || index >= numel) {
    throw new QuantError('INVALID_ARGUMENT', `${op}: trace index ${index} is outside the output (${numel} elements); pass 0..${numel - 1} or 'all'.`);
  }
  return [index];
}

function emitTrace(args: {
  readonly op: OpName;
  readonly trace: TraceOptions;
  readonly rq: GemmRequantization;
  readonly input: PerTensorQparams;
  readonly weight: WeightChannels;
  readonly acc: Int32Array;
  readonly y: Uint8Array;
  /** Channel and the codes feeding output element `index`, in the reference's reduction order. */
  readonly operands: (index: number) => { channel: number; inputCodes: number[]; weightCodes: number[] };
}): void {
  const { rq, weight: w } = args;
  for (const index of traceTargets(args.op, args.trace, args.y.length)) {
    const { channel: c, inputCodes, weightCodes } = args.operands(index);
    const extra: Record<string, number> = {};
    if (rq.engine === 'onednn') extra['biasScale'] = rq.biasScales![c]!;
    if (rq.engine === 'fbgemm') extra['actTimesWScale'] = rq.biasScales![c]!;
    args.trace.sink({
      kind: 'gemm',
      op: args.op,
      engine: rq.engine,
      index,
      channel: c,
      input: { codes: inputCodes, zeroPoint: args.input.zeroPoint, scale: args.input.scale },
      weight: { codes: weightCodes, zeroPoint: w.zeroPoints[c]!, scale: w.scales[c]! },
      acc: args.acc[index]!,
      biasKind: rq.biasKind,
      bias: rq.biasKind === 'none' ? 0 : rq.bias[c]!,
      multiplier: rq.multipliers[c]!,
      extra,
      preRound: requantizePreRound(rq, args.acc[index]!, c),
      output: args.y[index]!,
    });
  }
}

// Rows of A per GEMM call: 64 rows of K ≤ 1024 int16 (128 KiB) stay in L2 while B panels stream.
const ROW_BLOCK = 64;

/** Bytes of the packed activation and the packing row for `m` rows against `w`. */
function linearScratch(m: number, w: WasmPackedLinear): [number, number] {
  const kp = w.packed.kp;
  return [m === 1 ? kp * 2 : Math.ceil(m / 4) * kp * 8, (kp + 8) * 2];
}

/**
 * int32 accumulators `acc[r, f]` of `m` rows of quint8 codes at `x` (row stride K) against `w`: the
 * activation is widened to int16 `x − zp` (GEMV: one row; otherwise 4-row groups), then threads split
 * the output features into panel-aligned ranges, every lane reading all of A.
 */
function linearAccumulators(
  abi: KernelsAbi,
  runner: Runner,
  a: { x: number; a: number; tmp: number; acc: number; m: number; zeroPoint: number; w: WasmPackedLinear },
): void {
  const { m, w } = a;
  const k = w.inFeatures;
  const n = w.channels.outChannels;
  const kp = w.packed.kp;
  const gemv = m === 1;
  if (gemv) abi.widenRows({ x: a.x, xStride: k, rows: 1, k, zeroPoint: a.zeroPoint, signed: false, out: a.a, kp });
  else abi.packA4({ x: a.x, xStride: k, rows: m, k, zeroPoint: a.zeroPoint, signed: false, out: a.a, kp, tmp: a.tmp });
  const lanes = splitRange(Math.ceil(n / 8), lanesFor(runner, m * n * k)).map(([p0, p1]): Task[] => {
    const n0 = p0 * 8;
    const n1 = Math.min(p1 * 8, n);
    if (n0 >= n1) return [];
    if (gemv) return [['qs16_gemv_1x16__wasmsimd', [a.a, w.packed.ptr, a.acc, n0, n1, kp]]];
    const tasks: Task[] = [];
    for (let r = 0; r < m; r += ROW_BLOCK) {
      const rows = Math.min(ROW_BLOCK, m - r);
      tasks.push(['qs16_gemm_4x8__wasmsimd', [a.a + (r / 4) * kp * 8, w.packed.ptr, a.acc + r * n * 4, n * 4, rows, n0, n1, kp]]);
    }
    return tasks;
  });
  runner.run(lanes);
}

/**
 * `quantized::linear_dynamic` on engine qnnpack (spec §5.10), as @quint/kernels-js computes it: the
 * activation quantized per call with `ChooseQuantizationParams(min, max, 0, 255)` (qnnpack ignores
 * reduce_range), int32 accumulators on the wasm GEMM, then `f32(f32(f32(w_s)·f32(x_s))·f32(acc)) + b`.
 */
export function linearDynamic(abi: KernelsAbi, runner: Runner, ctx: EngineContext, x: Tensor, w: WasmPackedLinear, opts: LinearDynamicOptions | undefined): Tensor {
  const op: OpName = 'linearDynamic';
  const engine = resolveEngine(op, opts, ctx);
  if (engine !== 'qnnpack') {
    throw new QuantError(
      'UNSUPPORTED_OP',
      `${op}: engine ${engine} is not reproduced bit for bit (spec §5.10 determines only qnnpack's dynamic linear); use engine qnnpack.`,
    );
  }
  if (!(x instanceof Tensor)) {
    throw new QuantError('INVALID_ARGUMENT', `${op}: input must be a float Tensor (dynamic quantization quantizes it per call).`);
  }
  if (x.ndim < 1 || x.numel === 0) {
    throw new QuantError('EMPTY_TENSOR', `${op}: input of shape [${x.shape.join(', ')}] is empty; pass at least one element.`);
  }
  const k = x.shape[x.shape.length - 1]!;
  if (k !== w.inFeatures) {
    throw new QuantError(
      'SHAPE_MISMATCH',
      `${op}: input [${x.shape.join(', ')}] has ${k} features in its last dim, the weight expects ${w.inFeatures}; pass [..., ${w.inFeatures}].`,
    );
  }
  checkLive(op, w.packed);
  const xf = x.toFloat32Array();
  let mn = Infinity;
  let mx = -Infinity;
  for (let i = 0; i < xf.length; i++) {
    const v = xf[i]!;
    if (!Number.isFinite(v)) throw new QuantError('NON_FINITE', `${op}: input element ${i} is ${v}; dynamic quantization needs finite inputs.`);
    if (v < mn) mn = v;
    if (v > mx) mx = v;
  }
  const qp = chooseQuantizationParams({ min: mn, max: mx, qmin: 0, qmax: 255, reduceRange: false });
  const xq = quantizePerTensor(x, qp.scale, qp.zeroPoint, 'quint8');
  const m = xf.length / k;
  const n = w.channels.outChannels;
  const heap = abi.heap;
  const [xp, ap, tmp, acc] = heap.scratch([m * k + 16, ...linearScratch(m, w), m * n * 4], () => `${op} [${x.shape.join(', ')}] × [${n}, ${k}]`) as [
    number, number, number, number,
  ];
  {
    heap.u8().set(xq.data as Uint8Array, xp);
    linearAccumulators(abi, runner, { x: xp, a: ap, tmp, acc, m, zeroPoint: qp.zeroPoint, w });
    const accs = heap.i32(acc, m * n).slice();
    const f32 = Math.fround;
    const mult = new Float32Array(n);
    for (let f = 0; f < n; f++) mult[f] = f32(f32(w.channels.scales[f]!) * f32(qp.scale));
    const b = w.bias;
    const y = new Float32Array(m * n);
    for (let i = 0; i < m * n; i++) {
      const f = i % n;
      const v = f32(mult[f]! * f32(accs[i]!));
      y[i] = b === null ? v : f32(v + b[f]!);
    }
    const trace = opts?.trace;
    if (trace !== undefined) {
      for (const index of traceTargets(op, trace, y.length)) {
        const r = Math.floor(index / n);
        const f = index % n;
        trace.sink({
          kind: 'gemm',
          op,
          engine,
          index,
          channel: f,
          input: { codes: Array.from(xq.data.subarray(r * k, (r + 1) * k)), zeroPoint: qp.zeroPoint, scale: (xq.qparams as PerTensorQparams).scale },
          weight: { codes: Array.from(w.channels.codes.subarray(f * k, (f + 1) * k)), zeroPoint: w.channels.zeroPoints[f]!, scale: w.channels.scales[f]! },
          acc: accs[index]!,
          biasKind: b === null ? 'none' : 'float',
          bias: b === null ? 0 : b[f]!,
          multiplier: mult[f]!,
          extra: {},
          preRound: y[index]!,
          output: y[index]!,
        });
      }
    }
    return new Tensor(y, [...x.shape.slice(0, -1), n]);
  }
}

/** `x · Wᵀ + b` over the last dimension, requantized per the call's engine. */
export function linear(abi: KernelsAbi, runner: Runner, ctx: EngineContext, x: QTensor, w: WasmPackedLinear, out: OutQparams, opts: KernelOptions | undefined, relu: boolean): QTensor {
  const op: OpName = relu ? 'linearRelu' : 'linear';
  const engine = resolveEngine(op, opts, ctx);
  const xq = checkActivation(op, x, null);
  const o = checkOut(op, out);
  const k = x.shape[x.shape.length - 1]!;
  if (k !== w.inFeatures) {
    throw new QuantError(
      'SHAPE_MISMATCH',
      `${op}: input [${x.shape.join(', ')}] has ${k} features in its last dim, the weight expects ${w.inFeatures}; pass [..., ${w.inFeatures}].`,
    );
  }
  checkLive(op, w.packed);
  const n = w.channels.outChannels;
  const rq = cachedRequantization(abi, w.packed, { op, engine, input: xq, weight: w.channels, bias: w.bias, out: o, relu, layer: `linear weight [${n}, ${k}]` });
  const m = x.numel / k;
  const heap = abi.heap;
  const [xp, ap, tmp, acc, yp] = heap.scratch(
    [m * k + 16, ...linearScratch(m, w), m * n * 4, m * n + 16],
    () => `${op} [${x.shape.join(', ')}] × [${n}, ${k}]`,
  ) as [number, number, number, number, number];
  {
    heap.u8().set(x.data as Uint8Array, xp);
    linearAccumulators(abi, runner, { x: xp, a: ap, tmp, acc, m, zeroPoint: xq.zeroPoint, w });
    requantize(abi, rq, w.packed, acc, yp, { rows: m, cols: n, perRow: false });
    const y = heap.u8().slice(yp, yp + m * n);
    const trace = opts?.trace;
    if (trace !== undefined) {
      const accs = heap.i32(acc, m * n).slice();
      emitTrace({
        op, trace, rq, input: xq, weight: w.channels, acc: accs, y,
        operands: (index) => {
          const r = Math.floor(index / n);
          const f = index % n;
          return {
            channel: f,
            inputCodes: Array.from(x.data.subarray(r * k, (r + 1) * k)),
            weightCodes: Array.from(w.channels.codes.subarray(f * k, (f + 1) * k)),
          };
        },
      });
    }
    return new QTensor(y, [...x.shape.slice(0, -1), n], 'quint8', { qscheme: 'per_tensor_affine', scale: o.scale, zeroPoint: o.zeroPoint });
  }
}

function outSize(inSize: number, k: number, stride: number, pad: number, dil: number): number {
  return Math.floor((inSize + 2 * pad - dil * (k - 1) - 1) / stride) + 1;
}

/** Splits [0, total) into `parts` contiguous ranges (some may be empty). */
function splitRange(total: number, parts: number): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < parts; i++) out.push([Math.floor((total * i) / parts), Math.floor((total * (i + 1)) / parts)]);
  return out;
}

// Pixels per im2col chunk: its B panels (chunk·kp·2 bytes) should sit in L2 (2 MiB here; 96 KiB
// leaves room for the weights and the other lane) while every weight row passes over them.
function chunkPixels(kp: number, pixels: number): number {
  const fit = Math.max(8, Math.floor(98304 / (kp * 2) / 8) * 8);
  return Math.min(fit, Math.ceil(pixels / 8) * 8);
}

/** NCHW conv2d, requantized per the call's engine. */
export function conv2d(abi: KernelsAbi, runner: Runner, ctx: EngineContext, x: QTensor, w: WasmPackedConv2d, out: OutQparams, opts: KernelOptions | undefined, relu: boolean): QTensor {
  const op: OpName = relu ? 'conv2dRelu' : 'conv2d';
  const engine = resolveEngine(op, opts, ctx);
  const xq = checkActivation(op, x, 4);
  const o = checkOut(op, out);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [OC, ICG, KH, KW] = w.kernelShape;
  const G = w.groups;
  if (C !== ICG * G) {
    throw new QuantError(
      'SHAPE_MISMATCH',
      `${op}: input has ${C} channels, the weight [${w.kernelShape.join(', ')}] with groups ${G} expects ${ICG * G}; pass an input with ${ICG * G} channels.`,
    );
  }
  const [sh, sw] = w.stride;
  const [ph, pw] = w.padding;
  const [dh, dw] = w.dilation;
  const OH = outSize(H, KH, sh, ph, dh);
  const OW = outSize(W, KW, sw, pw, dw);
  if (OH < 1 || OW < 1) {
    throw new QuantError(
      'SHAPE_MISMATCH',
      `${op}: input [${x.shape.join(', ')}] is smaller than the dilated kernel (${KH}×${KW}, dilation ${dh}×${dw}, padding ${ph}×${pw}): output would be ${OH}×${OW}; pass a larger input or more padding.`,
    );
  }
  checkLive(op, w.packed);
  const rq = cachedRequantization(abi, w.packed, { op, engine, input: xq, weight: w.channels, bias: w.bias, out: o, relu, layer: `conv2d weight [${w.kernelShape.join(', ')}]` });
  const OCG = OC / G;
  const P = OH * OW;
  const kp = w.packed.kp;
  const lanes = lanesFor(runner, N * OC * P * ICG * KH * KW);
  const chunk = chunkPixels(kp, P);
  // Per-lane scratch: im2col panels and two rows (GEMM path), or one padded plane (depthwise).
  const laneScratch = w.depthwise ? ((H + 2 * ph) * (W + 2 * pw) + 16) * 2 : chunk * kp * 2 + 2 * (chunk + 8) * 2;
  const heap = abi.heap;
  const sizes = [CONV_DESC_BYTES, N * C * H * W + 16, N * OC * P * 4, N * OC * P + 16];
  for (let l = 0; l < lanes; l++) sizes.push(laneScratch);
  const ptrs = heap.scratch(sizes, () => `${op} [${x.shape.join(', ')}] * [${w.kernelShape.join(', ')}]`);
  const [desc, xp, acc, yp] = ptrs as [number, number, number, number];
  const scratch = ptrs.slice(4);
  {
    heap.u8().set(x.data as Uint8Array, xp);
    abi.writeConvDesc(desc, {
      cin: ICG, ih: H, iw: W, kh: KH, kw: KW, sh, sw, ph, pw, dh, dw, oh: OH, ow: OW,
      xZeroPoint: xq.zeroPoint, signed: false, kp, cout: OCG, multiplier: OCG,
    });
    const laneTasks: Task[][] = Array.from({ length: lanes }, () => []);
    if (w.depthwise) {
      // Each lane takes a range of output channels of every image.
      const ranges = splitRange(OC, lanes);
      for (let img = 0; img < N; img++) {
        ranges.forEach(([c0, c1], l) => {
          if (c0 < c1) {
            laneTasks[l]!.push([
              'qs8_dwconv2d_acc__wasmsimd',
              abi.dwconv2dAccArgs({ desc, x: xp + img * C * H * W, w: w.packed.ptr, acc: acc + img * OC * P * 4, c0, c1, pad: scratch[l]! }),
            ]);
          }
        });
      }
    } else {
      // Each lane takes a chunk-aligned range of output pixels of every image and group.
      const chunks = Math.ceil(P / chunk);
      const ranges = splitRange(chunks, lanes);
      for (let img = 0; img < N; img++) {
        for (let g = 0; g < G; g++) {
          ranges.forEach(([q0, q1], l) => {
            const p0 = q0 * chunk;
            const p1 = Math.min(q1 * chunk, P);
            if (p0 >= p1) return;
            const s = scratch[l]!;
            laneTasks[l]!.push([
              'qs8_conv2d_acc__wasmsimd',
              abi.conv2dAccArgs({
                desc,
                x: xp + (img * C + g * ICG) * H * W,
                w: w.packed.ptr + g * w.groupBytes,
                acc: acc + (img * OC + g * OCG) * P * 4,
                p0,
                p1,
                chunk,
                panels: s,
                tmp: s + chunk * kp * 2,
              }),
            ]);
          });
        }
      }
    }
    runner.run(laneTasks);
    for (let img = 0; img < N; img++) {
      requantize(abi, rq, w.packed, acc + img * OC * P * 4, yp + img * OC * P, { rows: OC, cols: P, perRow: true });
    }
    const y = heap.u8().slice(yp, yp + N * OC * P);
    const trace = opts?.trace;
    if (trace !== undefined) {
      const accs = heap.i32(acc, N * OC * P).slice();
      const xd = x.data;
      const wd = w.channels.codes;
      emitTrace({
        op, trace, rq, input: xq, weight: w.channels, acc: accs, y,
        operands: (index) => {
          const ow = index % OW;
          const oh = Math.floor(index / OW) % OH;
          const oc = Math.floor(index / P) % OC;
          const n = Math.floor(index / (P * OC));
          const g = Math.floor(oc / OCG);
          const inputCodes: number[] = [];
          const weightCodes: number[] = [];
          for (let icg = 0; icg < ICG; icg++) {
            for (let kh = 0; kh < KH; kh++) {
              for (let kw = 0; kw < KW; kw++) {
                const ih = oh * sh - ph + kh * dh;
                const iw = ow * sw - pw + kw * dw;
                const inside = ih >= 0 && ih < H && iw >= 0 && iw < W;
                inputCodes.push(inside ? xd[((n * C + g * ICG + icg) * H + ih) * W + iw]! : xq.zeroPoint);
                weightCodes.push(wd[((oc * ICG + icg) * KH + kh) * KW + kw]!);
              }
            }
          }
          return { channel: oc, inputCodes, weightCodes };
        },
      });
    }
    return new QTensor(y, [N, OC, OH, OW], 'quint8', { qscheme: 'per_tensor_affine', scale: o.scale, zeroPoint: o.zeroPoint });
  }
}
