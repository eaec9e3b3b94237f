/**
 * MemoryArtifactStore: the ArtifactStore used when IndexedDB is unavailable (private mode, a
 * blocked or superseded database, `storage.enabled: false`). Same contract, held in the
 * worker's memory: a download still resumes within one load, but nothing survives the worker,
 * and the fetcher deletes each file once its bytes are handed to the loader.
 */
import type { StoredVersion } from '../protocol.js';
import type { ManifestFile } from '../sources/manifest.js';
import { describeVersion, type ArtifactStore, type FileKey, type StoredFile } from './artifact-store.js';

const fileId = (k: FileKey) => JSON.stringify([k.model, k.version, k.path]);
const versionId = (model: string, version: number) => JSON.stringify([model, version]);

export class MemoryArtifactStore implements ArtifactStore {
  readonly mode = 'memory' as const;
  readonly #files = new Map<string, { record: StoredFile; chunks: (Uint8Array | Blob)[] }>();
  readonly #versions = new Map<string, { model: string; version: number; files: { path: string; size: number }[]; lastUsedAt: number }>();
  readonly #manifests = new Map<string, { model: string; text: string }>();

  async file(key: FileKey): Promise<StoredFile | undefined> {
    return this.#files.get(fileId(key))?.record;
  }

  async beginFile(record: StoredFile): Promise<void> {
    this.#files.set(fileId(record), { record, chunks: [] });
  }

  async putChunk(record: StoredFile, index: number, data: Uint8Array | Blob): Promise<void> {
    const entry = this.#files.get(fileId(record)) ?? { record, chunks: [] };
    entry.chunks[index] = data instanceof Blob ? data : data.slice();
    entry.record = record;
    this.#files.set(fileId(record), entry);
  }

  async readFile(key: FileKey, into?: Uint8Array): Promise<Uint8Array> {
    const entry = this.#files.get(fileId(key));
    if (!entry) throw new Error(`${key.model}/${key.version}/${key.path} is not stored`);
    const { record, chunks } = entry;
    const out = into ?? new Uint8Array(record.storedBytes);
    for (const [i, chunk] of chunks.entries()) out.set(chunk instanceof Blob ? new Uint8Array(await chunk.arrayBuffer()) : chunk, i * record.chunkBytes);
    return out;
  }

  async deleteFile(key: FileKey): Promise<void> {
    this.#files.delete(fileId(key));
  }

  async touchVersion(model: string, version: number, files: readonly ManifestFile[]): Promise<void> {
    this.#versions.set(versionId(model, version), { model, version, files: files.map(({ path, size }) => ({ path, size })), lastUsedAt: Date.now() });
  }

  async versions(): Promise<StoredVersion[]> {
    return [...this.#versions.values()].map((v) => describeVersion(v.model, v.version, v.files, v.lastUsedAt, (path) => this.#files.get(fileId({ model: v.model, version: v.version, path }))?.record));
  }

  async deleteVersion(model: string, version: number): Promise<void> {
    this.#versions.delete(versionId(model, version));
    for (const [id, entry] of this.#files) if (entry.record.model === model && entry.record.version === version) this.#files.delete(id);
  }

  async saveManifest(model: string, basePath: string, text: string): Promise<void> {
    this.#manifests.set(basePath, { model, text });
  }

  async loadManifest(basePath: string): Promise<string | undefined> {
    return this.#manifests.get(basePath)?.text;
  }

  async deleteManifests(model: string): Promise<void> {
    for (const [basePath, entry] of this.#manifests) if (entry.model === model) this.#manifests.delete(basePath);
  }

  close(): void {}
}
