// Output safety (issue 12, DESIGN.md "The CLI contract"): every file the CLI writes goes through
// writeFileAtomic (temp file in the target folder, then rename), and Ctrl-C during calibration
// exits 130 with one INTERRUPTED line, leaving neither the output nor a temporary file behind.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isQuantError, writeNpy } from '@quint/tensor';
import { writeFileAtomic } from '../src/io.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const bin = fileURLToPath(new URL('../bin/quint.mjs', import.meta.url));
const built = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const src = fileURLToPath(new URL('../src', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

describe('every file the CLI writes goes through writeFileAtomic', () => {
  it('no other fs write call in apps/reference/src', () => {
    const offenders: string[] = [];
    for (const f of sources(src)) {
      if (f.endsWith(`${join('src', 'io.ts')}`)) continue;
      const text = readFileSync(f, 'utf8');
      if (
        /\b(writeFileSync|writeFile|appendFileSync|appendFile|createWriteStream|copyFileSync|copyFile|renameSync)\b|openSync\([^)]*['"][wa]/.test(
          text,
        )
      )
        offenders.push(f.slice(src.length + 1));
    }
    expect(offenders).toEqual([]);
  });

  it('writeFileAtomic: a missing folder is IO_ERROR; a failed write leaves no temporary file; a file is replaced whole', () => {
    const dir = mkdtempSync(join(tmpdir(), 'quint-atomic-'));
    try {
      writeFileAtomic(join(dir, 'missing', 'a.bin'), 'x');
      expect.unreachable();
    } catch (e) {
      expect(isQuantError(e) && e.code).toBe('IO_ERROR');
      expect((e as Error).message).toMatch(/folder .*missing does not exist; create it first/);
    }
    mkdirSync(join(dir, 'taken'));
    expect(() => writeFileAtomic(join(dir, 'taken'), 'x')).toThrow(/cannot write/); // rename onto a folder fails
    writeFileAtomic(join(dir, 'a.bin'), 'old contents');
    writeFileAtomic(join(dir, 'a.bin'), 'new');
    expect(readFileSync(join(dir, 'a.bin'), 'utf8')).toBe('new');
    expect(readdirSync(dir).sort()).toEqual(['a.bin', 'taken']);
  });
});

describe('SIGINT during calibration (built CLI)', () => {
  it('exits 130 with one INTERRUPTED line; no output, no temporary file', async () => {
    expect(existsSync(built), `${built} is missing: build first (npx -y pnpm@10.34.9 run build)`).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'quint-sigint-'));
    const out = join(dir, 'out');
    mkdirSync(out);
    // 1500 samples of [3, 16, 16], batch 1: seconds of calibration. Sample 0 holds a NaN so that the
    // CLI's `--ignore-nonfinite` warning marks the moment it starts reading calibration batches.
    const n = 1500;
    const data = new Float32Array(n * 3 * 16 * 16).map((_, i) => Math.sin(i * 0.37));
    data[0] = Number.NaN;
    writeFileSync(join(dir, 'calib.npy'), writeNpy({ dtype: 'float32', shape: [n, 3, 16, 16], data }));
    const args = [
      bin,
      'quantize',
      'apps/reference/test/fixtures/cli/cnn-dyn.onnx',
      '--calib',
      join(dir, 'calib.npy'),
      '--out',
      join(out, 'm.int8.onnx'),
      '--batch-size',
      '1',
      '--ignore-nonfinite',
    ];
    const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    let sentAt = 0;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (sentAt === 0 && stderr.includes('quint: warning:')) {
        sentAt = Date.now();
        child.kill('SIGINT');
      }
    });
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.on('exit', (c, s) => resolve([c, s])),
    );
    expect(sentAt, `no calibration warning seen; stderr: ${stderr}`).toBeGreaterThan(0);
    expect({ code, signal, stdout }).toEqual({ code: 130, signal: null, stdout: '' });
    expect(stderr.trimEnd().split('\n').at(-1)).toBe(
      'quint: INTERRUPTED: interrupted; temporary files removed, nothing was written',
    );
    expect(readdirSync(out)).toEqual([]);
    // It stopped during calibration, not after it: well before the whole set could run.
    expect(Date.now() - sentAt).toBeLessThan(20_000);
  });
});
