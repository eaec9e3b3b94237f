/**
 * A stand-in for a remote TF Serving / KServe cluster, for the tests of `placement: 'remote'`:
 * real ONNX models run by onnxruntime-web in Node (WASM backend), behind TF Serving's REST API
 * and KServe's v2 protocol as the library's own request handler speaks them (the routes and
 * bodies of PROTOCOLS.md: status, metadata, `:predict`, `/v2/models/…`, `/infer` with the binary
 * tensor extension), from another origin.
 *
 * - CORS on every answer (preflight included; `Inference-Header-Content-Length` exposed) and
 *   `Cross-Origin-Resource-Policy: cross-origin`, so a cross-origin isolated (COEP) page may call it.
 * - Fault injection: `setFault({ kind, times?, delayMs?, status?, prefix? })` — `down` (the
 *   connection is destroyed: a network error), `slow` (answers after `delayMs`), `status` (answers
 *   `status` with `{"error"}`), `malformed` (200 with a body cut mid-JSON), `redirect` (307 to `location`, another origin); `times` limits how
 *   many requests it hits (not for `down`: an HTTP client retries a GET whose kept-alive connection drops), `prefix` which paths (default: every model route). `clearFault()`.
 * - A log of what was asked: `requests` (method + path, and a POST's content type), `predictions` per model, and the
 *   `Authorization` / `Cookie` headers seen (to check they are sent only when configured).
 *
 * Usage: `const server = await startRemoteServer({ models: { mlp: 'public/models/mlp' } })` →
 * `{ url, port, setFault, clearFault, log, resetLog, reference, close }`; or `node scripts/remote-server.mjs
 * --port 8501 --model mlp=public/models/mlp` (both use dist/index.js: `npm run build` first).
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const repo = new URL('..', import.meta.url);

/**
 * @param {{ port?: number, host?: string, models: Record<string, string>, versions?: Record<string, number[]>, library?: { createRequestHandler: Function, ServingError: any } }} options
 *   `models`: name → a model repository folder holding `<version>/model.onnx`; `versions`: which to serve (default all);
 *   `library`: where the request handler comes from — the built dist/index.js by default; Vitest passes the sources.
 */
export async function startRemoteServer({ port = 0, host = '127.0.0.1', models, versions = {}, library }) {
  const { createRequestHandler, ServingError } = library ?? (await import(new URL('dist/index.js', repo).href));
  const ort = await import('onnxruntime-web');
  ort.env.wasm.numThreads = 1;
  /** @type {Map<string, Map<number, { session: any, signature: any }>>} */
  const loaded = new Map();
  for (const [name, dir] of Object.entries(models)) {
    const found = readdirSync(dir).filter((d) => /^\d+$/.test(d) && existsSync(join(dir, d, 'model.onnx'))).map(Number);
    const serve = versions[name] ?? found;
    const byVersion = new Map();
    for (const version of serve) {
      const session = await ort.InferenceSession.create(readFileSync(join(dir, String(version), 'model.onnx')), { executionProviders: ['wasm'] });
      // ORT reports an unknown dimension as 2^32 - 1.
      const spec = (m) => ({ name: m.name, type: m.type, shape: m.shape.map((d) => (typeof d === 'number' && d >= 0 && d < 2 ** 31 ? d : typeof d === 'string' ? d : null)) });
      byVersion.set(version, { session, signature: { inputs: session.inputMetadata.map(spec), outputs: session.outputMetadata.map(spec) } });
    }
    loaded.set(name, byVersion);
  }

  const notFound = (message, details) => new ServingError('NOT_FOUND', message, details);
  const versionOf = (model, selector = {}) => {
    const byVersion = loaded.get(model);
    if (!byVersion) throw notFound(`Servable not found for request: Latest(${model})`, { model });
    const version = selector.version ?? Math.max(...byVersion.keys());
    const entry = byVersion.get(version);
    if (!entry) throw notFound(`Servable not found for request: Specific(${model}, ${version})`, { model, version });
    return { version, ...entry };
  };

  /** The part of a Serving the request handler needs, over ORT in Node. */
  const serving = {
    async status(model) {
      if (!loaded.has(model)) throw notFound(`Could not find any versions of model ${model}`, { model });
      const list = [...loaded.get(model).keys()].sort((a, b) => b - a);
      return { model, versions: list.map((version) => ({ version, state: 'AVAILABLE', labels: [], updatedAt: Date.now() })), labels: {} };
    },
    async metadata(model, selector) {
      const { version, signature } = versionOf(model, selector);
      return { model, version, platform: 'onnx', apis: ['predict'], labels: [], signature };
    },
    async predict({ model, version: asked, inputs, outputs }) {
      const { version, session, signature } = versionOf(model, asked === undefined ? {} : { version: asked });
      const feeds = {};
      for (const [name, tensor] of Object.entries(inputs)) {
        const spec = signature.inputs.find((s) => s.name === name);
        if (!spec) throw new ServingError('INVALID_ARGUMENT', `input "${name}" is not in the signature (inputs: ${signature.inputs.map((s) => s.name).join(', ')})`, { model, version, input: name });
        if (spec.type !== tensor.type) throw new ServingError('INVALID_ARGUMENT', `input "${name}" must be ${spec.type}, got ${tensor.type}`, { model, version, input: name });
        if (spec.shape.length !== tensor.dims.length || spec.shape.some((d, i) => typeof d === 'number' && d !== tensor.dims[i])) {
          throw new ServingError('INVALID_ARGUMENT', `input "${name}" must have shape [${spec.shape.join(', ')}], got [${tensor.dims.join(', ')}]`, { model, version, input: name });
        }
        feeds[name] = new ort.Tensor(tensor.type, tensor.data, tensor.dims);
      }
      const missing = signature.inputs.filter((s) => !(s.name in feeds)).map((s) => s.name);
      if (missing.length) throw new ServingError('INVALID_ARGUMENT', `missing inputs: ${missing.join(', ')}`, { model, version, input: missing[0] });
      const result = await session.run(feeds);
      const names = outputs ?? Object.keys(result);
      stats.predictions[model] = (stats.predictions[model] ?? 0) + 1;
      return { model, version, outputs: Object.fromEntries(names.map((n) => [n, { type: result[n].type, dims: [...result[n].dims], data: result[n].data }])) };
    },
    async metrics() {
      return { models: Object.fromEntries([...loaded.keys()].map((m) => [m, { requests: 0, errors: {}, runs: 0, latency: { count: 0, meanMs: 0, p50Ms: 0, p99Ms: 0 } }])), runtime: { crossOriginIsolated: false, hardwareConcurrency: 1 } };
    },
  };
  const handle = createRequestHandler(serving, { server: { name: 'browserving-remote-test-server', version: '1' } });

  let fault;
  let stats;
  const resetLog = () => (stats = { requests: [], predictions: {}, authorization: [], cookie: [] });
  resetLog();

  const cors = (req) => ({
    'Access-Control-Allow-Origin': req.headers.origin ?? '*',
    ...(req.headers.origin ? { 'Access-Control-Allow-Credentials': 'true', Vary: 'Origin' } : {}),
    'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
    'Access-Control-Allow-Headers': req.headers['access-control-request-headers'] ?? 'Content-Type',
    'Access-Control-Expose-Headers': 'Inference-Header-Content-Length',
    'Cross-Origin-Resource-Policy': 'cross-origin',
  });

  const server = createServer((req, res) => {
    // A client that gave up (its timeout, a test's deadline) aborts the request mid-way: nothing to answer then.
    answer(req, res).catch((error) => {
      if (!res.headersSent && !res.destroyed) res.writeHead(500, { ...cors(req), 'Content-Type': 'application/json' }).end(JSON.stringify({ error: `test server: ${error.message}` }));
    });
  });

  async function answer(req, res) {
    const path = new URL(req.url, 'http://x').pathname;
    if (req.method === 'OPTIONS') {
      res.writeHead(204, cors(req)).end();
      return;
    }
    stats.requests.push(req.method === 'POST' ? `POST ${path} ${req.headers['content-type'] ?? ''}` : `${req.method} ${path}`);
    if (req.headers.authorization) stats.authorization.push(req.headers.authorization);
    if (req.headers.cookie) stats.cookie.push(req.headers.cookie);
    const active = fault && (fault.times === undefined || fault.times > 0) && path.startsWith(fault.prefix ?? '/v') ? fault : undefined;
    if (active && active.times !== undefined) active.times -= 1;
    if (active?.kind === 'down') {
      req.socket.destroy();
      return;
    }
    if (active?.kind === 'slow') await new Promise((resolve) => setTimeout(resolve, active.delayMs ?? 5000));
    if (active?.kind === 'status') {
      res.writeHead(active.status ?? 500, { ...cors(req), 'Content-Type': 'application/json' }).end(JSON.stringify({ error: active.message ?? `injected fault: HTTP ${active.status ?? 500}` }));
      return;
    }
    if (active?.kind === 'redirect') {
      res.writeHead(307, { ...cors(req), Location: `${active.location}${req.url}` }).end();
      return;
    }
    if (active?.kind === 'malformed') {
      res.writeHead(200, { ...cors(req), 'Content-Type': 'application/json' }).end('{"outputs": [[0.5, ');
      return;
    }
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const body = chunks.length ? Buffer.concat(chunks) : undefined;
    const request = new Request(`http://${req.headers.host}${req.url}`, { method: req.method, headers: req.headers, ...(body && req.method !== 'GET' ? { body } : {}) });
    const response = (await handle(request)) ?? new Response(JSON.stringify({ error: `no such path: ${path}` }), { status: 404, headers: { 'Content-Type': 'application/json' } });
    const headers = { ...cors(req), ...Object.fromEntries(response.headers) };
    const bytes = Buffer.from(await response.arrayBuffer());
    if (res.destroyed) return;
    res.writeHead(response.status, headers).end(bytes);
  }
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const address = server.address();
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    /** @param {{ kind: 'down' | 'slow' | 'status' | 'malformed' | 'redirect', times?: number, delayMs?: number, status?: number, message?: string, location?: string, prefix?: string }} f */
    setFault(f) {
      fault = { ...f };
    },
    clearFault() {
      fault = undefined;
    },
    get log() {
      return stats;
    },
    resetLog,
    /** Runs a model's session directly (no HTTP, no codec): the reference answer for a test. */
    async reference(model, version, inputs) {
      const { session } = versionOf(model, { version });
      const result = await session.run(Object.fromEntries(Object.entries(inputs).map(([name, t]) => [name, new ort.Tensor(t.type, t.data, t.dims)])));
      return Object.fromEntries(Object.entries(result).map(([name, t]) => [name, { type: t.type, dims: [...t.dims], data: t.data }]));
    },
    close() {
      server.closeAllConnections?.();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const port = Number(args[args.indexOf('--port') + 1] || 8501);
  const models = {};
  args.forEach((arg, i) => {
    if (arg !== '--model') return;
    const [name, dir] = args[i + 1].split('=');
    models[name] = dir;
  });
  const server = await startRemoteServer({ port, models });
  console.log(`remote test server (TF Serving REST + KServe v2) at ${server.url}`);
}
