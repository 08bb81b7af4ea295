// Loading, failure modes, memory limits, dispose, and the worker-thread path.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createJsBackend } from '@quint/kernels-js';
import { isQuantError, type QuantErrorCode } from '@quint/tensor';
import { QTensor, type PackedLinear, type QuantizedBackend } from '@quint/qtensor';
import { describe, expect, it } from 'vitest';
import { createBackendWithFallback, createWasmBackend, hasWasmSimd, MAX_WASM_BYTES, WASM_OPS } from '../src/index.js';
import { activation, bias, rng, weight } from './helpers.js';

/**
 * The first index where two outputs' codes differ, or −1 (or their lengths when those differ): a
 * failing `toEqual` on 10^5 codes spends minutes building its diff.
 */
function firstDiff(a: QTensor, b: QTensor): number {
  if (a.data.length !== b.data.length) return Math.min(a.data.length, b.data.length);
  return a.data.findIndex((v, i) => v !== b.data[i]);
}

function code(f: () => unknown): QuantErrorCode | 'no error' | 'not a QuantError' {
  try {
    f();
  } catch (e) {
    return isQuantError(e) ? e.code : 'not a QuantError';
  }
  return 'no error';
}

async function codeAsync(f: () => Promise<unknown>): Promise<QuantErrorCode | 'no error' | 'not a QuantError'> {
  try {
    await f();
  } catch (e) {
    return isQuantError(e) ? e.code : 'not a QuantError';
  }
  return 'no error';
}

describe('loading', () => {
  it('finds build/kernels.wasm by default and has SIMD here', async () => {
    expect(hasWasmSimd()).toBe(true);
    const be = createWasmBackend();
    await be.init();
    expect(be.name).toBe('wasm');
    be.dispose();
  });

  it('a wrong URL fails init with BACKEND_INIT_FAILED naming the file and kernels-js', async () => {
    const be = createWasmBackend({ wasmUrl: new URL('./no-such-file.wasm', import.meta.url) });
    await expect(be.init()).rejects.toThrow(/no-such-file\.wasm.*createJsBackend/);
    expect(await codeAsync(() => be.init())).toBe('BACKEND_INIT_FAILED');
  });

  it('a file that is not the kernels module fails init with BACKEND_INIT_FAILED', async () => {
    const be = createWasmBackend({ wasmUrl: new URL('../package.json', import.meta.url) });
    expect(await codeAsync(() => be.init())).toBe('BACKEND_INIT_FAILED');
  });

  it('createBackendWithFallback returns the fallback and reports the cause', async () => {
    const seen: string[] = [];
    const be = await createBackendWithFallback({
      wasm: { wasmUrl: new URL('./missing.wasm', import.meta.url) },
      fallback: createJsBackend,
      onFallback: (e) => seen.push(`${e.code}: ${e.message}`),
    });
    expect(be.name).toBe('js');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatch(/^BACKEND_INIT_FAILED: .*missing\.wasm/);
    const ok = await createBackendWithFallback({
      fallback: createJsBackend,
      onFallback: () => seen.push('unexpected'),
    });
    expect(ok.name).toBe('wasm');
    expect(seen).toHaveLength(1);
    ok.dispose();
  });

  it('kernels before init() fail with BACKEND_INIT_FAILED', () => {
    const be = createWasmBackend();
    const w = weight(rng(1), [2, 3], { perChannel: false, symmetric: true });
    expect(code(() => be.prepackLinear(w, null))).toBe('BACKEND_INIT_FAILED');
  });

  it('supports() covers WASM_OPS on their engines; the others run on kernels-js', () => {
    const be = createWasmBackend();
    expect(WASM_OPS.every((op) => be.supports(op))).toBe(true);
    expect(be.supports('add')).toBe(true);
    expect(be.supports('add', { engine: 'ort' })).toBe(true);
    expect(be.supports('add', { engine: 'fbgemm' })).toBe(false);
    expect(be.supports('maxPool2d', { engine: 'ort' })).toBe(true);
    expect(be.supports('avgPool2d', { engine: 'ort' })).toBe(false);
    expect(be.supports('hardswish', { engine: 'ort' })).toBe(true);
    expect(be.supports('relu', { dtype: 'qint8' })).toBe(false);
    expect(be.supports('mean', { engine: 'onednn', memoryFormat: 'channels_last' })).toBe(true);
    expect(be.supports('mul')).toBe(true);
    expect(be.supports('mulRelu', { engine: 'ort' })).toBe(true);
    expect(be.supports('cat', { engine: 'ort' })).toBe(true);
    expect(be.supports('cat', { engine: 'fbgemm' })).toBe(false);
    expect(be.supports('linear', { engine: 'onednn', symmetricWeight: false })).toBe(false);
    expect(be.supports('linear', { dtype: 'qint8' })).toBe(false);
    expect(code(() => be.kernels.reshape({} as QTensor, [1]))).toBe('UNSUPPORTED_OP');
  });

  it('non-GEMM ops on an engine without a wasm kernel fail with UNSUPPORTED_OP', async () => {
    const be = createWasmBackend();
    await be.init();
    const x = new QTensor(Uint8Array.from([1, 2, 3, 4]), [1, 1, 2, 2], 'quint8', {
      qscheme: 'per_tensor_affine',
      scale: 0.1,
      zeroPoint: 2,
    });
    expect(code(() => be.kernels.avgPool2d(x, { kernelSize: 2 }, { engine: 'ort' }))).toBe('UNSUPPORTED_OP');
    expect(Array.from(be.kernels.relu(x).data)).toEqual([2, 2, 3, 4]);
    be.dispose();
  });
});

describe('memory', () => {
  it('a call beyond the wasm32 limit fails with LIMIT_EXCEEDED before any work, and the backend still works', async () => {
    const be = createWasmBackend();
    await be.init();
    const r = rng(5);
    const n = 8192;
    const w = be.prepackLinear(weight(r, [n, 8], { perChannel: false, symmetric: true }), null);
    // 70000 rows × 8192 features of int32 accumulators alone is 2.3 GB > MAX_WASM_BYTES.
    const big = activation(r, [70000, 8]);
    expect(70000 * n * 4).toBeGreaterThan(MAX_WASM_BYTES);
    expect(code(() => be.kernels.linear(big, w, { scale: 1, zeroPoint: 0 }))).toBe('LIMIT_EXCEEDED');
    const small = activation(r, [2, 8]);
    expect(be.kernels.linear(small, w, { scale: 1, zeroPoint: 0 }).shape).toEqual([2, n]);
    be.dispose();
  });

  it('prepack checks int32 overflow like kernels-js', async () => {
    const be = createWasmBackend();
    await be.init();
    const k = 70000;
    const w = weight(rng(2), [1, k], { perChannel: false, symmetric: true });
    (w.data as Int8Array).fill(-128);
    expect(code(() => be.prepackLinear(w, null))).toBe('OVERFLOW');
    expect(code(() => createJsBackend().prepackLinear(w, null))).toBe('OVERFLOW');
    be.dispose();
  });

  it('dispose() frees packed weights; using one afterwards is an error, not garbage', async () => {
    const be = createWasmBackend();
    await be.init();
    const r = rng(3);
    const w = be.prepackLinear(weight(r, [16, 16], { perChannel: false, symmetric: true }), null);
    const x = activation(r, [1, 16]);
    be.kernels.linear(x, w, { scale: 0.1, zeroPoint: 0 });
    be.dispose();
    await be.init();
    expect(code(() => be.kernels.linear(x, w, { scale: 0.1, zeroPoint: 0 }))).toBe('INVALID_ARGUMENT');
    be.dispose();
  });

  it('a packed weight no longer referenced is freed after garbage collection, and its memory reused', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const be = createWasmBackend();
    await be.init();
    const w = weight(rng(6), [256, 256], { perChannel: true, symmetric: true });
    const inWasm = (p: PackedLinear) => (p as unknown as { packed: { ptr: number } }).packed;
    let first: PackedLinear | null = be.prepackLinear(w, null);
    const wasm = inWasm(first);
    const address = wasm.ptr;
    expect(address).toBeGreaterThan(0);
    first = null;
    // Finalizers run in a task after the collection that found the pack unreachable.
    for (let i = 0; i < 50 && wasm.ptr !== 0; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(wasm.ptr).toBe(0);
    expect(inWasm(be.prepackLinear(w, null)).ptr).toBe(address);
    be.dispose();
  });

  it('weights packed by another backend are refused', async () => {
    const a = createWasmBackend();
    const b = createWasmBackend();
    await a.init();
    await b.init();
    const r = rng(4);
    const w = a.prepackLinear(weight(r, [4, 4], { perChannel: false, symmetric: true }), null);
    expect(code(() => b.kernels.linear(activation(r, [1, 4]), w, { scale: 0.1, zeroPoint: 0 }))).toBe(
      'INVALID_ARGUMENT',
    );
    a.dispose();
    b.dispose();
  });
});

describe('threads', () => {
  it('2 threads give the single-thread bits on large linear and conv calls', async () => {
    const t2 = createWasmBackend({ threads: 2 });
    const t1 = createWasmBackend();
    await t2.init();
    await t1.init();
    const r = rng(9);
    const wl = weight(r, [200, 512], { perChannel: true, symmetric: true });
    const bl = bias(r, 200, true);
    const xl = activation(r, [33, 512]);
    // 130 rows: units are blocks of rows × columns (3 × 4, the last of each partial).
    const xl3 = activation(r, [130, 512]);
    const xv = activation(r, [1, 512]);
    const wc = weight(r, [40, 32, 3, 3], { perChannel: true, symmetric: false });
    const xc = activation(r, [2, 32, 30, 30]);
    // Few pixels per image: units are ranges of output channels (4-row groups; 50 ends in a
    // partial one), on the padded path (7×7, 10×10 outputs) and the 8-bit one (5×5).
    const byRows = [
      [weight(r, [96, 64, 3, 3], { perChannel: true, symmetric: false }), activation(r, [2, 64, 7, 7])],
      [weight(r, [960, 160, 1, 1], { perChannel: true, symmetric: true }), activation(r, [1, 160, 7, 7])],
      [weight(r, [50, 128, 3, 3], { perChannel: true, symmetric: true }), activation(r, [1, 128, 10, 10])],
      [weight(r, [64, 256, 3, 3], { perChannel: true, symmetric: true }), activation(r, [2, 256, 5, 5])],
    ] as const;
    // Many input planes and few outputs: widening takes long next to a conv unit. Two inputs in
    // turn, so a conv unit that started before every widening range had finished would read planes
    // of the other input, left in the same scratch by the call before.
    const wWide = weight(r, [2, 512, 3, 3], { perChannel: true, symmetric: true });
    const xWides = [activation(r, [1, 512, 56, 56]), activation(r, [1, 512, 56, 56])];
    const wMany = weight(r, [16, 16, 3, 3], { perChannel: true, symmetric: true });
    const xMany = activation(r, [20, 16, 64, 64]);
    const xc32 = activation(r, [2, 32, 32, 32]);
    const wp1 = weight(r, [64, 96, 1, 1], { perChannel: true, symmetric: true });
    const xp1 = activation(r, [2, 96, 20, 20]);
    // Big enough (≥ 2·2^20 MACs) that depthwise and the int8 GEMV split over both lanes too.
    const wd = weight(r, [64, 1, 3, 3], { perChannel: true, symmetric: true });
    const xd = activation(r, [1, 64, 64, 64]);
    const wv = weight(r, [1000, 2100], { perChannel: true, symmetric: true });
    const bv = bias(r, 1000, true);
    const xw = activation(r, [1, 2100]);
    // 600 000 rows of 4 features into 1: few MACs, so only 9 units of about 1 042 GEMM calls, more
    // than the workers' control block holds (they run on the calling thread).
    const wt = weight(r, [1, 4], { perChannel: false, symmetric: true });
    const xt = activation(r, [600000, 4]);
    const out = { scale: 0.5, zeroPoint: 120 };
    const tall = (be: QuantizedBackend) => be.kernels.linear(xt, be.prepackLinear(wt, null), out);
    expect(firstDiff(tall(t2), tall(t1))).toBe(-1);
    for (const engine of ['qnnpack', 'onednn', 'ort'] as const) {
      const lin = (be: QuantizedBackend) => be.kernels.linear(xl, be.prepackLinear(wl, bl), out, { engine });
      const lin3 = (be: QuantizedBackend) => be.kernels.linear(xl3, be.prepackLinear(wl, bl), out, { engine });
      const gemv = (be: QuantizedBackend) => be.kernels.linearRelu(xv, be.prepackLinear(wl, bl), out, { engine });
      const gemv8 = (be: QuantizedBackend) => be.kernels.linear(xw, be.prepackLinear(wv, bv), out, { engine });
      const convAt = (x: QTensor, padding: readonly [number, number]) => (be: QuantizedBackend) =>
        be.kernels.conv2d(x, be.prepackConv2d(wc, null, { padding }), out, {
          engine: engine === 'onednn' ? 'qnnpack' : engine,
        });
      // Input planes are widened in parallel ranges only when no store runs past a plane: with a
      // top border, or rows of whole vectors (32 wide, or 32·32 without a side border).
      const rowConvs = byRows.map(
        ([wr, xr]) =>
          (be: QuantizedBackend) =>
            be.kernels.conv2d(xr, be.prepackConv2d(wr, null, { padding: (wr.shape[2]! - 1) / 2 }), out, {
              engine: engine === 'onednn' ? 'qnnpack' : engine,
            }),
      );
      // 1×1, stride 1, no padding: no widening units, the conv units read the 8-bit input.
      const pointwise = (be: QuantizedBackend) =>
        be.kernels.conv2dRelu(xp1, be.prepackConv2d(wp1, null), out, { engine });
      const convs = [
        ...(
          [
            [1, 1],
            [1, 0],
            [0, 1],
            [0, 0],
          ] as const
        ).flatMap((p) => [convAt(xc, p), convAt(xc32, p)]),
        ...rowConvs,
        pointwise,
      ];
      const dw = (be: QuantizedBackend) =>
        be.kernels.conv2dRelu(xd, be.prepackConv2d(wd, null, { padding: 1, groups: 64 }), out, { engine });
      for (const f of [lin, lin3, gemv, gemv8, dw]) expect(firstDiff(f(t2), f(t1))).toBe(-1);
      // Repeated, so the worker is awake (polling) and takes widening ranges alongside the caller.
      for (const f of convs) {
        const want = f(t1);
        for (let i = 0; i < 8; i++) expect(firstDiff(f(t2), want)).toBe(-1);
      }
      const wide = (x: QTensor) => (be: QuantizedBackend) =>
        be.kernels.conv2d(x, be.prepackConv2d(wWide, null, { padding: 1 }), out, {
          engine: engine === 'onednn' ? 'qnnpack' : engine,
        });
      // 20 images: more units than one hand-over holds, so the run goes in two batches, the
      // barrier inside the first.
      const many = (be: QuantizedBackend) =>
        be.kernels.conv2d(xMany, be.prepackConv2d(wMany, null, { padding: 1 }), out, {
          engine: engine === 'onednn' ? 'qnnpack' : engine,
        });
      expect(firstDiff(many(t2), many(t1))).toBe(-1);
      const wantWide = xWides.map((x) => wide(x)(t1));
      for (let i = 0; i < 40; i++) expect(firstDiff(wide(xWides[i % 2]!)(t2), wantWide[i % 2]!)).toBe(-1);
    }
    t2.dispose();
    t1.dispose();
  });

  it('runs posted while the worker sleeps or spins give the single-thread bits, and a late worker spoils no later run', async () => {
    const t2 = createWasmBackend({ threads: 2 });
    const t1 = createWasmBackend();
    await t2.init();
    await t1.init();
    const r = rng(21);
    // Calls of different unit counts and scratch layouts, so a worker that claimed from a stale run
    // would run another call's units or miss one of this call's.
    const wc = weight(r, [48, 16, 3, 3], { perChannel: true, symmetric: true });
    const xc = activation(r, [1, 16, 48, 48]);
    const wl = weight(r, [256, 512], { perChannel: true, symmetric: true });
    const xl = activation(r, [40, 512]);
    const wd = weight(r, [64, 1, 3, 3], { perChannel: true, symmetric: true });
    const xd = activation(r, [1, 64, 64, 64]);
    const out = { scale: 0.5, zeroPoint: 120 };
    const calls = [
      (be: QuantizedBackend) => be.kernels.conv2d(xc, be.prepackConv2d(wc, null, { padding: 1 }), out),
      (be: QuantizedBackend) => be.kernels.linear(xl, be.prepackLinear(wl, null), out),
      (be: QuantizedBackend) => be.kernels.conv2d(xd, be.prepackConv2d(wd, null, { padding: 1, groups: 64 }), out),
    ];
    const want = calls.map((f) => f(t1));
    const pause = new Int32Array(new SharedArrayBuffer(4));
    try {
      for (let i = 0; i < 90; i++) {
        // Every fourth call comes after the worker has gone to sleep (it polls for 0.5 ms), so it
        // wakes during that run or after it.
        if (i % 4 === 0) Atomics.wait(pause, 0, 0, 4);
        expect(firstDiff(calls[i % 3]!(t2), want[i % 3]!)).toBe(-1);
      }
    } finally {
      t2.dispose();
      t1.dispose();
    }
  });

  it('a packed weight called again with another shape, scratch or output qparams gets its own units', async () => {
    const t2 = createWasmBackend({ threads: 2 });
    const js = createJsBackend();
    await t2.init();
    await js.init();
    const r = rng(12);
    const wc = weight(r, [32, 16, 3, 3], { perChannel: true, symmetric: true });
    const wl = weight(r, [256, 256], { perChannel: true, symmetric: true });
    const pc = t2.prepackConv2d(wc, null, { padding: 1 });
    const pl = t2.prepackLinear(wl, null);
    const jc = js.prepackConv2d(wc, null, { padding: 1 });
    const jl = js.prepackLinear(wl, null);
    const big = activation(r, [1, 16, 64, 64]);
    const small = activation(r, [1, 16, 40, 40]);
    const [rows64, rows48] = [activation(r, [64, 256]), activation(r, [48, 256])];
    const [o1, o2] = [
      { scale: 0.5, zeroPoint: 120 },
      { scale: 0.25, zeroPoint: 100 },
    ];
    // Each call differs from the one before in one key: the input shape (so the scratch addresses
    // and unit ranges), then the output qparams (so the requantization).
    try {
      for (const [x, out] of [
        [big, o1],
        [small, o1],
        [big, o1],
        [big, o2],
      ] as const) {
        expect(firstDiff(t2.kernels.conv2d(x, pc, out), js.kernels.conv2d(x, jc, out))).toBe(-1);
      }
      for (const [x, out] of [
        [rows64, o1],
        [rows48, o1],
        [rows64, o2],
      ] as const) {
        expect(firstDiff(t2.kernels.linear(x, pl, out), js.kernels.linear(x, jl, out))).toBe(-1);
      }
    } finally {
      t2.dispose();
      js.dispose();
    }
  });
});
