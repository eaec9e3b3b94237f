/**
 * The main-thread API: `createServing()` starts the control worker and returns a `Serving`.
 *
 * Two planes (README, "Design notes"): the control worker (Comlink) holds config, sources, the
 * manager, labels and the artifact store; predictions go straight to runner workers through the
 * DataPlane, as one structured message each. Requests carry their tensors' buffers as
 * transfers (the caller's arrays are detached unless `transferInputs: false`); outputs come back
 * the same way. Every method returns a promise, and every rejection is a `ServingError` — also
 * for a caller's malformed argument (INVALID_ARGUMENT), never a synchronous throw.
 *
 * Supervision: the control worker holds a life lock like the runners do. When it dies, every
 * request waiting on it or on a runner rejects with UNAVAILABLE (`data.retryable`), the runners
 * are terminated, and a new control worker starts with the current config and reloads the
 * versions from the artifact store; calls made meanwhile wait for it.
 */
import { proxy, releaseProxy, wrap, type Remote } from 'comlink';
import { watchLifeLock } from '../core/life-lock.js';
import { describeValue } from '../core/describe-value.js';
import { RequestDeadline } from '../core/request-deadline.js';
import { ServingError } from '../core/serving-error.js';
import { Subscribable } from '../core/subscribable.js';
import { withTimeout } from '../core/with-timeout.js';
import { validateSelector } from '../core/version-selector.js';
import type {
  LookupResponse,
  MetricsSnapshot,
  ModelMetadata,
  ModelServerConfig,
  ModelStatus,
  PredictResponse,
  RuntimeInfo,
  ServerConfig,
  ServingEvent,
  StorageUsage,
  StoredVersion,
  TensorData,
  VersionSelector,
  WorkerApi,
} from '../protocol.js';
import type { RunnerFault } from '../protocol/runner.js';
import { installErrorTransferHandler } from '../wire-errors.js';
import { createRequestHandler, type RequestHandler } from '../http/handle.js';
import { checkCallRequest, checkPredictRequest, checkStreamRequest } from './check-request.js';
import { DataPlane } from './data-plane.js';
import type { RunnerInfo } from './runner-pool.js';
import { spawnControlWorker, spawnRunnerWorker } from './spawn-worker.js';

export interface CreateServingOptions extends ServerConfig {
  /** URL of the control worker script. @defaultValue the `serving.worker.js` beside the library */
  readonly workerUrl?: string | URL;
  /** URL of the runner worker script (onnxruntime-web's WebGPU + WASM build). @defaultValue the `runner.worker.js` beside the library */
  readonly runnerUrl?: string | URL;
  /** URL of the WASM-only runner worker script, used for versions whose providers exclude WebGPU. @defaultValue the `runner-wasm.worker.js` beside the library */
  readonly runnerWasmUrl?: string | URL;
  /** Resolve only once the configured models have loaded (or failed to). @defaultValue true */
  readonly waitForModels?: boolean;
  /** Limit on start-up, including waiting for models; DEADLINE_EXCEEDED past it. @defaultValue 120000 */
  readonly startupTimeoutMs?: number;
  /** Sees every event from the first one on (the first download's progress included), before `createServing` resolves. */
  readonly onEvent?: (event: ServingEvent) => void;
  /**
   * Reject when, once the models have settled, a configured model has no AVAILABLE version (its
   * repository could not be read, or every version failed), with each model's cause. Only with
   * `waitForModels`. @defaultValue false: start anyway; the cause is in the console and in every
   * error of a request for that model.
   */
  readonly requireModels?: boolean;
  /** Leave the console alone (no warning for an unreadable repository or a page without cross-origin isolation). @defaultValue false */
  readonly quiet?: boolean;
}

export interface PredictRequest extends VersionSelector {
  readonly inputs: Readonly<Record<string, TensorData>>;
  /** Outputs to compute; all when absent. */
  readonly outputs?: readonly string[];
  readonly signal?: AbortSignal;
  /** DEADLINE_EXCEEDED when the request has not completed within this time. */
  readonly timeoutMs?: number;
  /** Transfer the inputs' buffers to the worker instead of copying them; they become detached here. @defaultValue true */
  readonly transferInputs?: boolean;
}

export interface LookupRequest extends VersionSelector {
  readonly keys: readonly string[] | readonly number[];
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
}

export interface CallRequest extends VersionSelector {
  /** One of the servable's methods (its metadata's `apis` lists them as `call:<method>`). */
  readonly method: string;
  /** Structured-cloneable; copied to the runner. */
  readonly args?: unknown;
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
}

export interface CallResponse<T = unknown> {
  readonly model: string;
  readonly version: number;
  readonly value: T;
}

export interface PredictStreamRequest extends PredictRequest {
  /** Results the runner may produce before the consumer takes them (back-pressure). @defaultValue 2 */
  readonly highWaterMark?: number;
}

export interface Serving {
  /** Runs a model. Rejects with a ServingError (INVALID_ARGUMENT, NOT_FOUND, UNAVAILABLE, CANCELLED, …). */
  predict(request: PredictRequest): Promise<PredictResponse>;
  /** Looks keys up in a table servable (or a platform's servable that answers `lookup`). */
  lookup(request: LookupRequest): Promise<LookupResponse>;
  /**
   * Results one step at a time, from a servable whose platform streams (metadata `apis` has
   * `stream`). Iterate it with `for await`; leaving the loop, the request's `signal` or its
   * `timeoutMs` stop the servable within one step. The runner produces at most `highWaterMark`
   * results ahead of the consumer. Errors (as for `predict`) reject the next iteration step.
   */
  predictStream(request: PredictStreamRequest): AsyncGenerator<PredictResponse, void, undefined>;
  /** Calls one of a platform servable's own methods: `call({ model: 'tok', method: 'encode', args: 'hello' })`. Errors as for `predict`. */
  call<T = unknown>(request: CallRequest): Promise<CallResponse<T>>;
  /** Every version of `model` with state, health, labels, provider and runner. NOT_FOUND for an unknown model. */
  status(model: string): Promise<ModelStatus>;
  /** Signature of a version (latest by default). */
  metadata(model: string, select?: { readonly version?: number; readonly label?: string }): Promise<ModelMetadata>;
  /** Replaces the model list at run time; INVALID_ARGUMENT / FAILED_PRECONDITION change nothing. */
  reloadConfig(config: ModelServerConfig): Promise<void>;
  /** Polls every repository now. */
  poll(): Promise<void>;
  /** Resolves once every model's versions have settled (loaded or failed). */
  waitForModels(timeoutMs?: number): Promise<void>;
  /** Requests, errors by code, runs, latency per model; the runtime. With `{ format: 'prometheus' }`: the text `handle()` serves at `/monitoring/prometheus/metrics`. */
  metrics(): Promise<MetricsSnapshot>;
  metrics(options: { readonly format: 'prometheus' }): Promise<string>;
  /**
   * Answers an HTTP request in TF Serving's REST API (`/v1/models/…`), KServe's v2 protocol
   * (`/v2/…`) or Prometheus text (`/monitoring/prometheus/metrics`) from this runtime — the same
   * code a Service Worker mounts. Resolves with `null` for any other path; never rejects (errors
   * are `{"error": …}` bodies with TF Serving's HTTP status).
   */
  handle(request: Request): Promise<Response | null>;
  /**
   * State changes, repository polls, download progress (about 10 a second per version, every
   * change of state included) and runner restarts, as they happen. A new listener is first
   * called, synchronously, with the current state: the last event of every version, repository
   * and download in progress. Returns the unsubscribe function.
   */
  subscribe(listener: (event: ServingEvent) => void): () => void;
  /** The offline-first artifact store the control worker loads models through. */
  readonly storage: ServingStorage;
  /** Isolation, threads, ORT version and WebGPU adapter, as of start-up (after the models loaded, unless `waitForModels: false`); `metrics().runtime` is current. */
  readonly runtime: RuntimeInfo;
  /** For tests and chaos drills: the live runner workers, and ways to make a worker fail as the browser would. */
  readonly debug: ServingDebug;
  /** Ends every worker within a second, whatever they are doing (which returns their memory). Pending requests reject with CANCELLED. */
  close(): Promise<void>;
}

export interface ServingDebug {
  /** The runner workers alive now: name, group, servable keys, requests pending. */
  runners(): RunnerInfo[];
  /**
   * Makes a worker fail: `'control'` or a runner's name; `terminate` (default) kills it from
   * outside; `close` makes it end itself; `abort` as a WASM abort; `device-destroy` destroys its
   * WebGPU device; `hang` blocks its thread for `ms`.
   */
  fault(target: string, how?: RunnerFault | 'terminate', ms?: number): Promise<void>;
}

export interface ServingStorage {
  /** Versions held in the store: model, version, bytes, whether whole, last used. */
  list(): Promise<StoredVersion[]>;
  /** Deletes one stored version, or every stored version of `model` (and its cached manifest). Serving versions keep serving; they download again on the next load. INVALID_ARGUMENT for a bad model or version. */
  delete(model: string, version?: number): Promise<void>;
  /** Bytes stored, the budget, the origin's usage and quota, persistence, and whether the store is memory-only (with why). */
  usage(): Promise<StorageUsage>;
}

/** Starts the control worker with `options` and resolves once it serves (and, by default, once its models have loaded). */
export async function createServing(options: CreateServingOptions): Promise<Serving> {
  installErrorTransferHandler();
  if (typeof options !== 'object' || options === null) throw new ServingError('INVALID_ARGUMENT', `createServing() takes an options object, got ${describeValue(options)}`);
  const { workerUrl, runnerUrl, runnerWasmUrl, waitForModels = true, startupTimeoutMs = 120_000, onEvent, requireModels = false, quiet = false, ...config } = options;
  // persist() exists only on the page's navigator.storage, not in workers.
  if (config.storage?.persist) await (globalThis.navigator?.storage?.persist?.() ?? Promise.resolve(false)).catch(() => false);
  const client = new ServingClient(resolveBasePaths(config), workerUrl, { ...(runnerUrl !== undefined ? { webgpu: runnerUrl } : {}), ...(runnerWasmUrl !== undefined ? { wasm: runnerWasmUrl } : {}) }, quiet);
  if (onEvent) client.subscribe(onEvent);
  if (!quiet && globalThis.crossOriginIsolated === false) {
    console.warn('[browserving] this page is not cross-origin isolated, so onnxruntime-web runs single-threaded: serve it with "Cross-Origin-Opener-Policy: same-origin" and "Cross-Origin-Embedder-Policy: require-corp" (README, "Serving it").');
  }
  try {
    await withTimeout(client.start(waitForModels), startupTimeoutMs, 'the serving runtime did not start');
    if (requireModels && waitForModels) await client.requireModels();
  } catch (error) {
    await client.close();
    throw ServingError.from(error);
  }
  return client;
}

/** One control worker's connection; replaced when the worker dies. */
interface Control {
  readonly worker: Worker;
  readonly remote: Remote<WorkerApi>;
}

const MAX_CONTROL_RESTARTS = 3;

const METRICS_PATH = '/monitoring/prometheus/metrics';

const FAULTS: readonly (RunnerFault | 'terminate')[] = ['terminate', 'close', 'abort', 'device-destroy', 'hang'];

class ServingClient extends Subscribable<ServingEvent> implements Serving {
  readonly #workerUrl: string | URL | undefined;
  readonly #data: DataPlane;
  readonly #pending = new Set<(error: ServingError) => void>();
  #config: ServerConfig;
  #control: Control | undefined;
  /** Settles when the control worker is up (again); calls wait for it. */
  #ready: Promise<void> = Promise.resolve();
  #runtime: RuntimeInfo = { crossOriginIsolated: false, hardwareConcurrency: 1 };
  /** The last event of each version, repository and download: what a new subscriber is replayed. */
  readonly #current = new Map<string, ServingEvent>();
  #nextRequestId = 1;
  #closed = false;

  readonly #quiet: boolean;
  /** The repository error last warned about, per model: each distinct one is said once. */
  readonly #warned = new Map<string, string>();

  constructor(config: ServerConfig, workerUrl: string | URL | undefined, runnerUrls: { webgpu?: string | URL; wasm?: string | URL }, quiet = false) {
    super();
    this.#config = config;
    this.#quiet = quiet;
    this.#workerUrl = workerUrl;
    this.#data = new DataPlane({
      spawnRunner: (name, variant) => spawnRunnerWorker(name, variant, runnerUrls),
      route: (selector) => this.#call((c) => c.route(selector)),
      onRunnerExit: (runner, reason) => void this.#call((c) => c.runnerExited(runner, reason)).catch(() => undefined),
    });
  }

  get runtime(): RuntimeInfo {
    return this.#runtime;
  }

  async start(waitForModels: boolean): Promise<void> {
    const started = this.#startControl(waitForModels);
    this.#ready = started.then(() => undefined, () => undefined);
    await started;
  }

  /** Spawns a control worker, starts it with the current config, and watches its life. */
  async #startControl(waitForModels: boolean): Promise<void> {
    const name = `browserving-control-${crypto.randomUUID()}`;
    const worker = spawnControlWorker(name, this.#workerUrl);
    const remote = wrap<WorkerApi>(worker);
    const control: Control = { worker, remote };
    this.#control = control;
    const failedToLoad = new Promise<never>((_, reject) => {
      worker.addEventListener('error', (event) => {
        reject(new ServingError('UNAVAILABLE', `the serving worker failed to start: ${event.message || 'its script could not be loaded (is serving.worker.js served beside the library, as an ES module?)'}`));
      }, { once: true });
      worker.addEventListener('message', (event: MessageEvent<{ browservingFatal?: string }>) => {
        if (typeof event.data?.browservingFatal === 'string') reject(new ServingError('FAILED_PRECONDITION', event.data.browservingFatal));
      });
    });
    failedToLoad.catch(() => undefined);
    const events = proxy((event: ServingEvent) => this.#record(event));
    const host = proxy(this.#data.host);
    this.#runtime = await Promise.race([remote.start(this.#config, events, host), failedToLoad]);
    watchLifeLock(name, () => this.#controlDied(control));
    if (!waitForModels) return;
    await remote.waitForModels();
    // A runner has loaded by now, so ORT's version, thread count and adapter are known.
    this.#runtime = await remote.runtime();
  }

  #controlDied(control: Control): void {
    if (this.#closed || this.#control !== control) return;
    this.#control = undefined;
    const reason = 'the serving (control) worker ended (terminated, crashed or out of memory)';
    const lost = new ServingError('UNAVAILABLE', `${reason}; it is being restarted — retry the request`, { data: { retryable: true } });
    for (const reject of this.#pending) reject(lost);
    this.#pending.clear();
    this.#data.reset(lost);
    control.remote[releaseProxy]();
    this.emit({ type: 'control', state: 'exited', reason });
    this.#ready = this.#restartControl();
  }

  async #restartControl(): Promise<void> {
    let lastError: unknown;
    for (let attempt = 0; attempt <= MAX_CONTROL_RESTARTS && !this.#closed; attempt += 1) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** (attempt - 1)));
      try {
        await this.#startControl(true);
        this.emit({ type: 'control', state: 'restarted', reason: 'the control worker was restarted; versions reloaded from the artifact store' });
        return;
      } catch (error) {
        lastError = error;
        this.#control?.worker.terminate();
        this.#control = undefined;
      }
    }
    throw new ServingError('UNAVAILABLE', `the serving worker could not be restarted: ${ServingError.from(lastError).message}`);
  }

  override subscribe(listener: (event: ServingEvent) => void): () => void {
    if (typeof listener !== 'function') throw new ServingError('INVALID_ARGUMENT', `subscribe(listener): listener must be a function, got ${describeValue(listener)}`);
    for (const event of this.#current.values()) {
      try {
        listener(event);
      } catch (error) {
        (globalThis as { reportError?: (e: unknown) => void }).reportError?.(error);
      }
    }
    return super.subscribe(listener);
  }

  /** Rejects with every configured model that has no AVAILABLE version, and why. */
  async requireModels(): Promise<void> {
    const missing: { model: string; why: string }[] = [];
    for (const { name } of this.#config.models) {
      const status = await this.status(name);
      if (status.versions.some((v) => v.state === 'AVAILABLE')) continue;
      const why = status.repository?.error?.message ?? status.versions.find((v) => v.error)?.error?.message ?? `no version found in ${status.repository?.basePath ?? 'its repository'}`;
      missing.push({ model: name, why: why.startsWith(`model "${name}"`) ? why : `model "${name}": ${why}` });
    }
    if (missing.length === 0) return;
    throw new ServingError(
      'FAILED_PRECONDITION',
      `requireModels: ${missing.length === 1 ? 'a configured model has' : `${missing.length} configured models have`} no servable version: ${missing.map((m) => m.why).join('; ')}`,
      missing.length === 1 ? { model: missing[0]!.model } : {},
    );
  }

  #record(event: ServingEvent): void {
    if (event.type === 'repository' && !this.#quiet) this.#warnRepository(event.model, event.status.error?.message);
    const key = currentKey(event);
    if (key) {
      const done = event.type === 'download' && (event.progress.state === 'cached' || event.progress.state === 'failed');
      // A finished download is history; the version's state says the rest.
      if (done) this.#current.delete(key);
      else this.#current.set(key, event);
    }
    this.emit(event);
  }

  /** A repository that cannot be read is said once in the console (the URL and HTTP status), and again only when the cause changes. */
  #warnRepository(model: string, error: string | undefined): void {
    if (!error) {
      this.#warned.delete(model);
      return;
    }
    if (this.#warned.get(model) === error) return;
    this.#warned.set(model, error);
    console.warn(`[browserving] ${error} — requests for model "${model}" will fail until it can be read (check its basePath, and that manifest.json was written: npx browserving manifest <dir>)`);
  }

  async predict(request: PredictRequest): Promise<PredictResponse> {
    if (this.#closed) throw closedError();
    return this.#data.predict(checkPredictRequest(request));
  }

  async lookup(request: LookupRequest): Promise<LookupResponse> {
    if (this.#closed) throw closedError();
    const { version, value } = await this.#data.call(checkCallRequest(request, 'lookup'));
    return { model: request.model, version, values: value as LookupResponse['values'] };
  }

  async call<T = unknown>(request: CallRequest): Promise<CallResponse<T>> {
    if (this.#closed) throw closedError();
    const { version, value } = await this.#data.call(checkCallRequest(request, 'call'));
    return { model: request.model, version, value: value as T };
  }

  async *predictStream(request: PredictStreamRequest): AsyncGenerator<PredictResponse, void, undefined> {
    if (this.#closed) throw closedError();
    yield* this.#data.stream(checkStreamRequest(request));
  }

  async status(model: string): Promise<ModelStatus> {
    const { model: name } = validateSelector({ model });
    return this.#call((c) => c.status(name));
  }

  async metadata(model: string, select: { version?: number; label?: string } = {}): Promise<ModelMetadata> {
    if (typeof select !== 'object' || select === null) {
      throw new ServingError('INVALID_ARGUMENT', `metadata(model, select): select must be { version } or { label }, got ${describeValue(select)}`, typeof model === 'string' ? { model } : {});
    }
    const selector = validateSelector({ model, version: readField(select, 'version'), label: readField(select, 'label') });
    return this.#call((c) => c.metadata(selector));
  }

  async reloadConfig(config: ModelServerConfig): Promise<void> {
    const resolved = resolveBasePaths(cloneConfig(config));
    await this.#call((c) => c.reloadConfig(resolved));
    // A restarted control worker starts from the config that is in force.
    this.#config = { ...this.#config, models: resolved.models };
  }

  async poll(): Promise<void> {
    return this.#call((c) => c.poll());
  }

  async waitForModels(timeoutMs?: number): Promise<void> {
    if (timeoutMs !== undefined) new RequestDeadline('', timeoutMs, undefined).clear();
    return this.#call((c) => c.waitForModels(timeoutMs));
  }

  metrics(): Promise<MetricsSnapshot>;
  metrics(options: { readonly format: 'prometheus' }): Promise<string>;
  async metrics(options?: { readonly format?: string }): Promise<MetricsSnapshot | string> {
    if (options !== undefined) {
      if (typeof options !== 'object' || options === null || options.format !== 'prometheus') {
        throw new ServingError('INVALID_ARGUMENT', `metrics(options): options must be { format: 'prometheus' } or absent, got ${describeValue(options)}`);
      }
      const response = await this.handle(new Request(new URL(METRICS_PATH, 'http://browserving.local/')));
      return response!.text();
    }
    const runtime = await this.#call((c) => c.runtime());
    return { models: this.#data.metrics.snapshot(this.#data.models), runtime };
  }

  #handler: RequestHandler | undefined;

  async handle(request: Request): Promise<Response | null> {
    if (!(request instanceof Request)) throw new ServingError('INVALID_ARGUMENT', `handle(request): request must be a Request, got ${describeValue(request)}`);
    this.#handler ??= createRequestHandler(this, {
      prometheusSamples: async () => ({
        ...(await this.#call((c) => c.prometheusSamples())),
        requestLatency: this.#data.latencies.samples(),
        batchSizes: this.#data.batchSizes(),
      }),
    });
    return this.#handler(request);
  }

  readonly storage: ServingStorage = {
    list: async () => this.#call((c) => c.storageList()),
    delete: async (model, version) => {
      const selector = validateSelector({ model, version });
      return this.#call((c) => c.storageDelete(selector.model, selector.version));
    },
    usage: async () => this.#call((c) => c.storageUsage()),
  };

  readonly debug: ServingDebug = {
    runners: () => this.#data.runners(),
    fault: async (target, how = 'terminate', ms) => {
      if (typeof target !== 'string') throw new ServingError('INVALID_ARGUMENT', `debug.fault(target): target must be "control" or a runner's name, got ${describeValue(target)}`);
      if (!FAULTS.includes(how)) throw new ServingError('INVALID_ARGUMENT', `debug.fault(target, how): how must be one of ${FAULTS.join(', ')}, got ${describeValue(how)}`);
      if (ms !== undefined && !(typeof ms === 'number' && ms >= 0)) throw new ServingError('INVALID_ARGUMENT', `debug.fault(target, how, ms): ms must be a non-negative number, got ${describeValue(ms)}`);
      if (target !== 'control') return this.#data.fault(target, how, ms);
      const control = this.#control;
      if (!control) throw new ServingError('UNAVAILABLE', 'the control worker is restarting');
      if (how !== 'terminate') throw new ServingError('INVALID_ARGUMENT', `the control worker takes only the "terminate" fault, got ${describeValue(how)}`);
      control.worker.terminate();
    },
  };

  /** Settles within about a second: the workers are terminated whatever they are doing. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const cancelled = new ServingError('CANCELLED', 'the serving runtime was closed');
    for (const reject of this.#pending) reject(cancelled);
    this.#pending.clear();
    this.#data.close(cancelled);
    const control = this.#control;
    this.#control = undefined;
    if (!control) return;
    // A short chance to close the store cleanly; a busy worker is not waited for.
    await withTimeout(control.remote.close(), 250, 'close').catch(() => undefined);
    control.remote[releaseProxy]();
    control.worker.terminate();
  }

  /** Runs a call on the control worker (once it is up), rejecting at once if the client is closed or the worker dies meanwhile. */
  async #call<T>(call: (remote: Remote<WorkerApi>) => Promise<T>): Promise<T> {
    if (this.#closed) throw closedError();
    await this.#ready;
    const control = this.#control;
    if (this.#closed) throw closedError();
    if (!control) throw new ServingError('UNAVAILABLE', 'the serving worker could not be restarted', { data: { retryable: true } });
    return new Promise<T>((resolve, reject) => {
      const fail = (error: ServingError) => reject(error);
      this.#pending.add(fail);
      call(control.remote)
        .then(resolve, (error) => reject(ServingError.from(error, {}, 'INVALID_ARGUMENT')))
        .finally(() => this.#pending.delete(fail));
    });
  }
}

/** Which piece of current state an event replaces, if any. */
function currentKey(event: ServingEvent): string | undefined {
  switch (event.type) {
    case 'servable-state':
      return `state ${JSON.stringify([event.state.id.name, event.state.id.version])}`;
    case 'repository':
      return `repository ${JSON.stringify(event.model)}`;
    case 'download':
      return `download ${JSON.stringify([event.progress.model, event.progress.version, event.progress.file ?? null])}`;
    default:
      return undefined;
  }
}

function closedError(): ServingError {
  return new ServingError('FAILED_PRECONDITION', 'the serving runtime is closed: create a new one with createServing()');
}

function readField(object: object, field: string): unknown {
  try {
    return (object as Record<string, unknown>)[field];
  } catch (error) {
    throw new ServingError('INVALID_ARGUMENT', `${field} could not be read: ${(error as Error)?.message ?? String(error)}`);
  }
}

/** A plain copy of a caller's config, so what is sent is what was checked (getters run once, here). */
function cloneConfig<T>(config: T): T {
  try {
    return structuredClone(config);
  } catch (error) {
    throw new ServingError('INVALID_ARGUMENT', `the config must be plain data (objects, arrays, strings, numbers): ${(error as Error)?.message ?? String(error)}`);
  }
}

/**
 * Model base paths and platform module URLs are resolved against the page here: in a worker,
 * relative URLs would resolve against the worker script (and a URL object cannot cross to it).
 */
function resolveBasePaths<T extends ModelServerConfig & { platforms?: ServerConfig['platforms'] }>(config: T): T {
  const base = (globalThis as { document?: { baseURI: string }; location?: { href: string } }).document?.baseURI ?? globalThis.location?.href;
  if (!base) return config;
  const resolve = (url: unknown) => (url instanceof URL ? url.href : typeof url === 'string' && URL.canParse(url, base) ? new URL(url, base).href : url);
  if (typeof config !== 'object' || config === null) return config;
  const platforms = config.platforms;
  return {
    ...config,
    ...(Array.isArray(config?.models) ? { models: config.models.map((m) => resolveRemoteUrl(typeof m?.basePath === 'string' && URL.canParse(m.basePath, base) ? { ...m, basePath: new URL(m.basePath, base).href } : m, base)) } : {}),
    ...(typeof platforms === 'object' && platforms !== null && !Array.isArray(platforms) ? { platforms: Object.fromEntries(Object.entries(platforms).map(([name, url]) => [name, resolve(url)])) } : {}),
  };
}

/** A model's `remote.url` resolved against the page, like `basePath` (a same-origin proxy may be given as `/tfs`). */
function resolveRemoteUrl<M>(model: M, base: string): M {
  const remote = (model as { remote?: { url?: unknown } } | null)?.remote;
  if (typeof remote !== 'object' || remote === null || typeof remote.url !== 'string' || !URL.canParse(remote.url, base)) return model;
  return { ...model, remote: { ...remote, url: new URL(remote.url, base).href } };
}
