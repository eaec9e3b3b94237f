/**
 * ArtifactStore: where downloaded model files live, in chunks, keyed by model, version and
 * file path, together with the manifest entry they were fetched for (size, SHA-256, ETag).
 *
 * Contract:
 * - A file's chunks are written in order; `putChunk()` commits one chunk together with the
 *   file's updated record in one transaction, so a record never claims a chunk that is not
 *   stored. A download cut off anywhere resumes from `record.chunks × record.chunkBytes`.
 * - `readFile()` assembles the whole file into one array (onnxruntime-web needs the model as one
 *   buffer): the file and one chunk are held at once, never two copies of the file.
 * - Nothing here verifies bytes; the caller digests what `readFile()` returns before using it,
 *   and deletes the file when it does not match its manifest entry.
 * - Native `DOMException`s (e.g. `QuotaExceededError`) pass through unchanged.
 *
 * Three implementations: the Origin Private File System for bytes with IndexedDB for records
 * (`OpfsArtifactStore`, where the browser has it), IndexedDB alone (`IdbArtifactStore`), and
 * memory (`MemoryArtifactStore`, for when IndexedDB is unavailable; it keeps nothing beyond the
 * worker's life).
 */
import type { StoredVersion } from '../protocol.js';
import type { ManifestFile } from '../sources/manifest.js';

export interface FileKey {
  readonly model: string;
  readonly version: number;
  readonly path: string;
}

/** What the store knows of one file: the manifest entry it is for and how much of it is committed. */
export interface StoredFile extends FileKey {
  readonly size: number;
  /** Absent for a file of a model given as a single URL (checked by size only). */
  readonly sha256?: string;
  /** The ETag the bytes were served with, sent as `If-Range` when resuming. */
  readonly etag?: string;
  readonly chunkBytes: number;
  /** Chunks committed: chunk i holds bytes [i × chunkBytes, min((i + 1) × chunkBytes, size)). */
  readonly chunks: number;
  readonly storedBytes: number;
  readonly complete: boolean;
  /** Where the bytes are: `opfs` (OpfsArtifactStore), else in the store that holds the record. */
  readonly bytes?: 'opfs';
}

export interface ArtifactStore {
  readonly mode: 'opfs' | 'indexeddb' | 'memory';
  /**
   * True when `putChunk` writes the worker's bytes where they are kept as it is called (OPFS):
   * a chunk waiting for its commit holds no memory of the store's, so a download filling `into`
   * may keep any number in flight; and a segment fetched as a Blob would only have to be read back
   * into the worker to be written. Otherwise (a Blob copy per chunk) at most two in flight.
   */
  readonly writesInPlace?: boolean;
  /** The record of one file, or undefined when nothing of it is stored. */
  file(key: FileKey): Promise<StoredFile | undefined>;
  /** Starts (or restarts) a file: drops every chunk stored for it and writes `record`. */
  beginFile(record: StoredFile): Promise<void>;
  /**
   * Stores chunk `index` and `record` (already counting that chunk) in one transaction. An array
   * is copied (it may be a view into a larger buffer the caller goes on using); a Blob is kept as
   * it is — Blobs are immutable, and a Blob the browser holds is stored without crossing into
   * this realm.
   */
  putChunk(record: StoredFile, index: number, data: Uint8Array | Blob): Promise<void>;
  /**
   * The file's committed chunks assembled into one array: `into` when given (at least the stored
   * bytes long), else a new array of the stored bytes. Rejects when the file is not stored.
   */
  readFile(key: FileKey, into?: Uint8Array): Promise<Uint8Array>;
  deleteFile(key: FileKey): Promise<void>;
  /** Records that a version made of `files` is used now: its last-used time orders eviction. */
  touchVersion(model: string, version: number, files: readonly ManifestFile[]): Promise<void>;
  /** Every stored version, with its files' stored bytes. */
  versions(): Promise<StoredVersion[]>;
  /** Removes a version's record, files and chunks. */
  deleteVersion(model: string, version: number): Promise<void>;
  /** Remembers the last manifest text read from `basePath`. */
  saveManifest(model: string, basePath: string, text: string): Promise<void>;
  loadManifest(basePath: string): Promise<string | undefined>;
  deleteManifests(model: string): Promise<void>;
  close(): void;
}

/** True when a stored record was made for exactly this manifest entry (and chunk size). */
export function recordMatches(record: StoredFile | undefined, file: ManifestFile, chunkBytes?: number): record is StoredFile {
  return record !== undefined && record.size === file.size && record.sha256 === file.sha256 && (chunkBytes === undefined || record.chunkBytes === chunkBytes);
}

/** Sums the stored bytes per version file, in the shape `versions()` returns. */
export function describeVersion(
  model: string,
  version: number,
  files: readonly { path: string; size: number }[],
  lastUsedAt: number,
  stored: (path: string) => StoredFile | undefined,
): StoredVersion {
  const described = files.map((f) => {
    const record = stored(f.path);
    return { path: f.path, size: f.size, storedBytes: record?.size === f.size ? record.storedBytes : 0, complete: record?.size === f.size && record.complete };
  });
  return {
    model,
    version,
    bytes: described.reduce((sum, f) => sum + f.storedBytes, 0),
    complete: described.every((f) => f.complete),
    files: described.map(({ path, size, storedBytes }) => ({ path, size, storedBytes })),
    lastUsedAt,
  };
}
