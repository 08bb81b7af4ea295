import { fc, test } from '@fast-check/vitest';
import { expect } from 'vitest';
import { add, mul, relu, tensor, type Tensor } from '@quint/tensor';
import { Graph, GraphModule, Interpreter, type Node } from '../src/index.js';

// Random DAGs of add/mul/relu over two inputs, some values unused, several returned.
const step = fc.tuple(fc.integer({ min: 0, max: 2 }), fc.nat(), fc.nat());
const dag = fc.record({
  steps: fc.array(step, { minLength: 1, maxLength: 12 }),
  outs: fc.array(fc.nat(), { minLength: 1, maxLength: 3 }),
});

function build({ steps, outs }: { steps: [number, number, number][]; outs: number[] }): Graph {
  const g = new Graph();
  const vals: Node[] = [g.placeholder('x'), g.placeholder('y')];
  for (const [op, a, b] of steps) {
    const p = vals[a % vals.length]!;
    const q = vals[b % vals.length]!;
    vals.push(
      op === 0 ? g.callFunction(add, [p, q]) : op === 1 ? g.callFunction(mul, [p, q]) : g.callFunction(relu, [p]),
    );
  }
  g.output(outs.map((i) => vals[2 + (i % (vals.length - 2))]!));
  return g;
}

const x = tensor([0.5, -1.25]);
const y = tensor([2, 0.75]);
const run = (g: Graph, gc = true): number[][] =>
  (new Interpreter(new GraphModule({}, g), { garbageCollectValues: gc }).run(x, y) as Tensor[]).map((t) => t.toArray());

test.prop([dag])('built graphs lint clean; interpretation does not depend on freeing values', (d) => {
  const g = build(d);
  g.lint();
  expect(run(g)).toEqual(run(g, false));
});

test.prop([dag])('eliminateDeadCode keeps the outputs and leaves only used nodes', (d) => {
  const g = build(d);
  const before = run(g);
  g.eliminateDeadCode();
  g.lint();
  expect(run(g)).toEqual(before);
  for (const n of g.nodes) if (n.op !== 'output' && n.op !== 'placeholder') expect(n.users.size).toBeGreaterThan(0);
});

// The example is CI's counterexample for `add(input, 0)`: mul(-1.25, 0) gives -0.
test.prop([dag, fc.nat()], {
  examples: [
    [
      {
        steps: [
          [2, 0, 0],
          [0, 0, 0],
          [1, 0, 1552891054],
          [0, 0, 0],
          [0, 0, 0],
          [1, 1725034651, 0],
        ],
        outs: [1712077571, 0],
      },
      507027749,
    ],
  ],
})('inserting an identity before a node and rewiring keeps lint clean and results equal', (d, pick) => {
  const g = build(d);
  const before = run(g);
  const calls = g.nodes.filter((n) => n.op === 'call_function');
  const n = calls[pick % calls.length]!;
  const input = n.args[0] as Node;
  // -0 is the additive identity: adding +0 would turn a -0 (from mul) into +0.
  g.insertingBefore(n, () => n.replaceInputWith(input, g.callFunction(add, [input, -0])));
  g.lint();
  expect(run(g)).toEqual(before);
});

test.prop([dag])('generated code never reads a value after freeing it', (d) => {
  const lines = build(d).pythonCode().split('\n').slice(1);
  const freed = new Set<string>();
  for (const line of lines) {
    const [stmt, frees] = line.trim().split(';  ');
    const rhs = stmt!.includes(' = ') ? stmt!.slice(stmt!.indexOf(' = ') + 3) : stmt!.replace(/^return /, '');
    // Values only: `add(` names the function, not the value `add`.
    for (const name of rhs.replace(/[A-Za-z_]\w*\(/g, '(').match(/[A-Za-z_]\w*/g) ?? [])
      expect(freed.has(name)).toBe(false);
    for (const name of frees?.replace(/ = None$/, '').split(' = ') ?? []) freed.add(name);
  }
});
