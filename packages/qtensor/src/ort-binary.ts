// ONNX Runtime's QLinearAdd and QLinearMul (which QDQ Add and Mul fuse into) as output codes of input
// code pairs, per ONNX Runtime build (`OrtTarget`), shared by kernels-js (element by element) and
// kernels-wasm (which applies the pair table in wasm). Checked against onnxruntime-node and
// onnxruntime-web by kernels-js's tests (docs/numerics.md "Engine ort").
import { fmaf } from './affine-quantizer-base.js';
import type { OrtTarget } from './backend.js';
import { QuantError } from '@quint/tensor';
import { broadcastShape, clampU8, type NonGemmInput, type NonGemmQparams } from './nongemm-checks.js';
import { roundHalfToEven } from './rounding.js';

const f32 = Math.fround;

/**
 * The output shape of an ORT add or mul: numpy broadcasting, both inputs.
 *
 * @throws `SHAPE_MISMATCH` when the shapes do not broadcast.
 * @example
 * ortBroadcastShape('add', [1, 4, 1, 1], [2, 4, 6, 7]); // [2, 4, 6, 7]
 */
export function ortBroadcastShape(op: string, a: readonly number[], b: readonly number[]): number[] {
  const out = broadcastShape(a, b);
  if (out === null) {
    throw new QuantError(
      'SHAPE_MISMATCH',
      `${op}: shapes [${a.join(', ')}] and [${b.join(', ')}] do not broadcast; pass broadcastable shapes.`,
    );
  }
  return out;
}

/**
 * True when ORT's broadcast loop treats input 0 as the scalar of each span (its `Broadcaster`:
 * all-1 trailing dims are skipped, then the innermost dim decides). QLinearAdd/QLinearMul then swap
 * the operands before calling MLAS, which changes the x64 add formula (not the wasm one).
 */
export function ortInput0Scalar(a: readonly number[], b: readonly number[]): boolean {
  const min = Math.min(a.length, b.length);
  if (min === 0) return a.length === 0;
  for (let k = 0; k < min; k++) {
    const da = a[a.length - 1 - k]!;
    const db = b[b.length - 1 - k]!;
    if (Math.max(da, db) === 1 && k + 1 < min) continue;
    return !(da > 1);
  }
  return false;
}

/** The qparams of an ORT add or mul: its two inputs and its output. */
export interface OrtAddMulQparams {
  readonly a: NonGemmInput;
  readonly b: NonGemmInput;
  readonly c: NonGemmQparams;
}

/**
 * A code of MLAS's portable C++ add/mul (the wasm build): both inputs dequantized in float32,
 * `combine`d, divided by the output scale, clamped to the codes around zC, then zC added in float
 * before rounding.
 */
function portableCode(
  qa: number,
  qb: number,
  q: OrtAddMulQparams,
  combine: (va: number, vb: number) => number,
): number {
  const va = f32(f32(q.a.scale) * (qa - q.a.zeroPoint));
  const vb = f32(f32(q.b.scale) * (qb - q.b.zeroPoint));
  const zC = q.c.zeroPoint;
  const v = Math.min(Math.max(f32(combine(va, vb) / f32(q.c.scale)), -zC), 255 - zC);
  return roundHalfToEven(f32(v + zC));
}

/**
 * One output code of QLinearAdd.
 * - wasm (MLAS's portable C++ kernel): `va = f32(sA(a−zA))`, `vb = f32(sB(b−zB))`,
 *   `v = clamp(f32(f32(va + vb) / sC), −zC, 255 − zC)`, `rne(f32(v + zC))` — the zero point is added
 *   in float before rounding.
 * - x64 (MLAS's AVX2 kernel, compiled with FMA contraction): `rP = f32(sP/sC)`, `rQ = f32(sQ/sC)`,
 *   `F = f32(zC − fmaf(rP, zP, f32(rQ·zQ)))`, `clamp(rne(fmaf(p, rP, fmaf(q, rQ, F))))`, where
 *   (P, Q) = (A, B), swapped when input 0 is the per-span scalar ({@link ortInput0Scalar}).
 */
export function ortAddCode(qa: number, qb: number, q: OrtAddMulQparams, target: OrtTarget, swap: boolean): number {
  const sA = f32(q.a.scale);
  const sB = f32(q.b.scale);
  const sC = f32(q.c.scale);
  const zC = q.c.zeroPoint;
  if (target === 'wasm') return portableCode(qa, qb, q, (va, vb) => f32(va + vb));
  const [p, sP, zP, qq, sQ, zQ] = swap
    ? [qb, sB, q.b.zeroPoint, qa, sA, q.a.zeroPoint]
    : [qa, sA, q.a.zeroPoint, qb, sB, q.b.zeroPoint];
  const rP = f32(sP / sC);
  const rQ = f32(sQ / sC);
  const fixed = f32(zC - fmaf(rP, zP, f32(rQ * zQ)));
  return clampU8(roundHalfToEven(fmaf(p, rP, fmaf(qq, rQ, fixed))));
}

/**
 * One output code of QLinearMul.
 * - wasm (portable C++): `clamp(f32(f32(va·vb) / sC), −zC, 255 − zC)`, then `rne(f32(v + zC))`.
 * - x64 (SSE2): `M = f32(f32(sA·sB) / sC)`, `clamp(rne(f32(f32(acc·M) + zC)))`,
 *   `acc = (a − zA)(b − zB)`; symmetric in a and b, so the operand swap does not matter.
 */
export function ortMulCode(qa: number, qb: number, q: OrtAddMulQparams, target: OrtTarget): number {
  const sA = f32(q.a.scale);
  const sB = f32(q.b.scale);
  const sC = f32(q.c.scale);
  const zC = q.c.zeroPoint;
  if (target === 'wasm') return portableCode(qa, qb, q, (va, vb) => f32(va * vb));
  const m = f32(f32(sA * sB) / sC);
  return clampU8(roundHalfToEven(f32(f32((qa - q.a.zeroPoint) * (qb - q.b.zeroPoint) * m) + zC)));
}

// With the qparams, the target and the operand order fixed, a QLinearAdd/Mul code depends only on
// the pair of input codes, so large calls look them up in a 256×256 table of the per-code formula
// (65,536 evaluations instead of one per element), kept for the next call with the same parameters:
// a model's node repeats them on every call. The last TABLE_CACHE tables (64 KiB each) are kept.
const TABLE_CACHE = 16;
const pairTables = new Map<string, Uint8Array>();

/**
 * The 256×256 table of {@link ortAddCode} (`isAdd`) or {@link ortMulCode}: entry `(qa << 8) | qb` is
 * the output code of the input pair. The last 16 tables built are kept, so a model's node builds its
 * table once.
 *
 * @example
 * const t = ortPairTable(true, { a, b, c }, 'wasm', false); // t[(qa << 8) | qb]
 */
export function ortPairTable(isAdd: boolean, q: OrtAddMulQparams, target: OrtTarget, swap: boolean): Uint8Array {
  const key = [isAdd, target, swap, q.a.scale, q.a.zeroPoint, q.b.scale, q.b.zeroPoint, q.c.scale, q.c.zeroPoint].join(
    ' ',
  );
  let table = pairTables.get(key);
  if (table !== undefined) {
    pairTables.delete(key); // most recently used goes last
  } else {
    table = new Uint8Array(1 << 16);
    for (let qa = 0; qa < 256; qa++) {
      for (let qb = 0; qb < 256; qb++)
        table[(qa << 8) | qb] = isAdd ? ortAddCode(qa, qb, q, target, swap) : ortMulCode(qa, qb, q, target);
    }
    if (pairTables.size >= TABLE_CACHE) pairTables.delete(pairTables.keys().next().value!);
  }
  pairTables.set(key, table);
  return table;
}
