#!/usr/bin/env node
// Entry point of `pnpm -s quint …`: runs the built CLI, or says how to build it.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write('quint: NOT_BUILT: run npx -y pnpm@10.34.9 run build\n');
  process.exit(1);
}
await import(cli.href);
