// `quint report` through the built CLI (the root `test` command builds first).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const bin = fileURLToPath(new URL('../bin/quint.mjs', import.meta.url));
const built = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const fixtures = 'packages/onnx/test/fixtures';

function quint(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  expect(existsSync(built), `${built} is missing: build first (npx -y pnpm@10.34.9 run build)`).toBe(true);
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8', timeout: 600_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const lastLine = (s: string): string => s.trim().split('\n').at(-1) ?? '';

describe('quint report (built CLI)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'quint-report-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("writes the demo model's report by default, self-contained", () => {
    const out = join(dir, 'mnist.html');
    const r = quint('report', '--out', out);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`wrote ${out}\n`);
    const html = readFileSync(out, 'utf8');
    expect(html.includes('quint report: MNIST CNN')).toBe(true);
    // No external script or stylesheet (the chromium test checks that no request is made at all).
    expect(/<script[^>]+src=|<link[^>]+href=/.test(html)).toBe(false);
  }, 600_000);

  it('writes the report of any float model from --calib and --input', () => {
    const out = join(dir, 'convnet.html');
    const r = quint(
      'report',
      `${fixtures}/convnet.onnx`,
      '--calib',
      `${fixtures}/calib.npy`,
      '--input',
      `${fixtures}/x.npy`,
      '--out',
      out,
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(readFileSync(out, 'utf8').includes(`quint report: ${fixtures}/convnet.onnx`)).toBe(true);
  }, 600_000);

  it('fails as the contract says: usage errors exit 2, a missing folder exits 1 before any work', () => {
    let r = quint('report', `${fixtures}/convnet.onnx`);
    expect(r.status).toBe(2);
    expect(lastLine(r.stderr)).toMatch(
      /^quint: USAGE: quint report .* needs --calib <calib\.npy> and --input <x\.npy>/,
    );
    r = quint('report', '--calib', `${fixtures}/calib.npy`);
    expect(r.status).toBe(2);
    expect(lastLine(r.stderr)).toMatch(/^quint: USAGE: --calib and --input go with a <model\.onnx>/);
    r = quint('report', '--out', join(dir, 'no-such-folder', 'r.html'));
    expect(r.status).toBe(1);
    expect(lastLine(r.stderr)).toMatch(/^quint: IO_ERROR: --out .*no-such-folder.* does not exist/);
    r = quint('report', '--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('--calib <calib.npy>');
  });
});
