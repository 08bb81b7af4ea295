import { opNames, OP_NAMES, type QuantizedBackend } from '@quint/qtensor';
import * as fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CASE_GROUPS } from './cases/index.js';
import type { CaseGroup, ConformanceCase } from './cases/types.js';
import { diffExpected, diffOutputs } from './golden.js';

/** Options of {@link describeBackendConformance}. */
export interface ConformanceOptions {
  /**
   * Makes the backend the differential cases compare with (kernels-wasm passes `createJsBackend`).
   * A parameter, so this package does not depend on kernels-js. Without it, only golden and
   * hand-computed cases run.
   */
  readonly reference?: () => QuantizedBackend;
  /** Seed of every fast-check run (default 20240513): failures replay. */
  readonly seed?: number;
  /** Multiplies each differential case's `numRuns` (default 1). */
  readonly runsFactor?: number;
  /** Only these groups (default: all of `CASE_GROUPS`). */
  readonly groups?: readonly CaseGroup[];
}

const DEFAULT_SEED = 20240513;

function supported(backend: QuantizedBackend, c: ConformanceCase): boolean {
  return backend.supports(c.op, { ...c.supports, engine: c.engine });
}

function title(c: ConformanceCase): string {
  const tag = c.kind === 'differential' ? 'vs reference' : c.kind;
  return `${c.op} · ${c.engine} · ${c.name} (${tag})`;
}

/**
 * Declares the conformance suite of a backend (Vitest `describe`/`it`): for every case of every group
 * in `CASE_GROUPS` — PyTorch 1.13 goldens, hand-computed cases and randomized differential cases
 * against `reference` — the output must equal the expected one bit for bit (codes, shape, qparams;
 * float32 bits for float outputs). A case whose op/engine/parameters the backend's `supports()`
 * declines is skipped under its own name. `supports()` is called while collecting, before `init()`.
 *
 * @example
 * // packages/kernels-wasm/test/conformance.test.ts
 * describeBackendConformance(() => createWasmBackend(), { reference: createJsBackend });
 * @see https://pytorch.org/docs/stable/quantization.html
 */
export function describeBackendConformance(
  makeBackend: () => QuantizedBackend,
  options: ConformanceOptions = {},
): void {
  const backend = makeBackend();
  const reference = options.reference?.();
  const seed = options.seed ?? DEFAULT_SEED;
  const factor = options.runsFactor ?? 1;
  describe(`conformance: ${backend.name}`, () => {
    beforeAll(async () => {
      await backend.init();
      await reference?.init();
    });
    afterAll(() => {
      backend.dispose();
      reference?.dispose();
    });

    const all: ConformanceCase[] = [];
    for (const group of options.groups ?? CASE_GROUPS) {
      const cases = group.cases();
      all.push(...cases);
      describe(group.name, () => {
        for (const c of cases) {
          const run = supported(backend, c) && (c.kind !== 'differential' || reference !== undefined);
          if (c.kind === 'differential') {
            it.skipIf(!run)(title(c), () => {
              const ref = reference!;
              fc.assert(
                fc.property(c.arbitrary, (input) => {
                  const diff = diffOutputs(c.run(backend, input), c.run(ref, input));
                  if (diff !== null) throw new Error(`${backend.name} vs ${ref.name}: ${diff}`);
                }),
                { seed, numRuns: Math.max(1, Math.round((c.numRuns ?? 25) * factor)) },
              );
            });
          } else {
            it.skipIf(!run)(title(c), () => {
              expect(diffExpected(c.run(backend), c.expected)).toBeNull();
            });
          }
        }
      });
    }

    // Every op the backend claims, on every engine it claims, must be exercised by some case: a
    // kernel nobody checks is not conformant.
    it('every supported op and engine has conformance cases', () => {
      const missing: string[] = [];
      for (const op of opNames()) {
        for (const engine of OP_NAMES[op].engines) {
          if (!backend.supports(op, { engine })) continue;
          if (!all.some((c) => c.op === op && c.engine === engine)) missing.push(`${op}/${engine}`);
        }
      }
      expect(missing).toEqual([]);
    });
  });
}
