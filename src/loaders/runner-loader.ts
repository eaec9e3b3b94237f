/**
 * RunnerLoader: loads one version, of any platform, into a runner worker (TF Serving's Loader,
 * with the servable living in another thread).
 *
 * - `estimateResources()`: ONNX — the byte size of the model and its external data (weights end
 *   up in the runner's WASM heap or GPU memory at about that size); `table` and an app's
 *   platforms — what the platform's own loader estimates (`createLoader(version)` is called in
 *   this worker for it, reading files from the store), by default the size of the version's files.
 * - `load()`: reads every file through the ArtifactFetcher (verified against the manifest, from
 *   the artifact store when it is there), then transfers the bytes — no copy — to a runner, whose
 *   platform loads the servable (ONNX: creates the session, runs the warm-up) and reports what it
 *   answers, its signature and provider.
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
import type { ExecutionProvider, Route, RunnerEvent, RunnerHost, RuntimeInfo, ShardStatus, Signature } from '../protocol.js';
import type { RunnerLoadSpec } from '../protocol/runner.js';
import { builtInPlatform, runsWithoutOrt } from '../platforms/built-in.js';
import { importPlatform } from '../platforms/import-platform.js';
import { platformError } from '../platforms/platform-error.js';
import type { PlatformModule, PlatformVersion, ServableApi } from '../platforms/platform.js';
import { WARMUP_FILE, externalDataFiles, fileUrl, type ManifestFile, type ManifestVersion } from '../sources/manifest.js';
import type { ArtifactFetcher } from './artifact-fetcher.js';

/** What the control worker's loaders share: the runner host, and where a runner's life is reported. */
export interface RunnerSupervision {
  readonly host: RunnerHost;
  /** Binds a loader to the runner it was placed on, so `runnerExited` reaches it. */
  attach(runner: string, loader: RunnerLoader): void;
  detach(runner: string, loader: RunnerLoader): void;
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

export interface RunnerLoaderOptions {
  readonly id: ServableId;
  /** The app's platform modules, by name (the built-ins need none). */
  readonly platformModules?: Readonly<Record<string, string>>;
  /** The model config's `platformConfig`, handed to the platform's loader. */
  readonly platformConfig?: unknown;
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
  /** One shard of a sharded table (`entry` then holds that shard's files): named in runner events. */
  readonly shard?: number;
  /** Every file of the version, when `entry` holds only some (a shard's): what the store records as the version. @defaultValue the files loaded */
  readonly versionFiles?: readonly ManifestFile[];
}

/** What a RunnerServable reads of the loader that placed it: one runner, or a sharded table's several. */
export interface PlacedVersion {
  /** See `RunnerServable.route()`. */
  route(): Promise<Route>;
  readonly currentRoute: Route | undefined;
  describe(): ServableDescription;
  /** A sharded table's shards, for status and metadata. */
  shards?(): readonly ShardStatus[];
}

interface Placement {
  readonly runner: string;
  readonly apis: readonly ServableApi[];
  readonly provider?: ExecutionProvider;
  readonly description?: ServableDescription;
  readonly skipped: readonly string[];
  readonly warmupSkipped?: string;
}

/** The control worker's view of a version hosted by a runner: what it answers, and where it runs. */
export class RunnerServable {
  readonly #loader: PlacedVersion;

  constructor(
    readonly platform: string,
    readonly apis: readonly ServableApi[],
    readonly signature: Signature | undefined,
    loader: PlacedVersion,
  ) {
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

  /** A sharded table's shards now; undefined for any other version. */
  shards(): readonly ShardStatus[] | undefined {
    return this.#loader.shards?.();
  }
}

export class RunnerLoader implements Loader<RunnerServable>, PlacedVersion {
  readonly #options: RunnerLoaderOptions;
  readonly #key: string;
  #servable: RunnerServable | undefined;
  #placement: Placement | undefined;
  #restarting: Promise<void> | undefined;
  #restarts = 0;
  #lastExit: string | undefined;
  #failure: ServingError | undefined;
  #unloaded = false;

  constructor(options: RunnerLoaderOptions) {
    this.#options = options;
    this.#key = servableIdKey(options.id);
  }

  get platform(): string {
    return this.#options.entry.platform;
  }

  async estimateResources(): Promise<ResourceAllocation> {
    const { entry, id } = this.#options;
    if (entry.platform === 'onnx') {
      const model = entry.files.find((f) => f.path === 'model.onnx');
      return { bytes: [model, ...externalDataFiles(entry)].reduce((sum, f) => sum + (f?.size ?? 0), 0) };
    }
    const module = await this.#platformModule();
    const where = { platform: entry.platform, model: id.name, version: id.version, call: 'estimateResources()' };
    try {
      const estimate = await module.createLoader(this.#platformVersion()).estimateResources?.();
      if (estimate === undefined) return { bytes: entry.files.reduce((sum, f) => sum + f.size, 0) };
      if (!Number.isFinite(estimate?.bytes) || estimate.bytes < 0) throw new Error(`it must resolve to { bytes: <a byte count> }, got ${JSON.stringify(estimate)}`);
      return { bytes: estimate.bytes };
    } catch (error) {
      throw platformError(error, where);
    }
  }

  async load({ signal }: LoadContext): Promise<void> {
    const started = performance.now();
    const placed = await this.#place(signal, started);
    this.#servable = new RunnerServable(this.platform, placed.apis, placed.signature, this);
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
    if (!this.#placement) return undefined;
    return { runner: this.#placement.runner, key: this.#key, version: this.#options.id.version, apis: this.#placement.apis, ...(this.platform === 'remote' ? { placement: 'remote' as const } : {}) };
  }

  describe(): ServableDescription {
    const placement = this.#placement;
    return {
      platform: this.platform,
      ...placement?.description,
      ...(placement?.provider ? { provider: placement.provider } : {}),
      ...(placement ? { runner: placement.runner } : {}),
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
    const base = { runner, model: id.name, version: id.version, ...(this.#options.shard !== undefined ? { shard: this.#options.shard } : {}) };
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
  async #place(signal: AbortSignal, started: number): Promise<{ apis: readonly ServableApi[]; signature: Signature | undefined }> {
    const { id, supervision, runnerGroup } = this.#options;
    const spec = await this.#spec(signal);
    signal.throwIfAborted();
    const buffers = spec.files.map((f) => f.data.buffer);
    const placed = await supervision.host.load(transfer(spec, [...new Set(buffers)] as ArrayBuffer[]), runnerGroup);
    if (this.#unloaded || signal.aborted) {
      await supervision.host.unload(placed.runner, this.#key);
      signal.throwIfAborted();
      throw new ServingError('CANCELLED', `${describeServable(id.name, id.version)} was unloaded while loading`);
    }
    this.#placement = {
      runner: placed.runner,
      apis: placed.apis,
      skipped: placed.skipped,
      ...(placed.provider ? { provider: placed.provider } : {}),
      ...(placed.description ? { description: placed.description } : {}),
      ...(placed.warmupSkipped ? { warmupSkipped: placed.warmupSkipped } : {}),
    };
    supervision.attach(placed.runner, this);
    if (placed.runtime) supervision.runtime(placed.runtime);
    supervision.loaded({ model: id.name, version: id.version, modelPath: this.#options.versionUrl, loadMs: performance.now() - started, warmupMs: placed.warmupMs, warmupSkipped: !!placed.warmupSkipped });
    supervision.routesChanged();
    return { apis: placed.apis, signature: placed.signature };
  }

  /** The built-in `table`, or the app's module, imported in this worker for `estimateResources`. */
  async #platformModule(): Promise<PlatformModule> {
    const { entry, id, platformModules } = this.#options;
    const builtIn = builtInPlatform(entry.platform);
    if (builtIn) return builtIn;
    const url = platformModules?.[entry.platform];
    const details = { model: id.name, version: id.version };
    if (!url) {
      const known = Object.keys(platformModules ?? {});
      throw new ServingError(
        'FAILED_PRECONDITION',
        `${describeServable(id.name, id.version)} is of platform "${entry.platform}", which is not registered (platforms: onnx, table, pipeline${known.length ? `, ${known.join(', ')}` : ''}); register its module: createServing({ platforms: { ${entry.platform}: new URL('./${entry.platform}-platform.js', import.meta.url) } })`,
        details,
      );
    }
    return importPlatform({ platform: entry.platform, model: id.name, version: id.version, worker: 'control worker' }, url);
  }

  /** The version as `estimateResources` sees it here: reads go through the artifact store. */
  #platformVersion(): PlatformVersion {
    const { id, entry, fetcher, versionUrl, platformConfig } = this.#options;
    const details = { model: id.name, version: id.version };
    const read = (path: string): Promise<Uint8Array> => {
      const file = entry.files.find((f) => f.path === path);
      if (!file) return Promise.reject(new ServingError('NOT_FOUND', `${describeServable(id.name, id.version)} has no file "${path}" (files: ${entry.files.map((f) => f.path).join(', ')})`, { ...details, data: { path } }));
      return fetcher.fetch({ model: id.name, version: id.version, url: fileUrl(file, versionUrl), file, versionFiles: this.#options.versionFiles ?? entry.files });
    };
    const readText = async (path: string) => new TextDecoder().decode(await read(path));
    const onlyInRunner = (call: string) => new ServingError('FAILED_PRECONDITION', `${describeServable(id.name, id.version)}: ${call} is for load() and the servable, in the runner; estimateResources() runs in the control worker`, details);
    return {
      model: id.name,
      version: id.version,
      platform: entry.platform,
      files: entry.files.map((f) => ({ path: f.path, size: f.size })),
      config: platformConfig,
      read,
      readText,
      readJson: async (path) => JSON.parse(await readText(path)) as unknown,
      createOnnxSession: () => Promise.reject(onlyInRunner('createOnnxSession()')),
      servables: {
        predict: () => Promise.reject(onlyInRunner('servables.predict()')),
        lookup: () => Promise.reject(onlyInRunner('servables.lookup()')),
        call: () => Promise.reject(onlyInRunner('servables.call()')),
      },
    };
  }

  async #spec(signal: AbortSignal): Promise<RunnerLoadSpec> {
    const { id, entry, fetcher, versionUrl, warmupRuns = 0, executionProviders, batching, supervision, maxRunMs, platformModules, platformConfig } = this.#options;
    const onnx = entry.platform === 'onnx';
    // An ONNX version's warm-up file is read only when warm-up runs are configured.
    const files = entry.files.filter((f) => !onnx || f.path !== WARMUP_FILE || warmupRuns > 0);
    const read = (file: ManifestFile) => fetcher.fetch({ model: id.name, version: id.version, url: fileUrl(file, versionUrl), file, versionFiles: this.#options.versionFiles ?? files, signal });
    const fileBytes: { path: string; data: Uint8Array }[] = [];
    for (const file of files) fileBytes.push({ path: file.path, data: await read(file) });
    const moduleUrl = platformModules?.[entry.platform];
    const builtIn = onnx || builtInPlatform(entry.platform) !== undefined;
    if (!builtIn && !moduleUrl) await this.#platformModule(); // throws, naming the fix
    return {
      key: this.#key,
      model: id.name,
      version: id.version,
      platform: entry.platform,
      ...(moduleUrl && !builtIn ? { moduleUrl } : {}),
      ...(platformConfig !== undefined ? { platformConfig } : {}),
      files: fileBytes,
      externalData: externalDataFiles(entry).map((f) => f.path),
      // A table or a pipeline needs no ORT: it runs in the smaller WASM-only runner.
      providers: runsWithoutOrt(entry.platform) ? ['wasm'] : executionProviders,
      warmupRuns: onnx ? warmupRuns : 0,
      ...(batching ? { batching } : {}),
      // A pipeline's runner waits on its steps' runners: their runs are watched there, not here. A
      // remote servable waits on the network in the runner every remote version shares: a slow
      // endpoint must not get that runner terminated (remote.timeoutMs bounds its requests).
      ...(maxRunMs !== undefined && entry.platform !== 'pipeline' && entry.platform !== 'remote' ? { maxRunMs } : {}),
      wasm: supervision.wasm,
    };
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
