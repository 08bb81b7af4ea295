import type { Engine, OpName, QTensor, QuantizedBackend, SupportsParams } from '@quint/qtensor';
import type { Tensor } from '@quint/tensor';
import type * as fc from 'fast-check';

/** What a case's `run` returns: codes with qparams, or float32 values. */
export type CaseOutput = QTensor | Tensor;

/**
 * The expected output of a golden case, from real PyTorch 1.13 (or, for fbgemm, computed by hand).
 * Integer outputs compare codes, shape and qparams exactly; float outputs compare float32 bits.
 */
export type ExpectedOutput =
  | {
      readonly shape: readonly number[];
      readonly codes: readonly number[];
      readonly scale: number;
      readonly zeroPoint: number;
    }
  | {
      readonly shape: readonly number[];
      readonly codes: readonly number[];
      readonly scales: readonly number[];
      readonly zeroPoints: readonly number[];
      readonly axis: number;
    }
  | { readonly shape: readonly number[]; readonly floatBits: readonly number[] };

interface CaseBase {
  readonly op: OpName;
  /** Unique within the op; shown in the test name (keep it short: shape, engine, what it exercises). */
  readonly name: string;
  readonly engine: Engine;
  /**
   * Parameters given to `backend.supports(op, { ...supports, engine })`; a backend that declines
   * gets this case skipped, by name.
   */
  readonly supports?: SupportsParams;
}

/** A case with a fixed expected output: a PyTorch golden, or a hand-computed case. */
export interface GoldenCase extends CaseBase {
  readonly kind: 'golden' | 'hand';
  /** Runs the op on `backend` (called after `init()`). Pass `engine` to the kernel. */
  run(backend: QuantizedBackend): CaseOutput;
  readonly expected: ExpectedOutput;
}

/**
 * A randomized differential case: inputs drawn from `arbitrary` (fast-check, seeded by the suite), the
 * output of the backend under test compared bit for bit with the reference backend's.
 */
export interface DifferentialCase<T = unknown> extends CaseBase {
  readonly kind: 'differential';
  readonly arbitrary: fc.Arbitrary<T>;
  /** Runs the op on `backend` for one drawn input. May prepack; the suite does not dispose per run. */
  run(backend: QuantizedBackend, input: T): CaseOutput;
  /** fast-check runs (default 25); keep the case well under a second. */
  readonly numRuns?: number;
}

/** Any conformance case. */
export type ConformanceCase = GoldenCase | DifferentialCase<any>;

/** A group of cases: a function, so that nothing (no golden file) is read at import time. */
export interface CaseGroup {
  /** The group name, shown as a `describe` block (usually the OpGroup: 'gemm', 'pooling', …). */
  readonly name: string;
  readonly cases: () => readonly ConformanceCase[];
}

/**
 * Declares a differential case with its input type inferred from `arbitrary`.
 *
 * @example
 * differentialCase({ op: 'relu', engine: 'qnnpack', name: 'random codes', arbitrary: fc.uint8Array({ minLength: 1 }),
 *   run: (be, codes) => be.kernels.relu(new QTensor(codes, [codes.length], 'quint8', qp)) });
 */
export function differentialCase<T>(c: Omit<DifferentialCase<T>, 'kind'>): DifferentialCase<T> {
  return { kind: 'differential', ...c };
}
