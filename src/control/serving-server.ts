/**
 * ServingServer: what runs in the worker — TF Serving's ServerCore plus its Predict, Lookup,
 * GetModelStatus, GetModelMetadata and ReloadConfig handlers.
 *
 * It wires config → RepositorySource → ServableLoaderAdapter → AspiredVersionsManager, keeps a
 * ServableStateMonitor, version labels and metrics, and serves requests through handles so an
 * unload never pulls a servable out from under a running request.
 *
 * Requests address a model by name plus `version`, or `label`, or neither (the latest
 * available version). Every failure is a ServingError naming model, version and input; no
 * failure of one request or one version affects another.
 */
import { validateBatchingConfig } from '../batching/batching-options.js';
import { AspiredVersionsManager } from '../core/manager.js';
import type { ServableHandle } from '../core/servable-handle.js';
import { ServableStateMonitor } from '../core/servable-state-monitor.js';
import type { ServableDescription } from '../core/servable-state.js';
import type { ModelVersionPolicy } from '../core/servable-version-policy.js';
import { withTimeout } from '../core/with-timeout.js';
import { ServingError, describeServable } from '../core/serving-error.js';
import { connectSourceToTarget } from '../core/source.js';
import { VersionLabels } from '../core/version-labels.js';
import type { ArtifactFetcher } from '../loaders/artifact-fetcher.js';
import { RunnerServable } from '../loaders/runner-loader.js';
import { ServableLoaderAdapter } from '../loaders/servable-loader-adapter.js';
import type {
  ExecutionProvider,
  ModelConfig,
  ModelMetadata,
  ModelRoutes,
  ModelServerConfig,
  ModelStatus,
  Route,
  RoutingTable,
  RunnerHost,
  RuntimeInfo,
  ServerConfig,
  ServingEvent,
  ShardStatus,
  VersionSelector,
} from '../protocol.js';
import { RepositorySource } from '../sources/repository-source.js';
import { RemoteSource } from '../sources/remote-source.js';
import { RemotePlacements, remoteLoadOptions } from './remote-placement.js';
import { ArtifactStorage } from '../storage/artifact-storage.js';
import type { Manifest } from '../sources/manifest.js';
import { describeValue } from '../core/describe-value.js';
import { validateSelector } from '../core/version-selector.js';
import { ProgressCoalescer } from './progress-coalescer.js';
import type { PrometheusSource } from '../http/prometheus.js';
import { RunnerSupervisor } from './runner-supervisor.js';
import { validateModelServerConfig, validatePlatforms, validateServerOptions } from './server-config.js';
import { Subscribable } from '../core/subscribable.js';

const DEFAULT_PROVIDERS: readonly ExecutionProvider[] = ['webgpu', 'wasm'];

export interface ServingServerDependencies {
  /** Hosts the runner workers (the main thread's RunnerPool, through its DataPlane). */
  readonly host: RunnerHost;
  /** Subscribed before anything starts: sees every event, the first START included. */
  readonly onEvent?: (event: ServingEvent) => void;
  readonly fetch?: typeof fetch;
  /** Replaces the artifact store as the way loaders get their bytes. */
  readonly fetcher?: ArtifactFetcher;
  /** @defaultValue opened from `config.storage` */
  readonly storage?: ArtifactStorage;
}

export class ServingServer extends Subscribable<ServingEvent> {
  readonly #manager: AspiredVersionsManager;
  readonly #monitor: ServableStateMonitor;
  readonly #source: RepositorySource;
  readonly #remoteSource: RemoteSource;
  readonly #placements: RemotePlacements;
  readonly #storage: ArtifactStorage;
  readonly #labels = new VersionLabels();
  readonly #supervisor: RunnerSupervisor;
  readonly #manifestLabels = new Map<string, Readonly<Record<string, number>>>();
  #models = new Map<string, ModelConfig>();
  #closed = false;

  private constructor(options: ServerConfig, deps: ServingServerDependencies) {
    super();
    const platformModules = validatePlatforms(options.platforms ?? {});
    this.#storage = deps.storage!;
    this.#supervisor = new RunnerSupervisor({
      host: deps.host,
      routes: () => this.#routingTable(),
      onEvent: (runner) => this.emit({ type: 'runner', runner }),
      ...(options.maxRunnerRestarts !== undefined ? { maxRestarts: options.maxRunnerRestarts } : {}),
      ...(options.runnerRestartBackoffMs !== undefined ? { restartBackoffMs: options.runnerRestartBackoffMs } : {}),
      ...(options.wasm ? { wasm: options.wasm } : {}),
    });
    this.#manager = new AspiredVersionsManager({
      policy: options.versionPolicy ?? 'availability-preserving',
      ...(options.maxConcurrentLoads !== undefined ? { maxConcurrentLoads: options.maxConcurrentLoads } : {}),
      ...(options.maxLoadRetries !== undefined ? { maxLoadRetries: options.maxLoadRetries } : {}),
      ...(options.loadRetryIntervalMs !== undefined ? { loadRetryIntervalMs: options.loadRetryIntervalMs } : {}),
      ...(options.resourceBudgetBytes !== undefined ? { resourceBudgetBytes: options.resourceBudgetBytes } : {}),
    });
    this.#monitor = new ServableStateMonitor(this.#manager);
    this.#source = new RepositorySource({
      pollIntervalMs: options.pollIntervalMs ?? 30_000,
      ...(deps.fetch ? { fetch: deps.fetch } : {}),
      onManifest: (model, manifest) => this.#onManifest(model, manifest),
      onStatus: (model, status) => this.emit({ type: 'repository', model, status }),
      manifestCache: this.#storage,
    });
    this.#remoteSource = new RemoteSource({
      pollIntervalMs: options.pollIntervalMs ?? 30_000,
      ...(deps.fetch ? { fetch: deps.fetch } : {}),
      onStatus: (model, status) => this.emit({ type: 'repository', model, status }),
    });
    this.#placements = new RemotePlacements({
      supervision: this.#supervisor,
      fetcher: deps.fetcher ?? this.#storage.fetcher,
      resources: {
        fits: (bytes) => this.#manager.resources.fits({ bytes }),
        resize: (id, bytes) => {
          const tracker = this.#manager.resources;
          if (bytes > 0 && !tracker.fits({ bytes })) return false;
          tracker.reserve(id, { bytes });
          return true;
        },
      },
      routesChanged: () => this.#supervisor.routesChanged(),
      pollIntervalMs: options.pollIntervalMs ?? 30_000,
      ...(deps.fetch ? { fetch: deps.fetch } : {}),
    });
    const adapter = new ServableLoaderAdapter({
      supervision: this.#supervisor,
      fetcher: deps.fetcher ?? this.#storage.fetcher,
      platformModules: () => platformModules,
      place: (id, loader) => {
        const config = this.#models.get(id.name);
        return config?.placement === 'prefer-local' || config?.placement === 'prefer-remote' ? this.#placements.place(id, loader, config) : loader;
      },
      loadOptions: (model) => {
        const config = this.#models.get(model);
        return {
          executionProviders: config?.executionProviders ?? options.executionProviders ?? DEFAULT_PROVIDERS,
          warmupRuns: config?.warmupRuns ?? 0,
          ...(config?.runnerGroup !== undefined ? { runnerGroup: config.runnerGroup } : {}),
          ...(config?.maxRunMs !== undefined ? { maxRunMs: config.maxRunMs } : {}),
          ...(config?.platformConfig !== undefined ? { platformConfig: config.platformConfig } : {}),
          // Validated with the config already; this fills in the defaults.
          ...(config?.batching ? { batching: validateBatchingConfig(model, config.batching) } : {}),
          // A model placed on its endpoint: its versions' loaders place the `remote` platform's servable.
          ...(config?.placement === 'remote' ? remoteLoadOptions(config) : {}),
        };
      },
    });
    connectSourceToTarget(this.#source, adapter);
    connectSourceToTarget(this.#remoteSource, adapter);
    connectSourceToTarget(adapter, this.#manager);
    this.#monitor.subscribe((state) => {
      if (state.state === 'AVAILABLE' || state.state === 'END') this.#refreshLabels(state.id.name);
      // An unloaded (or failed) version released its reservation: a prefer-* local side may fit now.
      if (state.state === 'END') this.#placements.resourcesFreed();
      // A version AVAILABLE gains its route; one UNLOADING loses it before its runner drains.
      if (state.state === 'AVAILABLE' || state.state === 'UNLOADING' || state.state === 'END') this.#supervisor.routesChanged();
      this.emit({ type: 'servable-state', state });
    });
    this.#storage.setProtected((model, version) => !!this.#source.status(model)?.versionsAspired.includes(version) || this.#manager.availableVersions(model).includes(version));
    // Downloads report every committed chunk; a UI needs ~10 a second per file and version.
    const progress = new ProgressCoalescer((p) => this.emit({ type: 'download', progress: p }));
    this.#storage.subscribe((p) => progress.push(p));
  }

  /** Validates `config`, then starts polling every model's repository. Rejects with INVALID_ARGUMENT on a bad config. */
  static async create(config: ServerConfig, deps: ServingServerDependencies): Promise<ServingServer> {
    validateServerOptions(config);
    const models = validateModelServerConfig(config);
    const storage = deps.storage ?? (await ArtifactStorage.open(config.storage, deps.fetch ? { fetch: deps.fetch } : {}));
    const server = new ServingServer(config, { ...deps, storage });
    if (deps.onEvent) server.subscribe(deps.onEvent);
    await server.#apply(models);
    return server;
  }

  /** Isolation and cores of this worker, and the ORT facts the last runner reported. */
  runtime(): RuntimeInfo {
    const scope = globalThis as { crossOriginIsolated?: boolean; navigator?: { hardwareConcurrency?: number } };
    return { crossOriginIsolated: scope.crossOriginIsolated === true, hardwareConcurrency: scope.navigator?.hardwareConcurrency ?? 1, ...this.#supervisor.lastRuntime };
  }

  /** What the control worker adds to the Prometheus text: load and warm-up latencies, runner restarts, the store's bytes. */
  async prometheusSamples(): Promise<Omit<PrometheusSource, 'requestCounts'>> {
    const usage = await this.#storage.usage().catch(() => undefined);
    return { ...this.#supervisor.samples(), ...(usage ? { storeBytes: usage.bytes } : {}) };
  }

  /** The main thread saw a runner worker end: its versions are restarted in new runners. */
  runnerExited(runner: string, reason: string): void {
    this.#supervisor.runnerExited(runner, reason);
  }

  /** Resolves when every configured model has been polled and its loads and unloads have settled. */
  async waitForModels(timeoutMs?: number): Promise<void> {
    const settled = (async () => {
      await Promise.all([this.#source.pollAll(), this.#remoteSource.pollAll()]);
      await this.#manager.settled();
    })();
    if (timeoutMs === undefined) return settled;
    return withTimeout(settled, timeoutMs, 'models did not finish loading');
  }

  /**
   * Where a request for `selector` runs (the client checks the route's `apis` against what it
   * asks). Rejects as the request itself would — NOT_FOUND / UNAVAILABLE / FAILED_PRECONDITION (no
   * such or no ready version), INVALID_ARGUMENT (a bad selector) — and waits while the version's
   * runner restarts.
   */
  async route(selector: VersionSelector): Promise<Route> {
    const handle = this.#handleFor(selector);
    try {
      return await handle.servable.route();
    } finally {
      handle.release();
    }
  }

  /** Every known version of `model` with its state, health, labels and provider. Rejects with NOT_FOUND for an unknown model. */
  status(model: string): ModelStatus {
    const states = this.#monitor.getVersionStates(model);
    const repository = this.#source.status(model) ?? this.#remoteSource.status(model);
    if (!this.#models.has(model) && states.length === 0) throw this.#unknownModel(model);
    return {
      model,
      versions: states.map((s) => ({
        version: s.id.version,
        state: s.state,
        labels: this.#labels.labelsOf(model, s.id.version),
        updatedAt: s.timestamp,
        ...(s.error ? { error: s.error } : {}),
        ...this.#liveDescription(model, s.state, s.id.version, s.description),
      })),
      labels: this.#labels.assignments(model),
      ...(repository ? { repository } : {}),
    };
  }

  /** Platform, what it answers, signature and description of the addressed version. Errors as for `predict()`. */
  metadata(selector: VersionSelector): ModelMetadata {
    const handle = this.#handleFor(selector);
    try {
      const { name: model, version } = handle.id;
      const servable = handle.servable;
      const labels = this.#labels.labelsOf(model, version);
      return {
        model,
        version,
        platform: servable.platform,
        apis: servable.apis,
        labels,
        ...(servable.signature ? { signature: servable.signature } : {}),
        description: servable.describe(),
        ...withShards(servable.shards()),
      };
    } finally {
      handle.release();
    }
  }

  /**
   * Replaces the model list: adds, removes and reconfigures models while serving continues.
   * Rejects, changing nothing, with INVALID_ARGUMENT for a malformed config or
   * FAILED_PRECONDITION when a label points at a version that is neither available nor aspired.
   */
  async reloadConfig(config: ModelServerConfig): Promise<void> {
    const validated = validateModelServerConfig(config);
    for (const model of validated.models) this.#checkLabelTargets(model);
    await this.#apply(validated);
  }

  async pollNow(): Promise<void> {
    await Promise.all([this.#source.pollAll(), this.#remoteSource.pollAll()]);
  }

  /** The runtime's description of an AVAILABLE version is current (runner, restarts); others keep what the monitor saw. */
  #liveDescription(model: string, state: string, version: number, seen: ServableDescription | undefined): { description?: ServableDescription; shards?: readonly ShardStatus[] } {
    if (state === 'AVAILABLE') {
      try {
        const handle = this.#manager.getServableHandle<RunnerServable>({ name: model, version });
        try {
          return { description: handle.servable.describe(), ...withShards(handle.servable.shards()) };
        } finally {
          handle.release();
        }
      } catch {
        // Not AVAILABLE any more: fall back to what was seen.
      }
    }
    return seen ? { description: seen } : {};
  }

  /** Every configured model's routes: ONNX versions AVAILABLE on a live runner, the latest of them, and labels pointing at them. */
  #routingTable(): RoutingTable {
    const models: Record<string, ModelRoutes> = {};
    for (const model of this.#models.keys()) {
      const versions: Record<number, Route> = {};
      for (const version of this.#manager.availableVersions(model)) {
        const route = this.#currentRoute(model, version);
        if (route) versions[version] = route;
      }
      const labels: Record<string, Route> = {};
      for (const [label, version] of Object.entries(this.#labels.assignments(model))) {
        if (versions[version]) labels[label] = versions[version]!;
      }
      const latest = this.#manager.availableVersions(model)[0];
      models[model] = { versions, labels, ...(latest !== undefined && versions[latest] ? { latest: versions[latest] } : {}) };
    }
    return { models };
  }

  #currentRoute(model: string, version: number): Route | undefined {
    try {
      const handle = this.#manager.getServableHandle<RunnerServable>({ name: model, version });
      try {
        return handle.servable.currentRoute;
      } finally {
        handle.release();
      }
    } catch {
      return undefined;
    }
  }

  /** Stops polling and unloads everything, waiting for requests in flight. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#source.stop();
    this.#remoteSource.stop();
    await this.#manager.close();
    this.#placements.close();
    this.#storage.close();
  }

  /** The artifact store: `list()`, `delete()`, `usage()`. */
  get storage(): ArtifactStorage {
    return this.#storage;
  }

  async #apply(config: ModelServerConfig): Promise<void> {
    this.#models = new Map(config.models.map((m) => [m.name, m]));
    for (const model of this.#labels.models()) if (!this.#models.has(model)) this.#labels.delete(model);
    for (const model of config.models) this.#updateDesiredLabels(model.name);
    // A model placed only remotely has no repository: its versions come from its endpoint.
    const local = config.models.filter((m): m is ModelConfig & { basePath: string } => m.basePath !== undefined && m.placement !== 'remote');
    const remote = config.models.filter((m): m is ModelConfig & { remote: NonNullable<ModelConfig['remote']> } => m.placement === 'remote' && m.remote !== undefined);
    await Promise.all([
      this.#source.configure(local.map((m) => ({ name: m.name, basePath: m.basePath, modelVersionPolicy: m.modelVersionPolicy as ModelVersionPolicy }))),
      this.#remoteSource.configure(remote.map((m) => ({ name: m.name, remote: m.remote, modelVersionPolicy: m.modelVersionPolicy as ModelVersionPolicy }))),
    ]);
  }

  #checkLabelTargets(model: ModelConfig): void {
    const repository = this.#source.status(model.name);
    if (!repository || !model.versionLabels) return;
    const available = new Set(this.#manager.availableVersions(model.name));
    const aspired = new Set(repository.versionsAspired);
    for (const [label, version] of Object.entries(model.versionLabels)) {
      if (!available.has(version) && !aspired.has(version)) {
        throw new ServingError(
          'FAILED_PRECONDITION',
          `model "${model.name}": label "${label}" cannot point to version ${version}: it is neither available nor selected by the version policy (available: ${[...available].join(', ') || 'none'})`,
          { model: model.name, version, label },
        );
      }
    }
  }

  #onManifest(model: string, manifest: Manifest): void {
    this.#manifestLabels.set(model, manifest.labels ?? {});
    this.#updateDesiredLabels(model);
  }

  #updateDesiredLabels(model: string): void {
    const config = this.#models.get(model);
    if (!config) return;
    this.#labels.setDesired(model, { ...this.#manifestLabels.get(model), ...config.versionLabels });
    this.#refreshLabels(model);
  }

  #refreshLabels(model: string): void {
    const available = new Set(this.#manager.availableVersions(model));
    this.#labels.refresh(model, (version) => available.has(version));
  }

  #handleFor(selector: VersionSelector): ServableHandle<RunnerServable> {
    const { model, version, label } = validateSelector(selector);
    if (!this.#models.has(model)) throw this.#unknownModel(model);
    try {
      if (label !== undefined) {
        const labelled = this.#resolveLabel(model, label);
        try {
          return this.#manager.getServableHandle({ name: model, version: labelled });
        } catch (error) {
          throw ServingError.from(error).withDetails({ label });
        }
      }
      return this.#manager.getServableHandle(version === undefined ? { name: model } : { name: model, version });
    } catch (error) {
      throw this.#withRepositoryCause(model, ServingError.from(error));
    }
  }

  /**
   * The label's version; a label waiting for a version that will never come says why, instead of
   * UNAVAILABLE forever: the version policy does not select it, or the repository does not have
   * it, or it failed to load.
   */
  #resolveLabel(model: string, label: string): number {
    try {
      return this.#labels.resolve(model, label);
    } catch (error) {
      const waiting = ServingError.from(error);
      const version = waiting.version;
      const repository = this.#source.status(model);
      if (waiting.code !== 'UNAVAILABLE' || version === undefined || !repository?.lastPolledAt) throw waiting;
      const details = { model, label, version };
      const found = repository.versionsFound;
      if (!found.includes(version)) {
        throw new ServingError('FAILED_PRECONDITION', `model "${model}": label "${label}" points at version ${version}, which the repository does not have (versions found: ${found.join(', ') || 'none'}); move the label or publish version ${version}`, details);
      }
      if (!repository.versionsAspired.includes(version)) {
        const policy = describeValue(this.#models.get(model)?.modelVersionPolicy ?? { latest: { numVersions: 1 } });
        throw new ServingError(
          'FAILED_PRECONDITION',
          `model "${model}": label "${label}" points at version ${version}, which the model version policy ${policy} does not select (it serves: ${repository.versionsAspired.join(', ') || 'none'}); use modelVersionPolicy: { all: {} } or { specific: { versions: [...] } } including ${version}, or move the label`,
          details,
        );
      }
      const failed = this.#monitor.getState({ name: model, version });
      if (failed?.state === 'END' && failed.error) {
        throw new ServingError('FAILED_PRECONDITION', `model "${model}": label "${label}" points at version ${version}, which failed to load: ${failed.error.code}: ${failed.error.message}`, details);
      }
      throw waiting;
    }
  }

  /** A model whose repository cannot be read says so in every NOT_FOUND / UNAVAILABLE about it: that is the cause, not the symptom. */
  #withRepositoryCause(model: string, error: ServingError): ServingError {
    const remote = this.#remoteSource.status(model);
    const repository = this.#source.status(model) ?? remote;
    if (!repository?.error || (error.code !== 'NOT_FOUND' && error.code !== 'UNAVAILABLE')) return error;
    const cause = repository.error.message.replace(`model "${model}": `, '');
    const hint = remote ? ` — check the model's remote.url (${remote.basePath}) and remote.protocol` : repository.fromCache ? '' : ` — check the model's basePath (${repository.basePath}) and that its manifest.json was written (npx browserving manifest <dir>)`;
    const wrapped = new ServingError(error.code, `${error.message}; its repository cannot be read: ${cause}${hint}`, error);
    if (error.stack !== undefined) wrapped.stack = error.stack;
    return wrapped;
  }

  #unknownModel(model: string): ServingError {
    const known = [...this.#models.keys()];
    return new ServingError('NOT_FOUND', `model "${model}" is not configured (models: ${known.length ? known.join(', ') : 'none'})`, { model });
  }
}

/** `{ shards }` for a sharded table version, `{}` for any other. */
function withShards(shards: readonly ShardStatus[] | undefined): { shards?: readonly ShardStatus[] } {
  return shards ? { shards } : {};
}
