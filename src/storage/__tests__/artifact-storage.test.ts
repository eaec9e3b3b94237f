import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { openDB } from 'idb';
import { beforeEach, describe, expect, it } from 'vitest';
import { sha256Hex, type ArtifactRequest } from '../../loaders/artifact-fetcher.js';
import type { DownloadProgress } from '../../protocol.js';
import { FakeArtifactServer } from '../../test-util/fake-artifact-server.js';
import { ArtifactStorage } from '../artifact-storage.js';
import { DATABASE_NAME, IdbArtifactStore, SCHEMA_VERSION } from '../idb-artifact-store.js';

const CHUNK = 64 * 1024;

function bytesOf(n: number, seed: number): Uint8Array {
  let x = seed;
  return Uint8Array.from({ length: n }, () => ((x = (x * 1103515245 + 12345) >>> 0) >>> 24));
}

const url = (model: string, version: number, path = 'model.onnx') => `https://models.test/${model}/${version}/${path}`;

describe('ArtifactStorage', () => {
  let server: FakeArtifactServer;
  let warnings: string[];

  beforeEach(() => {
    globalThis.indexedDB = new IDBFactory();
    server = new FakeArtifactServer();
    warnings = [];
  });

  const open = (options = {}, estimate?: () => Promise<{ usage?: number; quota?: number }>) =>
    ArtifactStorage.open({ chunkBytes: CHUNK, retry: { maxRetries: 2, backoffMs: 0 }, ...options }, { fetch: server.fetch, warn: (m) => warnings.push(m), ...(estimate ? { estimate } : {}) });

  async function publish(model: string, version: number, size: number, seed = version): Promise<ArtifactRequest> {
    const bytes = bytesOf(size, seed);
    server.put(url(model, version), bytes);
    return { model, version, url: url(model, version), file: { path: 'model.onnx', size, sha256: await sha256Hex(bytes) } };
  }

  it('a file fetched once is served from the store afterwards, with no request, also after reopening', async () => {
    const request = await publish('m', 1, 3 * CHUNK + 5);
    const storage = await open();
    const first = await storage.fetcher.fetch(request);
    storage.close();
    const reopened = await open();
    const second = await reopened.fetcher.fetch(request);
    expect(second).toEqual(first);
    expect(server.requests).toHaveLength(1);
    expect(await reopened.list()).toEqual([
      expect.objectContaining({ model: 'm', version: 1, bytes: 3 * CHUNK + 5, complete: true, files: [{ path: 'model.onnx', size: 3 * CHUNK + 5, storedBytes: 3 * CHUNK + 5 }] }),
    ]);
    expect(warnings).toEqual([]);
  });

  it('bytes that do not match the SHA-256 are DATA_LOSS and are not kept', async () => {
    const request = await publish('m', 1, 2 * CHUNK);
    server.put(url('m', 1), bytesOf(2 * CHUNK, 42));
    const storage = await open();
    await expect(storage.fetcher.fetch(request)).rejects.toMatchObject({ code: 'DATA_LOSS', model: 'm', version: 1 });
    expect(await storage.list()).toEqual([]);
    expect((await storage.usage()).bytes).toBe(0);
  });

  it('a stored file whose manifest lists segment digests is checked by segment when read back: a changed one is DATA_LOSS naming it, dropped, and fetched again', async () => {
    const bytes = bytesOf(5 * CHUNK + 7, 3);
    server.put(url('m', 1), bytes);
    const segments = [];
    for (let at = 0; at < bytes.byteLength; at += CHUNK) segments.push(await sha256Hex(bytes.subarray(at, at + CHUNK)));
    const request: ArtifactRequest = { model: 'm', version: 1, url: url('m', 1), file: { path: 'model.onnx', size: bytes.byteLength, sha256: await sha256Hex(bytes), segments: { bytes: CHUNK, sha256: segments } } };
    // Chunks of two segments.
    let storage = await open({ chunkBytes: 2 * CHUNK });
    expect(await storage.fetcher.fetch(request)).toEqual(bytes);
    storage.close();
    const store = await IdbArtifactStore.open();
    const key = { model: 'm', version: 1, path: 'model.onnx' };
    const record = (await store.file(key))!;
    expect(record).toMatchObject({ chunkBytes: 2 * CHUNK, chunks: 3, complete: true });
    const changed = bytes.slice(2 * CHUNK, 4 * CHUNK);
    changed[CHUNK + 9] = changed[CHUNK + 9]! ^ 1;
    await store.putChunk(record, 1, changed);
    store.close();

    storage = await open({ chunkBytes: 2 * CHUNK });
    const error = await storage.fetcher.fetch(request).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'DATA_LOSS', model: 'm', version: 1, data: { segment: 3 } });
    expect((error as Error).message).toMatch(/model "m" version 1 file "model\.onnx": bytes 196608–262143 \(segment 3\) have SHA-256/);
    expect(await storage.list()).toEqual([]);
    expect(server.requests).toHaveLength(1);
    expect(await storage.fetcher.fetch(request)).toEqual(bytes);
    expect(server.requests).toHaveLength(2);
  });

  it('progress per file and per version is monotonic, and ends cached at the file size', async () => {
    const request = await publish('m', 1, 4 * CHUNK + 17);
    server.fault(url('m', 1), { cutAfterBytes: 2 * CHUNK + 300, times: 1 });
    const storage = await open();
    const events: DownloadProgress[] = [];
    storage.subscribe((p) => events.push(p));
    await storage.fetcher.fetch(request);
    for (const stream of [events.filter((e) => e.file), events.filter((e) => !e.file)]) {
      const done = stream.map((e) => e.bytesDone);
      expect(done).toEqual([...done].sort((a, b) => a - b));
      expect(stream[0]?.state).toBe('queued');
      expect(stream.at(-1)).toMatchObject({ state: 'cached', bytesDone: 4 * CHUNK + 17, bytesTotal: 4 * CHUNK + 17 });
    }
    expect(new Set(events.map((e) => e.state))).toEqual(new Set(['queued', 'downloading', 'verifying', 'cached']));
  });

  it('makes room by evicting the least recently used version that is neither aspired nor serving', async () => {
    const storage = await open({ budgetBytes: 5 * CHUNK });
    const serving = new Set(['m@1']);
    storage.setProtected((model, version) => serving.has(`${model}@${version}`));
    for (const version of [1, 2, 3]) await storage.fetcher.fetch(await publish('m', version, CHUNK));
    await storage.fetcher.fetch(await publish('m', 2, CHUNK)); // v2 used again: v3 is now the least recently used evictable
    await storage.fetcher.fetch(await publish('m', 4, 3 * CHUNK));
    expect((await storage.list()).map((v) => v.version)).toEqual([4, 2, 1]);
  });

  it('a version larger than the budget is RESOURCE_EXHAUSTED with bytes needed and available, evicting nothing', async () => {
    const storage = await open({ budgetBytes: 3 * CHUNK });
    await storage.fetcher.fetch(await publish('m', 1, CHUNK));
    const error = await storage.fetcher.fetch(await publish('m', 2, 4 * CHUNK)).catch((e) => e);
    expect(error).toMatchObject({ code: 'RESOURCE_EXHAUSTED', model: 'm', version: 2, data: { bytesNeeded: 4 * CHUNK, bytesAvailable: 3 * CHUNK, budgetBytes: 3 * CHUNK } });
    expect(error.message).toContain(`needs ${4 * CHUNK} more bytes but has ${3 * CHUNK} available`);
    expect((await storage.list()).map((v) => v.version)).toEqual([1]);
    expect(server.requests.filter((r) => r.url === url('m', 2))).toHaveLength(0);
  });

  it("the origin's quota (navigator.storage.estimate) limits room like the budget", async () => {
    const storage = await open({}, async () => ({ usage: 900, quota: 1000 }));
    await expect(storage.fetcher.fetch(await publish('m', 1, CHUNK))).rejects.toMatchObject({ code: 'RESOURCE_EXHAUSTED', data: { bytesNeeded: CHUNK, bytesAvailable: 100 } });
  });

  it('a QuotaExceededError from IndexedDB becomes RESOURCE_EXHAUSTED with the numbers', async () => {
    const storage = await open({}, async () => ({ usage: 10, quota: 10 + 8 * CHUNK }));
    const put = IDBObjectStore.prototype.put;
    IDBObjectStore.prototype.put = function (this: IDBObjectStore, value: unknown, key?: IDBValidKey) {
      if (this.name === 'chunks') throw new DOMException('quota', 'QuotaExceededError');
      return put.call(this, value, key);
    };
    try {
      await expect(storage.fetcher.fetch(await publish('m', 1, 2 * CHUNK))).rejects.toMatchObject({ code: 'RESOURCE_EXHAUSTED', version: 1, data: { bytesNeeded: 2 * CHUNK, bytesAvailable: 8 * CHUNK } });
    } finally {
      IDBObjectStore.prototype.put = put;
    }
  });

  it('serves the cached manifest reduced to versions stored whole', async () => {
    const storage = await open();
    const v1 = await publish('m', 1, CHUNK);
    const v2 = await publish('m', 2, CHUNK);
    const manifest = { format: 'browserving-manifest/1', versions: [1, 2].map((version) => ({ version, kind: 'onnx', files: [(version === 1 ? v1 : v2).file] })) };
    await storage.save('m', 'https://models.test/m', JSON.stringify(manifest));
    await storage.fetcher.fetch(v1);
    expect((await storage.load('m', 'https://models.test/m'))?.versions.map((v) => v.version)).toEqual([1]);
    expect(await storage.load('m', 'https://models.test/other')).toBeUndefined();
  });

  it('delete removes one version, or every version of a model and its manifest', async () => {
    const storage = await open();
    for (const version of [1, 2]) await storage.fetcher.fetch(await publish('m', version, CHUNK));
    await storage.fetcher.fetch(await publish('n', 1, CHUNK));
    await storage.save('m', 'https://models.test/m', '{}');
    await storage.delete('m', 2);
    expect((await storage.list()).map((v) => `${v.model}@${v.version}`)).toEqual(['m@1', 'n@1']);
    await storage.delete('m');
    expect((await storage.list()).map((v) => `${v.model}@${v.version}`)).toEqual(['n@1']);
    expect(await storage.load('m', 'https://models.test/m')).toBeUndefined();
    await expect(storage.delete('')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('two fetchers of one file (two tabs) download it once', async () => {
    const request = await publish('m', 1, 3 * CHUNK);
    const [a, b] = [await open(), await open()];
    const [x, y] = await Promise.all([a.fetcher.fetch(request), b.fetcher.fetch(request)]);
    expect(x).toEqual(y);
    expect(server.requests).toHaveLength(1);
  });

  it('without IndexedDB it runs memory-only with a clear warning, and still serves', async () => {
    const saved = globalThis.indexedDB;
    // @ts-expect-error: simulating a context without IndexedDB
    delete globalThis.indexedDB;
    try {
      const storage = await open();
      const request = await publish('m', 1, CHUNK);
      expect(await storage.fetcher.fetch(request)).toHaveLength(CHUNK);
      expect(warnings).toEqual([expect.stringMatching(/IndexedDB is unavailable.*memory-only/)]);
      expect(await storage.usage()).toMatchObject({ mode: 'memory', bytes: 0, warning: warnings[0] });
    } finally {
      globalThis.indexedDB = saved;
    }
  });

  it('a tab opening a newer schema is not blocked: this one closes its connection and goes on in memory', async () => {
    const storage = await open();
    await storage.fetcher.fetch(await publish('m', 1, CHUNK));
    const newer = await openDB(DATABASE_NAME, SCHEMA_VERSION + 1, { blocked: () => expect.fail('the upgrade was blocked') });
    newer.close();
    expect(storage.mode).toBe('memory');
    expect(warnings).toEqual([expect.stringMatching(/newer artifact database/)]);
    expect(await storage.fetcher.fetch(await publish('m', 2, CHUNK))).toHaveLength(CHUNK);
  });
});

describe('IdbArtifactStore and records of files kept in OPFS', () => {
  beforeEach(() => {
    globalThis.indexedDB = new IDBFactory();
  });

  it('alone (storage.backend indexeddb, or OPFS not opening), a file whose bytes are in OPFS is not stored: it is downloaded again, never read as missing chunks', async () => {
    const store = await IdbArtifactStore.open();
    const key = { model: 'm', version: 1, path: 'model.onnx' };
    const record = { ...key, size: 10, sha256: 'ab', chunkBytes: CHUNK, chunks: 1, storedBytes: 10, complete: true, bytes: 'opfs' as const };
    await store.touchVersion('m', 1, [{ path: 'model.onnx', size: 10, sha256: 'ab' }]);
    await store.putRecord(record);
    expect(await store.file(key)).toBeUndefined();
    await expect(store.readFile(key)).rejects.toThrow(/not stored/);
    expect(await store.versions()).toEqual([expect.objectContaining({ model: 'm', version: 1, bytes: 0, complete: false })]);
    // The OPFS store reading its records through this one sees them.
    store.acceptOpfsRecords();
    expect(await store.file(key)).toEqual(record);
    expect(await store.versions()).toEqual([expect.objectContaining({ bytes: 10, complete: true })]);
    store.close();
  });
});
