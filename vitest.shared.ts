import { defaultServerConditions } from 'vite';
import { defineProject } from 'vitest/config';

// Tests run from TS sources through the `@quint/source` export condition; VITEST_DIST=1 runs the
// same tests against the built dist/ (what .ci/run does once after the build).
const conditions =
  process.env.VITEST_DIST === '1'
    ? [...defaultServerConditions]
    : ['@quint/source', ...defaultServerConditions];

/** The vitest project config every package uses. */
export function project(name: string, extra: { testTimeout?: number } = {}) {
  return defineProject({
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions: conditions } },
    test: {
      name,
      environment: 'node',
      include: ['test/**/*.test.ts'],
      testTimeout: extra.testTimeout ?? 30_000,
    },
  });
}
