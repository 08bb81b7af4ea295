// runDemo end to end on a small slice (the first 120 evaluation images, 10 latency images): what it
// prints, summary.json's fields and their relations to each other, the report file; and the seed
// step against the seed program it reuses.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelBytes } from '@quint/converter';
import { runSeedProgram } from '../src/seed/seed-program.js';
import { pickElement, seedStep, seedText } from '../src/demo/seed-step.js';
import { runDemo, type DemoSummary } from '../src/demo/run-demo.js';
import { readMnistMeta } from '../src/demo/mnist-pipeline.js';

describe('demo step 1: the seed program', () => {
  const run = runSeedProgram({ engine: 'qnnpack' });
  const s = seedStep(run);

  it('shows the element with the largest accumulator, as the kernel computed it and forward() returned it', () => {
    const e = pickElement(run.elements);
    expect(Math.abs(e.accumulator)).toBe(Math.max(...run.elements.map((el) => Math.abs(el.accumulator))));
    expect(s.element.index).toBe(e.index);
    expect(s.element.outputCode).toBe(s.element.forwardCode);
    expect(s.element.forwardCode).toBe(run.captured.output.intRepr()[e.index]);
    expect(s.identicalToForward).toBe(s.outputs);
    expect(s.outputs).toBe(64);
    // The integer pipeline, recomputed from the shown numbers alone.
    const acc = e.inputCodes.reduce(
      (a, xq, k) => a + (xq - s.qparams.input.zeroPoint) * (e.weightCodes[k]! - s.qparams.weight.zeroPoint),
      0,
    );
    expect(s.element.accumulator).toBe(acc);
    expect(s.element.preRound).toBe(Math.fround(Math.fround(acc + s.element.bias) * s.element.multiplier));
  });

  it('counts model bytes with modelBytes, float vs quantized', () => {
    expect(s.bytes).toEqual({ fp32: modelBytes(run.modelFp32Prepared).fp32, int8: modelBytes(run.modelInt8).int8 });
    const text = seedText(s);
    expect(text).toContain(`= ${s.element.accumulator}`);
    expect(text).toContain(`forward() code       ${s.element.forwardCode}  (identical; all 64 outputs identical: yes)`);
    expect(text).toContain(`Model bytes: float ${s.bytes.fp32}, int8 ${s.bytes.int8}`);
  });
});

describe('runDemo on a slice', () => {
  const dir = mkdtempSync(join(tmpdir(), 'quint-demo-'));
  let text = '';
  let summary: DemoSummary;
  const meta = readMnistMeta();

  beforeAll(async () => {
    summary = await runDemo({
      version: 'test',
      outDir: join(dir, 'out'),
      evalLimit: 120,
      latencyImages: 10,
      progress: false,
      write: (t) => void (text += t),
    });
  }, 240_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes summary.json with the figures it returned', () => {
    const json = JSON.parse(readFileSync(join(dir, 'out', 'summary.json'), 'utf8')) as DemoSummary;
    expect(json).toEqual(JSON.parse(JSON.stringify(summary)));
    const m = json.mnist;
    expect(m.samples).toBe(120);
    expect(m.calibrationSamples).toBe(200);
    for (const k of ['fp32', 'int8Eager', 'int8Fx', 'int8Wasm'] as const) {
      expect(m.accuracy[k]).toBeGreaterThanOrEqual(0);
      expect(m.accuracy[k]).toBeLessThanOrEqual(1);
      // Accuracies are fractions of whole images.
      expect(Math.abs(m.accuracy[k] * 120 - Math.round(m.accuracy[k] * 120))).toBeLessThan(1e-9);
    }
    expect(m.agreement.wasmVsJs).toBe(1);
    expect(m.accuracy.int8Wasm).toBe(m.accuracy.int8Fx);
    expect(m.agreementWithPyTorch.int8Fx).toBeGreaterThanOrEqual(0.99);
    expect(m.agreementWithPyTorch.int8Eager).toBeGreaterThanOrEqual(0.99);
    expect(m.pytorch.accuracy).toEqual(meta.accuracy);
    expect(m.bytes.fp32 / m.bytes.int8).toBeGreaterThanOrEqual(3.5);
    expect(m.checks.bytesRatio).toBeCloseTo(m.bytes.fp32 / Math.max(m.bytes.int8, m.bytes.int8Eager), 12);
    for (const k of ['fp32', 'int8Js', 'int8Wasm', 'int8EagerJs'] as const) expect(m.msPerImage[k]).toBeGreaterThan(0);
    expect(m.latencyImages).toBe(10);
    expect(json.seed.outputs).toBe(64);
    console.log(
      `demo-run (120 images): accuracy fp32 ${m.accuracy.fp32}, eager ${m.accuracy.int8Eager}, FX ${m.accuracy.int8Fx}, wasm ${m.accuracy.int8Wasm}; bytes ${m.bytes.fp32} -> ${m.bytes.int8}; ms/image fp32 ${m.msPerImage.fp32.toFixed(2)} js ${m.msPerImage.int8Js.toFixed(2)} wasm ${m.msPerImage.int8Wasm.toFixed(2)}`,
    );
  });

  it('prints the seed step, the table and both checks', () => {
    const m = summary.mnist;
    expect(text).toContain('1. The seed program, eager mode (engine qnnpack');
    expect(text).toContain('2. MNIST:');
    expect(text).toMatch(/int8 FX, kernels-wasm\s+\d+\.\d\d%/);
    expect(text).toContain(
      `check: every int8 accuracy within 1 point of fp32: ${m.checks.accuracyWithin1Point ? 'yes' : 'NO'}`,
    );
    expect(text).toContain(`check: int8 model at least 3.5x smaller: yes (${m.checks.bytesRatio.toFixed(2)}x)`);
  });

  it('writes a self-contained report.html with the accuracies in its summary', () => {
    const html = readFileSync(join(dir, 'out', 'report.html'), 'utf8');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(/<script[^>]+src=|<link[^>]+href=/.test(html)).toBe(false);
    expect(html.includes('Chart.js v4')).toBe(true);
    expect(html.includes('<td>accuracy int8 FX, kernels-wasm</td>')).toBe(true);
    expect(html.includes(`<td>${(100 * summary.mnist.accuracy.int8Wasm).toFixed(2)}%</td>`)).toBe(true);
  });
});
