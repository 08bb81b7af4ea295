// Scale: ResNet-18 and MobileNetV2 from Debian's python3-torchvision 0.14 (seeded weights, no
// download), exported to ONNX and quantized by PyTorch 1.13 at test time (tools/goldens/cli_scale.py,
// into the gitignored tools/goldens/.cache/cli-scale/). `quint quantize` (8 calibration images,
// batches of 4, --torch-compat 1.13) and `quint run` must give PyTorch's int8 output codes end to
// end (≥ 99.5% identical, none more than one apart). Wall time and peak RSS of `quint quantize` on
// ResNet-18 are recorded (RSS asserted < 400 MB; wall time printed, not asserted: the machine is shared).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { npyToTensor } from '@quint/tensor';

const ROOT = resolve(__dirname, '../../..');
const CLI = join(ROOT, 'apps/reference/bin/quint.mjs');
const CACHE = join(ROOT, 'tools/goldens/.cache/cli-scale');
const SCRIPT = join(ROOT, 'tools/goldens/cli_scale.py');
const PYTHON = '/usr/bin/python3';
const MODELS = ['resnet18', 'mobilenet_v2'] as const;

interface ScaleGolden {
  version: number;
  torchPackage: string;
  scale: number;
  zeroPoint: number;
  shape: number[];
  codes: number[];
  pytorchCalibrationSeconds: number;
}

function scriptVersion(): number {
  return Number(/^VERSION = (\d+)/m.exec(readFileSync(SCRIPT, 'utf8'))![1]);
}

function cached(model: string): boolean {
  const json = join(CACHE, `${model}.json`);
  if (!['onnx', 'calib.npy', 'x.npy', 'json'].every((ext) => existsSync(join(CACHE, `${model}.${ext}`)))) return false;
  return (JSON.parse(readFileSync(json, 'utf8')) as ScaleGolden).version === scriptVersion();
}

/** Generates the models with Debian's PyTorch when the cache lacks them; fails saying what to install. */
function ensureModels(): void {
  const missing = MODELS.filter((m) => !cached(m));
  if (missing.length === 0) return;
  const probe = spawnSync(
    PYTHON,
    ['-c', 'import torch, torchvision, onnx; print(torch.__version__, torchvision.__version__, onnx.__version__)'],
    { encoding: 'utf8' },
  );
  if (probe.status !== 0) {
    throw new Error(
      `the scale test generates ResNet-18 and MobileNetV2 with Debian's PyTorch, which is missing (${PYTHON}: ${(probe.stderr || String(probe.error)).trim().split('\n').at(-1)}); ` +
        'install it with: apt-get install -y python3-torch python3-onnx python3-torchvision',
    );
  }
  const r = spawnSync(PYTHON, [SCRIPT, ...missing], { cwd: ROOT, encoding: 'utf8', timeout: 400_000 });
  if (r.status !== 0)
    throw new Error(`${SCRIPT} failed (status ${r.status}):\n${r.stderr.split('\n').slice(-15).join('\n')}`);
}

const dir = mkdtempSync(join(tmpdir(), 'quint-cli-scale-'));
const figures: string[] = [];
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  console.log(
    `quint CLI at scale (PyTorch 1.13 goldens, engine qnnpack, qconfig qnnpack, torchCompat 1.13):\n${figures.join('\n')}`,
  );
});

beforeAll(() => {
  ensureModels();
}, 600_000);

// A preload that records the child's own resource usage when it exits (peak RSS in kB).
const RUSAGE = `data:text/javascript,import{writeFileSync}from"node:fs";process.on("exit",()=>writeFileSync(process.env.QUINT_RUSAGE_OUT,JSON.stringify(process.resourceUsage())))`;

describe.each(MODELS)('%s', (model) => {
  test('quint quantize (8 images) + quint run agree with PyTorch end to end; quantize time and peak RSS recorded', () => {
    const g = JSON.parse(readFileSync(join(CACHE, `${model}.json`), 'utf8')) as ScaleGolden;
    expect(g.torchPackage).toBe('1.13.1+dfsg-4');
    const out = join(dir, `${model}.int8.onnx`);
    const usage = join(dir, `${model}.rusage.json`);
    const t0 = performance.now();
    const q = spawnSync(
      process.execPath,
      [
        `--import=${RUSAGE}`,
        CLI,
        'quantize',
        join(CACHE, `${model}.onnx`),
        '--calib',
        join(CACHE, `${model}.calib.npy`),
        '--batch-size',
        '4',
        '--torch-compat',
        '1.13',
        '--out',
        out,
      ],
      { cwd: ROOT, encoding: 'utf8', env: { ...process.env, QUINT_RUSAGE_OUT: usage } },
    );
    const seconds = (performance.now() - t0) / 1000;
    expect(q.status, q.stderr).toBe(0);
    expect(q.stdout).toMatch(/8 calibration samples/);
    const ru = JSON.parse(readFileSync(usage, 'utf8')) as {
      maxRSS: number;
      userCPUTime: number;
      systemCPUTime: number;
    };
    const rssMb = ru.maxRSS / 1024;
    const cpu = (ru.userCPUTime + ru.systemCPUTime) / 1e6;

    const y = join(dir, `${model}.y.npy`);
    const r = spawnSync(
      process.execPath,
      [CLI, 'run', out, '--input', join(CACHE, `${model}.x.npy`), '--out', y, '--backend', 'wasm'],
      { cwd: ROOT, encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    const ys = npyToTensor(new Uint8Array(readFileSync(y)));
    expect(ys.shape).toEqual(g.shape);
    const v = ys.toFloat32Array();
    let identical = 0;
    let maxDiff = 0;
    g.codes.forEach((c, i) => {
      const ours = Math.round(v[i]! / g.scale) + g.zeroPoint;
      if (ours === c) identical++;
      maxDiff = Math.max(maxDiff, Math.abs(ours - c));
    });
    figures.push(
      `  ${model}: quantize ${seconds.toFixed(1)} s wall (${cpu.toFixed(1)} s CPU; PyTorch's calibration ${g.pytorchCalibrationSeconds.toFixed(1)} s), peak RSS ${rssMb.toFixed(0)} MB; ` +
        `output codes ${identical}/${g.codes.length} identical, max ${maxDiff} apart`,
    );
    expect(identical / g.codes.length).toBeGreaterThanOrEqual(0.995);
    expect(maxDiff).toBeLessThanOrEqual(1);
    if (model === 'resnet18') expect(rssMb).toBeLessThan(400);
  }, 600_000);
});
