/**
 * RepositorySource: discovers model versions by polling each model's `manifest.json` over
 * HTTP and aspires the versions its model version policy selects (TF Serving's
 * `FileSystemStoragePathSource`, with `file_system_poll_wait_seconds` as `pollIntervalMs`).
 *
 * Contract:
 * - Each poll is a conditional request (`If-None-Match` with the last ETag); a 304, or a body
 *   identical to the last one, changes nothing.
 * - A manifest that cannot be fetched or parsed is recorded in the model's repository status
 *   and changes nothing else: versions already aspired stay aspired (and serving).
 * - Offline first: with a `manifestCache`, every manifest applied is saved there; when a model
 *   has no manifest yet and its repository cannot be reached (network error, HTTP error), the
 *   cached one is used instead — reduced by the cache to the versions stored whole — and the
 *   status says `fromCache` until a poll succeeds.
 * - A version that appears is aspired (if the policy selects it), one that disappears is no
 *   longer aspired. Manifest labels are reported through `onManifest`; they never cause a reload.
 * - `configure()` replaces the model list: new models are polled at once, removed models get
 *   an empty aspired list (unloading them), a changed policy is applied to the last manifest.
 */
import type { ModelVersionPolicy } from '../core/servable-version-policy.js';
import { selectAspiredVersions } from '../core/servable-version-policy.js';
import { ServingError } from '../core/serving-error.js';
import type { AspiredVersionsCallback, Source } from '../core/source.js';
import type { RepositoryStatus } from '../protocol.js';
import { MANIFEST_FORMAT, ONNX_MODEL_FILE, isSingleModelUrl, manifestUrl, parseManifest, versionUrl, type Manifest, type ManifestVersion } from './manifest.js';

export interface RepositoryModel {
  readonly name: string;
  /** Absolute URL. */
  readonly basePath: string;
  readonly modelVersionPolicy: ModelVersionPolicy;
}

/** Where one version lives: what the source hands to the loader adapter. */
export interface VersionLocation {
  readonly model: string;
  readonly versionUrl: string;
  readonly entry: ManifestVersion;
}

/** Where the last manifest of each base path is kept, for when the repository cannot be reached. */
export interface ManifestCache {
  save(model: string, basePath: string, text: string): Promise<void>;
  /** The last manifest saved for `basePath`, keeping only the versions that can load without the network; undefined when none. */
  load(model: string, basePath: string): Promise<Manifest | undefined>;
}

export interface RepositorySourceOptions {
  /** 0 polls once, at `configure()`. */
  readonly pollIntervalMs: number;
  readonly fetch?: typeof fetch;
  /** Called after each manifest change is applied. */
  readonly onManifest?: (model: string, manifest: Manifest) => void;
  /** Called after every poll with the model's repository status. */
  readonly onStatus?: (model: string, status: RepositoryStatus) => void;
  readonly manifestCache?: ManifestCache;
}

interface ModelEntry {
  config: RepositoryModel;
  etag?: string;
  text?: string;
  manifest?: Manifest;
  lastPolledAt?: number;
  error?: ServingError;
  polling?: Promise<void>;
  /** The manifest came from the cache: the repository has not answered yet. */
  fromCache?: boolean;
}

export class RepositorySource implements Source<VersionLocation> {
  readonly #options: RepositorySourceOptions;
  readonly #fetch: typeof fetch;
  readonly #models = new Map<string, ModelEntry>();
  #callback: AspiredVersionsCallback<VersionLocation> | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;

  constructor(options: RepositorySourceOptions) {
    this.#options = options;
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  setAspiredVersionsCallback(callback: AspiredVersionsCallback<VersionLocation>): void {
    this.#callback = callback;
  }

  /** Replaces the model list. Resolves once every new or moved model has been polled once. */
  async configure(models: readonly RepositoryModel[]): Promise<void> {
    const wanted = new Map(models.map((m) => [m.name, m]));
    for (const name of [...this.#models.keys()]) {
      if (!wanted.has(name)) {
        this.#models.delete(name);
        this.#callback?.(name, []);
      }
    }
    const toPoll: string[] = [];
    for (const model of models) {
      const entry = this.#models.get(model.name);
      if (!entry || entry.config.basePath !== model.basePath) {
        this.#models.set(model.name, { config: model });
        toPoll.push(model.name);
      } else if (JSON.stringify(entry.config.modelVersionPolicy) !== JSON.stringify(model.modelVersionPolicy)) {
        entry.config = model;
        if (entry.manifest) this.#emit(entry);
      }
    }
    await Promise.all(toPoll.map((name) => this.#poll(name)));
    this.#schedule();
  }

  /** Polls every model now. */
  async pollAll(): Promise<void> {
    await Promise.all([...this.#models.keys()].map((name) => this.#poll(name)));
  }

  status(model: string): RepositoryStatus | undefined {
    const entry = this.#models.get(model);
    return entry && statusOf(entry);
  }

  manifest(model: string): Manifest | undefined {
    return this.#models.get(model)?.manifest;
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    if (this.#stopped || this.#options.pollIntervalMs <= 0) return;
    this.#timer = setTimeout(() => {
      void this.pollAll().finally(() => this.#schedule());
    }, this.#options.pollIntervalMs);
  }

  /** One poll of one model; concurrent calls share the poll in flight. */
  #poll(name: string): Promise<void> {
    const entry = this.#models.get(name);
    if (!entry) return Promise.resolve();
    entry.polling ??= this.#fetchManifest(entry).finally(() => {
      entry.polling = undefined;
      entry.lastPolledAt = Date.now();
      if (this.#models.get(name) === entry) this.#options.onStatus?.(name, statusOf(entry));
    });
    return entry.polling;
  }

  async #fetchManifest(entry: ModelEntry): Promise<void> {
    await this.#readManifest(entry);
    if (entry.error && entry.error.code !== 'INVALID_ARGUMENT' && !entry.manifest) await this.#fallBackToCache(entry);
  }

  /** Serves the cached manifest while the repository cannot be reached and nothing better is known. */
  async #fallBackToCache(entry: ModelEntry): Promise<void> {
    const { name, basePath } = entry.config;
    const manifest = await this.#options.manifestCache?.load(name, basePath).catch(() => undefined);
    if (!manifest || entry.manifest || this.#models.get(name) !== entry) return;
    entry.manifest = manifest;
    entry.fromCache = true;
    this.#emit(entry);
    this.#options.onManifest?.(name, manifest);
  }

  async #readManifest(entry: ModelEntry): Promise<void> {
    const { name, basePath } = entry.config;
    if (isSingleModelUrl(basePath)) return this.#readSingleModel(entry);
    const url = manifestUrl(basePath);
    const response = await this.#conditionalFetch(entry, url, 'GET');
    if (!response) return;
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      entry.error = new ServingError('UNAVAILABLE', `model "${name}": reading ${url} failed: ${(error as Error).message}`, { model: name }, { cause: error });
      return;
    }
    await this.#applyText(entry, url, text, response.headers.get('ETag') ?? undefined);
  }

  /**
   * A conditional request for `url` (If-None-Match with the last ETag). Resolves with a 2xx
   * response; otherwise records why on the entry (or clears the error on a 304) and resolves undefined.
   */
  async #conditionalFetch(entry: ModelEntry, url: string, method: 'GET' | 'HEAD'): Promise<Response | undefined> {
    const { name } = entry.config;
    let response: Response;
    try {
      response = await this.#fetch(url, { method, cache: 'no-store', headers: entry.etag ? { 'If-None-Match': entry.etag } : {} });
    } catch (error) {
      entry.error = new ServingError('UNAVAILABLE', `model "${name}": cannot fetch ${url}: ${(error as Error).message}`, { model: name }, { cause: error });
      return undefined;
    }
    if (response.status === 304) {
      entry.error = undefined;
      return undefined;
    }
    if (!response.ok) {
      entry.error = new ServingError(response.status === 404 ? 'NOT_FOUND' : 'UNAVAILABLE', `model "${name}": ${url} answered HTTP ${response.status}`, { model: name });
      return undefined;
    }
    return response;
  }

  /** Applies a manifest's text: parsed, saved to the cache, and its versions aspired — unless it did not change. */
  async #applyText(entry: ModelEntry, url: string, text: string, etag: string | undefined): Promise<void> {
    const { name, basePath } = entry.config;
    if (text === entry.text) {
      entry.error = undefined;
      entry.etag = etag;
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      entry.error = new ServingError('INVALID_ARGUMENT', `model "${name}": ${url} is not valid JSON: ${(error as Error).message}`, { model: name });
      return;
    }
    try {
      entry.manifest = parseManifest(json, name);
    } catch (error) {
      entry.error = ServingError.from(error, { model: name }, 'INVALID_ARGUMENT');
      return;
    }
    entry.text = text;
    entry.etag = etag;
    entry.error = undefined;
    entry.fromCache = false;
    await this.#options.manifestCache?.save(name, basePath, text).catch(() => undefined);
    // configure() may have removed or moved the model while this poll was in flight; its answer must not aspire it again.
    if (this.#models.get(name) !== entry) return;
    this.#emit(entry);
    this.#options.onManifest?.(name, entry.manifest);
  }

  /**
   * A model given as one ONNX file URL: a conditional HEAD tells whether it changed; its manifest
   * is made here — one `onnx` version, checked by size (no digest is known). Each new validator
   * (ETag, else Last-Modified, else size) is the next version number, counting on from the one
   * cached, so a page reloaded after the file changed loads version n + 1 and serves n meanwhile.
   */
  async #readSingleModel(entry: ModelEntry): Promise<void> {
    const { name, basePath } = entry.config;
    const response = await this.#conditionalFetch(entry, basePath, 'HEAD');
    if (!response) return;
    const length = response.headers.get('Content-Length');
    const size = Number(length);
    if (length === null || !Number.isSafeInteger(size)) {
      entry.error = new ServingError('INVALID_ARGUMENT', `model "${name}": ${basePath} answered HEAD without a Content-Length (a cross-origin server must also expose it): serve it with one, or publish a repository with a manifest (npx browserving manifest <dir>)`, { model: name });
      return;
    }
    const etag = response.headers.get('ETag') ?? undefined;
    const validator = etag ?? response.headers.get('Last-Modified') ?? `size ${size}`;
    const previous = entry.manifest ?? (await this.#options.manifestCache?.load(name, basePath).catch(() => undefined));
    const latest = previous?.versions.reduce<ManifestVersion | undefined>((a, v) => (a === undefined || v.version > a.version ? v : a), undefined);
    const same = latest?.validator === validator && latest.files[0]?.size === size;
    const manifest: Manifest = same
      ? previous!
      : { format: MANIFEST_FORMAT, versions: [{ version: (latest?.version ?? 0) + 1, platform: 'onnx', externalData: [], validator, files: [{ path: ONNX_MODEL_FILE, size, url: basePath }] }] };
    await this.#applyText(entry, basePath, JSON.stringify(manifest), etag);
  }

  #emit(entry: ModelEntry): void {
    const { name, basePath, modelVersionPolicy } = entry.config;
    const manifest = entry.manifest!;
    const aspired = selectAspiredVersions(modelVersionPolicy, manifest.versions.map((v) => v.version));
    const byVersion = new Map(manifest.versions.map((v) => [v.version, v]));
    this.#callback?.(
      name,
      aspired.map((version) => ({ id: { name, version }, data: { model: name, versionUrl: versionUrl(basePath, version), entry: byVersion.get(version)! } })),
    );
  }
}

function statusOf(entry: ModelEntry): RepositoryStatus {
  const found = entry.manifest?.versions.map((v) => v.version).sort((a, b) => b - a) ?? [];
  return {
    basePath: entry.config.basePath,
    versionsFound: found,
    versionsAspired: entry.manifest ? selectAspiredVersions(entry.config.modelVersionPolicy, found) : [],
    ...(entry.lastPolledAt !== undefined ? { lastPolledAt: entry.lastPolledAt } : {}),
    ...(entry.error ? { error: entry.error.toJSON() } : {}),
    ...(entry.fromCache ? { fromCache: true } : {}),
  };
}
