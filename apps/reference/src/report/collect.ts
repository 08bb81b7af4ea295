// What the report plots, gathered from a graph-mode quantization: each activation observer's data
// and the range it chose, each quantized weight per output channel, per-layer SQNR (the numeric
// suite), and latencies measured elsewhere.
import { QuantError, type Tensor } from '@quint/tensor';
import type { QTensor } from '@quint/qtensor';
import { nnq, type Module } from '@quint/nn';
import type { GraphModule } from '@quint/fx-graph-tracer';
import { compareModelOutputs, ObserverModule } from '@quint/converter';
import type { ActivationStat, LayerSqnr, WeightChannel, WeightStat } from './build-report.js';

/** Bins of an activation histogram in the report. */
export const ACTIVATION_BINS = 80;

/** Values kept per observer for its histogram; beyond this, every k-th value (noted in the report). */
const MAX_VALUES = 2_000_000;

/** Collects what each observer of a prepared GraphModule sees during calibration. */
export interface ActivationCapture {
  /** Removes the hooks and summarizes what was seen: one entry per observer instance. */
  finish(): ActivationStat[];
}

interface Seen {
  readonly module: ObserverModule;
  readonly names: string[];
  readonly observes: string[];
  chunks: Float32Array[];
  kept: number;
  total: number;
  stride: number;
  min: number;
  max: number;
}

/**
 * Hooks every observer (`activation_post_process_<k>`) of a prepared GraphModule so that the
 * values it observes during calibration are kept (up to 2 million per observer, then evenly
 * sampled). Call before calibrating; `finish()` after. Observers shared by several nodes (a pool
 * after a conv, `cat` inputs) are one entry, as they are one observer.
 *
 * @example
 * const capture = captureActivations(prepared);
 * prepared.call(calibration);
 * const stats = capture.finish();
 */
export function captureActivations(prepared: GraphModule): ActivationCapture {
  const byModule = new Map<ObserverModule, Seen>();
  for (const n of prepared.graph.nodes) {
    if (n.op !== 'call_module') continue;
    const m = prepared.getSubmodule(n.target as string);
    if (!(m instanceof ObserverModule)) continue;
    let s = byModule.get(m);
    if (s === undefined) {
      s = {
        module: m,
        names: [],
        observes: [],
        chunks: [],
        kept: 0,
        total: 0,
        stride: 1,
        min: Infinity,
        max: -Infinity,
      };
      byModule.set(m, s);
    }
    s.names.push(n.name);
    const src = n.args[0] as { name?: string } | undefined;
    if (src?.name !== undefined) s.observes.push(src.name);
  }
  const handles = [...byModule.values()].map((s) =>
    s.module.registerForwardHook((_m, args) => {
      const x = args[0] as Tensor;
      const d = x.contiguous().data;
      s.total += d.length;
      for (let i = 0; i < d.length; i++) {
        const v = d[i]!;
        if (v < s.min) s.min = v;
        if (v > s.max) s.max = v;
      }
      if (s.kept + d.length > MAX_VALUES && s.stride === 1) s.stride = Math.ceil((s.kept + d.length) / MAX_VALUES) * 2;
      const part = s.stride === 1 ? d.slice() : d.filter((_v, i) => i % s.stride === 0);
      s.chunks.push(part);
      s.kept += part.length;
    }),
  );
  return {
    finish(): ActivationStat[] {
      for (const h of handles) h.remove();
      return [...byModule.values()].filter((s) => s.total > 0).map(summarize);
    },
  };
}

function summarize(s: Seen): ActivationStat {
  const obs = s.module.observer;
  const { scale, zeroPoint } = obs.calculateQparams();
  const sc = scale[0]!;
  const zp = zeroPoint[0]!;
  const qmin = obs.quantMin ?? 0;
  const qmax = obs.quantMax ?? 255;
  const range: [number, number] = [Math.fround(sc * (qmin - zp)), Math.fround(sc * (qmax - zp))];
  // The histogram spans the data and the chosen range, so clipped tails and unused codes both show.
  const lo = Math.min(s.min, range[0]);
  const hi = Math.max(s.max, range[1]);
  const counts = new Array<number>(ACTIVATION_BINS).fill(0);
  const width = hi > lo ? (hi - lo) / ACTIVATION_BINS : 1;
  let clipped = 0;
  for (const c of s.chunks) {
    for (let i = 0; i < c.length; i++) {
      const v = c[i]!;
      const b = Math.min(ACTIVATION_BINS - 1, Math.max(0, Math.floor((v - lo) / width)));
      counts[b]! += 1;
      if (v < range[0] || v > range[1]) clipped++;
    }
  }
  s.chunks = [];
  return {
    name: s.names[0]!,
    names: s.names,
    observes: s.observes,
    observer: obs.constructor.name,
    values: s.total,
    sampledEvery: s.stride,
    dataMin: s.min,
    dataMax: s.max,
    scale: sc,
    zeroPoint: zp,
    quantMin: qmin,
    quantMax: qmax,
    range,
    histogram: { lo, hi, counts },
    clippedFraction: s.kept === 0 ? 0 : clipped / s.kept,
  };
}

function quantile(sorted: Float32Array, q: number): number {
  const pos = (sorted.length - 1) * q;
  const i = Math.floor(pos);
  const f = pos - i;
  return i + 1 < sorted.length ? sorted[i]! * (1 - f) + sorted[i + 1]! * f : sorted[i]!;
}

function floatWeightOf(m: Module | undefined): Tensor | undefined {
  if (m === undefined) return undefined;
  const p = m.namedParameters().find(([k]) => k === 'weight' || k.endsWith('.weight'));
  return p?.[1];
}

function hasQWeight(m: Module): m is Module & { weight(): QTensor } {
  const w = (m as unknown as { weight?: unknown }).weight;
  return typeof w === 'function' && nnq.isQTensor((w as () => unknown).call(m));
}

/**
 * Per output channel of each quantized weight: min, quartiles and max of the float weight the
 * quantizer saw (the fused, BN-folded weight of `floatSource`, found by the quantized module's
 * path; else the dequantized codes), and the float range the int8 grid covers per channel
 * (`scale · (qmin − zp) … scale · (qmax − zp)`, one scale for per-tensor weights).
 *
 * @example
 * weightStats(prepared, convertFx(prepared));
 */
export function weightStats(floatSource: Module, quantized: Module): WeightStat[] {
  const out: WeightStat[] = [];
  for (const [path, m] of quantized.namedModules()) {
    if (!hasQWeight(m)) continue;
    const q = m.weight();
    let src: Module | undefined;
    try {
      src = floatSource.getSubmodule(path);
    } catch {
      src = undefined;
    }
    const fw = floatWeightOf(src);
    const fromFloat = fw !== undefined && fw.numel === q.numel;
    const data = fromFloat ? fw.contiguous().data : q.dequantize().contiguous().data;
    const channels = q.shape[0]!;
    const per = data.length / channels;
    const perChannel = q.isPerChannel();
    const scales = perChannel ? Array.from(q.qPerChannelScales()) : [q.qScale()];
    const zps = perChannel ? Array.from(q.qPerChannelZeroPoints()) : [q.qZeroPoint()];
    const qmin = q.dtype === 'qint8' ? -128 : 0;
    const qmax = q.dtype === 'qint8' ? 127 : 255;
    const stats: WeightChannel[] = [];
    for (let c = 0; c < channels; c++) {
      const sorted = data.slice(c * per, (c + 1) * per).sort();
      const s = scales[perChannel ? c : 0]!;
      const z = zps[perChannel ? c : 0]!;
      stats.push({
        min: sorted[0]!,
        p25: quantile(sorted, 0.25),
        median: quantile(sorted, 0.5),
        p75: quantile(sorted, 0.75),
        max: sorted[sorted.length - 1]!,
        gridLo: Math.fround(s * (qmin - z)),
        gridHi: Math.fround(s * (qmax - z)),
      });
    }
    out.push({
      name: path,
      module: m.getName(),
      shape: [...q.shape],
      qscheme: q.qscheme(),
      values: fromFloat ? 'float' : 'dequantized',
      channels: stats,
    });
  }
  return out;
}

/**
 * Per-layer SQNR of the quantized graph against the float one on `inputs` (the numeric suite's
 * `compareModelOutputs`, metrics as `torch.ao.ns.fx.utils.compute_sqnr`), in execution order.
 *
 * @throws `INVALID_ARGUMENT` from compareModelOutputs when no layer matches.
 */
export function layerSqnr(floatModel: Module, quantized: Module, ...inputs: unknown[]): LayerSqnr[] {
  const rows = compareModelOutputs(floatModel, quantized, ...inputs);
  if (rows.length === 0) throw new QuantError('INVALID_ARGUMENT', 'layerSqnr: no layer to compare.');
  return rows.map((r) => ({ name: r.name, op: r.op, floatName: r.floatName, sqnr: r.sqnr, cosine: r.cosine }));
}
