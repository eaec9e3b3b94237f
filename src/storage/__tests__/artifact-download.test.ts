import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { beforeEach, describe, expect, it } from 'vitest';
import { ServingError } from '../../core/serving-error.js';
import { sha256Hex } from '../../loaders/artifact-fetcher.js';
import { FakeArtifactServer } from '../../test-util/fake-artifact-server.js';
import { downloadArtifact } from '../artifact-download.js';
import { IdbArtifactStore } from '../idb-artifact-store.js';

const URL_ = 'https://models.test/m/1/model.onnx';
const CHUNK = 4096;
const key = { model: 'm', version: 1, path: 'model.onnx' };

function randomBytes(n: number, seed = 7): Uint8Array {
  let x = seed;
  return Uint8Array.from({ length: n }, () => ((x = (x * 1103515245 + 12345) >>> 0) >>> 24));
}

describe('downloadArtifact', () => {
  let store: IdbArtifactStore;
  let server: FakeArtifactServer;
  const bytes = randomBytes(5 * CHUNK + 123);
  let file: { path: string; size: number; sha256: string };

  beforeEach(async () => {
    globalThis.indexedDB = new IDBFactory();
    store = await IdbArtifactStore.open();
    server = new FakeArtifactServer();
    server.put(URL_, bytes);
    file = { path: 'model.onnx', size: bytes.byteLength, sha256: await sha256Hex(bytes) };
  });

  const download = (retry = { maxRetries: 3, backoffMs: 0 }) =>
    downloadArtifact({ store, key, url: URL_, file, chunkBytes: CHUNK, retry, fetch: server.fetch, where: 'test file' });

  it('stores the body in chunks and assembles it byte for byte', async () => {
    const record = await download();
    expect(record).toMatchObject({ complete: true, chunks: 6, storedBytes: bytes.byteLength });
    expect(await store.readFile(key)).toEqual(bytes);
    expect(server.requests).toHaveLength(1);
  });

  it('resumes a cut body with Range from the last committed chunk, re-fetching less than one chunk', async () => {
    server.fault(URL_, { cutAfterBytes: 2 * CHUNK + 1500, times: 1 });
    await download();
    expect(server.requests.map((r) => [r.range, r.status])).toEqual([[null, 200], [`bytes=${2 * CHUNK}-`, 206]]);
    const refetched = server.bytesSent(URL_) - bytes.byteLength;
    expect(refetched).toBe(1500);
    expect(refetched).toBeLessThan(CHUNK);
    expect(await store.readFile(key)).toEqual(bytes);
  });

  it('completes when the server ignores Range, without rewriting committed chunks', async () => {
    server.fault(URL_, { cutAfterBytes: 3 * CHUNK + 10, times: 1 }, { ignoreRange: true });
    await download();
    expect(server.requests.map((r) => r.status)).toEqual([200, 200]);
    expect(await store.readFile(key)).toEqual(bytes);
  });

  it('a later download after the process died mid-way fetches only the missing chunks', async () => {
    server.fault(URL_, { cutAfterBytes: 4 * CHUNK + 7 });
    await expect(download({ maxRetries: 0, backoffMs: 0 })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect((await store.file(key))?.chunks).toBe(4);
    server.fault(URL_);
    await download();
    expect(server.requests.at(-1)?.range).toBe(`bytes=${4 * CHUNK}-`);
    expect(await store.readFile(key)).toEqual(bytes);
  });

  it('gives up after maxRetries with UNAVAILABLE naming how far it got', async () => {
    server.fault(URL_, { cutAfterBytes: 100 });
    const error = await download({ maxRetries: 2, backoffMs: 0 }).catch((e) => e);
    expect(error).toBeInstanceOf(ServingError);
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.message).toMatch(/broke off after \d+ of 20603 bytes/);
    expect(server.requests).toHaveLength(3);
  });

  it('404 is NOT_FOUND and is not retried', async () => {
    server.fault(URL_, { status: 404 });
    await expect(download()).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(server.requests).toHaveLength(1);
  });

  it('a body longer than the manifest says is DATA_LOSS', async () => {
    server.put(URL_, new Uint8Array(bytes.byteLength + 10));
    await expect(download()).rejects.toMatchObject({ code: 'DATA_LOSS' });
  });

  it('a record made for another manifest entry is dropped and the file starts over', async () => {
    server.fault(URL_, { cutAfterBytes: 2 * CHUNK });
    await download({ maxRetries: 0, backoffMs: 0 }).catch(() => undefined);
    server.fault(URL_);
    const other = randomBytes(3 * CHUNK, 99);
    server.put(URL_, other);
    file = { path: 'model.onnx', size: other.byteLength, sha256: await sha256Hex(other) };
    await download();
    expect(server.requests.at(-1)?.range).toBeNull();
    expect(await store.readFile(key)).toEqual(other);
  });

  describe('with segment digests in the manifest', () => {
    const SEGMENT = 2 * CHUNK;
    const digests = async (data: Uint8Array) => {
      const out = [];
      for (let at = 0; at < data.byteLength; at += SEGMENT) out.push(await sha256Hex(data.subarray(at, at + SEGMENT)));
      return out;
    };
    let into: Uint8Array;

    beforeEach(async () => {
      file = { ...file, segments: { bytes: SEGMENT, sha256: await digests(bytes) } } as typeof file;
      into = new Uint8Array(bytes.byteLength);
    });

    const downloadInto = (retry = { maxRetries: 3, backoffMs: 0 }) =>
      downloadArtifact({ store, key, url: URL_, file, chunkBytes: CHUNK, retry, fetch: server.fetch, where: 'test file', into });

    it('stores the file in chunks of one segment, whatever chunk size is configured', async () => {
      const record = await downloadInto();
      expect(record).toMatchObject({ complete: true, chunkBytes: SEGMENT, chunks: 3, storedBytes: bytes.byteLength });
      expect(into).toEqual(bytes);
      expect(await store.readFile(key)).toEqual(bytes);
    });

    it('a corrupt segment mid-download is DATA_LOSS naming it; the segments before it stay stored, it does not', async () => {
      const corrupt = bytes.slice();
      corrupt[SEGMENT + 17] = corrupt[SEGMENT + 17]! ^ 0xff;
      server.put(URL_, corrupt);
      const error = await downloadInto().catch((e) => e);
      expect(error).toBeInstanceOf(ServingError);
      expect(error).toMatchObject({ code: 'DATA_LOSS', model: 'm', version: 1, data: { segment: 1 } });
      expect(error.message).toMatch(/test file: bytes 8192–16383 \(segment 1\) have SHA-256 [0-9a-f]{64}, the manifest says [0-9a-f]{64}/);
      expect(server.requests).toHaveLength(1);
      const stored = await store.file(key);
      expect(stored).toMatchObject({ chunks: 1, storedBytes: SEGMENT, complete: false });
      expect(await store.readFile(key)).toEqual(bytes.subarray(0, SEGMENT));
    });

    it('after a corrupt segment, the next download resumes at that segment boundary', async () => {
      const corrupt = bytes.slice();
      corrupt[2 * SEGMENT + 5] = corrupt[2 * SEGMENT + 5]! ^ 0xff;
      server.put(URL_, corrupt);
      await expect(downloadInto()).rejects.toMatchObject({ code: 'DATA_LOSS' });
      server.put(URL_, bytes);
      into = new Uint8Array(bytes.byteLength);
      await downloadInto();
      expect(server.requests.at(-1)?.range).toBe(`bytes=${2 * SEGMENT}-`);
      expect(into).toEqual(bytes);
    });

    it('resumes a cut body with Range from the last whole segment', async () => {
      server.fault(URL_, { cutAfterBytes: SEGMENT + CHUNK + 100, times: 1 });
      await downloadInto();
      expect(server.requests.map((r) => [r.range, r.status])).toEqual([[null, 200], [`bytes=${SEGMENT}-`, 206]]);
      expect(into).toEqual(bytes);
    });

    it('starts over when a segment stored by an earlier attempt no longer matches its digest', async () => {
      server.fault(URL_, { cutAfterBytes: 2 * SEGMENT + 10 });
      await expect(downloadInto({ maxRetries: 0, backoffMs: 0 })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      const record = (await store.file(key))!;
      expect(record.chunks).toBe(2);
      // The store lost bytes of segment 0 since (disk corruption, a bug elsewhere).
      await store.putChunk({ ...record, chunks: 1, storedBytes: SEGMENT }, 0, new Uint8Array(SEGMENT));
      server.fault(URL_);
      into = new Uint8Array(bytes.byteLength);
      await downloadInto();
      expect(server.requests.at(-1)?.range).toBeNull();
      expect(into).toEqual(bytes);
      expect(await store.readFile(key)).toEqual(bytes);
    });
  });
});
