// Bad input to quantize/run/compare/inspect (DESIGN.md "The CLI contract"): one line
// `quint: <CODE>: …` as the last stderr line, no stack trace, exit 2 for usage errors and 1 otherwise,
// no output file left behind, an existing output untouched on failure and replaced whole on success.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { writeNpy } from '@quint/tensor';

const ROOT = resolve(__dirname, '../../..');
const FIX = join(ROOT, 'apps/reference/test/fixtures/cli');
const CLI = join(ROOT, 'apps/reference/bin/quint.mjs');
const dir = mkdtempSync(join(tmpdir(), 'quint-cli-errors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function quint(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The contract's failure shape; returns the last stderr line. */
function expectFailure(r: ReturnType<typeof quint>, code: string, exit: number): string {
  const lines = r.stderr.trimEnd().split('\n');
  const last = lines.at(-1)!;
  expect(last, r.stderr).toMatch(new RegExp(`^quint: ${code}: \\S`));
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.status, r.stderr).toBe(exit);
  expect(r.stdout).toBe('');
  return last;
}

/** Files in the folder other than the fixtures the test put there (temporary files included). */
const leftovers = (d: string, keep: string[] = []): string[] => readdirSync(d).filter((f) => !keep.includes(f));

const mlp = join(FIX, 'mlp.onnx');
const calib = join(FIX, 'mlp.calib.npy');

function npyFile(name: string, array: Parameters<typeof writeNpy>[0]): string {
  const p = join(dir, name);
  writeFileSync(p, writeNpy(array));
  return p;
}

describe('quint quantize, bad input', () => {
  const cases: [string, () => string[], string, number][] = [
    [
      'a truncated ONNX file',
      () => {
        const p = join(dir, 'truncated.onnx');
        writeFileSync(p, readFileSync(mlp).subarray(0, 3000));
        return [p, '--calib', calib];
      },
      'BAD_ONNX',
      1,
    ],
    [
      'a file that is not ONNX',
      () => {
        const p = join(dir, 'not.onnx');
        writeFileSync(p, 'this is not a model\n');
        return [p, '--calib', calib];
      },
      'BAD_ONNX',
      1,
    ],
    ['a missing model file', () => [join(dir, 'missing.onnx'), '--calib', calib], 'IO_ERROR', 1],
    ['calibration samples of the wrong shape', () => [mlp, '--calib', join(FIX, 'cnn.calib.npy')], 'SHAPE_MISMATCH', 1],
    [
      'calibration samples of the wrong rank',
      () => [mlp, '--calib', npyFile('rank.npy', { dtype: 'float32', shape: [16, 4, 4], data: new Float32Array(256) })],
      'SHAPE_MISMATCH',
      1,
    ],
    [
      'a sample count that does not fill the static batch',
      () => [mlp, '--calib', npyFile('ten.npy', { dtype: 'float32', shape: [10, 16], data: new Float32Array(160) })],
      'SHAPE_MISMATCH',
      1,
    ],
    [
      'NaN in the calibration data',
      () => {
        const d = new Float32Array(256).fill(0.5);
        d[70] = Number.NaN;
        return [mlp, '--calib', npyFile('nan.npy', { dtype: 'float32', shape: [16, 16], data: d })];
      },
      'NON_FINITE',
      1,
    ],
    [
      'Inf in the calibration data',
      () => {
        const d = new Float32Array(256).fill(0.5);
        d[3] = Number.POSITIVE_INFINITY;
        return [mlp, '--calib', npyFile('inf.npy', { dtype: 'float32', shape: [16, 16], data: d })];
      },
      'NON_FINITE',
      1,
    ],
    [
      'int32 calibration data',
      () => [mlp, '--calib', npyFile('int.npy', { dtype: 'int32', shape: [16, 16], data: new Int32Array(256) })],
      'BAD_DTYPE',
      1,
    ],
    [
      'uint8 calibration data',
      () => [mlp, '--calib', npyFile('u8.npy', { dtype: 'uint8', shape: [16, 16], data: new Uint8Array(256) })],
      'BAD_DTYPE',
      1,
    ],
    [
      'a truncated .npy',
      () => {
        const p = join(dir, 'cut.npy');
        writeFileSync(p, readFileSync(calib).subarray(0, 500));
        return [mlp, '--calib', p];
      },
      'BAD_NPY',
      1,
    ],
    ['a negative batch size', () => [mlp, '--calib', calib, '--batch-size', '-4'], 'USAGE', 2],
    ['a zero batch size', () => [mlp, '--calib', calib, '--batch-size', '0'], 'USAGE', 2],
    [
      'a batch size other than the static batch',
      () => [mlp, '--calib', calib, '--batch-size', '2'],
      'SHAPE_MISMATCH',
      1,
    ],
    ['an unknown qconfig', () => [mlp, '--calib', calib, '--qconfig', 'tensorrt'], 'USAGE', 2],
    ['an unknown engine', () => [mlp, '--calib', calib, '--engine', 'cuda'], 'USAGE', 2],
    ['an unknown observer', () => [mlp, '--calib', calib, '--activation-observer', 'percentile'], 'USAGE', 2],
    ['an unknown format', () => [mlp, '--calib', calib, '--format', 'tflite'], 'USAGE', 2],
    ['no --calib without --dynamic', () => [mlp], 'USAGE', 2],
    ['--calib with --dynamic', () => [mlp, '--calib', calib, '--dynamic'], 'USAGE', 2],
    ['an unknown option', () => [mlp, '--calib', calib, '--calibrate-harder'], 'USAGE', 2],
    ['--keep-float naming no node', () => [mlp, '--calib', calib, '--keep-float', 'nosuchnode'], 'INVALID_ARGUMENT', 1],
    [
      'a model that is already quantized',
      () => [join(ROOT, 'packages/onnx/test/fixtures/qdq-u8s8.onnx'), '--calib', calib],
      'INVALID_ARGUMENT',
      1,
    ],
  ];

  test.each(cases)('%s: one-line error, no output written', (_, args, code, exit) => {
    const sub = mkdtempSync(join(dir, 'q-'));
    const out = join(sub, 'model.int8.onnx');
    const line = expectFailure(quint('quantize', ...args(), '--out', out), code, exit);
    expect(line.length).toBeLessThan(400);
    expect(leftovers(sub)).toEqual([]);
  });

  test('an output path in a missing folder: IO_ERROR before any work, nothing created', () => {
    const out = join(dir, 'no', 'such', 'folder', 'm.onnx');
    const line = expectFailure(quint('quantize', mlp, '--calib', calib, '--out', out), 'IO_ERROR', 1);
    expect(line).toContain('does not exist');
    expect(existsSync(join(dir, 'no'))).toBe(false);
  });

  test('a failure leaves an existing output untouched; a success replaces it whole', () => {
    const sub = mkdtempSync(join(dir, 'keep-'));
    const out = join(sub, 'model.int8.onnx');
    writeFileSync(out, 'previous contents');
    const d = new Float32Array(256).fill(0.5);
    d[0] = Number.NaN;
    expectFailure(
      quint(
        'quantize',
        mlp,
        '--calib',
        npyFile('nan2.npy', { dtype: 'float32', shape: [16, 16], data: d }),
        '--out',
        out,
      ),
      'NON_FINITE',
      1,
    );
    expect(readFileSync(out, 'utf8')).toBe('previous contents');
    expect(leftovers(sub)).toEqual(['model.int8.onnx']);
    const ok = quint('quantize', mlp, '--calib', calib, '--out', out);
    expect(ok.status, ok.stderr).toBe(0);
    expect(readFileSync(out).subarray(0, 32).toString('latin1')).not.toContain('previous');
    expect(leftovers(sub)).toEqual(['model.int8.onnx']);
    const r = quint('inspect', out, '--json');
    expect(JSON.parse(r.stdout).kind).toBe('quantized');
  });

  test('--ignore-nonfinite skips the batch with a warning on stderr and calibrates on the rest', () => {
    const d = new Float32Array(calibData());
    d[5 * 16 + 3] = Number.NaN; // sample 5: batch 1 of 4
    const out = join(dir, 'skip.int8.onnx');
    const r = quint(
      'quantize',
      mlp,
      '--calib',
      npyFile('nan3.npy', { dtype: 'float32', shape: [16, 16], data: d }),
      '--out',
      out,
      '--ignore-nonfinite',
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^quint: warning: .*batch 1 \(samples 4\.\.7\).*skipped/m);
    expect(r.stdout).toMatch(/12 calibration samples/);
  });

  test('float64 calibration data is rounded to float32: the same file as float32 data gives', () => {
    const f64 = npyFile('f64.npy', { dtype: 'float64', shape: [16, 16], data: Float64Array.from(calibData()) });
    const a = join(dir, 'f32.int8.onnx');
    const b = join(dir, 'f64.int8.onnx');
    expect(quint('quantize', mlp, '--calib', calib, '--out', a).status).toBe(0);
    expect(quint('quantize', mlp, '--calib', f64, '--out', b).status).toBe(0);
    expect(Buffer.compare(readFileSync(a), readFileSync(b))).toBe(0);
  });
});

function calibData(): Float32Array {
  const b = readFileSync(calib);
  return new Float32Array(b.buffer.slice(b.byteOffset + b.length - 256 * 4, b.byteOffset + b.length));
}

describe('quint run / compare / inspect, bad input', () => {
  test('run: an input of the wrong shape', () => {
    const out = join(dir, 'y-shape.npy');
    expectFailure(quint('run', mlp, '--input', join(FIX, 'cnn.x.npy'), '--out', out), 'SHAPE_MISMATCH', 1);
    expect(existsSync(out)).toBe(false);
  });

  test('run: an int8 input', () => {
    expectFailure(
      quint(
        'run',
        mlp,
        '--input',
        npyFile('x8.npy', { dtype: 'int8', shape: [4, 16], data: new Int8Array(64) }),
        '--out',
        join(dir, 'y8.npy'),
      ),
      'BAD_DTYPE',
      1,
    );
  });

  test('run: a missing input of a two-input model', () => {
    expectFailure(
      quint('run', join(FIX, 'two.onnx'), '--input', `a=${join(FIX, 'two.a.npy')}`, '--out', dir),
      'USAGE',
      2,
    );
  });

  test('run: two outputs but --out is a file', () => {
    expectFailure(
      quint(
        'run',
        join(FIX, 'two.onnx'),
        '--input',
        `a=${join(FIX, 'two.a.npy')}`,
        '--input',
        `b=${join(FIX, 'two.b.npy')}`,
        '--out',
        join(dir, 'o.npy'),
      ),
      'IO_ERROR',
      1,
    );
  });

  test('run: --out in a missing folder', () => {
    expectFailure(
      quint('run', mlp, '--input', join(FIX, 'mlp.x.npy'), '--out', join(dir, 'none', 'y.npy')),
      'IO_ERROR',
      1,
    );
  });

  test('run: an unknown backend', () => {
    expectFailure(
      quint('run', mlp, '--input', join(FIX, 'mlp.x.npy'), '--out', join(dir, 'y.npy'), '--backend', 'gpu'),
      'USAGE',
      2,
    );
  });

  test.each([['0'], ['65'], ['1.5'], ['two']])('run: --threads %s (not a whole number in 1..64)', (n) => {
    const line = expectFailure(
      quint(
        'run',
        mlp,
        '--input',
        join(FIX, 'mlp.x.npy'),
        '--out',
        join(dir, 'yt.npy'),
        '--backend',
        'wasm',
        '--threads',
        n,
      ),
      'USAGE',
      2,
    );
    expect(line).toContain('from 1 to 64');
    expect(existsSync(join(dir, 'yt.npy'))).toBe(false);
  });

  test('run: --threads 2 without --backend wasm', () => {
    const line = expectFailure(
      quint('run', mlp, '--input', join(FIX, 'mlp.x.npy'), '--out', join(dir, 'yt.npy'), '--threads', '2'),
      'USAGE',
      2,
    );
    expect(line).toContain('needs --backend wasm');
    expect(existsSync(join(dir, 'yt.npy'))).toBe(false);
  });

  test('inspect: a truncated ONNX file', () => {
    const p = join(dir, 'cut.onnx');
    copyFileSync(mlp, p);
    writeFileSync(p, readFileSync(mlp).subarray(0, 100));
    expectFailure(quint('inspect', p), 'BAD_ONNX', 1);
  });

  test('compare: the models in the wrong order', () => {
    const q = join(dir, 'cmp.int8.onnx');
    expect(quint('quantize', mlp, '--calib', calib, '--out', q).status).toBe(0);
    expectFailure(quint('compare', q, mlp, '--input', join(FIX, 'mlp.x.npy')), 'USAGE', 2);
  });

  test('a missing argument', () => {
    expectFailure(quint('inspect'), 'USAGE', 2);
  });
});

describe('--help', () => {
  test.each(['quantize', 'run', 'compare', 'inspect'])('quint %s --help: usage on stdout, exit 0', (cmd) => {
    const r = quint(cmd, '--help');
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(new RegExp(`^Usage: quint ${cmd} `));
    expect(r.stdout).toContain('--debug');
  });

  test('quint quantize --help lists every flag of the contract with its default', () => {
    const h = quint('quantize', '--help').stdout.replace(/\s+/g, ' ');
    for (const flag of [
      '--calib',
      '--out',
      '--batch-size',
      '--qconfig',
      '--activation-observer',
      '--weight-observer',
      '--engine',
      '--torch-compat',
      '--keep-float',
      '--dynamic',
      '--format',
      '--ignore-nonfinite',
    ]) {
      expect(h).toContain(flag);
    }
    expect(h).toMatch(/--qconfig[\s\S]*default: "qnnpack"/);
    expect(h).toMatch(/--format[\s\S]*default: "qdq"/);
    expect(h).toMatch(/--torch-compat[\s\S]*default: "latest"/);
  });

  test('--debug prints the stack trace before the one-line error', () => {
    const p = join(dir, 'not2.onnx');
    writeFileSync(p, 'nope');
    const r = quint('inspect', p, '--debug');
    expect(r.stderr).toMatch(/^\s+at /m);
    expect(r.stderr.trimEnd().split('\n').at(-1)).toMatch(/^quint: BAD_ONNX: /);
  });
});
