// The page: picks the inputs and options, talks to the quantization worker, shows the result.
// Everything heavy runs in worker.ts; this thread only reads files and draws.
import type { ModelInspection } from '@quint/onnx';
import type { FromWorker, QuantizeOptions, QuantizeSummary, RunOutput, Stage, ToWorker } from './protocol.js';

interface Picked {
  readonly name: string;
  readonly bytes: ArrayBuffer;
}

const $ = <T extends HTMLElement>(id: string): T => {
  const e = document.getElementById(id);
  if (e === null) throw new Error(`page element #${id} is missing`);
  return e as T;
};

const ui = {
  useMnist: $<HTMLButtonElement>('use-mnist'),
  drop: $<HTMLDivElement>('drop'),
  modelFile: $<HTMLInputElement>('model-file'),
  calibFile: $<HTMLInputElement>('calib-file'),
  chosen: $<HTMLParagraphElement>('chosen'),
  qconfig: $<HTMLSelectElement>('qconfig'),
  engine: $<HTMLSelectElement>('engine'),
  format: $<HTMLSelectElement>('format'),
  cliLine: $<HTMLParagraphElement>('cli-line'),
  quantize: $<HTMLButtonElement>('quantize'),
  progress: $<HTMLProgressElement>('progress'),
  progressText: $<HTMLSpanElement>('progress-text'),
  warnings: $<HTMLUListElement>('warnings'),
  error: $<HTMLDivElement>('error'),
  results: $<HTMLElement>('results'),
  download: $<HTMLAnchorElement>('download'),
  downloadSize: $<HTMLSpanElement>('download-size'),
  summary: $<HTMLDivElement>('summary'),
  report: $<HTMLElement>('report'),
  reportBody: $<HTMLDivElement>('report-body'),
  placeholder: $<HTMLParagraphElement>('placeholder'),
  run: $<HTMLElement>('run'),
  sample: $<HTMLInputElement>('sample'),
  sampleLabel: $<HTMLLabelElement>('sample-label'),
  runButton: $<HTMLButtonElement>('run-button'),
  runOutput: $<HTMLDivElement>('run-output'),
};

const state: {
  model: Picked | null;
  calib: Picked | null;
  samples: ArrayBuffer | null;
  job: number;
  busy: boolean;
  downloadUrl: string | null;
  /** Samples of the run set: MNIST evaluation digits, or the calibration rows. */
  runSet: 'samples' | 'calib';
} = { model: null, calib: null, samples: null, job: 0, busy: false, downloadUrl: null, runSet: 'calib' };

// ---- small DOM helpers (text only: file and node names never become markup) ----

type Child = Node | string | number | null | undefined | false;

function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children)
    if (c !== null && c !== undefined && c !== false) e.append(typeof c === 'number' ? String(c) : c);
  return e;
}

function table(caption: string, head: string[], rows: Child[][], rowClass?: (i: number) => string): HTMLElement {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      {},
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, ...head.map((c) => h('th', { scope: 'col' }, c)))),
      h(
        'tbody',
        {},
        ...rows.map((r, i) => h('tr', rowClass ? { class: rowClass(i) } : {}, ...r.map((c) => h('td', {}, c)))),
      ),
    ),
  );
}

const kb = (n: number): string =>
  n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(2)} MB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KB` : `${n} B`;
const num = (v: number, digits = 6): string =>
  Number.isFinite(v)
    ? Math.abs(v) >= 1e-3 || v === 0
      ? v.toFixed(digits > 4 ? 4 : digits)
      : v.toExponential(3)
    : String(v);

// ---- inputs ----

function stem(name: string): string {
  return name.replace(/\.onnx$/i, '') || 'model';
}

function options(): QuantizeOptions {
  return {
    qconfig: ui.qconfig.value as QuantizeOptions['qconfig'],
    engine: ui.engine.value as QuantizeOptions['engine'],
    format: ui.format.value as QuantizeOptions['format'],
  };
}

function refresh(): void {
  ui.chosen.textContent = `Model: ${state.model ? `${state.model.name} (${kb(state.model.bytes.byteLength)})` : 'none'} · Calibration data: ${
    state.calib ? `${state.calib.name} (${kb(state.calib.bytes.byteLength)})` : 'none'
  }`;
  ui.quantize.disabled = state.busy || state.model === null || state.calib === null;
  ui.useMnist.disabled = state.busy;
  const o = options();
  const m = state.model?.name ?? '<model.onnx>';
  ui.cliLine.textContent = `Same as: pnpm -s quint quantize ${m} --calib ${state.calib?.name ?? '<calib.npy>'} --out ${stem(m)}.int8.onnx --qconfig ${o.qconfig} --engine ${o.engine} --format ${o.format}`;
}

async function pick(file: File, as: 'model' | 'calib'): Promise<void> {
  const picked = { name: file.name, bytes: await file.arrayBuffer() };
  if (as === 'model') {
    state.model = picked;
    state.samples = null;
  } else state.calib = picked;
  clearError();
  refresh();
}

ui.modelFile.addEventListener('change', () => {
  const f = ui.modelFile.files?.[0];
  if (f) void pick(f, 'model');
});
ui.calibFile.addEventListener('change', () => {
  const f = ui.calibFile.files?.[0];
  if (f) void pick(f, 'calib');
});

// Dropped files: `.npy` is calibration data, anything else is taken as the model (a file that is
// not ONNX then fails as the CLI would, with BAD_ONNX).
ui.drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  ui.drop.classList.add('over');
});
ui.drop.addEventListener('dragleave', () => ui.drop.classList.remove('over'));
ui.drop.addEventListener('drop', (e) => {
  e.preventDefault();
  ui.drop.classList.remove('over');
  for (const f of Array.from(e.dataTransfer?.files ?? [])) void pick(f, /\.npy$/i.test(f.name) ? 'calib' : 'model');
});
// A file dropped outside the zone must not navigate away from the page.
window.addEventListener('dragover', (e) => e.preventDefault());
window.addEventListener('drop', (e) => e.preventDefault());

for (const s of [ui.qconfig, ui.engine, ui.format]) s.addEventListener('change', refresh);

async function fetchBytes(path: string): Promise<ArrayBuffer> {
  const res = await fetch(new URL(path, document.baseURI));
  if (!res.ok) throw new Error(`fetching ${path} returned HTTP ${res.status}`);
  return res.arrayBuffer();
}

ui.useMnist.addEventListener('click', () => {
  void (async () => {
    try {
      clearError();
      const [model, calib, samples] = await Promise.all(
        ['mnist/mnist-cnn.onnx', 'mnist/calib.npy', 'mnist/samples.npy'].map(fetchBytes),
      );
      state.model = { name: 'mnist-cnn.onnx', bytes: model! };
      state.calib = { name: 'mnist-calib.npy', bytes: calib! };
      state.samples = samples!;
      // The file pickers no longer show what will be quantized.
      ui.modelFile.value = '';
      ui.calibFile.value = '';
      refresh();
      startQuantize();
    } catch (e) {
      showError(
        `quint: IO_ERROR: cannot load the bundled MNIST files (${e instanceof Error ? e.message : String(e)}); rebuild the page with npx -y pnpm@10.34.9 run build.`,
      );
    }
  })();
});

// ---- worker ----

let worker = makeWorker();

function makeWorker(): Worker {
  const w = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'quint-quantize' });
  w.onmessage = (e: MessageEvent<FromWorker>) => onWorker(e.data);
  w.onerror = (e) => {
    e.preventDefault();
    finish();
    showError(
      `quint: INTERNAL: the quantization worker stopped (${e.message || 'no message'}); it was restarted, try again.`,
    );
    worker.terminate();
    worker = makeWorker();
  };
  return w;
}

function send(msg: ToWorker): void {
  worker.postMessage(msg);
}

const STAGES: Record<Stage, string> = {
  backend: 'starting the wasm backend',
  load: 'loading the model',
  calibrate: 'calibrating',
  convert: 'converting',
  save: 'writing the int8 ONNX',
  verify: 'reloading the int8 file',
  report: 'gathering the report',
  run: 'running',
};

function startQuantize(): void {
  if (state.model === null || state.calib === null || state.busy) return;
  state.busy = true;
  state.job++;
  clearError();
  ui.warnings.replaceChildren();
  ui.results.hidden = true;
  ui.run.hidden = true;
  ui.report.hidden = true;
  ui.progress.removeAttribute('value');
  ui.progressText.textContent = 'starting…';
  refresh();
  state.runSet = state.samples !== null ? 'samples' : 'calib';
  // Copies: the page keeps its files to quantize again with other options.
  send({
    kind: 'quantize',
    job: state.job,
    model: state.model.bytes.slice(0),
    calib: state.calib.bytes.slice(0),
    samples: state.samples === null ? null : state.samples.slice(0),
    modelName: state.model.name,
    calibName: state.calib.name,
    options: options(),
  });
}

ui.quantize.addEventListener('click', startQuantize);

function finish(): void {
  state.busy = false;
  ui.runButton.disabled = false;
  refresh();
}

function onWorker(msg: FromWorker): void {
  if (msg.job !== state.job) return;
  switch (msg.kind) {
    case 'progress':
      // Running one input is quick and has its own view; the progress line stays the quantization's.
      if (msg.stage === 'run') break;
      if (msg.stage === 'calibrate') {
        ui.progress.max = msg.total;
        ui.progress.value = msg.done;
        ui.progressText.textContent = `calibrating: batch ${msg.done} of ${msg.total}`;
      } else {
        ui.progress.removeAttribute('value');
        ui.progressText.textContent = `${STAGES[msg.stage]}…`;
      }
      break;
    case 'warning':
      ui.warnings.append(h('li', {}, msg.line));
      break;
    case 'error':
      // While busy the failure is the quantization's; otherwise it is a run's (the result stays).
      if (state.busy) {
        ui.progress.value = 0;
        ui.progressText.textContent = 'failed';
      }
      finish();
      showError(msg.line);
      break;
    case 'quantized':
      finish();
      ui.progress.max = 1;
      ui.progress.value = 1;
      ui.progressText.textContent = `done in ${(msg.summary.milliseconds / 1000).toFixed(1)} s`;
      showResult(msg.bytes, msg.summary);
      break;
    case 'ran':
      ui.runButton.disabled = false;
      showRun(msg.inputShape, msg.input, msg.outputs);
      break;
  }
}

function showError(line: string): void {
  ui.error.textContent = line;
  ui.error.hidden = false;
  ui.placeholder.hidden = true;
  ui.error.scrollIntoView({ block: 'nearest' });
}

function clearError(): void {
  ui.error.hidden = true;
  ui.error.textContent = '';
}

// ---- result ----

function opCounts(float: ModelInspection, int8: ModelInspection): HTMLElement {
  const ops = [...new Set([...Object.keys(float.onnxOps), ...Object.keys(int8.onnxOps)])].sort();
  return table(
    'ONNX ops',
    ['ONNX op', 'float model', 'int8 model'],
    ops.map((op) => [op, float.onnxOps[op] ?? 0, int8.onnxOps[op] ?? 0]),
  );
}

function qparams(int8: ModelInspection): HTMLElement {
  const rows = int8.nodes
    .filter((n) => n.output !== null || n.weight !== null)
    .map((n) => {
      const w = n.weight;
      const scales =
        w === null
          ? ''
          : w.scales.length === 1
            ? num(w.scales[0]!)
            : `${w.scales.length} channels, ${num(Math.min(...w.scales))} … ${num(Math.max(...w.scales))}`;
      return [
        Array.isArray(n.onnxName) ? n.onnxName.join(', ') : (n.onnxName ?? n.name),
        n.op,
        n.output === null ? '' : num(n.output.scale),
        n.output === null ? '' : n.output.zeroPoint,
        w === null ? '' : `${w.dtype} ${w.qscheme}`,
        scales,
      ];
    });
  return table('Quantized nodes', ['node', 'op', 'output scale', 'zero point', 'weight', 'weight scale'], rows);
}

function facts(pairs: [string, Child][]): HTMLElement {
  return h('dl', { class: 'facts' }, ...pairs.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function showResult(bytes: ArrayBuffer, s: QuantizeSummary): void {
  if (state.downloadUrl !== null) URL.revokeObjectURL(state.downloadUrl);
  state.downloadUrl = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
  const name = `${stem(state.model?.name ?? 'model')}.int8.onnx`;
  ui.download.href = state.downloadUrl;
  ui.download.download = name;
  ui.download.textContent = `Download ${name}`;
  ui.downloadSize.textContent = `(${kb(bytes.byteLength)})`;
  const mb = (x: ModelInspection) => x.modelBytes;
  const prov = Object.entries(s.int8.provenance).map(([k, v]) => `${k} = ${v}`);
  ui.summary.replaceChildren(
    facts([
      [
        'Model bytes (fp32 → int8)',
        `${kb(mb(s.float).fp32)} → ${kb(mb(s.int8).int8)} (${(mb(s.float).fp32 / mb(s.int8).int8).toFixed(2)}× smaller)`,
      ],
      ['File size (float → int8 ONNX)', `${kb(s.float.fileBytes ?? 0)} → ${kb(s.int8FileBytes)}`],
      [
        'Calibration',
        `${s.samples} samples, data of shape [${s.calibrationShape.join(', ')}]; model input [${s.inputShape.join(', ')}]`,
      ],
      ['Backend', s.backend],
      ['Time', `${(s.milliseconds / 1000).toFixed(1)} s in a Web Worker`],
      ['Provenance (metadata_props)', prov.length ? h('code', {}, prov.join(' · ')) : 'none'],
    ]),
  );
  // buildReport's page is self-contained (Chart.js inlined); a sandboxed frame keeps its script apart.
  const frame = h('iframe', {
    class: 'report-frame',
    title: 'quint report: per-layer SQNR, activations, weights, latency',
    sandbox: 'allow-scripts',
  });
  frame.srcdoc = s.reportHtml;
  ui.reportBody.replaceChildren(
    frame,
    h('h3', {}, 'Ops (quint inspect)'),
    opCounts(s.float, s.int8),
    h('h3', {}, 'Quantization parameters of the int8 file'),
    qparams(s.int8),
  );
  ui.placeholder.hidden = true;
  ui.results.hidden = false;
  ui.report.hidden = false;
  // Running one input: the MNIST evaluation digits, or the calibration rows of the user's data.
  const n = state.runSet === 'samples' ? 10 : (s.calibrationShape[0] ?? 1);
  ui.sample.max = String(Math.max(0, n - 1));
  ui.sample.value = '0';
  ui.sampleLabel.textContent =
    state.runSet === 'samples' ? 'MNIST evaluation digit (0–9)' : `Calibration sample (0–${n - 1})`;
  ui.run.hidden = false;
  runOne();
}

// ---- run one input ----

function runOne(): void {
  const index = Number(ui.sample.value);
  ui.runButton.disabled = true;
  send({ kind: 'run', job: state.job, set: state.runSet, index });
}

ui.runButton.addEventListener('click', () => {
  clearError();
  runOne();
});
ui.sample.addEventListener('keydown', (e) => {
  if (e.key === 'Enter') ui.runButton.click();
});

function drawInput(shape: readonly number[], data: Float32Array): HTMLElement | null {
  // A single-channel image: [1,1,H,W] or [1,H,W].
  const dims = shape.length === 4 && shape[1] === 1 ? shape.slice(2) : shape.length === 3 ? shape.slice(1) : null;
  if (dims === null || dims[0]! > 256 || dims[1]! > 256) return null;
  const [hgt, wid] = dims as [number, number];
  const c = h('canvas', {
    class: 'input',
    width: String(wid),
    height: String(hgt),
    role: 'img',
    'aria-label': `the input image, ${wid}×${hgt} pixels`,
  });
  const ctx = c.getContext('2d');
  if (ctx === null) return null;
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of data) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const img = ctx.createImageData(wid, hgt);
  for (let i = 0; i < wid * hgt; i++) {
    const g = hi > lo ? Math.round((255 * (data[i]! - lo)) / (hi - lo)) : 0;
    img.data.set([g, g, g, 255], i * 4);
  }
  ctx.putImageData(img, 0, 0);
  return h('figure', {}, c, h('figcaption', {}, `input [${shape.join(', ')}]`));
}

function softmax(x: Float32Array): number[] {
  const m = Math.max(...x);
  const e = Array.from(x, (v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

const argmax = (x: ArrayLike<number>): number => {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
  return best;
};

function sqnr(f: Float32Array, q: Float32Array): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < f.length; i++) {
    s += f[i]! * f[i]!;
    n += (f[i]! - q[i]!) ** 2;
  }
  return n === 0 ? Infinity : 10 * Math.log10(s / n);
}

function bar(p: number, cls: string): HTMLElement {
  return h('span', { class: `bar ${cls}`, style: `width:${Math.round(p * 80)}px` });
}

function showOutput(o: RunOutput): HTMLElement {
  const maxDiff = o.float.reduce((m, v, i) => Math.max(m, Math.abs(v - o.int8[i]!)), 0);
  const head = h(
    'p',
    {},
    `output ${o.name} [${o.shape.join(', ')}]: SQNR ${num(sqnr(o.float, o.int8), 2)} dB, max |float − int8| ${num(maxDiff)}`,
  );
  if (o.float.length > 32) {
    const first = (x: Float32Array) => Array.from(x.subarray(0, 8), (v) => num(v)).join(', ');
    return h(
      'div',
      {},
      head,
      facts([
        ['float (first 8)', first(o.float)],
        ['int8 (first 8)', first(o.int8)],
      ]),
    );
  }
  const pf = softmax(o.float);
  const pq = softmax(o.int8);
  const af = argmax(o.float);
  const aq = argmax(o.int8);
  return h(
    'div',
    {},
    head,
    h('p', { class: 'verdict' }, `argmax: float ${af}, int8 ${aq}${af === aq ? ' (same)' : ' (different)'}`),
    table(
      `output ${o.name}`,
      ['index', 'float', 'int8', 'softmax float', '', 'softmax int8', ''],
      Array.from(o.float, (v, i) => [
        i,
        num(v),
        num(o.int8[i]!),
        pf[i]!.toFixed(3),
        bar(pf[i]!, 'float'),
        pq[i]!.toFixed(3),
        bar(pq[i]!, 'int8'),
      ]),
      (i) => (i === af || i === aq ? 'top' : ''),
    ),
  );
}

function showRun(inputShape: readonly number[], input: Float32Array, outputs: readonly RunOutput[]): void {
  const img = drawInput(inputShape, input);
  ui.runOutput.replaceChildren(h('div', { class: 'run-grid' }, img, h('div', {}, ...outputs.map(showOutput))));
}

refresh();
