import { expect, test } from 'vitest';
import * as api from '../src/index.js';

test('public API surface', () => {
  expect(Object.keys(api).sort()).toMatchInlineSnapshot(`
    [
      "DEFAULT_MIN_INPUT_SCALE",
      "createJsBackend",
    ]
  `);
});
