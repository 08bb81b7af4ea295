// The browser page end to end, in Debian's chromium (playwright-core): `quint serve` (the built
// CLI), the bundled MNIST model quantized in a worker on kernels-wasm, the downloaded int8 ONNX
// compared with what `quint quantize` writes for the same inputs and options, bad files shown as
// the CLI's one-line errors, and screenshots at 1280×800 and 400 px wide in out/.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeModel, encodeModel, loadModel, quantizeModel, saveModel, type QConfigPreset } from '@quint/onnx';
import type { Engine } from '@quint/qtensor';
import { isQuantError, npyToTensor, writeNpy } from '@quint/tensor';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const cli = join(repo, 'apps/reference/bin/quint.mjs');
const out = join(repo, 'out');
const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The model with `metadata_props` removed, re-encoded: equal bytes mean equal models apart from provenance. */
function withoutMetadata(bytes: Uint8Array): Uint8Array {
  const m = decodeModel(bytes);
  m.metadataProps = {};
  return encodeModel(m);
}

/** `quint <args>` (the built CLI) run in `cwd`: exit code, stdout and the last stderr line. */
function quint(args: string[], cwd = repo): { code: number | null; stdout: string; last: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, stdout: r.stdout, last: r.stderr.trim().split('\n').at(-1) ?? '' };
}

/** True once the CLI engineer's `quint quantize` is registered in the built CLI. */
const cliHasQuantize = (): boolean => quint(['quantize', '--help']).stdout.startsWith('Usage: quint quantize');

/**
 * What `quint quantize <model> --calib <calib> --out <out> [--qconfig Q --engine E --format F]`
 * writes, or its failure line. Until the command exists in the built CLI, the same library calls
 * in Node (loadModel → quantizeModel → saveModel with the same options), said on stderr.
 */
async function quantizeAsCli(
  model: string,
  calib: string,
  outPath: string,
  o: { qconfig?: QConfigPreset; engine?: Engine; format?: 'qdq' | 'qoperator' } = {},
  cwd = repo,
): Promise<{ bytes: Uint8Array | null; line: string }> {
  if (cliHasQuantize()) {
    const flags = Object.entries(o).flatMap(([k, v]) => [`--${k}`, String(v)]);
    const r = quint(['quantize', model, '--calib', calib, '--out', outPath, ...flags], cwd);
    return { bytes: r.code === 0 ? new Uint8Array(readFileSync(resolve(cwd, outPath))) : null, line: r.last };
  }
  process.stderr.write(
    'web-flow: the built CLI has no `quantize` yet; comparing with quantizeModel of @quint/onnx in Node\n',
  );
  try {
    const m = await loadModel(resolve(cwd, model));
    const q = await quantizeModel(m, npyToTensor(new Uint8Array(readFileSync(resolve(cwd, calib)))), {
      ...(o.qconfig ? { qconfig: o.qconfig } : {}),
      ...(o.engine ? { engine: o.engine } : {}),
      onWarning: () => {},
    });
    return { bytes: saveModel(q, o.format ? { format: o.format } : {}), line: '' };
  } catch (e) {
    if (!isQuantError(e)) throw e;
    return { bytes: null, line: `quint: ${e.code}: ${e.message.split('\n')[0]!.trim()}` };
  }
}

describe.skipIf(!existsSync(CHROMIUM))('the page of quint serve, in chromium', () => {
  let server: ChildProcess;
  let serverExit: Promise<number | null>;
  let url: string;
  let browser: Browser;
  let page: Page;
  let work: string;
  const pageErrors: string[] = [];
  /** The page scrolled back to its top, for a screenshot of what a visitor first sees. */
  const top = async (): Promise<Page> => {
    await page.evaluate(() => window.scrollTo(0, 0));
    return page;
  };

  beforeAll(async () => {
    mkdirSync(out, { recursive: true });
    work = mkdtempSync(join(tmpdir(), 'quint-web-'));
    server = spawn(process.execPath, [cli, 'serve'], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    let serverErr = '';
    server.stderr!.on('data', (c: Buffer) => (serverErr += c.toString()));
    serverExit = new Promise((ok) => server.once('exit', (code) => ok(code)));
    url = await new Promise<string>((ok, fail) => {
      let s = '';
      server.stdout!.on('data', (c: Buffer) => {
        s += c.toString();
        if (s.includes('\n')) ok(s.split('\n')[0]!);
      });
      server.once('exit', (code) =>
        fail(new Error(`quint serve exited with ${code} before printing its URL: ${serverErr.trim()}`)),
      );
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
    page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(url);
    // The page's bundled calibration digits, given to `quint quantize` as a file.
    writeFileSync(
      join(work, 'calib.npy'),
      new Uint8Array(await (await fetch(new URL('mnist/calib.npy', url))).arrayBuffer()),
    );
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    if (server && server.exitCode === null) {
      server.kill('SIGINT');
      expect(await serverExit).toBe(130);
    }
  });

  it('is served on 127.0.0.1 and cross-origin isolated', async () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(await page.evaluate(() => globalThis.crossOriginIsolated)).toBe(true);
    expect(await page.evaluate(() => typeof SharedArrayBuffer)).toBe('function');
  });

  it('has a label for every control, and the first Tab reaches the MNIST button', async () => {
    const unlabeled = await page.$$eval('input, select', (els) =>
      els.filter((e) => (e as HTMLInputElement).labels?.length === 0).map((e) => e.id),
    );
    expect(unlabeled).toEqual([]);
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('use-mnist');
    // Keyboard focus is visible (the :focus-visible outline).
    expect(await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle)).toBe('solid');
  });

  it('takes dropped files: a .npy as calibration data, anything else as the model', async () => {
    const dataTransfer = await page.evaluateHandle(async () => {
      const dt = new DataTransfer();
      for (const [path, name] of [
        ['mnist/mnist-cnn.onnx', 'dropped.onnx'],
        ['mnist/samples.npy', 'dropped.npy'],
      ] as const) {
        dt.items.add(new File([await (await fetch(path)).arrayBuffer()], name));
      }
      return dt;
    });
    await page.dispatchEvent('#drop', 'drop', { dataTransfer });
    await page
      .locator('#chosen', { hasText: 'Model: dropped.onnx (116.7 KB) · Calibration data: dropped.npy (30.8 KB)' })
      .waitFor({ timeout: 10_000 });
    expect(await page.locator('#quantize').isEnabled()).toBe(true);
    expect(await page.locator('#cli-line').textContent()).toBe(
      'Same as: pnpm -s quint quantize dropped.onnx --calib dropped.npy --out dropped.int8.onnx --qconfig qnnpack --engine qnnpack --format qdq',
    );
  });

  it('shows a non-ONNX file, an unsupported op, a quantized model and wrong .npy files as the CLI one-line errors', async () => {
    const onnx = readFileSync(join(repo, 'apps/reference/assets/mnist/mnist-cnn.onnx'));
    const calib = readFileSync(join(work, 'calib.npy'));
    // An op outside quint's table: the first Relu renamed to Gelu.
    const gelu = decodeModel(new Uint8Array(onnx));
    const relu = gelu.graph.nodes.find((n) => n.opType === 'Relu')!;
    relu.opType = 'Gelu';
    const good = { name: 'calib.npy', bytes: Buffer.from(calib) };
    const quantized = readFileSync(join(repo, 'packages/onnx/test/fixtures/qdq-u8s8.onnx'));
    const cases = [
      {
        name: 'notes.onnx',
        model: Buffer.from('these are not the weights you are looking for\n'),
        calib: good,
        code: 'BAD_ONNX',
      },
      { name: 'mnist-gelu.onnx', model: Buffer.from(encodeModel(gelu)), calib: good, code: 'UNSUPPORTED_OP' },
      { name: 'mnist-int8.onnx', model: quantized, calib: good, code: 'INVALID_ARGUMENT' },
      {
        name: 'mnist-cnn.onnx',
        model: onnx,
        calib: { name: 'digits.npy', bytes: Buffer.from('{"digits": [1, 2, 3]}') },
        code: 'BAD_NPY',
      },
      {
        name: 'mnist-cnn.onnx',
        model: onnx,
        calib: { name: 'cut.npy', bytes: Buffer.from(calib).subarray(0, 5000) },
        code: 'BAD_NPY',
      },
      {
        name: 'mnist-cnn.onnx',
        model: onnx,
        calib: {
          name: 'codes.npy',
          bytes: Buffer.from(writeNpy({ dtype: 'uint8', shape: [2, 1, 28, 28], data: new Uint8Array(2 * 784) })),
        },
        code: 'BAD_DTYPE',
      },
      {
        name: 'mnist-cnn.onnx',
        model: onnx,
        calib: {
          name: 'flat.npy',
          bytes: Buffer.from(writeNpy({ dtype: 'float32', shape: [4, 784], data: new Float32Array(4 * 784) })),
        },
        code: 'SHAPE_MISMATCH',
      },
    ];
    for (const c of cases) {
      writeFileSync(join(work, c.name), c.model);
      writeFileSync(join(work, c.calib.name), c.calib.bytes);
      await page.setInputFiles('#model-file', join(work, c.name));
      await page.setInputFiles('#calib-file', join(work, c.calib.name));
      await page.click('#quantize');
      const error = page.locator('#error');
      await error.waitFor({ state: 'visible', timeout: 60_000 });
      const line = (await error.textContent())!;
      expect(line).toMatch(new RegExp(`^quint: ${c.code}: `));
      // The CLI run from the same folder with the same file names prints the very same line.
      const cliRun = await quantizeAsCli(c.name, c.calib.name, 'never.onnx', {}, work);
      expect(cliRun.bytes).toBeNull();
      expect(line).toBe(cliRun.line);
      if (c.code === 'BAD_ONNX') await (await top()).screenshot({ path: join(out, 'web-error-1280x800.png') });
    }
  });

  it('quantizes the bundled MNIST model in a worker with progress, runs a digit, and downloads what quint quantize writes', async () => {
    // Keyboard only: focus the button and press Enter.
    await page.focus('#use-mnist');
    await page.keyboard.press('Enter');
    // Progress shows while the worker calibrates, and the page keeps answering.
    await page.locator('#progress-text', { hasText: /calibrating: batch \d+ of 200/ }).waitFor({ timeout: 60_000 });
    // The page's thread stays free while the worker calibrates: animation frames keep coming.
    const frames = await page.evaluate(
      () =>
        new Promise<number>((done) => {
          let n = 0;
          const t0 = performance.now();
          const tick = (): void => {
            n++;
            if (performance.now() - t0 < 500) requestAnimationFrame(tick);
            else done(n);
          };
          requestAnimationFrame(tick);
        }),
    );
    expect(frames).toBeGreaterThanOrEqual(5);
    await page.locator('#results').waitFor({ state: 'visible', timeout: 300_000 });
    expect(await page.locator('#error').isHidden()).toBe(true);
    await page.locator('#run-output table').waitFor({ timeout: 60_000 });
    const summary = (await page.locator('#summary').textContent())!;
    expect(summary).toContain('quint.engine = qnnpack');
    // The page is cross-origin isolated, so its worker runs kernels-wasm on worker threads (up to 4).
    const cores = await page.evaluate(() => navigator.hardwareConcurrency);
    const lanes = Math.max(1, Math.min(4, cores));
    expect(summary).toContain(`kernels-wasm (${lanes} thread${lanes === 1 ? '' : 's'}) + kernels-js`);
    // The report: buildReport's page in a frame, every chart drawn, describing the downloaded model.
    const frame = (await (await page.locator('#report iframe').elementHandle())!.contentFrame())!;
    expect(frame).not.toBeNull();
    await frame.waitForFunction(
      () => (window as unknown as { quintReport?: unknown }).quintReport !== undefined,
      undefined,
      { timeout: 60_000 },
    );
    const drawn = await frame.evaluate(
      () => (window as unknown as { quintReport: { charts: number; expected: number } }).quintReport,
    );
    expect(drawn.charts).toBe(drawn.expected);
    expect(drawn.charts).toBeGreaterThan(2);
    const reportText = (await frame.locator('body').textContent())!;
    expect(reportText).toContain("getDefaultQConfigMapping('qnnpack')");
    expect(reportText).toContain('it exports to the same ONNX as the downloaded file');
    const verdict = (await page.locator('#run-output .verdict').textContent())!;
    expect(verdict).toMatch(/^argmax: float 0, int8 0 \(same\)$/);
    await (await top()).screenshot({ path: join(out, 'web-1280x800.png') });
    await page.screenshot({ path: join(out, 'web-1280x800-full.png'), fullPage: true });
    await page.locator('#report iframe').scrollIntoViewIfNeeded();
    await frame.evaluate(() => document.getElementById('sqnr')?.scrollIntoView());
    // The sandboxed frame paints in its own renderer process: give it two frames and a moment.
    await frame.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    await page.waitForTimeout(1000);
    await page.screenshot({ path: join(out, 'web-report-1280x800.png') });
    // Another digit.
    await page.fill('#sample', '7');
    await page.click('#run-button');
    await page.locator('#run-output .verdict', { hasText: /^argmax: float 7, int8 7/ }).waitFor({ timeout: 60_000 });

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    expect(download.suggestedFilename()).toBe('mnist-cnn.int8.onnx');
    const fromPage = readFileSync((await download.path())!);
    const pageModel = decodeModel(fromPage);
    expect(pageModel.metadataProps).toMatchObject({
      'quint.engine': 'qnnpack',
      'quint.qconfig': '{"preset":"qnnpack"}',
      'quint.calibrationSamples': '200',
    });

    const cli = await quantizeAsCli(
      join(repo, 'apps/reference/assets/mnist/mnist-cnn.onnx'),
      join(work, 'calib.npy'),
      join(work, 'cli.int8.onnx'),
    );
    expect(cli.bytes, cli.line).not.toBeNull();
    expect(Buffer.from(withoutMetadata(fromPage)).equals(Buffer.from(withoutMetadata(cli.bytes!)))).toBe(true);
  });

  it('quantizes again with other options (x86, ort, QOperator), equal to quint quantize with those flags', async () => {
    await page.selectOption('#qconfig', 'x86');
    await page.selectOption('#engine', 'ort');
    await page.selectOption('#format', 'qoperator');
    expect(await page.locator('#cli-line').textContent()).toContain('--qconfig x86 --engine ort --format qoperator');
    await page.click('#quantize');
    await page.locator('#progress-text', { hasText: /^done in/ }).waitFor({ timeout: 300_000 });
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    const fromPage = readFileSync((await download.path())!);
    expect(decodeModel(fromPage).graph.nodes.some((n) => n.opType === 'QLinearConv')).toBe(true);
    const cli = await quantizeAsCli(
      join(repo, 'apps/reference/assets/mnist/mnist-cnn.onnx'),
      join(work, 'calib.npy'),
      join(work, 'cli-x86.int8.onnx'),
      { qconfig: 'x86', engine: 'ort', format: 'qoperator' },
    );
    expect(cli.bytes, cli.line).not.toBeNull();
    expect(Buffer.from(withoutMetadata(fromPage)).equals(Buffer.from(withoutMetadata(cli.bytes!)))).toBe(true);
  });

  it('reads at 400 px wide without horizontal scrolling', async () => {
    await page.setViewportSize({ width: 400, height: 800 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(400);
    await page.screenshot({ path: join(out, 'web-400-narrow.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  });
});
