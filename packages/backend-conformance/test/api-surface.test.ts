import { expect, test } from 'vitest';
import * as api from '../src/index.js';

test('public API surface', () => {
  expect(Object.keys(api).sort()).toMatchInlineSnapshot(`
    [
      "CASE_GROUPS",
      "ORT_ADD_DISAGREEING",
      "ORT_MUL_DISAGREEING",
      "ORT_SIGMOID_DISAGREEING",
      "ORT_TANH_DISAGREEING",
      "bitsFromHex",
      "bitsOfFloats",
      "codesFromHex",
      "describeBackendConformance",
      "diffExpected",
      "diffOutputs",
      "differentialCase",
      "floatsFromBits",
      "loadGolden",
      "qtensorFromJson",
    ]
  `);
});
