// Our traces of the models in tools/goldens/fx_trace.py against torch.fx 1.13's (python3-torch
// 1.13.1+dfsg-4): same nodes, opcodes, names, targets, arguments, user counts and generated code.
// The only spelling differences are mapped here: torch prints functions qualified (`torch.flatten`)
// and writes `1.0` for floats; quint prints op names and JS numbers, and module paths keep the
// property names (`skipAdd.activationPostProcess`), which PyTorch spells `skip_add.activation_post_process`.
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { Generator, randn, type Tensor } from '@quint/tensor';
import type { Module } from '@quint/nn';
import { formatArg, symbolicTrace, type Node } from '../src/index.js';
import * as models from './models.js';

interface GoldenNode {
  op: string;
  name: string;
  target: string;
  args: string;
  kwargs: string;
  users: number;
}
interface Golden {
  torchPackage: string;
  models: Record<string, { graph: string; code: string; nodes: GoldenNode[] }>;
}

const golden = JSON.parse(readFileSync(new URL('./goldens/fx-trace.json', import.meta.url), 'utf8')) as Golden;

const snake = (s: string): string => s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
const torchTarget = (t: string): string => t.replace(/^torch\.(nn\.functional\.)?/, '');
const torchNumbers = (s: string): string => s.replace(/\b(\d+)\.0\b/g, '$1');

function ourTarget(n: Node): string {
  if (typeof n.target === 'function') return n.target.opName ?? n.target.name;
  return n.op === 'call_module' || n.op === 'get_attr' ? n.target.split('.').map(snake).join('.') : n.target;
}

const cases: [string, () => Module, number[]][] = [
  ['seed', () => new models.Seed(), [2, 1, 5, 5]],
  ['mlp', () => new models.Mlp(), [2, 1, 4, 4]],
  ['residual-add', () => new models.ResidualAdd(), [2, 1, 6, 6]],
  ['residual-float-functional', () => new models.ResidualFloatFunctional(), [2, 1, 5, 5]],
  ['view-flatten', () => new models.ViewFlatten(), [2, 1, 4, 4]],
  ['cat', () => new models.Cat(), [2, 1, 3, 3]],
  ['functional', () => new models.Functional(), [2, 1, 3, 3]],
];

test('goldens come from Debian python3-torch 1.13.1+dfsg-4', () => {
  expect(golden.torchPackage).toBe('1.13.1+dfsg-4');
  expect(Object.keys(golden.models).sort()).toEqual(cases.map(([k]) => k).sort());
});

describe.each(cases)('%s traces as torch.fx 1.13 does', (key, make, shape) => {
  const g = golden.models[key]!;

  test('node for node', () => {
    const gm = symbolicTrace(make().eval());
    const ours = gm.graph.nodes.map((n) => ({
      op: n.op,
      name: n.name,
      target: ourTarget(n),
      args: formatArg(n.args, true),
      kwargs: formatArg(n.kwargs),
      users: n.users.size,
    }));
    const theirs = g.nodes.map((n) => ({ ...n, target: torchTarget(n.target), args: torchNumbers(n.args) }));
    expect(ours).toEqual(theirs);
  });

  test('generated code', () => {
    const gm = symbolicTrace(make().eval());
    const ours = gm.code.replace(/self\.([\w.]+)/g, (_, p: string) => `self.${p.split('.').map(snake).join('.')}`);
    const theirs = torchNumbers(g.code.trim().replace(/torch\.(nn\.functional\.)?/g, ''));
    expect(ours).toBe(theirs);
  });

  test('the GraphModule computes what the module computes', () => {
    const m = make().eval();
    const gm = symbolicTrace(m);
    const x = randn(shape, new Generator(7));
    const want = (m.call as (x: Tensor) => Tensor)(x);
    const got = gm.call(x) as Tensor;
    expect(got.shape).toEqual(want.shape);
    expect(got.toArray()).toEqual(want.toArray());
  });
});
