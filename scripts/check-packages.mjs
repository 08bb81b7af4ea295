#!/usr/bin/env node
// The packaging checks STYLE.md asks of CI, on every published package (packages/*, after a build):
// publint (package.json fields against the files `npm pack` would publish) and attw, "are the types
// wrong" (each export resolves to JS and to its types). The packages are ESM only, so attw runs its
// esm-only profile (node10 and require() resolutions are out of scope by design), and exports that
// are assets, not modules (kernels-wasm's .wasm files), are left out of its entrypoints.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const root = join(dirname(new URL(import.meta.url).pathname), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const run = (cmd, args) =>
  spawnSync(bin(cmd), args, { cwd: root, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } });

let failures = 0;
for (const name of readdirSync(join(root, 'packages')).sort()) {
  const dir = join(root, 'packages', name);
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const assets = Object.entries(manifest.exports ?? {})
    .filter(([, target]) => typeof target === 'string' && !/\.(js|json)$/.test(target))
    .map(([subpath]) => subpath);
  const checks = [
    ['publint', run('publint', ['--strict', '--pack', 'npm', dir])],
    [
      'attw',
      run('attw', [
        '--pack',
        dir,
        '--profile',
        'esm-only',
        '--format',
        'ascii',
        ...(assets.length ? ['--exclude-entrypoints', ...assets] : []),
      ]),
    ],
  ];
  for (const [tool, r] of checks) {
    if (r.status === 0) continue;
    failures++;
    const why = r.error
      ? `${tool} could not run (${r.error.message}); run pnpm install first.`
      : `${(r.stdout + r.stderr).trim()}`;
    console.error(`${manifest.name}: ${tool} failed:\n${why}`);
  }
  console.log(
    `${manifest.name}: ${checks.every(([, r]) => r.status === 0) ? 'ok' : 'FAILED'} (publint, attw${assets.length ? `; assets not checked by attw: ${assets.join(', ')}` : ''})`,
  );
}
if (failures > 0) {
  console.error(`check-packages: ${failures} check(s) failed; fix the package.json fields or exports named above.`);
  process.exit(1);
}
