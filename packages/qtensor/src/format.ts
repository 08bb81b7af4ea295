/**
 * Printing in the shape of PyTorch's `torch._tensor_str`: 4 decimals, scientific notation for wide
 * ranges, one width per tensor, and `...` summaries for tensors above 1000 elements. Close to
 * PyTorch's output, not byte-identical in every corner. @internal
 */

const SUMMARIZE_ABOVE = 1000;
const EDGE_ITEMS = 3;

function sci(v: number): string {
  // JS writes 1.0000e-5, PyTorch 1.0000e-05.
  return v.toExponential(4).replace(/e([+-])(\d)$/, 'e$10$2');
}

/** Formats floats as PyTorch does: integral → `1.`, else fixed 4 decimals or scientific. @internal */
export function formatFloats(values: ArrayLike<number>): string[] {
  const finite: number[] = [];
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i]!)) finite.push(values[i]!);
  const special = (v: number): string | undefined =>
    Number.isNaN(v) ? 'nan' : v === Infinity ? 'inf' : v === -Infinity ? '-inf' : undefined;
  const integral = finite.every((v) => Number.isInteger(v));
  const nonzero = finite.map(Math.abs).filter((v) => v > 0);
  const maxAbs = nonzero.length ? Math.max(...nonzero) : 0;
  const minAbs = nonzero.length ? Math.min(...nonzero) : 0;
  const useSci = nonzero.length > 0 && (maxAbs / minAbs > 1000 || maxAbs > 1e8 || minAbs < 1e-4);
  const out: string[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    const s = special(v);
    if (s !== undefined) out.push(s);
    else if (integral && maxAbs < 1e8) out.push(`${v === 0 && Object.is(v, -0) ? '-0' : v}.`);
    else out.push(useSci ? sci(v) : v.toFixed(4));
  }
  return out;
}

/** Formats integers. @internal */
export function formatInts(values: ArrayLike<number>): string[] {
  return Array.from(values, (v) => String(v));
}

/**
 * Nests formatted elements as PyTorch prints them: `[[a, b],\n<indent> [c, d]]`, padded to one
 * width, summarized with `...` when the tensor has more than 1000 elements. @internal
 */
export function formatNested(items: readonly string[], shape: readonly number[], indent: number): string {
  const summarize = items.length > SUMMARIZE_ABOVE;
  const width = Math.max(1, ...items.map((s) => s.length));
  const pad = (s: string): string => s.padStart(width);
  if (shape.length === 0) return items[0] ?? '';
  const strides: number[] = [];
  let st = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = st;
    st *= shape[d]!;
  }
  const pick = (n: number): (number | null)[] =>
    summarize && n > 2 * EDGE_ITEMS
      ? [
          ...Array.from({ length: EDGE_ITEMS }, (_, i) => i),
          null,
          ...Array.from({ length: EDGE_ITEMS }, (_, i) => n - EDGE_ITEMS + i),
        ]
      : Array.from({ length: n }, (_, i) => i);
  const rec = (dim: number, base: number, ind: number): string => {
    const idx = pick(shape[dim]!);
    if (dim === shape.length - 1) {
      return `[${idx.map((i) => (i === null ? '...' : pad(items[base + i]!))).join(', ')}]`;
    }
    const sep = `,${'\n'.repeat(shape.length - dim - 1)}${' '.repeat(ind + 1)}`;
    return `[${idx.map((i) => (i === null ? '...' : rec(dim + 1, base + i * strides[dim]!, ind + 1))).join(sep)}]`;
  };
  return rec(0, 0, indent);
}
