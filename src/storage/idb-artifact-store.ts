/**
 * IdbArtifactStore: the ArtifactStore in IndexedDB (database `browserving-artifacts`), on `idb`.
 *
 * Object stores (schema version 1):
 * - `files`     key [model, version, path]          → StoredFile
 * - `chunks`    key [model, version, path, index]   → Blob of exactly the chunk's bytes (Uint8Array
 *                 in stores written before: both are read). A Blob because Chromium writes it to a
 *                 file as it is, which made a download into the store about a third faster than
 *                 structured-cloning an ArrayBuffer of the same bytes. A segment fetched as a Blob
 *                 (segment-blobs.ts) is stored as that Blob, never copied through this realm.
 * - `versions`  key [model, version]                → { files, lastUsedAt } (LRU order)
 * - `manifests` key basePath                        → { model, text } (the offline fallback)
 *
 * Schema changes across tabs: a tab opening a newer schema fires `versionchange` here; this
 * connection closes at once (`blocking`) so the other tab's upgrade is never wedged, and this
 * store reports itself `superseded` — the owner switches to memory. When an older tab keeps
 * our upgrade `blocked` longer than `blockedTimeoutMs`, `open()` rejects (the caller falls back
 * to memory) rather than waiting forever.
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { StoredVersion } from '../protocol.js';
import type { ManifestFile } from '../sources/manifest.js';
import { describeVersion, type ArtifactStore, type FileKey, type StoredFile } from './artifact-store.js';

export const DATABASE_NAME = 'browserving-artifacts';
/**
 * 2: file records may say `bytes: 'opfs'` (their bytes are OPFS files, not chunks here). Nothing in
 * the stores changed; the bump makes tabs of older builds, which would read such a file as
 * missing chunks, step aside (memory-only) instead.
 */
export const SCHEMA_VERSION = 2;

interface VersionRecord {
  readonly model: string;
  readonly version: number;
  readonly files: readonly { readonly path: string; readonly size: number }[];
  readonly lastUsedAt: number;
}

interface ArtifactSchema extends DBSchema {
  files: { key: [string, number, string]; value: StoredFile };
  chunks: { key: [string, number, string, number]; value: Blob | Uint8Array };
  versions: { key: [string, number]; value: VersionRecord };
  manifests: { key: string; value: { readonly basePath: string; readonly model: string; readonly text: string; readonly savedAt: number } };
}

export interface IdbArtifactStoreOptions {
  /** Give up opening after this long while another tab blocks the upgrade. @defaultValue 5000 */
  readonly blockedTimeoutMs?: number;
  /** Called once, when another tab opens a newer schema and this connection is closed. */
  readonly onSuperseded?: () => void;
}

/** Every key of one file (or, with `path` absent, one version) in a compound-key store: arrays sort after every string and number. */
const under = (...prefix: (string | number)[]) => IDBKeyRange.bound(prefix, [...prefix, []]);

export class IdbArtifactStore implements ArtifactStore {
  readonly mode = 'indexeddb' as const;
  readonly #db: IDBPDatabase<ArtifactSchema>;
  #superseded = false;
  /** False until an OpfsArtifactStore reads the records through this store: alone, a record whose bytes are in OPFS counts as absent. */
  #opfsRecords = false;

  private constructor(db: IDBPDatabase<ArtifactSchema>) {
    this.#db = db;
  }

  /** Opens (creating or upgrading) the database. Rejects with the browser's error, or when an upgrade stays blocked by another tab. */
  static async open(options: IdbArtifactStoreOptions = {}): Promise<IdbArtifactStore> {
    if (!globalThis.indexedDB) throw new Error('IndexedDB is not available in this context');
    const blockedTimeoutMs = options.blockedTimeoutMs ?? 5000;
    let store: IdbArtifactStore | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let gaveUp = false;
    let giveUp: (error: Error) => void = () => undefined;
    const blocked = new Promise<never>((_, reject) => {
      giveUp = reject;
    });
    const opening = openDB<ArtifactSchema>(DATABASE_NAME, SCHEMA_VERSION, {
      upgrade(db, oldVersion) {
        if (oldVersion < 1) {
          db.createObjectStore('files');
          db.createObjectStore('chunks');
          db.createObjectStore('versions');
          db.createObjectStore('manifests');
        }
      },
      blocked() {
        // An older tab holds the database open and has not stepped aside (an old build of ours, or not ours).
        timer ??= setTimeout(() => {
          gaveUp = true;
          giveUp(new Error(`upgrading ${DATABASE_NAME} stayed blocked for ${blockedTimeoutMs} ms by another tab holding an older schema`));
        }, blockedTimeoutMs);
      },
      blocking() {
        // Another tab wants a newer schema: step aside instead of wedging its upgrade.
        if (store) store.#supersede(options.onSuperseded);
      },
      terminated() {
        // The browser closed the connection abnormally (storage cleared, disk error).
        if (store) store.#supersede(options.onSuperseded);
      },
    });
    void opening.then((db) => {
      if (gaveUp) db.close();
    }, () => undefined);
    try {
      store = new IdbArtifactStore(await Promise.race([opening, blocked]));
      return store;
    } finally {
      clearTimeout(timer);
    }
  }

  /** True once another tab opened a newer schema (or the browser closed the database): this store is closed and must not be used. */
  get superseded(): boolean {
    return this.#superseded;
  }

  #supersede(onSuperseded?: () => void): void {
    if (this.#superseded) return;
    this.#superseded = true;
    this.#db.close();
    onSuperseded?.();
  }

  async file(key: FileKey): Promise<StoredFile | undefined> {
    return this.#visible(await this.#db.get('files', [key.model, key.version, key.path]));
  }

  /** Lets records of files whose bytes are in OPFS be seen (called by the OpfsArtifactStore that keeps its records here). */
  acceptOpfsRecords(): void {
    this.#opfsRecords = true;
  }

  /** A record, unless its bytes are in OPFS and no OPFS store reads through this one (`storage.backend: 'indexeddb'`, or OPFS not opening): then the file is not here. */
  #visible(record: StoredFile | undefined): StoredFile | undefined {
    return record?.bytes === 'opfs' && !this.#opfsRecords ? undefined : record;
  }

  async beginFile(record: StoredFile): Promise<void> {
    const tx = this.#db.transaction(['files', 'chunks'], 'readwrite');
    void tx.objectStore('chunks').delete(under(record.model, record.version, record.path));
    void tx.objectStore('files').put(record, [record.model, record.version, record.path]);
    await tx.done;
  }

  async putChunk(record: StoredFile, index: number, data: Uint8Array | Blob): Promise<void> {
    // 'relaxed': no flush to disk per chunk. A crash may lose the last chunks committed, never
    // half of one (chunk and record stay one transaction): the download resumes earlier.
    const tx = this.#db.transaction(['files', 'chunks'], 'readwrite', { durability: 'relaxed' });
    const blob = data instanceof Blob ? data : new Blob([data as Uint8Array<ArrayBuffer>]);
    void tx.objectStore('chunks').put(blob, [record.model, record.version, record.path, index]);
    void tx.objectStore('files').put(record, [record.model, record.version, record.path]);
    await tx.done;
  }

  /** Writes a file's record alone (OpfsArtifactStore keeps the bytes elsewhere). */
  async putRecord(record: StoredFile): Promise<void> {
    await this.#db.put('files', record, [record.model, record.version, record.path]);
  }

  async readFile(key: FileKey, into?: Uint8Array): Promise<Uint8Array> {
    const tx = this.#db.transaction(['files', 'chunks'], 'readonly');
    const record = this.#visible(await tx.objectStore('files').get([key.model, key.version, key.path]));
    if (!record) throw new Error(`${key.model}/${key.version}/${key.path} is not stored`);
    const out = into ?? new Uint8Array(record.storedBytes);
    // Blobs are handles, not bytes: get them all, then read one chunk at a time after the
    // transaction (awaiting a Blob's bytes inside it would let it auto-commit). The assembled file
    // plus the chunk in hand, never the file twice.
    const range = under(key.model, key.version, key.path);
    const [keys, chunks] = await Promise.all([tx.objectStore('chunks').getAllKeys(range), tx.objectStore('chunks').getAll(range)]);
    await tx.done;
    for (const [i, chunk] of chunks.entries()) {
      out.set(chunk instanceof Blob ? new Uint8Array(await chunk.arrayBuffer()) : chunk, keys[i]![3] * record.chunkBytes);
    }
    return out;
  }

  async deleteFile(key: FileKey): Promise<void> {
    const tx = this.#db.transaction(['files', 'chunks'], 'readwrite');
    void tx.objectStore('chunks').delete(under(key.model, key.version, key.path));
    void tx.objectStore('files').delete([key.model, key.version, key.path]);
    await tx.done;
  }

  async touchVersion(model: string, version: number, files: readonly ManifestFile[]): Promise<void> {
    await this.#db.put('versions', { model, version, files: files.map(({ path, size }) => ({ path, size })), lastUsedAt: Date.now() }, [model, version]);
  }

  async versions(): Promise<StoredVersion[]> {
    const tx = this.#db.transaction(['versions', 'files'], 'readonly');
    const [versions, files] = await Promise.all([tx.objectStore('versions').getAll(), tx.objectStore('files').getAll()]);
    await tx.done;
    const byKey = new Map(files.map((f) => [JSON.stringify([f.model, f.version, f.path]), this.#visible(f)]));
    return versions.map((v) => describeVersion(v.model, v.version, v.files, v.lastUsedAt, (path) => byKey.get(JSON.stringify([v.model, v.version, path]))));
  }

  async deleteVersion(model: string, version: number): Promise<void> {
    const tx = this.#db.transaction(['versions', 'files', 'chunks'], 'readwrite');
    void tx.objectStore('chunks').delete(under(model, version));
    void tx.objectStore('files').delete(under(model, version));
    void tx.objectStore('versions').delete([model, version]);
    await tx.done;
  }

  async saveManifest(model: string, basePath: string, text: string): Promise<void> {
    await this.#db.put('manifests', { basePath, model, text, savedAt: Date.now() }, basePath);
  }

  async loadManifest(basePath: string): Promise<string | undefined> {
    return (await this.#db.get('manifests', basePath))?.text;
  }

  async deleteManifests(model: string): Promise<void> {
    const tx = this.#db.transaction('manifests', 'readwrite');
    let cursor = await tx.store.openCursor();
    while (cursor) {
      if (cursor.value.model === model) await cursor.delete();
      cursor = await cursor.continue();
    }
    await tx.done;
  }

  close(): void {
    this.#db.close();
  }
}
