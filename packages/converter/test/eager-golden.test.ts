// The proof of issue 5: eager-mode quantization against PyTorch 1.13 (tools/goldens/converter_eager.py),
// at both levels of DESIGN.md "Numerics".
import { describe, expect, it } from 'vitest';
import type { Tensor } from '@quint/tensor';
import type { QTensor } from '@quint/qtensor';
import { getDefaultQConfig, type QConfigBackend } from '@quint/observers';
import { Identity, isObserverLike, nnq, type Module } from '@quint/nn';
import { convert, fuseModules, prepare } from '@quint/converter';
import {
  bitDiffs,
  bytesOf,
  decode,
  loadGolden,
  M,
  onednnConvWithoutVnni,
  SmallCNN,
  stateDictOf,
  type Encoded,
} from './helpers.js';
import * as qt from '@quint/qtensor';

interface Qp {
  qscheme: string;
  scale?: number;
  zeroPoint?: number;
  scales?: number[];
  zeroPoints?: number[];
  axis?: number;
}
interface EngineRun {
  modules: Record<
    string,
    { type: string; weight?: Encoded; weightQparams?: Qp; bias?: Encoded | null; scale?: number; zeroPoint?: number }
  >;
  outputs: Record<string, { codes: Encoded; qparams: Qp }>;
  output: Encoded;
  repr: string;
}
interface Case {
  name: string;
  preset: QConfigBackend;
  fuse: string[][];
  floatStateDict: Record<string, Encoded>;
  calibration: Encoded[];
  test: Encoded;
  observers: Record<string, Encoded>;
  observerQparams: Record<string, { scale: number[]; zeroPoint: number[] }>;
  engines: Record<'qnnpack' | 'onednn', EngineRun>;
}

const golden = loadGolden<{ debianPackage: string; seed: number; cpuFlags: string[]; cases: Case[] }>(
  'converter_eager.json',
);
const ENGINES = ['qnnpack', 'onednn'] as const;

// The golden machine has AVX2 but no VNNI: there PyTorch's onednn conv adds pairs of u8·s8 products
// in saturating int16 (spec §11.3), which full-range (0..255) activations can hit. quint implements
// the VNNI result (exact int32, spec §5.2b). reduce_range presets (fbgemm: 0..127) never saturate.
const NO_VNNI = !golden.cpuFlags.some((f) => f.includes('vnni'));
function saturates(c: Case, engine: string): boolean {
  return NO_VNNI && engine === 'onednn' && c.preset !== 'fbgemm' && c.name.startsWith('small CNN');
}

function camel(path: string): string {
  return path.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

function build(c: Case): Module {
  const model: Module = c.name.startsWith('seed') ? new M() : new SmallCNN();
  model.loadStateDict(stateDictOf(c.floatStateDict));
  const fused = fuseModules(model.eval(), c.fuse);
  fused.qconfig = getDefaultQConfig(c.preset, { torchCompat: '1.13' });
  return prepare(fused, { onWarning: () => {} });
}

/** Runs `model` on `x`, collecting every module's QTensor output by path. */
function runCollecting(model: Module, x: Tensor): { y: Tensor; outputs: Map<string, QTensor> } {
  const outputs = new Map<string, QTensor>();
  const handles = model
    .namedModules()
    .flatMap(([path, m]) =>
      path === '' || m instanceof Identity
        ? []
        : [m.registerForwardHook((_m, _a, out) => void (nnq.isQTensor(out) && outputs.set(path, out)))],
    );
  const y = callModel(model, x) as Tensor;
  for (const h of handles) h.remove();
  return { y, outputs };
}

function callModel(m: Module, x: Tensor): unknown {
  return (m as unknown as { call(x: Tensor): unknown }).call(x);
}

function qparamsOf(q: QTensor): { scales: number[]; zeroPoints: number[] } {
  const p = q.qparams;
  if ('scales' in p) return { scales: [...p.scales], zeroPoints: [...p.zeroPoints] };
  return { scales: [p.scale], zeroPoints: [p.zeroPoint] };
}

function goldenQparams(p: Qp): { scales: number[]; zeroPoints: number[] } {
  return p.scales !== undefined
    ? { scales: p.scales, zeroPoints: p.zeroPoints! }
    : { scales: [p.scale!], zeroPoints: [p.zeroPoint!] };
}

describe('eager mode vs PyTorch 1.13 (python3-torch 1.13.1+dfsg-4)', () => {
  it('records its provenance', () => {
    expect(golden.debianPackage).toBe('python3-torch 1.13.1+dfsg-4');
    expect(golden.cases.map((c) => c.name)).toEqual(['seed M', 'small CNN qnnpack', 'small CNN fbgemm']);
  });

  for (const c of golden.cases) {
    describe(`${c.name} (get_default_qconfig('${c.preset}'), torchCompat 1.13)`, () => {
      it('level 1, prepare: observer state loads under PyTorch keys and gives the same qparams', () => {
        const prepared = build(c);
        prepared.loadStateDict(stateDictOf(c.observers), { strict: false });
        for (const [path, qp] of Object.entries(c.observerQparams)) {
          const obs = prepared.getSubmodule(
            camel(path.replace(/\.activation_post_process$/, '')),
          ).activationPostProcess;
          expect(isObserverLike(obs), path).toBe(true);
          const ours = (
            obs as { calculateQparams(): { scale: Float32Array; zeroPoint: Int32Array } }
          ).calculateQparams();
          expect([...ours.scale], path).toEqual(qp.scale.map(Math.fround));
          expect([...ours.zeroPoint], path).toEqual(qp.zeroPoint);
        }
      });

      for (const engine of ENGINES) {
        const l1Title = saturates(c, engine)
          ? `level 1, ${engine}: weights and qparams identical; outputs identical except where PyTorch's non-VNNI onednn saturates int16 pair sums (emulated exactly)`
          : `level 1, ${engine}: given PyTorch's observer state, every weight, qparam and output code is identical`;
        it(l1Title, () => {
          const g = c.engines[engine];
          const prepared = build(c);
          prepared.loadStateDict(stateDictOf(c.observers), { strict: false });
          const q = convert(prepared, { engine });
          for (const [path, gm] of Object.entries(g.modules)) {
            if (path.endsWith('_packed_params')) continue; // torch's LinearPackedParams holder
            const m = q.getSubmodule(camel(path)) as Module & {
              weight?: () => QTensor;
              bias?: () => Tensor | null;
              scale?: number;
              zeroPoint?: number;
            };
            if (gm.weight !== undefined) {
              const w = m.weight!();
              expect([...w.intRepr()], `${path} weight codes`).toEqual([...bytesOf(gm.weight)]);
              expect(qparamsOf(w), `${path} weight qparams`).toEqual(goldenQparams(gm.weightQparams!));
              const b = m.bias!();
              expect(
                b === null ? null : bitDiffs(b.toFloat32Array(), decode(gm.bias!).toFloat32Array()),
                `${path} bias`,
              ).toEqual(gm.bias === null ? null : []);
            }
            if (gm.scale !== undefined) {
              expect(Math.fround(m.scale!), `${path} scale`).toBe(Math.fround(gm.scale));
              expect(m.zeroPoint, `${path} zero point`).toBe(gm.zeroPoint);
            }
          }
          const { y, outputs } = runCollecting(q, decode(c.test));
          expect([...outputs.keys()].sort()).toEqual(Object.keys(g.outputs).sort());
          if (saturates(c, engine)) {
            checkSaturatedRun(c, engine, outputs);
            return;
          }
          for (const [path, go] of Object.entries(g.outputs)) {
            const out = outputs.get(camel(path))!;
            expect(qparamsOf(out), `${path} output qparams`).toEqual(goldenQparams(go.qparams));
            const diff = bitDiffs(out.intRepr(), bytesOf(go.codes));
            expect(diff.length, `${path}: ${diff.length} codes differ`).toBe(0);
          }
          expect(bitDiffs(y.toFloat32Array(), decode(g.output).toFloat32Array())).toEqual([]);
        });
      }

      for (const engine of ENGINES) {
        const l2Title = saturates(c, engine)
          ? `level 2, ${engine}: calibrated by quint itself, codes identical to level 1 (vs PyTorch's saturated reference: ≤ 1 code, scale within 1e-6)`
          : `level 2, ${engine}: calibrated by quint itself, output codes agree (≥ 99.5 %, ≤ 1 code, scale within 1e-6)`;
        it(l2Title, () => {
          const g = c.engines[engine];
          const prepared = build(c);
          for (const b of c.calibration) callModel(prepared, decode(b));
          // quint's own calibration gives PyTorch's observer qparams exactly (float path of §11.2).
          for (const [path, qp] of Object.entries(c.observerQparams)) {
            const obs = prepared.getSubmodule(camel(path.replace(/\.activation_post_process$/, '')))
              .activationPostProcess as { calculateQparams(): { scale: Float32Array; zeroPoint: Int32Array } };
            const ours = obs.calculateQparams();
            expect([...ours.scale], path).toEqual(qp.scale.map(Math.fround));
            expect([...ours.zeroPoint], path).toEqual(qp.zeroPoint);
          }
          const q = convert(prepared, { engine });
          const { outputs } = runCollecting(q, decode(c.test));
          const last = c.name.startsWith('seed') ? 'conv' : 'fc';
          const ours = outputs.get(last)!;
          const gold = g.outputs[last]!;
          const gs = goldenQparams(gold.qparams).scales[0]!;
          const os = qparamsOf(ours).scales[0]!;
          // Codes as DESIGN.md judges them: round(y / s_golden) on the dequantized outputs.
          const oz = qparamsOf(ours).zeroPoints[0]!;
          const gz = goldenQparams(gold.qparams).zeroPoints[0]!;
          const gc = bytesOf(gold.codes);
          const oc = ours.intRepr();
          let same = 0;
          let maxDiff = 0;
          for (let i = 0; i < gc.length; i++) {
            const y = (oc[i]! - oz) * os;
            const code = Math.round(y / gs) + gz;
            const d = Math.abs(code - gc[i]!);
            if (d === 0) same++;
            maxDiff = Math.max(maxDiff, d);
          }
          const rel = Math.abs(os - gs) / gs;
          if (saturates(c, engine)) {
            // Against PyTorch's saturated reference the bar is not met (see the report); what
            // calibration contributes is nothing: level 2 equals level 1 code for code.
            const l1 = build(c);
            l1.loadStateDict(stateDictOf(c.observers), { strict: false });
            const ref = runCollecting(convert(l1, { engine }), decode(c.test)).outputs.get(last)!;
            expect([...oc]).toEqual([...ref.intRepr()]);
            console.info(
              `[${c.name} ${engine}] level 2 vs PyTorch on a CPU without VNNI: ${same}/${gc.length} output codes identical (${((100 * same) / gc.length).toFixed(2)} %), max |Δcode| ${maxDiff}, output scale rel. diff ${rel.toExponential(2)}; identical to quint's level 1`,
            );
            expect(maxDiff).toBeLessThanOrEqual(1);
            expect(rel).toBeLessThanOrEqual(1e-6);
            return;
          }
          console.info(
            `[${c.name} ${engine}] level 2: ${same}/${gc.length} output codes identical (${((100 * same) / gc.length).toFixed(2)} %), max |Δcode| ${maxDiff}, output scale rel. diff ${rel.toExponential(2)}`,
          );
          expect(same / gc.length).toBeGreaterThanOrEqual(0.995);
          expect(maxDiff).toBeLessThanOrEqual(1);
          expect(rel).toBeLessThanOrEqual(1e-6);
        });
      }
    });
  }
});

/**
 * Level 1 where PyTorch's onednn saturated (no VNNI): everything before conv2 identical; conv2's
 * codes differ from PyTorch's exactly where an int16 pair sum saturated, and emulating that
 * saturation from the same codes reproduces PyTorch's conv2 output code for code; downstream the
 * output stays within one code.
 */
function checkSaturatedRun(c: Case, engine: 'qnnpack' | 'onednn', outputs: Map<string, QTensor>): void {
  const g = c.engines[engine];
  for (const path of ['quant', 'conv1']) {
    expect(bitDiffs(outputs.get(path)!.intRepr(), bytesOf(g.outputs[path]!.codes)).length, path).toBe(0);
  }
  const conv1 = g.outputs['conv1']!;
  const m = g.modules['conv2']!;
  expect(conv1.qparams.zeroPoint).toBe(0);
  const emu = onednnConvWithoutVnni(
    {
      x: bytesOf(conv1.codes) as Uint8Array,
      xShape: conv1.codes.shape,
      xScale: conv1.qparams.scale!,
      w: bytesOf(m.weight!) as Int8Array,
      wShape: m.weight!.shape,
      wScale: m.weightQparams!.scale!,
      bias: bytesOf(m.bias!) as Float32Array,
      outScale: m.scale!,
      outZeroPoint: m.zeroPoint!,
      padding: 1,
      relu: true,
    },
    qt,
  );
  const torchConv2 = bytesOf(g.outputs['conv2']!.codes);
  expect(bitDiffs(emu.codes, torchConv2)).toEqual([]);
  const ours = outputs.get('conv2')!.intRepr();
  const diff = bitDiffs(ours, torchConv2);
  console.info(
    `[${c.name} ${engine}] level 1: conv2 ${diff.length}/${ours.length} codes differ from PyTorch, all where an int16 pair sum saturated (${emu.saturated} accumulators); the saturating emulation matches PyTorch 0/${ours.length}`,
  );
  expect(diff.length).toBeGreaterThan(0);
  expect(diff.length).toBeLessThanOrEqual(emu.saturated);
  const fc = outputs.get('fc')!.intRepr();
  const gfc = bytesOf(g.outputs['fc']!.codes);
  let maxDiff = 0;
  for (let i = 0; i < fc.length; i++) maxDiff = Math.max(maxDiff, Math.abs(fc[i]! - gfc[i]!));
  console.info(
    `[${c.name} ${engine}] level 1: fc output ${bitDiffs(fc, gfc).length}/${fc.length} codes differ, max |Δcode| ${maxDiff}`,
  );
  expect(maxDiff).toBeLessThanOrEqual(1);
}
