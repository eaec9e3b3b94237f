/**
 * A static HTTP server for the demo, the e2e tests and the benchmarks.
 *
 * - Cross-origin isolation headers on every response (COOP/COEP/CORP), so `crossOriginIsolated`
 *   is true and ORT's threaded WASM works.
 * - ETag + `If-None-Match` → 304 (the repository source polls manifests conditionally) and
 *   single-range `Range` requests (the artifact store resumes downloads).
 * - A request log (count and body bytes per path) and fault injection per path prefix, driven
 *   over HTTP so tests in another process can use them:
 *     GET  /__control/log            → { "<path>": { requests, bytes, ranges, rangeStarts } }
 *     POST /__control/reset          → clears log and faults
 *     POST /__control/faults         → body: [{ prefix, cutAfterBytes?, times?, corrupt?, ignoreRange?,
 *                                              delayMs?, status?, offline?, bytesPerSecond? }] (replaces the list)
 *
 * Usage: node scripts/serve.mjs [--port 4173] [--root dir] ; or import { startServer }.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

const ISOLATION = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  // browserving.sw.js is served from /dist/ and controls the whole origin (scope '/').
  'Service-Worker-Allowed': '/',
};

const repo = fileURLToPath(new URL('..', import.meta.url));

/** The default mounts: URL prefix → directory. Longest prefix wins. */
export function defaultMounts() {
  return {
    '/dist/': join(repo, process.env.BROWSERVING_DIST ?? 'dist'),
    '/e2e/': join(repo, 'e2e', 'pages'),
    '/models/': join(repo, 'public', 'models'),
    '/repos/': join(repo, 'e2e', '.repos'),
    '/bench/': join(repo, 'bench', 'pages'),
    '/': join(repo, 'dist-demo'),
  };
}

/**
 * Starts the server; resolves to `{ url, port, close() }`.
 * @param {{ port?: number, host?: string, mounts?: Record<string, string> }} options
 */
export function startServer({ port = 0, host = '127.0.0.1', mounts = defaultMounts() } = {}) {
  const prefixes = Object.keys(mounts).sort((a, b) => b.length - a.length);
  let log = {};
  let faults = [];

  const entry = (path) => (log[path] ??= { requests: 0, bytes: 0, ranges: 0, rangeStarts: [] });

  async function control(req, res, path) {
    if (path === '/__control/log') return json(res, log);
    if (path === '/__control/reset' && req.method === 'POST') {
      log = {};
      faults = [];
      return json(res, { ok: true });
    }
    if (path === '/__control/faults' && req.method === 'POST') {
      let body = '';
      for await (const chunk of req) body += chunk;
      const parsed = JSON.parse(body || '[]');
      faults = (Array.isArray(parsed) ? parsed : [parsed]).map((f) => ({ ...f, used: 0 }));
      return json(res, { ok: true, faults: faults.length });
    }
    res.writeHead(404).end();
  }

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = decodeURIComponent(url.pathname);
    if (path.startsWith('/__control/')) return control(req, res, path);

    const fault = faults.find((f) => path.startsWith(f.prefix) && (f.times === undefined || f.used < f.times));
    if (fault) fault.used++;
    if (fault?.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
    if (fault?.offline) {
      entry(path).refused = (entry(path).refused ?? 0) + 1;
      return req.socket.destroy();
    }
    if (fault?.status) return res.writeHead(fault.status, ISOLATION).end(`injected ${fault.status}`);

    const file = resolveFile(mounts, prefixes, path);
    if (!file) return res.writeHead(404, { ...ISOLATION, 'Content-Type': 'text/plain' }).end(`not found: ${path}`);
    const stat = statSync(file);
    const etag = `"${createHash('sha1').update(`${stat.size}:${stat.mtimeMs}:${fault?.corrupt ? 'c' : ''}`).digest('hex').slice(0, 16)}"`;
    const headers = {
      ...ISOLATION,
      'Content-Type': MIME[extname(file)] ?? 'application/octet-stream',
      'Cache-Control': 'no-cache',
      'Accept-Ranges': fault?.ignoreRange ? 'none' : 'bytes',
      ETag: etag,
    };
    const record = entry(path);
    record.requests++;
    if (req.headers['if-none-match'] === etag) return res.writeHead(304, headers).end();

    let start = 0;
    let end = stat.size - 1;
    let status = 200;
    const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
    if (range && !fault?.ignoreRange) {
      start = range[1] === '' ? Math.max(0, stat.size - Number(range[2])) : Number(range[1]);
      end = range[1] !== '' && range[2] !== '' ? Math.min(Number(range[2]), stat.size - 1) : stat.size - 1;
      if (start > end || start >= stat.size) {
        return res.writeHead(416, { ...headers, 'Content-Range': `bytes */${stat.size}` }).end();
      }
      status = 206;
      record.ranges++;
      record.rangeStarts.push(start);
      headers['Content-Range'] = `bytes ${start}-${end}/${stat.size}`;
    }
    headers['Content-Length'] = String(end - start + 1);
    res.writeHead(status, headers);
    if (req.method === 'HEAD') return res.end();

    let sent = 0;
    const cutAfter = fault?.cutAfterBytes;
    const throttle = fault?.bytesPerSecond;
    const stream = createReadStream(file, { start, end, ...(throttle ? { highWaterMark: 16 * 1024 } : {}) });
    stream.on('data', (chunk) => {
      let piece = chunk;
      if (fault?.corrupt && sent === 0 && piece.length > 0) {
        piece = Buffer.from(piece);
        piece[0] ^= 0xff;
      }
      if (cutAfter !== undefined && sent + piece.length > cutAfter) {
        const rest = piece.subarray(0, cutAfter - sent);
        sent += rest.length;
        record.bytes += rest.length;
        stream.destroy();
        // Flush what fits, then drop the connection mid-body, as a network failure would. The pause
        // lets the page read what was sent first: bytes still unread when the connection drops are
        // lost to it (a reset may discard them, an errored stream drops its queue), and the log
        // would count bytes the page never got.
        res.write(rest, () => setTimeout(() => req.socket.destroy(), 1000));
        return;
      }
      sent += piece.length;
      record.bytes += piece.length;
      if (throttle) {
        // A slow network: each piece takes its share of a second at the given rate.
        stream.pause();
        res.write(piece, () => setTimeout(() => stream.resume(), (piece.length / throttle) * 1000));
        return;
      }
      if (!res.write(piece)) {
        stream.pause();
        res.once('drain', () => stream.resume());
      }
    });
    stream.on('end', () => res.end());
    stream.on('error', () => req.socket.destroy());
  });

  return new Promise((resolveStart, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const address = server.address();
      const actualPort = typeof address === 'object' && address ? address.port : port;
      resolveStart({
        port: actualPort,
        url: `http://${host}:${actualPort}`,
        close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
      });
    });
  });
}

function resolveFile(mounts, prefixes, path) {
  const prefix = prefixes.find((p) => path.startsWith(p));
  if (prefix === undefined) return undefined;
  const base = resolve(mounts[prefix]);
  let file = normalize(join(base, path.slice(prefix.length)));
  if (!file.startsWith(base)) return undefined;
  if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
  return existsSync(file) && statSync(file).isFile() ? file : undefined;
}

function json(res, value) {
  res.writeHead(200, { ...ISOLATION, 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }).end(JSON.stringify(value));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const args = process.argv.slice(2);
  const value = (name) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const port = Number(value('--port') ?? process.env.PORT ?? 4173);
  const rootDir = value('--root');
  const mounts = rootDir ? { ...defaultMounts(), '/': resolve(rootDir) } : defaultMounts();
  const { url } = await startServer({ port, host: value('--host') ?? '127.0.0.1', mounts });
  console.log(`[browserving] serving on ${url}/ (COOP/COEP set; crossOriginIsolated pages)`);
}
