/**
 * OpfsArtifactStore: the ArtifactStore with each file's bytes in one file of the Origin Private
 * File System, written and read through a `FileSystemSyncAccessHandle` (dedicated workers only),
 * and everything else — file records, versions, cached manifests — in IndexedDB, through an
 * IdbArtifactStore.
 *
 * Why: a chunk written to IndexedDB crosses to the browser process as a Blob (`new Blob()`
 * copies it first) and is committed there; a sync access handle writes the bytes the worker
 * already holds straight to the file, with no copy and no message per chunk, and reads a stored
 * file back into the loader's buffer in one call. On the 64 MiB benchmark, in a profile on disk,
 * the download into the store went from ~0.5× a raw fetch to ~0.8× (~0.9× with 256 KiB segment
 * digests since; README, Benchmarks).
 *
 * Layout: `browserving-artifacts/m-<model>/<version>/f-<path>` (names URI-encoded; a name that
 * would be long is shortened and a hash of the whole name appended). A file record written here
 * says `bytes: 'opfs'`; a record without it was written by the IndexedDB-only store of an earlier
 * build: complete, it is read from IndexedDB as before; partial, it counts as absent (the
 * download starts that file over).
 *
 * Contract details (see artifact-store.ts for the rest):
 * - `putChunk()` writes the chunk at `index × chunkBytes`, then commits the record (records in
 *   the order their chunks were put): the record never claims a chunk that is not written. A
 *   file's handle is flushed when it closes, once idle for `IDLE_CLOSE_MS` after its last write —
 *   not on the last chunk, where `flush()` cost the 64 MiB benchmark's download 44–69 ms (~5%) on
 *   the thread that reads the body; the runner is creating its session by then. So for that
 *   quarter second (and until the flush returns) a record may say complete while the last bytes
 *   are only in the OS's page cache: a browser crash or closed tab loses nothing, an OS crash or
 *   power loss in that window can. Such a file fails the digests the fetcher checks on every read
 *   from the store (a short file reads as zeros): DATA_LOSS, dropped, downloaded again once the
 *   network is there (offline, that version cannot be served until then).
 * - A sync access handle locks its file against every other handle, in every tab: a handle is
 *   kept open while a file is being written or read and closed once idle for `IDLE_CLOSE_MS`.
 *   Opening one another worker holds is retried for up to `OPEN_WAIT_MS`. The cross-tab file
 *   lock (file-lock.ts) already keeps two downloads of one file apart.
 * - Deleting a file or version drops its records first, then its bytes; bytes that cannot be
 *   removed now (another tab holds them open) are orphans, removed when a store opens later.
 */
import type { StoredVersion } from '../protocol.js';
import type { ManifestFile } from '../sources/manifest.js';
import type { ArtifactStore, FileKey, StoredFile } from './artifact-store.js';
import { ifFileLockFree } from './file-lock.js';
import type { IdbArtifactStore } from './idb-artifact-store.js';

export const OPFS_ROOT = 'browserving-artifacts';
/** A handle left unused this long is closed, so other tabs and workers may open the file. */
const IDLE_CLOSE_MS = 250;
/** How long opening a file another handle holds is retried before giving up. */
const OPEN_WAIT_MS = 5000;
const MAX_NAME = 200;

/** The parts of the Origin Private File System this store uses (TypeScript's DOM lib lacks the sync handle in a window context). */
interface SyncAccessHandle {
  read(buffer: Uint8Array, options?: { at?: number }): number;
  write(buffer: Uint8Array, options?: { at?: number }): number;
  truncate(size: number): void;
  getSize(): number;
  flush(): void;
  close(): void;
}
interface OpfsFile extends FileSystemFileHandle {
  createSyncAccessHandle(): Promise<SyncAccessHandle>;
}

/** True where this store can run: a dedicated worker of a browser with OPFS sync access handles. */
export function opfsAvailable(): boolean {
  const g = globalThis as { FileSystemSyncAccessHandle?: unknown; navigator?: { storage?: { getDirectory?: unknown } } };
  return typeof g.FileSystemSyncAccessHandle === 'function' && typeof g.navigator?.storage?.getDirectory === 'function';
}

/** A name OPFS accepts for any string: URI-encoded, prefixed (so never `.` or `..`), and bounded. */
function entryName(prefix: string, value: string): string {
  const encoded = `${prefix}${encodeURIComponent(value)}`;
  if (encoded.length <= MAX_NAME) return encoded;
  // FNV-1a 64 of the whole name keeps two long names that share their start apart.
  let hash = 0xcbf29ce484222325n;
  for (const c of encoded) hash = BigInt.asUintN(64, (hash ^ BigInt(c.codePointAt(0)!)) * 0x100000001b3n);
  return `${encoded.slice(0, MAX_NAME - 17)}~${hash.toString(16).padStart(16, '0')}`;
}

const modelDir = (model: string) => entryName('m-', model);
const fileName = (path: string) => entryName('f-', path);
const handleId = (k: FileKey) => JSON.stringify([k.model, k.version, k.path]);

interface OpenHandle {
  readonly handle: SyncAccessHandle;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** Written since it opened: flushed when it closes (unless the file is being deleted). */
  written: boolean;
}

export class OpfsArtifactStore implements ArtifactStore {
  readonly mode = 'opfs' as const;
  /** A chunk is written when it is put (copied only while the file's handle opens): waiting commits hold no memory. */
  readonly writesInPlace = true;
  readonly #idb: IdbArtifactStore;
  readonly #root: FileSystemDirectoryHandle;
  readonly #open = new Map<string, OpenHandle>();
  readonly #pendingOpens = new Map<string, Promise<OpenHandle>>();
  /** Files whose chunk or record failed to be written: later chunks are refused until the file begins again (a record must not claim a gap). */
  readonly #broken = new Map<string, unknown>();
  /** Per file, the last record write queued: records are committed in the order their chunks were put. */
  readonly #writes = new Map<string, Promise<void>>();

  private constructor(idb: IdbArtifactStore, root: FileSystemDirectoryHandle) {
    this.#idb = idb;
    this.#root = root;
  }

  /** Opens OPFS beside `idb` (which keeps the records) and removes orphaned bytes. Rejects where OPFS or sync access handles are missing. */
  static async open(idb: IdbArtifactStore): Promise<OpfsArtifactStore> {
    if (!opfsAvailable()) throw new Error('the Origin Private File System with sync access handles is not available in this context');
    const root = await (await navigator.storage.getDirectory()).getDirectoryHandle(OPFS_ROOT, { create: true });
    // A probe of its own (another tab may be probing too): some browsers list the API but refuse handles.
    const name = `.probe-${crypto.randomUUID()}`;
    const probe = (await root.getFileHandle(name, { create: true })) as OpfsFile;
    try {
      (await probe.createSyncAccessHandle()).close();
    } finally {
      await root.removeEntry(name).catch(() => undefined);
    }
    idb.acceptOpfsRecords();
    const store = new OpfsArtifactStore(idb, root);
    await store.#removeOrphans().catch(() => undefined);
    return store;
  }

  /** True once the records' database is closed by another tab's newer schema: this store must not be used. */
  get superseded(): boolean {
    return this.#idb.superseded;
  }

  async file(key: FileKey): Promise<StoredFile | undefined> {
    const record = await this.#idb.file(key);
    // A partial file of the IndexedDB-only store: its chunks are not here, so it starts over.
    return record && !isOpfs(record) && !record.complete ? undefined : record;
  }

  async beginFile(record: StoredFile): Promise<void> {
    await this.#settled(handleId(record));
    this.#broken.delete(handleId(record));
    // Drops IndexedDB chunks an earlier build stored for this file, and writes the record.
    await this.#idb.beginFile(this.#mark(record));
    await this.#withHandle(record, true, (handle) => handle.truncate(0), true);
  }

  putChunk(record: StoredFile, index: number, data: Uint8Array | Blob): Promise<void> {
    // The bytes are written at once when the file's handle is open (a synchronous write: the caller may reuse `data`
    // as soon as this returns, as the contract allows), else copied first. Chunks land at their own offsets; their
    // records are queued now, in the order the chunks were put, each committed once its chunk is written.
    const id = handleId(record);
    if (this.#broken.has(id)) return Promise.reject(this.#broken.get(id));
    const copy = data instanceof Blob || this.#open.has(id) ? data : data.slice();
    const written = this.#write(record, index, copy);
    // Awaited below unless an earlier failure refuses the record first.
    written.catch(() => undefined);
    return this.#inOrder(record, async () => {
      // An earlier chunk of the file failed: committing this record would claim the gap.
      if (this.#broken.has(id)) throw this.#broken.get(id);
      try {
        await written;
        await this.#idb.putRecord(this.#mark(record));
      } catch (error) {
        if (!this.#broken.has(id)) this.#broken.set(id, error);
        throw error;
      }
    });
  }

  async #write(record: StoredFile, index: number, data: Uint8Array | Blob): Promise<void> {
    const bytes = data instanceof Blob ? new Uint8Array(await data.arrayBuffer()) : data;
    await this.#withHandle(record, true, (handle) => {
      const at = index * record.chunkBytes;
      let written = 0;
      while (written < bytes.byteLength) written += handle.write(bytes.subarray(written), { at: at + written });
    }, true);
  }

  async readFile(key: FileKey, into?: Uint8Array): Promise<Uint8Array> {
    const record = await this.#idb.file(key);
    if (!record) throw new Error(`${key.model}/${key.version}/${key.path} is not stored`);
    if (!isOpfs(record)) return this.#idb.readFile(key, into);
    const out = into ?? new Uint8Array(record.storedBytes);
    const target = out.subarray(0, record.storedBytes);
    // Bytes the file lost (or the whole file, removed behind our back) read as zeros: the digest the caller checks
    // fails, and the file is dropped and downloaded again.
    try {
      await this.#withHandle(key, false, (handle) => {
        let read = 0;
        while (read < target.byteLength) {
          const n = handle.read(target.subarray(read), { at: read });
          if (n === 0) break;
          read += n;
        }
        target.fill(0, read);
      });
    } catch (error) {
      if ((error as DOMException).name !== 'NotFoundError') throw error;
      target.fill(0);
    }
    return out;
  }

  async deleteFile(key: FileKey): Promise<void> {
    const id = handleId(key);
    await this.#settled(id);
    this.#broken.delete(id);
    await this.#idb.deleteFile(key);
    this.#close(id, undefined, false);
    const dir = await this.#versionDir(key.model, key.version, false);
    await dir?.removeEntry(fileName(key.path)).catch(() => undefined);
  }

  touchVersion(model: string, version: number, files: readonly ManifestFile[]): Promise<void> {
    return this.#idb.touchVersion(model, version, files);
  }

  versions(): Promise<StoredVersion[]> {
    return this.#idb.versions();
  }

  async deleteVersion(model: string, version: number): Promise<void> {
    const ofVersion = (id: string) => {
      const [m, v] = JSON.parse(id) as [string, number];
      return m === model && v === version;
    };
    for (const id of [...this.#writes.keys(), ...this.#pendingOpens.keys()].filter(ofVersion)) await this.#settled(id);
    for (const id of [...this.#broken.keys()].filter(ofVersion)) this.#broken.delete(id);
    await this.#idb.deleteVersion(model, version);
    for (const [id, open] of [...this.#open]) if (ofVersion(id)) this.#close(id, open, false);
    const models = await this.#root.getDirectoryHandle(modelDir(model)).catch(() => undefined);
    await models?.removeEntry(String(version), { recursive: true }).catch(() => undefined);
  }

  saveManifest(model: string, basePath: string, text: string): Promise<void> {
    return this.#idb.saveManifest(model, basePath, text);
  }

  loadManifest(basePath: string): Promise<string | undefined> {
    return this.#idb.loadManifest(basePath);
  }

  deleteManifests(model: string): Promise<void> {
    return this.#idb.deleteManifests(model);
  }

  close(): void {
    for (const [id, open] of [...this.#open]) this.#close(id, open);
    this.#idb.close();
  }

  /** Runs `write` after every write queued for the same file before it (whether it failed or not). */
  #inOrder(key: FileKey, write: () => Promise<void>): Promise<void> {
    const id = handleId(key);
    const next = (this.#writes.get(id) ?? Promise.resolve()).catch(() => undefined).then(write);
    this.#writes.set(id, next);
    void next.finally(() => {
      if (this.#writes.get(id) === next) this.#writes.delete(id);
    }).catch(() => undefined);
    return next;
  }

  /** Resolves once the writes queued for the file and an opening of its handle have settled. */
  async #settled(id: string): Promise<void> {
    await Promise.allSettled([this.#writes.get(id), this.#pendingOpens.get(id)]);
  }

  #mark(record: StoredFile): StoredFile {
    return { ...record, bytes: 'opfs' };
  }

  async #versionDir(model: string, version: number, create: boolean): Promise<FileSystemDirectoryHandle | undefined> {
    try {
      const m = await this.#root.getDirectoryHandle(modelDir(model), { create });
      return await m.getDirectoryHandle(String(version), { create });
    } catch (error) {
      if (!create && (error as DOMException).name === 'NotFoundError') return undefined;
      throw error;
    }
  }

  /**
   * Runs `work` with the file's sync access handle, opening it (and with `create`, the file) when
   * none is open here; the handle is closed once idle (flushed first when `writes`).
   */
  async #withHandle<T>(key: FileKey, create: boolean, work: (handle: SyncAccessHandle) => T, writes = false): Promise<T> {
    const id = handleId(key);
    let open = this.#open.get(id);
    // Awaiting the opening, the handle may have been closed (the file completed, or was deleted): open it again.
    while (!open || this.#open.get(id) !== open) open = this.#open.get(id) ?? (await this.#opening(id, key, create));
    clearTimeout(open.timer);
    try {
      return work(open.handle);
    } finally {
      open.written ||= writes;
      open.timer = setTimeout(() => this.#close(id, open), IDLE_CLOSE_MS);
    }
  }

  /** Opens the file's handle; callers that ask while it opens share the one being opened. */
  #opening(id: string, key: FileKey, create: boolean): Promise<OpenHandle> {
    let opening = this.#pendingOpens.get(id);
    if (!opening) {
      opening = (async () => {
        const dir = await this.#versionDir(key.model, key.version, create);
        if (!dir) throw new Error(`${key.model}/${key.version}/${key.path} is not stored`);
        const file = (await dir.getFileHandle(fileName(key.path), { create })) as OpfsFile;
        const open: OpenHandle = { handle: await openHandle(file), timer: undefined, written: false };
        this.#open.set(id, open);
        return open;
      })();
      this.#pendingOpens.set(id, opening);
      void opening.finally(() => this.#pendingOpens.delete(id)).catch(() => undefined);
    }
    return opening;
  }

  /** Closes the handle, flushing what was written through it first unless `flush` is false (the file is being deleted). */
  #close(id: string, open = this.#open.get(id), flush = true): void {
    if (!open || this.#open.get(id) !== open) return;
    clearTimeout(open.timer);
    this.#open.delete(id);
    try {
      if (flush && open.written) open.handle.flush();
    } catch {
      // The bytes stay in the OS's page cache; every read from the store checks them.
    } finally {
      open.handle.close();
    }
  }

  /**
   * Removes the bytes of files that have no record (a delete another tab's open handle refused): each under its
   * file lock, taken only if free (a tab downloading the file holds it), with the record read again inside it.
   */
  async #removeOrphans(): Promise<void> {
    for await (const [m, models] of entries(this.#root)) {
      if (models.kind !== 'directory' || !m.startsWith('m-')) continue;
      for await (const [v, versions] of entries(models as FileSystemDirectoryHandle)) {
        if (versions.kind !== 'directory') continue;
        for await (const [f] of entries(versions as FileSystemDirectoryHandle)) {
          const key = keyOf(m, v, f);
          // A shortened (hashed) name cannot be read back into its key: left alone; deleting its version removes it.
          if (!key) continue;
          await ifFileLockFree(key, async () => {
            if (await this.#idb.file(key)) return;
            await (versions as FileSystemDirectoryHandle).removeEntry(f).catch(() => undefined);
          });
        }
      }
    }
  }
}

/** The file key an OPFS entry's names stand for, or undefined when a name was shortened or is not ours. */
function keyOf(modelName: string, versionName: string, fileEntry: string): FileKey | undefined {
  if (!fileEntry.startsWith('f-') || modelName.includes('~') || fileEntry.includes('~') || !/^\d+$/.test(versionName)) return undefined;
  try {
    return { model: decodeURIComponent(modelName.slice(2)), version: Number(versionName), path: decodeURIComponent(fileEntry.slice(2)) };
  } catch {
    return undefined;
  }
}

function isOpfs(record: StoredFile): boolean {
  return record.bytes === 'opfs';
}

function entries(dir: FileSystemDirectoryHandle): AsyncIterable<[string, FileSystemHandle]> {
  return (dir as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }).entries();
}

/** Opens a sync access handle, waiting while another tab or worker holds one on the file. */
async function openHandle(file: OpfsFile): Promise<SyncAccessHandle> {
  const deadline = Date.now() + OPEN_WAIT_MS;
  for (let wait = 10; ; wait = Math.min(wait * 2, 200)) {
    try {
      return await file.createSyncAccessHandle();
    } catch (error) {
      if ((error as DOMException).name !== 'NoModificationAllowedError' || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}
