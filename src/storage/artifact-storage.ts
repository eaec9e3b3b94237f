/**
 * ArtifactStorage: the worker's offline-first artifact store, as the server uses it — the
 * ArtifactFetcher loaders read through, the manifest cache the repository source falls back
 * on, download progress events, and the `list` / `delete` / `usage` the client exposes.
 *
 * File bytes go to the Origin Private File System where the browser offers sync access handles
 * (opfs-artifact-store.ts says why), with their records in IndexedDB; elsewhere, or with
 * `storage.backend: 'indexeddb'`, to IndexedDB as well. It opens IndexedDB when it can; when it
 * cannot (no IndexedDB, private mode, an upgrade blocked by another tab) or later loses it
 * (another tab opened a newer schema), it goes on in memory-only mode with a console warning —
 * downloads still work, nothing is kept.
 */
import { ServingError } from '../core/serving-error.js';
import { Subscribable } from '../core/subscribable.js';
import type { ArtifactFetcher } from '../loaders/artifact-fetcher.js';
import type { DownloadProgress, StorageOptions, StorageUsage, StoredVersion } from '../protocol.js';
import { parseManifest, WARMUP_FILE, type Manifest } from '../sources/manifest.js';
import type { ManifestCache } from '../sources/repository-source.js';
import { recordMatches, type ArtifactStore } from './artifact-store.js';
import { DownloadProgressTracker } from './download-progress.js';
import { withFileLock } from './file-lock.js';
import { IdbArtifactStore } from './idb-artifact-store.js';
import { MemoryArtifactStore } from './memory-artifact-store.js';
import { OpfsArtifactStore, opfsAvailable } from './opfs-artifact-store.js';
import { StorageBudget, type StorageEstimateLike } from './storage-budget.js';
import { StoringArtifactFetcher } from './storing-artifact-fetcher.js';
import { describeValue } from '../core/describe-value.js';

export const DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024;
export const MIN_CHUNK_BYTES = 64 * 1024;
export const DEFAULT_RETRY = { maxRetries: 3, backoffMs: 500 } as const;

export interface ArtifactStorageDependencies {
  readonly fetch?: typeof fetch;
  readonly estimate?: () => Promise<StorageEstimateLike>;
  /** Where warnings go. @defaultValue console.warn */
  readonly warn?: (message: string) => void;
}

export class ArtifactStorage extends Subscribable<DownloadProgress> implements ManifestCache {
  /** Loaders read every file through this. */
  readonly fetcher: ArtifactFetcher;
  /** OPFS with IndexedDB records, or IndexedDB alone; undefined in memory-only mode. */
  readonly #persistent: OpfsArtifactStore | IdbArtifactStore | undefined;
  readonly #memory = new MemoryArtifactStore();
  readonly #budget: StorageBudget;
  readonly #warn: (message: string) => void;
  #warning: string | undefined;

  private constructor(persistent: OpfsArtifactStore | IdbArtifactStore | undefined, warning: string | undefined, options: StorageOptions, deps: ArtifactStorageDependencies) {
    super();
    this.#persistent = persistent;
    this.#warning = warning;
    this.#warn = deps.warn ?? ((message) => console.warn(message));
    this.#budget = new StorageBudget({ ...(options.budgetBytes !== undefined ? { budgetBytes: options.budgetBytes } : {}), ...(deps.estimate ? { estimate: deps.estimate } : {}) });
    this.fetcher = new StoringArtifactFetcher({
      store: () => this.#store(),
      budget: this.#budget,
      progress: new DownloadProgressTracker((progress) => this.emit(progress)),
      chunkBytes: options.chunkBytes ?? DEFAULT_CHUNK_BYTES,
      retry: { maxRetries: options.retry?.maxRetries ?? DEFAULT_RETRY.maxRetries, backoffMs: options.retry?.backoffMs ?? DEFAULT_RETRY.backoffMs },
      ...(deps.fetch ? { fetch: deps.fetch } : {}),
    });
  }

  /** Opens the store. Never rejects for want of IndexedDB: it falls back to memory-only mode and warns. */
  static async open(options: StorageOptions = {}, deps: ArtifactStorageDependencies = {}): Promise<ArtifactStorage> {
    const warn = deps.warn ?? ((message: string) => console.warn(message));
    if (options.enabled === false) return new ArtifactStorage(undefined, 'storage.enabled is false: every load downloads its artifacts', options, deps);
    let storage: ArtifactStorage | undefined;
    try {
      const idb = await IdbArtifactStore.open({ onSuperseded: () => storage && storage.#superseded() });
      storage = new ArtifactStorage(await withFileBytes(idb, options, warn), undefined, options, deps);
    } catch (error) {
      const warning = `browserving: IndexedDB is unavailable (${(error as Error).message}); running in memory-only mode: models are downloaded on every page load and nothing is available offline`;
      warn(warning);
      storage = new ArtifactStorage(undefined, warning, options, deps);
    }
    return storage;
  }

  get mode(): 'opfs' | 'indexeddb' | 'memory' {
    return this.#store().mode;
  }

  /** Versions the budget must never evict: those aspired or serving. */
  setProtected(isProtected: (model: string, version: number) => boolean): void {
    this.#budget.setProtected(isProtected);
  }

  /** Remembers the manifest last read from `basePath` (ManifestCache). */
  async save(model: string, basePath: string, text: string): Promise<void> {
    await this.#store().saveManifest(model, basePath, text);
  }

  /** The manifest last read from `basePath`, keeping only the versions stored whole (ManifestCache). */
  async load(model: string, basePath: string): Promise<Manifest | undefined> {
    const store = this.#store();
    const text = await store.loadManifest(basePath);
    if (text === undefined) return undefined;
    const manifest = parseManifest(JSON.parse(text), model);
    const versions = [];
    for (const entry of manifest.versions) {
      let whole = true;
      for (const file of entry.files) {
        // warmup.json is fetched only when warm-up runs are configured; the model is what matters.
        if (file.path === WARMUP_FILE) continue;
        const record = await store.file({ model, version: entry.version, path: file.path });
        whole &&= recordMatches(record, file) && record.complete;
      }
      if (whole) versions.push(entry);
    }
    return { ...manifest, versions };
  }

  /** Every stored version, by model, highest version first. */
  async list(): Promise<StoredVersion[]> {
    const versions = await this.#store().versions();
    return versions.sort((a, b) => (a.model === b.model ? b.version - a.version : a.model < b.model ? -1 : 1));
  }

  /** Deletes one stored version, or every version of `model` and its cached manifest. Waits for downloads of their files in progress. */
  async delete(model: string, version?: number): Promise<void> {
    if (typeof model !== 'string' || model === '') throw new ServingError('INVALID_ARGUMENT', 'storage.delete: model must be a non-empty string');
    if (version !== undefined && !(Number.isSafeInteger(version) && version >= 0)) {
      throw new ServingError('INVALID_ARGUMENT', `storage.delete: version must be a non-negative integer, got ${describeValue(version)}`, { model });
    }
    const store = this.#store();
    const victims = (await store.versions()).filter((v) => v.model === model && (version === undefined || v.version === version));
    for (const victim of victims) {
      // The locks only wait out downloads in progress; deleteVersion removes every file and chunk at once.
      for (const file of victim.files) await withFileLock({ model, version: victim.version, path: file.path }, async () => undefined);
      await store.deleteVersion(model, victim.version);
    }
    if (version === undefined) await store.deleteManifests(model);
  }

  async usage(): Promise<StorageUsage> {
    const versions = await this.#store().versions();
    const { usage, quota } = await this.#budget.estimate();
    const storage = (globalThis.navigator as { storage?: StorageManager } | undefined)?.storage;
    const persisted = await (storage?.persisted?.() ?? Promise.resolve(false)).catch(() => false);
    return {
      mode: this.mode,
      bytes: versions.reduce((sum, v) => sum + v.bytes, 0),
      budgetBytes: Number.isFinite(this.#budget.budgetBytes) ? this.#budget.budgetBytes : null,
      ...(usage !== undefined ? { originUsage: usage } : {}),
      ...(quota !== undefined ? { originQuota: quota } : {}),
      persisted,
      ...(this.#warning ? { warning: this.#warning } : {}),
    };
  }

  close(): void {
    this.#persistent?.close();
  }

  #store(): ArtifactStore {
    return this.#persistent && !this.#persistent.superseded ? this.#persistent : this.#memory;
  }

  #superseded(): void {
    this.#warning = 'browserving: another tab opened a newer artifact database; this tab closed its connection and runs in memory-only mode until reloaded';
    this.#warn(this.#warning);
  }
}

/**
 * Where file bytes go: OPFS beside the records (`backend` 'opfs', the default where sync access
 * handles exist), or IndexedDB with them ('indexeddb', or where OPFS cannot be opened — with a
 * warning when 'opfs' was asked for).
 */
async function withFileBytes(idb: IdbArtifactStore, options: StorageOptions, warn: (message: string) => void): Promise<OpfsArtifactStore | IdbArtifactStore> {
  const backend = options.backend ?? 'auto';
  if (backend === 'indexeddb' || (backend === 'auto' && !opfsAvailable())) return idb;
  try {
    return await OpfsArtifactStore.open(idb);
  } catch (error) {
    if (backend === 'opfs') warn(`browserving: storage.backend is 'opfs' but the Origin Private File System cannot be used here (${(error as Error).message}); model files are stored in IndexedDB`);
    return idb;
  }
}
