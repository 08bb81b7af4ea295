// The two Python builtins torch.fx records for proxies: `operator.getitem` (x[0]) and
// `builtins.getattr` (x.shape). They are the call_function targets of those nodes.

/**
 * `obj[key]`: the `call_function` target recorded for `proxy[0]` (torch.fx's `operator.getitem`).
 * Numeric keys index arrays; negative ones count from the end, as in Python.
 *
 * @example
 * getitem([1, 2, 3], -1); // 3
 */
export function getitem(obj: unknown, key: unknown): unknown {
  if (Array.isArray(obj) && typeof key === 'number' && key < 0) return obj[obj.length + key];
  return (obj as Record<PropertyKey, unknown>)[key as PropertyKey];
}

/**
 * `obj[name]`: the `call_function` target recorded for `proxy.shape` and other attribute reads
 * (torch.fx's `builtins.getattr`).
 *
 * @example
 * getattr(tensor, 'shape'); // [1, 3, 8, 8]
 */
export function getattr(obj: unknown, name: string): unknown {
  return (obj as Record<string, unknown>)[name];
}
