// `quint report <model.onnx> --calib … --input …` through the library: any float ONNX model (here
// @quint/onnx's small convnet fixture from torch 1.13), the report's data checked for consistency
// with the numeric suite and the observers, and the bad inputs the CLI contract names.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isQuantError, writeNpy } from '@quint/tensor';
import { buildReport, type ReportData } from '../src/report/build-report.js';
import { npyReport } from '../src/report/report-command.js';
import { splitBatches } from '../src/report/model-report.js';
import { mnistOnnxPath } from '../src/demo/mnist-pipeline.js';
import { Tensor } from '@quint/tensor';

const fixtures = fileURLToPath(new URL('../../../packages/onnx/test/fixtures/', import.meta.url));
const model = join(fixtures, 'convnet.onnx');
const calib = join(fixtures, 'calib.npy');
const input = join(fixtures, 'x.npy');

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    return isQuantError(e) ? e.code : `not a QuantError: ${String(e)}`;
  }
}

describe('quint report of a float ONNX model with .npy data', () => {
  let data: ReportData;
  const dir = mkdtempSync(join(tmpdir(), 'quint-report-'));
  beforeAll(async () => {
    data = await npyReport(model, calib, input, 'quint test');
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('has every section: SQNR per layer, one histogram per observer, weights per channel, five latency bars', () => {
    expect(data.sqnr.length).toBeGreaterThan(0);
    for (const r of data.sqnr) expect(r.sqnr).toBeGreaterThan(10);
    expect(data.activations.length).toBeGreaterThan(0);
    for (const a of data.activations) {
      expect(a.values).toBeGreaterThan(0);
      expect(a.range[0]).toBeLessThanOrEqual(a.range[1]);
      // The chosen range is what the qparams represent: scale·(qmin − zp) … scale·(qmax − zp).
      expect(a.range[1]).toBe(Math.fround(a.scale * (a.quantMax - a.zeroPoint)));
    }
    expect(data.weights.length).toBeGreaterThan(0);
    for (const w of data.weights) {
      expect(w.channels).toHaveLength(w.shape[0]!);
      for (const c of w.channels) {
        expect(c.min).toBeLessThanOrEqual(c.p25);
        expect(c.p25).toBeLessThanOrEqual(c.median);
        expect(c.median).toBeLessThanOrEqual(c.p75);
        expect(c.p75).toBeLessThanOrEqual(c.max);
        // A weight observer's grid covers the channel's weights (up to half a step of rounding).
        expect(c.gridLo).toBeLessThanOrEqual(c.min + 1e-6);
        expect(c.gridHi).toBeGreaterThanOrEqual(c.max - Math.abs(c.max) * 0.01 - 1e-6);
      }
    }
    expect(data.latency.map((l) => l.label)).toEqual([
      'fp32, quint float ops',
      'int8 FX, kernels-js',
      'int8 FX, kernels-wasm (+js)',
      'ONNX Runtime Web fp32',
      'ONNX Runtime Web int8 (QDQ)',
    ]);
    for (const l of data.latency) expect(l.ms).toBeGreaterThan(0);
    expect(data.summary.find((r) => r.label.startsWith('model bytes int8'))).toBeDefined();
    const html = buildReport(data);
    writeFileSync(join(dir, 'r.html'), html);
    expect(html).toContain(data.sqnr[0]!.name);
  });

  it('fails with the contract codes: quantized model, integer .npy, NaN, missing file', async () => {
    const q = join(fixtures, 'qdq-u8s8.onnx');
    expect(await code(npyReport(q, calib, input, 't'))).toBe('INVALID_ARGUMENT');
    const ints = join(dir, 'ints.npy');
    writeFileSync(ints, writeNpy({ dtype: 'int32', shape: [2, 3, 8, 8], data: new Int32Array(384) }));
    expect(await code(npyReport(model, ints, input, 't'))).toBe('BAD_DTYPE');
    const nan = join(dir, 'nan.npy');
    const d = new Float32Array(2 * 3 * 8 * 8);
    d[5] = NaN;
    writeFileSync(nan, writeNpy(new Tensor(d, [2, 3, 8, 8])));
    expect(await code(npyReport(model, calib, nan, 't'))).toBe('NON_FINITE');
    expect(await code(npyReport(join(dir, 'missing.onnx'), calib, input, 't'))).toBe('IO_ERROR');
    expect(await code(npyReport(mnistOnnxPath(), calib, input, 't'))).toBe('SHAPE_MISMATCH');
  });

  it('splits calibration data into batches along axis 0', () => {
    const t = new Tensor(
      Float32Array.from({ length: 10 * 2 }, (_, i) => i),
      [10, 2],
    );
    const b = splitBatches(t, 4);
    expect(b.map((x) => x.shape)).toEqual([
      [4, 2],
      [4, 2],
      [2, 2],
    ]);
    expect(b[2]!.contiguous().data).toEqual(Float32Array.from([16, 17, 18, 19]));
    expect(splitBatches(t, 10)).toEqual([t]);
  });
});
