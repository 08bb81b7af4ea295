import { describe, expect, test } from 'vitest';
import { Conv2d, Module, ReLU } from '@quint/nn';
import { Generator, isQuantError, ones, randn, relu, type Tensor } from '@quint/tensor';
import { symbolicTrace, type TraceProxy } from '../src/index.js';

function traceError(m: Module): Error & { code: string } {
  try {
    symbolicTrace(m);
  } catch (e) {
    expect(isQuantError(e)).toBe(true);
    return e as Error & { code: string };
  }
  throw new Error('expected symbolicTrace to throw');
}

/** A block whose forward branches on the data: untraceable unless it is a leaf. */
class Gate extends Module {
  relu = new ReLU();
  forward(t: Tensor): Tensor {
    if ((t as unknown as number) > 0) return this.relu.call(t);
    return t;
  }
}

class WithGate extends Module {
  conv = new Conv2d(1, 1, 1);
  gate = new Gate();
  forward(t: Tensor): Tensor {
    return this.gate.call(this.conv.call(t));
  }
}

describe('data-dependent control flow fails clearly', () => {
  test('a comparison in a submodule names the module, the use, the line and the fix', () => {
    const e = traceError(new WithGate());
    expect(e.code).toBe('TRACE_FAILED');
    expect(e.message).toMatch(
      /^symbolic tracing hit data-dependent control flow in gate\.forward: the traced value %conv was used as a number \(a comparison such as x > 0, or arithmetic\) \(at \S*trace-errors\.test\.ts:\d+:\d+\); mark that module as a leaf with symbolicTrace\(m, \{ leafModules: \[Gate\] \}\) or remove the data dependence\.$/,
    );
  });

  test('the suggested fix works: the gate becomes a call_module and runs eagerly', () => {
    const m = new WithGate();
    const gm = symbolicTrace(m, { leafModules: [Gate] });
    expect(gm.graph.nodes.map((n) => `${n.op} ${String(n.target)}`)).toEqual([
      'placeholder t',
      'call_module conv',
      'call_module gate',
      'output output',
    ]);
    const inp = randn([1, 1, 2, 2], new Generator(5));
    expect((gm.call(inp) as Tensor).toArray()).toEqual(m.call(inp).toArray());
  });

  const cases: [string, (t: Tensor) => unknown, RegExp][] = [
    [
      'template literal',
      (t) => `${t as unknown as string}`,
      /the traced value %t was converted to a string \(a template literal or String\(\)\)/,
    ],
    [
      '+ with a string',
      (t) => (t as unknown as string) + '!',
      /the traced value %t was used as a primitive \(\+, == or concatenation\)/,
    ],
    ['arithmetic', (t) => (t as unknown as number) * 2, /the traced value %t was used as a number/],
    ['.item()', (t) => relu(t).item(), /the code read its value with \.item\(\) of the traced value %relu/],
    ['.data', (t) => t.data, /the code read its \.data of the traced value %t/],
    ['.toArray()', (t) => t.toArray(), /the code read its values with \.toArray\(\) of the traced value %t/],
    [
      'for…of',
      (t) => [...(t as unknown as Iterable<unknown>)],
      /the traced value %t was iterated \(for…of, spread or destructuring\); index it with a constant \(x\[0\]\) instead/,
    ],
    [
      'destructuring',
      (t) => {
        const [a] = t as unknown as unknown[];
        return a;
      },
      /was iterated/,
    ],
    [
      'x.shape[0] in a loop bound',
      (t) => {
        const n = (t as unknown as { shape: number[] }).shape[0]!;
        for (let i = 0; i < n; i++) relu(t);
        return t;
      },
      /the traced value %getitem was used as a number/,
    ],
    ['String(x)', (t) => String(t), /was converted to a string/],
    ['x.toString()', (t) => t.toString(), /the traced value %t was converted with \.toString\(\)/],
    [
      'assigning a property',
      (t) => {
        (t as unknown as Record<string, unknown>)['foo'] = 1;
        return t;
      },
      /the code assigned property foo of the traced value %t, which tracing cannot record/,
    ],
  ];

  test.each(cases)('%s in the root forward', (_name, body, re) => {
    class Root extends Module {
      forward(t: Tensor): unknown {
        return body(t);
      }
    }
    const e = traceError(new Root());
    expect(e.code).toBe('TRACE_FAILED');
    expect(e.message).toMatch(/^symbolic tracing hit data-dependent control flow in Root\.forward: /);
    expect(e.message).toMatch(re);
    expect(e.message).toMatch(
      /; move that code into a submodule and mark it as a leaf with symbolicTrace\(m, \{ leafModules: \[\.\.\.\] \}\) or remove the data dependence\.$/,
    );
  });

  test('after a failed trace, eager code runs normally (the interceptor is removed)', () => {
    traceError(new WithGate());
    expect(relu(ones([2])).toArray()).toEqual([1, 1]);
    const inp = randn([1, 1, 2, 2], new Generator(5));
    expect(new WithGate().call(inp).shape).toEqual([1, 1, 2, 2]);
  });

  test('a proxy used after tracing ended says so', () => {
    let leaked: TraceProxy | undefined;
    class Leak extends Module {
      forward(t: Tensor): Tensor {
        leaked = t as unknown as TraceProxy;
        return t;
      }
    }
    symbolicTrace(new Leak());
    expect(() => `${leaked as unknown as string}`).toThrow(
      /^a traced value was used after symbolic tracing ended: the traced value %t was converted to a string/,
    );
  });

  test('JavaScript cannot intercept truthiness: if (x) takes the true branch (documented limitation)', () => {
    class Truthy extends Module {
      forward(t: Tensor): Tensor {
        return t ? relu(t) : t;
      }
    }
    expect(symbolicTrace(new Truthy()).graph.nodes.map((n) => n.name)).toEqual(['t', 'relu', 'output']);
  });
});

describe('other untraceable code', () => {
  test('calling a module that is not a submodule', () => {
    const stray = new ReLU();
    class Stray extends Module {
      forward(t: Tensor): Tensor {
        return stray.call(t);
      }
    }
    const e = traceError(new Stray());
    expect(e.message).toMatchInlineSnapshot(
      `"symbolicTrace: Stray.forward calls a ReLU that is not a submodule of the traced module; assign it to a property in the constructor."`,
    );
  });

  test('rest parameters have no single input', () => {
    class Rest extends Module {
      forward(...ts: Tensor[]): Tensor {
        return ts[0]!;
      }
    }
    const e = traceError(new Rest());
    expect(e.message).toMatchInlineSnapshot(
      `"symbolicTrace: parameter '...ts' of Rest.forward cannot be traced (rest or destructured parameters have no single input); give forward one named parameter per input."`,
    );
  });

  test('a value a graph cannot hold', () => {
    class Odd extends Module {
      forward(t: Tensor): Tensor {
        return (relu as (...a: unknown[]) => Tensor)(t, new Map());
      }
    }
    expect(traceError(new Odd()).message).toMatchInlineSnapshot(
      `"symbolicTrace: Odd.forward passes a Map to a traced call, which a graph cannot hold; pass tensors, numbers, strings or arrays of them."`,
    );
  });
});
