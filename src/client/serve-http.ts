/**
 * serveHttp: puts a `Serving` behind HTTP at the page's origin, through browserving's Service
 * Worker (`browserving.sw.js`): `fetch('/v1/models/vad:predict', …)`, KServe's `/v2/…` and
 * `/monitoring/prometheus/metrics` from any code of the origin are forwarded to this page and
 * answered by `serving.handle()`. It also has the Service Worker cache the runtime this page uses
 * (its runners' .wasm) and this page's document and scripts, so the page can start again offline.
 *
 * Sequence: register (module Service Worker) → wait until it is active → send it a MessagePort
 * (`browserving:serve`) and the runner variants in use (`browserving:cache-runtime`) → answer
 * each forwarded request on that port. A Service Worker restarted after idling asks again
 * (`browserving:who-serves`); a new one taking over gets a port too.
 */
import { describeValue } from '../core/describe-value.js';
import { ServingError } from '../core/serving-error.js';
import type { Serving } from './serving-client.js';

declare const __BROWSERVING_SERVICE_WORKER_URL__: () => URL;

export interface ServeHttpOptions {
  /** The Service Worker script. @defaultValue the `browserving.sw.js` beside the library */
  readonly serviceWorkerUrl?: string | URL;
  /**
   * Which paths the Service Worker controls, and below which it answers `/v1/…`, `/v2/…`.
   * A scope above the script's folder needs the script served with `Service-Worker-Allowed`
   * (or the script copied there). @defaultValue the script's folder
   */
  readonly scope?: string;
}

export interface HttpServing {
  readonly registration: ServiceWorkerRegistration;
  /** Stops answering (the Service Worker then answers 503 for this page). */
  stop(): void;
}

interface Forwarded {
  readonly id: number;
  readonly method: string;
  readonly url: string;
  readonly headers: [string, string][];
  readonly body: ArrayBuffer | null;
}

export async function serveHttp(serving: Pick<Serving, 'handle' | 'debug'>, options: ServeHttpOptions = {}): Promise<HttpServing> {
  const container = (globalThis.navigator as Partial<Navigator> | undefined)?.serviceWorker;
  if (!container) {
    throw new ServingError('FAILED_PRECONDITION', 'serveHttp: Service Workers are not available here (they need a secure context: https or localhost)');
  }
  if (typeof options !== 'object' || options === null) throw new ServingError('INVALID_ARGUMENT', `serveHttp(serving, options): options must be an object, got ${describeValue(options)}`);
  const url = options.serviceWorkerUrl ?? __BROWSERVING_SERVICE_WORKER_URL__();
  let registration: ServiceWorkerRegistration;
  try {
    registration = await container.register(url, { type: 'module', ...(options.scope !== undefined ? { scope: options.scope } : {}) });
  } catch (error) {
    throw new ServingError('FAILED_PRECONDITION', `serveHttp: the Service Worker ${String(url)} could not be registered (${(error as Error).message}); a scope above its folder needs the header Service-Worker-Allowed`, {}, { cause: error });
  }
  await container.ready;
  let stopped = false;
  const ports: MessagePort[] = [];

  const answer = async (port: MessagePort, request: Forwarded) => {
    let response: Response;
    try {
      response = (await serving.handle(new Request(request.url, { method: request.method, headers: request.headers, ...(request.body ? { body: request.body } : {}) }))) ?? jsonError(404, 'not a serving route');
    } catch (error) {
      response = jsonError(500, ServingError.from(error).message);
    }
    const body = await response.arrayBuffer();
    port.postMessage({ id: request.id, status: response.status, headers: [...response.headers], body }, [body]);
  };

  const announce = (worker: ServiceWorker | null) => {
    if (!worker || stopped) return;
    const channel = new MessageChannel();
    channel.port1.onmessage = (event: MessageEvent<Forwarded>) => void answer(channel.port1, event.data);
    ports.push(channel.port1);
    worker.postMessage({ type: 'browserving:serve' }, [channel.port2]);
    const variants = [...new Set(serving.debug.runners().map((r) => r.variant))];
    if (variants.length) worker.postMessage({ type: 'browserving:cache-runtime', variants });
    worker.postMessage({ type: 'browserving:cache-page', urls: pageFiles() });
  };

  const onMessage = (event: MessageEvent) => {
    if ((event.data as { type?: string } | null)?.type === 'browserving:who-serves') announce(registration.active);
  };
  const onControllerChange = () => announce(container.controller);
  container.addEventListener('message', onMessage);
  container.addEventListener('controllerchange', onControllerChange);
  announce(registration.active);

  return {
    registration,
    stop() {
      stopped = true;
      container.removeEventListener('message', onMessage);
      container.removeEventListener('controllerchange', onControllerChange);
      for (const port of ports) {
        port.postMessage({ bye: true });
        port.close();
      }
    },
  };
}

/** This document and the scripts and styles it loaded: what it needs to start again offline. */
function pageFiles(): string[] {
  const entries = (globalThis.performance?.getEntriesByType?.('resource') ?? []) as PerformanceResourceTiming[];
  const files = entries.filter((e) => ['script', 'link', 'css'].includes(e.initiatorType) || /\.(m?js|css)(\?|$)/.test(e.name)).map((e) => e.name);
  return [globalThis.location.href, ...new Set(files)];
}

function jsonError(status: number, error: string): Response {
  return new Response(JSON.stringify({ error }), { status, headers: { 'Content-Type': 'application/json' } });
}
