// The wasm linear memory, managed from JS: the AssemblyScript module has no allocator of its own
// (runtime stub, no data segments), so packed weights and per-call scratch are placed here.
import { QuantError } from '@quint/tensor';

const PAGE = 65536;
const ALIGN = 64; // cache-line alignment for packed panels; also satisfies v128's 16.

/**
 * Addressable bytes the backend allows itself: 2 GiB. wasm32 addresses reach 4 GiB, but kernel
 * arguments are passed as i32 and a shared (threads) memory must declare its maximum up front.
 */
export const MAX_WASM_BYTES = 32768 * PAGE;

interface Block {
  start: number;
  size: number;
}

/**
 * First-fit allocator over a `WebAssembly.Memory`, growing it on demand. Freed blocks are coalesced.
 * Requests beyond {@link MAX_WASM_BYTES}, or a grow the engine refuses, fail with
 * `QuantError('LIMIT_EXCEEDED')` before any kernel runs (never a wasm trap).
 */
export class WasmHeap {
  readonly memory: WebAssembly.Memory;
  private top: number;
  private readonly free: Block[] = [];
  private readonly sizes = new Map<number, number>();
  private cachedBuffer: ArrayBufferLike | null = null;
  private scratchPtr = 0;
  private scratchSize = 0;
  private cachedU8: Uint8Array = new Uint8Array(0);

  constructor(memory: WebAssembly.Memory, base: number) {
    this.memory = memory;
    this.top = align(base);
  }

  /** Bytes currently allocated (for tests and dispose checks). */
  get liveBytes(): number {
    let s = 0;
    for (const v of this.sizes.values()) s += v;
    return s;
  }

  /**
   * Allocates every size in `sizes` or none: on failure the blocks already taken are released and
   * `LIMIT_EXCEEDED` names `what` and the total asked for.
   */
  allocAll(sizes: readonly number[], what: string | (() => string)): number[] {
    const ptrs: number[] = [];
    try {
      for (const s of sizes) ptrs.push(this.alloc(s, what, sizes));
    } catch (e) {
      for (const p of ptrs) this.release(p);
      throw e;
    }
    return ptrs;
  }

  /**
   * Carves `sizes` out of one scratch block reused by every call (kernels are synchronous, so one
   * call's scratch is dead when the next begins); the block grows when a call needs more. Saves the
   * allocator's work on small calls such as batch-1 GEMV.
   */
  scratch(sizes: readonly number[], what: string | (() => string)): number[] {
    let total = 0;
    for (const s of sizes) total += align(Math.max(s, 1));
    if (total > this.scratchSize) {
      if (this.scratchPtr !== 0) this.release(this.scratchPtr);
      this.scratchPtr = 0;
      this.scratchSize = 0;
      const want = align(Math.ceil(total * 1.25));
      let ptr: number;
      try {
        ptr = this.alloc(want, what);
      } catch {
        ptr = this.alloc(total, what);
      }
      this.scratchPtr = ptr;
      this.scratchSize = this.sizes.get(ptr)!;
    }
    const out: number[] = [];
    let p = this.scratchPtr;
    for (const s of sizes) {
      out.push(p);
      p += align(Math.max(s, 1));
    }
    return out;
  }

  /** Allocates `bytes` (rounded up to 64) and returns the address. */
  alloc(bytes: number, what: string | (() => string), all: readonly number[] = [bytes]): number {
    const size = align(Math.max(bytes, 1));
    const total = all.reduce((a, b) => a + align(Math.max(b, 1)), 0);
    if (!Number.isFinite(size) || size > MAX_WASM_BYTES) throw limit(what, total);
    for (let i = 0; i < this.free.length; i++) {
      const b = this.free[i]!;
      if (b.size >= size) {
        const start = b.start;
        if (b.size === size) this.free.splice(i, 1);
        else {
          b.start += size;
          b.size -= size;
        }
        this.sizes.set(start, size);
        return start;
      }
    }
    const start = this.top;
    const end = start + size;
    if (end > MAX_WASM_BYTES) throw limit(what, total);
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      // Grow by at least 1/8 of the current size so repeated calls do not grow page by page.
      const need = Math.ceil((end - have) / PAGE);
      const want = Math.min(Math.max(need, Math.ceil(have / PAGE / 8)), MAX_WASM_BYTES / PAGE - have / PAGE);
      try {
        this.memory.grow(want);
      } catch (cause) {
        try {
          this.memory.grow(need);
        } catch {
          throw limit(what, total, cause);
        }
      }
    }
    this.top = end;
    this.sizes.set(start, size);
    return start;
  }

  /** Returns a block to the free list. Unknown addresses are ignored (double frees are harmless). */
  release(ptr: number): void {
    const size = this.sizes.get(ptr);
    if (size === undefined) return;
    this.sizes.delete(ptr);
    if (ptr + size === this.top) {
      this.top = ptr;
      // Blocks now at the top fold back into it.
      for (let again = true; again;) {
        again = false;
        for (let i = 0; i < this.free.length; i++) {
          const b = this.free[i]!;
          if (b.start + b.size === this.top) {
            this.top = b.start;
            this.free.splice(i, 1);
            again = true;
            break;
          }
        }
      }
      return;
    }
    let i = 0;
    while (i < this.free.length && this.free[i]!.start < ptr) i++;
    this.free.splice(i, 0, { start: ptr, size });
    // Coalesce with the neighbours.
    const next = this.free[i + 1];
    if (next && ptr + size === next.start) {
      this.free[i]!.size += next.size;
      this.free.splice(i + 1, 1);
    }
    const prev = this.free[i - 1];
    if (prev && prev.start + prev.size === ptr) {
      prev.size += this.free[i]!.size;
      this.free.splice(i, 1);
    }
  }

  /** A byte view of the whole memory (re-created after a grow detaches or replaces the buffer). */
  u8(): Uint8Array {
    const buf = this.memory.buffer;
    if (buf !== this.cachedBuffer || this.cachedU8.byteLength !== buf.byteLength) {
      this.cachedBuffer = buf;
      this.cachedU8 = new Uint8Array(buf);
    }
    return this.cachedU8;
  }

  /** An Int16Array view of `n` elements at `ptr`. */
  i16(ptr: number, n: number): Int16Array {
    return new Int16Array(this.memory.buffer, ptr, n);
  }

  /** An Int32Array view of `n` elements at `ptr`. */
  i32(ptr: number, n: number): Int32Array {
    return new Int32Array(this.memory.buffer, ptr, n);
  }

  /** A Float32Array view of `n` elements at `ptr`. */
  f32(ptr: number, n: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, n);
  }
}

function align(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}

function limit(what: string | (() => string), bytes: number, cause?: unknown): QuantError {
  return new QuantError(
    'LIMIT_EXCEEDED',
    `${typeof what === 'function' ? what() : what}: needs ${bytes} bytes of wasm memory, beyond the ${MAX_WASM_BYTES}-byte wasm32 limit of @quint/kernels-wasm${cause ? ' (the engine refused to grow memory)' : ''}; split the input into smaller batches or use createJsBackend() from @quint/kernels-js.`,
    cause === undefined ? undefined : { cause },
  );
}
