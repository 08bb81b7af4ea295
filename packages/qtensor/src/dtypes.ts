import { QuantError } from '@quint/tensor';

/** Quantized dtypes, spelled as PyTorch spells them. */
export type QDtype = 'quint8' | 'qint8' | 'qint32';

/** Quantization schemes, spelled as PyTorch spells them. */
export type QScheme = 'per_tensor_affine' | 'per_tensor_symmetric' | 'per_channel_affine' | 'per_channel_symmetric';

/** The integer storage of each dtype. */
export type IntArray = Uint8Array | Int8Array | Int32Array;

/** Storage type per dtype. */
export type StorageOf<D extends QDtype> = D extends 'quint8' ? Uint8Array : D extends 'qint8' ? Int8Array : Int32Array;

/** The full integer range of a dtype, as `torch.iinfo` / spec §1.1. */
export const DTYPE_RANGE: Readonly<Record<QDtype, readonly [number, number]>> = Object.freeze({
  quint8: [0, 255],
  qint8: [-128, 127],
  qint32: [-2147483648, 2147483647],
});

// The typed array class of each dtype (QTensor checks its storage against it on every construction).
const STORAGE: Readonly<Record<QDtype, new (n: number) => IntArray>> = Object.freeze({
  quint8: Uint8Array,
  qint8: Int8Array,
  qint32: Int32Array,
});

/**
 * The typed array class that stores `dtype`'s codes.
 *
 * @throws `BAD_DTYPE` for a dtype that is not quint8, qint8 or qint32.
 */
export function storageClass<D extends QDtype>(dtype: D): new (n: number) => StorageOf<D> {
  const c = Object.hasOwn(STORAGE, dtype) ? STORAGE[dtype] : undefined;
  if (c === undefined) {
    throw new QuantError('BAD_DTYPE', `unknown quantized dtype '${String(dtype)}'; use 'quint8', 'qint8' or 'qint32'.`);
  }
  return c as new (n: number) => StorageOf<D>;
}

/** Allocates zeroed storage for `n` codes of `dtype`. */
export function allocStorage<D extends QDtype>(dtype: D, n: number): StorageOf<D> {
  return new (storageClass(dtype))(n);
}

/** True for per-channel schemes. */
export function isPerChannel(qscheme: QScheme): boolean {
  return qscheme === 'per_channel_affine' || qscheme === 'per_channel_symmetric';
}
