// quantized::linear / conv2d (+ relu) on the wasm kernels: exact int32 accumulators from the SIMD
// micro-kernels, then each engine's requantization, vectorized, with the float steps of
// @quint/qtensor's requantize.ts (spec pytorch-semantics.md §5.2, onnx-ort-and-peers.md §1.3).
import { QuantError, type Tensor } from '@quint/tensor';
import {
  QTensor,
  checkGemmActivation,
  checkGemmOutQparams,
  checkInFeatures,
  checkLinearDynamicInput,
  conv2dGeometry,
  conv2dTraceOperands,
  emitGemmTrace,
  gemmCallRequantization,
  linearDynamicOutput,
  linearTraceOperands,
  quantizeDynamicInput,
  resolveEngine as resolveAnyEngine,
  type Engine,
  type EngineContext,
  type GemmRequantization,
  type KernelOptions,
  type LinearDynamicOptions,
  type OpName,
  type OutQparams,
  type PerTensorQparams,
} from '@quint/qtensor';
import { CONV_DESC_BYTES, type KernelsAbi } from './abi.js';
import { int8Panels, type WasmPackedConv2d, type WasmPackedLinear, type WasmWeights } from './prepack.js';
import type { Call, Runner, Serial, Unit } from './threads.js';

// Below ~2 M multiply-accumulates a call takes < 100 µs, and waking workers would cost more than
// they save: such calls run on one lane.
const MIN_MACS_PER_LANE = 1 << 20;

function lanesFor(runner: Runner, macs: number): number {
  return Math.max(1, Math.min(runner.lanes, Math.floor(macs / MIN_MACS_PER_LANE)));
}

// A depthwise multiply-accumulate takes about 5 of the GEMM's (dw3x3_128_56 at 9 GMAC/s on one
// thread, conv3x3_64_56 at 46), so it counts 4 towards the thresholds above and below: MobileNetV2's
// 14×14 depthwise layers (1.35 M MACs, 0.15–0.2 ms) then run on 2 lanes instead of one.
const DEPTHWISE_COST = 4;

// Work units per lane: lanes claim units as they finish, so a lane on a busier core or a late
// worker takes fewer; units stay ≥ 2^18 MACs (tens of µs; the tail pieces below about a quarter) so
// claiming costs nothing noticeable.
const UNITS_PER_LANE = 16;

function unitCount(lanes: number, blocks: number, macs: number): number {
  if (lanes === 1) return 1;
  return Math.max(1, Math.min(blocks, lanes * UNITS_PER_LANE, Math.floor(macs / (1 << 18))));
}

// The last TAIL_UNITS_PER_LANE × lanes units of a threaded run are each cut into TAIL_PIECES: a
// run ends when its last unit does, and lanes that start their last units at different moments
// then finish within a piece of each other rather than a whole unit (measured: the caller waited
// 50–100 µs per call for the worker's last unit on conv3x3_64_56 and mm_64x1024x1024).
const TAIL_UNITS_PER_LANE = 2;
const TAIL_PIECES = 4;

/** `blocks` in claim order, the last ones of a threaded run cut by `cut` into {@link TAIL_PIECES}. */
function refineTail<T>(blocks: readonly T[], lanes: number, cut: (block: T, pieces: number) => T[]): readonly T[] {
  if (lanes === 1) return blocks;
  const head = Math.max(0, blocks.length - TAIL_UNITS_PER_LANE * lanes);
  return [...blocks.slice(0, head), ...blocks.slice(head).flatMap((b) => cut(b, TAIL_PIECES))];
}

/** Splits [lo, hi) into at most `parts` non-empty ranges whose inner bounds are multiples of `align` from lo. */
function splitAligned(lo: number, hi: number, parts: number, align: number): [number, number][] {
  const steps = Math.ceil((hi - lo) / align);
  return splitRange(steps, Math.min(parts, steps)).map(([a, b]) => [lo + a * align, Math.min(lo + b * align, hi)]);
}

/** The engines whose conv/linear requantization the wasm kernels implement (fbgemm experimental). */
export const WASM_GEMM_ENGINES: readonly Engine[] = ['qnnpack', 'onednn', 'ort', 'fbgemm'];

// The engine checks of @quint/qtensor, then this backend's own list (every engine today; a new
// engine gets a wasm kernel before it is claimed here).
function resolveEngine(op: OpName, opts: KernelOptions | undefined, ctx: EngineContext): Engine {
  const engine = resolveAnyEngine(op, opts, ctx);
  if (!WASM_GEMM_ENGINES.includes(engine)) {
    throw new QuantError(
      'UNSUPPORTED_OP',
      `${op}: engine ${engine} has no wasm kernel; use engine ${WASM_GEMM_ENGINES.join('/')} or createJsBackend() from @quint/kernels-js.`,
    );
  }
  return engine;
}

/**
 * The call's requantization, from the packed weight's cache when the engine, ReLU and qparams repeat
 * (compared field by field, and the layer name built only on a miss: small calls such as batch-1
 * GEMV feel every microsecond); otherwise computed (with the overflow check) and its per-channel
 * bias and multipliers written to the weight's wasm buffers.
 */
function cachedRequantization(
  abi: KernelsAbi,
  packed: WasmWeights,
  args: Omit<Parameters<typeof gemmCallRequantization>[0], 'layer'>,
  layer: () => string,
): GemmRequantization {
  const key = [
    args.engine,
    args.relu,
    args.input.scale,
    args.input.zeroPoint,
    args.out.scale,
    args.out.zeroPoint,
  ] as const;
  const hit = packed.cache;
  if (hit && key.every((v, i) => Object.is(v, hit.key[i]))) return hit.rq;
  const rq = gemmCallRequantization({ ...args, layer: layer() });
  const n = rq.multipliers.length;
  abi.heap.f32(packed.mult, n).set(rq.multipliers);
  if (rq.bias instanceof Int32Array) abi.heap.i32(packed.bias, n).set(rq.bias);
  else abi.heap.f32(packed.bias, n).set(rq.bias);
  packed.cache = { key, rq };
  return rq;
}

function checkLive(op: OpName, packed: { ptr: number }): void {
  if (packed.ptr === 0) {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `${op}: the packed weight was freed by dispose(); prepack it again on a live backend.`,
    );
  }
}

/**
 * The vectorized requantization of a block of `rows × cols` accumulators (rows `stride` apart), as a
 * call, with the per-channel values already in the weight's buffers; `channel0` is the block's
 * first channel (row for conv, column for linear).
 */
function requantCall(
  abi: KernelsAbi,
  rq: GemmRequantization,
  buf: { bias: number; mult: number },
  acc: number,
  out: number,
  shape: { rows: number; cols: number; stride: number; perRow: boolean; channel0: number },
): Call {
  const fbias = rq.engine === 'onednn' || rq.engine === 'fbgemm';
  // One object literal per flavour (no spread): small calls such as batch-1 GEMV feel its cost.
  const args = {
    acc,
    bias: buf.bias + shape.channel0 * 4,
    mult: buf.mult + shape.channel0 * 4,
    out,
    rows: shape.rows,
    cols: shape.cols,
    stride: shape.stride,
    perRow: shape.perRow,
    zeroPoint: rq.outputZeroPoint,
    lo: rq.range.lo,
    hi: rq.range.hi,
    signedOut: false,
    zeroPointBeforeRounding: rq.engine === 'onednn',
    qnnpackSaturation: rq.engine === 'qnnpack',
  };
  return fbias
    ? ['q8_requant_minmax_fbias__wasmsimd', abi.requantFbiasArgs(args)]
    : ['q8_requant_minmax_fp32__wasmsimd', abi.requantFp32Args(args)];
}

/** `build()`, or the weight's last units when `key` equals the last call's value by value. */
function cachedUnits(packed: WasmWeights, key: readonly unknown[], build: () => Unit[]): readonly Unit[] {
  const hit = packed.units;
  if (hit && key.length === hit.key.length && key.every((v, i) => v === hit.key[i])) return hit.units;
  const units = build();
  packed.units = { key, units };
  return units;
}

/**
 * A new `n`-byte result array, allocated as the `serial` work of {@link Runner.run}. On a run of
 * several lanes its pages are written at once, while the workers compute: a fresh buffer of a few
 * hundred KB page-faults on its first write (in Node, glibc maps it anew each time; about 0.2 ms
 * per 200 KB measured under this machine's hypervisor), which would otherwise add serial time to
 * every call. On one lane the copy-out's own writes fault them in, and a second pass would only cost.
 */
function resultBytes(n: number, lanes: number): Uint8Array<ArrayBuffer> {
  const y = new Uint8Array(n);
  return lanes > 1 ? y.fill(0) : y;
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
 * activation is widened to int16 `x − zp` (GEMV: one row; otherwise 4-row groups), then work units
 * take blocks of rows × output features. With `requant`, each unit then requantizes its own block
 * into `requant.out`.
 */
function linearAccumulators(
  abi: KernelsAbi,
  runner: Runner,
  a: {
    x: number;
    a: number;
    tmp: number;
    acc: number;
    m: number;
    zeroPoint: number;
    w: WasmPackedLinear;
    requant?: { rq: GemmRequantization; out: number };
  },
  serial?: Serial,
): void {
  const { m, w } = a;
  const k = w.inFeatures;
  const n = w.channels.outChannels;
  const kp = w.packed.kp;
  const gemv = m === 1;
  const b8 = gemv ? int8Panels(abi, w.packed) : 0;
  if (gemv) abi.widenRows({ x: a.x, xStride: k, rows: 1, k, zeroPoint: a.zeroPoint, signed: false, out: a.a, kp });
  else abi.packA4({ x: a.x, xStride: k, rows: m, k, zeroPoint: a.zeroPoint, signed: false, out: a.a, kp, tmp: a.tmp });
  // A unit is a range of row blocks (64 rows; the GEMV has one row) times a range of column
  // blocks: 16 columns for the GEMV, 64 for the GEMM, so a GEMM unit writes whole 64-byte lines of
  // its output rows and two lanes never write one cache line (units of one 8-column panel had the
  // lanes fighting over every line: 2 threads ran at half the speed of one on 256×256×256).
  const lanes = lanesFor(runner, m * n * k);
  const build = (): Unit[] => {
    const block = gemv ? 16 : 64;
    const rowBlocks = Math.ceil(m / ROW_BLOCK);
    const colBlocks = Math.ceil(n / block);
    const parts = unitCount(lanes, rowBlocks * colBlocks, m * n * k);
    const colParts = Math.min(colBlocks, Math.ceil(parts / rowBlocks));
    const rowParts = Math.min(rowBlocks, Math.ceil(parts / colParts));
    const blocks: { r0: number; r1: number; n0: number; n1: number }[] = [];
    for (const [rb0, rb1] of splitRange(rowBlocks, rowParts)) {
      for (const [cb0, cb1] of splitRange(colBlocks, colParts)) {
        blocks.push({
          r0: rb0 * ROW_BLOCK,
          r1: Math.min(rb1 * ROW_BLOCK, m),
          n0: cb0 * block,
          n1: Math.min(cb1 * block, n),
        });
      }
    }
    // Tail blocks are cut by rows, on the 4-row groups of the packed activation, so each piece
    // still writes whole 64-byte lines of its own rows; the GEMV's by columns, 16 at a time.
    const cut = (b: (typeof blocks)[number], pieces: number) =>
      gemv
        ? splitAligned(b.n0, b.n1, pieces, 16).map(([n0, n1]) => ({ ...b, n0, n1 }))
        : splitAligned(b.r0, b.r1, pieces, 4).map(([r0, r1]) => ({ ...b, r0, r1 }));
    return refineTail(blocks, lanes, cut).map(({ r0, r1, n0, n1 }): Unit => {
      const calls: Call[] = [];
      if (b8 !== 0) calls.push(['qs8_gemv_1x16__wasmsimd', [a.a, b8, a.acc, n0, n1, kp]]);
      else if (gemv) calls.push(['qs16_gemv_1x16__wasmsimd', [a.a, w.packed.ptr, a.acc, n0, n1, kp]]);
      else {
        for (let r = r0; r < r1; r += ROW_BLOCK) {
          const rows = Math.min(ROW_BLOCK, r1 - r);
          calls.push([
            'qs16_gemm_4x8__wasmsimd',
            [a.a + (r / 4) * kp * 8, w.packed.ptr, a.acc + r * n * 4, n * 4, rows, n0, n1, kp],
          ]);
        }
      }
      if (a.requant) {
        const shape = { rows: r1 - r0, cols: n1 - n0, stride: n, perRow: false, channel0: n0 };
        calls.push(
          requantCall(abi, a.requant.rq, w.packed, a.acc + (r0 * n + n0) * 4, a.requant.out + r0 * n + n0, shape),
        );
      }
      return calls;
    });
  };
  const units = cachedUnits(w.packed, [m, lanes, a.a, a.acc, b8, a.requant?.rq, a.requant?.out], build);
  runner.run(units, lanes, [], serial);
}

/** The engines of the wasm `linearDynamic` (PyTorch's; ORT's dynamic path is MatMulInteger, not this op). */
export const WASM_LINEAR_DYNAMIC_ENGINES: readonly Engine[] = ['qnnpack', 'onednn'];

/**
 * `quantized::linear_dynamic` (spec §5.10, docs/numerics.md), as @quint/kernels-js computes it with
 * @quint/qtensor's shared steps: the activation quantized per call (qnnpack: `quantize_per_tensor`
 * with `ChooseQuantizationParams(min, max, 0, 255)`, reduce_range ignored; onednn: oneDNN's reorder,
 * reduce_range honoured), int32 accumulators on the wasm GEMM, then each engine's float output.
 */
export function linearDynamic(
  abi: KernelsAbi,
  runner: Runner,
  ctx: EngineContext,
  x: Tensor,
  w: WasmPackedLinear,
  opts: LinearDynamicOptions | undefined,
): Tensor {
  const op: OpName = 'linearDynamic';
  const engine = resolveEngine(op, opts, ctx);
  const k = checkLinearDynamicInput(op, engine, x, w.inFeatures, WASM_LINEAR_DYNAMIC_ENGINES);
  checkLive(op, w.packed);
  const xq = quantizeDynamicInput(op, x, engine, opts?.reduceRange ?? true);
  const m = x.numel / k;
  const n = w.channels.outChannels;
  const heap = abi.heap;
  const [xp, ap, tmp, acc] = heap.scratch(
    [m * k + 16, ...linearScratch(m, w), m * n * 4],
    () => `${op} [${x.shape.join(', ')}] × [${n}, ${k}]`,
  ) as [number, number, number, number];
  heap.u8().set(xq.data as Uint8Array, xp);
  linearAccumulators(abi, runner, {
    x: xp,
    a: ap,
    tmp,
    acc,
    m,
    zeroPoint: (xq.qparams as PerTensorQparams).zeroPoint,
    w,
  });
  const accs = heap.i32(acc, m * n).slice();
  return linearDynamicOutput({
    op,
    engine,
    x,
    xq,
    weight: w.channels,
    bias: w.bias,
    opts,
    acc: (index) => accs[index]!,
  });
}

/** `x · Wᵀ + b` over the last dimension, requantized per the call's engine. */
export function linear(
  abi: KernelsAbi,
  runner: Runner,
  ctx: EngineContext,
  x: QTensor,
  w: WasmPackedLinear,
  out: OutQparams,
  opts: KernelOptions | undefined,
  relu: boolean,
): QTensor {
  const op: OpName = relu ? 'linearRelu' : 'linear';
  const engine = resolveEngine(op, opts, ctx);
  const xq = checkGemmActivation(op, x, null);
  const o = checkGemmOutQparams(op, out);
  const k = checkInFeatures(op, x.shape, w.inFeatures);
  checkLive(op, w.packed);
  const n = w.channels.outChannels;
  const rq = cachedRequantization(
    abi,
    w.packed,
    { op, engine, input: xq, weight: w.channels, bias: w.bias, out: o, relu },
    () => `linear weight [${n}, ${k}]`,
  );
  const m = x.numel / k;
  const heap = abi.heap;
  const [xp, ap, tmp, acc, yp] = heap.scratch(
    [m * k + 16, ...linearScratch(m, w), m * n * 4, m * n + 16],
    () => `${op} [${x.shape.join(', ')}] × [${n}, ${k}]`,
  ) as [number, number, number, number, number];
  {
    heap.u8().set(x.data as Uint8Array, xp);
    let y = new Uint8Array(0);
    linearAccumulators(
      abi,
      runner,
      { x: xp, a: ap, tmp, acc, m, zeroPoint: xq.zeroPoint, w, requant: { rq, out: yp } },
      (lanes) => (y = resultBytes(m * n, lanes)),
    );
    y.set(heap.u8().subarray(yp, yp + m * n));
    const trace = opts?.trace;
    if (trace !== undefined) {
      const accs = heap.i32(acc, m * n).slice();
      emitGemmTrace({
        op,
        trace,
        rq,
        input: xq,
        weight: w.channels,
        output: y,
        operands: (index) => ({ ...linearTraceOperands(index, n, k, x.data, w.channels.codes), acc: accs[index]! }),
      });
    }
    return new QTensor(y, [...x.shape.slice(0, -1), n], 'quint8', {
      qscheme: 'per_tensor_affine',
      scale: o.scale,
      zeroPoint: o.zeroPoint,
    });
  }
}

/** Splits [0, total) into `parts` contiguous ranges (empty ones when parts > total). */
function splitRange(total: number, parts: number): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < parts; i++) out.push([Math.floor((total * i) / parts), Math.floor((total * (i + 1)) / parts)]);
  return out;
}

// Pixels per im2col chunk: its B panels (chunk·kp·2 bytes) should sit in L2 (512 KiB to 2 MiB per
// core on the hosts measured; 96 KiB leaves room for the weights) while every weight row passes over
// them. Each panel is then reused from L1 by all row groups; 40 to 320 pixels measured the same, so
// with several lanes small images take smaller chunks, 4 per lane, but no smaller: each chunk
// streams every weight row once, so very small chunks would read the weights many times over.
// Shares are whole 16-pixel (64-byte) spans of accumulators: with 8-pixel units the two lanes
// wrote halves of the same lines in every row (a 7×7 conv of 960 to 160 channels ran at 0.95× of
// 1 lane on 2; with 16, 1.32×).
function chunkPixels(kp: number, pixels: number, lanes: number): number {
  const fit = Math.max(8, Math.floor(98304 / (kp * 2) / 8) * 8);
  const share = lanes > 1 ? Math.max(16, Math.ceil(pixels / (lanes * 4) / 16) * 16) : Infinity;
  return Math.min(fit, share, Math.ceil(pixels / 8) * 8);
}

/** NCHW conv2d, requantized per the call's engine. */
export function conv2d(
  abi: KernelsAbi,
  runner: Runner,
  ctx: EngineContext,
  x: QTensor,
  w: WasmPackedConv2d,
  out: OutQparams,
  opts: KernelOptions | undefined,
  relu: boolean,
): QTensor {
  const op: OpName = relu ? 'conv2dRelu' : 'conv2d';
  const engine = resolveEngine(op, opts, ctx);
  const xq = checkGemmActivation(op, x, 4);
  const o = checkGemmOutQparams(op, out);
  const geom = conv2dGeometry(op, x.shape, w);
  const { N, C, H, W, OC, ICG, KH, KW, G, OCG, sh, sw, ph, pw, dh, dw, OH, OW } = geom;
  checkLive(op, w.packed);
  const rq = cachedRequantization(
    abi,
    w.packed,
    { op, engine, input: xq, weight: w.channels, bias: w.bias, out: o, relu },
    () => `conv2d weight [${w.kernelShape.join(', ')}]`,
  );
  const P = OH * OW;
  const kp = w.packed.kp;
  // Work per image in GEMM multiply-accumulates, which set the lane and unit thresholds:
  // depthwise ones count DEPTHWISE_COST each.
  const workPerImage = OC * P * ICG * KH * KW * (w.depthwise ? DEPTHWISE_COST : 1);
  const lanes = lanesFor(runner, N * workPerImage);
  // Far more output channels than pixels (a late layer's 7×7 expanding to 960 channels): pixel
  // units of a panel or two would each stream every weight row, and 2 lanes ran at 0.72× of 1. Then
  // a unit is a range of output channels over all pixels instead (1.42× of 1 lane), each building
  // its own im2col panels; with fewer channels per pixel that rebuilding costs more than it saves
  // (measured 0.88–0.96× of pixel units at 3 to 10 channels per pixel).
  const byRows = lanes > 1 && !w.depthwise && G === 1 && OC >= 16 * P && OC >= lanes * 16;
  const chunk = chunkPixels(kp, P, byRows ? 1 : lanes);
  // A 1×1 conv with stride 1 and no padding (ResNet's and MobileNet's pointwise convs): its im2col
  // rows are the input planes, read as 8-bit codes (qs8_conv1x1_acc). Otherwise, stride 1 or 2
  // along x with rows of ≥ 7 pixels (so 8 pixels span at most two rows): im2col from zero-bordered
  // int16 copies of the input planes, widened once per call.
  const direct = !w.depthwise && KH === 1 && KW === 1 && sh === 1 && sw === 1 && ph === 0 && pw === 0;
  const padded = !direct && !w.depthwise && (sw === 1 || sw === 2) && OW >= 7;
  const accKernel = direct
    ? 'qs8_conv1x1_acc__wasmsimd'
    : padded
      ? 'qs16_conv2d_acc__wasmsimd'
      : 'qs8_conv2d_acc__wasmsimd';
  const planeBytes = (H + 2 * ph) * (W + 2 * pw) * 2;
  // Per-lane scratch: im2col panels plus two rows or the row-offset table (GEMM path), or one padded
  // plane (depthwise).
  const laneScratch = w.depthwise
    ? planeBytes + 64
    : chunk * kp * 2 + (padded || direct ? kp * 4 : 2 * (chunk + 8) * 2);
  const heap = abi.heap;
  const sizes = [
    CONV_DESC_BYTES,
    N * C * H * W + 16,
    N * OC * P * 4,
    N * OC * P + 16,
    padded ? N * C * planeBytes + 64 : 0,
  ];
  for (let l = 0; l < lanes; l++) sizes.push(laneScratch);
  const ptrs = heap.scratch(sizes, () => `${op} [${x.shape.join(', ')}] * [${w.kernelShape.join(', ')}]`);
  const [desc, xp, acc, yp, xpad] = ptrs as [number, number, number, number, number];
  const scratch = ptrs.slice(5);
  {
    heap.u8().set(x.data as Uint8Array, xp);
    abi.writeConvDesc(desc, {
      cin: ICG,
      ih: H,
      iw: W,
      kh: KH,
      kw: KW,
      sh,
      sw,
      ph,
      pw,
      dh,
      dw,
      oh: OH,
      ow: OW,
      xZeroPoint: xq.zeroPoint,
      signed: false,
      kp,
      multiplier: OCG,
    });
    // Depthwise: a unit is a range of output channels of one image; `pad` (argument 6) is lane
    // scratch. By rows: a range of output channels (4-row groups; at most 4 units per lane, as
    // each redoes the im2col) over all pixels of one image. Otherwise: a range of output pixels of
    // one image (chunk-aligned; tail pieces on 16-pixel, 64-byte, bounds), over every group, then
    // requantized in every channel. `panels` and `tmp` (arguments 7, 8) are lane scratch.
    const convUnits = (): Unit[] => {
      const blocks: { img: number; lo: number; hi: number }[] = [];
      const count = w.depthwise ? OC : byRows ? Math.ceil(OC / 4) : Math.ceil(P / chunk);
      const step = w.depthwise ? 1 : byRows ? 4 : chunk;
      const end = w.depthwise || byRows ? OC : P;
      const parts = byRows
        ? Math.min(unitCount(lanes, count, workPerImage), lanes * 4)
        : unitCount(lanes, count, workPerImage);
      for (let img = 0; img < N; img++) {
        for (const [q0, q1] of splitRange(count, parts)) {
          if (q0 < q1) blocks.push({ img, lo: q0 * step, hi: Math.min(q1 * step, end) });
        }
      }
      const align = w.depthwise ? 1 : byRows ? 4 : 16;
      const cut = (b: (typeof blocks)[number], pieces: number) =>
        splitAligned(b.lo, b.hi, pieces, align).map(([lo, hi]) => ({ ...b, lo, hi }));
      return refineTail(blocks, lanes, cut).map(({ img, lo, hi }): Unit => {
        if (byRows) {
          const args = abi.conv2dAccArgs({
            desc,
            x: padded ? xpad + img * C * planeBytes : xp + img * C * H * W,
            w: w.packed.ptr,
            acc: acc + img * OC * P * 4,
            p0: 0,
            p1: P,
            chunk,
            panels: 0,
            tmp: chunk * kp * 2,
            r0: lo,
            r1: hi,
          });
          return [
            [accKernel, args, (1 << 7) | (1 << 8)],
            requantCall(abi, rq, w.packed, acc + (img * OC + lo) * P * 4, yp + (img * OC + lo) * P, {
              rows: hi - lo,
              cols: P,
              stride: P,
              perRow: true,
              channel0: lo,
            }),
          ];
        }
        if (w.depthwise) {
          const accImg = acc + img * OC * P * 4;
          return [
            [
              'qs8_dwconv2d_acc__wasmsimd',
              abi.dwconv2dAccArgs({
                desc,
                x: xp + img * C * H * W,
                w: w.packed.ptr,
                acc: accImg,
                c0: lo,
                c1: hi,
                pad: 0,
              }),
              1 << 6,
            ],
            requantCall(abi, rq, w.packed, accImg + lo * P * 4, yp + img * OC * P + lo * P, {
              rows: hi - lo,
              cols: P,
              stride: P,
              perRow: true,
              channel0: lo,
            }),
          ];
        }
        const calls: Call[] = [];
        for (let g = 0; g < G; g++) {
          const plane0 = img * C + g * ICG;
          const args = abi.conv2dAccArgs({
            desc,
            x: padded ? xpad + plane0 * planeBytes : xp + plane0 * H * W,
            w: w.packed.ptr + g * w.groupBytes,
            acc: acc + (img * OC + g * OCG) * P * 4,
            p0: lo,
            p1: hi,
            chunk,
            panels: 0,
            tmp: chunk * kp * 2,
            r0: 0,
            r1: OCG,
          });
          calls.push([accKernel, args, (1 << 7) | (1 << 8)]);
        }
        const shape = { rows: OC, cols: hi - lo, stride: P, perRow: true, channel0: 0 };
        calls.push(requantCall(abi, rq, w.packed, acc + (img * OC * P + lo) * 4, yp + img * OC * P + lo, shape));
        return calls;
      });
    };
    // Planes are widened in parallel ranges when each range's writes stay inside its own planes:
    // with a top border (ph ≥ 1), or when rows (one long row without a side border) are whole
    // vectors of 8, so no store runs past a plane; the slack after the last plane is zeroed here.
    const planes = N * C;
    const inside = ph >= 1 || (pw === 0 ? H * W : W) % 8 === 0;
    const widenParts = !padded ? 0 : lanes > 1 && inside ? Math.min(planes, lanes * UNITS_PER_LANE) : 1;
    const widenUnits = (): Unit[] =>
      splitRange(planes, widenParts).map(([c0, c1]): Unit => [
        ['q8_widen_pad__wasmsimd', [desc, xp + c0 * H * W, c1 - c0, xpad + c0 * planeBytes]],
      ]);
    // One run: the widening ranges, then (after a barrier) the conv's units, built once per weight
    // and layout (building them anew made most of a threaded call's garbage).
    const units = cachedUnits(w.packed, [rq, N, H, W, lanes, desc, xp, acc, yp, xpad], () => [
      ...widenUnits(),
      ...convUnits(),
    ]);
    if (padded) heap.u8().fill(0, xpad + planes * planeBytes, xpad + planes * planeBytes + 64);
    let y = new Uint8Array(0);
    runner.run(units, lanes, scratch, (lanes) => (y = resultBytes(N * OC * P, lanes)), widenParts);
    y.set(heap.u8().subarray(yp, yp + N * OC * P));
    const trace = opts?.trace;
    if (trace !== undefined) {
      const accs = heap.i32(acc, N * OC * P).slice();
      emitGemmTrace({
        op,
        trace,
        rq,
        input: xq,
        weight: w.channels,
        output: y,
        operands: (index) => ({
          ...conv2dTraceOperands(geom, index, x.data, w.channels.codes, xq.zeroPoint),
          acc: accs[index]!,
        }),
      });
    }
    return new QTensor(y, [N, OC, OH, OW], 'quint8', {
      qscheme: 'per_tensor_affine',
      scale: o.scale,
      zeroPoint: o.zeroPoint,
    });
  }
}
