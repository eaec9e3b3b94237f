/**
 * browserving's Service Worker: the serving runtime's HTTP front door at the page's origin, and
 * the runtime's offline cache. It hosts no model (a Service Worker cannot start workers, and the
 * browser stops it when idle): it forwards requests for the serving routes to a page that serves
 * them, and precaches the runtime's files.
 *
 * Routes: `/v1/…` (any case), `/v2`, `/v2/…`, `/monitoring/prometheus/metrics` below the scope.
 * Sequence of a forwarded request:
 *   page  → SW   { type: 'browserving:serve' } with a MessagePort (serveHttp() sends it at once,
 *                and again whenever the SW asks: a SW restarted after idling has lost its ports)
 *   fetch → SW   a request for a route: the SW posts { id, method, url, headers, body } on the
 *                port of the most recent serving page → page: serving.handle(request) →
 *                { id, status, headers, body } → the SW responds with it.
 *   No page serves (or none answers in 10 s): 503 {"error": …}.
 * Cache: on install, the runtime's scripts (the library module, the worker scripts, the ORT
 * chunks) go into `browserving-runtime-<build>`, and the .wasm a page's runners use once it says
 * which (`browserving:cache-runtime`: 14 or 28 MB, not both for nothing); on activate, caches of other
 * builds are deleted — a new library build replaces the old runtime, never mixes with it (it waits,
 * as Service Workers do, until no page uses the old one). Runtime files, documents and same-origin
 * scripts, styles and workers are served network first, the cache refreshed by each answer, so
 * online nothing is stale and a page loaded once starts again offline. Model files are the artifact
 * store's business (IndexedDB), never this cache's.
 */
declare const __BROWSERVING_PRECACHE__: { readonly build: string; readonly files: readonly string[] };

interface SWScope {
  readonly registration: { readonly scope: string };
  readonly location: { readonly href: string };
  readonly clients: {
    claim(): Promise<void>;
    matchAll(options: { includeUncontrolled: boolean; type: 'window' }): Promise<readonly { postMessage(message: unknown): void }[]>;
  };
  skipWaiting(): Promise<void>;
  addEventListener(type: string, listener: (event: never) => void): void;
}

interface FetchEventLike {
  readonly request: Request;
  respondWith(response: Promise<Response>): void;
}

interface ExtendableEventLike {
  waitUntil(work: Promise<unknown>): void;
}

const sw = self as unknown as SWScope;
const PRECACHE = __BROWSERVING_PRECACHE__;
const RUNTIME_CACHE = `browserving-runtime-${PRECACHE.build}`;
const PAGES_CACHE = 'browserving-pages';
const FORWARD_TIMEOUT_MS = 10_000;
const RUNTIME_URLS = new Set(PRECACHE.files.map((file) => new URL(file, sw.location.href).href));

let servers: MessagePort[] = [];
let nextId = 1;
const pending = new Map<number, (reply: Reply) => void>();

interface Reply {
  readonly id: number;
  readonly status: number;
  readonly headers: readonly [string, string][];
  readonly body: ArrayBuffer | null;
}

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

// The .wasm builds (14 and 28 MB) are cached when a page says which one its runners use.
sw.addEventListener('install', (event: ExtendableEventLike) => {
  const scripts = PRECACHE.files.filter((file) => !file.endsWith('.wasm'));
  event.waitUntil(caches.open(RUNTIME_CACHE).then((cache) => cache.addAll(scripts.map((file) => new URL(file, sw.location.href).href))));
});

/** The .wasm of a runner variant: `webgpu` (JSEP: WebGPU + WASM) or `wasm` (WASM only). */
function wasmFilesOf(variant: string): string[] {
  return PRECACHE.files.filter((file) => file.endsWith('.wasm') && (variant === 'webgpu') === file.includes('.jsep'));
}

sw.addEventListener('activate', (event: ExtendableEventLike) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) if (name.startsWith('browserving-runtime-') && name !== RUNTIME_CACHE) await caches.delete(name);
      await sw.clients.claim();
    })(),
  );
});

sw.addEventListener('message', (event: MessageEvent & ExtendableEventLike) => {
  const data = event.data as { type?: string; variants?: unknown } | null;
  if (data?.type === 'browserving:cache-page' && Array.isArray((data as { urls?: unknown }).urls)) {
    // The document and scripts a page loaded before this worker controlled it.
    const urls = ((data as { urls: unknown[] }).urls).map(String).filter((u) => URL.canParse(u) && new URL(u).origin === new URL(sw.registration.scope).origin);
    event.waitUntil(caches.open(PAGES_CACHE).then((cache) => Promise.all(urls.map((u) => cache.add(u).catch(() => undefined)))));
    return;
  }
  if (data?.type === 'browserving:cache-runtime' && Array.isArray(data.variants)) {
    const files = data.variants.flatMap((v) => wasmFilesOf(String(v)));
    event.waitUntil(caches.open(RUNTIME_CACHE).then(async (cache) => {
      for (const file of files) {
        const url = new URL(file, sw.location.href).href;
        if (!(await cache.match(url))) await cache.add(url);
      }
    }));
    return;
  }
  const port = event.ports[0];
  if (data?.type !== 'browserving:serve' || !port) return;
  port.onmessage = (message: MessageEvent<Reply & { bye?: boolean }>) => {
    // A page that stops serving says so: requests go to another page, or get a 503 at once.
    if (message.data.bye) servers = servers.filter((p) => p !== port);
    else pending.get(message.data.id)?.(message.data);
  };
  servers = [port, ...servers.filter((p) => p !== port)];
});

sw.addEventListener('fetch', (event: FetchEventLike) => {
  const { request } = event;
  const url = new URL(request.url);
  if (url.origin !== new URL(sw.registration.scope).origin) return;
  if (isServingRoute(url)) {
    event.respondWith(forward(request));
    return;
  }
  if (request.method !== 'GET') return;
  if (RUNTIME_URLS.has(url.href)) {
    event.respondWith(networkFirst(request, RUNTIME_CACHE));
    return;
  }
  const destination = request.destination;
  if (request.mode === 'navigate' || destination === 'script' || destination === 'style' || destination === 'worker') {
    event.respondWith(networkFirst(request, PAGES_CACHE));
  }
});

function isServingRoute(url: URL): boolean {
  const scope = new URL(sw.registration.scope).pathname;
  if (!url.pathname.startsWith(scope)) return false;
  const path = `/${url.pathname.slice(scope.length)}`;
  return /^\/v1\//i.test(path) || path === '/v2' || path.startsWith('/v2/') || path === '/monitoring/prometheus/metrics';
}

/**
 * The network when it answers (refreshing the cache, so what is cached is what was last served),
 * else the cache: online nothing is served stale, offline everything seen before is there.
 */
async function networkFirst(request: Request, cacheName: string): Promise<Response> {
  try {
    const response = await fetch(request);
    if (response.ok) {
      const copy = response.clone();
      void caches.open(cacheName).then((cache) => cache.put(request, copy));
    }
    return response;
  } catch (error) {
    const hit = await caches.match(request);
    if (hit) return hit;
    throw error;
  }
}

async function forward(request: Request): Promise<Response> {
  const port = servers[0] ?? (await askForServer());
  if (!port) return json(503, { error: 'no page is serving this origin\'s models right now: open a page that calls serveHttp(serving)' });
  const id = nextId++;
  const body = request.method === 'GET' || request.method === 'HEAD' ? null : await request.arrayBuffer();
  const reply = await new Promise<Reply | undefined>((resolve) => {
    const timer = setTimeout(() => {
      pending.delete(id);
      // That page is gone or stuck: forget it, so the next request goes to another.
      servers = servers.filter((p) => p !== port);
      resolve(undefined);
    }, FORWARD_TIMEOUT_MS);
    pending.set(id, (r) => {
      clearTimeout(timer);
      pending.delete(id);
      resolve(r);
    });
    port.postMessage({ id, method: request.method, url: request.url, headers: [...request.headers], body }, body ? [body] : []);
  });
  if (!reply) return json(503, { error: `the serving page did not answer within ${FORWARD_TIMEOUT_MS} ms` });
  return new Response(reply.body, { status: reply.status, headers: reply.headers as [string, string][] });
}

/** A Service Worker restarted after idling has no ports: ask every page to send one, wait a moment. */
async function askForServer(): Promise<MessagePort | undefined> {
  for (const client of await sw.clients.matchAll({ includeUncontrolled: true, type: 'window' })) client.postMessage({ type: 'browserving:who-serves' });
  for (let waited = 0; waited < 1000 && servers.length === 0; waited += 50) await new Promise((r) => setTimeout(r, 50));
  return servers[0];
}
