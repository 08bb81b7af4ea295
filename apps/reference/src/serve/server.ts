// The static server behind `quint serve`: the built page (dist/web) on 127.0.0.1 only, with the
// headers that make it cross-origin isolated (COOP same-origin + COEP require-corp), so that
// SharedArrayBuffer exists and kernels-wasm can start worker threads
// (spec/toolchain-facts.md §5; https://web.dev/articles/coop-coep).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { QuantError } from '@quint/tensor';

/** Content types by file extension; anything else is served as bytes. */
export const MIME_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  // instantiateStreaming refuses any other type for wasm.
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.npy': 'application/octet-stream',
};

/** Headers on every response: cross-origin isolation, and no caching of a page that is rebuilt. */
export const ISOLATION_HEADERS: Readonly<Record<string, string>> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-cache',
};

/**
 * The built page's folder, `apps/reference/dist/web`: next to the bundled CLI (`dist/cli.js`), or
 * found from `src/serve/` when running from sources (tests).
 *
 * @throws `NOT_BUILT` when `index.html` is not there.
 */
export function webRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const up of ['web', '../../dist/web', '../dist/web']) {
    const dir = resolve(here, up);
    if (existsSync(join(dir, 'index.html'))) return dir;
  }
  throw new QuantError(
    'NOT_BUILT',
    `the browser page is not built (no dist/web/index.html near ${here}); run npx -y pnpm@10.34.9 run build`,
  );
}

/** Options of {@link startServer}. */
export interface StartServerOptions {
  /** The folder to serve (default {@link webRoot}). */
  readonly root?: string;
  /** TCP port on 127.0.0.1; 0 (default) lets the system pick a free one. */
  readonly port?: number;
}

/** A running server: its URL and how to stop it. */
export interface RunningServer {
  /** `http://127.0.0.1:<port>/`. */
  readonly url: string;
  readonly port: number;
  /** Stops listening and closes open connections. */
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: string | Uint8Array, type: string, head: boolean): void {
  res.writeHead(status, {
    ...ISOLATION_HEADERS,
    'Content-Type': type,
    'Content-Length': String(typeof body === 'string' ? Buffer.byteLength(body) : body.length),
  });
  res.end(head ? undefined : body);
}

function handler(root: string) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const head = req.method === 'HEAD';
    if (req.method !== 'GET' && !head) {
      res.setHeader('Allow', 'GET, HEAD');
      send(res, 405, 'method not allowed\n', MIME_TYPES['.txt']!, false);
      return;
    }
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    } catch {
      send(res, 400, 'bad request\n', MIME_TYPES['.txt']!, head);
      return;
    }
    if (pathname.endsWith('/')) pathname += 'index.html';
    const file = resolve(root, `.${pathname}`);
    // Only files inside the root: `..` and encoded separators cannot climb out of it.
    if (!file.startsWith(root + sep) || pathname.includes('\0')) {
      send(res, 404, 'not found\n', MIME_TYPES['.txt']!, head);
      return;
    }
    let body: Buffer;
    try {
      if (!statSync(file).isFile()) throw new Error('not a file');
      body = readFileSync(file);
    } catch {
      send(res, 404, 'not found\n', MIME_TYPES['.txt']!, head);
      return;
    }
    send(res, 200, body, MIME_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream', head);
  };
}

/**
 * Serves a folder on 127.0.0.1 (never another interface) with COOP/COEP headers and the MIME types
 * of {@link MIME_TYPES}; GET and HEAD only, nothing outside the folder.
 *
 * @throws `INVALID_ARGUMENT` for a port outside 0..65535; `IO_ERROR` when the port cannot be bound.
 * @example
 * const server = await startServer({ port: 0 });
 * console.log(server.url); // http://127.0.0.1:41234/
 * await server.close();
 */
export async function startServer(options: StartServerOptions = {}): Promise<RunningServer> {
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new QuantError('INVALID_ARGUMENT', `port ${port} is not an integer in 0..65535; pass 0 to pick a free one.`);
  }
  const root = resolve(options.root ?? webRoot());
  const server: Server = createServer(handler(root));
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      fail(
        new QuantError(
          'IO_ERROR',
          `cannot listen on 127.0.0.1:${port} (${e.code ?? e.message}); choose another --port, or 0 for a free one.`,
          { cause: e },
        ),
      ),
    );
    server.listen(port, '127.0.0.1', () => ok());
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${bound}/`,
    port: bound,
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        for (const s of sockets) s.destroy();
      }),
  };
}
