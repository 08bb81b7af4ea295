// Node meta survives prepareFx/convertFx: an imported model's `onnxName` (the link the ONNX
// exporter and the numeric suite use between the float and the quantized model) stays on the
// nodes that replace the traced ones; fused nodes carry every fused node's name.
import { describe, expect, test } from 'vitest';
import { getDefaultQConfigMapping } from '@quint/observers';
import { Generator, randn } from '@quint/tensor';
import { symbolicTrace } from '@quint/fx-graph-tracer';
import { convertFx, prepareFx } from '../src/index.js';
import { PlainCNN } from './goldens/fx/models.js';

describe('prepareFx → convertFx keep node meta', () => {
  test('onnxName of a GraphModule input reaches the converted nodes (fused: all of them, with fusedFrom)', () => {
    const gm = symbolicTrace(new PlainCNN().eval());
    for (const n of gm.graph.nodes) if (n.op === 'call_module') n.meta['onnxName'] = `/${n.name}/Op`;
    const x = randn([1, 1, 8, 8], new Generator(0));
    const prepared = prepareFx(gm, getDefaultQConfigMapping('qnnpack'), [x]);
    prepared.call(x);
    const q = convertFx(prepared);
    const meta = Object.fromEntries(
      q.graph.nodes
        .filter((n) => n.op === 'call_module')
        .map((n) => [n.name, [n.meta['onnxName'], n.meta['fusedFrom']]]),
    );
    expect(meta).toMatchObject({
      conv1: [
        ['/conv1/Op', '/bn1/Op', '/relu1/Op'],
        ['conv1', 'bn1', 'relu1'],
      ],
      conv2: [
        ['/conv2/Op', '/relu2/Op'],
        ['conv2', 'relu2'],
      ],
      flatten: ['/flatten/Op', undefined],
      fc: ['/fc/Op', undefined],
    });
  });
});
