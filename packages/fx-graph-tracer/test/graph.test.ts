import { describe, expect, test } from 'vitest';
import { add, isQuantError, maxPool2d, mul, relu } from '@quint/tensor';
import { Graph, getattr, getitem, type Node } from '../src/index.js';

function codeOf(e: unknown): string | undefined {
  return isQuantError(e) ? e.code : undefined;
}

function catching(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

/** x → conv → relu → output, built by hand. */
function convRelu(): { g: Graph; x: Node; conv: Node; r: Node; out: Node } {
  const g = new Graph();
  const x = g.placeholder('x');
  const conv = g.callModule('conv', [x]);
  const r = g.callFunction(relu, [conv]);
  const out = g.output(r);
  return { g, x, conv, r, out };
}

describe('Graph and Node', () => {
  test('prints like torch.fx', () => {
    const { g } = convRelu();
    expect(String(g)).toMatchInlineSnapshot(`
      "graph():
          %x : [#users=1] = placeholder[target=x]
          %conv : [#users=1] = call_module[target=conv](args = (%x,), kwargs = {})
          %relu : [#users=1] = call_function[target=relu](args = (%conv,), kwargs = {})
          return relu"
    `);
    expect(g.pythonCode()).toMatchInlineSnapshot(`
      "def forward(self, x):
          conv = self.conv(x);  x = None
          relu = relu(conv);  conv = None
          return relu"
    `);
  });

  test('names are unique and legal Python identifiers, as torch.fx makes them', () => {
    const g = new Graph();
    const inp = g.placeholder('input');
    const a = g.callModule('conv', [inp]);
    const b = g.callModule('conv', [a]);
    const c = g.callModule('layer1.0.conv', [b]);
    const d = g.callFunction(maxPool2d, [c, { kernelSize: 2 }]);
    // A callable target prints by its opName (defineOp ops have one), else by its function name.
    const max = Object.assign((x: unknown) => x, { opName: 'max' });
    const e = g.callFunction(max, [d]);
    const f = g.createNode('call_method', 'view', [e, [-1]], {}, 'conv_1');
    const h = g.createNode('call_method', '__add__', [f, 1]);
    g.output([h, 'done', null, true]);
    expect(g.nodes.map((n) => n.name)).toEqual([
      'input_1',
      'conv',
      'conv_1',
      'layer1_0_conv',
      'max_pool2d',
      'max_1',
      'conv_2',
      'add',
      'output',
    ]);
    expect(String(g)).toMatchInlineSnapshot(`
      "graph():
          %input_1 : [#users=1] = placeholder[target=input]
          %conv : [#users=1] = call_module[target=conv](args = (%input_1,), kwargs = {})
          %conv_1 : [#users=1] = call_module[target=conv](args = (%conv,), kwargs = {})
          %layer1_0_conv : [#users=1] = call_module[target=layer1.0.conv](args = (%conv_1,), kwargs = {})
          %max_pool2d : [#users=1] = call_function[target=maxPool2d](args = (%layer1_0_conv, {kernelSize: 2}), kwargs = {})
          %max_1 : [#users=1] = call_function[target=max](args = (%max_pool2d,), kwargs = {})
          %conv_2 : [#users=1] = call_method[target=view](args = (%max_1, [-1]), kwargs = {})
          %add : [#users=1] = call_method[target=__add__](args = (%conv_2, 1), kwargs = {})
          return [add, 'done', None, True]"
    `);
    expect(g.pythonCode()).toMatchInlineSnapshot(`
      "def forward(self, input):
          input_1 = input
          conv = self.conv(input_1);  input_1 = None
          conv_1 = self.conv(conv);  conv = None
          layer1_0_conv = getattr(self.layer1, "0").conv(conv_1);  conv_1 = None
          max_pool2d = maxPool2d(layer1_0_conv, {'kernelSize': 2});  layer1_0_conv = None
          max_1 = max(max_pool2d);  max_pool2d = None
          conv_2 = max_1.view([-1]);  max_1 = None
          add = conv_2.__add__(1);  conv_2 = None
          return [add, 'done', None, True]"
    `);
  });

  test('get_attr, getattr/getitem, kwargs and defaults print as torch.fx code', () => {
    const g = new Graph();
    const x = g.placeholder('x');
    const scale = g.placeholder('scale', 2);
    const w = g.getAttr('fc.weight');
    const shape = g.callFunction(getattr, [x, 'shape']);
    const n = g.callFunction(getitem, [shape, 0]);
    const v = g.callMethod('reshape', [x, [n, -1]]);
    const m = g.callFunction(mul, [v, scale], { alpha: 0.5 });
    g.output(g.callFunction(add, [m, w]));
    expect(String(g)).toMatchInlineSnapshot(`
      "graph():
          %x : [#users=2] = placeholder[target=x]
          %scale : [#users=1] = placeholder[target=scale](default=2)
          %fc_weight : [#users=1] = get_attr[target=fc.weight]
          %getattr_1 : [#users=1] = call_function[target=getattr](args = (%x, shape), kwargs = {})
          %getitem : [#users=1] = call_function[target=getitem](args = (%getattr_1, 0), kwargs = {})
          %reshape : [#users=1] = call_method[target=reshape](args = (%x, [%getitem, -1]), kwargs = {})
          %mul : [#users=1] = call_function[target=mul](args = (%reshape, %scale), kwargs = {alpha: 0.5})
          %add : [#users=1] = call_function[target=add](args = (%mul, %fc_weight), kwargs = {})
          return add"
    `);
    expect(g.pythonCode()).toMatchInlineSnapshot(`
      "def forward(self, x, scale = 2):
          fc_weight = self.fc.weight
          getattr_1 = x.shape
          getitem = getattr_1[0];  getattr_1 = None
          reshape = x.reshape([getitem, -1]);  x = getitem = None
          mul = mul(reshape, scale, alpha = 0.5);  reshape = scale = None
          add = add(mul, fc_weight);  mul = fc_weight = None
          return add"
    `);
  });

  test('users, allInputNodes and prev/next follow args', () => {
    const { g, x, conv, r, out } = convRelu();
    expect([...x.users]).toEqual([conv]);
    expect(r.allInputNodes).toEqual([conv]);
    expect(conv.prev).toBe(x);
    expect(conv.next).toBe(r);
    expect(out.next.next).toBe(x);
    r.args = [x];
    expect(conv.users.size).toBe(0);
    expect([...x.users]).toEqual([conv, r]);
    r.updateKwarg('other', conv);
    expect(r.allInputNodes).toEqual([x, conv]);
    expect(() => {
      (r.args as unknown[]).push(1);
    }).toThrow(TypeError);
    expect(g.size).toBe(4);
  });

  test('insertingBefore/insertingAfter place new nodes, in creation order, and lint stays clean', () => {
    const { g, conv, r } = convRelu();
    g.insertingBefore(r, () => {
      const m = g.callFunction(mul, [conv, 2]);
      r.replaceInputWith(conv, m);
    });
    g.insertingAfter(conv, () => {
      const a = g.callFunction(add, [conv, 1]);
      const b = g.callFunction(add, [a, 1]);
      conv.replaceAllUsesWith(b, (u) => u !== a);
    });
    const first = g.insertingBefore(null, () => g.placeholder('y'));
    g.lint();
    expect(g.nodes.map((n) => n.name)).toEqual(['y', 'x', 'conv', 'add', 'add_1', 'mul', 'relu', 'output']);
    expect(first.prev.op as string).toBe('root');
    expect(String(g)).toMatchInlineSnapshot(`
      "graph():
          %y : [#users=0] = placeholder[target=y]
          %x : [#users=1] = placeholder[target=x]
          %conv : [#users=1] = call_module[target=conv](args = (%x,), kwargs = {})
          %add : [#users=1] = call_function[target=add](args = (%conv, 1), kwargs = {})
          %add_1 : [#users=1] = call_function[target=add](args = (%add, 1), kwargs = {})
          %mul : [#users=1] = call_function[target=mul](args = (%add_1, 2), kwargs = {})
          %relu : [#users=1] = call_function[target=relu](args = (%mul,), kwargs = {})
          return relu"
    `);
    // The insert point is restored: new nodes go to the end again.
    expect(g.callFunction(relu, [first]).prev.op).toBe('output');
  });

  test('eraseNode refuses a node with users; replaceAllUsesWith then erase removes it', () => {
    const { g, conv, r } = convRelu();
    const e = catching(() => g.eraseNode(conv));
    expect(codeOf(e)).toBe('INVALID_ARGUMENT');
    expect((e as Error).message).toMatchInlineSnapshot(
      `"Graph.eraseNode: node conv still has 1 users (relu); call replaceAllUsesWith first."`,
    );
    expect(r.replaceAllUsesWith(conv)).toEqual([g.nodes[3]]);
    g.eraseNode(r);
    g.lint();
    expect(String(g)).toMatchInlineSnapshot(`
      "graph():
          %x : [#users=1] = placeholder[target=x]
          %conv : [#users=1] = call_module[target=conv](args = (%x,), kwargs = {})
          return conv"
    `);
    expect(codeOf(catching(() => g.eraseNode(r)))).toBe('INVALID_ARGUMENT');
    expect(codeOf(catching(() => new Graph().insertingAfter(conv, () => 0)))).toBe('INVALID_ARGUMENT');
  });

  test('eliminateDeadCode removes unused chains, keeps inputs and output', () => {
    const { g, x, r } = convRelu();
    const dead = g.insertingAfter(x, () => g.callFunction(mul, [g.callFunction(add, [x, 1]), 3]));
    expect(dead.users.size).toBe(0);
    expect(g.eliminateDeadCode()).toBe(true);
    expect(g.eliminateDeadCode()).toBe(false);
    expect(g.nodes.map((n) => n.name)).toEqual(['x', 'conv', 'relu', 'output']);
    r.replaceAllUsesWith(x);
    g.eliminateDeadCode();
    expect(g.nodes.map((n) => n.name)).toEqual(['x', 'output']);
    g.lint();
  });

  test('lint finds use before definition, foreign and erased inputs, duplicate names', () => {
    const msg = (g: Graph): string => {
      const e = catching(() => g.lint());
      expect(codeOf(e)).toBe('BAD_GRAPH');
      return (e as Error).message;
    };
    {
      const { g, conv, r } = convRelu();
      conv.prepend(r);
      expect(msg(g)).toMatchInlineSnapshot(
        `"Graph.lint: argument conv of node relu is used before it is defined; keep nodes in topological order."`,
      );
    }
    {
      const { g, r } = convRelu();
      const other = new Graph().placeholder('z');
      r.args = [other];
      expect(msg(g)).toMatchInlineSnapshot(
        `"Graph.lint: argument z of node relu belongs to another graph; remap it with nodeCopy's argTransform."`,
      );
    }
    {
      const { g, conv, r } = convRelu();
      const extra = g.callFunction(add, [conv, 1]);
      g.eraseNode(extra);
      r.args = [extra];
      expect(msg(g)).toMatchInlineSnapshot(
        `"Graph.lint: argument add of node relu was erased; replace its uses before erasing it."`,
      );
    }
    {
      const { g, r } = convRelu();
      r.name = 'conv';
      expect(msg(g)).toMatchInlineSnapshot(`"Graph.lint: name conv is defined twice."`);
    }
  });

  test('nodeCopy and graphCopy copy nodes, names and meta into another graph', () => {
    const { g, conv } = convRelu();
    conv.meta['qconfig'] = 'fbgemm';
    const g2 = new Graph();
    const out = g2.graphCopy(g, new Map());
    g2.output(out);
    g2.lint();
    expect(String(g2)).toBe(String(g));
    expect(g2.nodes[1]!.meta).toEqual({ qconfig: 'fbgemm' });
    expect(g2.nodes[1]!.meta).not.toBe(conv.meta);
  });

  test('createNode rejects unknown opcodes; an empty graph has no body', () => {
    expect(codeOf(catching(() => new Graph().createNode('call' as 'output', 'x')))).toBe('INVALID_ARGUMENT');
    expect(new Graph().pythonCode()).toMatchInlineSnapshot(`
      "def forward(self):
          pass"
    `);
    expect(String(new Graph())).toBe('graph():');
  });
});
