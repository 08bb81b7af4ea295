// Hard inputs for the wasm backend (issue 12): the exact int32 overflow check of kernels-js applies
// here too, at prepack and per call, with the same code; wasm memory growth the engine refuses is a
// QuantError('LIMIT_EXCEEDED'), never a trap, and the backend keeps working afterwards.
import { createJsBackend } from '@quint/kernels-js';
import { QTensor, type QuantizedBackend } from '@quint/qtensor';
import { isQuantError } from '@quint/tensor';
import { describe, expect, it } from 'vitest';
import { createWasmBackend } from '../src/index.js';
// The allocator is internal; a tiny engine-limited memory shows the refusal path without GiBs.
import { WasmHeap } from '../src/heap.js';
import { activation, rng, weight } from './helpers.js';

function outcome(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (!isQuantError(e)) throw e;
    return `${e.code}: ${e.message}`;
  }
  return 'ok';
}
const codeOf = (f: () => unknown): string => outcome(f).split(':')[0]!;

async function both(): Promise<[QuantizedBackend, QuantizedBackend]> {
  const wasm = createWasmBackend();
  await wasm.init();
  return [createJsBackend(), wasm];
}

describe('int32 overflow on the wasm backend', () => {
  it('prepackConv2d: a reduction that can overflow is OVERFLOW on both backends', async () => {
    const [js, wasm] = await both();
    // 4 × 160 × 160 weights of −128: Σ|w|·255 = 102400 · 128 · 255 > 2^31 − 1.
    const w = weight(rng(1), [1, 4, 160, 160], { perChannel: false, symmetric: true });
    (w.data as Int8Array).fill(-128);
    expect(codeOf(() => js.prepackConv2d(w, null))).toBe('OVERFLOW');
    expect(codeOf(() => wasm.prepackConv2d(w, null))).toBe('OVERFLOW');
    wasm.dispose();
  });

  it('per call: an int32 bias that overflows with the real input scale is OVERFLOW on both, with the same message', async () => {
    const [js, wasm] = await both();
    const r = rng(2);
    const w = new QTensor(new Int8Array(8).fill(3), [2, 4], 'qint8', {
      qscheme: 'per_tensor_symmetric',
      scale: 0.01,
      zeroPoint: 0,
    });
    const bias = new Float32Array([100, -100]);
    const x = activation(r, [3, 4]);
    const tiny = new QTensor(x.data, x.shape, 'quint8', { qscheme: 'per_tensor_affine', scale: 1e-9, zeroPoint: 7 });
    const out = { scale: 0.05, zeroPoint: 128 };
    const results = [js, wasm].map((be) => {
      const p = be.prepackLinear(w, bias);
      return {
        ok: Array.from(be.kernels.linear(x, p, out).data),
        overflow: outcome(() => be.kernels.linear(tiny, p, out)),
      };
    });
    expect(results[0]!.overflow).toMatch(
      /^OVERFLOW: linear: the int32 accumulator of .* can reach \d+ > 2\^31−1 with input \(scale 1e-9, zero point 7\)/,
    );
    expect(results[1]).toEqual(results[0]);
    // The wasm backend still runs after the refusal.
    const p = wasm.prepackLinear(w, bias);
    expect(Array.from(wasm.kernels.linear(x, p, out).data)).toEqual(results[0]!.ok);
    wasm.dispose();
  });

  it('conv2d per call: the same check and code on both backends', async () => {
    const [js, wasm] = await both();
    const w = new QTensor(new Int8Array(2 * 3 * 3 * 3).fill(-2), [2, 3, 3, 3], 'qint8', {
      qscheme: 'per_tensor_symmetric',
      scale: 0.02,
      zeroPoint: 0,
    });
    const bias = new Float32Array([50, 0.5]);
    const x = activation(rng(3), [1, 3, 5, 5]);
    const tiny = new QTensor(x.data, x.shape, 'quint8', { qscheme: 'per_tensor_affine', scale: 1e-10, zeroPoint: 0 });
    const codes = [js, wasm].map((be) =>
      outcome(() => be.kernels.conv2d(tiny, be.prepackConv2d(w, bias, { padding: 1 }), { scale: 0.1, zeroPoint: 0 })),
    );
    expect(codes[0]).toMatch(/^OVERFLOW: /);
    expect(codes[1]).toBe(codes[0]);
    wasm.dispose();
  });
});

describe('wasm memory growth', () => {
  it('a grow the engine refuses is LIMIT_EXCEEDED (not a RangeError or a trap); the heap stays usable', () => {
    // A memory capped at 3 pages, as an embedder (or a browser under memory pressure) might refuse.
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 3 });
    const heap = new WasmHeap(memory, 0);
    const small = heap.alloc(1000, 'small');
    const msg = outcome(() => heap.alloc(4 * 65536, 'linear: int32 accumulators [512, 512]'));
    expect(msg).toMatch(
      /^LIMIT_EXCEEDED: linear: int32 accumulators \[512, 512\]: needs 262144 bytes of wasm memory, .*\(the engine refused to grow memory\); split the input into smaller batches or use createJsBackend\(\)/,
    );
    expect(outcome(() => heap.allocAll([65536, 65536, 65536], 'three blocks'))).toMatch(
      /^LIMIT_EXCEEDED: three blocks: needs 196608 bytes/,
    );
    // Nothing leaked by the failed allocAll; a block that fits is still handed out.
    heap.release(small);
    expect(heap.liveBytes).toBe(0);
    expect(heap.alloc(2 * 65536, 'fits')).toBeGreaterThanOrEqual(0);
  });
});
