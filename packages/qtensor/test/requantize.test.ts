// Per-engine requantization of conv/linear against the spec's worked numbers (pytorch-semantics.md
// §5.2, §5.10) and values computed independently in float32 numpy.
import { describe, expect, it } from 'vitest';
import {
  chooseQuantizationParams,
  fbgemmOutputCode,
  onednnOutputCode,
  onednnPreRound,
  ortBias,
  ortMultiplier,
  prepareGemmRequantization,
  qnnpackBias,
  qnnpackMultiplier,
  qnnpackOutputCode,
  qnnpackPreRound,
  requantizeAcc,
  requantizeFromInt,
} from '../src/index.js';

const f32 = Math.fround;
const U8 = { lo: 0, hi: 255 };

describe('qnnpack (spec §5.2a worked example)', () => {
  it('M = 0.009411764331161976, bias_q = [1062, −425], preRound [69.99529, −3.9999998], y = [170, 96]', () => {
    const ws = 0.004705882631242275;
    const m = qnnpackMultiplier(0.01, ws, 0.005);
    expect(m).toBe(0.009411764331161976);
    expect(qnnpackBias(0.05, 0.01, ws)).toBe(1062);
    expect(qnnpackBias(-0.02, 0.01, ws)).toBe(-425);
    expect(qnnpackPreRound(6375, 1062, m)).toBe(f32(69.99529));
    expect(qnnpackOutputCode(qnnpackPreRound(6375, 1062, m), 100, U8)).toBe(170);
    expect(qnnpackOutputCode(qnnpackPreRound(0, -425, m), 100, U8)).toBe(96);
  });

  it('a pre-round value beyond int32 becomes INT32_MIN in cvtps2dq and then the lower bound', () => {
    // Golden `linear qnnpack huge multiplier 2500` shows PyTorch doing exactly this.
    expect(qnnpackOutputCode(5.2e9, 10, U8)).toBe(0);
    expect(qnnpackOutputCode(5.2e9, 10, { lo: 10, hi: 255 })).toBe(10);
    expect(qnnpackOutputCode(2.0e9, 10, U8)).toBe(255);
  });
});

describe('onednn (spec §5.2b)', () => {
  it('adds the zero point before rounding: 71.5000076 + 141 rounds to the float 212.5, then to 212', () => {
    // v = f32(f32(acc)·op) with acc·op ≈ 71.5000076; build it from op = 71.5000076 / 1000.
    const op = f32(71.5000076 / 1000);
    const pre = onednnPreRound({ acc: 1000, biasTerm: 0, outputScale: op, zeroPoint: 141, relu: false });
    expect(pre).toBe(212.5);
    expect(onednnOutputCode(pre, U8)).toBe(212);
    expect(141 + Math.round(f32(1000 * op))).toBe(213); // zp + rne(v) would give 213
  });

  it('ReLU clamps v at 0 before the zero point is added', () => {
    expect(onednnPreRound({ acc: -1000, biasTerm: 0, outputScale: 0.01, zeroPoint: 7, relu: true })).toBe(7);
  });
});

describe('ort (onnx-ort-and-peers §1.3)', () => {
  it('f32(f32(x_s·w_s)/y_s) differs from qnnpack in the last bit for some triples', () => {
    const [xs, ws, ys] = [0.01564428210258484, 0.08214304596185684, 0.0686454027891159];
    expect(ortMultiplier(xs, ws, ys)).toBe(0.018720394000411034); // float32 numpy
    expect(qnnpackMultiplier(xs, ws, ys)).toBe(0.018720395863056183);
  });

  it('the int32 bias divides by the float32 scale product', () => {
    expect(ortBias(0.05, 0.01, 0.004705882631242275)).toBe(1062);
    expect(ortBias(-3e9, 1, 1)).toBe(-2147483648);
  });
});

describe('fbgemm (spec §5.2c, experimental)', () => {
  it('zero point added after rounding, int16 saturation before the add', () => {
    expect(fbgemmOutputCode(69.9953, 100, U8)).toBe(170);
    expect(fbgemmOutputCode(-117.49793, 226, U8)).toBe(109);
    expect(fbgemmOutputCode(40000, -100, { lo: -128, hi: 127 })).toBe(127);
  });
});

describe('prepareGemmRequantization / requantizeAcc', () => {
  it('gives the worked example on every engine', () => {
    for (const engine of ['qnnpack', 'onednn', 'ort', 'fbgemm'] as const) {
      const rq = prepareGemmRequantization(engine, {
        inputScale: 0.01,
        weightScales: [0.004705882631242275, 0.004705882631242275],
        perChannel: false,
        outputScale: 0.005,
        outputZeroPoint: 100,
        bias: Float32Array.of(0.05, -0.02),
        relu: false,
      });
      expect([requantizeAcc(rq, 6375, 0), requantizeAcc(rq, 0, 1)]).toEqual([170, 96]);
      expect(rq.biasKind).toBe(engine === 'qnnpack' || engine === 'ort' ? 'int32' : 'float');
    }
  });

  it('rejects a bias of the wrong length', () => {
    expect(() =>
      prepareGemmRequantization('qnnpack', {
        inputScale: 1,
        weightScales: [1],
        perChannel: false,
        outputScale: 1,
        outputZeroPoint: 0,
        bias: Float32Array.of(1, 2),
        relu: false,
      }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

describe('requantizeFromInt (spec §1.5)', () => {
  it('clamp(zp + rne(f32(f32(acc)·M)))', () => {
    expect(requantizeFromInt(150, f32(0.05), { zeroPoint: 3 })).toBe(11); // f32(0.05)·150 = 7.50000011 → 8
    expect(requantizeFromInt(5, 0.5, { zeroPoint: 3 })).toBe(5); // 2.5 → 2
    expect(requantizeFromInt(7, 0.5, { zeroPoint: 3 })).toBe(7); // 3.5 → 4
    expect(requantizeFromInt(-1000, 1, { zeroPoint: 3 })).toBe(0);
    expect(requantizeFromInt(-1000, 1, { zeroPoint: 3, dtype: 'qint8' })).toBe(-128);
  });
});

describe('chooseQuantizationParams (spec §5.10), against the verified Python of experiment e11', () => {
  it.each([
    [-1, 3, false, 0.01568627543747425, 64],
    [-1, 3, true, 0.031496062874794006, 32],
    [0.5, 2, false, 0.007843137718737125, 0],
    [-2, -1, false, 0.007843137718737125, 255],
    [0, 0, false, 0.10000000149011612, 0],
    [-1e-6, 2e-6, false, 6.0999998822808266e-5, 85],
    [0, 1e-7, false, 6.0999998822808266e-5, 0],
    [-3.3, 0.7, false, 0.0156862735748291, 210],
  ])('min %d max %d reduceRange %s → scale %d, zero point %d', (min, max, reduceRange, scale, zeroPoint) => {
    expect(chooseQuantizationParams({ min, max, qmin: 0, qmax: 255, reduceRange })).toEqual({ scale, zeroPoint });
  });
});
