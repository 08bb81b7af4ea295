import { expect, test } from 'vitest';
import * as api from '../src/index.js';

test('public API surface', () => {
  expect(Object.keys(api).sort()).toMatchInlineSnapshot(`
    [
      "Graph",
      "GraphModule",
      "Interpreter",
      "Node",
      "OPCODES",
      "SubgraphMatcher",
      "TraceProxy",
      "Tracer",
      "formatArg",
      "getattr",
      "getitem",
      "isTraceProxy",
      "mapAggregate",
      "mapArg",
      "matchSequential",
      "symbolicTrace",
    ]
  `);
});
