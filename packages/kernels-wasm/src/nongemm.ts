// The non-GEMM ops on the wasm kernels of assembly/nongemm.ts: quantize_per_tensor, clamps, table
// activations, add, mul, cat, pooling, mean. Checks, error codes and messages, pooling geometry, the
// inner-loop split and every float formula are @quint/qtensor's (nongemm-checks.ts,
// lookup-tables.ts), shared with @quint/kernels-js: tables that depend on float library functions
// (exp, tanh, Sleef's expf, the FMA dequantize) are built in JS, then applied in wasm. Per-element trace records carry the input
// code(s) and the output only (kernels-js reports every intermediate; use it for `quint explain`).
import { QuantError, type Tensor } from '@quint/tensor';
import {
  DTYPE_RANGE,
  QTensor,
  SIGMOID_OUT_QPARAMS,
  TANH_OUT_QPARAMS,
  VEC_STEP_U8,
  adaptiveAvgPool2dGeometry,
  adaptiveWindow,
  allocStorage,
  avgPool2dGeometry,
  binaryOutShape,
  broadcastIndex,
  catGeometry,
  checkCatInputs,
  checkClampBounds,
  checkHardtanhBounds,
  checkNonGemmInput,
  checkNonGemmOut,
  checkPerTensorQparams,
  dequantizeTables,
  dequantizeVal,
  dequantizeValFma,
  elementTracer,
  elementwiseInnerLoop,
  engineOf,
  fixedOutQparams,
  genericUnaryTables,
  hardsigmoidBody,
  hardswishBody,
  invDouble,
  invFloat,
  isChannelsLastContiguous,
  makeQuint8Out,
  maxPool2dGeometry,
  ortClipBounds,
  ortHardsigmoidFloat,
  ortHardswishFloat,
  ortLogistic,
  ortTanh,
  resolveOrtTarget,
  ortBroadcastShape,
  ortInput0Scalar,
  ortPairTable,
  ortQuantizePerTensor,
  ortUnaryTable,
  atenMeanFallback,
  meanReduction,
  perTensorOperand,
  qnnpackAddParams,
  qnnpackHardswishTable,
  qnnpackPoolMultiplier,
  qnnpackSigmoidTable,
  qnnpackTanhTable,
  quantizePerTensor as quantizePerTensorPt,
  quantizeVal,
  quantizeWithInvU8,
  sameShape,
  sigmoidBody,
  tanhBody,
  type AvgPool2dParams,
  type AvgPoolPath,
  type ClampParams,
  type Engine,
  type HardtanhParams,
  type KernelOptions,
  type MaxPool2dParams,
  type MeanParams,
  type NonGemmQparams,
  type OpName,
  type OutQparams,
  type QDtype,
  type UnaryBody,
} from '@quint/qtensor';
import type { KernelsAbi } from './abi.js';

const f32 = Math.fround;

/** Engines per non-GEMM op with a wasm kernel (the rest of OP_NAMES' claims run on kernels-js). */
export const WASM_NON_GEMM_ENGINES: Partial<Record<OpName, readonly Engine[]>> = {
  quantizePerTensor: ['qnnpack', 'onednn', 'ort'],
  add: ['qnnpack', 'onednn', 'ort'],
  addRelu: ['qnnpack', 'onednn', 'ort'],
  mul: ['qnnpack', 'onednn', 'ort'],
  mulRelu: ['qnnpack', 'onednn', 'ort'],
  cat: ['qnnpack', 'onednn', 'ort'],
  relu: ['qnnpack', 'onednn', 'ort'],
  relu6: ['qnnpack', 'onednn', 'ort'],
  hardtanh: ['qnnpack', 'onednn', 'ort'],
  clamp: ['qnnpack', 'onednn', 'ort'],
  hardswish: ['qnnpack', 'onednn', 'ort'],
  hardsigmoid: ['qnnpack', 'onednn', 'ort'],
  sigmoid: ['qnnpack', 'onednn', 'ort'],
  tanh: ['qnnpack', 'onednn', 'ort'],
  maxPool2d: ['qnnpack', 'onednn', 'ort'],
  avgPool2d: ['qnnpack', 'onednn'],
  adaptiveAvgPool2d: ['qnnpack', 'onednn'],
  mean: ['qnnpack', 'onednn'],
};

// ---------------------------------------------------------------------------------------------
// Engines, trace records (the checks are @quint/qtensor's nongemm-checks.ts)

function checkEngine(op: OpName, opts: KernelOptions | undefined): Engine {
  const engine = engineOf(opts);
  if (!(WASM_NON_GEMM_ENGINES[op] ?? []).includes(engine)) {
    throw new QuantError(
      'UNSUPPORTED_OP',
      `${op}: engine '${engine}' has no wasm kernel; use engine ${(WASM_NON_GEMM_ENGINES[op] ?? []).join('/')} or run this op on createJsBackend() from @quint/kernels-js.`,
    );
  }
  return engine;
}

/** Logical (NCHW) index of memory position `m` of a channels_last tensor. */
function nhwcToLogical(m: number, c: number, h: number, w: number): number {
  const ic = m % c;
  const p = (m - ic) / c;
  const iw = p % w;
  const q = (p - iw) / w;
  const ih = q % h;
  const n = (q - ih) / h;
  return ((n * c + ic) * h + ih) * w + iw;
}

function traceElementwise(
  op: OpName,
  engine: Engine,
  opts: KernelOptions | undefined,
  y: Uint8Array,
  ins: readonly (readonly [Uint8Array, NonGemmQparams, Int32Array | null])[],
): void {
  const tr = elementTracer(op, engine, opts);
  if (!tr) return;
  for (let i = 0; i < y.length; i++) {
    if (tr.want(i)) {
      const inputs = ins.map(([d, q, idx]) => perTensorOperand([d[idx ? idx[i]! : i]!], q));
      tr.emit({ index: i, inputs, intermediates: {}, preRound: null, output: y[i]! });
    }
  }
}

function tracePool(op: OpName, engine: Engine, opts: KernelOptions | undefined, y: Uint8Array): void {
  const tr = elementTracer(op, engine, opts);
  if (!tr) return;
  for (let i = 0; i < y.length; i++)
    if (tr.want(i)) tr.emit({ index: i, inputs: [], intermediates: {}, preRound: null, output: y[i]! });
}

// ---------------------------------------------------------------------------------------------
// Running a kernel: inputs copied into the reusable scratch, the output copied out.

function runU8(
  abi: KernelsAbi,
  what: string,
  inputs: readonly Uint8Array[],
  extra: readonly number[],
  outBytes: number,
  call: (ptrs: number[]) => void,
): Uint8Array {
  const heap = abi.heap;
  const ptrs = heap.scratch([...inputs.map((d) => d.length + 16), ...extra, outBytes + 16], what);
  const u8 = heap.u8();
  inputs.forEach((d, i) => u8.set(d, ptrs[i]!));
  call(ptrs);
  const yp = ptrs[ptrs.length - 1]!;
  const y = allocStorage('quint8', outBytes) as Uint8Array;
  y.set(heap.u8().subarray(yp, yp + outBytes));
  return y;
}

// ---------------------------------------------------------------------------------------------
// quantize_per_tensor (spec §1.2)

/**
 * PyTorch's quantize_per_tensor (engines qnnpack, onednn) with @quint/qtensor's checks and errors:
 * 8-bit codes in wasm, 16 at a time; qint32 codes by @quint/qtensor itself.
 */
export function quantizePerTensor(abi: KernelsAbi, x: Tensor, out: OutQparams, opts?: KernelOptions): QTensor {
  const op = 'quantizePerTensor';
  // Engine ort divides by the scale (ONNX Runtime's QuantizeLinear), the others multiply by its inverse.
  const ort = checkEngine(op, opts) === 'ort';
  const dtype: QDtype = out.dtype ?? 'quint8';
  if (dtype === 'qint32') return (ort ? ortQuantizePerTensor : quantizePerTensorPt)(x, out.scale, out.zeroPoint, dtype);
  checkPerTensorQparams(out.scale, out.zeroPoint, dtype, op);
  const n = x.numel;
  const heap = abi.heap;
  const [xp, yp] = heap.scratch([n * 4 + 16, n + 16], () => `${op} [${x.shape.join(', ')}]`) as [number, number];
  heap.f32(xp, n).set(x.isContiguous() ? x.data.subarray(x.offset, x.offset + n) : x.toFloat32Array());
  const [qmin, qmax] = DTYPE_RANGE[dtype];
  const common = { x: xp, y: yp, n, zeroPoint: f32(out.zeroPoint), qmin, qmax, signed: dtype === 'qint8' };
  if (ort) abi.quantizeDiv({ ...common, scale: f32(out.scale) });
  else abi.quantize({ ...common, inv: invFloat(out.scale) });
  const codes = allocStorage(dtype, n);
  codes.set(heap.u8().subarray(yp, yp + n)); // into an Int8Array, bytes ≥ 128 become negative
  return new QTensor(codes, x.shape, dtype, {
    qscheme: 'per_tensor_affine',
    scale: out.scale,
    zeroPoint: out.zeroPoint,
  });
}

function applyTable(abi: KernelsAbi, op: OpName, x: QTensor, table: Uint8Array): Uint8Array {
  return runU8(abi, op, [x.data as Uint8Array, table], [], x.numel, ([xp, tp, yp]) =>
    abi.lut({ x: xp!, y: yp!, n: x.numel, table: tp! }),
  );
}

// ---------------------------------------------------------------------------------------------
// Clamps (spec §5.6)

function clampCodes(
  abi: KernelsAbi,
  op: OpName,
  x: QTensor,
  q: NonGemmQparams,
  lo: number,
  hi: number,
  opts: KernelOptions | undefined,
): QTensor {
  const engine = checkEngine(op, opts);
  // qnnpack_clamp walks a channels_last input in memory order into a contiguous output (PyTorch
  // 1.13 bug reproduced by kernels-js): the output is the NHWC-transposed codes, clamped.
  const scrambled = engine === 'qnnpack' && op !== 'relu' && opts?.memoryFormat === 'channels_last' && x.ndim === 4;
  const n = x.numel;
  const y = runU8(abi, op, [x.data as Uint8Array], scrambled ? [n] : [], n, ([xp, tp, yp]) => {
    if (scrambled) {
      const [N, C, H, W] = x.shape as [number, number, number, number];
      abi.nchwToNhwc({ x: xp!, y: tp!, n: N, c: C, hw: H * W });
      abi.clamp({ x: tp!, y: yp!, n, lo, hi });
    } else {
      abi.clamp({ x: xp!, y: tp!, n, lo, hi });
    }
  });
  const tr = elementTracer(op, engine, opts);
  if (tr) {
    const [, C, H, W] = (x.ndim === 4 ? x.shape : [1, 1, 1, n]) as [number, number, number, number];
    for (let i = 0; i < n; i++) {
      if (tr.want(i))
        tr.emit({
          index: i,
          inputs: [perTensorOperand([x.data[scrambled ? nhwcToLogical(i, C, H, W) : i]!], q)],
          intermediates: {},
          preRound: null,
          output: y[i]!,
        });
    }
  }
  return makeQuint8Out(y, x.shape, q.scale, q.zeroPoint);
}

export function relu(abi: KernelsAbi, x: QTensor, opts?: KernelOptions): QTensor {
  const q = checkNonGemmInput('relu', x);
  return clampCodes(abi, 'relu', x, q, q.zeroPoint, 255, opts);
}

export function relu6(abi: KernelsAbi, x: QTensor, opts?: KernelOptions): QTensor {
  const q = checkNonGemmInput('relu6', x);
  // Engine ort: ONNX Clip between DQ and Q, an integer clamp with ORT-quantized bounds (qtensor's ortClipBounds).
  if (checkEngine('relu6', opts) === 'ort') return clampCodes(abi, 'relu6', x, q, ...ortClipBounds(q, 0, 6), opts);
  return clampCodes(abi, 'relu6', x, q, q.zeroPoint, quantizeVal(6, q.scale, q.zeroPoint, 'quint8'), opts);
}

export function hardtanh(abi: KernelsAbi, x: QTensor, params: HardtanhParams, opts?: KernelOptions): QTensor {
  const q = checkNonGemmInput('hardtanh', x);
  const [minVal, maxVal] = checkHardtanhBounds(params);
  if (checkEngine('hardtanh', opts) === 'ort')
    return clampCodes(abi, 'hardtanh', x, q, ...ortClipBounds(q, minVal, maxVal), opts);
  return clampCodes(
    abi,
    'hardtanh',
    x,
    q,
    quantizeVal(minVal, q.scale, q.zeroPoint, 'quint8'),
    quantizeVal(maxVal, q.scale, q.zeroPoint, 'quint8'),
    opts,
  );
}

export function clamp(abi: KernelsAbi, x: QTensor, params: ClampParams, opts?: KernelOptions): QTensor {
  const q = checkNonGemmInput('clamp', x);
  const { min, max } = checkClampBounds(params);
  if (checkEngine('clamp', opts) === 'ort') return clampCodes(abi, 'clamp', x, q, ...ortClipBounds(q, min, max), opts);
  const lo = min === undefined ? 0 : quantizeVal(min, q.scale, q.zeroPoint, 'quint8');
  const hi = max === undefined ? 255 : quantizeVal(max, q.scale, q.zeroPoint, 'quint8');
  return clampCodes(abi, 'clamp', x, q, lo, hi, opts);
}

// ---------------------------------------------------------------------------------------------
// Table activations (spec §5.7, §12.C1–C4)

/**
 * ATen's generic unary kernel as two tables (its vector body with the FMA dequantize, its scalar tail
 * with `dequantize_val`): the vector table is applied to every element in wasm, then the last
 * `n mod 64` elements in memory order are patched with the tail table.
 */
function genericUnary(
  abi: KernelsAbi,
  op: OpName,
  x: QTensor,
  q: NonGemmQparams,
  out: NonGemmQparams,
  opts: KernelOptions | undefined,
  body: UnaryBody,
): QTensor {
  const engine = engineOf(opts);
  const { vector, tail } = genericUnaryTables(q, body);
  const y = applyTable(abi, op, x, vector);
  const n = x.numel;
  const channelsLast = opts?.memoryFormat === 'channels_last' && x.ndim === 4;
  const [, C, H, W] = (channelsLast ? x.shape : [1, 1, 1, n]) as [number, number, number, number];
  for (let m = Math.floor(n / VEC_STEP_U8) * VEC_STEP_U8; m < n; m++) {
    const i = channelsLast ? nhwcToLogical(m, C, H, W) : m;
    y[i] = tail[x.data[i]!]!;
  }
  traceElementwise(op, engine, opts, y, [[x.data as Uint8Array, q, null]]);
  return makeQuint8Out(y, x.shape, out.scale, out.zeroPoint);
}

function lookup(
  abi: KernelsAbi,
  op: OpName,
  x: QTensor,
  q: NonGemmQparams,
  out: NonGemmQparams,
  table: Uint8Array,
  opts: KernelOptions | undefined,
): QTensor {
  const y = applyTable(abi, op, x, table);
  traceElementwise(op, engineOf(opts), opts, y, [[x.data as Uint8Array, q, null]]);
  return makeQuint8Out(y, x.shape, out.scale, out.zeroPoint);
}

export function hardswish(abi: KernelsAbi, x: QTensor, out: OutQparams, opts?: KernelOptions): QTensor {
  const op = 'hardswish';
  const q = checkNonGemmInput(op, x);
  const o = checkNonGemmOut(op, out);
  const engine = checkEngine(op, opts);
  // Engine ort: ONNX HardSwish in float between DQ and Q, as one table (qtensor's ortUnaryTable).
  if (engine === 'ort') return lookup(abi, op, x, q, o, ortUnaryTable(q, o, ortHardswishFloat), opts);
  if (engine === 'qnnpack') return lookup(abi, op, x, q, o, qnnpackHardswishTable(q, o).table, opts);
  return genericUnary(abi, op, x, q, o, opts, hardswishBody(o));
}

export function hardsigmoid(abi: KernelsAbi, x: QTensor, out?: OutQparams, opts?: KernelOptions): QTensor {
  const op = 'hardsigmoid';
  const q = checkNonGemmInput(op, x);
  const engine = checkEngine(op, opts);
  const o = fixedOutQparams(op, out, SIGMOID_OUT_QPARAMS, engine, false);
  if (engine === 'ort') return lookup(abi, op, x, q, o, ortUnaryTable(q, o, ortHardsigmoidFloat), opts);
  return genericUnary(abi, op, x, q, o, opts, hardsigmoidBody(o));
}

export function sigmoid(abi: KernelsAbi, x: QTensor, out?: OutQparams, opts?: KernelOptions): QTensor {
  const op = 'sigmoid';
  const q = checkNonGemmInput(op, x);
  const engine = checkEngine(op, opts);
  const o = fixedOutQparams(op, out, SIGMOID_OUT_QPARAMS, engine, engine === 'qnnpack');
  // Engine ort: QLinearSigmoid's table with MLAS's logistic for the build `opts.target` names.
  if (engine === 'ort') {
    const target = resolveOrtTarget(op, opts);
    return lookup(
      abi,
      op,
      x,
      q,
      o,
      ortUnaryTable(q, o, (v) => ortLogistic(v, target)),
      opts,
    );
  }
  if (engine === 'qnnpack') return lookup(abi, op, x, q, o, qnnpackSigmoidTable(q).table, opts);
  return genericUnary(abi, op, x, q, o, opts, sigmoidBody(o));
}

export function tanh(abi: KernelsAbi, x: QTensor, out?: OutQparams, opts?: KernelOptions): QTensor {
  const op = 'tanh';
  const q = checkNonGemmInput(op, x);
  const engine = checkEngine(op, opts);
  const o = fixedOutQparams(op, out, TANH_OUT_QPARAMS, engine, engine === 'qnnpack');
  // Engine ort: DQ → MLAS's float tanh (for the build `opts.target` names) → Q, as one table.
  if (engine === 'ort') {
    const target = resolveOrtTarget(op, opts);
    return lookup(
      abi,
      op,
      x,
      q,
      o,
      ortUnaryTable(q, o, (v) => ortTanh(v, target)),
      opts,
    );
  }
  if (engine === 'qnnpack') return lookup(abi, op, x, q, o, qnnpackTanhTable(q, o).table, opts);
  return genericUnary(abi, op, x, q, o, opts, tanhBody(o));
}

// ---------------------------------------------------------------------------------------------
// add, addRelu (spec §5.3, §12.C4, §12.C8)

/** Codes of `x` (logical NCHW) in NHWC memory order. */
function toNhwc(x: Uint8Array, shape: readonly number[]): Uint8Array {
  const [N, C, H, W] = shape as [number, number, number, number];
  const hw = H * W;
  const y = new Uint8Array(x.length);
  let m = 0;
  for (let n = 0; n < N; n++)
    for (let p = 0; p < hw; p++) for (let c = 0; c < C; c++) y[m++] = x[(n * C + c) * hw + p]!;
  return y;
}

export function add(
  abi: KernelsAbi,
  op: 'add' | 'addRelu',
  a: QTensor,
  b: QTensor,
  out: OutQparams,
  opts?: KernelOptions,
): QTensor {
  if (engineOf(opts) === 'ort') return ortBinary(abi, op, a, b, out, opts);
  const aQ = checkNonGemmInput(op, a, 'a');
  const bQ = checkNonGemmInput(op, b, 'b');
  const o = checkNonGemmOut(op, out);
  const engine = checkEngine(op, opts);
  binaryOutShape(op, a.shape, b.shape); // throws unless b broadcasts to a's shape
  const relu = op === 'addRelu';
  const n = a.numel;
  const ad = a.data as Uint8Array;
  const same = sameShape(a.shape, b.shape);
  let y: Uint8Array;
  if (engine === 'qnnpack' && same) {
    // QNNPACK q8vadd, fixed point, round half away from zero; layout-independent (spec §12.C8).
    const p = qnnpackAddParams(aQ, bQ, o.scale);
    y = runU8(abi, op, [ad, b.data as Uint8Array], [], n, ([ap, bp, yp]) =>
      abi.addQnnpack({
        a: ap!,
        b: bp!,
        y: yp!,
        n,
        zpp: p.zpp,
        aMult: p.aMult,
        bMult: p.bMult,
        shift: p.shift,
        zeroPoint: o.zeroPoint,
        lo: relu ? o.zeroPoint : 0,
      }),
    );
  } else {
    // ATen's generic qadd in memory order: the FMA dequantize on the vector part of each inner loop,
    // dequantize_val on its tail (spec §5.3, §12.C4); b expanded to a's shape.
    const channelsLast = opts?.memoryFormat === 'channels_last' && a.ndim === 4;
    const loop = elementwiseInnerLoop(a.shape, b.shape, channelsLast);
    const vecEnd = loop.vectorizable ? Math.floor(loop.length / VEC_STEP_U8) * VEC_STEP_U8 : 0;
    let bFull = b.data as Uint8Array;
    if (!same) {
      const idx = broadcastIndex(b.shape, a.shape);
      bFull = new Uint8Array(n);
      for (let i = 0; i < n; i++) bFull[i] = b.data[idx[i]!]!;
    }
    const aMem = channelsLast ? toNhwc(ad, a.shape) : ad;
    const bMem = channelsLast ? toNhwc(bFull, a.shape) : bFull;
    const tabA = new Uint8Array(dequantizeTables(aQ).buffer);
    const tabB = new Uint8Array(dequantizeTables(bQ).buffer);
    const inv = invFloat(o.scale);
    const yMem = runU8(abi, op, [aMem, bMem, tabA, tabB], channelsLast ? [n] : [], n, (ptrs) => {
      const [ap, bp, ta, tb] = ptrs as [number, number, number, number];
      const yp = ptrs[ptrs.length - 1]!;
      abi.addGeneric({
        a: ap,
        b: bp,
        y: channelsLast ? ptrs[4]! : yp,
        n,
        tabA: ta,
        tabB: tb,
        inv,
        zeroPoint: o.zeroPoint,
        relu,
        loopLen: loop.length,
        vecEnd,
      });
      if (channelsLast) {
        const [N, C, H, W] = a.shape as [number, number, number, number];
        abi.nhwcToNchw({ x: ptrs[4]!, y: yp, n: N, c: C, hw: H * W });
      }
    });
    y = yMem;
  }
  if (opts?.trace) {
    traceElementwise(op, engine, opts, y, [
      [ad, aQ, null],
      [b.data as Uint8Array, bQ, same ? null : broadcastIndex(b.shape, a.shape)],
    ]);
  }
  return makeQuint8Out(y, a.shape, o.scale, o.zeroPoint);
}

// ---------------------------------------------------------------------------------------------
// mul, mulRelu (spec §5.4)

/** The codes of `x` broadcast to `outShape` (a copy only when the shapes differ). */
function expandTo(x: QTensor, outShape: readonly number[]): Uint8Array {
  const d = x.data as Uint8Array;
  if (sameShape(x.shape, outShape)) return d;
  const idx = broadcastIndex(x.shape, outShape);
  const y = new Uint8Array(idx.length);
  for (let i = 0; i < idx.length; i++) y[i] = d[idx[i]!]!;
  return y;
}

/**
 * Engine ort add/addRelu/mul/mulRelu: ONNX Runtime's QLinearAdd/QLinearMul (which QDQ Add and Mul
 * fuse into) for the build `opts.target` names, numpy broadcasting both ways. Each output code is a
 * function of the pair of input codes, tabulated by @quint/qtensor (and kept for the next call with
 * the same qparams) and looked up here in wasm. The ReLU variants clamp at the output zero point.
 */
function ortBinary(
  abi: KernelsAbi,
  op: 'add' | 'addRelu' | 'mul' | 'mulRelu',
  a: QTensor,
  b: QTensor,
  out: OutQparams,
  opts: KernelOptions | undefined,
): QTensor {
  const q = { a: checkNonGemmInput(op, a, 'a'), b: checkNonGemmInput(op, b, 'b'), c: checkNonGemmOut(op, out) };
  const target = resolveOrtTarget(op, opts);
  const outShape = ortBroadcastShape(op, a.shape, b.shape);
  const n = outShape.reduce((p, d) => p * d, 1);
  const table = ortPairTable(op === 'add' || op === 'addRelu', q, target, ortInput0Scalar(a.shape, b.shape));
  const lo = op === 'addRelu' || op === 'mulRelu' ? q.c.zeroPoint : 0;
  const y = runU8(abi, op, [expandTo(a, outShape), expandTo(b, outShape), table], [], n, ([ap, bp, tp, yp]) =>
    abi.lut2({ a: ap!, b: bp!, y: yp!, n, table: tp!, lo }),
  );
  if (opts?.trace) {
    traceElementwise(op, 'ort', opts, y, [
      [a.data as Uint8Array, q.a, sameShape(a.shape, outShape) ? null : broadcastIndex(a.shape, outShape)],
      [b.data as Uint8Array, q.b, sameShape(b.shape, outShape) ? null : broadcastIndex(b.shape, outShape)],
    ]);
  }
  return makeQuint8Out(y, outShape, q.c.scale, q.c.zeroPoint);
}

export function mul(
  abi: KernelsAbi,
  op: 'mul' | 'mulRelu',
  a: QTensor,
  b: QTensor,
  out: OutQparams,
  opts?: KernelOptions,
): QTensor {
  if (engineOf(opts) === 'ort') return ortBinary(abi, op, a, b, out, opts);
  const aQ = checkNonGemmInput(op, a, 'a');
  const bQ = checkNonGemmInput(op, b, 'b');
  const o = checkNonGemmOut(op, out);
  const engine = checkEngine(op, opts);
  // requantize_from_int on both engines: one formula for every element, so memory order does not
  // matter and broadcasts are expanded here (both operands broadcast).
  const outShape = binaryOutShape(op, a.shape, b.shape);
  const n = outShape.reduce((p, d) => p * d, 1);
  const multiplier = f32(f32(f32(aQ.scale) * f32(bQ.scale)) * invFloat(o.scale));
  const lo = op === 'mulRelu' ? o.zeroPoint : 0;
  const y = runU8(abi, op, [expandTo(a, outShape), expandTo(b, outShape)], [], n, ([ap, bp, yp]) =>
    abi.mul({
      a: ap!,
      b: bp!,
      y: yp!,
      n,
      aZeroPoint: aQ.zeroPoint,
      bZeroPoint: bQ.zeroPoint,
      multiplier,
      zeroPoint: o.zeroPoint,
      lo,
    }),
  );
  if (opts?.trace) {
    traceElementwise(op, engine, opts, y, [
      [a.data as Uint8Array, aQ, sameShape(a.shape, outShape) ? null : broadcastIndex(a.shape, outShape)],
      [b.data as Uint8Array, bQ, sameShape(b.shape, outShape) ? null : broadcastIndex(b.shape, outShape)],
    ]);
  }
  return makeQuint8Out(y, outShape, o.scale, o.zeroPoint);
}

// ---------------------------------------------------------------------------------------------
// cat (spec §5.5, §12.C10)

/**
 * kernels-js's cat as per-input 256-entry tables applied in wasm: engine ort `Q(DQ(q))` (qtensor's
 * ortUnaryTable); qnnpack/onednn `quantize_val(dequantize_val(q))`, or, for 4-D channels_last inputs
 * along dim 1 (qcat_nhwc_kernel), a copy when the qparams equal the output's, else the FMA dequantize
 * with `inv = f32(1.0/s)` on the vector channels (blocks of 32, then 8) and the scalar pair on the rest.
 */
export function cat(
  abi: KernelsAbi,
  xs: readonly QTensor[],
  dim: number,
  out: OutQparams | undefined,
  opts?: KernelOptions,
): QTensor {
  const op = 'cat';
  const qs = checkCatInputs(xs);
  const engine = checkEngine(op, opts);
  const { dim: d, out: o, outShape, outer, inner } = catGeometry(xs, qs, dim, out);
  const nhwc =
    engine !== 'ort' &&
    xs[0]!.ndim === 4 &&
    d === 1 &&
    xs.every((x) => isChannelsLastContiguous(x.shape, opts?.memoryFormat));
  const invVec = invDouble(o.scale);
  const invScalar = invFloat(o.scale);
  const tables = new Uint8Array(512 * xs.length);
  const plan = xs.map((x, k) => {
    const q = qs[k]!;
    const c = x.shape[d]!;
    const tabV = tables.subarray(512 * k, 512 * k + 256);
    const tabS = tables.subarray(512 * k + 256, 512 * k + 512);
    if (engine === 'ort') {
      tabS.set(ortUnaryTable(q, o, (v) => v));
      return { copy: false, split: 0 };
    }
    if (nhwc && q.scale === o.scale && q.zeroPoint === o.zeroPoint) return { copy: true, split: 0 };
    for (let code = 0; code < 256; code++) {
      tabS[code] = quantizeWithInvU8(dequantizeVal(code, q.scale, q.zeroPoint), invScalar, o.zeroPoint);
      if (nhwc) tabV[code] = quantizeWithInvU8(dequantizeValFma(code, q.scale, q.zeroPoint), invVec, o.zeroPoint);
    }
    if (!nhwc) return { copy: false, split: 0 };
    const c32 = Math.floor(c / 32) * 32;
    const vecChannels = c - c32 >= 8 ? c32 + Math.floor((c - c32) / 8) * 8 : c32;
    return { copy: false, split: vecChannels * inner };
  });
  const outRow = outShape[d]! * inner;
  const n = outer * outRow;
  const y = runU8(abi, op, [...xs.map((x) => x.data as Uint8Array), tables], [], n, (ptrs) => {
    const tp = ptrs[xs.length]!;
    const yp = ptrs[ptrs.length - 1]!;
    let offset = 0;
    xs.forEach((x, k) => {
      const rowLen = x.shape[d]! * inner;
      const { copy, split } = plan[k]!;
      abi.cat({
        x: ptrs[k]!,
        y: yp + offset,
        rows: outer,
        rowLen,
        yStride: outRow,
        split,
        tabV: tp + 512 * k,
        tabS: tp + 512 * k + 256,
        copy,
      });
      offset += rowLen;
    });
  });
  const tr = elementTracer(op, engine, opts);
  if (tr) {
    let offset = 0;
    xs.forEach((x, k) => {
      const rowLen = x.shape[d]! * inner;
      for (let i = 0; i < outer; i++) {
        for (let j = 0; j < rowLen; j++) {
          const dst = i * outRow + offset + j;
          if (tr.want(dst))
            tr.emit({
              index: dst,
              inputs: [perTensorOperand([x.data[i * rowLen + j]!], qs[k]!)],
              intermediates: {},
              preRound: null,
              output: y[dst]!,
            });
        }
      }
      offset += rowLen;
    });
  }
  return makeQuint8Out(y, outShape, o.scale, o.zeroPoint);
}

// ---------------------------------------------------------------------------------------------
// Pooling (spec §5.8, §12.C6–C7)

const AVG_PATH_CODE: Readonly<Record<AvgPoolPath, number>> = { qnnpack: 0, nhwc: 1, nchw: 2 };

export function maxPool2d(abi: KernelsAbi, x: QTensor, params: MaxPool2dParams, opts?: KernelOptions): QTensor {
  const op = 'maxPool2d';
  const q = checkNonGemmInput(op, x);
  const engine = checkEngine(op, opts);
  const g = maxPool2dGeometry(x, params, engine);
  const [N, C, H, W] = g.nchw;
  const { kernel: k, stride: s, padding: p, dilation: dl, outH: oH, outW: oW } = g;
  const y = runU8(abi, op, [x.data as Uint8Array], [], N * C * oH * oW, ([xp, yp]) =>
    abi.maxPool2d({
      x: xp!,
      y: yp!,
      planes: N * C,
      H,
      W,
      oH,
      oW,
      k,
      s,
      p,
      d: dl,
      edge: engine === 'qnnpack' && !g.ceilMode,
    }),
  );
  tracePool(op, engine, opts, y);
  return makeQuint8Out(y, g.outShape, q.scale, q.zeroPoint);
}

export function avgPool2d(abi: KernelsAbi, x: QTensor, params: AvgPool2dParams, opts?: KernelOptions): QTensor {
  const op = 'avgPool2d';
  const q = checkNonGemmInput(op, x);
  const engine = checkEngine(op, opts);
  const g = avgPool2dGeometry(x, params, engine, opts?.memoryFormat);
  const [N, C, H, W] = g.nchw;
  const { kernel: k, stride: s, padding: p, outH: oH, outW: oW, countIncludePad: cip, divisorOverride: dov } = g;
  const path = AVG_PATH_CODE[g.path];
  const qs = qnnpackPoolMultiplier(q.scale, k[0] * k[1]);
  const y = runU8(abi, op, [x.data as Uint8Array], [], N * C * oH * oW, ([xp, yp]) =>
    abi.avgPool2d({
      x: xp!,
      y: yp!,
      planes: N * C,
      H,
      W,
      oH,
      oW,
      k,
      s,
      p,
      zeroPoint: q.zeroPoint,
      path,
      qs,
      cip,
      dov: dov ?? 0,
    }),
  );
  tracePool(op, engine, opts, y);
  return makeQuint8Out(y, g.outShape, q.scale, q.zeroPoint);
}

export function adaptiveAvgPool2d(
  abi: KernelsAbi,
  x: QTensor,
  outputSize: number | readonly [number | null, number | null],
  opts?: KernelOptions,
): QTensor {
  const op = 'adaptiveAvgPool2d';
  const q = checkNonGemmInput(op, x);
  const engine = checkEngine(op, opts);
  const g = adaptiveAvgPool2dGeometry(x, outputSize, engine, opts?.memoryFormat);
  const [N, C, H, W] = g.nchw;
  const { outH: oH, outW: oW } = g;
  const path = AVG_PATH_CODE[g.path];
  const bounds = (inSize: number, outSize: number): Uint8Array => {
    const b = new Int32Array(2 * outSize);
    for (let o = 0; o < outSize; o++) b.set(adaptiveWindow(o, inSize, outSize), 2 * o);
    return new Uint8Array(b.buffer);
  };
  const y = runU8(
    abi,
    op,
    [x.data as Uint8Array, bounds(H, oH), bounds(W, oW)],
    [],
    N * C * oH * oW,
    ([xp, hb, wb, yp]) =>
      abi.adaptiveAvgPool2d({
        x: xp!,
        y: yp!,
        planes: N * C,
        H,
        W,
        oH,
        oW,
        hb: hb!,
        wb: wb!,
        zeroPoint: q.zeroPoint,
        path,
        scale: f32(q.scale),
      }),
  );
  tracePool(op, engine, opts, y);
  return makeQuint8Out(y, g.outShape, q.scale, q.zeroPoint);
}

export function mean(abi: KernelsAbi, x: QTensor, params: MeanParams, opts?: KernelOptions): QTensor {
  const op = 'mean';
  const q = checkNonGemmInput(op, x);
  const engine = checkEngine(op, opts);
  const { dims, qnnpack, fallback, strides, inner, outer, outShape } = meanReduction(
    x,
    params,
    engine,
    opts?.memoryFormat,
  );
  if (fallback) {
    // PyTorch's dequantize → float at::mean → quantize path: its float order is computed in JS.
    const { codes } = atenMeanFallback(x.data, x.shape, strides, dims, q.scale, q.zeroPoint);
    tracePool(op, engine, opts, codes);
    return makeQuint8Out(codes, outShape, q.scale, q.zeroPoint);
  }
  const qs = qnnpackPoolMultiplier(q.scale, inner);
  const y = runU8(abi, op, [x.data as Uint8Array], [], outer, ([xp, yp]) =>
    abi.meanRows({ x: xp!, y: yp!, outer, inner, zeroPoint: q.zeroPoint, qnnpack, qs }),
  );
  tracePool(op, engine, opts, y);
  return makeQuint8Out(y, outShape, q.scale, q.zeroPoint);
}
