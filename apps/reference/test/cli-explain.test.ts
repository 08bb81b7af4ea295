// `quint explain` through the built CLI (the root `test` command builds first), against the
// PyTorch 1.13 golden of the seed program (tools/goldens/seed_program.py).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { roundHalfToEven } from '@quint/qtensor';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const bin = fileURLToPath(new URL('../bin/quint.mjs', import.meta.url));
const built = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

function quint(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  expect(existsSync(built), `${built} is missing: build first (npx -y pnpm@10.34.9 run build)`).toBe(true);
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface QGolden {
  values: number[];
  scale?: number;
  zeroPoint?: number;
  scales?: number[];
  zeroPoints?: number[];
}
const golden = JSON.parse(readFileSync(new URL('./goldens/seed_program.json', import.meta.url), 'utf8')) as {
  engines: { qnnpack: { input: QGolden; weight: QGolden; bias: { values: number[] }; output: QGolden } };
};
const g = golden.engines.qnnpack;
const f32 = Math.fround;

describe('quint explain (built CLI)', () => {
  it('--json prints exactly one JSON document that equals PyTorch 1.13 and explains all 64 outputs', () => {
    const r = quint('explain', '--json');
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    const doc = JSON.parse(r.stdout) as {
      engine: string;
      torchCompat: string;
      input: { scale: number; zeroPoint: number; codes: number[] };
      weight: { scales: number[]; zeroPoints: number[]; codes: number[] };
      output: { scale: number; zeroPoint: number; codes: number[] };
      elements: Array<Record<string, number>>;
    };
    // One document, printed canonically (floats as JSON.stringify prints the float32's double).
    expect(r.stdout).toBe(`${JSON.stringify(doc)}\n`);
    expect(Object.keys(doc)).toEqual(['engine', 'torchCompat', 'input', 'weight', 'output', 'elements']);
    expect(doc.engine).toBe('qnnpack');
    expect(doc.torchCompat).toBe('1.13');
    expect(doc.input).toEqual({ scale: g.input.scale, zeroPoint: g.input.zeroPoint, codes: g.input.values });
    expect(doc.weight).toEqual({ scales: g.weight.scales, zeroPoints: g.weight.zeroPoints, codes: g.weight.values });
    expect(doc.output).toEqual({ scale: g.output.scale, zeroPoint: g.output.zeroPoint, codes: g.output.values });
    for (const s of [doc.input.scale, doc.output.scale, ...doc.weight.scales]) expect(f32(s)).toBe(s);

    // Every element recomputed from PyTorch's qparams and codes with qnnpack's formulas (spec §5.2a).
    const xs = g.input.scale!;
    const ws = g.weight.scales![0]!;
    const ys = g.output.scale!;
    const multiplier = f32(f32(f32(ws) * f32(xs)) * f32(1 / f32(ys)));
    const bias = roundHalfToEven(f32(f32(g.bias.values[0]!) * f32(1 / f32(xs * ws))));
    expect(doc.elements).toHaveLength(64);
    doc.elements.forEach((e, i) => {
      expect(Object.keys(e)).toEqual([
        'index',
        'accumulator',
        'bias',
        'multiplier',
        'preRound',
        'outputCode',
        'forwardCode',
      ]);
      const accumulator = (g.input.values[i]! - g.input.zeroPoint!) * (g.weight.values[0]! - g.weight.zeroPoints![0]!);
      const preRound = f32(f32(accumulator + bias) * multiplier);
      expect(e, `element ${i}`).toEqual({
        index: i,
        accumulator,
        bias,
        multiplier,
        preRound,
        outputCode: Math.min(255, Math.max(g.output.zeroPoint!, g.output.zeroPoint! + roundHalfToEven(preRound))),
        forwardCode: g.output.values[i],
      });
      expect(e['outputCode']).toBe(e['forwardCode']);
    });
    expect(Math.max(...doc.elements.map((e) => Math.abs(e['accumulator']!)))).toBeGreaterThan(1000);
  });

  it('the text form explains the accumulator and the multiplier, works elements through, and tabulates all 64', () => {
    const r = quint('explain');
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/accumulators are in the thousands/);
    expect(r.stdout).toMatch(/What the multiplier does/);
    expect(r.stdout).toMatch(/accumulator {2}\(56 - 57\) \* \(127 - 0\) = -127/);
    expect(r.stdout).toMatch(/outputCode === forwardCode for every one: yes/);
    const rows = r.stdout.split('\n').filter((l) => /^\s+\d+\s+\d+\s+-?\d+\s+-?\d+\s+\d+\s/.test(l));
    expect(rows).toHaveLength(64);
  });

  it('an unknown option is a usage error: exit 2, nothing on stdout, last stderr line quint: USAGE: …', () => {
    const r = quint('explain', '--bogus');
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    const last = r.stderr.trimEnd().split('\n').at(-1)!;
    expect(last).toMatch(/^quint: USAGE: .*--bogus/);
  });

  it('--help prints on stdout and exits 0', () => {
    const r = quint('explain', '--help');
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^Usage: quint explain \[options\]/);
    expect(r.stdout).toMatch(/--json/);
  });
});
