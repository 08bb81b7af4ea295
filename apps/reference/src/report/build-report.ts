// The HTML report: one self-contained file (Chart.js 4's UMD build and the data inlined, no
// network needed), used by `quint demo` and `quint report`.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { QuantError } from '@quint/tensor';

/** One layer's SQNR, float vs int8 (the numeric suite). */
export interface LayerSqnr {
  /** Node name in the quantized graph. */
  readonly name: string;
  /** What runs there (`QuantizedConvReLU2d`, `quantized.add`, …). */
  readonly op: string;
  /** The float node it is compared with. */
  readonly floatName: string;
  /** dB; `Infinity` when identical. */
  readonly sqnr: number;
  readonly cosine: number;
}

/** One activation observer: the values it saw during calibration and the range it chose. */
export interface ActivationStat {
  /** The first graph node calling it (`activation_post_process_0`). */
  readonly name: string;
  /** Every node calling it (shared observers). */
  readonly names: readonly string[];
  /** The nodes whose outputs it observes. */
  readonly observes: readonly string[];
  /** `HistogramObserver`, … */
  readonly observer: string;
  /** Values observed, and 1 / the sampling rate kept for the histogram. */
  readonly values: number;
  readonly sampledEvery: number;
  readonly dataMin: number;
  readonly dataMax: number;
  readonly scale: number;
  readonly zeroPoint: number;
  readonly quantMin: number;
  readonly quantMax: number;
  /** The float range the chosen qparams cover: `scale · (quantMin − zp) … scale · (quantMax − zp)`. */
  readonly range: readonly [number, number];
  /** Equal-width bins over `[lo, hi]`. */
  readonly histogram: { readonly lo: number; readonly hi: number; readonly counts: readonly number[] };
  /** Fraction of the kept values outside `range` (clipped by quantization). */
  readonly clippedFraction: number;
}

/** One output channel of a weight. */
export interface WeightChannel {
  readonly min: number;
  readonly p25: number;
  readonly median: number;
  readonly p75: number;
  readonly max: number;
  /** The float range the channel's int8 grid covers. */
  readonly gridLo: number;
  readonly gridHi: number;
}

/** One quantized weight, per output channel. */
export interface WeightStat {
  /** Module path in the quantized model. */
  readonly name: string;
  readonly module: string;
  readonly shape: readonly number[];
  readonly qscheme: string;
  /** Whether the statistics are of the float (fused) weight or of the dequantized codes. */
  readonly values: 'float' | 'dequantized';
  readonly channels: readonly WeightChannel[];
}

/** One latency bar. */
export interface LatencyBar {
  /** `fp32 (quint float ops)`, `int8 kernels-js`, `int8 kernels-wasm`, `ONNX Runtime Web fp32`, … */
  readonly label: string;
  /** Median milliseconds per call. */
  readonly ms: number;
  /** Optional detail (how it was measured). */
  readonly note?: string;
}

/** Everything {@link buildReport} draws. */
export interface ReportData {
  readonly title: string;
  /** One line under the title: the model, the quantization recipe. */
  readonly subtitle: string;
  /** Key figures, as label/value pairs (accuracies, bytes, …). */
  readonly summary: readonly { readonly label: string; readonly value: string }[];
  readonly sqnr: readonly LayerSqnr[];
  /** What the SQNR was measured on (e.g. "100 evaluation images"). */
  readonly sqnrInput: string;
  readonly activations: readonly ActivationStat[];
  readonly weights: readonly WeightStat[];
  readonly latency: readonly LatencyBar[];
  /** What one latency call is (e.g. "one image, batch 1, median of 100"). */
  readonly latencyUnit: string;
  /** Free-form notes shown at the end (what is missing and why, versions). */
  readonly notes?: readonly string[];
  /** quint version and generation time, shown in the footer. */
  readonly generator: string;
}

/** Chart.js 4's UMD build (defines `window.Chart`), read from the installed `chart.js` package. */
export function chartJsSource(): string {
  let entry: string;
  try {
    entry = createRequire(import.meta.url).resolve('chart.js');
  } catch (e) {
    throw new QuantError(
      'IO_ERROR',
      `cannot find the chart.js package the report inlines (${(e as Error).message}); run npx -y pnpm@10.34.9 install.`,
      { cause: e },
    );
  }
  const path = join(dirname(entry), 'chart.umd.min.js');
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new QuantError(
      'IO_ERROR',
      `cannot read ${path} (${(e as Error).message}); reinstall chart.js 4 (npx -y pnpm@10.34.9 install).`,
      { cause: e },
    );
  }
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

// JSON inside <script>: `<` escaped so no `</script>` or `<!--` can end the block; non-finite
// numbers (an SQNR of +∞ when outputs are identical) as strings the page turns back into numbers.
function jsonForScript(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v))
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** Inline JS may not contain `</script`; in Chart.js's source it could only occur inside strings. */
function inlineScript(src: string): string {
  return src.replace(/<\/script/gi, '<\\/script');
}

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:18px 28px}
header h1{margin:0 0 4px;font-size:22px}
header p{margin:0;color:#c9cfdb}
main{padding:12px 28px 40px;max-width:1280px}
h2{font-size:18px;margin:28px 0 6px}
p.lead{margin:0 0 12px;color:#4a5367;max-width:900px}
table.summary{border-collapse:collapse;background:#fff;box-shadow:0 1px 2px rgba(0,0,0,.08)}
table.summary td{padding:5px 14px;border-bottom:1px solid #e6e8ee}
table.summary td:first-child{color:#4a5367}
table.summary td:last-child{font-variant-numeric:tabular-nums;font-weight:600}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(380px,1fr));gap:14px}
.card{background:#fff;border-radius:6px;box-shadow:0 1px 2px rgba(0,0,0,.08);padding:10px 12px}
.card h3{font-size:14px;margin:0 0 2px}
.card p{margin:0 0 6px;color:#4a5367;font-size:12px}
.wide{height:320px}.cell{height:230px}
ul.notes{color:#4a5367}
footer{color:#8a93a6;font-size:12px;padding:0 28px 24px}
`;

// The page script: builds every chart from the inlined data with animations off (the charts are
// complete when the load event fires) and records what it drew in window.quintReport.
const PAGE_SCRIPT = `
(function(){
  var data = JSON.parse(document.getElementById('report-data').textContent, function(k, v){
    return v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v === 'NaN' ? NaN : v;
  });
  var charts = [];
  Chart.defaults.animation = false;
  Chart.defaults.responsive = true;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.font.size = 11;
  var BLUE = '#3b6fd8', LIGHT = 'rgba(59,111,216,.28)', ORANGE = '#e07b24', RED = '#c2332f', GREY = '#8a93a6';
  function fmt(v){ if (!isFinite(v)) return String(v); var a = Math.abs(v); return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(3) : String(+v.toPrecision(4)); }
  function card(parent, cls, title, text){
    var d = document.createElement('div'); d.className = 'card';
    var h = document.createElement('h3'); h.textContent = title; d.appendChild(h);
    if (text) { var p = document.createElement('p'); p.textContent = text; d.appendChild(p); }
    var box = document.createElement('div'); box.className = cls; var c = document.createElement('canvas'); box.appendChild(c); d.appendChild(box);
    parent.appendChild(d); return c;
  }
  // Vertical lines at x values (the observer's range), drawn after the bars.
  var vlines = { id: 'vlines', afterDatasetsDraw: function(chart, _a, opts){
    if (!opts || !opts.lines) return; var x = chart.scales.x, a = chart.chartArea, ctx = chart.ctx;
    opts.lines.forEach(function(l){ var px = x.getPixelForValue(l.value); ctx.save(); ctx.strokeStyle = l.color; ctx.lineWidth = 2; ctx.setLineDash([5,3]);
      ctx.beginPath(); ctx.moveTo(px, a.top); ctx.lineTo(px, a.bottom); ctx.stroke(); ctx.restore(); });
  } };
  Chart.register(vlines);

  // 1. SQNR per layer
  var s = data.sqnr, finite = s.map(function(r){ return isFinite(r.sqnr) ? r.sqnr : null; });
  var top = Math.max.apply(null, finite.filter(function(v){ return v !== null; }).concat([1]));
  charts.push(new Chart(card(document.getElementById('sqnr'), 'wide', 'SQNR per layer (dB, higher is better)', 'each layer\\'s int8 output vs the float model\\'s output there, on ' + data.sqnrInput), {
    type: 'bar',
    data: { labels: s.map(function(r){ return r.name + (r.floatName !== r.name ? ' (' + r.floatName + ')' : ''); }),
      datasets: [{ label: 'SQNR dB', data: s.map(function(r){ return isFinite(r.sqnr) ? r.sqnr : top * 1.1; }), backgroundColor: s.map(function(r){ return isFinite(r.sqnr) ? BLUE : GREY; }) }] },
    options: { plugins: { legend: { display: false }, tooltip: { callbacks: { label: function(c){ var r = s[c.dataIndex]; return r.op + ': ' + fmt(r.sqnr) + ' dB, cosine ' + fmt(r.cosine); } } } },
      scales: { y: { title: { display: true, text: 'dB' } } } }
  }));

  // 2. Activations: histogram of what each observer saw, and the range it chose
  var act = document.getElementById('activations');
  data.activations.forEach(function(a){
    var n = a.histogram.counts.length, w = (a.histogram.hi - a.histogram.lo) / n;
    var pts = a.histogram.counts.map(function(c, i){ return { x: a.histogram.lo + (i + 0.5) * w, y: c }; });
    var text = a.observer + ' (' + a.names.join(', ') + '): data [' + fmt(a.dataMin) + ', ' + fmt(a.dataMax) + '], chosen range [' + fmt(a.range[0]) + ', ' + fmt(a.range[1]) + '] (scale ' + fmt(a.scale) + ', zero point ' + a.zeroPoint + '), ' + (100 * a.clippedFraction).toFixed(3) + '% clipped';
    charts.push(new Chart(card(act, 'cell', 'output of ' + a.observes.join(', '), text), {
      type: 'bar',
      data: { datasets: [{ label: 'values', data: pts, backgroundColor: BLUE, barPercentage: 1, categoryPercentage: 1 }] },
      options: { parsing: true, plugins: { legend: { display: false }, vlines: { lines: [{ value: a.range[0], color: RED }, { value: a.range[1], color: RED }] },
          tooltip: { callbacks: { title: function(c){ return fmt(c[0].parsed.x); } } } },
        scales: { x: { type: 'linear', min: a.histogram.lo, max: a.histogram.hi, title: { display: true, text: 'value (red: range of the int8 grid)' } },
          y: { type: 'logarithmic', title: { display: true, text: 'count (log)' } } } }
    }));
  });

  // 3. Weights per output channel: min..max, quartiles, median, and the int8 grid's range
  var wt = document.getElementById('weights');
  data.weights.forEach(function(w){
    var ch = w.channels, labels = ch.map(function(_c, i){ return String(i); });
    charts.push(new Chart(card(wt, 'cell', w.name + ' ' + w.module + ' [' + w.shape.join('×') + ']',
      w.qscheme + '; per output channel: min–max (light), 25–75% (dark), median (dot), the int8 grid\\'s range (orange); ' + (w.values === 'float' ? 'float (BN-folded) weights' : 'dequantized weights')), {
      type: 'bar',
      data: { labels: labels, datasets: [
        { type: 'bar', label: 'min–max', data: ch.map(function(c){ return [c.min, c.max]; }), backgroundColor: LIGHT, grouped: false, barPercentage: 0.9 },
        { type: 'bar', label: '25–75%', data: ch.map(function(c){ return [c.p25, c.p75]; }), backgroundColor: BLUE, grouped: false, barPercentage: 0.5 },
        { type: 'line', label: 'median', data: ch.map(function(c){ return c.median; }), showLine: false, pointRadius: 2, borderColor: '#1d2330', backgroundColor: '#1d2330' },
        { type: 'line', label: 'grid max', data: ch.map(function(c){ return c.gridHi; }), pointRadius: 0, borderColor: ORANGE, borderWidth: 1.5, stepped: 'middle' },
        { type: 'line', label: 'grid min', data: ch.map(function(c){ return c.gridLo; }), pointRadius: 0, borderColor: ORANGE, borderWidth: 1.5, stepped: 'middle' }
      ] },
      options: { plugins: { legend: { display: false } }, scales: { x: { title: { display: true, text: 'output channel' } }, y: { title: { display: true, text: 'weight' } } } }
    }));
  });

  // 4. Latency
  var l = data.latency;
  charts.push(new Chart(card(document.getElementById('latency'), 'wide', 'Latency (ms, lower is better)', data.latencyUnit), {
    type: 'bar',
    data: { labels: l.map(function(b){ return b.label; }), datasets: [{ label: 'ms', data: l.map(function(b){ return b.ms; }), backgroundColor: l.map(function(b){ return /int8/.test(b.label) ? BLUE : GREY; }) }] },
    options: { indexAxis: 'y', plugins: { legend: { display: false }, tooltip: { callbacks: { label: function(c){ var b = l[c.dataIndex]; return fmt(b.ms) + ' ms' + (b.note ? ' (' + b.note + ')' : ''); } } } },
      scales: { x: { title: { display: true, text: 'ms' }, beginAtZero: true } } }
  }));

  window.quintReport = { charts: charts.length, expected: 2 + data.activations.length + data.weights.length, chartIds: charts.map(function(c){ return c.id; }) };
})();
`;

/**
 * The report as one HTML document: a summary table and four sections of Chart.js 4 charts —
 * per-layer SQNR (float vs int8), a histogram per activation observer with the range it chose,
 * each quantized weight per output channel with its int8 grid, and latency bars. Chart.js's UMD
 * build and the data are inlined, so the file needs no network; the page sets
 * `window.quintReport = { charts, expected }` once everything is drawn.
 *
 * @throws `IO_ERROR` when the chart.js package is not installed.
 * @example
 * writeFileAtomic('out/report.html', buildReport(data));
 */
export function buildReport(data: ReportData): string {
  const summary = data.summary
    .map((r) => `<tr><td>${escapeHtml(r.label)}</td><td>${escapeHtml(r.value)}</td></tr>`)
    .join('\n');
  const notes = (data.notes ?? []).map((n) => `<li>${escapeHtml(n)}</li>`).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(data.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>${escapeHtml(data.title)}</h1><p>${escapeHtml(data.subtitle)}</p></header>
<main>
<h2>Summary</h2>
<table class="summary">
${summary}
</table>
<h2>Per-layer SQNR, float vs int8</h2>
<p class="lead">Signal-to-quantization-noise ratio of each layer's output: 10·log10(‖float‖² / ‖float − int8‖²), the numeric suite's compareModelOutputs/computeSqnr. Each 6 dB is about one bit of precision.</p>
<div id="sqnr"></div>
<h2>Activations: what each observer saw, and the range it chose</h2>
<p class="lead">Values seen during calibration (log scale); the red dashed lines mark the float range the chosen scale and zero point can represent (scale·(qmin − zp) … scale·(qmax − zp)). Values outside are clipped; a range much wider than the data wastes codes.</p>
<div class="grid" id="activations"></div>
<h2>Weights, per output channel</h2>
<p class="lead">For each quantized conv and linear: each output channel's weights (min–max, quartiles, median) and, in orange, the float range its int8 grid covers. With per-tensor weights one scale serves every channel, so narrow channels use few codes.</p>
<div class="grid" id="weights"></div>
<h2>Latency</h2>
<div id="latency"></div>
${notes === '' ? '' : `<h2>Notes</h2>\n<ul class="notes">\n${notes}\n</ul>`}
</main>
<footer>${escapeHtml(data.generator)} · charts by Chart.js 4 (inlined; no network needed)</footer>
<script type="application/json" id="report-data">${jsonForScript(data)}</script>
<script>${inlineScript(chartJsSource())}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}
