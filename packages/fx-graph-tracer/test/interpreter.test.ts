import { describe, expect, test } from 'vitest';
import { Generator, add, isQuantError, mul, randn, relu, sigmoid, type Tensor } from '@quint/tensor';
import { Graph, GraphModule, Interpreter, symbolicTrace, type Kwargs, type Node, type Target } from '../src/index.js';
import { Functional, ResidualAdd } from './models.js';

const input = (): Tensor => randn([2, 1, 6, 6], new Generator(11));

describe('Interpreter', () => {
  test('run() equals the eager module and the GraphModule', () => {
    const m = new ResidualAdd().eval();
    const gm = symbolicTrace(m);
    const inp = input();
    expect((new Interpreter(gm).run(inp) as Tensor).toArray()).toEqual(m.call(inp).toArray());
  });

  test('one overridable method per opcode; runNode sees every node', () => {
    const ops: string[] = [];
    class Swap extends Interpreter {
      override runNode(n: Node): unknown {
        ops.push(n.op);
        return super.runNode(n);
      }
      // relu ↔ sigmoid, as the torch.fx docs' NegSigmSwapInterpreter
      override callFunction(target: Target, args: readonly unknown[], kwargs: Kwargs): unknown {
        return super.callFunction(target === relu ? sigmoid : target, args, kwargs);
      }
    }
    const gm = symbolicTrace(new Functional());
    const inp = input();
    const out = new Swap(gm).run(inp) as Tensor;
    expect(ops).toEqual([
      'placeholder',
      'call_module',
      'call_function',
      'call_function',
      'call_function',
      'call_function',
      'call_function',
      'output',
    ]);
    // Functional computes relu(conv(x)) etc.; with the swap every relu is a sigmoid.
    const a = sigmoid(gm.getSubmodule('conv').call(inp as never) as Tensor);
    const want = add(mul(add(a, sigmoid(inp)), a), 1);
    expect(out.toArray()).toEqual(want.toArray());
  });

  test('garbageCollectValues: false keeps every intermediate value in env', () => {
    const gm = symbolicTrace(new Functional());
    const keep = new Interpreter(gm, { garbageCollectValues: false });
    keep.run(input());
    expect([...keep.env.keys()].map((n) => n.name)).toEqual([
      'x',
      'conv',
      'relu',
      'relu_1',
      'add',
      'mul',
      'add_1',
      'output',
    ]);
    const drop = new Interpreter(gm);
    drop.run(input());
    expect([...drop.env.keys()].map((n) => n.name)).toEqual(['output']);
  });

  test('call_method, get_attr, kwargs and placeholder defaults', () => {
    const g = new Graph();
    const x = g.placeholder('x');
    const k = g.placeholder('k', 3);
    const w = g.getAttr('w');
    const f = g.callMethod('reshape', [x, [-1]]);
    const m = g.callFunction(
      Object.assign((a: Tensor, b: number, opts: { scale: number }) => mul(mul(a, b), opts.scale), {
        opName: 'scaled',
      }),
      [f, k],
      { scale: 2 },
    );
    g.output([m, w]);
    const gm = new GraphModule({ w: 5 }, g);
    const inp = randn([2, 2], new Generator(1));
    const [out, wv] = gm.call(inp) as [Tensor, number];
    expect(out.toArray()).toEqual(inp.toArray().map((v) => Math.fround(Math.fround(v * 3) * 2)));
    expect(wv).toBe(5);
  });

  test('errors name the node that failed, keep their code, and missing inputs fail clearly', () => {
    const g = new Graph();
    const x = g.placeholder('x');
    g.output(g.callMethod('noSuchMethod', [x]));
    const gm = new GraphModule({}, g);
    let err: unknown;
    try {
      gm.call(input());
    } catch (e) {
      err = e;
    }
    expect(isQuantError(err) && err.code).toBe('UNSUPPORTED_OP');
    expect((err as Error).message).toMatchInlineSnapshot(
      `"call_method: Tensor has no method 'noSuchMethod'; call a method the value's class defines. (while executing %no_such_method : [#users=1] = call_method[target=noSuchMethod](args = (%x,), kwargs = {}))"`,
    );
    expect(() => new Interpreter(gm).run()).toThrow(/expected a value for input 'x' but fewer arguments were passed/);
  });
});
