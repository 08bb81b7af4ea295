// The float formulas of the quint8 table activations (hardswish, hardsigmoid, sigmoid, tanh) and the
// 256-entry tables built from them, shared by kernels-js (which applies them element by element, with
// traces) and kernels-wasm (which applies the tables in wasm). Each formula reproduces PyTorch 1.13's
// kernel to the bit (spec pytorch-semantics.md §5.7, §12.C1–C4), or ONNX Runtime's (MLAS's float
// kernels, per build); the tables depend on float library functions (exp, tanh, Sleef's expf, the
// FMA dequantize), so they are built in JS, once per call.
import { sleefExpf } from '@quint/tensor';
import { dequantizeVal, dequantizeValFma, fmaf } from './affine-quantizer-base.js';
import type { OrtTarget } from './backend.js';
import { clampU8, invDouble, invFloat, quantizeWithInvU8, type NonGemmQparams } from './nongemm-checks.js';
import { roundHalfToEven } from './rounding.js';

const f32 = Math.fround;

/** A QNNPACK lookup table: the code of each input code, and the value rounded to it. */
export interface QnnpackLookupTable {
  /** `table[i] = rne(pre[i])`. */
  readonly table: Uint8Array;
  /** The clamped float each entry rounds (for traces). */
  readonly pre: Float64Array;
}

/** QNNPACK's input value of table entry i: `f32(f32(s) · f32(i − zp))` (qnnpack/src/{hardswish,sigmoid,tanh}.c). */
function lutInput(i: number, q: NonGemmQparams): number {
  return f32(f32(q.scale) * (i - q.zeroPoint));
}

function qnnpackTable(pre: (i: number) => number): QnnpackLookupTable {
  const table = new Uint8Array(256);
  const p = new Float64Array(256);
  for (let i = 0; i < 256; i++) {
    p[i] = pre(i);
    table[i] = roundHalfToEven(p[i]!);
  }
  return { table, pre: p };
}

function hardswishFloat(v: number): number {
  // x · min(max(x + 3, 0), 6) / 6, each step in float32 (spec §5.7, §12.B).
  const t = Math.min(Math.max(f32(v + 3), 0), 6);
  return f32(f32(v * t) / 6);
}

/**
 * QNNPACK's hardswish table (engine qnnpack, spec §5.7, §12.C3):
 * `lrintf(clamp(f32(h · f32(1/s_out)) + zp_out, 0, 255))` with `h` the float32 hardswish of
 * `f32(s·(i − zp))` (the zero point is added before rounding).
 *
 * @example
 * const { table, pre } = qnnpackHardswishTable(q, { scale: 0.04, zeroPoint: 20 });
 */
export function qnnpackHardswishTable(q: NonGemmQparams, out: NonGemmQparams): QnnpackLookupTable {
  const inv = invFloat(out.scale);
  return qnnpackTable((i) =>
    Math.min(Math.max(f32(f32(hardswishFloat(lutInput(i, q)) * inv) + out.zeroPoint), 0), 255),
  );
}

/**
 * QNNPACK's sigmoid table into the fixed qparams (1/256, 0) (engine qnnpack, spec §12.C1):
 * `lrintf(clamp(f32(256 / f32(1 + expf(−x))), 0, 255))`.
 *
 * @example
 * const { table } = qnnpackSigmoidTable(q);
 */
export function qnnpackSigmoidTable(q: NonGemmQparams): QnnpackLookupTable {
  return qnnpackTable((i) => Math.min(Math.max(f32(256 / f32(1 + f32(Math.exp(-lutInput(i, q))))), 0), 255));
}

/**
 * QNNPACK's tanh table (engine qnnpack, spec §5.7): `lrintf(clamp(f32(f32(inv · tanhf(x)) + zp), 0, 255))`,
 * `inv = f32(1/s_out)` (with the fixed qparams (2/256, 128): `f32(tanhf(x)·128) + 128`).
 *
 * @example
 * const { table } = qnnpackTanhTable(q, TANH_OUT_QPARAMS);
 */
export function qnnpackTanhTable(q: NonGemmQparams, out: NonGemmQparams): QnnpackLookupTable {
  const inv = invFloat(out.scale);
  return qnnpackTable((i) =>
    Math.min(Math.max(f32(f32(inv * f32(Math.tanh(lutInput(i, q)))) + out.zeroPoint), 0), 255),
  );
}

/** One element of a generic ATen unary kernel: the rounded value, the activation value, the code. */
export interface UnaryResult {
  readonly pre: number;
  readonly value: number;
  readonly code: number;
}

/**
 * The body of a generic ATen unary kernel (`cpu_kernel_vec`): maps a dequantized input to its code.
 * `vector` is true in the vector body (input from the FMA dequantize) and false in the scalar tail
 * (input from `dequantize_val`); the bodies differ in their reciprocal and library functions.
 */
export type UnaryBody = (v: number, vector: boolean) => UnaryResult;

/**
 * hardswish's generic-kernel body (engine onednn, spec §5.7): `zp_out + rne(f32(h · inv))`, with
 * `inv = f32(1.0/s_out)` (double division) in the vector body and `f32(1.0f/s_out)` in the tail.
 *
 * @example
 * hardswishBody(o)(dequantizeValFma(code, q.scale, q.zeroPoint), true).code;
 */
export function hardswishBody(out: NonGemmQparams): UnaryBody {
  const invVec = invDouble(out.scale);
  const invTail = invFloat(out.scale);
  return (v, vector) => {
    const h = hardswishFloat(v);
    const inv = vector ? invVec : invTail;
    return { pre: f32(h * inv), value: h, code: quantizeWithInvU8(h, inv, out.zeroPoint) };
  };
}

/**
 * hardsigmoid's generic-kernel body (both engines, spec §5.7): `min(max(x + 3, 0), 6) / 6` in
 * float32, quantized as in {@link hardswishBody}.
 *
 * @example
 * hardsigmoidBody(SIGMOID_OUT_QPARAMS)(0.5, false).code;
 */
export function hardsigmoidBody(out: NonGemmQparams): UnaryBody {
  const invVec = invDouble(out.scale);
  const invTail = invFloat(out.scale);
  return (v, vector) => {
    const h = f32(Math.min(Math.max(f32(v + 3), 0), 6) / 6);
    const inv = vector ? invVec : invTail;
    return { pre: f32(h * inv), value: h, code: quantizeWithInvU8(h, inv, out.zeroPoint) };
  };
}

/**
 * sigmoid's generic-kernel body (engine onednn, spec §12.C1, C2): vector body
 * `f32(1/f32(1 + sleefExpf(−v)))` (Sleef's `expf8_u10`); scalar tail `1.0f / (1.0 + std::exp(-x))`,
 * whose literal 1.0 is a double, so the division is in double (QuantizedOpKernels.cpp qsigmoid_kernel).
 *
 * @example
 * sigmoidBody(SIGMOID_OUT_QPARAMS)(0, true).code; // 128
 */
export function sigmoidBody(out: NonGemmQparams): UnaryBody {
  const invVec = invDouble(out.scale);
  const invTail = invFloat(out.scale);
  return (v, vector) => {
    const s = vector ? f32(1 / f32(1 + sleefExpf(f32(-v)))) : f32(1 / (1 + f32(Math.exp(-v))));
    const inv = vector ? invVec : invTail;
    return { pre: f32(s * inv), value: s, code: quantizeWithInvU8(s, inv, out.zeroPoint) };
  };
}

/**
 * tanh's generic-kernel body (engine onednn, spec §5.7): `zp + rne(f32(tanh(v) · f32(1/s_out)))` in
 * both bodies. PyTorch's vector body uses Sleef `tanhf8_u10` (≤ 1 ulp), emulated by a correctly
 * rounded tanh: equal on every golden, not proven equal on all inputs.
 *
 * @example
 * tanhBody(TANH_OUT_QPARAMS)(0, true).code; // 128
 */
export function tanhBody(out: NonGemmQparams): UnaryBody {
  const inv = invFloat(out.scale);
  return (v) => {
    const t = f32(Math.tanh(v));
    return { pre: f32(t * inv), value: t, code: clampU8(out.zeroPoint + roundHalfToEven(f32(t * inv))) };
  };
}

/**
 * A generic unary kernel as two 256-entry tables over the input code: `vector` for the elements of
 * the vector body (FMA dequantize), `tail` for the scalar tail (`dequantize_val`). Which elements are
 * which follows memory order (the first `⌊n/64⌋·64`, spec §12.C4).
 *
 * @example
 * const { vector, tail } = genericUnaryTables(q, hardswishBody(o));
 */
export function genericUnaryTables(q: NonGemmQparams, body: UnaryBody): { vector: Uint8Array; tail: Uint8Array } {
  const vector = new Uint8Array(256);
  const tail = new Uint8Array(256);
  for (let c = 0; c < 256; c++) {
    vector[c] = body(dequantizeValFma(c, q.scale, q.zeroPoint), true).code;
    tail[c] = body(dequantizeVal(c, q.scale, q.zeroPoint), false).code;
  }
  return { vector, tail };
}

/**
 * The dequantized value of every code, as ATen's generic `qadd` reads it (spec §5.3, §12.C4): entries
 * 0–255 with the FMA dequantize of its vector body, 256–511 with `dequantize_val` of its scalar tail.
 *
 * @example
 * const t = dequantizeTables({ scale: 0.1, zeroPoint: 10 }); // t[12] ≈ 0.2, t[256 + 12] === f32(0.2)
 */
export function dequantizeTables(q: NonGemmQparams): Float32Array {
  const t = new Float32Array(512);
  for (let c = 0; c < 256; c++) {
    t[c] = dequantizeValFma(c, q.scale, q.zeroPoint);
    t[256 + c] = dequantizeVal(c, q.scale, q.zeroPoint);
  }
  return t;
}

// ---------------------------------------------------------------------------------------------
// Engine ort: ONNX Runtime 1.30's QuantizeLinear/DequantizeLinear and the float activations it runs
// between them (docs/numerics.md "Engine ort"; kernels-js test/ort-non-gemm.test.ts checks them
// against onnxruntime-node and onnxruntime-web).

/**
 * ORT's QuantizeLinear to uint8: `clamp(rne(f32(v / f32(s))) + zp)` — a division, not a reciprocal
 * multiply (spec onnx-ort-and-peers.md §1.3), rounding half to even.
 *
 * @example
 * ortQuantize(0.25, 0.1, 10); // 12 (0.25 / 0.1 = 2.5 rounds to 2)
 * @see https://onnx.ai/onnx/operators/onnx__QuantizeLinear.html
 */
export function ortQuantize(v: number, scale: number, zeroPoint: number): number {
  return clampU8(roundHalfToEven(f32(v / f32(scale))) + zeroPoint);
}

/**
 * ORT's DequantizeLinear of a uint8 code: `f32((q − zp) · f32(s))`.
 *
 * @example
 * ortDequantize(12, 0.1, 10); // f32(0.2)
 * @see https://onnx.ai/onnx/operators/onnx__DequantizeLinear.html
 */
export function ortDequantize(q: number, scale: number, zeroPoint: number): number {
  return f32((q - zeroPoint) * f32(scale));
}

/**
 * The code bounds of engine ort's relu6/hardtanh/clamp (ONNX Clip between DequantizeLinear and
 * QuantizeLinear with the same qparams): `[Q(lo), Q(hi)]` with {@link ortQuantize} of `f32(bound)`,
 * 0 and 255 for a missing bound. `clamp(q, Q(lo), Q(hi))` is exact whether ORT runs Clip in float
 * (Q∘DQ is the identity on codes and Q is monotonic) or drops it into the quantize range.
 *
 * @example
 * const [lo, hi] = ortClipBounds({ scale: 0.05, zeroPoint: 10 }, 0, 6); // [10, 130]
 * @see https://onnx.ai/onnx/operators/onnx__Clip.html
 */
export function ortClipBounds(q: NonGemmQparams, lo: number | undefined, hi: number | undefined): [number, number] {
  return [
    lo === undefined ? 0 : ortQuantize(f32(lo), q.scale, q.zeroPoint),
    hi === undefined ? 255 : ortQuantize(f32(hi), q.scale, q.zeroPoint),
  ];
}

const ALPHA_SIXTH = f32(1 / 6);

/**
 * ONNX HardSigmoid with alpha 1/6, beta 0.5 as ORT computes it in float32:
 * `max(0, min(1, f32(f32(α·x) + 0.5)))`, α = f32(1/6).
 *
 * @example
 * ortHardsigmoidFloat(0); // 0.5
 * @see https://onnx.ai/onnx/operators/onnx__HardSigmoid.html
 */
export function ortHardsigmoidFloat(x: number): number {
  return Math.max(0, Math.min(1, f32(f32(ALPHA_SIXTH * x) + 0.5)));
}

/**
 * ONNX HardSwish as ORT computes it: `f32(x · hardsigmoid(x))` with {@link ortHardsigmoidFloat}
 * (not PyTorch's `x·relu6(x+3)/6`).
 *
 * @example
 * ortHardswishFloat(3); // 3
 * @see https://onnx.ai/onnx/operators/onnx__HardSwish.html
 */
export function ortHardswishFloat(x: number): number {
  return f32(x * ortHardsigmoidFloat(x));
}

/**
 * The multiply-add of MLAS's float kernels: fused (one rounding) in the x64 FMA3 kernels, a float32
 * multiply then an add in the wasm build (no FMA in wasm SIMD).
 */
function multiplyAdd(target: OrtTarget): (a: number, b: number, c: number) => number {
  return target === 'x64' ? fmaf : (a, b, c) => f32(f32(a * b) + c);
}

// MLAS's logistic (logistic.cpp) and tanh (tanh.cpp): Eigen's rational approximations, float32
// constants, highest power first. p is odd (x · p(x²)), q even (q(x²)).
const LOGISTIC_P = [
  4.37031012579801e-11, 1.15627324459942e-7, 6.08574864600143e-5, 8.51377133304701e-3, 2.48287947061529e-1,
].map(f32);
const LOGISTIC_Q = [
  6.10247389755681e-13, 5.76102136993427e-9, 6.2910678501704e-6, 1.70198817374094e-3, 1.16817656904453e-1,
  9.9315192102318e-1,
].map(f32);
const TANH_P = [
  -2.76076847742355e-16, 2.00018790482477e-13, -8.60467152213735e-11, 5.12229709037114e-8, 1.48572235717979e-5,
  6.37261928875436e-4, 4.89352455891786e-3,
].map(f32);
const TANH_Q = [1.19825839466702e-6, 1.18534705686654e-4, 2.268434632439e-3, 4.89352518554385e-3].map(f32);

// Horner's rule in x² with the target's multiply-add, as MLAS's kernels evaluate both polynomials.
function horner(ma: (a: number, b: number, c: number) => number, v2: number, coeffs: readonly number[]): number {
  let r = coeffs[0]!;
  for (let i = 1; i < coeffs.length; i++) r = ma(r, v2, coeffs[i]!);
  return r;
}

/**
 * MLAS's logistic: x clamped to [−18, 18], `p/q + 0.5` clamped to [0, 1] with odd/even polynomials in
 * x². x64 (AVX2 machines) runs its FMA3 kernel, wasm a multiply then an add: the two differ in the
 * last bits, and a few table entries round differently.
 */
export function ortLogistic(x: number, target: OrtTarget): number {
  const ma = multiplyAdd(target);
  const v = Math.min(Math.max(x, -18), 18);
  const v2 = f32(v * v);
  const p = f32(horner(ma, v2, LOGISTIC_P) * v);
  const q = horner(ma, v2, LOGISTIC_Q);
  return Math.max(0, Math.min(1, f32(f32(p / q) + 0.5)));
}

/**
 * MLAS's tanh (what ONNX Tanh runs on float tensors; there is no QLinearTanh, so QDQ Tanh is
 * DQ → this → Q): x clamped to [−9, 9], `f32(x·p(x²)) / q(x²)` with degree-6 and degree-3
 * polynomials in x². x64 runs its FMA3 kernel (every multiply-add fused), wasm multiply then add.
 */
export function ortTanh(x: number, target: OrtTarget): number {
  const ma = multiplyAdd(target);
  const v = Math.min(Math.max(x, -9), 9);
  const v2 = f32(v * v);
  const p = f32(horner(ma, v2, TANH_P) * v);
  return f32(p / horner(ma, v2, TANH_Q));
}

/**
 * Every code through `f` as ORT's unary QDQ and lookup-table ops map it: the 256-entry table
 * `Q_out(f(DQ_in(q)))` with {@link ortDequantize} and {@link ortQuantize}. With the identity it is
 * ORT's requantization (QLinearConcat).
 *
 * @example
 * const table = ortUnaryTable(q, { scale: 1 / 256, zeroPoint: 0 }, ortHardsigmoidFloat);
 * @see https://onnxruntime.ai/docs/performance/model-optimizations/quantization.html
 */
export function ortUnaryTable(q: NonGemmQparams, out: NonGemmQparams, f: (x: number) => number): Uint8Array {
  const t = new Uint8Array(256);
  for (let c = 0; c < 256; c++) t[c] = ortQuantize(f(ortDequantize(c, q.scale, q.zeroPoint)), out.scale, out.zeroPoint);
  return t;
}
