// linearDynamic on engine onednn against PyTorch 1.13 (goldens/kernels-linear-dynamic-onednn.json from
// tools/goldens/onednn_dynamic_probe.py): every float32 output bit for bit, over per-tensor and
// per-channel weights (double scales included), 2-D and 3-D inputs, reduceRange true and false, with
// and without bias, and inputs placed within a few ulps of quantization ties, where adding the zero
// point after rounding (quantize_per_tensor) gives other codes.
import { bitsFromHex, bitsOfFloats, codesFromHex, floatsFromBits, loadGolden } from '@quint/backend-conformance';
import { makePerChannelQuantizedTensor, QTensor, quantizePerTensor } from '@quint/qtensor';
import { Tensor } from '@quint/tensor';
import { describe, expect, it } from 'vitest';
import { createJsBackend } from '../src/index.js';

interface DynamicGolden {
  readonly name: string;
  readonly input: { shape: number[]; floatBits: string };
  readonly weight: { shape: number[]; codes: string; scale?: number; scales?: number[] };
  readonly bias: number[] | null;
  readonly params: { reduceRange: boolean };
  readonly output: { shape: number[]; floatBits: string };
}

const golden = loadGolden<{ torchPackage: string; cases: DynamicGolden[] }>('kernels-linear-dynamic-onednn.json');

function weightOf(g: DynamicGolden): QTensor {
  const data = Int8Array.from(codesFromHex(g.weight.codes, 'qint8'));
  const shape = g.weight.shape;
  return g.weight.scales !== undefined
    ? makePerChannelQuantizedTensor(
        { data, shape },
        g.weight.scales,
        g.weight.scales.map(() => 0),
        0,
      )
    : new QTensor(data, shape, 'qint8', { qscheme: 'per_tensor_affine', scale: g.weight.scale!, zeroPoint: 0 });
}

function run(g: DynamicGolden): Tensor {
  const be = createJsBackend();
  const x = new Tensor(floatsFromBits(bitsFromHex(g.input.floatBits)), g.input.shape);
  const bias = g.bias === null ? null : Float32Array.from(g.bias);
  return be.kernels.linearDynamic(x, be.prepackLinear(weightOf(g), bias), {
    engine: 'onednn',
    reduceRange: g.params.reduceRange,
  });
}

describe(`linearDynamic · onednn, PyTorch ${golden.torchPackage} goldens`, () => {
  it('covers per-channel and per-tensor weights, 3-D inputs, both reduceRange values and near-tie inputs', () => {
    const names = golden.cases.map((g) => g.name).join('\n');
    for (const part of ['per-channel', 'per-tensor', 'reduceRange True', 'reduceRange False', 'near ties', 'bias']) {
      expect(names).toContain(part);
    }
    expect(golden.cases.some((g) => g.input.shape.length === 3)).toBe(true);
  });

  it.each(golden.cases.map((g) => [g.name, g] as const))('%s: every output bit equal', (_name, g) => {
    const y = run(g);
    expect(y.shape).toEqual(g.output.shape);
    expect(bitsOfFloats(y.toFloat32Array())).toEqual(bitsFromHex(g.output.floatBits));
  });

  it("the near-tie inputs tell oneDNN's quantizer from quantize_per_tensor (zero point before rounding)", () => {
    // On the near-tie cases, quantize_per_tensor with the same qparams gives other codes for some
    // elements than the kernel's activation (read back from its trace), so those goldens test the order.
    let differing = 0;
    for (const g of golden.cases.filter((c) => c.name.includes('near ties'))) {
      const be = createJsBackend();
      const x = new Tensor(floatsFromBits(bitsFromHex(g.input.floatBits)), g.input.shape);
      const records: { input: { codes: readonly number[]; scale: number; zeroPoint: number } }[] = [];
      const n = g.weight.shape[0]!;
      const k = g.weight.shape[1]!;
      be.kernels.linearDynamic(x, be.prepackLinear(weightOf(g), null), {
        engine: 'onednn',
        reduceRange: g.params.reduceRange,
        trace: { index: 'all', sink: (r) => records.push(r as (typeof records)[number]) },
      });
      const { scale, zeroPoint } = records[0]!.input;
      const viaQuantize = quantizePerTensor(x, scale, zeroPoint, 'quint8').data;
      for (let r = 0; r < x.numel / k; r++) {
        const codes = records[r * n]!.input.codes;
        for (let j = 0; j < k; j++) if (codes[j] !== viaQuantize[r * k + j]) differing++;
      }
    }
    expect(differing).toBeGreaterThan(0);
  });
});
