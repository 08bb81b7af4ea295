import { describe, expect, test } from 'vitest';
import { BatchNorm2d, Conv2d, Linear, Module, ReLU, ReLU6 } from '@quint/nn';
import { Generator, add, conv2d, isQuantError, randn, relu, type Tensor } from '@quint/tensor';
import { Graph, SubgraphMatcher, matchSequential, symbolicTrace, type GraphModule, type Node } from '../src/index.js';
import { Block, Mlp, ResidualAdd } from './models.js';

const names = (nodes: readonly Node[]): string[] => nodes.map((n) => n.name);

/** conv-bn whose bn output is also used by the residual add: bn has a user outside conv-bn-relu. */
class Leaky extends Module {
  conv = new Conv2d(1, 1, 1);
  bn = new BatchNorm2d(1);
  relu = new ReLU();
  forward(t: Tensor): Tensor {
    const b = this.bn.call(this.conv.call(t));
    return add(this.relu.call(b), b);
  }
}

describe('matchSequential', () => {
  test('finds conv-bn-relu in a traced CNN, in graph order', () => {
    const gm = symbolicTrace(new ResidualAdd());
    const ms = matchSequential(gm, [Conv2d, BatchNorm2d, ReLU]);
    expect(ms.map((m) => names(m.nodes))).toEqual([
      ['conv1', 'bn1', 'relu1'],
      ['block_conv', 'block_bn', 'block_relu'],
    ]);
    expect(ms[1]!.modules[0]).toBe(gm.getSubmodule('block.conv'));
  });

  test('finds linear-relu in an MLP; module classes match exactly', () => {
    const gm = symbolicTrace(new Mlp());
    expect(matchSequential(gm, [Linear, ReLU]).map((m) => names(m.nodes))).toEqual([['fc1', 'relu']]);
    expect(matchSequential(gm, [Linear, ReLU6])).toEqual([]);
    // relu1 (a ReLU) is no ReLU6, and a ReLU6 is no ReLU.
    class WithRelu6 extends Module {
      fc = new Linear(2, 2);
      act = new ReLU6();
      forward(t: Tensor): Tensor {
        return this.act.call(this.fc.call(t));
      }
    }
    expect(matchSequential(symbolicTrace(new WithRelu6()), [Linear, ReLU])).toEqual([]);
  });

  test('does not match where an intermediate node has a user outside the chain', () => {
    const gm = symbolicTrace(new Leaky());
    expect(matchSequential(gm, [Conv2d, BatchNorm2d, ReLU])).toEqual([]);
    expect(matchSequential(gm, [Conv2d, BatchNorm2d]).map((m) => names(m.nodes))).toEqual([['conv', 'bn']]);
  });

  test('functional ops, method names and predicates as elements', () => {
    const w = randn([2, 1, 1, 1], new Generator(0));
    class F extends Module {
      forward(t: Tensor): Tensor {
        return relu(conv2d(t, w, null)).flatten(1);
      }
    }
    const gm = symbolicTrace(new F());
    expect(matchSequential(gm, [conv2d, relu, 'flatten']).map((m) => names(m.nodes))).toEqual([
      ['conv2d', 'relu', 'flatten'],
    ]);
    expect(matchSequential(gm, [(n: Node) => n.op === 'call_function', relu]).map((m) => names(m.nodes))).toEqual([
      ['conv2d', 'relu'],
    ]);
    expect(matchSequential(gm, [relu, conv2d])).toEqual([]);
  });

  test('overlapping matches: the first wins unless asked for all', () => {
    class Chain extends Module {
      a = new ReLU();
      b = new ReLU();
      c = new ReLU();
      forward(t: Tensor): Tensor {
        return this.c.call(this.b.call(this.a.call(t)));
      }
    }
    const gm = symbolicTrace(new Chain());
    expect(matchSequential(gm, [ReLU, ReLU]).map((m) => names(m.nodes))).toEqual([['a', 'b']]);
    expect(matchSequential(gm, [ReLU, ReLU], { removeOverlappingMatches: false }).map((m) => names(m.nodes))).toEqual([
      ['a', 'b'],
      ['b', 'c'],
    ]);
    expect(() => matchSequential(gm, [])).toThrow(/the pattern is empty/);
  });
});

describe('SubgraphMatcher (torch.fx matcher_utils)', () => {
  /** The pattern relu(add(x, y)), built from a traced function-like module. */
  function addReluPattern(): Graph {
    class P extends Module {
      forward(x: Tensor, y: Tensor): Tensor {
        return relu(add(x, y));
      }
    }
    return symbolicTrace(new P()).graph;
  }

  test('matches a two-input pattern and maps pattern nodes to graph nodes', () => {
    class Net extends Module {
      conv = new Conv2d(1, 1, 1);
      forward(t: Tensor): Tensor {
        const c = this.conv.call(t);
        return relu(add(relu(add(c, t)), c));
      }
    }
    const gm = symbolicTrace(new Net());
    const pattern = addReluPattern();
    const matches = new SubgraphMatcher(pattern).match(gm.graph);
    expect(matches.map((m) => names(m.returningNodes))).toEqual([['relu'], ['relu_1']]);
    const [first] = matches;
    expect([...first!.nodesMap].map(([p, g]) => `${p.name}->${g.name}`)).toEqual([
      'relu->relu',
      'add->add',
      'x->conv',
      'y->t',
    ]);
    expect(names(first!.placeholderNodes)).toEqual(['conv', 't']);
    expect(names(first!.anchors)).toEqual(['relu']);
  });

  test('conv-bn-relu by module type (meta.match) and not when an internal node leaks', () => {
    /** x → Conv2d → BatchNorm2d → ReLU, each pattern node accepting call_module nodes of that class in gm. */
    const convBnRelu = (gm: GraphModule): Graph => {
      const p = new Graph();
      let prev = p.placeholder('x');
      for (const cls of [Conv2d, BatchNorm2d, ReLU]) {
        prev = p.callModule(cls.name, [prev]);
        prev.meta['match'] = (n: Node) =>
          n.op === 'call_module' && gm.getSubmodule(n.target as string).constructor === cls;
      }
      p.output(prev);
      return p;
    };
    const cnn = symbolicTrace(new ResidualAdd());
    const found = new SubgraphMatcher(convBnRelu(cnn)).match(cnn.graph);
    expect(found.map((m) => names([...m.nodesMap.values()]))).toEqual([
      ['relu1', 'bn1', 'conv1', 'x'],
      ['block_relu', 'block_bn', 'block_conv', 'relu1'],
    ]);
    const leaky = symbolicTrace(new Leaky());
    expect(new SubgraphMatcher(convBnRelu(leaky)).match(leaky.graph)).toEqual([]);
  });

  test('targets must match: the same shape with another op does not', () => {
    const gm = symbolicTrace(new Block(1));
    expect(new SubgraphMatcher(addReluPattern()).match(gm.graph)).toEqual([]);
  });

  test('rejects empty patterns and patterns with dead code', () => {
    const g = new Graph();
    g.placeholder('x');
    const err = (fn: () => unknown): string => {
      try {
        fn();
      } catch (e) {
        expect(isQuantError(e)).toBe(true);
        return (e as Error).message;
      }
      return 'no error';
    };
    expect(err(() => new SubgraphMatcher(new Graph()))).toMatch(/empty or has no output node/);
    g.output(null);
    expect(err(() => new SubgraphMatcher(g))).toMatch(/pattern node x has no users \(dead code\)/);
  });
});
