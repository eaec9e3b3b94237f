/**
 * StoringArtifactFetcher: the ArtifactFetcher of the artifact store. Each file comes from the
 * store when it is stored whole, else it is downloaded into the store first; either way the
 * assembled bytes are verified against the manifest before the loader gets them.
 *
 * Per file, under a cross-tab lock (so one tab downloads and the others wait, then read):
 *   record the version as used → make room for what the version still lacks (LRU eviction,
 *   RESOURCE_EXHAUSTED) → stream the missing chunks in, resuming after cuts (each chunk's
 *   segments digested as it arrives, when the manifest lists them) → assemble → SHA-256 (of the
 *   whole file, or of each segment of a file read back from the store) → hand the bytes over.
 * A SHA-256 or size mismatch is DATA_LOSS and the file's bytes are deleted: nothing that failed
 * verification stays stored. A `QuotaExceededError` from the database evicts what may be evicted
 * and tries once more, then fails as RESOURCE_EXHAUSTED. In memory mode the file is dropped once
 * handed over (the loader's copy is the only one).
 *
 * Why digest the assembled buffer (a file without segment digests): SubtleCrypto has no
 * incremental digest, and onnxruntime-web needs the whole model as one array anyway. When the
 * manifest lists segment digests, the download verifies each segment as it arrives
 * (overlapping the transfer) and the assembled file is then only checked for its size; a file
 * read back from the store is checked against the same segment digests (cheaper than one digest
 * of the whole file: verifyChunk says why), or digested whole when the manifest lists none.
 */
import { ServingError, describeServable } from '../core/serving-error.js';
import { verifyArtifact, verifySize, type ArtifactFetcher, type ArtifactRequest } from '../loaders/artifact-fetcher.js';
import type { ManifestFile } from '../sources/manifest.js';
import { recordMatches, type ArtifactStore, type FileKey } from './artifact-store.js';
import { chunkBytesFor, downloadArtifact, type RetryOptions } from './artifact-download.js';
import type { DownloadProgressTracker } from './download-progress.js';
import { withFileLock } from './file-lock.js';
import type { StorageBudget } from './storage-budget.js';

export interface StoringArtifactFetcherOptions {
  /** The store to use now (it changes to memory when the database is superseded). */
  readonly store: () => ArtifactStore;
  readonly budget: StorageBudget;
  readonly progress: DownloadProgressTracker;
  readonly chunkBytes: number;
  readonly retry: RetryOptions;
  readonly fetch?: typeof fetch;
}

export class StoringArtifactFetcher implements ArtifactFetcher {
  readonly #options: StoringArtifactFetcherOptions;
  readonly #fetch: typeof fetch;

  constructor(options: StoringArtifactFetcherOptions) {
    this.#options = options;
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  async fetch(request: ArtifactRequest): Promise<Uint8Array> {
    const { model, version, file } = request;
    const versionFiles = request.versionFiles ?? [file];
    const key: FileKey = { model, version, path: file.path };
    const { progress } = this.#options;
    progress.begin(model, version, versionFiles);
    try {
      return await withFileLock(key, () => this.#fetchLocked(request, key, versionFiles), request.signal);
    } catch (error) {
      const failure = ServingError.from(error, { model, version });
      await this.#forgetIfEmpty(model, version).catch(() => undefined);
      progress.update(model, version, file.path, 'failed', 0, failure.toJSON());
      throw failure;
    }
  }

  /** A version that failed before any of its bytes were stored leaves no record behind. */
  async #forgetIfEmpty(model: string, version: number): Promise<void> {
    const store = this.#options.store();
    const stored = (await store.versions()).find((v) => v.model === model && v.version === version);
    if (stored && stored.bytes === 0) await store.deleteVersion(model, version);
  }

  async #fetchLocked(request: ArtifactRequest, key: FileKey, versionFiles: readonly ManifestFile[]): Promise<Uint8Array> {
    const { model, version, file } = request;
    const { progress } = this.#options;
    const store = this.#options.store();
    const where = `${describeServable(model, version)} file "${file.path}"`;
    await store.touchVersion(model, version, versionFiles);
    const stored = await store.file(key);
    const fromStore = recordMatches(stored, file) && stored.complete;
    const bytes = fromStore ? await store.readFile(key) : await this.#download(request, store, key, where, versionFiles);
    // A download verified each segment as it arrived (when the manifest lists them); what the store gives back is digested
    // again (by segment when the manifest lists them: verifyArtifact).
    const segmentsVerified = !fromStore && file.segments !== undefined;
    progress.update(model, version, file.path, 'verifying', file.size);
    try {
      await (segmentsVerified ? verifySize : verifyArtifact)(bytes, file, where, { model, version });
    } catch (error) {
      await store.deleteFile(key);
      throw error;
    }
    if (store.mode === 'memory') await store.deleteFile(key);
    progress.update(model, version, file.path, 'cached', file.size);
    return bytes;
  }

  /** Downloads what is missing of the file into the store; resolves with the whole file, assembled as it streamed in. */
  async #download(request: ArtifactRequest, store: ArtifactStore, key: FileKey, where: string, versionFiles: readonly ManifestFile[]): Promise<Uint8Array> {
    const { model, version, file, url, signal } = request;
    const { budget, progress, chunkBytes, retry } = this.#options;
    const needed = await missingBytes(store, model, version, versionFiles, chunkBytes);
    await budget.makeRoom(store, model, version, needed);
    progress.update(model, version, file.path, 'downloading', 0);
    // The loader needs the file as one array: fill it as the bytes arrive rather than read them back.
    const into = new Uint8Array(file.size);
    const download = () =>
      downloadArtifact({
        store, key, url, file, chunkBytes, retry, where, into,
        fetch: this.#fetch,
        ...(signal ? { signal } : {}),
        onBytes: (bytes) => progress.update(model, version, file.path, 'downloading', bytes),
      });
    try {
      await download();
    } catch (error) {
      if (!isQuotaExceeded(error)) throw error;
      // The origin's quota, not our budget, ran out: make what room we may and try once more.
      const evicted = await budget.evictAll(store, model, version);
      try {
        if (evicted.length === 0) throw error;
        await download();
      } catch (again) {
        if (!isQuotaExceeded(again)) throw again;
        const { usage, quota } = await budget.estimate();
        const still = await missingBytes(store, model, version, versionFiles, chunkBytes);
        throw budget.exhausted(model, version, still, usage !== undefined && quota !== undefined ? quota - usage : 0);
      }
    }
    return into;
  }
}

/** Bytes of the version's files not stored yet (a partly stored file counts what is missing). */
async function missingBytes(store: ArtifactStore, model: string, version: number, files: readonly ManifestFile[], chunkBytes: number): Promise<number> {
  let missing = 0;
  for (const f of files) {
    const record = await store.file({ model, version, path: f.path });
    missing += recordMatches(record, f) && (record.complete || record.chunkBytes === chunkBytesFor(f, chunkBytes)) ? f.size - record.storedBytes : f.size;
  }
  return missing;
}

function isQuotaExceeded(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'QuotaExceededError';
}
