/**
 * The contract between the main thread and the serving worker — types only.
 *
 * Both sides import these types and nothing else from each other. Everything here is plain,
 * structured-cloneable data: it crosses `postMessage` (through Comlink) as is. Errors cross as
 * `ServingError` through the transfer handler in `wire-errors.ts`.
 */
import type { ErrorCode, ServingErrorJSON } from './core/serving-error.js';
import type { ManagerState, ServableDescription, ServableState } from './core/servable-state.js';
import type { ModelVersionPolicy } from './core/servable-version-policy.js';
import type { VersionPolicyName } from './core/aspired-version-policy.js';
import type { ServableApi } from './platforms/platform.js';

// ───────────────────────────── tensors ─────────────────────────────

/** Element types, named as onnxruntime-web names them. */
export type TensorType =
  | 'float32'
  | 'float64'
  | 'float16'
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'uint64'
  | 'bool'
  | 'string';

export type TypedArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/**
 * A tensor on the wire. `data` is the typed array matching `type` (`BigInt64Array` for int64,
 * `Uint8Array` for bool, `Uint16Array` for float16, `string[]` for string), laid out row-major,
 * with exactly `dims` product elements. `dims` is `[]` for a scalar.
 */
export interface TensorData {
  readonly type: TensorType;
  readonly data: TypedArray | readonly string[];
  readonly dims: readonly number[];
}

/** One input or output in a signature. `shape` entries: a fixed size, a symbolic name, or `null` when unknown. */
export interface TensorSpec {
  readonly name: string;
  readonly type: TensorType;
  readonly shape: readonly (number | string | null)[];
}

export interface Signature {
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
}

// ───────────────────────────── configuration ─────────────────────────────

export type ExecutionProvider = 'webgpu' | 'wasm';

/** One model (one servable stream) to serve. */
export interface ModelConfig {
  /** The name clients ask for. */
  readonly name: string;
  /** URL of the model's repository: `<basePath>/manifest.json`, `<basePath>/<version>/<files>`. Relative URLs resolve against the page. Required unless `placement` is `remote`. */
  readonly basePath?: string;
  /** Which versions found in the repository to serve. @defaultValue `{ latest: { numVersions: 1 } }` */
  readonly modelVersionPolicy?: ModelVersionPolicy;
  /** Label → version, e.g. `{ stable: 1, canary: 2 }`. Merged over labels in the manifest; config wins. */
  readonly versionLabels?: Readonly<Record<string, number>>;
  /** Overrides the server's provider preference for this model. */
  readonly executionProviders?: readonly ExecutionProvider[];
  /**
   * Inference runs made while loading, before the version becomes AVAILABLE (shader compilation,
   * memory planning). Uses the version's `warmup.json` when the manifest lists one, otherwise
   * zero-filled inputs shaped from the signature. @defaultValue 0
   */
  readonly warmupRuns?: number;
  /**
   * Merges concurrent predictions on one version into one session run (TF Serving's batching
   * layer). Off when absent. Read when a version loads: a changed setting applies to versions
   * loaded afterwards. A version whose signature has no batch dimension fails to load with
   * FAILED_PRECONDITION when this is set.
   */
  readonly batching?: BatchingConfig;
  /**
   * Runner workers are where versions run: by default each loaded ONNX version gets a runner of
   * its own (~30 MB for its onnxruntime-web instance; unloading terminates it and returns all its
   * memory). Versions of models naming the same group share one runner instead: less memory
   * per version, but their runs take turns on one thread, and an unloaded version's memory
   * returns only once the whole group's runner ends.
   */
  readonly runnerGroup?: string;
  /**
   * A run that goes on longer than this is taken as stuck: its callers get DEADLINE_EXCEEDED and
   * the runner is terminated and replaced (the version reloads from the store). Measured as time
   * without any answer from the runner while requests are pending, so make it exceed the longest
   * legitimate run (plus `batchTimeoutMicros` with batching). @defaultValue no limit
   */
  readonly maxRunMs?: number;
  /** Handed to the loader of the model's platform (an app's platform reads it as `version.config`); structured-cloneable. */
  readonly platformConfig?: unknown;
  /** A remote TF Serving or KServe endpoint serving this model: where `placement` may send its requests. */
  readonly remote?: RemoteEndpointConfig;
  /**
   * Where the model's requests run. `local` (default): in this page's runners. `remote`: on
   * `remote` only; the versions, their signatures and readiness come from the endpoint.
   * `prefer-local`: locally, and on `remote` while the local version cannot serve (its load
   * failed, it does not fit `resourceBudgetBytes`, its runner died and is not back yet).
   * `prefer-remote`: on `remote` while it answers, locally when it is unreachable or failing.
   * With `prefer-*` the versions come from `basePath` and the endpoint must serve the same
   * version numbers. @defaultValue 'local'
   */
  readonly placement?: Placement;
}

/** Where a model's requests run; see `ModelConfig.placement`. */
export type Placement = 'local' | 'prefer-local' | 'remote' | 'prefer-remote';

/** A remote TF Serving (REST API) or KServe (Open Inference Protocol v2, REST) endpoint. */
export interface RemoteEndpointConfig {
  /** The server's root, e.g. `https://tfs.example.com:8501` (TF Serving's --rest_api_port) or an InferenceService's URL; a relative URL resolves against the page (a same-origin proxy). The only origin contacted for this model. */
  readonly url: string;
  readonly protocol: 'tfserving' | 'kserve-v2';
  /** The model's name on the endpoint. @defaultValue the model's `name` */
  readonly model?: string;
  /** Sent with every request to the endpoint (e.g. `Authorization`). Nothing else is added. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Whether cookies and HTTP auth go along (fetch's `credentials`). @defaultValue 'omit' */
  readonly credentials?: 'omit' | 'same-origin' | 'include';
  /** Longest wait for one request to the endpoint; DEADLINE_EXCEEDED after. A request's own `timeoutMs` applies too. @defaultValue 30000 */
  readonly timeoutMs?: number;
  /** KServe: send and receive tensors with the binary tensor extension when the server lists it. @defaultValue true */
  readonly binary?: boolean;
  /** How often the endpoint's versions are read (`remote`), and how often an endpoint found failing is asked again (`prefer-*`). @defaultValue the server's `pollIntervalMs`, at most 5000 for the re-check */
  readonly probeIntervalMs?: number;
}

/**
 * TF Serving's `BatchingParameters`, per model. Requests are concatenated along dimension 0
 * (every input's and output's first dimension must be symbolic), run once, and each caller gets
 * exactly its own rows back.
 */
export interface BatchingConfig {
  /** Most rows one session run takes. A request with more rows than this runs alone. */
  readonly maxBatchSize: number;
  /** How long a batch that is not full waits for more requests, in microseconds. 0: a batch runs as soon as the session is free. @defaultValue 0 */
  readonly batchTimeoutMicros?: number;
  /** Batches that may wait for the session; a request that needs one more is rejected with UNAVAILABLE. @defaultValue 10 */
  readonly maxEnqueuedBatches?: number;
  /** Batch sizes a run may have, increasing, the last equal to `maxBatchSize`: a batch is padded up to the next one (copies of its first row), and the padding rows are dropped from the outputs. @defaultValue any size */
  readonly allowedBatchSizes?: readonly number[];
  /**
   * Lets requests whose inputs differ in non-batch dimensions share a batch, by padding each
   * input to the largest size in the batch (with the tensor's first element, as TF Serving
   * does). Outputs are not un-padded: a caller receives them in the batch's padded shape. Only
   * safe for models whose results do not depend on the padding. @defaultValue false
   */
  readonly padVariableLengthInputs?: boolean;
}

/** The part of the configuration `reloadConfig()` may change at run time. */
export interface ModelServerConfig {
  readonly models: readonly ModelConfig[];
}

/** Settings fixed for the life of the worker. */
export interface ServerOptions {
  /** How often each model's manifest is polled for new versions; 0 polls once. @defaultValue 30000 */
  readonly pollIntervalMs?: number;
  /** @defaultValue 'availability-preserving' */
  readonly versionPolicy?: VersionPolicyName;
  /** @defaultValue 2 */
  readonly maxConcurrentLoads?: number;
  /** @defaultValue 2 */
  readonly maxLoadRetries?: number;
  /** @defaultValue 1000 */
  readonly loadRetryIntervalMs?: number;
  /** Times a version whose runner died is reloaded in a new runner before it is given up on. @defaultValue 3 */
  readonly maxRunnerRestarts?: number;
  /** Wait before the first restart attempt after a failed one; doubled each time. @defaultValue 250 */
  readonly runnerRestartBackoffMs?: number;
  /** Bytes all loaded versions may hold together (estimated from artifact sizes). @defaultValue Infinity */
  readonly resourceBudgetBytes?: number;
  /** Preference order; the first that starts is used and recorded per version. @defaultValue ['webgpu', 'wasm'] */
  readonly executionProviders?: readonly ExecutionProvider[];
  /** onnxruntime-web WASM settings, applied once before the first session is created. */
  readonly wasm?: {
    /** Threads for the WASM backend; 1 when the page is not cross-origin isolated. @defaultValue min(4, ceil(cores / 2)) when cross-origin isolated (ORT's default), else 1 */
    readonly numThreads?: number;
    /** Where ORT's `.wasm`/`.mjs` files are served from (a URL prefix ending in `/`). @defaultValue beside the worker script */
    readonly wasmPaths?: string;
  };
  /** The offline-first artifact store (IndexedDB): downloads once, survives reloads, serves offline. */
  readonly storage?: StorageOptions;
  /**
   * The app's platforms, by name: the URL of each one's module (see `PlatformModule`). The
   * workers import it, so it must be an ES module they can fetch (same origin, or CORS and, on
   * an isolated page, CORP). `onnx` and `table` are built in.
   */
  readonly platforms?: Readonly<Record<string, string | URL>>;
}

/** Settings of the artifact store. Read once, when the worker starts. */
export interface StorageOptions {
  /** Keep artifacts in IndexedDB. When false, or when IndexedDB is unavailable, every load downloads (memory-only mode). @defaultValue true */
  readonly enabled?: boolean;
  /**
   * Where model files' bytes are kept: `opfs`, the Origin Private File System (written from the
   * worker with no copy per chunk; records stay in IndexedDB), or `indexeddb`. `auto` takes OPFS
   * where the browser offers sync access handles, else IndexedDB. @defaultValue 'auto'
   */
  readonly backend?: 'auto' | 'opfs' | 'indexeddb';
  /** Bytes per stored chunk: a cut download resumes from the last whole chunk. At least 64 KiB. @defaultValue 4 MiB */
  readonly chunkBytes?: number;
  /** Bytes the store may hold; least recently used versions that are neither aspired nor serving are evicted to make room. @defaultValue no limit but the origin's quota */
  readonly budgetBytes?: number;
  /** Ask the browser to make the origin's storage persistent (`navigator.storage.persist()`), so it is not cleared under pressure. @defaultValue false */
  readonly persist?: boolean;
  /** Retries of a download cut off mid-body or failing with a network error or HTTP 5xx, each resuming where the last stopped. */
  readonly retry?: {
    /** @defaultValue 3 */
    readonly maxRetries?: number;
    /** Wait before the first retry; doubled for each one after. @defaultValue 500 */
    readonly backoffMs?: number;
  };
}

export interface ServerConfig extends ServerOptions, ModelServerConfig {}

// ───────────────────────────── requests ─────────────────────────────

/** Which version a request addresses: `version`, or `label`, or neither for the latest available. */
export interface VersionSelector {
  readonly model: string;
  readonly version?: number;
  readonly label?: string;
}

export interface PredictRequestWire extends VersionSelector {
  readonly inputs: Readonly<Record<string, TensorData>>;
  /** Outputs to compute; all when absent. */
  readonly outputs?: readonly string[];
  /** Fails with DEADLINE_EXCEEDED when the request has not completed within this time. */
  readonly timeoutMs?: number;
}

export interface PredictResponse {
  readonly model: string;
  readonly version: number;
  readonly outputs: Record<string, TensorData>;
}

export interface LookupRequestWire extends VersionSelector {
  /** All strings (key → value) or all integers (index → entry). */
  readonly keys: readonly string[] | readonly number[];
}

/** JSON values a table may hold. */
export type TableValue = string | number | boolean | null | readonly TableValue[] | { readonly [key: string]: TableValue };

export interface LookupResponse {
  readonly model: string;
  readonly version: number;
  /** One per key, `null` where the key is not in the table. */
  readonly values: TableValue[];
}

// ───────────────────────────── status, metadata, events ─────────────────────────────

export interface ModelVersionStatus {
  readonly version: number;
  readonly state: ManagerState;
  /** Set when the version is unhealthy (failed to load). */
  readonly error?: ServingErrorJSON;
  /** Labels pointing at this version. */
  readonly labels: readonly string[];
  /** What the loader reported, e.g. `{ kind: 'onnx', provider: 'wasm', providerFallback: 'webgpu: no adapter' }`. */
  readonly description?: ServableDescription;
  /** A sharded table version (AVAILABLE): each shard, its runner and health. */
  readonly shards?: readonly ShardStatus[];
  readonly updatedAt: number;
}

/** One shard of a sharded table version, as status and metadata describe it. */
export interface ShardStatus {
  readonly shard: number;
  /** Its files in the version folder. */
  readonly files: readonly string[];
  /** A vocabulary's shard: the indices it answers (`end` exclusive); string keys go to shards by hash. */
  readonly indices?: { readonly start: number; readonly end: number };
  /** Memory it was estimated to hold once loaded (its own budget share). */
  readonly estimatedBytes?: number;
  /** Its runner's facts: `runner`, `keys` (strings it holds), `restarts`, `lastExit`, `runnerState` while restarting or failed. */
  readonly description: ServableDescription;
}

export interface RepositoryStatus {
  readonly basePath: string;
  /** Versions listed in the last manifest read. */
  readonly versionsFound: readonly number[];
  /** Versions the model version policy selects among them. */
  readonly versionsAspired: readonly number[];
  readonly lastPolledAt?: number;
  /** The last poll's failure; cleared by a successful poll. */
  readonly error?: ServingErrorJSON;
  /** True while the versions come from the manifest cached in the artifact store (the repository could not be reached): only fully stored versions are listed. */
  readonly fromCache?: boolean;
}

export interface ModelStatus {
  readonly model: string;
  /** Highest version first. */
  readonly versions: readonly ModelVersionStatus[];
  readonly labels: Readonly<Record<string, number>>;
  readonly repository?: RepositoryStatus;
}

/** The built-in platforms. */
export type ServableKind = 'onnx' | 'table' | 'pipeline';

export interface ModelMetadata {
  readonly model: string;
  readonly version: number;
  /** `onnx`, `table`, or the app's platform that loaded it. */
  readonly platform: string;
  /** What it answers: `predict`, `stream`, `lookup`, `call:<method>`. */
  readonly apis: readonly ServableApi[];
  readonly labels: readonly string[];
  /** Inputs and outputs with dtypes and shapes: ONNX servables, and platforms' servables that declare one. */
  readonly signature?: Signature;
  /** What the loader and the servable say (provider, runner; a table's `tableType` and `size`). */
  readonly description?: ServableDescription;
  /** A sharded table version: each shard, its runner and health. */
  readonly shards?: readonly ShardStatus[];
}

export interface LatencySummary {
  readonly count: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export interface ModelMetrics {
  readonly requests: number;
  readonly errors: Partial<Record<ErrorCode, number>>;
  /** Inference runs on the model's sessions (fewer than requests when batching merges them). */
  readonly runs: number;
  readonly latency: LatencySummary;
  /** Present once a batching-enabled version of the model has run. */
  readonly batching?: BatchingMetrics;
  /** Requests by where they ran (`ModelConfig.placement`), failed ones included; present once a request went to a remote endpoint. */
  readonly placements?: { readonly local: number; readonly remote: number };
}

/** What batching did, over every batched session run of a model. */
export interface BatchingMetrics {
  /** Session runs made by the batching layer. */
  readonly batches: number;
  /** Requests those runs served (requests ÷ batches = requests merged per run). */
  readonly requests: number;
  /** Mean rows per run, without padding. */
  readonly meanBatchSize: number;
  readonly maxBatchSize: number;
  /** Rows added to reach an allowed batch size, in total. */
  readonly paddingRows: number;
}

export interface RuntimeInfo {
  readonly crossOriginIsolated: boolean;
  readonly hardwareConcurrency: number;
  readonly ortVersion?: string;
  readonly wasmThreads?: number;
  readonly webgpuAdapter?: string;
}

export interface MetricsSnapshot {
  readonly models: Readonly<Record<string, ModelMetrics>>;
  readonly runtime: RuntimeInfo;
}

export type ServingEvent =
  | { readonly type: 'servable-state'; readonly state: ServableState }
  | { readonly type: 'runner'; readonly runner: RunnerEvent }
  | { readonly type: 'control'; readonly state: 'exited' | 'restarted'; readonly reason: string }
  | { readonly type: 'repository'; readonly model: string; readonly status: RepositoryStatus }
  | { readonly type: 'download'; readonly progress: DownloadProgress };

// ───────────────────────────── artifact storage ─────────────────────────────

/**
 * Where a file (or a whole version) is on its way into the store. Transitions:
 * queued → downloading → verifying → cached, or → failed from any of them; a file already
 * stored goes queued → verifying → cached without downloading.
 */
export type DownloadState = 'queued' | 'downloading' | 'verifying' | 'cached' | 'failed';

/** Progress of one file (`file` set) or of a whole version (`file` absent). `bytesDone` never decreases and ends at `bytesTotal` when cached. */
export interface DownloadProgress {
  readonly model: string;
  readonly version: number;
  readonly file?: string;
  readonly state: DownloadState;
  readonly bytesDone: number;
  readonly bytesTotal: number;
  /** Set when `state` is `failed`. */
  readonly error?: ServingErrorJSON;
}

/** One version held in the artifact store. */
export interface StoredVersion {
  readonly model: string;
  readonly version: number;
  /** Bytes stored, partial downloads included. */
  readonly bytes: number;
  /** Every file of the version is stored whole. */
  readonly complete: boolean;
  readonly files: readonly { readonly path: string; readonly size: number; readonly storedBytes: number }[];
  /** When the version was last loaded from (or into) the store, ms since the epoch. */
  readonly lastUsedAt: number;
}

export interface StorageUsage {
  /** `opfs`: files in the Origin Private File System, records in IndexedDB; `indexeddb`: both in IndexedDB; `memory`: nothing survives the worker (IndexedDB unavailable, or `storage.enabled: false`). */
  readonly mode: 'opfs' | 'indexeddb' | 'memory';
  /** Bytes the store holds. */
  readonly bytes: number;
  /** `storage.budgetBytes`, or null without one. */
  readonly budgetBytes: number | null;
  /** `navigator.storage.estimate()` for the whole origin, when the browser reports it. */
  readonly originUsage?: number;
  readonly originQuota?: number;
  /** Whether the origin's storage is persistent. */
  readonly persisted: boolean;
  /** Why the store is memory-only, when it is. */
  readonly warning?: string;
}

// ───────────────────────────── the worker's API ─────────────────────────────

/**
 * The routes of the data plane, pushed by the control worker to the main thread whenever a
 * version becomes AVAILABLE, goes, or moves to another runner, or a label moves: which runner
 * serves each version (every shard's, for a sharded table), the latest, and each label.
 */
export interface RoutingTable {
  /** Every configured model, routed or not. */
  readonly models: Readonly<Record<string, ModelRoutes>>;
}

export interface ModelRoutes {
  readonly latest?: Route;
  readonly versions: Readonly<Record<number, Route>>;
  readonly labels: Readonly<Record<string, Route>>;
}

export interface Route {
  readonly runner: string;
  /** The servable's key on that runner. */
  readonly key: string;
  readonly version: number;
  /** What the servable answers. */
  readonly apis: readonly ServableApi[];
  /** `remote`: the servable forwards to a remote endpoint (`ModelConfig.placement`); absent: local. */
  readonly placement?: 'local' | 'remote';
  /** The model may serve elsewhere (`prefer-*`): the client sends a copy of the inputs, and a request whose runner died moves instead of failing. */
  readonly failover?: true;
  /**
   * A sharded table version: its shards in order, each on a runner of its own (`runner` and `key`
   * above are shard 0's). A lookup sends each key to the shard that holds it — a string by hash,
   * an index by `indices` (src/sources/table-shards.ts) — and merges the answers.
   */
  readonly shards?: readonly RouteShard[];
}

/** Where one shard of a sharded table version runs. */
export interface RouteShard {
  readonly runner: string;
  readonly key: string;
  /** A vocabulary's shard: the indices it answers (`end` exclusive). */
  readonly indices?: { readonly start: number; readonly end: number };
}

/** A runner's life as events report it. */
export interface RunnerEvent {
  readonly runner: string;
  readonly model: string;
  readonly version: number;
  /** The shard of a sharded table version the runner hosted. */
  readonly shard?: number;
  /** `exited`: it died (reason set); `restarting`: a new runner is loading the version from the store; `restarted`; `failed`: restarts gave up (error set). */
  readonly state: 'exited' | 'restarting' | 'restarted' | 'failed';
  readonly reason?: string;
  readonly restarts: number;
  readonly error?: ServingErrorJSON;
}

/**
 * What the main thread offers the control worker (over Comlink): it hosts the runner workers,
 * because predictions must reach a runner on its own Worker channel, with no extra hop.
 */
export interface RunnerHost {
  /** Places a servable on a runner (a new one, or the live one of `group`); resolves with where and how it loaded. */
  load(spec: import('./protocol/runner.js').RunnerLoadSpec, group?: string): Promise<import('./protocol/runner.js').RunnerLoadResult & { readonly runner: string }>;
  /** Drains and releases the servable; terminates its runner when it hosts nothing else. */
  unload(runner: string, key: string): Promise<void>;
  /** Replaces the main thread's routing table. */
  routes(table: RoutingTable): void;
}

/** What the control worker exposes over Comlink. Every method may reject with a ServingError. */
export interface WorkerApi {
  start(config: ServerConfig, events: (event: ServingEvent) => void, host: RunnerHost): Promise<RuntimeInfo>;
  /** Resolves once every configured model's first manifest poll is done and its aspired versions have settled (AVAILABLE or END). */
  waitForModels(timeoutMs?: number): Promise<void>;
  /**
   * Where a request for `selector` goes. Rejects as a request would (NOT_FOUND, UNAVAILABLE,
   * FAILED_PRECONDITION); waits while the version's runner restarts.
   */
  route(selector: VersionSelector): Promise<Route>;
  /** The main thread saw a runner die. */
  runnerExited(runner: string, reason: string): void;
  status(model: string): ModelStatus;
  metadata(selector: VersionSelector): ModelMetadata;
  reloadConfig(config: ModelServerConfig): Promise<void>;
  /** Polls every model's repository now instead of waiting for the next interval. */
  poll(): Promise<void>;
  /** The runtime as the control worker knows it (isolation, and ORT facts reported by runners). */
  runtime(): RuntimeInfo;
  /** Load and warm-up latencies, runner restarts and the store's bytes, for the Prometheus text. */
  prometheusSamples(): Promise<Omit<import('./http/prometheus.js').PrometheusSource, 'requestCounts'>>;
  /** Versions held in the artifact store. */
  storageList(): Promise<StoredVersion[]>;
  /** Removes a model's stored versions (one, or all and its cached manifest); waits for a download of them in progress. */
  storageDelete(model: string, version?: number): Promise<void>;
  storageUsage(): Promise<StorageUsage>;
  close(): Promise<void>;
}
