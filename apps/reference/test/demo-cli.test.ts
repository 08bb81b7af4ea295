// `quint demo` through the built CLI (the root `test` command builds first), in a fresh folder:
// the whole main job, as `npx -y pnpm@10.34.9 start` runs it.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../bin/quint.mjs', import.meta.url));
const built = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

function quint(
  cwd: string,
  ...args: string[]
): { status: number | null; stdout: string; stderr: string; seconds: number } {
  expect(existsSync(built), `${built} is missing: build first (npx -y pnpm@10.34.9 run build)`).toBe(true);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', timeout: 900_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, seconds: (performance.now() - t0) / 1000 };
}

describe('quint demo (built CLI)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'quint-demo-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints the seed step and the MNIST table, passes both checks, writes out/summary.json and out/report.html', () => {
    const r = quint(dir, 'demo');
    expect(r.stderr).toBe(''); // not a TTY: no progress bar, and no warnings
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('1. The seed program, eager mode (engine qnnpack, PyTorch 1.13 numerics)');
    expect(r.stdout).toMatch(/forward\(\) code\s+\d+ {2}\(identical; all 64 outputs identical: yes\)/);
    expect(r.stdout).toContain('check: every int8 accuracy within 1 point of fp32: yes');
    expect(r.stdout).toMatch(/check: int8 model at least 3\.5x smaller: yes \(\d\.\d\dx\)/);
    expect(r.stdout).toContain('wrote out/summary.json and out/report.html');

    const s = JSON.parse(readFileSync(join(dir, 'out', 'summary.json'), 'utf8')) as {
      mnist: {
        samples: number;
        accuracy: Record<'fp32' | 'int8Eager' | 'int8Fx' | 'int8Wasm', number>;
        bytes: { fp32: number; int8: number };
        msPerImage: Record<'fp32' | 'int8Js' | 'int8Wasm', number>;
        agreement: Record<'int8Eager' | 'int8Fx' | 'int8Wasm', number>;
        agreementWithPyTorch: Record<'fp32' | 'int8Eager' | 'int8Fx', number>;
      };
      seed: { outputs: number; identicalToForward: number; bytes: { fp32: number; int8: number } };
      wallSeconds: number;
    };
    const m = s.mnist;
    expect(m.samples).toBe(2004);
    for (const k of ['int8Eager', 'int8Fx', 'int8Wasm'] as const) {
      expect(Math.abs(m.accuracy[k] - m.accuracy.fp32)).toBeLessThanOrEqual(0.01);
      expect(m.agreement[k]).toBeGreaterThanOrEqual(0.99);
    }
    expect(m.accuracy.fp32).toBeGreaterThanOrEqual(0.95);
    for (const k of ['fp32', 'int8Eager', 'int8Fx'] as const)
      expect(m.agreementWithPyTorch[k]).toBeGreaterThanOrEqual(0.99);
    expect(m.bytes.fp32 / m.bytes.int8).toBeGreaterThanOrEqual(3.5);
    for (const k of ['fp32', 'int8Js', 'int8Wasm'] as const) expect(m.msPerImage[k]).toBeGreaterThan(0);
    expect(s.seed.identicalToForward).toBe(s.seed.outputs);
    const html = readFileSync(join(dir, 'out', 'report.html'), 'utf8');
    expect(html.includes('Chart.js v4')).toBe(true);
    console.log(
      `demo-cli: ${r.seconds.toFixed(1)} s wall (demo's own clock ${s.wallSeconds.toFixed(1)} s); accuracy fp32 ${m.accuracy.fp32}, eager ${m.accuracy.int8Eager}, FX ${m.accuracy.int8Fx}, wasm ${m.accuracy.int8Wasm}; ` +
        `agreement with PyTorch fp32 ${m.agreementWithPyTorch.fp32}, eager ${m.agreementWithPyTorch.int8Eager}, FX ${m.agreementWithPyTorch.int8Fx}`,
    );
  }, 900_000);

  it('--help explains both steps on stdout', () => {
    const r = quint(dir, 'demo', '--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Writes out/summary.json and out/report.html');
  });

  it('fails with IO_ERROR when out exists and is a file', () => {
    const d = mkdtempSync(join(dir, 'file-'));
    spawnSync('sh', ['-c', 'echo x > out'], { cwd: d });
    const r = quint(d, 'demo');
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(/^quint: IO_ERROR: quint demo: out exists and is not a folder/);
  });
});
