/**
 * Every error code quint throws. A code names the kind of remedy; the message names the value and
 * the fix. The CLI prints `quint: <CODE>: <message>`.
 */
export const QUANT_ERROR_CODES = [
  'USAGE',
  'INVALID_ARGUMENT',
  'SHAPE_MISMATCH',
  'DTYPE_MISMATCH',
  'BAD_DTYPE',
  'OUT_OF_RANGE',
  'AXIS_OUT_OF_RANGE',
  'INVALID_QPARAMS',
  'NON_FINITE',
  'EMPTY_TENSOR',
  'BAD_NPY',
  'BAD_ONNX',
  'UNSUPPORTED_OP',
  'NOT_CALIBRATED',
  'NO_QCONFIG',
  'NO_MAPPING',
  'BAD_FUSION',
  'TRACE_FAILED',
  'OVERFLOW',
  'LIMIT_EXCEEDED',
  'BACKEND_INIT_FAILED',
  'NOT_BUILT',
  'IO_ERROR',
  'INTERRUPTED',
  'INTERNAL',
  'BAD_GRAPH',
] as const;

/** One of {@link QUANT_ERROR_CODES}. */
export type QuantErrorCode = (typeof QUANT_ERROR_CODES)[number];

/**
 * The one error class quint throws: a `code` for programs, a message for people.
 *
 * @example
 * throw new QuantError('SHAPE_MISMATCH', 'conv2d: input has 3 channels, weight expects 1; pass a 1-channel input.');
 */
export class QuantError extends Error {
  override name = 'QuantError';
  readonly code: QuantErrorCode;

  constructor(code: QuantErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/**
 * True for a {@link QuantError} from any copy of this package (a source and a built copy can both be
 * loaded, so `instanceof` is not enough).
 *
 * @example
 * try { run() } catch (e) { if (isQuantError(e)) console.error(`quint: ${e.code}: ${e.message}`) }
 */
export function isQuantError(e: unknown): e is QuantError {
  return (
    e instanceof QuantError ||
    (e instanceof Error && e.name === 'QuantError' && typeof (e as { code?: unknown }).code === 'string')
  );
}
