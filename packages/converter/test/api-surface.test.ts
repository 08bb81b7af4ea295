import { expect, test } from 'vitest';
import * as api from '@quint/converter';

test('public API surface', () => {
  expect(Object.keys(api).sort()).toMatchInlineSnapshot(`
    [
      "ObserverModule",
      "ReferenceQuantizedModule",
      "addObserver",
      "compareModelOutputs",
      "compareWeights",
      "computeCosineSimilarity",
      "computeL2Error",
      "computeSqnr",
      "convert",
      "convertFx",
      "convertToReferenceFx",
      "defaultDynamicQuantModuleMappings",
      "defaultOpListToFuserMethod",
      "defaultStaticQuantModuleMappings",
      "fuseConvBn",
      "fuseConvBnEval",
      "fuseConvBnReLU",
      "fuseConvBnWeights",
      "fuseFx",
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
      "prepareFx",
      "propagateQConfig",
      "quantize",
      "quantizeDynamic",
      "sequentialWrapper2",
      "swapModule",
    ]
  `);
});
