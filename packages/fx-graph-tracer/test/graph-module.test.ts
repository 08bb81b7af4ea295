import { describe, expect, test } from 'vitest';
import { Identity, Module, ReLU, Sequential } from '@quint/nn';
import { Generator, isQuantError, randn, relu, type Tensor } from '@quint/tensor';
import { Graph, GraphModule, symbolicTrace } from '../src/index.js';
import { ResidualAdd, Seed } from './models.js';

const input = (): Tensor => randn([2, 1, 6, 6], new Generator(2));

describe('GraphModule', () => {
  test('prints as a module followed by its code', () => {
    const gm = symbolicTrace(new Seed());
    expect(String(gm)).toMatchInlineSnapshot(`
      "Seed(
        (conv): Conv2d(1, 4, kernel_size=(3, 3), stride=(1, 1))
        (relu): ReLU()
      )

      def forward(self, x):
          conv = self.conv(x);  x = None
          relu = self.relu(conv);  conv = None
          return relu"
    `);
  });

  test('owns the referenced submodules at their qualified paths, shared with the root', () => {
    const m = new ResidualAdd().eval();
    const gm = symbolicTrace(m);
    expect(gm.namedModules().map(([p, mod]) => `${p || '(root)'}:${mod.getName()}`)).toEqual([
      '(root):ResidualAdd',
      'conv1:Conv2d',
      'bn1:BatchNorm2d',
      'relu1:ReLU',
      'block:Module',
      'block.conv:Conv2d',
      'block.bn:BatchNorm2d',
      'block.relu:ReLU',
      'pool:MaxPool2d',
      'avgpool:AdaptiveAvgPool2d',
      'fc:Linear',
    ]);
    expect(gm.getSubmodule('block.conv')).toBe(m.block.conv);
    expect(Object.keys(gm.stateDict())).toEqual(Object.keys(m.stateDict()));
    expect(gm.training).toBe(false);
    gm.graph.lint();
  });

  test('nests in another module and keeps working after editing its graph', () => {
    const gm = symbolicTrace(new Seed());
    // Replace the ReLU module call with the functional relu, then drop the unused module.
    const reluNode = gm.graph.nodes.find((n) => n.op === 'call_module' && n.target === 'relu')!;
    const fn = gm.graph.insertingAfter(reluNode, () => gm.graph.callFunction(relu, [reluNode.args[0]]));
    reluNode.replaceAllUsesWith(fn);
    gm.graph.eraseNode(reluNode);
    gm.graph.lint();
    expect(gm.code).toMatchInlineSnapshot(`
      "def forward(self, x):
          conv = self.conv(x);  x = None
          relu_1 = relu(conv);  conv = None
          return relu_1"
    `);
    class Outer extends Module {
      inner = gm;
      forward(t: Tensor): Tensor {
        return this.inner.call(t) as Tensor;
      }
    }
    const outer = new Outer();
    const inp = input();
    const want = relu(gm.getSubmodule('conv').call(inp as never) as Tensor).toArray();
    expect(outer.namedModules().map(([p]) => p)).toEqual(['', 'inner', 'inner.conv', 'inner.relu']);
    expect((outer.call(inp) as Tensor).toArray()).toEqual(want);
    expect(String(outer)).toContain('(inner): Seed(');
  });

  test('setSubmodule swaps what a call_module node runs; lint checks targets exist', () => {
    const gm = symbolicTrace(new Seed());
    gm.setSubmodule('relu', new Identity());
    const inp = input();
    expect((gm.call(inp) as Tensor).toArray()).toEqual(
      (gm.getSubmodule('conv').call(inp as never) as Tensor).toArray(),
    );
    gm.graph.insertingBefore(gm.graph.nodes.at(-1)!, () => gm.graph.callModule('missing.layer', [gm.graph.nodes[1]!]));
    let err: unknown;
    try {
      gm.graph.lint();
    } catch (e) {
      err = e;
    }
    expect(isQuantError(err) && err.code).toBe('BAD_GRAPH');
    expect((err as Error).message).toMatchInlineSnapshot(
      `"Graph.lint: node missing_layer target missing.layer references nonexistent attribute missing of the root module."`,
    );
  });

  test('from a record of qualified names; a missing entry fails', () => {
    const g = new Graph();
    const x = g.placeholder('x');
    g.output(g.callModule('head.1', [g.callModule('head.0', [x])]));
    const gm = new GraphModule({ 'head.0': new ReLU(), 'head.1': new Sequential(new Identity()) }, g, 'Head');
    expect(String(gm)).toMatchInlineSnapshot(`
      "Head(
        (head): Module(
          (0): ReLU()
          (1): Sequential(
            (0): Identity()
          )
        )
      )

      def forward(self, x):
          head_0 = getattr(self.head, "0")(x);  x = None
          head_1 = getattr(self.head, "1")(head_0);  head_0 = None
          return head_1"
    `);
    const inp = input();
    expect((gm.call(inp) as Tensor).toArray()).toEqual(relu(inp).toArray());
    expect(() => new GraphModule({ 'head.0': new ReLU() }, g)).toThrow(
      /the graph references 'head.1' but root has no entry 'head.1'/,
    );
    expect(() => new GraphModule(new Seed(), g)).toThrow(
      /the graph references 'head.0' but the root module has no such attribute/,
    );
  });

  test('assigning a new graph makes the module its owner', () => {
    const gm = symbolicTrace(new Seed());
    const g = new Graph();
    g.output(g.callModule('conv', [g.placeholder('y')]));
    gm.graph = g;
    expect(g.owningModule).toBe(gm);
    expect(gm.code).toMatchInlineSnapshot(`
      "def forward(self, y):
          conv = self.conv(y);  y = None
          return conv"
    `);
  });
});
