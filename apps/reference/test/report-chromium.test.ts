// The report in a real browser (Debian's chromium via playwright-core): the demo model's report is
// generated with the same code as `quint report`, opened from file://, and every chart must have
// drawn, with no console error and no network request. Skipped (and counted) where
// /usr/bin/chromium is absent.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReport, type ReportData } from '../src/report/build-report.js';
import { mnistReport } from '../src/report/report-command.js';

const CHROMIUM = '/usr/bin/chromium';
const outDir = fileURLToPath(new URL('../../../out/', import.meta.url));

describe.skipIf(!existsSync(CHROMIUM))('report in chromium', () => {
  let data: ReportData;
  let file: string;
  let browser: Browser;

  beforeAll(async () => {
    data = await mnistReport('quint test, report-chromium');
    mkdirSync(outDir, { recursive: true });
    file = `${outDir}report-chromium.html`;
    writeFileSync(file, buildReport(data));
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 240_000);
  afterAll(async () => {
    await browser?.close();
  });

  it('draws every chart from the file alone: no console errors, no network', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
    page.on('pageerror', (e) => errors.push(e.message));
    page.on(
      'request',
      (r) => void (r.url().startsWith('file:') || r.url().startsWith('data:') || requests.push(r.url())),
    );
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    await page.waitForFunction(
      () => (window as unknown as { quintReport?: unknown }).quintReport !== undefined,
      undefined,
      { timeout: 30_000 },
    );

    const state = await page.evaluate(() => {
      const w = window as unknown as {
        quintReport: { charts: number; expected: number };
        Chart: { instances: Record<string, unknown> };
      };
      // A drawn chart leaves opaque pixels on its canvas; count them per canvas.
      const painted = Array.from(document.querySelectorAll('canvas')).map((c) => {
        const ctx = c.getContext('2d')!;
        const px = ctx.getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < px.length; i += 4) if (px[i]! > 0) n++;
        return { w: c.width, h: c.height, painted: n };
      });
      return { ...w.quintReport, instances: Object.keys(w.Chart.instances).length, painted };
    });
    const expected = 2 + data.activations.length + data.weights.length;
    console.log(
      `report-chromium: ${state.charts} charts (${data.activations.length} activations, ${data.weights.length} weights, SQNR, latency), ` +
        `painted pixels per canvas min ${Math.min(...state.painted.map((p) => p.painted))}`,
    );
    expect(state.expected).toBe(expected);
    expect(state.charts).toBe(expected);
    expect(state.instances).toBe(expected);
    expect(state.painted).toHaveLength(expected);
    for (const p of state.painted) {
      expect(p.w).toBeGreaterThan(100);
      expect(p.h).toBeGreaterThan(100);
      // Axes alone are a few thousand pixels; bars and points add more.
      expect(p.painted).toBeGreaterThan(2000);
    }
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    await page.screenshot({ path: `${outDir}report-chromium.png`, fullPage: true });
    expect(existsSync(`${outDir}report-chromium.png`)).toBe(true);
    await page.close();
  });

  it('shows the figures it was given: every SQNR layer, observer and weight is named on the page', async () => {
    const page = await browser.newPage();
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    await page.waitForFunction(() => (window as unknown as { quintReport?: unknown }).quintReport !== undefined);
    const titles = await page.$$eval('.card h3', (hs) => hs.map((h) => h.textContent ?? ''));
    for (const a of data.activations) expect(titles).toContain(`output of ${a.observes.join(', ')}`);
    for (const w of data.weights) expect(titles.some((t) => t.startsWith(`${w.name} `))).toBe(true);
    const labels = await page.evaluate(() => {
      const c = (window as unknown as { Chart: { instances: Record<string, { data: { labels?: unknown[] } }> } }).Chart
        .instances;
      return Object.values(c).map((i) => (i.data.labels ?? []).map(String));
    });
    expect(labels[0]).toHaveLength(data.sqnr.length);
    expect(labels.at(-1)).toEqual(data.latency.map((l) => l.label));
    await page.close();
  });
});
