/**
 * OnnxLoader: loads one ONNX model version into a runner worker (TF Serving's Loader, with the
 * servable living in another thread).
 *
 * - `estimateResources()`: the byte size of the version's model files (weights end up in the
 *   runner's WASM heap or GPU memory at about that size).
 * - `load()`: reads every file through the ArtifactFetcher (verified against the manifest, from
 *   the artifact store when it is there), then transfers the bytes — no copy — to a runner, which
 *   creates the session, runs the warm-up and reports the signature and provider.
 * - `unload()`: the runner drains the version's requests in flight and releases it; a runner left
 *   hosting nothing is terminated, which returns its memory to the browser.
 * - `restart()`: when the runner died while the version was AVAILABLE, the version is placed on a
 *   new runner from the store (no network), with `maxRestarts` attempts and doubling backoff; it
 *   stays AVAILABLE meanwhile and requests wait for it (`servable().route()`).
 */
import { transfer } from 'comlink';
import type { BatchingOptions } from '../batching/batching-options.js';
import type { LoadContext, Loader, ResourceAllocation } from '../core/loader.js';
import { servableIdKey, type ServableId } from '../core/servable-id.js';
import type { ServableDescription } from '../core/servable-state.js';
import { ServingError, describeServable } from '../core/serving-error.js';
import type { ExecutionProvider, Route, RunnerEvent, RunnerHost, RuntimeInfo, Signature } from '../protocol.js';
import type { RunnerLoadSpec } from '../protocol/runner.js';
import { ONNX_MODEL_FILE, WARMUP_FILE, fileUrl, type ManifestFile, type ManifestVersion } from '../sources/manifest.js';
import type { ArtifactFetcher } from './artifact-fetcher.js';

/** What the control worker's loaders share: the runner host, and where a runner's life is reported. */
export interface RunnerSupervision {
  readonly host: RunnerHost;
  /** Binds a loader to the runner it was placed on, so `runnerExited` reaches it. */
  attach(runner: string, loader: OnnxLoader): void;
  detach(runner: string, loader: OnnxLoader): void;
  /** Routes changed (placed, gone, restarted): push them now. */
  routesChanged(): void;
  event(event: RunnerEvent): void;
  /** A version finished loading (first load or restart): how long the load and its warm-up took. */
  loaded(load: { readonly model: string; readonly version: number; readonly modelPath: string; readonly loadMs: number; readonly warmupMs: number; readonly warmupSkipped: boolean }): void;
  runtime(info: RuntimeInfo): void;
  readonly maxRestarts: number;
  readonly restartBackoffMs: number;
  readonly wasm: RunnerLoadSpec['wasm'];
}

export interface OnnxLoaderOptions {
  readonly id: ServableId;
  /** The version folder's URL, ending in `/`. */
  readonly versionUrl: string;
  readonly entry: ManifestVersion;
  readonly fetcher: ArtifactFetcher;
  readonly supervision: RunnerSupervision;
  readonly executionProviders: readonly ExecutionProvider[];
  readonly warmupRuns?: number;
  /** Merge concurrent runs into batches; the load fails with FAILED_PRECONDITION when the model has no batch dimension. */
  readonly batching?: BatchingOptions;
  readonly runnerGroup?: string;
  readonly maxRunMs?: number;
}

interface Placement {
  readonly runner: string;
  readonly provider: ExecutionProvider;
  readonly skipped: readonly string[];
  readonly warmupSkipped?: string;
}

/** The control worker's view of an ONNX version: what it answers, and where it runs. */
export class RunnerServable {
  readonly #loader: OnnxLoader;

  constructor(readonly signature: Signature, loader: OnnxLoader) {
    this.#loader = loader;
  }

  /** Where requests go; waits while the runner restarts; UNAVAILABLE once restarts gave up. */
  route(): Promise<Route> {
    return this.#loader.route();
  }

  /** The route now; undefined while the runner restarts. */
  get currentRoute(): Route | undefined {
    return this.#loader.currentRoute;
  }

  /** The loader's description now (provider, runner, restarts): it changes after AVAILABLE. */
  describe(): ServableDescription {
    return this.#loader.describe();
  }
}

export class OnnxLoader implements Loader<RunnerServable> {
  readonly #options: OnnxLoaderOptions;
  readonly #key: string;
  #servable: RunnerServable | undefined;
  #placement: Placement | undefined;
  #restarting: Promise<void> | undefined;
  #restarts = 0;
  #lastExit: string | undefined;
  #failure: ServingError | undefined;
  #unloaded = false;

  constructor(options: OnnxLoaderOptions) {
    this.#options = options;
    this.#key = servableIdKey(options.id);
  }

  async estimateResources(): Promise<ResourceAllocation> {
    const bytes = this.#options.entry.files.filter((f) => f.path !== WARMUP_FILE).reduce((sum, f) => sum + f.size, 0);
    return { bytes };
  }

  async load({ signal }: LoadContext): Promise<void> {
    const started = performance.now();
    const signature = await this.#place(signal, started);
    this.#servable = new RunnerServable(signature, this);
  }

  async unload(): Promise<void> {
    this.#unloaded = true;
    const placement = this.#placement;
    this.#placement = undefined;
    this.#servable = undefined;
    if (!placement) return;
    const { supervision } = this.#options;
    supervision.detach(placement.runner, this);
    // The routes leave before the drain starts, on the same channel: nothing new reaches the runner.
    supervision.routesChanged();
    await supervision.host.unload(placement.runner, this.#key);
  }

  servable(): RunnerServable {
    if (!this.#servable) throw new ServingError('INTERNAL', `${describeServable(this.#options.id.name, this.#options.id.version)} is not loaded`);
    return this.#servable;
  }

  /** The route while placed; undefined while restarting or given up. */
  get currentRoute(): Route | undefined {
    return this.#placement ? { runner: this.#placement.runner, key: this.#key, version: this.#options.id.version } : undefined;
  }

  describe(): ServableDescription {
    const placement = this.#placement;
    return {
      kind: 'onnx',
      ...(placement ? { provider: placement.provider, runner: placement.runner } : {}),
      ...(placement?.skipped.length ? { providerFallback: placement.skipped.join('; ') } : {}),
      ...(placement?.warmupSkipped ? { warmup: placement.warmupSkipped } : {}),
      ...(this.#restarts ? { restarts: this.#restarts } : {}),
      ...(this.#lastExit ? { lastExit: this.#lastExit } : {}),
      ...(this.#restarting ? { runnerState: 'restarting' } : this.#failure ? { runnerState: 'failed', runnerError: this.#failure.message } : {}),
    };
  }

  /** The runner died: place the version on a new one (see the file comment). */
  restart(runner: string, reason: string): void {
    if (this.#unloaded || this.#placement?.runner !== runner) return;
    const { id, supervision } = this.#options;
    supervision.detach(runner, this);
    this.#placement = undefined;
    this.#restarts += 1;
    this.#lastExit = reason;
    supervision.routesChanged();
    const base = { runner, model: id.name, version: id.version };
    supervision.event({ ...base, state: 'exited', reason, restarts: this.#restarts });
    this.#restarting = (async () => {
      let lastError: ServingError | undefined;
      for (let attempt = 0; attempt <= supervision.maxRestarts; attempt += 1) {
        if (attempt > 0) await sleep(supervision.restartBackoffMs * 2 ** (attempt - 1));
        if (this.#unloaded) return;
        supervision.event({ ...base, state: 'restarting', reason, restarts: this.#restarts });
        try {
          await this.#place(new AbortController().signal, performance.now());
          this.#failure = undefined;
          supervision.event({ ...base, runner: this.#placement!.runner, state: 'restarted', restarts: this.#restarts });
          return;
        } catch (error) {
          lastError = ServingError.from(error, { model: id.name, version: id.version });
        }
      }
      this.#failure = lastError;
      supervision.event({ ...base, state: 'failed', restarts: this.#restarts, ...(lastError ? { error: lastError.toJSON() } : {}) });
    })().finally(() => {
      this.#restarting = undefined;
      supervision.routesChanged();
    });
  }

  /** See `RunnerServable.route()`. */
  async route(): Promise<Route> {
    if (this.#restarting) await this.#restarting;
    const route = this.currentRoute;
    if (route) return route;
    const { id } = this.#options;
    throw new ServingError(
      'UNAVAILABLE',
      `${describeServable(id.name, id.version)}: its runner could not be restarted (${this.#failure?.message ?? this.#lastExit ?? 'unknown reason'})`,
      { model: id.name, version: id.version },
    );
  }

  /** Reads the files (from the store when there) and places the version on a runner. */
  async #place(signal: AbortSignal, started: number): Promise<Signature> {
    const { id, supervision, runnerGroup } = this.#options;
    const spec = await this.#spec(signal);
    signal.throwIfAborted();
    const buffers = [spec.modelBytes.buffer, ...spec.externalData.map((f) => f.data.buffer), ...(spec.warmup ? [spec.warmup.buffer] : [])];
    const placed = await supervision.host.load(transfer(spec, [...new Set(buffers)] as ArrayBuffer[]), runnerGroup);
    if (this.#unloaded || signal.aborted) {
      await supervision.host.unload(placed.runner, this.#key);
      signal.throwIfAborted();
      throw new ServingError('CANCELLED', `${describeServable(id.name, id.version)} was unloaded while loading`);
    }
    this.#placement = { runner: placed.runner, provider: placed.provider, skipped: placed.skipped, ...(placed.warmupSkipped ? { warmupSkipped: placed.warmupSkipped } : {}) };
    supervision.attach(placed.runner, this);
    supervision.runtime(placed.runtime);
    supervision.loaded({ model: id.name, version: id.version, modelPath: this.#options.versionUrl, loadMs: performance.now() - started, warmupMs: placed.warmupMs, warmupSkipped: !!placed.warmupSkipped });
    supervision.routesChanged();
    return placed.signature;
  }

  async #spec(signal: AbortSignal): Promise<RunnerLoadSpec> {
    const { id, entry, fetcher, versionUrl, warmupRuns = 0, executionProviders, batching, supervision, maxRunMs } = this.#options;
    const files = entry.files.filter((f) => f.path !== WARMUP_FILE || warmupRuns > 0);
    const read = (file: ManifestFile) => fetcher.fetch({ model: id.name, version: id.version, url: fileUrl(file, versionUrl), file, versionFiles: files, signal });
    let modelBytes: Uint8Array | undefined;
    let warmup: Uint8Array | undefined;
    const externalData: { path: string; data: Uint8Array }[] = [];
    for (const file of files) {
      const bytes = await read(file);
      if (file.path === ONNX_MODEL_FILE) modelBytes = bytes;
      else if (file.path === WARMUP_FILE) warmup = bytes;
      else externalData.push({ path: file.path, data: bytes });
    }
    if (!modelBytes) throw new ServingError('INVALID_ARGUMENT', `${describeServable(id.name, id.version)} has no ${ONNX_MODEL_FILE}`, { model: id.name, version: id.version });
    return {
      key: this.#key,
      model: id.name,
      version: id.version,
      modelBytes,
      externalData,
      providers: executionProviders,
      warmupRuns,
      ...(warmup ? { warmup } : {}),
      ...(batching ? { batching } : {}),
      ...(maxRunMs !== undefined ? { maxRunMs } : {}),
      wasm: supervision.wasm,
    };
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
