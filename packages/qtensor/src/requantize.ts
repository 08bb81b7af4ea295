import { QuantError } from '@quint/tensor';
import type { Engine } from './backend.js';
import { DTYPE_RANGE, type QDtype } from './dtypes.js';
import { roundHalfToEven } from './rounding.js';

// Each engine's requantization of conv/linear: the int32 accumulator
// acc = Σ (x_q − x_zp)·(w_q − w_zp[c]) is the same on every engine; what differs is how the bias
// joins it, how the multiplier is formed and where the output zero point is added.
// Sources: spec pytorch-semantics.md §5.2 (a) qnnpack, (b) onednn, (c) fbgemm;
// spec onnx-ort-and-peers.md §1.3 (ort). These functions are the living spec: small and pure.

const f32 = Math.fround;
const rne = roundHalfToEven;
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

// ---------------------------------------------------------------------------------------------
// qnnpack (spec §5.2a, verified: 0 mismatches in ~3.9×10^5 outputs)

/**
 * The qnnpack requantization multiplier of one output channel, as `generate_requantization_scales`
 * computes it in PyTorch 1.13: `M = f32(f32(f32(w_s)·f32(x_s)) · f32(1/f32(o_s)))` (spec §5.2a; the
 * older `w·x/o` form is wrong for 1.13).
 *
 * @example
 * qnnpackMultiplier(0.01, 0.004705882631242275, 0.005); // 0.009411764331161976
 * @see https://github.com/pytorch/pytorch/blob/v1.13.1/aten/src/ATen/native/quantized/cpu/qnnpack_utils.h
 */
export function qnnpackMultiplier(inputScale: number, weightScale: number, outputScale: number): number {
  return f32(f32(f32(weightScale) * f32(inputScale)) * f32(1 / f32(outputScale)));
}

/**
 * The qnnpack int32 bias of one channel: `quantize_per_tensor(b, x_s·w_s, 0, qint32)`, i.e.
 * `clamp(rne(f32(b · f32(1/f32(x_s·w_s)))), int32)` with the scale product taken in double (spec §5.2a).
 *
 * @example
 * qnnpackBias(0.05, 0.01, 0.004705882631242275); // 1062
 */
export function qnnpackBias(bias: number, inputScale: number, weightScale: number): number {
  const inv = f32(1 / f32(inputScale * weightScale));
  return clamp(rne(f32(f32(bias) * inv)), INT32_MIN, INT32_MAX);
}

/**
 * The value qnnpack (and ort) round: `f32(f32(acc + bias_q) · M)`. The int32 addition wraps, as the
 * SIMD kernel's does; `f32(acc)` is exact below 2^24 and rounds to nearest even above (`cvtdq2ps`).
 *
 * @example
 * qnnpackPreRound(6375, 1062, 0.009411764331161976); // 69.99529266357422
 */
export function qnnpackPreRound(acc: number, biasQ: number, multiplier: number): number {
  return f32(f32((acc + biasQ) | 0) * multiplier);
}

/**
 * The qnnpack output code: `clamp(o_zp + rne(preRound), lo, hi)` (spec §5.2a), with `lo = o_zp` when
 * ReLU is fused. `cvtps2dq` turns |preRound| ≥ 2^31 into INT32_MIN, which the int16 pack and the clamp
 * then send to `lo` — a huge positive value gives `lo`, not 255, as PyTorch's qnnpack kernel does
 * (checked by golden `conv2d qnnpack huge multiplier`).
 *
 * @example
 * qnnpackOutputCode(69.99529266357422, 100, { lo: 0, hi: 255 }); // 170
 */
export function qnnpackOutputCode(preRound: number, zeroPoint: number, range: OutputRange): number {
  const r = rne(preRound);
  const i = r >= 2147483648 || r < INT32_MIN || Number.isNaN(r) ? INT32_MIN : r;
  // The SSE2 kernel packs to int16 with saturation before adding the zero point (spec §5.2a).
  const s16 = clamp(i, -32768, 32767);
  return clamp(s16 + zeroPoint, range.lo, range.hi);
}

/** The clamp bounds of an output code: the dtype range, narrowed to `[o_zp, …]` when ReLU is fused. */
export interface OutputRange {
  readonly lo: number;
  readonly hi: number;
}

/**
 * The output range of a conv/linear: `[0, 255]` for quint8 (`[−128, 127]` for qint8), with the lower
 * bound raised to the zero point when ReLU is fused (PyTorch's `activationLimits`).
 *
 * @example
 * outputRange('quint8', 3, true); // { lo: 3, hi: 255 }
 */
export function outputRange(dtype: QDtype, zeroPoint: number, relu: boolean): OutputRange {
  const [qmin, qmax] = DTYPE_RANGE[dtype];
  return { lo: relu ? Math.max(qmin, zeroPoint) : qmin, hi: qmax };
}

// ---------------------------------------------------------------------------------------------
// onednn (spec §5.2b, verified: 0 mismatches in 1.8×10^6 conv and 8.8×10^4 linear outputs)

/**
 * The two ideep scales of one channel on onednn (spec §5.2b): `biasScale = f32(f32(1/x_s)·f32(1/w_s))`
 * (`bs`) and `outputScale = f32(f32(1/o_s) / bs)` (`op`). The reciprocals are taken in float; the
 * experiments could not tell float from double reciprocals apart.
 *
 * @example
 * onednnScales(0.01, 0.004705882631242275, 0.005); // { biasScale: 21250.0…, outputScale: 0.00941176… }
 */
export function onednnScales(
  inputScale: number,
  weightScale: number,
  outputScale: number,
): { biasScale: number; outputScale: number } {
  const src = f32(1 / f32(inputScale));
  const wsc = f32(1 / f32(weightScale));
  const dst = f32(1 / f32(outputScale));
  const bs = f32(src * wsc);
  return { biasScale: bs, outputScale: f32(dst / bs) };
}

/**
 * The float bias term onednn adds to `f32(acc)`: `f32(b · bs)` — the bias is never rounded to int32
 * (spec §5.2b).
 *
 * @example
 * onednnBias(0.05, 21250.001953125); // 1062.5001…
 */
export function onednnBias(bias: number, biasScale: number): number {
  return f32(f32(bias) * biasScale);
}

/**
 * The value onednn rounds, zero point included: `v = f32(f32(f32(acc) + biasTerm) · op)`, ReLU as
 * `max(v, 0)`, then `f32(v + f32(o_zp))` (spec §5.2b: the zero point is added in float *before*
 * rounding; `71.5000076 + 141` rounds to the float 212.5, which rne sends to 212).
 *
 * @example
 * onednnPreRound({ acc: 6375, biasTerm: 1062.5, outputScale: 0.0094117643, zeroPoint: 100, relu: false });
 */
export function onednnPreRound(args: {
  readonly acc: number;
  readonly biasTerm: number;
  readonly outputScale: number;
  readonly zeroPoint: number;
  readonly relu: boolean;
}): number {
  let v = onednnScaledAcc(args.acc, args.biasTerm, args.outputScale);
  if (args.relu && v < 0) v = 0;
  return f32(v + f32(args.zeroPoint));
}

/**
 * oneDNN's post-processing of one int32 accumulator to float (jit pp kernel: convert, add the bias,
 * multiply by the output scale): `f32(f32(f32(acc) + biasTerm) · outputScale)`. The static conv/linear
 * add the zero point and round it ({@link onednnPreRound}); the dynamic linear returns it.
 *
 * @example
 * onednnScaledAcc(6375, 1062.5, 0.0094117643); // 70
 */
export function onednnScaledAcc(acc: number, biasTerm: number, outputScale: number): number {
  return f32(f32(f32(acc) + biasTerm) * outputScale);
}

/**
 * The onednn output code: `clamp(rne(preRound), lo, hi)`; the zero point is already in `preRound`.
 *
 * @example
 * onednnOutputCode(212.5, { lo: 0, hi: 255 }); // 212
 */
export function onednnOutputCode(preRound: number, range: OutputRange): number {
  return clamp(rne(preRound), range.lo, range.hi);
}

// ---------------------------------------------------------------------------------------------
// ort (spec onnx-ort-and-peers.md §1.3, verified against ORT 1.30 node and wasm: 0 mismatches)

/**
 * ONNX Runtime's requantization multiplier (QLinearConv / QLinearMatMul): the scales are float32
 * tensors in the model, and `output_scales[i] = X_scale * W_scale[i] / Y_scale` in C++ float, i.e.
 * `f32(f32(f32(x_s)·f32(w_s)) / f32(y_s))`. It differs from {@link qnnpackMultiplier} in the last bit
 * for about one scale triple in four.
 *
 * @example
 * ortMultiplier(0.01, 0.004705882631242275, 0.005);
 */
export function ortMultiplier(inputScale: number, weightScale: number, outputScale: number): number {
  return f32(f32(f32(inputScale) * f32(weightScale)) / f32(outputScale));
}

/**
 * The int32 bias for engine ort: QLinearConv takes the bias as int32 "quantized using scale =
 * x_scale * w_scale and zero_point = 0" (ONNX spec), and ORT's QuantizeLinear and its quantization tool
 * divide by the float32 scale: `rne(f32(b / f32(f32(x_s)·f32(w_s))))`, clamped to int32.
 *
 * @example
 * ortBias(0.05, 0.01, 0.004705882631242275); // 1062
 */
export function ortBias(bias: number, inputScale: number, weightScale: number): number {
  const s = f32(f32(inputScale) * f32(weightScale));
  return clamp(rne(f32(f32(bias) / s)), INT32_MIN, INT32_MAX);
}

/**
 * The ort output code. MLAS (`MlasRequantizeOutput`) converts `acc + bias` to float, multiplies by the
 * float32 scale, clamps to `[lo − zp, hi − zp]` in float and rounds half to even (`cvtps2dq`), then
 * adds the zero point: equal to `clamp(zp + rne(preRound), lo, hi)` with `preRound` from
 * {@link qnnpackPreRound}.
 *
 * @example
 * ortOutputCode(69.99529266357422, 100, { lo: 0, hi: 255 }); // 170
 */
export function ortOutputCode(preRound: number, zeroPoint: number, range: OutputRange): number {
  return clamp(zeroPoint + rne(preRound), range.lo, range.hi);
}

// ---------------------------------------------------------------------------------------------
// fbgemm (spec §5.2c, from source only — experimental)

/**
 * FBGEMM's scales of one channel (spec §5.2c, [S] `qconv.cpp`/`qlinear.cpp`):
 * `actTimesWScale = f32(f32(x_s)·f32(w_s))` and `multiplier = f32(actTimesWScale / f32(o_s))`.
 *
 * @experimental
 * @example
 * fbgemmScales(0.01, 0.004705882631242275, 0.005);
 */
export function fbgemmScales(
  inputScale: number,
  weightScale: number,
  outputScale: number,
): { actTimesWScale: number; multiplier: number } {
  const atw = f32(f32(inputScale) * f32(weightScale));
  return { actTimesWScale: atw, multiplier: f32(atw / f32(outputScale)) };
}

/**
 * FBGEMM's float bias term (spec §5.2c): per-tensor `f32(b · f32(1.0/(double)atw))`, per-channel
 * `f32(b / atw[c])` (`_mm256_div_ps`).
 *
 * @experimental
 * @example
 * fbgemmBias(0.05, Math.fround(0.01 * 0.004705882631242275), false);
 */
export function fbgemmBias(bias: number, actTimesWScale: number, perChannel: boolean): number {
  return perChannel ? f32(f32(bias) / actTimesWScale) : f32(f32(bias) * f32(1 / actTimesWScale));
}

/**
 * The value FBGEMM rounds: `f32(f32(f32(acc) + biasTerm) · M)` (spec §5.2c,
 * `requantizeOutputProcessingAvx2`).
 *
 * @experimental
 * @example
 * fbgemmPreRound(6375, 1062.5, 0.009411764);
 */
export function fbgemmPreRound(acc: number, biasTerm: number, multiplier: number): number {
  return f32(f32(f32(acc) + biasTerm) * multiplier);
}

/**
 * The FBGEMM output code: `clamp(sat16(rne(preRound)) + o_zp, lo, hi)` — the zero point is added
 * after rounding, with an int16 saturating add (spec §5.2c). FBGEMM rounds with `cvtps2dq` too, so
 * |preRound| ≥ 2^31 becomes INT32_MIN as on qnnpack [I: same instruction, not run].
 *
 * @experimental
 * @example
 * fbgemmOutputCode(69.9953, 100, { lo: 0, hi: 255 }); // 170
 */
export function fbgemmOutputCode(preRound: number, zeroPoint: number, range: OutputRange): number {
  const r = rne(preRound);
  const i = r >= 2147483648 || r < INT32_MIN || Number.isNaN(r) ? INT32_MIN : r;
  const s16 = clamp(i, -32768, 32767);
  return clamp(clamp(s16 + zeroPoint, -32768, 32767), range.lo, range.hi);
}

// ---------------------------------------------------------------------------------------------
// Other kernels (spec §1.5)

/**
 * PyTorch's `requantize_from_int` (spec §1.5), used by `quantized::mul`, `add_scalar`, `prelu`:
 * `clamp(zp + rne(f32(f32(acc) · multiplier)), qmin, qmax)`.
 *
 * @example
 * requantizeFromInt(150, Math.fround(0.05), { zeroPoint: 3 }); // 3 + rne(7.5) = 11
 */
export function requantizeFromInt(
  acc: number,
  multiplier: number,
  out: { readonly zeroPoint: number; readonly dtype?: QDtype },
): number {
  const [qmin, qmax] = DTYPE_RANGE[out.dtype ?? 'quint8'];
  return clamp(out.zeroPoint + rne(f32(f32(acc) * multiplier)), qmin, qmax);
}

// ---------------------------------------------------------------------------------------------
// All channels of one conv/linear call, per engine

/** Inputs of {@link prepareGemmRequantization}. */
export interface GemmRequantizationParams {
  /** The input scale (a double, as `q_scale()`). */
  readonly inputScale: number;
  /** One weight scale per output channel (doubles; a per-tensor weight repeats its scale). */
  readonly weightScales: ArrayLike<number>;
  /** True for per-channel weights (fbgemm's bias form depends on it). */
  readonly perChannel: boolean;
  readonly outputScale: number;
  readonly outputZeroPoint: number;
  /** Default `'quint8'`. */
  readonly outputDtype?: QDtype;
  /** The float32 bias, one per output channel, or null. */
  readonly bias: Float32Array | null;
  readonly relu: boolean;
}

/**
 * Everything one conv/linear call needs per output channel, for one engine: the multipliers, the bias
 * in the form the engine adds it, and the output range. Backends compute it once per call (it depends
 * on the input scale, known only at run time) and then map each accumulator with
 * {@link requantizeAcc}.
 */
export interface GemmRequantization {
  readonly engine: Engine;
  /** `M[c]` (qnnpack, ort, fbgemm) or ideep's `op[c]` (onednn), float32 values. */
  readonly multipliers: Float32Array;
  /** `'int32'` (qnnpack, ort), `'float'` (onednn, fbgemm), or `'none'`. */
  readonly biasKind: 'int32' | 'float' | 'none';
  /** `bias_q[c]` for `'int32'`, the float32 bias term for `'float'`, zeros for `'none'`. */
  readonly bias: Int32Array | Float32Array;
  /** onednn: `bs[c]`; fbgemm: `actTimesWScale[c]`; otherwise null. */
  readonly biasScales: Float32Array | null;
  readonly outputZeroPoint: number;
  readonly range: OutputRange;
  readonly relu: boolean;
}

/**
 * Computes the per-channel requantization of one conv/linear call for `engine` (spec §5.2 a/b/c,
 * onnx-ort-and-peers §1.3).
 *
 * @throws `QuantError('INVALID_ARGUMENT')` when the bias length differs from the channel count.
 * @example
 * const rq = prepareGemmRequantization('qnnpack', { inputScale: 0.01, weightScales: [0.0047, 0.0047],
 *   perChannel: false, outputScale: 0.005, outputZeroPoint: 100, bias: new Float32Array([0.05, -0.02]), relu: false });
 * requantizeAcc(rq, 6375, 0); // 170
 */
export function prepareGemmRequantization(engine: Engine, p: GemmRequantizationParams): GemmRequantization {
  const n = p.weightScales.length;
  if (p.bias !== null && p.bias.length !== n) {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `requantization: bias has ${p.bias.length} values for ${n} output channels; pass one bias per output channel or null.`,
    );
  }
  const multipliers = new Float32Array(n);
  let bias: Int32Array | Float32Array;
  let biasScales: Float32Array | null = null;
  const b = p.bias;
  switch (engine) {
    case 'qnnpack':
    case 'ort': {
      const bq = new Int32Array(n);
      for (let c = 0; c < n; c++) {
        const ws = p.weightScales[c]!;
        if (engine === 'qnnpack') {
          multipliers[c] = qnnpackMultiplier(p.inputScale, ws, p.outputScale);
          if (b) bq[c] = qnnpackBias(b[c]!, p.inputScale, ws);
        } else {
          multipliers[c] = ortMultiplier(p.inputScale, ws, p.outputScale);
          if (b) bq[c] = ortBias(b[c]!, p.inputScale, ws);
        }
      }
      bias = bq;
      break;
    }
    case 'onednn': {
      const bf = new Float32Array(n);
      biasScales = new Float32Array(n);
      for (let c = 0; c < n; c++) {
        const s = onednnScales(p.inputScale, p.weightScales[c]!, p.outputScale);
        multipliers[c] = s.outputScale;
        biasScales[c] = s.biasScale;
        if (b) bf[c] = onednnBias(b[c]!, s.biasScale);
      }
      bias = bf;
      break;
    }
    case 'fbgemm': {
      const bf = new Float32Array(n);
      biasScales = new Float32Array(n);
      for (let c = 0; c < n; c++) {
        const s = fbgemmScales(p.inputScale, p.weightScales[c]!, p.outputScale);
        multipliers[c] = s.multiplier;
        biasScales[c] = s.actTimesWScale;
        if (b) bf[c] = fbgemmBias(b[c]!, s.actTimesWScale, p.perChannel);
      }
      bias = bf;
      break;
    }
    default:
      throw new QuantError(
        'INVALID_ARGUMENT',
        `unknown engine '${String(engine)}'; use 'qnnpack', 'onednn', 'ort' or 'fbgemm'.`,
      );
  }
  const biasKind = b === null ? 'none' : engine === 'qnnpack' || engine === 'ort' ? 'int32' : 'float';
  return {
    engine,
    multipliers,
    biasKind,
    bias,
    biasScales,
    outputZeroPoint: p.outputZeroPoint,
    range: outputRange(p.outputDtype ?? 'quint8', p.outputZeroPoint, p.relu),
    relu: p.relu,
  };
}

/**
 * The value an engine rounds for accumulator `acc` of channel `c` (the `preRound` of a trace record;
 * on onednn it includes the output zero point).
 *
 * @example
 * requantizePreRound(rq, 6375, 0); // 69.99529266357422 on qnnpack
 */
export function requantizePreRound(rq: GemmRequantization, acc: number, c: number): number {
  switch (rq.engine) {
    case 'qnnpack':
    case 'ort':
      return qnnpackPreRound(acc, rq.bias[c]!, rq.multipliers[c]!);
    case 'onednn':
      return onednnPreRound({
        acc,
        biasTerm: rq.bias[c]!,
        outputScale: rq.multipliers[c]!,
        zeroPoint: rq.outputZeroPoint,
        relu: rq.relu,
      });
    case 'fbgemm':
      return fbgemmPreRound(acc, rq.bias[c]!, rq.multipliers[c]!);
  }
}

/**
 * The output code of a pre-round value (see {@link requantizePreRound}).
 *
 * @example
 * requantizeOutputCode(rq, 69.99529266357422); // 170 on qnnpack with o_zp 100
 */
export function requantizeOutputCode(rq: GemmRequantization, preRound: number): number {
  switch (rq.engine) {
    case 'qnnpack':
      return qnnpackOutputCode(preRound, rq.outputZeroPoint, rq.range);
    case 'ort':
      return ortOutputCode(preRound, rq.outputZeroPoint, rq.range);
    case 'onednn':
      return onednnOutputCode(preRound, rq.range);
    case 'fbgemm':
      return fbgemmOutputCode(preRound, rq.outputZeroPoint, rq.range);
  }
}

/**
 * The output code of accumulator `acc` in channel `c`: {@link requantizeOutputCode} of
 * {@link requantizePreRound}.
 *
 * @example
 * requantizeAcc(rq, 6375, 0); // 170 for the spec §5.2 worked example on qnnpack
 */
export function requantizeAcc(rq: GemmRequantization, acc: number, c: number): number {
  return requantizeOutputCode(rq, requantizePreRound(rq, acc, c));
}

// ---------------------------------------------------------------------------------------------
// Dynamic quantization (spec §5.10)

/**
 * PyTorch's `ChooseQuantizationParams` for a dynamic activation (spec §5.10,
 * `aten/src/ATen/native/quantized/cpu/QuantUtils.h`): range widened to include 0, scale in double
 * rounded to float32 at the end, `SMALL_SCALE_THRESHOLD` 6.1e−5, and the zero point chosen by the
 * smaller error (PyTorch's copy subtracts: `|qmin| − |min/scale|`).
 *
 * @example
 * chooseQuantizationParams({ min: -1, max: 3, qmin: 0, qmax: 255 }); // { scale: 0.015686275…, zeroPoint: 64 }
 * @see https://github.com/pytorch/pytorch/blob/v1.13.1/aten/src/ATen/native/quantized/cpu/QuantUtils.h
 */
export function chooseQuantizationParams(args: DynamicRange): { scale: number; zeroPoint: number } {
  const qp = chooseQuantizationParamsDouble(args);
  return { scale: f32(qp.scale), zeroPoint: qp.zeroPoint };
}

/** The arguments of {@link chooseQuantizationParams}. */
export interface DynamicRange {
  readonly min: number;
  readonly max: number;
  readonly qmin: number;
  readonly qmax: number;
  readonly reduceRange?: boolean;
}

/**
 * {@link chooseQuantizationParams} with the scale as PyTorch's `TensorQuantizationParams` holds it: a
 * double, not rounded to float32 (`(max − min)/(qmax − qmin)`, 0.1, or 6.1e−5f). onednn's dynamic
 * linear divides 1.0 by this double (`1.0/q_params.scale`); `torch._choose_qparams_per_tensor` returns it.
 *
 * @example
 * chooseQuantizationParamsDouble({ min: -1, max: 3, qmin: 0, qmax: 255 }); // { scale: 0.01568627450980392, zeroPoint: 64 }
 */
export function chooseQuantizationParamsDouble(args: DynamicRange): { scale: number; zeroPoint: number } {
  let { qmin, qmax } = args;
  if (args.reduceRange) {
    qmin = Math.trunc(qmin / 2);
    qmax = Math.trunc(qmax / 2);
  }
  let mn = Math.min(f32(args.min), 0);
  let mx = Math.max(f32(args.max), 0);
  let scale = (mx - mn) / (qmax - qmin);
  if (f32(scale) === 0 || !Number.isFinite(f32(1 / f32(scale)))) scale = 0.1;
  const SMALL = f32(6.1e-5);
  if (scale < SMALL) {
    const org = f32(scale);
    scale = SMALL;
    if (mn === 0) mx = f32(SMALL * (qmax - qmin));
    else if (mx === 0) mn = f32(-SMALL * (qmax - qmin));
    else {
      const amp = f32(SMALL / org);
      mn = f32(mn * amp);
      mx = f32(mx * amp);
    }
  }
  const zmin = qmin - mn / scale;
  const zmax = qmax - mx / scale;
  const emin = Math.abs(qmin) - Math.abs(mn / scale);
  const emax = Math.abs(qmax) - Math.abs(mx / scale);
  const z = emin < emax ? zmin : zmax;
  const zeroPoint = z < qmin ? qmin : z > qmax ? qmax : rne(z);
  return { scale, zeroPoint };
}

// onednn's dynamic linear (spec §5.10; verified by tools/goldens/onednn_dynamic_probe.py: 0 of
// 440,600 outputs differ). PyTorch hands ideep the float input; oneDNN quantizes it with a reorder,
// accumulates in int32 and scales back to float with its post-processing kernel.

/**
 * One activation code of onednn's dynamic linear: oneDNN's f32→u8 reorder with output scale
 * `inv = f32(1/x_s)` and destination zero point adds the zero point as a float *before* rounding and
 * saturates to 0..255 (not 0..127, even with `reduce_range`): `rne(clamp(f32(f32(x·inv) + zp), 0, 255))`.
 * `zp + rne(x·inv)` (quantize_per_tensor) differs near ties.
 *
 * @example
 * onednnDynamicQuantize(0.5, 100, 64); // 114
 */
export function onednnDynamicQuantize(x: number, inv: number, zeroPoint: number): number {
  return rne(clamp(f32(f32(x * inv) + zeroPoint), 0, 255));
}

/**
 * ideep's two scales of one output channel of onednn's dynamic linear: `biasScale =
 * f32(f32(1/x_s)·wsc)` (`bs`, the bias is reordered to `f32(b·bs)`) and `outputScale = f32(1/bs)`.
 * `wsc` is the reciprocal PyTorch's onednn prepack stores: `f32(1.0/w_s)` in double per tensor,
 * `1.0f/f32(w_s)` in float per channel (they differ when `w_s` is not a float32).
 *
 * @example
 * onednnDynamicScales(0.01, 0.005, false); // { biasScale: 20000, outputScale: 0.0000499999987… }
 */
export function onednnDynamicScales(
  inputScale: number,
  weightScale: number,
  perChannel: boolean,
): { biasScale: number; outputScale: number } {
  const wsc = perChannel ? f32(1 / f32(weightScale)) : f32(1 / weightScale);
  const bs = f32(f32(1 / inputScale) * wsc);
  return { biasScale: bs, outputScale: f32(1 / bs) };
}
