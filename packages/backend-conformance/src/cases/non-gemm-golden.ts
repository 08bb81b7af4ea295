// Reads the goldens of tools/goldens/kernels_ops.py (goldens/kernels-{elementwise,activations,
// pooling,shape}.json) and turns them into golden cases. Shared by elementwise.ts, activations.ts,
// pooling.ts and shape.ts.
import { QTensor, type Engine, type MemoryFormat, type OpName, type QuantizedBackend } from '@quint/qtensor';
import { loadGolden } from '../golden.js';
import type { CaseOutput, GoldenCase } from './types.js';

/** A quint8 tensor as kernels_ops.py writes it: codes as hex, logical C order. */
export interface NonGemmTensorJson {
  readonly shape: readonly number[];
  readonly dtype: 'quint8';
  readonly scale: number;
  readonly zeroPoint: number;
  /** How PyTorch held it in memory; kernels get it as the `memoryFormat` hint. */
  readonly memoryFormat: MemoryFormat;
  /** Two hex digits per code. */
  readonly codes: string;
}

/** One case of a kernels-*.json file. */
export interface NonGemmGoldenCaseJson {
  readonly id: string;
  readonly op: OpName;
  readonly engine: Engine;
  /** Ids into the file's `tensors` table. */
  readonly inputs: readonly string[];
  readonly params: Readonly<Record<string, unknown>>;
  readonly output?: NonGemmTensorJson;
  /** PyTorch's error message when the op failed there (these are checked by kernels-js unit tests). */
  readonly error?: string;
}

/** A kernels-*.json file. */
export interface NonGemmGoldenFile {
  readonly torchPackage: string;
  readonly seed: number;
  readonly tensors: Readonly<Record<string, NonGemmTensorJson>>;
  readonly cases: readonly NonGemmGoldenCaseJson[];
}

/** Decodes the hex codes of a golden tensor. */
export function codesFromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Builds the QTensor of a golden tensor. */
export function nonGemmTensor(j: NonGemmTensorJson): QTensor {
  return new QTensor(codesFromHex(j.codes), j.shape, 'quint8', {
    qscheme: 'per_tensor_affine',
    scale: j.scale,
    zeroPoint: j.zeroPoint,
  });
}

/** Runs one op of a golden case on a backend: maps the JSON params to the kernel's arguments. */
export type NonGemmRunner = (
  backend: QuantizedBackend,
  inputs: readonly QTensor[],
  params: Readonly<Record<string, any>>,
  opts: { engine: Engine; memoryFormat: MemoryFormat },
) => CaseOutput;

/**
 * Golden cases of one kernels-*.json file: every case with an output (PyTorch errors are left to the
 * kernels-js unit tests, since a golden case compares outputs). The `memoryFormat` hint is the first
 * input's, as PyTorch held it.
 */
export function nonGemmGoldenCases(file: string, runners: Partial<Record<OpName, NonGemmRunner>>): GoldenCase[] {
  const g = loadGolden<NonGemmGoldenFile>(file);
  const cases: GoldenCase[] = [];
  for (const c of g.cases) {
    const runner = runners[c.op];
    if (c.output === undefined || runner === undefined) continue;
    const inputs = c.inputs.map((id) => g.tensors[id]!);
    const out = c.output;
    const memoryFormat = inputs[0]!.memoryFormat;
    cases.push({
      kind: 'golden',
      op: c.op,
      engine: c.engine,
      name: c.id.split('/').slice(2).join('/'),
      supports: { dtype: 'quint8', memoryFormat },
      run: (backend) => runner(backend, inputs.map(nonGemmTensor), c.params, { engine: c.engine, memoryFormat }),
      expected: {
        shape: out.shape,
        codes: Array.from(codesFromHex(out.codes)),
        scale: out.scale,
        zeroPoint: out.zeroPoint,
      },
    });
  }
  return cases;
}
