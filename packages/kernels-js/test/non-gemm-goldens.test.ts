// The non-GEMM kernels against every PyTorch 1.13 golden of tools/goldens/kernels_ops.py, including
// the cases where PyTorch itself fails (QNNPACK's add scale-ratio limit, 1×1 pooling on qnnpack).
// The conformance suite runs the same outputs case by case; this file counts values per op and
// checks the errors.
import { readFileSync } from 'node:fs';
import { isQuantError } from '@quint/tensor';
import { QTensor, type QuantizedBackend } from '@quint/qtensor';
import { describe, expect, it } from 'vitest';
import { createJsBackend } from '../src/index.js';

interface TensorJson {
  shape: number[];
  scale: number;
  zeroPoint: number;
  memoryFormat: 'contiguous' | 'channels_last';
  codes: string;
}
interface CaseJson {
  id: string;
  op: string;
  engine: 'qnnpack' | 'onednn';
  inputs: string[];
  params: Record<string, any>;
  output?: TensorJson;
  error?: string;
}
interface FileJson {
  torchPackage: string;
  tensors: Record<string, TensorJson>;
  cases: CaseJson[];
}

function load(name: string): FileJson {
  return JSON.parse(
    readFileSync(new URL(`../../backend-conformance/goldens/${name}`, import.meta.url), 'utf8'),
  ) as FileJson;
}

function hex(s: string): Uint8Array {
  return Uint8Array.from({ length: s.length / 2 }, (_, i) => parseInt(s.slice(2 * i, 2 * i + 2), 16));
}

function q(t: TensorJson): QTensor {
  return new QTensor(hex(t.codes), t.shape, 'quint8', {
    qscheme: 'per_tensor_affine',
    scale: t.scale,
    zeroPoint: t.zeroPoint,
  });
}

const pair = (v: number[]) => [v[0]!, v[1]!] as [number, number];

function run(be: QuantizedBackend, c: CaseJson, xs: QTensor[], memoryFormat: 'contiguous' | 'channels_last'): QTensor {
  const p = c.params;
  const o = { engine: c.engine, memoryFormat };
  const out =
    p.outScale === undefined ? undefined : { scale: p.outScale as number, zeroPoint: p.outZeroPoint as number };
  const k = be.kernels;
  switch (c.op) {
    case 'add':
    case 'addRelu':
    case 'mul':
    case 'mulRelu':
      return k[c.op](xs[0]!, xs[1]!, out!, o);
    case 'cat':
      return k.cat(xs, p.dim, out, o);
    case 'relu':
      return k.relu(xs[0]!, o);
    case 'relu6':
      return k.relu6(xs[0]!, o);
    case 'hardtanh':
      return k.hardtanh(xs[0]!, { minVal: p.minVal, maxVal: p.maxVal }, o);
    case 'clamp':
      return k.clamp(xs[0]!, { min: p.min, max: p.max }, o);
    case 'hardswish':
      return k.hardswish(xs[0]!, out!, o);
    case 'hardsigmoid':
      return k.hardsigmoid(xs[0]!, undefined, o);
    case 'sigmoid':
      return k.sigmoid(xs[0]!, undefined, o);
    case 'tanh':
      return k.tanh(xs[0]!, undefined, o);
    case 'maxPool2d':
      return k.maxPool2d(
        xs[0]!,
        {
          kernelSize: pair(p.kernelSize),
          stride: pair(p.stride),
          padding: pair(p.padding),
          dilation: pair(p.dilation),
          ceilMode: p.ceilMode,
        },
        o,
      );
    case 'avgPool2d':
      return k.avgPool2d(
        xs[0]!,
        {
          kernelSize: pair(p.kernelSize),
          stride: pair(p.stride),
          padding: pair(p.padding),
          ceilMode: p.ceilMode,
          countIncludePad: p.countIncludePad,
          ...(p.divisorOverride === null ? {} : { divisorOverride: p.divisorOverride }),
        },
        o,
      );
    case 'adaptiveAvgPool2d':
      return k.adaptiveAvgPool2d(xs[0]!, pair(p.outputSize), o);
    case 'mean':
      return k.mean(xs[0]!, { dim: p.dim, keepdim: p.keepdim }, o);
    case 'reshape':
      return k.reshape(xs[0]!, p.shape, o);
    case 'flatten':
      return k.flatten(xs[0]!, { startDim: p.startDim, endDim: p.endDim }, o);
    default:
      throw new Error(`no runner for ${c.op}`);
  }
}

const FILES = ['kernels-elementwise.json', 'kernels-activations.json', 'kernels-pooling.json', 'kernels-shape.json'];

describe.each(FILES)('PyTorch 1.13 goldens: %s', (file) => {
  const g = load(file);
  const be = createJsBackend();

  it(`comes from torch ${g.torchPackage}`, () => {
    expect(g.torchPackage).toBe('1.13.1+dfsg-4');
  });

  const ops = [...new Set(g.cases.map((c) => c.op))];
  it.each(ops)('%s: every output code equals PyTorch', (op) => {
    let values = 0;
    const bad: string[] = [];
    for (const c of g.cases.filter((c) => c.op === op && c.output)) {
      const xs = c.inputs.map((id) => q(g.tensors[id]!));
      const y = run(be, c, xs, g.tensors[c.inputs[0]!]!.memoryFormat);
      const want = hex(c.output!.codes);
      expect(y.shape, c.id).toEqual(c.output!.shape);
      expect([Math.fround(y.qScale()), y.qZeroPoint()], c.id).toEqual([
        Math.fround(c.output!.scale),
        c.output!.zeroPoint,
      ]);
      let diff = 0;
      for (let i = 0; i < want.length; i++) if (y.data[i] !== want[i]) diff++;
      if (diff) bad.push(`${c.id}: ${diff}/${want.length}`);
      values += want.length;
    }
    expect(bad).toEqual([]);
    expect(values).toBeGreaterThan(0);
  });

  const errors = g.cases.filter((c) => c.error);
  if (errors.length) {
    it.each(errors.map((c) => [c.id, c] as const))('%s fails as in PyTorch', (_id, c) => {
      const xs = c.inputs.map((id) => q(g.tensors[id]!));
      let caught: unknown = null;
      try {
        run(be, c, xs, g.tensors[c.inputs[0]!]!.memoryFormat);
      } catch (e) {
        caught = e;
      }
      expect(isQuantError(caught), String(caught)).toBe(true);
      // The limit PyTorch hit (its exception text is QNNPACK's create-status assert; the reason is
      // printed to stderr: "scale ratio must be in [2**-14, 2**8)", "1x1 pooling is meaningless").
      expect(String((caught as Error).message)).toMatch(c.op === 'add' ? /scale ratio/ : /1x1 pooling/);
    });
  }
});
