import { existsSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

// Browser projects join only where Debian's chromium is installed (VITEST_BROWSER=0 forces them
// off); elsewhere those tests are reported as skipped by scripts/run-tests.mjs.
const browser = process.env.VITEST_BROWSER !== '0' && existsSync('/usr/bin/chromium');

export default defineConfig({
  test: {
    projects: [
      'packages/*/vitest.config.ts',
      'apps/*/vitest.config.ts',
      ...(browser ? ['packages/*/vitest.browser.config.ts'] : []),
    ],
  },
});
