// Graph mode against PyTorch 1.13 FX (tools/goldens/converter_fx.py, python3-torch 1.13.1+dfsg-4):
// the observed, reference and converted graphs node for node, observer sharing, and the integers at
// both levels of DESIGN.md "Numerics" on engines qnnpack and onednn.
import { afterAll, describe, expect, test } from 'vitest';
import { getDefaultQConfigMapping } from '@quint/observers';
import { nnq, type Module } from '@quint/nn';
import { makePerTensorQuantizedTensor, type QTensor } from '@quint/qtensor';
import { Interpreter, formatArg, type GraphModule, type Node } from '@quint/fx-graph-tracer';
import type { Tensor } from '@quint/tensor';
import type { ObserverModule } from '../src/index.js';
import { convertFx, convertToReferenceFx, prepareFx } from '../src/index.js';
import {
  bytesOf,
  decode,
  floatModel,
  loadFxGolden,
  type Encoded,
  type GoldenCase,
  type GoldenNode,
} from './goldens/fx/models.js';

const golden = loadFxGolden();
const ENGINES = ['qnnpack', 'onednn'] as const;

/** PyTorch's spelling → quint's: qualified functions by op name, dtypes without `torch.`. */
function torchTarget(t: string): string {
  return t.replace(/^torch\.ops\.quantized\./, 'quantized.').replace(/^(torch\.|_?operator\.)/, '');
}
function ours(n: Node): GoldenNode {
  const target =
    typeof n.target === 'function' ? ((n.target as { opName?: string }).opName ?? n.target.name) : n.target;
  return { op: n.op, name: n.name, target, args: formatArg(n.args, true), users: n.users.size };
}
function theirs(nodes: readonly GoldenNode[]): GoldenNode[] {
  return nodes.map((n) => ({ ...n, target: torchTarget(n.target), args: n.args.replace(/torch\.quint8/g, 'quint8') }));
}
function printout(s: string): string {
  return s
    .replace(/target=torch\.ops\.quantized\./g, 'target=quantized.')
    .replace(/target=(torch|operator)\./g, 'target=')
    .replace(/torch\.quint8/g, 'quint8');
}

const mapping = (c: GoldenCase) => getDefaultQConfigMapping(c.preset, { torchCompat: '1.13' });

function prepared(c: GoldenCase): GraphModule {
  const calib = c.calibration.map(decode);
  return prepareFx(floatModel(c), mapping(c), [calib[0]!], { onWarning: () => {} });
}

/** Every quantized value a converted graph computes, by node name. */
function quantizedValues(q: GraphModule, x: Tensor): { values: Map<string, QTensor>; output: Tensor } {
  const values = new Map<string, QTensor>();
  class Rec extends Interpreter {
    override runNode(n: Node): unknown {
      const v = super.runNode(n);
      if (nnq.isQTensor(v)) values.set(n.name, v);
      return v;
    }
  }
  const output = new Rec(q).run(x) as Tensor;
  return { values, output };
}

function qparamsOf(q: QTensor): Record<string, unknown> {
  return q.isPerChannel()
    ? {
        qscheme: q.qscheme(),
        scales: Array.from(q.qPerChannelScales()),
        zeroPoints: Array.from(q.qPerChannelZeroPoints()),
        axis: q.qPerChannelAxis(),
      }
    : { qscheme: q.qscheme(), scale: q.qScale(), zeroPoint: q.qZeroPoint() };
}

// The golden machine has AVX2 but no VNNI: there PyTorch's onednn conv/linear add pairs of u8·s8
// products in saturating int16 (spec §11.3), which full-range (0..255) activations — the qnnpack
// mapping — can hit. quint computes the exact int32 (VNNI) result. Those runs are checked node by
// node on PyTorch's own inputs instead: every other node identical, every conv/linear identical
// except elements where an int16 pair sum overflows.
const saturates = (c: GoldenCase, engine: string): boolean => engine === 'onednn' && c.preset === 'qnnpack';

function goldenQ(
  v: { codes: Encoded; qparams: { scale?: number; zeroPoint?: number } },
  like: QTensor | undefined,
): QTensor {
  const q = makePerTensorQuantizedTensor(
    { data: bytesOf(v.codes) as Uint8Array, shape: v.codes.shape },
    v.qparams.scale!,
    v.qparams.zeroPoint!,
  );
  // Keep the memory-format hint our own value carries (conv outputs are channels_last, spec §11.3).
  if (like !== undefined)
    for (const sym of Object.getOwnPropertySymbols(like))
      Object.defineProperty(q, sym, Object.getOwnPropertyDescriptor(like, sym)!);
  return q;
}

/** Whether output element `i` of gemm node `n` has an int16-overflowing pair of raw u8·s8 products. */
function hasSaturatingPair(m: Module, x: QTensor, i: number): boolean {
  const qm = m as unknown as {
    weight(): QTensor;
    stride?: [number, number];
    padding?: [number, number];
    dilation?: [number, number];
    groups?: number;
  };
  const w = qm.weight();
  const wc = w.intRepr();
  const xc = x.intRepr();
  const sat = (v: number): boolean => v > 32767 || v < -32768;
  if (qm.stride === undefined) {
    const [o, k] = w.shape as [number, number];
    const b = Math.floor(i / o);
    const oc = i % o;
    for (let j = 0; j < k; j += 2) {
      const pair = xc[b * k + j]! * wc[oc * k + j]! + (j + 1 < k ? xc[b * k + j + 1]! * wc[oc * k + j + 1]! : 0);
      if (sat(pair)) return true;
    }
    return false;
  }
  const [, c, h, wd] = x.shape as [number, number, number, number];
  const [o, cg, kh, kw] = w.shape as [number, number, number, number];
  const [sh, sw] = qm.stride;
  const [ph, pw] = qm.padding!;
  const [dh, dw] = qm.dilation!;
  const oh = Math.floor((h + 2 * ph - dh * (kh - 1) - 1) / sh) + 1;
  const ow = Math.floor((wd + 2 * pw - dw * (kw - 1) - 1) / sw) + 1;
  const b = Math.floor(i / (o * oh * ow));
  const oc = Math.floor(i / (oh * ow)) % o;
  const y = Math.floor(i / ow) % oh;
  const xx = i % ow;
  const g = Math.floor(oc / (o / qm.groups!));
  const at = (cc: number, yy: number, xw: number): number =>
    yy < 0 || yy >= h || xw < 0 || xw >= wd ? 0 : xc[((b * c + g * cg + cc) * h + yy) * wd + xw]!;
  for (let a = 0; a < kh; a++)
    for (let d = 0; d < kw; d++)
      for (let cc = 0; cc < cg; cc += 2) {
        let pair = 0;
        for (const k of [cc, cc + 1])
          if (k < cg)
            pair += at(k, y * sh - ph + a * dh, xx * sw - pw + d * dw) * wc[((oc * cg + k) * kh + a) * kw + d]!;
        if (sat(pair)) return true;
      }
  return false;
}

const figures: string[] = [];
afterAll(() => {
  console.log(`FX level 2 (our calibration) vs PyTorch 1.13:\n${figures.join('\n')}`);
});

test('goldens come from Debian python3-torch 1.13.1+dfsg-4', () => {
  expect(golden.torchPackage).toBe('1.13.1+dfsg-4');
  expect(golden.cases.map((c) => `${c.name}/${c.preset}`)).toEqual([
    'mlp/qnnpack',
    'mlp/fbgemm',
    'cnn/qnnpack',
    'cnn/fbgemm',
    'dwsep/qnnpack',
    'dwsep/fbgemm',
    'cat-hardswish/qnnpack',
    'cat-hardswish/fbgemm',
  ]);
});

describe.each(golden.cases.map((c) => [`${c.name} (${c.preset} mapping)`, c] as const))('%s', (_, c) => {
  test('prepareFx places the observers PyTorch places, sharing the same instances', () => {
    const p = prepared(c);
    expect(p.graph.nodes.map(ours)).toEqual(theirs(c.observedNodes));
    expect(String(p.graph)).toBe(printout(c.observedGraph));
    const apps = p.namedModules().filter(([n]) => n.startsWith('activation_post_process_'));
    const firstOf = new Map<Module, string>();
    const sharing = Object.fromEntries(
      p.graph.nodes
        .filter((n) => n.op === 'call_module' && String(n.target).startsWith('activation_post_process_'))
        .map((n) => {
          const m = p.getSubmodule(n.target as string) as ObserverModule;
          if (!firstOf.has(m)) firstOf.set(m, n.target as string);
          return [n.target, { class: m.getName(), sharedWith: firstOf.get(m) }];
        }),
    );
    expect(sharing).toEqual(
      Object.fromEntries(
        Object.entries(c.observers).map(([k, v]) => [k, { class: v.class, sharedWith: v.sharedWith }]),
      ),
    );
    expect(apps.length).toBe(new Set(Object.values(c.observers).map((o) => o.sharedWith)).size);
  });

  describe('level 1: PyTorch observer state loaded', () => {
    const load = (): GraphModule => {
      const p = prepared(c);
      const sd: Record<string, Tensor> = {};
      for (const [name, o] of Object.entries(c.observers))
        for (const [k, v] of Object.entries(o.state)) sd[`${name}.${k}`] = decode(v);
      p.loadStateDict(sd, { strict: false });
      return p;
    };

    test('the observers give PyTorch qparams', () => {
      const p = load();
      for (const [name, o] of Object.entries(c.observers)) {
        const { scale, zeroPoint } = (p.getSubmodule(name) as ObserverModule).observer.calculateQparams();
        expect([Array.from(scale), Array.from(zeroPoint)], name).toEqual([o.scale, o.zeroPoint]);
      }
    });

    test('convertToReferenceFx prints PyTorch reference graph', () => {
      expect(String(convertToReferenceFx(load()).graph)).toBe(printout(c.referenceGraph));
    });

    test.each(ENGINES)('convertFx, engine %s: same graph, weights and every quantized value', (engine) => {
      const g = c.engines[engine];
      const q = convertFx(load(), { engine });
      expect(q.graph.nodes.map(ours)).toEqual(theirs(g.nodes));
      expect(String(q.graph)).toBe(printout(g.graph));
      for (const [attr, v] of Object.entries(g.attrs))
        expect((q as unknown as Record<string, number>)[attr], attr).toBe(v);
      for (const [path, d] of Object.entries(g.modules)) {
        if (d.weight === undefined) continue;
        const m = q.getSubmodule(path) as unknown as {
          weight(): QTensor;
          bias(): Tensor | null;
          scale: number;
          zeroPoint: number;
        };
        expect(Array.from(m.weight().intRepr()), `${path} weight`).toEqual(Array.from(bytesOf(d.weight)));
        expect(qparamsOf(m.weight()), `${path} weight qparams`).toEqual(d.weightQparams);
        if (d.bias) expect(Array.from(m.bias()!.toFloat32Array()), `${path} bias`).toEqual(Array.from(bytesOf(d.bias)));
        expect([m.scale, m.zeroPoint], `${path} output qparams`).toEqual([d.scale, d.zeroPoint]);
      }
      if (!saturates(c, engine)) {
        const { values, output } = quantizedValues(q, decode(c.test));
        expect([...values.keys()].sort()).toEqual(Object.keys(g.values).sort());
        for (const [name, v] of Object.entries(g.values)) {
          const mine = values.get(name)!;
          expect(qparamsOf(mine), `${name} qparams`).toEqual(v.qparams);
          expect(Array.from(mine.intRepr()), `${name} codes`).toEqual(Array.from(bytesOf(v.codes)));
        }
        expect(Array.from(output.toFloat32Array())).toEqual(Array.from(bytesOf(g.output)));
        return;
      }
      // Node by node on PyTorch's inputs (see `saturates`).
      const checked: string[] = [];
      let differing = 0;
      class Replay extends Interpreter {
        override runNode(n: Node): unknown {
          const want = g.values[n.name];
          const ownArgs = n.allInputNodes;
          if (want !== undefined && ownArgs.some((a) => g.values[a.name] !== undefined)) {
            const saved = new Map(ownArgs.map((a) => [a, this.env.get(a)] as const));
            for (const a of ownArgs) {
              const gv = g.values[a.name];
              if (gv !== undefined) this.env.set(a, goldenQ(gv, this.env.get(a) as QTensor));
            }
            const replay = super.runNode(n) as QTensor;
            const inputQ = this.env.get(ownArgs[0]!) as QTensor;
            for (const [a, v] of saved) this.env.set(a, v);
            expect(qparamsOf(replay), `${n.name} qparams`).toEqual(want.qparams);
            const mine = replay.intRepr();
            const theirs = bytesOf(want.codes);
            const m = n.op === 'call_module' ? (this.module.getSubmodule(n.target as string) as Module) : undefined;
            const gemm = m instanceof nnq.Conv2d || m instanceof nnq.Linear;
            for (let i = 0; i < theirs.length; i++) {
              if (mine[i] === theirs[i]) continue;
              differing++;
              expect(
                gemm && hasSaturatingPair(m!, inputQ, i),
                `${n.name}[${i}]: ${mine[i]} vs PyTorch ${theirs[i]}, no int16 pair overflow to explain it`,
              ).toBe(true);
            }
            checked.push(n.name);
          }
          return super.runNode(n);
        }
      }
      new Replay(q).run(decode(c.test));
      expect(checked.length).toBeGreaterThan(0);
      figures.push(
        `  ${c.name}/${c.preset}/onednn level 1, node by node on PyTorch's inputs: ${checked.length} nodes, ${differing} codes differ, each where non-VNNI onednn overflows an int16 pair sum`,
      );
    });
  });

  test.each(ENGINES)(
    'level 2: our calibration, engine %s: >= 99.5%% identical output codes, none more than 1 apart',
    (engine) => {
      const p = prepared(c);
      for (const b of c.calibration) p.call(decode(b));
      let sameQparams = 0;
      for (const [name, o] of Object.entries(c.observers)) {
        const { scale, zeroPoint } = (p.getSubmodule(name) as ObserverModule).observer.calculateQparams();
        if (scale[0] === o.scale[0] && zeroPoint[0] === o.zeroPoint[0]) sameQparams++;
      }
      const g = c.engines[engine];
      const q = convertFx(p, { engine });
      if (saturates(c, engine)) {
        // PyTorch's outputs here carry int16 saturation (see `saturates`): compare with our run on
        // PyTorch's observer state, which the node-by-node test ties to PyTorch.
        const ref = prepared(c);
        const sd: Record<string, Tensor> = {};
        for (const [name, o] of Object.entries(c.observers))
          for (const [k, v] of Object.entries(o.state)) sd[`${name}.${k}`] = decode(v);
        ref.loadStateDict(sd, { strict: false });
        const want = quantizedValues(convertFx(ref, { engine }), decode(c.test)).output.toFloat32Array();
        const got = quantizedValues(q, decode(c.test)).output.toFloat32Array();
        let same = 0;
        for (let i = 0; i < got.length; i++) if (Object.is(got[i], want[i])) same++;
        figures.push(
          `  ${c.name}/${c.preset}/${engine}: observers ${sameQparams}/${Object.keys(c.observers).length} identical qparams, outputs ${same}/${got.length} identical to the run on PyTorch's observer state`,
        );
        expect(same / got.length).toBeGreaterThanOrEqual(0.995);
        return;
      }
      const { values, output } = quantizedValues(q, decode(c.test));
      const lastName = Object.keys(g.values).at(-1)!;
      const want = g.values[lastName]!;
      const sGold = want.qparams.scale!;
      const mine = values.get(lastName)!;
      expect(Math.abs(mine.qScale() - sGold) / sGold).toBeLessThanOrEqual(1e-6);
      const y = output.toFloat32Array();
      const yGold = bytesOf(g.output);
      let same = 0;
      let maxDiff = 0;
      for (let i = 0; i < y.length; i++) {
        const d = Math.abs(Math.round(y[i]! / sGold) - Math.round(yGold[i]! / sGold));
        if (d === 0) same++;
        maxDiff = Math.max(maxDiff, d);
      }
      figures.push(
        `  ${c.name}/${c.preset}/${engine}: observers ${sameQparams}/${Object.keys(c.observers).length} identical qparams, output codes ${same}/${y.length} identical (${((100 * same) / y.length).toFixed(2)}%), max ${maxDiff} code`,
      );
      expect(same / y.length).toBeGreaterThanOrEqual(0.995);
      expect(maxDiff).toBeLessThanOrEqual(1);
    },
  );
});
