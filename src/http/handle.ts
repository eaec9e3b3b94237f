/**
 * createRequestHandler: one function that turns an HTTP `Request` into a `Response` against a
 * serving runtime, speaking TF Serving's REST API, KServe's v2 protocol and Prometheus — for a
 * Service Worker's fetch event, a test, or any server built on the Fetch API.
 *
 * Routes (below `basePath`, when given):
 *
 *     /v1/…   (any case, as TF Serving)        → tfserving-rest.ts
 *     /v2, /v2/…                                → kserve-v2.ts
 *     /monitoring/prometheus/metrics  (GET)     → Prometheus text exposition
 *     anything else                             → null: not ours
 *
 * `null` rather than a 404, so that the caller passes the request on (to the network, to the
 * rest of its app). In a Service Worker, where `respondWith()` must be called before the fetch
 * listener returns, decide with the synchronous `matches()`:
 *
 *     const handle = createRequestHandler(serving);
 *     self.addEventListener('fetch', (event) => {
 *       if (handle.matches(event.request.url)) event.respondWith(handle(event.request).then((r) => r!));
 *     });
 *
 * The promise never rejects: a malformed request, a runtime rejection, even a fault of ours
 * becomes `{"error": "<message>"}` with the status of its canonical code. The handler records
 * the latency of each successful prediction it serves (entrypoint `REST`, with the version that
 * ran), which the default Prometheus text exports next to the runtime's request counts.
 */
import { errorResponse, jsonResponse, responseForError } from './error-response.js';
import { handleKServeV2, type KServeServerInfo } from './kserve-v2.js';
import { MetadataCache } from './metadata-cache.js';
import { formatPrometheus, prometheusSourceFromSnapshot, PROMETHEUS_CONTENT_TYPE, type PrometheusSource } from './prometheus.js';
import { RequestLatencies } from './request-latencies.js';
import type { OnServed, ServingLike } from './serving-like.js';
import { handleTfServingRest } from './tfserving-rest.js';

export interface RequestHandlerOptions {
  /**
   * The text served at `/monitoring/prometheus/metrics`.
   * @defaultValue request counts from `serving.metrics()` plus the latency histograms of the
   * predictions this handler served (see `prometheus.ts` for what the runtime could add)
   */
  readonly prometheus?: () => string | Promise<string>;
  /** More samples for the default Prometheus text (the runtime's own latencies, load and warm-up times…), merged with the request counts and the handler's latencies. */
  readonly prometheusSamples?: () => Promise<Omit<PrometheusSource, 'requestCounts'>>;
  /** Path the routes sit under, e.g. `/serving` for `/serving/v1/models/…`. @defaultValue '' (the origin's root) */
  readonly basePath?: string;
  /** What KServe's `GET /v2` reports. */
  readonly server?: KServeServerInfo;
}

export interface RequestHandler {
  /** Resolves with the response, or `null` when the request is not for one of the routes. Never rejects. */
  (request: Request): Promise<Response | null>;
  /** Whether the handler answers requests for `url` (synchronously; a relative URL is read as a path). */
  matches(url: string | URL): boolean;
}

type Route = { readonly kind: 'v1' | 'v2' | 'metrics'; readonly path: string };

const METRICS_PATH = '/monitoring/prometheus/metrics';

/** A handler answering from `serving`. @throws TypeError when `basePath` is not a path. */
export function createRequestHandler(serving: ServingLike, options: RequestHandlerOptions = {}): RequestHandler {
  const basePath = normalizeBasePath(options.basePath ?? '');
  const latencies = new RequestLatencies();
  const metadata = new MetadataCache(serving);
  const prometheus =
    options.prometheus ??
    (async () => {
      const extra = (await options.prometheusSamples?.()) ?? {};
      return formatPrometheus({ ...extra, ...prometheusSourceFromSnapshot(await serving.metrics()), requestLatency: [...(extra.requestLatency ?? []), ...latencies.samples()] });
    });

  const routeOf = (url: string | URL): Route | undefined => {
    let path: string;
    try {
      path = new URL(url, 'http://localhost').pathname;
    } catch {
      return undefined;
    }
    if (basePath !== '') {
      if (path !== basePath && !path.startsWith(`${basePath}/`)) return undefined;
      path = path.slice(basePath.length) || '/';
    }
    if (/^\/v1\//i.test(path)) return { kind: 'v1', path };
    if (path === '/v2' || path.startsWith('/v2/')) return { kind: 'v2', path };
    if (path === METRICS_PATH) return { kind: 'metrics', path };
    return undefined;
  };

  const handle = async (request: Request): Promise<Response | null> => {
    const route = routeOf(request.url);
    if (!route) return null;
    const started = performance.now();
    let served: Parameters<OnServed>[0] | undefined;
    const onServed: OnServed = (s) => {
      served = s;
    };
    try {
      let response: Response;
      if (route.kind === 'v1') response = await handleTfServingRest(serving, request, route.path, onServed, metadata);
      else if (route.kind === 'v2') response = await handleKServeV2(serving, request, route.path, { onServed, ...(options.server ? { server: options.server } : {}) });
      else response = await metricsResponse(request, prometheus);
      if (served) latencies.record({ ...served, entrypoint: 'REST' }, Math.max(0, (performance.now() - started) * 1000));
      return response;
    } catch (error) {
      return responseForError(error);
    }
  };
  return Object.assign(handle, { matches: (url: string | URL) => routeOf(url) !== undefined });
}

async function metricsResponse(request: Request, prometheus: () => string | Promise<string>): Promise<Response> {
  if (request.method.toUpperCase() !== 'GET') return jsonResponse({ error: `${request.method} is not allowed on ${METRICS_PATH}: use GET` }, 405, { Allow: 'GET' });
  const text = await prometheus();
  if (typeof text !== 'string') return errorResponse('INTERNAL', `the prometheus option must return the exposition text, got ${typeof text}`);
  return new Response(text, { status: 200, headers: { 'Content-Type': PROMETHEUS_CONTENT_TYPE } });
}

function normalizeBasePath(basePath: string): string {
  if (typeof basePath !== 'string' || (basePath !== '' && !basePath.startsWith('/'))) {
    throw new TypeError(`createRequestHandler(serving, options): options.basePath must be '' or a path starting with "/", got ${JSON.stringify(basePath)}`);
  }
  return basePath.replace(/\/+$/, '');
}
