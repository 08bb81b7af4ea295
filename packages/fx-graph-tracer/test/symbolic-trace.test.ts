import { describe, expect, test } from 'vitest';
import { Conv2d, Linear, Module, Parameter, ReLU, Sequential } from '@quint/nn';
import { Generator, add, conv2d, linear, ones, randn, relu, type Tensor } from '@quint/tensor';
import type { GraphModule } from '../src/index.js';
import { TraceProxy, Tracer, isTraceProxy, symbolicTrace } from '../src/index.js';
import { Block, ResidualAdd } from './models.js';

const x4 = (shape: number[] = [2, 4, 5, 5]): Tensor => randn(shape, new Generator(3));

/** A user module that does its own math with a parameter: traced through, its weight a get_attr. */
class Scale extends Module {
  weight = new Parameter(ones([4, 4]));
  bias = new Parameter(ones([4]));

  forward(x: Tensor): Tensor {
    return add(linear(x, this.weight, this.bias), linear(x, this.weight, null));
  }
}

describe('symbolicTrace', () => {
  test('traces through user modules and Sequential, keeps built-in layers as call_module', () => {
    class Net extends Module {
      features = new Sequential(new Conv2d(4, 4, 1), new ReLU());
      block = new Block(4);

      forward(x: Tensor): Tensor {
        return add(this.features.call(x), this.block.call(x));
      }
    }
    const gm = symbolicTrace(new Net().eval());
    expect(String(gm.graph)).toMatchInlineSnapshot(`
      "graph():
          %x : [#users=2] = placeholder[target=x]
          %features_0 : [#users=1] = call_module[target=features.0](args = (%x,), kwargs = {})
          %features_1 : [#users=1] = call_module[target=features.1](args = (%features_0,), kwargs = {})
          %block_conv : [#users=1] = call_module[target=block.conv](args = (%x,), kwargs = {})
          %block_bn : [#users=1] = call_module[target=block.bn](args = (%block_conv,), kwargs = {})
          %block_relu : [#users=1] = call_module[target=block.relu](args = (%block_bn,), kwargs = {})
          %add : [#users=1] = call_function[target=add](args = (%features_1, %block_relu), kwargs = {})
          return add"
    `);
    expect(gm.getName()).toBe('Net');
    const inp = x4();
    expect((gm.call(inp) as Tensor).toArray()).toEqual(new Net().eval().call(inp).toArray());
  });

  test('leafModules: classes, instances or a predicate keep a user module whole', () => {
    class Net extends Module {
      a = new Block(4);
      b = new Block(4);

      forward(x: Tensor): Tensor {
        return this.b.call(this.a.call(x));
      }
    }
    const net = new Net().eval();
    const names = (gm: GraphModule): string[] =>
      gm.graph.nodes.filter((n) => n.op === 'call_module').map((n) => n.target as string);
    expect(names(symbolicTrace(net, { leafModules: [Block] }))).toEqual(['a', 'b']);
    expect(names(symbolicTrace(net, { leafModules: [net.b] }))).toEqual(['a.conv', 'a.bn', 'a.relu', 'b']);
    expect(names(symbolicTrace(net, { leafModules: (_m, path) => path === 'a' }))).toEqual([
      'a',
      'b.conv',
      'b.bn',
      'b.relu',
    ]);
    const gm = symbolicTrace(net, { leafModules: [Block] });
    const inp = x4();
    expect((gm.call(inp) as Tensor).toArray()).toEqual(net.call(inp).toArray());
    expect(String(gm)).toContain('(a): Block(');
  });

  test('parameters used by traced-through code become get_attr nodes (one per parameter)', () => {
    const m = new Scale();
    const gm = symbolicTrace(m);
    expect(String(gm.graph)).toMatchInlineSnapshot(`
      "graph():
          %x : [#users=2] = placeholder[target=x]
          %weight : [#users=2] = get_attr[target=weight]
          %bias : [#users=1] = get_attr[target=bias]
          %linear : [#users=1] = call_function[target=linear](args = (%x, %weight, %bias), kwargs = {})
          %linear_1 : [#users=1] = call_function[target=linear](args = (%x, %weight, None), kwargs = {})
          %add : [#users=1] = call_function[target=add](args = (%linear, %linear_1), kwargs = {})
          return add"
    `);
    expect(gm.namedParameters().map(([k]) => k)).toEqual(['weight', 'bias']);
    expect(gm.stateDict()).toHaveProperty('weight');
    const inp = x4([3, 4]);
    expect((gm.call(inp) as Tensor).toArray()).toEqual(m.call(inp).toArray());
  });

  test('functional ops with option objects, and tensors that are not attributes become _tensor_constant', () => {
    const k = randn([2, 1, 3, 3], new Generator(1));
    class Net extends Module {
      forward(x: Tensor): Tensor {
        return relu(conv2d(x, k, null, { padding: 1 }));
      }
    }
    const gm = symbolicTrace(new Net());
    expect(String(gm.graph)).toMatchInlineSnapshot(`
      "graph():
          %x : [#users=1] = placeholder[target=x]
          %_tensor_constant0 : [#users=1] = get_attr[target=_tensor_constant0]
          %conv2d : [#users=1] = call_function[target=conv2d](args = (%x, %_tensor_constant0, None, {padding: 1}), kwargs = {})
          %relu : [#users=1] = call_function[target=relu](args = (%conv2d,), kwargs = {})
          return relu"
    `);
    expect(gm.namedBuffers().map(([n]) => n)).toEqual(['_tensor_constant0']);
    const inp = x4([1, 1, 4, 4]);
    expect((gm.call(inp) as Tensor).toArray()).toEqual(new Net().call(inp).toArray());
  });

  test('any tensor method on a proxy becomes call_method; x[0] getitem; x.shape getattr', () => {
    class Net extends Module {
      forward(x: Tensor, y: Tensor): unknown {
        const p = x.permute([0, 2, 3, 1]);
        const r = p.reshape([x.size(0), -1]);
        const f = (x as unknown as { flatten(d: number): Tensor }).flatten(1);
        const s = (x as unknown as { add(o: Tensor): Tensor }).add(y);
        const h = (x as unknown as { shape: number[] }).shape[2];
        const first = (x as unknown as Tensor[])[0];
        return [r, f, s, h, first];
      }
    }
    const gm = symbolicTrace(new Net());
    expect(String(gm.graph)).toMatchInlineSnapshot(`
      "graph():
          %x : [#users=6] = placeholder[target=x]
          %y : [#users=1] = placeholder[target=y]
          %permute : [#users=1] = call_method[target=permute](args = (%x, [0, 2, 3, 1]), kwargs = {})
          %size : [#users=1] = call_method[target=size](args = (%x, 0), kwargs = {})
          %reshape : [#users=1] = call_method[target=reshape](args = (%permute, [%size, -1]), kwargs = {})
          %flatten : [#users=1] = call_method[target=flatten](args = (%x, 1), kwargs = {})
          %add : [#users=1] = call_method[target=add](args = (%x, %y), kwargs = {})
          %getattr_1 : [#users=1] = call_function[target=getattr](args = (%x, shape), kwargs = {})
          %getitem : [#users=1] = call_function[target=getitem](args = (%getattr_1, 2), kwargs = {})
          %getitem_1 : [#users=1] = call_function[target=getitem](args = (%x, 0), kwargs = {})
          return [reshape, flatten, add, getitem, getitem_1]"
    `);
    expect(gm.code).toMatchInlineSnapshot(`
      "def forward(self, x, y):
          permute = x.permute([0, 2, 3, 1])
          size = x.size(0)
          reshape = permute.reshape([size, -1]);  permute = size = None
          flatten = x.flatten(1)
          add = x.add(y);  y = None
          getattr_1 = x.shape
          getitem = getattr_1[2];  getattr_1 = None
          getitem_1 = x[0];  x = None
          return [reshape, flatten, add, getitem, getitem_1]"
    `);
  });

  test('the flatten idioms: flatten(x, 1) and x.view([x.size(0), -1]) compute the same', () => {
    class A extends Module {
      fc = new Linear(8, 2);
      forward(x: Tensor): Tensor {
        return this.fc.call(x.view([x.size(0), -1]));
      }
    }
    const a = new A();
    const gm = symbolicTrace(a);
    const inp = x4([3, 2, 2, 2]);
    expect((gm.call(inp) as Tensor).toArray()).toEqual(a.call(inp).toArray());
  });

  test('concreteArgs and parameters with defaults are specialized, not inputs', () => {
    class Net extends Module {
      conv = new Conv2d(1, 1, 1);
      forward(x: Tensor, useRelu: boolean, scale = 2): Tensor {
        const y = this.conv.call(x);
        return useRelu ? relu(add(y, scale)) : y;
      }
    }
    const gm = symbolicTrace(new Net(), { concreteArgs: { useRelu: true } });
    expect(String(gm.graph)).toMatchInlineSnapshot(`
      "graph():
          %x : [#users=1] = placeholder[target=x]
          %conv : [#users=1] = call_module[target=conv](args = (%x,), kwargs = {})
          %add : [#users=1] = call_function[target=add](args = (%conv, 2), kwargs = {})
          %relu : [#users=1] = call_function[target=relu](args = (%add,), kwargs = {})
          return relu"
    `);
  });

  test('a GraphModule traces like any module, also nested inside another', () => {
    const inner = symbolicTrace(new ResidualAdd().eval());
    const again = symbolicTrace(inner);
    expect(String(again.graph)).toBe(String(inner.graph));
    class Outer extends Module {
      body = inner;
      head = new ReLU();
      forward(x: Tensor): Tensor {
        return this.head.call(this.body.call(x) as Tensor);
      }
    }
    const outer = symbolicTrace(new Outer());
    expect(outer.graph.nodes.map((n) => n.name)).toEqual([
      'x',
      'body_conv1',
      'body_bn1',
      'body_relu1',
      'body_block_conv',
      'body_block_bn',
      'body_block_relu',
      'add',
      'body_pool',
      'body_avgpool',
      'flatten',
      'body_fc',
      'head',
      'output',
    ]);
    const inp = x4([2, 1, 6, 6]);
    expect((outer.call(inp) as Tensor).toArray()).toEqual(new ReLU().call(inner.call(inp) as Tensor).toArray());
  });

  test('the Tracer class: trace() returns a graph; proxies are TraceProxy instances', () => {
    let seen: unknown;
    class Net extends Module {
      forward(x: Tensor): Tensor {
        seen = x;
        return relu(x);
      }
    }
    const g = new Tracer().trace(new Net());
    expect(g.nodes.map((n) => n.op)).toEqual(['placeholder', 'call_function', 'output']);
    expect(isTraceProxy(seen)).toBe(true);
    expect(seen instanceof TraceProxy).toBe(true);
    expect((seen as TraceProxy).node).toBe(g.nodes[0]);
    // Eager calls are untouched once tracing is over.
    expect(relu(ones([1])).toArray()).toEqual([1]);
  });
});

test('ops on parameters alone are recorded (get_attr), ops on constants fold', () => {
  class P extends Module {
    weight = new Parameter(ones([2]));
    forward(t: Tensor): Tensor {
      return add(t, add(relu(this.weight), relu(ones([2]))));
    }
  }
  const m = new P();
  const gm = symbolicTrace(m);
  expect(String(gm.graph)).toMatchInlineSnapshot(`
    "graph():
        %t : [#users=1] = placeholder[target=t]
        %weight : [#users=1] = get_attr[target=weight]
        %relu : [#users=1] = call_function[target=relu](args = (%weight,), kwargs = {})
        %_tensor_constant0 : [#users=1] = get_attr[target=_tensor_constant0]
        %add : [#users=1] = call_function[target=add](args = (%relu, %_tensor_constant0), kwargs = {})
        %add_1 : [#users=1] = call_function[target=add](args = (%t, %add), kwargs = {})
        return add_1"
  `);
  m.weight.data.fill(3);
  expect((gm.call(ones([2])) as Tensor).toArray()).toEqual([5, 5]);
});
