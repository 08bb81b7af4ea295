// reshape and flatten: exact passthrough of codes and qparams (spec pytorch-semantics.md §5.9).
import { QuantError, shapeNumel } from '@quint/tensor';
import { QTensor, type FlattenParams, type KernelOptions, type KernelTable } from '@quint/qtensor';

function checkQ(op: 'reshape' | 'flatten', x: QTensor): void {
  if (!(x instanceof QTensor)) {
    throw new QuantError('INVALID_ARGUMENT', `${op}: input is not a QTensor; quantize it first (quantizePerTensor).`);
  }
}

/**
 * Same codes and qparams under a new shape, as `torch.reshape` on a quantized tensor (spec §5.9):
 * the codes are moved unchanged (C order), on every engine. One dim may be −1.
 * @throws `SHAPE_MISMATCH` when the element counts differ; `INVALID_ARGUMENT` for more than one −1
 *   or a negative size.
 * @example
 * reshape(x, [x.shape[0]!, -1]);
 * @see https://pytorch.org/docs/stable/generated/torch.reshape.html
 */
export function reshape(x: QTensor, shape: readonly number[], _opts?: KernelOptions): QTensor {
  checkQ('reshape', x);
  const infer = shape.filter((d) => d === -1).length;
  if (infer > 1 || shape.some((d) => !Number.isInteger(d) || d < -1)) {
    throw new QuantError(
      'INVALID_ARGUMENT',
      `reshape: shape [${shape.join(', ')}] must hold non-negative integers and at most one -1.`,
    );
  }
  const known = shape.reduce((p, d) => (d === -1 ? p : p * d), 1);
  const out = [...shape];
  if (infer === 1) {
    if (known === 0 || x.numel % known !== 0) {
      throw new QuantError(
        'SHAPE_MISMATCH',
        `reshape: shape [${shape.join(', ')}] is invalid for an input of ${x.numel} elements; make the sizes divide it.`,
      );
    }
    out[out.indexOf(-1)] = x.numel / known;
  }
  if (shapeNumel(out) !== x.numel) {
    throw new QuantError(
      'SHAPE_MISMATCH',
      `reshape: shape [${shape.join(', ')}] is invalid for an input of ${x.numel} elements; keep the element count.`,
    );
  }
  return new QTensor(x.data.slice(), out, x.dtype, x.qparams);
}

/**
 * Same codes and qparams with dims `startDim..endDim` merged, as `torch.flatten` (spec §5.9). A
 * channels_last tensor flattens in logical (C, H, W) order (spec §12.C5), which is the C order held
 * here. Defaults: startDim 0, endDim −1.
 * @throws `AXIS_OUT_OF_RANGE` for dims outside the input's rank or startDim > endDim.
 * @example
 * flatten(x, { startDim: 1 }); // [N, C·H·W]
 * @see https://pytorch.org/docs/stable/generated/torch.flatten.html
 */
export function flatten(x: QTensor, params?: FlattenParams, _opts?: KernelOptions): QTensor {
  checkQ('flatten', x);
  const nd = Math.max(x.ndim, 1);
  const norm = (d: number) => (d < 0 ? d + nd : d);
  const s = norm(params?.startDim ?? 0);
  const e = norm(params?.endDim ?? -1);
  if (!Number.isInteger(s) || !Number.isInteger(e) || s < 0 || e >= nd || s > e) {
    throw new QuantError(
      'AXIS_OUT_OF_RANGE',
      `flatten: startDim ${params?.startDim ?? 0} and endDim ${params?.endDim ?? -1} are invalid for a ${x.ndim}-D input; pass dims in [${-nd}, ${nd - 1}] with startDim ≤ endDim.`,
    );
  }
  if (x.ndim === 0) return new QTensor(x.data.slice(), [1], x.dtype, x.qparams);
  const out = [...x.shape.slice(0, s), x.shape.slice(s, e + 1).reduce((p, d) => p * d, 1), ...x.shape.slice(e + 1)];
  return new QTensor(x.data.slice(), out, x.dtype, x.qparams);
}

/** The shape kernels, for createJsBackend's kernel table. */
export const shapeKernels: Partial<KernelTable> = { reshape, flatten };
