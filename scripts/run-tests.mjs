#!/usr/bin/env node
// Runs every vitest project in one process and prints the closing line CI reads:
// `tests: N passed, N failed, N skipped`. `--dist` runs the same suites against the built dist/;
// `--scale` runs only the scale checks (`*.scale.test.ts`, which need Debian's PyTorch).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const root = join(dirname(new URL(import.meta.url).pathname), '..');
const report = join(root, '.vitest-report.json');
const dist = process.argv.includes('--dist');
const scale = process.argv.includes('--scale');
const passthrough = process.argv.slice(2).filter((a) => a !== '--dist' && a !== '--scale');
const vitest = join(dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs');

rmSync(report, { force: true });
const run = spawnSync(
  process.execPath,
  [vitest, 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...passthrough],
  {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, ...(dist ? { VITEST_DIST: '1' } : {}), ...(scale ? { QUINT_SCALE: '1' } : {}) },
  },
);

let passed = 0;
let failed = 0;
let skipped = 0;
if (existsSync(report)) {
  const r = JSON.parse(readFileSync(report, 'utf8'));
  passed = r.numPassedTests ?? 0;
  // A file that failed before running any test (an import error) counts as one failure.
  const brokenFiles = (r.testResults ?? []).filter(
    (f) => f.status === 'failed' && !(f.assertionResults ?? []).some((a) => a.status === 'failed'),
  ).length;
  failed = (r.numFailedTests ?? 0) + brokenFiles;
  skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
} else {
  failed = 1; // vitest died before writing its report: never report green
}
if (run.status !== 0 && failed === 0) failed = 1;
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);
