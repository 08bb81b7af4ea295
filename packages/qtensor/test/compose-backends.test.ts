import { describe, expect, it } from 'vitest';
import { composeBackends, defineBackend, type QuantizedBackend } from '../src/index.js';

// Two fake backends that record which of them ran an op.
function fake(name: string, ops: readonly ('relu' | 'flatten')[], calls: string[]): QuantizedBackend {
  const kernels: Record<string, unknown> = {};
  for (const op of ops) kernels[op] = () => calls.push(`${name}.${op}`);
  return defineBackend({ name, kernels, engines: { relu: ['qnnpack'], flatten: ['qnnpack', 'ort'] } });
}

describe('composeBackends', () => {
  it('runs each op on the primary where it supports the engine, else on the fallback', async () => {
    const calls: string[] = [];
    const b = composeBackends({
      primary: fake('wasm', ['relu'], calls),
      fallback: fake('js', ['relu', 'flatten'], calls),
      engine: 'qnnpack',
    });
    await b.init();
    (b.kernels.relu as unknown as () => void)();
    (b.kernels.flatten as unknown as () => void)();
    expect(calls).toEqual(['wasm.relu', 'js.flatten']);
    expect(b.name).toBe('wasm+js');
    expect(b.supports('relu')).toBe(true);
    expect(b.supports('flatten', { engine: 'ort' })).toBe(true);
    expect(b.supports('mean')).toBe(false);
  });

  it("a call that names no engine uses the composition's: an op the primary lacks on it goes to the fallback", async () => {
    const calls: string[] = [];
    const b = composeBackends({
      primary: fake('wasm', ['relu'], calls),
      fallback: fake('js', ['relu'], calls),
      engine: 'ort',
    });
    await b.init();
    (b.kernels.relu as unknown as () => void)();
    expect(calls).toEqual(['js.relu']);
  });

  it("routes a call by the engine its options name: the primary's op for its engines, the fallback's for others", async () => {
    const calls: string[] = [];
    const b = composeBackends({
      primary: fake('wasm', ['relu'], calls),
      fallback: fake('js', ['relu'], calls),
      engine: 'qnnpack',
    });
    await b.init();
    const relu = b.kernels.relu as unknown as (x: unknown, o?: { engine?: string }) => void;
    relu({}, { engine: 'ort' });
    relu({}, { engine: 'qnnpack' });
    relu({});
    relu({}, {});
    expect(calls).toEqual(['js.relu', 'wasm.relu', 'wasm.relu', 'wasm.relu']);
  });
});
