// ONNX node names → graph names. torch.onnx 1.13 names nodes by module scope (`/layer1/conv/Conv`),
// older exporters by op and index (`Conv_0`); the graph uses the scope without the op suffix
// (`layer1_conv`), as an identifier, and keeps the ONNX name in `node.meta.onnxName`.

/**
 * An identifier for an ONNX node: the scope path of `/a/b/Op_3` joined with `_` (`a_b`), else the
 * whole name; characters outside `[A-Za-z0-9_]` become `_`; a leading digit gets a `_` prefix;
 * empty names fall back to the op type.
 *
 * @example
 * sanitizeName('/conv1/Conv', 'Conv'); // 'conv1'
 * sanitizeName('/Add', 'Add');         // 'Add'
 * sanitizeName('', 'Relu');            // 'Relu'
 */
export function sanitizeName(onnxName: string, opType: string): string {
  let parts = onnxName.split('/').filter((p) => p !== '');
  const last = parts[parts.length - 1];
  if (parts.length > 1 && last !== undefined && (last === opType || last.startsWith(`${opType}_`)))
    parts = parts.slice(0, -1);
  let s = parts
    .join('_')
    .replace(/[^A-Za-z0-9_]/g, '_')
    .replace(/_+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (s === '') s = opType.replace(/[^A-Za-z0-9_]/g, '_') || 'node';
  if (/^[0-9]/.test(s)) s = `_${s}`;
  return s;
}

/**
 * `metadata_props` key of quantized files quint writes: JSON `{ "<node name>": ["<float graph
 * node>", …] }`, the float model's graph nodes each written node stands for (a fused conv:
 * `["conv1", "bn1", "relu1"]`; a lowered add: `["add"]`). The importer restores it as
 * `meta.fusedFrom` (several) or `meta.nsName` (one), so the numeric suite pairs an int8 file's
 * nodes with the float file's.
 */
export const FLOAT_NODES_KEY = 'quint.floatNodes';

/** The {@link FLOAT_NODES_KEY} map of a file, or an empty one when it is missing or malformed (it is only a hint). */
export function parseFloatNodes(json: string | undefined): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (json === undefined) return out;
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    return out;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return out;
  for (const [k, names] of Object.entries(v as Record<string, unknown>)) {
    if (Array.isArray(names) && names.length > 0 && names.every((x) => typeof x === 'string'))
      out.set(k, names as string[]);
  }
  return out;
}
