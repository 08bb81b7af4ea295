// Reading kernels-gemm.json (tools/goldens/kernels_gemm.py) into golden cases of the gemm and conv groups.
import type { QTensor } from '@quint/qtensor';
import { type Engine, type OpName, type QuantizedBackend, type SupportsParams } from '@quint/qtensor';
import { Tensor } from '@quint/tensor';
import { bitsFromHex, codesFromHex, floatsFromBits, loadGolden, qtensorFromJson } from '../golden.js';
import type { ExpectedOutput, GoldenCase } from './types.js';

interface HexQ {
  readonly shape: number[];
  readonly dtype: 'quint8' | 'qint8';
  readonly codes: string;
  readonly scale?: number;
  readonly zeroPoint?: number;
  readonly scales?: number[];
  readonly zeroPoints?: number[];
  readonly axis?: number;
}

interface GemmGolden {
  readonly op: OpName;
  readonly engine: Engine;
  readonly name: string;
  readonly input: HexQ | { shape: number[]; floatBits: string };
  readonly weight: HexQ;
  readonly bias: number[] | null;
  readonly params: {
    stride?: [number, number];
    padding?: [number, number];
    dilation?: [number, number];
    groups?: number;
    reduceRange?: boolean;
  };
  readonly output:
    { shape: number[]; scale: number; zeroPoint: number; codes: string } | { shape: number[]; floatBits: string };
}

interface GoldenFile<C> {
  readonly torchPackage: string;
  readonly seed: number;
  readonly cases: C[];
}

/** A quantized tensor from its hex golden form. */
export function qFromHex(j: HexQ): QTensor {
  const { codes, ...rest } = j;
  return qtensorFromJson({ ...rest, codes: codesFromHex(codes, j.dtype) });
}

/** A float32 tensor from its golden bit patterns. */
export function tensorFromBits(j: { shape: number[]; floatBits: string }): Tensor {
  return new Tensor(floatsFromBits(bitsFromHex(j.floatBits)), j.shape);
}

/** The expected output of a golden from its hex form. */
export function expectedFromHex(o: GemmGolden['output']): ExpectedOutput {
  return 'codes' in o
    ? { shape: o.shape, codes: codesFromHex(o.codes, 'quint8'), scale: o.scale, zeroPoint: o.zeroPoint }
    : { shape: o.shape, floatBits: bitsFromHex(o.floatBits) };
}

/** supports() parameters of a conv/linear with this weight. */
export function gemmSupports(w: QTensor, groups?: number): SupportsParams {
  const zps = w.isPerChannel() ? Array.from(w.qPerChannelZeroPoints()) : [w.qZeroPoint()];
  return {
    dtype: 'quint8',
    weightDtype: w.dtype,
    qscheme: w.qscheme(),
    symmetricWeight: zps.every((z) => z === 0),
    ...(groups !== undefined ? { groups } : {}),
  };
}

function goldenCase(g: GemmGolden): GoldenCase {
  const weight = qFromHex(g.weight);
  const bias = g.bias === null ? null : Float32Array.from(g.bias);
  const engine = g.engine;
  const isConv = g.op === 'conv2d' || g.op === 'conv2dRelu';
  const run = (be: QuantizedBackend) => {
    const opts = { engine };
    if (g.op === 'linearDynamic') {
      const x = tensorFromBits(g.input as { shape: number[]; floatBits: string });
      return be.kernels.linearDynamic(x, be.prepackLinear(weight, bias), {
        ...opts,
        reduceRange: g.params.reduceRange ?? true,
      });
    }
    const x = qFromHex(g.input as HexQ);
    const o = g.output as { scale: number; zeroPoint: number };
    const out = { scale: o.scale, zeroPoint: o.zeroPoint };
    if (isConv) {
      const p = g.params;
      const packed = be.prepackConv2d(weight, bias, {
        ...(p.stride ? { stride: p.stride } : {}),
        ...(p.padding ? { padding: p.padding } : {}),
        ...(p.dilation ? { dilation: p.dilation } : {}),
        ...(p.groups ? { groups: p.groups } : {}),
      });
      return g.op === 'conv2d' ? be.kernels.conv2d(x, packed, out, opts) : be.kernels.conv2dRelu(x, packed, out, opts);
    }
    const packed = be.prepackLinear(weight, bias);
    return g.op === 'linear' ? be.kernels.linear(x, packed, out, opts) : be.kernels.linearRelu(x, packed, out, opts);
  };
  return {
    kind: 'golden',
    op: g.op,
    engine,
    name: g.name,
    supports: gemmSupports(weight, isConv ? (g.params.groups ?? 1) : undefined),
    run,
    expected: expectedFromHex(g.output),
  };
}

/** Golden cases of kernels-gemm.json for the given ops. */
export function gemmGoldenCases(ops: readonly OpName[]): GoldenCase[] {
  const file = loadGolden<GoldenFile<GemmGolden>>('kernels-gemm.json');
  return file.cases.filter((c) => ops.includes(c.op)).map(goldenCase);
}

export type { HexQ };
