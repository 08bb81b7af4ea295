// Numeric edge cases with stated behaviour (issue 12; the table is SECURITY.md's and
// docs/numerics.md "Edge cases"), through the public APIs: observers → converter → kernels-js and
// kernels-wasm (conv/linear in wasm, the other ops on kernels-js, as the demo runs them).
import { describe, expect, it } from 'vitest';
import { Tensor, isQuantError } from '@quint/tensor';
import { QTensor, quantizePerTensor, type QuantizedBackend } from '@quint/qtensor';
import { HistogramObserver, MinMaxObserver, PerChannelMinMaxObserver, QConfig } from '@quint/observers';
import { DeQuantStub, Linear, Module, Parameter, QuantStub } from '@quint/nn';
import { convert, prepare } from '@quint/converter';
import { createJsBackend } from '@quint/kernels-js';
import { createWasmWithJsFallback } from '../src/demo/backends.js';

const EPS = 2 ** -23; // torch.finfo(torch.float32).eps, the smallest scale an observer returns
const t = (v: number[], s = [v.length]): Tensor => Tensor.fromArray(v, s);
const quiet = (): void => {};

class Lin extends Module {
  quant = new QuantStub();
  fc = new Linear(3, 2);
  dequant = new DeQuantStub();
  forward(x: Tensor): Tensor {
    return this.dequant.call(this.fc.call(this.quant.call(x)));
  }
}

function error(f: () => unknown): { code: string; message: string } {
  try {
    f();
  } catch (e) {
    if (isQuantError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected a QuantError');
}

const qparams = (
  o: { forward(x: Tensor): unknown; calculateQparams(): { scale: Float32Array; zeroPoint: Int32Array } },
  x: Tensor,
): [number[], number[]] => {
  o.forward(x);
  const q = o.calculateQparams();
  return [Array.from(q.scale), Array.from(q.zeroPoint)];
};

const perTensor = new QConfig({
  activation: MinMaxObserver,
  weight: MinMaxObserver.withArgs({ dtype: 'qint8', qscheme: 'per_tensor_symmetric' }),
});
const perChannel = new QConfig({
  activation: MinMaxObserver,
  weight: PerChannelMinMaxObserver.withArgs({ dtype: 'qint8', qscheme: 'per_channel_symmetric', chAxis: 0 }),
});

/** Lin with these weights and bias, calibrated on `calib` and converted for `backend`. */
function quantized(w: number[], b: number[], calib: number[][], backend: QuantizedBackend, qconfig = perTensor): Lin {
  const m = new Lin();
  m.fc.weight = new Parameter(t(w, [2, 3]));
  m.fc.bias = new Parameter(t(b));
  m.qconfig = qconfig;
  m.eval();
  const p = prepare(m);
  for (const c of calib) p.call(t(c, [1, 3]));
  return convert(p, { backend });
}

async function backends(): Promise<[string, QuantizedBackend][]> {
  return [
    ['kernels-js', createJsBackend()],
    ['kernels-wasm+js', (await createWasmWithJsFallback()).backend],
  ];
}

/** Output of Lin on both backends: asserted equal (bit for bit), returned once. */
async function run(
  w: number[],
  b: number[],
  calib: number[][],
  x: number[][],
  qconfig = perTensor,
): Promise<number[][]> {
  const outs = (await backends()).map(([, be]) => {
    const q = quantized(w, b, calib, be, qconfig);
    return x.map((xi) => Array.from((q.call(t(xi, [1, 3])) as Tensor).toFloat32Array()));
  });
  expect(outs[1]).toEqual(outs[0]);
  return outs[0]!;
}

describe('observers on degenerate data', () => {
  it('all-zero, constant, single-element and subnormal data: scale ≥ eps, the range always holds 0', () => {
    expect(qparams(new MinMaxObserver(), t([0, 0, 0]))).toEqual([[EPS], [0]]);
    expect(qparams(new HistogramObserver(), t([0, 0, 0]))).toEqual([[EPS], [0]]);
    expect(qparams(new MinMaxObserver(), t([2.5, 2.5]))).toEqual([[Math.fround(2.5 / 255)], [0]]);
    expect(qparams(new MinMaxObserver(), t([-3, -3]))).toEqual([[Math.fround(3 / 255)], [255]]);
    expect(qparams(new MinMaxObserver(), t([7]))).toEqual([[Math.fround(7 / 255)], [0]]);
    expect(qparams(new MinMaxObserver({ dtype: 'qint8', qscheme: 'per_tensor_symmetric' }), t([7]))).toEqual([
      [Math.fround(14 / 255)],
      [0],
    ]);
    expect(qparams(new MinMaxObserver(), t([1e-40, -1e-41]))).toEqual([[EPS], [0]]);
    expect(
      qparams(
        new PerChannelMinMaxObserver({ dtype: 'qint8', qscheme: 'per_channel_symmetric', chAxis: 0 }),
        t([0, 0, 0, 1, -2, 0.5], [2, 3]),
      ),
    ).toEqual([
      [EPS, Math.fround(4 / 255)],
      [0, 0],
    ]);
  });

  it('NaN/±Inf: NON_FINITE with the count, or skipped with ignoreNonFinite (qparams of the finite values)', () => {
    const e = error(() => new MinMaxObserver().forward(t([1, Number.NaN, Number.POSITIVE_INFINITY])));
    expect(e).toEqual({
      code: 'NON_FINITE',
      message:
        'MinMaxObserver.forward: 2 of 3 values are NaN or ±Inf; clean the data or create the observer with { ignoreNonFinite: true }.',
    });
    const warnings: string[] = [];
    const skip = new MinMaxObserver({ ignoreNonFinite: true, warn: (m: string) => warnings.push(m) } as never);
    expect(qparams(skip, t([1, Number.NaN, Number.NEGATIVE_INFINITY, -2]))).toEqual(
      qparams(new MinMaxObserver(), t([1, -2])),
    );
  });

  it('a range beyond float32 (±3.4e38) gives scale +Inf as PyTorch 1.13 (float32 arithmetic); quantizing with it is INVALID_QPARAMS', () => {
    const [[s]] = qparams(new MinMaxObserver(), t([3.4e38, -3.4e38]));
    expect(s).toBe(Number.POSITIVE_INFINITY);
    expect(error(() => quantizePerTensor(t([1]), s!, 0, 'quint8')).code).toBe('INVALID_QPARAMS');
  });
});

describe('quantize: NaN/±Inf and scales at the float32 limits', () => {
  it('NaN, ±Inf and |x/s| ≥ 2^63 quantize to qmin, whatever the zero point (PyTorch 1.13 on x86)', () => {
    const x = t([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e30, -1e30, 0]);
    expect(Array.from(quantizePerTensor(x, 0.1, 128, 'quint8').data)).toEqual([0, 0, 0, 0, 0, 128]);
    expect(Array.from(quantizePerTensor(x, 0.1, 0, 'qint8').data)).toEqual([-128, -128, -128, -128, -128, 0]);
  });
  it('scales from FLT_MIN to FLT_MAX work; below, f32(1/scale) is +Inf and every value goes to qmin (PyTorch multiplies by it); 0 or > FLT_MAX is INVALID_QPARAMS', () => {
    expect(Array.from(quantizePerTensor(t([1e-37, 1]), 1e-38, 0, 'quint8').data)).toEqual([10, 0]); // 1 / 1e-38 ≥ 2^63: qmin
    expect(Array.from(quantizePerTensor(t([1e-44, 1]), 1e-45, 0, 'quint8').data)).toEqual([0, 0]);
    expect(Array.from(quantizePerTensor(t([3.4e38, 1]), 3.4e38, 0, 'quint8').data)).toEqual([1, 0]);
    expect(error(() => quantizePerTensor(t([1]), 1e-46, 0, 'quint8')).message).toBe(
      'quantizePerTensor: scale 1e-46 must be a positive finite float32; pass a scale > 0.',
    );
    expect(error(() => quantizePerTensor(t([1]), 1e39, 0, 'quint8')).code).toBe('INVALID_QPARAMS');
  });
  it('zero points at the ends of the range are exact; one past is INVALID_QPARAMS', () => {
    expect(Array.from(quantizePerTensor(t([-1, 0, 1, 300]), 1, 255, 'quint8').data)).toEqual([254, 255, 255, 255]);
    expect(Array.from(quantizePerTensor(t([-1, 0, 300]), 1, 0, 'quint8').data)).toEqual([0, 0, 255]);
    expect(Array.from(quantizePerTensor(t([-200, 0, 1]), 1, 127, 'qint8').data)).toEqual([-73, 127, 127]);
    expect(error(() => quantizePerTensor(t([1]), 1, 256, 'quint8')).code).toBe('INVALID_QPARAMS');
    expect(error(() => quantizePerTensor(t([1]), 1, -129, 'qint8')).code).toBe('INVALID_QPARAMS');
  });
});

describe('observers → convert → kernels-js and kernels-wasm', () => {
  const W = [0.1, -0.2, 0.3, 0.4, 0.5, -0.6];
  const B = [0.5, -0.25];

  it('all-zero calibration (scale eps): runs, identical on both backends; inputs saturate to qmax', async () => {
    const [y] = await run(W, B, [[0, 0, 0]], [[1, 2, 3]]);
    expect(y!.every(Number.isFinite)).toBe(true);
  });

  it('NaN/±Inf inputs at run time quantize to code 0 (qmin), as an input of the lowest representable value', async () => {
    const [be] = await backends();
    const q = quantized(
      W,
      B,
      [
        [1, 2, 3],
        [-1, 0, 0.5],
      ],
      be![1],
    );
    const stub = q.quant as unknown as { scale: number; zeroPoint: number };
    const low = (0 - stub.zeroPoint) * stub.scale;
    const [a, b] = await run(
      W,
      B,
      [
        [1, 2, 3],
        [-1, 0, 0.5],
      ],
      [
        [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY],
        [low, low, low],
      ],
    );
    expect(a).toEqual(b);
  });

  it('NaN/±Inf calibration data: NON_FINITE at calibration', async () => {
    const be = createJsBackend();
    expect(error(() => quantized(W, B, [[1, Number.NaN, 3]], be)).code).toBe('NON_FINITE');
  });

  it('NaN/±Inf weights: NON_FINITE (the NaN reaches the activation observer at calibration, the weight observer at convert)', async () => {
    const be = createJsBackend();
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(error(() => quantized([bad, -0.2, 0.3, 0.4, 0.5, -0.6], B, [[1, 2, 3]], be)).code).toBe('NON_FINITE');
      const skipActs = new QConfig({
        activation: MinMaxObserver.withArgs({ ignoreNonFinite: true, warn: quiet } as never),
        weight: perTensor.weight,
      });
      const e = error(() => quantized([bad, -0.2, 0.3, 0.4, 0.5, -0.6], B, [[1, 2, 3]], be, skipActs));
      expect(e.code).toBe('NON_FINITE');
      // The weight is refused before its observer (whose ignoreNonFinite is for calibration data), naming the layer.
      expect(e.message).toBe(
        "convert: Linear at 'fc': nnq.Linear.fromFloat: the float weight [2, 3] has 1 NaN/±Inf value(s) of 6; fix the float model's weights before converting.",
      );
    }
  });

  it('subnormal calibration data: scale eps; runs on both', async () => {
    const [y] = await run(W, B, [[1e-40, 0, -1e-40]], [[1, 2, 3]]);
    expect(y!.every(Number.isFinite)).toBe(true);
  });

  it('requantization multipliers above 1 (here ≈ 260): applied as PyTorch does, saturating at qmin/qmax, identical on both', async () => {
    // Weights that cancel on the calibration data: the output range is [0, 0], so y_s = eps ≪ x_s·w_s.
    const [zero, pos, neg] = await run(
      [1, -1, 0, 0, 0, 0],
      [0, 0],
      [[1, 1, 1]],
      [
        [1, 1, 1],
        [1, 0.9, 1],
        [0.9, 1, 1],
      ],
    );
    expect(zero).toEqual([0, 0]);
    expect(pos![0]).toBe(Math.fround(255 * EPS));
    expect(neg![0]).toBe(0);
  });

  it('per-channel weights with an all-zero channel (a pruned channel) and a bias: converts and runs; that channel outputs its bias', async () => {
    const [y] = await run(
      [0, 0, 0, 0.4, 0.5, -0.6],
      [0.5, -0.25],
      [
        [1, 2, 3],
        [-1, 0, 1],
      ],
      [[1, 2, 3]],
      perChannel,
    );
    expect(Math.abs(y![0]! - 0.5)).toBeLessThan(0.01);
  });

  it('zero points at the ends of the range through the linear kernels: identical on both backends', async () => {
    const bes = await backends();
    const w = new QTensor(Int8Array.from([-128, 127, 5, -7, 0, 1]), [2, 3], 'qint8', {
      qscheme: 'per_tensor_symmetric',
      scale: 0.01,
      zeroPoint: 0,
    });
    const results = bes.map(([, be]) =>
      [0, 255].flatMap((xzp) =>
        [0, 255].map((yzp) => {
          const x = new QTensor(Uint8Array.from([0, 255, 128]), [1, 3], 'quint8', {
            qscheme: 'per_tensor_affine',
            scale: 0.02,
            zeroPoint: xzp,
          });
          return Array.from(
            be.kernels.linear(x, be.prepackLinear(w, new Float32Array([0.1, -0.1])), { scale: 0.05, zeroPoint: yzp })
              .data,
          );
        }),
      ),
    );
    expect(results[1]).toEqual(results[0]);
    expect(results[0]!.flat().every((c) => c >= 0 && c <= 255)).toBe(true);
  });
});
