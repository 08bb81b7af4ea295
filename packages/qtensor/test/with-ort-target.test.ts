import { describe, expect, it } from 'vitest';
import { isQuantError } from '@quint/tensor';
import { defineBackend, QTensor, withOrtTarget, type QuantizedBackend } from '../src/index.js';

// A backend whose kernels record the arguments they were called with.
function recorder(seen: unknown[][]): QuantizedBackend {
  const record = (...args: unknown[]) => seen.push(args);
  return defineBackend({
    name: 'rec',
    kernels: { add: record, relu: record, hardtanh: record } as never,
    engines: { add: ['qnnpack', 'ort'], relu: ['qnnpack', 'ort'], hardtanh: ['qnnpack', 'ort'] },
    supports: (op, params) => op !== 'relu' || params.engine !== 'onednn',
  });
}

describe('withOrtTarget', () => {
  it("adds the target to calls whose options name an engine and no target, and leaves the others' arguments as they are", () => {
    const seen: unknown[][] = [];
    const b = withOrtTarget(recorder(seen), 'x64');
    const add = b.kernels.add as unknown as (...a: unknown[]) => void;
    const hardtanh = b.kernels.hardtanh as unknown as (...a: unknown[]) => void;
    const out = { scale: 0.1, zeroPoint: 3 };
    add('a', 'b', out, { engine: 'ort' });
    add('a', 'b', out, { engine: 'ort', target: 'wasm' });
    add('a', 'b', out, { engine: 'qnnpack', trace: { index: 0 } });
    add('a', 'b', out);
    hardtanh('x', { minVal: 0, maxVal: 6 });
    expect(seen).toEqual([
      ['a', 'b', out, { engine: 'ort', target: 'x64' }],
      ['a', 'b', out, { engine: 'ort', target: 'wasm' }],
      ['a', 'b', out, { engine: 'qnnpack', trace: { index: 0 }, target: 'x64' }],
      ['a', 'b', out],
      ['x', { minVal: 0, maxVal: 6 }],
    ]);
  });

  it("keeps the backend's name, capabilities, prepacking and lifetime", async () => {
    let disposed = 0;
    const inner = defineBackend({
      name: 'inner',
      kernels: { relu: () => 'relu' } as never,
      supports: (_op, params) => params.engine !== 'onednn',
      prepackLinear: () => ({ kind: 'packed' }) as never,
      dispose: () => void disposed++,
    });
    const b = withOrtTarget(inner, 'x64');
    await b.init();
    expect(b.name).toBe('inner');
    expect(b.supports('relu', { engine: 'qnnpack' })).toBe(true);
    expect(b.supports('relu', { engine: 'onednn' })).toBe(false);
    expect(b.supports('mean')).toBe(false);
    const w = new QTensor(new Int8Array(4), [2, 2], 'qint8', { qscheme: 'per_tensor_affine', scale: 1, zeroPoint: 0 });
    expect(b.prepackLinear(w, null)).toEqual({ kind: 'packed' });
    b.dispose();
    expect(disposed).toBe(1);
  });

  it('refuses a build quint does not reproduce, naming the ones it does', () => {
    let err: unknown;
    try {
      withOrtTarget(recorder([]), 'arm64' as never);
    } catch (e) {
      err = e;
    }
    expect(isQuantError(err) && err.code).toBe('INVALID_ARGUMENT');
    expect((err as Error).message).toMatch(/target "arm64".*'wasm'.*'x64'/);
  });
});
