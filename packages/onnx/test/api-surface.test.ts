import { expect, it } from 'vitest';
import * as api from '../src/index.js';

it('exports exactly the public API', () => {
  expect(Object.keys(api).sort()).toMatchInlineSnapshot(`
    [
      "ConvInteger",
      "DynamicQuantizeLinear",
      "MatMulInteger",
      "QUINT_VERSION",
      "QuantizedOp",
      "allocTyped",
      "dataTypeCode",
      "dataTypeName",
      "decodeModel",
      "encodeModel",
      "exportModel",
      "externalDataLocations",
      "importModel",
      "inspectModel",
      "loadModel",
      "qScaleOf",
      "quantizeModel",
      "quantizedPermute",
      "quantizedReshape",
      "runModel",
      "sanitizeName",
      "saveModel",
      "sizeOf",
      "tensorToFloat32",
      "tensorToNumbers",
    ]
  `);
});
