// The wasm backend in a real browser (Debian's chromium via playwright-core): a cross-origin-isolated
// page served from a local node:http server loads build/kernels.wasm from the backend's default URL
// and checks its outputs against kernels-js in the page, then a dedicated worker does the same on 2
// lanes (kernels-threads.wasm, one more worker over shared memory). Skipped (and counted) where
// /usr/bin/chromium is absent.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CHROMIUM = '/usr/bin/chromium';
const root = fileURLToPath(new URL('..', import.meta.url));

describe.skipIf(!existsSync(CHROMIUM))('browser (chromium)', () => {
  let server: Server;
  let origin = '';
  beforeAll(async () => {
    const bundle = await build({
      entryPoints: ['page', 'threads-worker'].map((n) => fileURLToPath(new URL(`./browser/${n}.ts`, import.meta.url))),
      bundle: true,
      format: 'esm',
      platform: 'browser',
      conditions: ['@quint/source'],
      outdir: 'bundle',
      write: false,
      logLevel: 'silent',
    });
    const scripts = new Map(bundle.outputFiles.map((f) => [`/bundle/${basename(f.path)}`, f.contents]));
    const html =
      '<!doctype html><meta charset="utf-8"><title>quint kernels-wasm</title><script type="module" src="/bundle/page.js"></script>';
    // The page and its worker are cross-origin isolated (COOP + COEP), so SharedArrayBuffer exists.
    const headers = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
    const wasm = new Set(['/build/kernels.wasm', '/build/kernels-threads.wasm']);
    server = createServer((req, res) => {
      void (async () => {
        // The scripts live at /bundle/, so the backend's default URLs ../build/kernels*.wasm resolve
        // to /build/, as they do from dist/ in a published package.
        const script = scripts.get(req.url ?? '');
        if (req.url === '/') res.writeHead(200, { ...headers, 'content-type': 'text/html' }).end(html);
        else if (script) res.writeHead(200, { ...headers, 'content-type': 'text/javascript' }).end(script);
        else if (wasm.has(req.url ?? '')) {
          res
            .writeHead(200, { ...headers, 'content-type': 'application/wasm' })
            .end(await readFile(`${root}${req.url!.slice(1)}`));
        } else res.writeHead(404).end();
      })();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('loads the wasm backend and matches kernels-js on linear, GEMV, conv and depthwise, on one thread and on 2 in a worker', async () => {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
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
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${origin}/`);
      await page.waitForFunction(() => (window as unknown as { __quint?: unknown }).__quint !== undefined, undefined, {
        timeout: 20_000,
      });
      const outcome = await page.evaluate(() => (window as unknown as { __quint: unknown }).__quint);
      expect(errors).toEqual([]);
      expect(outcome).toMatchObject({ simd: true, mismatches: [] });
      expect((outcome as { error?: string }).error).toBeUndefined();
      expect((outcome as { checked: number }).checked).toBeGreaterThan(1000);
      // The worker: 2 lanes (it and a worker it spawned), on operands large enough to be split.
      const threads = (outcome as { threads: { error?: string; checked: number } }).threads;
      expect(threads.error).toBeUndefined();
      expect(threads).toMatchObject({ simd: true, isolated: true, mismatches: [] });
      expect(threads.checked).toBeGreaterThan(100_000);
    } finally {
      await browser.close();
    }
  });
});
