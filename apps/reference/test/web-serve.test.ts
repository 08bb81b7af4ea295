// `quint serve`: the static server (headers, MIME types, nothing outside its folder, 127.0.0.1
// only) and the command (URL on stdout, USAGE for a bad port, exit 130 on SIGINT).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../src/serve/server.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const cli = join(repo, 'apps/reference/bin/quint.mjs');

/** A raw GET/HEAD (fetch would normalize `..` away). */
function get(
  url: string,
  path: string,
  method = 'GET',
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  const u = new URL(url);
  return new Promise((ok, fail) => {
    const req = request({ host: u.hostname, port: u.port, path, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => ok({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', fail);
    req.end();
  });
}

describe('startServer', () => {
  let root: string;
  let server: RunningServer;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'quint-serve-'));
    root = join(dir, 'web');
    mkdirSync(join(root, 'assets'), { recursive: true });
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>t</title>');
    writeFileSync(join(root, 'assets', 'k.wasm'), new Uint8Array([0, 97, 115, 109]));
    writeFileSync(join(root, 'assets', 'a.js'), 'export {};');
    writeFileSync(join(dir, 'secret.txt'), 'outside the root');
    server = await startServer({ root, port: 0 });
  });
  afterAll(() => server.close());

  it('listens on 127.0.0.1 and serves index.html at / with the cross-origin isolation headers', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const r = await get(server.url, '/');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.headers['cross-origin-opener-policy']).toBe('same-origin');
    expect(r.headers['cross-origin-embedder-policy']).toBe('require-corp');
    expect(r.body.toString()).toContain('<title>t</title>');
  });

  it('serves wasm as application/wasm and scripts as JavaScript; HEAD has no body', async () => {
    const w = await get(server.url, '/assets/k.wasm');
    expect([w.status, w.headers['content-type'], w.body.length]).toEqual([200, 'application/wasm', 4]);
    expect((await get(server.url, '/assets/a.js')).headers['content-type']).toBe('text/javascript; charset=utf-8');
    const h = await get(server.url, '/assets/k.wasm', 'HEAD');
    expect([h.status, h.headers['content-length'], h.body.length]).toEqual([200, '4', 0]);
  });

  it('never serves outside its folder, and answers 404/405 with the same headers', async () => {
    for (const p of [
      '/../secret.txt',
      '/..%2fsecret.txt',
      '/assets/..%2f..%2fsecret.txt',
      '/%2e%2e/secret.txt',
      '/missing.js',
      '/assets/',
    ]) {
      const r = await get(server.url, p);
      expect(r.status, p).toBe(404);
      expect(r.body.toString()).not.toContain('outside the root');
      expect(r.headers['cross-origin-embedder-policy']).toBe('require-corp');
    }
    expect((await get(server.url, '/', 'POST')).status).toBe(405);
  });

  it('refuses a port outside 0..65535 and a port in use', async () => {
    await expect(startServer({ root, port: 70000 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(startServer({ root, port: server.port })).rejects.toMatchObject({ code: 'IO_ERROR' });
  });
});

describe('quint serve (the built CLI)', () => {
  function serve(args: string[]): {
    child: ChildProcess;
    url: Promise<string>;
    exit: Promise<{ code: number | null; stderr: string }>;
  } {
    const child = spawn(process.execPath, [cli, 'serve', ...args], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    const url = new Promise<string>((ok, fail) => {
      child.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('\n')) ok(out.split('\n')[0]!);
      });
      child.once('exit', () => fail(new Error(`quint serve exited before printing a URL: ${err}`)));
    });
    url.catch(() => {}); // awaited where a URL is expected; a failing command has none
    const exit = new Promise<{ code: number | null; stderr: string }>((ok) =>
      child.once('exit', (code) => ok({ code, stderr: err })),
    );
    return { child, url, exit };
  }

  it('is built', () => {
    expect(existsSync(join(repo, 'apps/reference/dist/web/index.html')), 'run npx -y pnpm@10.34.9 run build').toBe(
      true,
    );
  });

  it('prints only the URL on stdout, serves the page, and exits 130 on SIGINT', async () => {
    const s = serve([]);
    const url = await s.url;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const r = await get(url, '/');
    expect(r.status).toBe(200);
    expect(r.body.toString()).toContain('<label for="model-file">');
    s.child.kill('SIGINT');
    const { code, stderr } = await s.exit;
    expect(code).toBe(130);
    expect(stderr.trim().split('\n').at(-1)).toMatch(/^quint: INTERRUPTED: /);
    await expect(get(url, '/')).rejects.toThrow();
  });

  it('--port N binds that port; a bad --port is a USAGE error with exit 2', async () => {
    const probe = await startServer({ root: join(repo, 'apps/reference/dist/web'), port: 0 });
    const port = probe.port;
    await probe.close();
    const s = serve(['--port', String(port)]);
    expect(await s.url).toBe(`http://127.0.0.1:${port}/`);
    s.child.kill('SIGINT');
    expect((await s.exit).code).toBe(130);
    const bad = serve(['--port', 'eighty']);
    const { code, stderr } = await bad.exit;
    expect(code).toBe(2);
    expect(stderr.trim().split('\n').at(-1)).toMatch(/^quint: USAGE: .*'eighty' is not a port in 0\.\.65535/);
  });
});
