// relu, relu6, hardtanh, clamp, hardswish, hardsigmoid, sigmoid, tanh on quint8 codes, as PyTorch
// 1.13 computes them on the qnnpack and onednn engines (spec pytorch-semantics.md §5.0, §5.6, §5.7,
// §12.C1–C4).
import { QuantError } from '@quint/tensor';
import {
  SIGMOID_OUT_QPARAMS,
  TANH_OUT_QPARAMS,
  VEC_STEP_U8,
  checkClampBounds,
  checkHardtanhBounds,
  checkNonGemmInput,
  checkNonGemmOut,
  dequantizeVal,
  dequantizeValFma,
  elementTracer,
  engineOf,
  fixedOutQparams,
  hardsigmoidBody,
  hardswishBody,
  makeQuint8Out,
  ortClipBounds,
  ortHardsigmoidFloat,
  ortLogistic,
  ortTanh,
  ortHardswishFloat,
  ortUnaryTable,
  perTensorOperand,
  qnnpackHardswishTable,
  qnnpackSigmoidTable,
  qnnpackTanhTable,
  quantizeVal,
  sigmoidBody,
  tanhBody,
  type ClampParams,
  type HardtanhParams,
  type KernelOptions,
  type KernelTable,
  type NonGemmInput,
  type NonGemmQparams,
  type OpName,
  type OutQparams,
  type QTensor,
  type UnaryBody,
  resolveOrtTarget,
} from '@quint/qtensor';
import { allocU8, memoryOrder } from './ops-common.js';
import { ortApplyTable } from './ort-ops.js';

/** Engine ort for a clamp: ONNX Clip between DQ and Q with ORT's quantized bounds (ort-ops.ts). */
function ortClamp(
  op: 'relu6' | 'hardtanh' | 'clamp',
  x: QTensor,
  q: NonGemmInput,
  lo: number | undefined,
  hi: number | undefined,
  opts: KernelOptions | undefined,
): QTensor {
  const [l, h] = ortClipBounds(q, lo, hi);
  const t = Uint8Array.from({ length: 256 }, (_, c) => Math.min(Math.max(c, l), h));
  return ortApplyTable(op, x, q, q, t, opts);
}

function checkEngine(op: OpName, opts: KernelOptions | undefined) {
  const engine = engineOf(opts);
  if (engine === 'ort' && op === 'relu') return engine;
  if (engine !== 'qnnpack' && engine !== 'onednn') {
    throw new QuantError(
      'UNSUPPORTED_OP',
      `${op}: engine '${engine}' is not implemented for this op; use 'qnnpack' or 'onednn'.`,
    );
  }
  return engine;
}

/**
 * `clamp(q, lo, hi)` on codes, qparams kept: the exact integer ops of spec §5.6.
 *
 * Engine qnnpack runs relu6/hardtanh/clamp through `qnnpack_clamp` (aten/src/ATen/native/quantized/
 * cpu/qclamp.cpp), which walks the input in its memory order but allocates a *contiguous* output:
 * for a channels_last input the NHWC-ordered results land in NCHW positions, so the logical output
 * is permuted (PyTorch 1.13 bug, verified: goldens kernels-activations.json, `*-channels_last` cases
 * on qnnpack). Reproduced here for `memoryFormat: 'channels_last'`; the result is then contiguous.
 */
function clampCodes(
  op: OpName,
  x: QTensor,
  q: NonGemmInput,
  lo: number,
  hi: number,
  opts: KernelOptions | undefined,
): QTensor {
  const engine = checkEngine(op, opts);
  const tracer = elementTracer(op, engine, opts);
  const y = allocU8(x.numel);
  const d = x.data;
  const scrambled = engine === 'qnnpack' && op !== 'relu' ? memoryOrder(x.shape, opts?.memoryFormat) : null;
  for (let i = 0; i < y.length; i++) {
    const src = scrambled ? scrambled[i]! : i;
    // max first, then min: as qclamp_kernel/qrelu6 (QuantizedOpKernels.cpp), so lo > hi gives hi.
    const v = Math.min(Math.max(d[src]!, lo), hi);
    y[i] = v;
    if (tracer?.want(i))
      tracer.emit({
        index: i,
        inputs: [perTensorOperand([d[src]!], q)],
        intermediates: { low: lo, high: hi, sourceIndex: src },
        preRound: null,
        output: v,
      });
  }
  return makeQuint8Out(y, x.shape, q.scale, q.zeroPoint);
}

/**
 * Quantized ReLU: `max(q, zp)`, qparams kept; exact (spec §5.6). Engines qnnpack, onednn and ort
 * (ONNX Runtime computes the same codes, docs/numerics.md).
 * @throws `DTYPE_MISMATCH` for non-quint8 input; `EMPTY_TENSOR`.
 * @example
 * relu(x).intRepr(); // every code below the zero point raised to it
 * @see https://pytorch.org/docs/stable/generated/torch.nn.ReLU.html
 */
export function relu(x: QTensor, opts?: KernelOptions): QTensor {
  const q = checkNonGemmInput('relu', x);
  // Engine ort: ONNX Runtime's DequantizeLinear → Relu → QuantizeLinear with the same qparams gives
  // max(q, zp) too (docs/numerics.md "relu"; test/ort-exact-ops.test.ts).
  return clampCodes('relu', x, q, q.zeroPoint, 255, opts);
}

/**
 * Quantized ReLU6: `clamp(q, zp, quantize_val(6.0))`, qparams kept; exact (spec §5.6).
 * @throws as {@link relu}.
 * @example
 * relu6(x); // codes clamped to [zp, zp + rne(6/scale)]
 * @see https://pytorch.org/docs/stable/generated/torch.nn.ReLU6.html
 */
export function relu6(x: QTensor, opts?: KernelOptions): QTensor {
  const q = checkNonGemmInput('relu6', x);
  if (engineOf(opts) === 'ort') return ortClamp('relu6', x, q, 0, 6, opts);
  return clampCodes('relu6', x, q, q.zeroPoint, quantizeVal(6, q.scale, q.zeroPoint, 'quint8'), opts);
}

/**
 * Quantized hardtanh: `clamp(q, quantize_val(f32(minVal)), quantize_val(f32(maxVal)))`, qparams kept
 * (spec §5.6; `qclamp_kernel` reads the bounds as float).
 * @throws as {@link relu}; `INVALID_ARGUMENT` for non-finite bounds.
 * @example
 * hardtanh(x, { minVal: -1, maxVal: 1 });
 * @see https://pytorch.org/docs/stable/generated/torch.nn.Hardtanh.html
 */
export function hardtanh(x: QTensor, params: HardtanhParams, opts?: KernelOptions): QTensor {
  const q = checkNonGemmInput('hardtanh', x);
  const [minVal, maxVal] = checkHardtanhBounds(params);
  if (engineOf(opts) === 'ort') return ortClamp('hardtanh', x, q, minVal, maxVal, opts);
  return clampCodes(
    'hardtanh',
    x,
    q,
    quantizeVal(minVal, q.scale, q.zeroPoint, 'quint8'),
    quantizeVal(maxVal, q.scale, q.zeroPoint, 'quint8'),
    opts,
  );
}

/**
 * Quantized clamp: bounds quantized with `quantize_val` (spec §5.6); an absent bound does not clamp.
 * @throws as {@link hardtanh}.
 * @example
 * clamp(x, { min: 0, max: 2.5 });
 * @see https://pytorch.org/docs/stable/generated/torch.clamp.html
 */
export function clamp(x: QTensor, params: ClampParams, opts?: KernelOptions): QTensor {
  const q = checkNonGemmInput('clamp', x);
  const { min, max } = checkClampBounds(params);
  if (engineOf(opts) === 'ort') return ortClamp('clamp', x, q, min, max, opts);
  const lo = min === undefined ? 0 : quantizeVal(min, q.scale, q.zeroPoint, 'quint8');
  const hi = max === undefined ? 255 : quantizeVal(max, q.scale, q.zeroPoint, 'quint8');
  return clampCodes('clamp', x, q, lo, hi, opts);
}

/**
 * Runs a generic ATen unary kernel (`cpu_kernel_vec` over a unary TensorIterator): the first
 * ⌊n/64⌋·64 elements in memory order take the vector body, the rest the scalar tail (spec §12.C1,
 * C4). Each body maps the FMA- resp. scalar-dequantized input to a code.
 */
function genericUnary(
  op: OpName,
  x: QTensor,
  q: NonGemmInput,
  out: NonGemmQparams,
  opts: KernelOptions | undefined,
  body: UnaryBody,
): QTensor {
  const engine = engineOf(opts);
  const tracer = elementTracer(op, engine, opts);
  const n = x.numel;
  const y = allocU8(n);
  const order = memoryOrder(x.shape, opts?.memoryFormat);
  const vecEnd = Math.floor(n / VEC_STEP_U8) * VEC_STEP_U8;
  for (let m = 0; m < n; m++) {
    const i = order ? order[m]! : m;
    const code = x.data[i]!;
    const vector = m < vecEnd;
    const v = vector ? dequantizeValFma(code, q.scale, q.zeroPoint) : dequantizeVal(code, q.scale, q.zeroPoint);
    const r = body(v, vector);
    y[i] = r.code;
    if (tracer?.want(i)) {
      tracer.emit({
        index: i,
        inputs: [perTensorOperand([code], q)],
        intermediates: { dequantized: v, value: r.value, vectorBody: vector ? 1 : 0 },
        preRound: r.pre,
        output: r.code,
      });
    }
  }
  return makeQuint8Out(y, x.shape, out.scale, out.zeroPoint);
}

/** Applies a 256-entry QNNPACK lookup table. */
function lookup(
  op: OpName,
  x: QTensor,
  q: NonGemmInput,
  out: NonGemmQparams,
  lut: Uint8Array,
  pre: Float64Array,
  opts: KernelOptions | undefined,
): QTensor {
  const tracer = elementTracer(op, engineOf(opts), opts);
  const y = allocU8(x.numel);
  for (let i = 0; i < y.length; i++) {
    const code = x.data[i]!;
    y[i] = lut[code]!;
    if (tracer?.want(i))
      tracer.emit({
        index: i,
        inputs: [perTensorOperand([code], q)],
        intermediates: { lookupTable: 1 },
        preRound: pre[code]!,
        output: lut[code]!,
      });
  }
  return makeQuint8Out(y, x.shape, out.scale, out.zeroPoint);
}

/**
 * Quantized hardswish into the given output qparams, bit-exact with PyTorch 1.13's
 * `quantized::hardswish` (spec §5.7, §12.C3):
 * - engine `qnnpack`: QNNPACK's lookup table, `lrintf(clamp(f32(h · f32(1/s_out)) + zp_out, 0, 255))`
 *   with `h` from `f32(s·(i − zp))` (the zero point is added before rounding);
 * - engine `onednn`: the generic kernel, `zp_out + rne(f32(h · inv))` with the FMA dequantize and
 *   `inv = f32(1.0/s_out)` in its vector body, `dequantize_val`/`quantize_val` in its scalar tail.
 * @throws `DTYPE_MISMATCH`, `INVALID_QPARAMS`, `EMPTY_TENSOR`.
 * @example
 * hardswish(x, { scale: 0.04, zeroPoint: 20 }, { engine: 'onednn', memoryFormat: 'channels_last' });
 * @see https://pytorch.org/docs/stable/generated/torch.nn.Hardswish.html
 */
export function hardswish(x: QTensor, out: OutQparams, opts?: KernelOptions): QTensor {
  const op = 'hardswish';
  const q = checkNonGemmInput(op, x);
  const o = checkNonGemmOut(op, out);
  // Engine ort: ONNX HardSwish (opset 14) in float between DQ and Q (ort-ops.ts, docs/numerics.md).
  if (engineOf(opts) === 'ort') return ortApplyTable(op, x, q, o, ortUnaryTable(q, o, ortHardswishFloat), opts);
  const engine = checkEngine(op, opts);
  if (engine === 'qnnpack') {
    const { table, pre } = qnnpackHardswishTable(q, o);
    return lookup(op, x, q, o, table, pre, opts);
  }
  return genericUnary(op, x, q, o, opts, hardswishBody(o));
}

/**
 * Quantized hardsigmoid, `min(max(x + 3, 0), 6) / 6` in float32, into the fixed qparams (1/256, 0)
 * unless `out` is given; the generic kernel on both engines (spec §5.7): FMA dequantize and
 * `inv = f32(1.0/s_out)` in the vector body, `dequantize_val`/`quantize_val` in the scalar tail.
 * @throws `DTYPE_MISMATCH`, `INVALID_QPARAMS`, `EMPTY_TENSOR`.
 * @example
 * hardsigmoid(x).qScale(); // 0.00390625
 * @see https://pytorch.org/docs/stable/generated/torch.nn.Hardsigmoid.html
 */
export function hardsigmoid(x: QTensor, out?: OutQparams, opts?: KernelOptions): QTensor {
  const op = 'hardsigmoid';
  const q = checkNonGemmInput(op, x);
  if (engineOf(opts) === 'ort') {
    // ONNX HardSigmoid(alpha 1/6, beta 0.5) in float between DQ and Q (ort-ops.ts, docs/numerics.md).
    const o = fixedOutQparams(op, out, SIGMOID_OUT_QPARAMS, 'ort', false);
    return ortApplyTable(op, x, q, o, ortUnaryTable(q, o, ortHardsigmoidFloat), opts);
  }
  const engine = checkEngine(op, opts);
  const o = fixedOutQparams(op, out, SIGMOID_OUT_QPARAMS, engine, false);
  return genericUnary(op, x, q, o, opts, hardsigmoidBody(o));
}

/**
 * Quantized sigmoid into the fixed qparams (1/256, 0), bit-exact with PyTorch 1.13 (spec §12.C1, C2):
 * - engine `qnnpack`: QNNPACK's table `lrintf(clamp(f32(256 / f32(1 + expf(−x))), 0, 255))`;
 * - engine `onednn`: the generic kernel: vector body `rne(f32(f32(1/f32(1 + sleefExpf(−v))) · 256))`
 *   with Sleef's `expf8_u10`; scalar tail `1/(1 + expf(−v))` in double, rounded to float once.
 * - engine `ort`: ONNX Runtime 1.30's QLinearSigmoid (QDQ Sigmoid is fused into it), any output
 *   qparams: the table `Q(logistic(DQ(q)))` with MLAS's rational logistic, multiply-adds fused for
 *   `opts.target: 'x64'` (onnxruntime-node), not for `'wasm'` (default, onnxruntime-web).
 * @throws `DTYPE_MISMATCH`, `INVALID_QPARAMS` (other output qparams on qnnpack), `EMPTY_TENSOR`.
 * @example
 * sigmoid(x, undefined, { engine: 'onednn' }).qZeroPoint(); // 0
 * @see https://pytorch.org/docs/stable/generated/torch.nn.Sigmoid.html
 */
export function sigmoid(x: QTensor, out?: OutQparams, opts?: KernelOptions): QTensor {
  const op = 'sigmoid';
  const q = checkNonGemmInput(op, x);
  if (engineOf(opts) === 'ort') {
    // QLinearSigmoid's table with MLAS's logistic, per `opts.target` (ort-ops.ts).
    const target = resolveOrtTarget(op, opts);
    const o = fixedOutQparams(op, out, SIGMOID_OUT_QPARAMS, 'ort', false);
    return ortApplyTable(
      op,
      x,
      q,
      o,
      ortUnaryTable(q, o, (v) => ortLogistic(v, target)),
      opts,
    );
  }
  const engine = checkEngine(op, opts);
  const o = fixedOutQparams(op, out, SIGMOID_OUT_QPARAMS, engine, engine === 'qnnpack');
  if (engine === 'qnnpack') {
    const { table, pre } = qnnpackSigmoidTable(q);
    return lookup(op, x, q, o, table, pre, opts);
  }
  return genericUnary(op, x, q, o, opts, sigmoidBody(o));
}

/**
 * Quantized tanh into the fixed qparams (2/256, 128):
 * - engine `qnnpack`: QNNPACK's table `lrintf(clamp(f32(f32(tanhf(x) · 128) + 128), 0, 255))`;
 * - engine `onednn`: `zp + rne(f32(tanh(v) · 128))` with the FMA dequantize in the vector body.
 *   PyTorch's vector body uses Sleef `tanhf8_u10` (≤ 1 ulp), emulated here by a correctly rounded
 *   tanh: equal on every golden, but not proven equal on all inputs (spec §5.7).
 * - engine `ort`: ONNX Runtime 1.30's DQ → Tanh → Q (no QLinearTanh), any output qparams: the table
 *   `Q(tanh(DQ(q)))` with MLAS's rational tanh, multiply-adds fused for `opts.target: 'x64'`
 *   (onnxruntime-node), not for `'wasm'` (default, onnxruntime-web).
 * @throws `DTYPE_MISMATCH`, `INVALID_QPARAMS` (other output qparams on qnnpack), `EMPTY_TENSOR`.
 * @example
 * tanh(x).qZeroPoint(); // 128
 * @see https://pytorch.org/docs/stable/generated/torch.nn.Tanh.html
 */
export function tanh(x: QTensor, out?: OutQparams, opts?: KernelOptions): QTensor {
  const op = 'tanh';
  const q = checkNonGemmInput(op, x);
  if (engineOf(opts) === 'ort') {
    // QDQ Tanh: DQ → MLAS's float tanh → Q, per `opts.target` (ort-ops.ts).
    const target = resolveOrtTarget(op, opts);
    const o = fixedOutQparams(op, out, TANH_OUT_QPARAMS, 'ort', false);
    return ortApplyTable(
      op,
      x,
      q,
      o,
      ortUnaryTable(q, o, (v) => ortTanh(v, target)),
      opts,
    );
  }
  const engine = checkEngine(op, opts);
  const o = fixedOutQparams(op, out, TANH_OUT_QPARAMS, engine, engine === 'qnnpack');
  if (engine === 'qnnpack') {
    const { table, pre } = qnnpackTanhTable(q, o);
    return lookup(op, x, q, o, table, pre, opts);
  }
  return genericUnary(op, x, q, o, opts, tanhBody(o));
}

/** The activation kernels, for createJsBackend's kernel table. */
export const activationKernels: Partial<KernelTable> = {
  relu,
  relu6,
  hardtanh,
  clamp,
  hardswish,
  hardsigmoid,
  sigmoid,
  tanh,
};
