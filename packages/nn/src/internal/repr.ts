// Python's spellings, so printouts equal PyTorch's `repr(module)` character for character.
// Internal: not exported from the package.

/**
 * Python's `repr(float)`: the shortest round-trip digits (as JS), in Python's layout — exponent form
 * below 1e-4 and from 1e16 (`1e-05`, `1e+16`), a trailing `.0` on integral values, `inf`, `nan`.
 */
export function pyFloat(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const abs = Math.abs(x);
  if (abs < 1e-4 || abs >= 1e16) {
    // JS gives e.g. "1.5e-7" / "1e+21"; Python pads the exponent to two digits.
    const [mant, exp] = x.toExponential().split('e') as [string, string];
    const sign = exp.startsWith('-') ? '-' : '+';
    const digits = exp.replace(/^[+-]/, '').padStart(2, '0');
    return `${mant}e${sign}${digits}`;
  }
  const s = String(x);
  return s.includes('.') ? s : `${s}.0`;
}

/** Python's `repr` of a tuple of ints: `(1, 1)`, `(3,)`. */
export function pyTuple(values: readonly number[]): string {
  return values.length === 1 ? `(${values[0]},)` : `(${values.join(', ')})`;
}

/** Python's `repr` of a value an `int` or a tuple of ints was given as. */
export function pyIntOrTuple(v: number | readonly number[]): string {
  return typeof v === 'number' ? String(v) : pyTuple(v);
}

/** Python's `str(bool)`. */
export function pyBool(b: boolean): string {
  return b ? 'True' : 'False';
}

/**
 * `x` with `digits` decimals, ties to even on the exact binary value, as Python's `'%.{n}f'`
 * (JS `toFixed` breaks exact ties upward).
 */
export function pyFixed(x: number, digits: number): string {
  const s = x.toFixed(digits);
  // An exact tie is a dyadic rational whose expansion ends in 5 right after the kept digits.
  const exact = x.toFixed(Math.min(100, digits + 60)).replace(/0+$/, '');
  const frac = exact.split('.')[1] ?? '';
  if (frac.length !== digits + 1 || !frac.endsWith('5')) return s;
  const lastKept = Number(s[s.length - 1]);
  if (lastKept % 2 === 0) return s;
  const step = 10 ** -digits;
  return (Math.sign(x) * (Math.abs(x) - step / 2)).toFixed(digits);
}

/**
 * PyTorch's printout of a one-element float tensor, `tensor([0.0264])`, as `torch.Tensor.__repr__`
 * with default print options (4 digits; scientific below 1e-4 or above 1e8; `1.` for integral values).
 */
export function torchScalarTensorRepr(x: number): string {
  if (Number.isInteger(x)) return `tensor([${x}.])`;
  const abs = Math.abs(x);
  if (Number.isFinite(x) && (abs < 1e-4 || abs > 1e8)) {
    const [mant, exp] = x.toExponential(4).split('e') as [string, string];
    const sign = exp.startsWith('-') ? '-' : '+';
    return `tensor([${mant}e${sign}${exp.replace(/^[+-]/, '').padStart(2, '0')}])`;
  }
  if (!Number.isFinite(x)) return `tensor([${pyFloat(x)}])`;
  return `tensor([${pyFixed(x, 4)}])`;
}

/** `Module.__repr__`'s `_addindent`: indents every line but the first. */
export function addIndent(s: string, numSpaces: number): string {
  const lines = s.split('\n');
  if (lines.length === 1) return s;
  const pad = ' '.repeat(numSpaces);
  return [lines[0], ...lines.slice(1).map((l) => pad + l)].join('\n');
}

/** `runningMean` → `running_mean`: PyTorch's spelling of one of our camelCase names. */
export function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
