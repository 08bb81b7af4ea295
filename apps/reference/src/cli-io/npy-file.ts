// .npy files read from disk for the CLI: the header first, then the data in chunks with fs.readSync
// at offsets, so a calibration file is never read whole (DESIGN.md "The CLI contract": float32,
// float64 rounded to float32, other dtypes BAD_DTYPE).
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { QuantError, Tensor, readNpyHeader, type NpyHeader } from '@quint/tensor';

/** An open `.npy` file of float samples: its header and a reader of sample ranges. */
export interface NpyFile {
  readonly path: string;
  readonly header: NpyHeader;
  /** Samples along axis 0 (1 for a 0-d array). */
  readonly samples: number;
  /** Shape of one sample (the header shape without axis 0). */
  readonly sampleShape: readonly number[];
  /** Reads samples [start, start + count) as a float32 Tensor of shape [count, ...sampleShape]. */
  read(start: number, count: number): Tensor;
  close(): void;
}

const HEADER_PREFIX = 4096;

/**
 * Opens a `.npy` file of float32 or float64 data: reads and checks the header only.
 *
 * @throws QuantError `IO_ERROR` when the file cannot be read; `BAD_NPY` for a bad or truncated
 *   file; `BAD_DTYPE` for any dtype other than float32/float64.
 */
export function openNpy(path: string, flag: string): NpyFile {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new QuantError(
      'IO_ERROR',
      `${flag} ${path}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); check the path.`,
      { cause: e },
    );
  }
  try {
    const size = fstatSync(fd).size;
    let prefix = new Uint8Array(Math.min(size, HEADER_PREFIX));
    readSync(fd, prefix, 0, prefix.length, 0);
    let header: NpyHeader;
    try {
      header = readNpyHeader(prefix);
    } catch (e) {
      // A header longer than the prefix (format 2.0): read as much as it says it needs.
      if (size > prefix.length && prefix.length >= 12) {
        prefix = new Uint8Array(
          Math.min(size, 12 + (prefix[8]! | (prefix[9]! << 8) | (prefix[10]! << 16)) + prefix[11]! * 2 ** 24),
        );
        readSync(fd, prefix, 0, prefix.length, 0);
        header = readNpyHeader(prefix);
      } else throw e;
    }
    if (header.dtype !== 'float32' && header.dtype !== 'float64') {
      throw new QuantError(
        'BAD_DTYPE',
        `${flag} ${path}: the array is ${header.dtype}; quint takes float32 (or float64, rounded): save it with a.astype(np.float32).`,
      );
    }
    const have = size - header.dataOffset;
    if (have !== header.dataLength) {
      throw new QuantError(
        'BAD_NPY',
        `${flag} ${path}: the data is ${have} bytes but shape (${header.shape.join(', ')}) of ${header.dtype} needs ${header.dataLength}; the file is ${have < header.dataLength ? 'truncated' : 'corrupt (extra bytes)'}.`,
      );
    }
    const samples = header.shape.length === 0 ? 1 : header.shape[0]!;
    const sampleShape = header.shape.slice(1);
    const perSample = sampleShape.reduce((a, b) => a * b, 1);
    const h = header;
    return {
      path,
      header: h,
      samples,
      sampleShape,
      read(start: number, count: number): Tensor {
        const n = count * perSample;
        const bytes = new Uint8Array(n * h.itemSize);
        let done = 0;
        const at = h.dataOffset + start * perSample * h.itemSize;
        while (done < bytes.length) {
          const r = readSync(fd, bytes, done, bytes.length - done, at + done);
          if (r === 0)
            throw new QuantError('BAD_NPY', `${flag} ${path}: the file ended early (changed while reading?).`);
          done += r;
        }
        const data =
          h.dtype === 'float32' ? new Float32Array(bytes.buffer) : Float32Array.from(new Float64Array(bytes.buffer));
        return new Tensor(data, h.shape.length === 0 ? [] : [count, ...sampleShape]);
      },
      close(): void {
        closeSync(fd);
      },
    };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/** Reads a whole float `.npy` file (an inference input) with the same rules as {@link openNpy}. */
export function readFloatNpy(path: string, flag: string): Tensor {
  const f = openNpy(path, flag);
  try {
    return f.read(0, f.samples);
  } finally {
    f.close();
  }
}

/** Index of the first NaN/Inf, or -1. */
export function firstNonFinite(t: Tensor): number {
  const d = t.toFloat32Array();
  for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i]!)) return i;
  return -1;
}
