// Loop helpers of the non-GEMM kernels (elementwise.ts, activations.ts, pooling.ts) that only the
// reference needs. Internal: nothing here is exported from the package. The checks, the inner-loop
// split, trace records and supports() rules both backends share are in @quint/qtensor
// (nongemm-checks.ts, lookup-tables.ts).
import { allocStorage, type MemoryFormat } from '@quint/qtensor';

export const f32 = Math.fround;

/** Fresh quint8 storage. */
export function allocU8(n: number): Uint8Array {
  return allocStorage('quint8', n);
}

/**
 * The logical (C-order) index of each position in memory order: identity for contiguous tensors,
 * NHWC order for channels_last 4-D tensors. PyTorch's `cpu_kernel_vec` walks memory order, and its
 * vectorized body covers a prefix of it (spec §12.C4).
 */
export function memoryOrder(shape: readonly number[], memoryFormat: MemoryFormat | undefined): Int32Array | null {
  if (memoryFormat !== 'channels_last' || shape.length !== 4) return null;
  const [n, c, h, w] = shape as [number, number, number, number];
  const order = new Int32Array(n * c * h * w);
  let m = 0;
  for (let in_ = 0; in_ < n; in_++)
    for (let ih = 0; ih < h; ih++)
      for (let iw = 0; iw < w; iw++) for (let ic = 0; ic < c; ic++) order[m++] = ((in_ * c + ic) * h + ih) * w + iw;
  return order;
}
