import { expect, test } from 'vitest';
import * as api from '@quint/converter';

test('public API surface', () => {
  expect(Object.keys(api).sort()).toMatchInlineSnapshot(`
    [
      "addObserver",
      "convert",
      "defaultDynamicQuantModuleMappings",
      "defaultOpListToFuserMethod",
      "defaultStaticQuantModuleMappings",
      "fuseConvBn",
      "fuseConvBnEval",
      "fuseConvBnReLU",
      "fuseConvBnWeights",
      "fuseKnownModules",
      "fuseLinearBnEval",
      "fuseLinearBnWeights",
      "fuseModules",
      "fuseModulesQat",
      "getDefaultDynamicQuantModuleMappings",
      "getDefaultQConfigPropagationList",
      "getDefaultStaticQuantModuleMappings",
      "getFuserMethod",
      "modelBytes",
      "prepare",
      "propagateQConfig",
      "quantize",
      "quantizeDynamic",
      "sequentialWrapper2",
      "swapModule",
    ]
  `);
});
