// Python-style spelling of values for graph printouts and generated code, as torch.fx prints them
// (`torch/fx/node.py` `_format_arg`, `graph.py` `_gen_python_code`): `None`, `True`, `inf`, tuples
// with a trailing comma, `%name` for nodes in the printout and bare names in code.

/** A function that a `call_function` node can target: a `defineOp` op (it has `opName`) or any function. */
export type CallableTarget = ((...args: never[]) => unknown) & { readonly opName?: string };

/** True for `{}`-style objects (what torch.fx calls dicts in `args`/`kwargs`). */
export function isPlainObject(a: unknown): a is Record<string, unknown> {
  if (a === null || typeof a !== 'object') return false;
  const proto = Object.getPrototypeOf(a) as unknown;
  return proto === Object.prototype || proto === null;
}

/** The printed name of a `call_function` target: the op name of a `defineOp` op, else the function name. */
export function functionName(fn: CallableTarget): string {
  return typeof fn.opName === 'string' ? fn.opName : fn.name || 'anonymous';
}

/** Python's `str()` of a scalar or foreign object. */
export function pyStr(a: unknown): string {
  if (a === null || a === undefined) return 'None';
  if (a === true) return 'True';
  if (a === false) return 'False';
  if (typeof a === 'number') {
    if (Number.isNaN(a)) return 'nan';
    if (a === Infinity) return 'inf';
    if (a === -Infinity) return '-inf';
    return String(a);
  }
  if (typeof a === 'string') return a;
  if (typeof a === 'bigint') return a.toString();
  if (typeof a === 'function') return functionName(a as CallableTarget);
  if (typeof a === 'symbol') return a.toString();
  return String(a);
}

/** Python's `repr()` of a string: single quotes unless the text holds one and no double quote. */
export function pyStringRepr(s: string): string {
  const q = s.includes("'") && !s.includes('"') ? '"' : "'";
  const body = s
    .replace(/\\/g, '\\\\')
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r')
    .replace(/\t/g, '\\t')
    .replace(new RegExp(q, 'g'), `\\${q}`);
  return `${q}${body}${q}`;
}
