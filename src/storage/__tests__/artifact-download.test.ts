import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { ServingError } from '../../core/serving-error.js';
import { sha256Hex } from '../../loaders/artifact-fetcher.js';
import { FakeArtifactServer } from '../../test-util/fake-artifact-server.js';
import { downloadArtifact, type SegmentRequestPolicy } from '../artifact-download.js';
import type { ArtifactStore, StoredFile } from '../artifact-store.js';
import { IdbArtifactStore } from '../idb-artifact-store.js';
import { MemoryArtifactStore } from '../memory-artifact-store.js';

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

    it('stores the file in chunks of one segment when a segment is larger than the configured chunk', async () => {
      const record = await downloadInto();
      expect(record).toMatchObject({ complete: true, chunkBytes: SEGMENT, chunks: 3, storedBytes: bytes.byteLength });
      expect(into).toEqual(bytes);
      expect(await store.readFile(key)).toEqual(bytes);
    });

    it('segments smaller than the configured chunk are stored as many to a chunk; a corrupt one is DATA_LOSS naming it, and only whole chunks before it stay', async () => {
      const big = randomBytes(7 * SEGMENT + 99, 13);
      const corrupt = big.slice();
      corrupt[4 * SEGMENT + 3] = corrupt[4 * SEGMENT + 3]! ^ 0xff;
      server.put(URL_, corrupt);
      file = { path: 'model.onnx', size: big.byteLength, sha256: await sha256Hex(big), segments: { bytes: SEGMENT, sha256: await digests(big) } } as typeof file;
      into = new Uint8Array(big.byteLength);
      // 3.5 segments configured: chunks of 3 segments (0–2, 3–5, 6–7); segment 4 is in the second.
      const chunked = (retry = { maxRetries: 0, backoffMs: 0 }) =>
        downloadArtifact({ store, key, url: URL_, file, chunkBytes: 3.5 * SEGMENT, retry, fetch: server.fetch, where: 'test file', into });
      const error = await chunked().catch((e) => e);
      expect(error).toMatchObject({ code: 'DATA_LOSS', model: 'm', version: 1, data: { segment: 4 } });
      expect(error.message).toMatch(/test file: bytes 32768–40959 \(segment 4\) have SHA-256/);
      expect(await store.file(key)).toMatchObject({ chunkBytes: 3 * SEGMENT, chunks: 1, storedBytes: 3 * SEGMENT, complete: false });

      server.put(URL_, big);
      into = new Uint8Array(big.byteLength);
      expect(await chunked()).toMatchObject({ complete: true, chunkBytes: 3 * SEGMENT, chunks: 3, storedBytes: big.byteLength });
      expect(server.requests.at(-1)?.range).toBe(`bytes=${3 * SEGMENT}-`);
      expect(into).toEqual(big);
      expect(await store.readFile(key)).toEqual(big);
    });

    it('a download cut after two chunks of several segments resumes after them, their segments checked again', async () => {
      const big = randomBytes(6 * SEGMENT, 19);
      server.put(URL_, big);
      file = { path: 'model.onnx', size: big.byteLength, sha256: await sha256Hex(big), segments: { bytes: SEGMENT, sha256: await digests(big) } } as typeof file;
      const chunked = () =>
        downloadArtifact({ store, key, url: URL_, file, chunkBytes: 2 * SEGMENT, retry: { maxRetries: 0, backoffMs: 0 }, fetch: server.fetch, where: 'test file', into: (into = new Uint8Array(big.byteLength)) });
      server.fault(URL_, { cutAfterBytes: 4 * SEGMENT + 10 });
      await expect(chunked()).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      expect(await store.file(key)).toMatchObject({ chunkBytes: 2 * SEGMENT, chunks: 2 });
      server.fault(URL_);
      await chunked();
      expect(server.requests.at(-1)?.range).toBe(`bytes=${4 * SEGMENT}-`);
      expect(into).toEqual(big);
    });

    it('a stored chunk of several segments that no longer matches sends the file back to the start', async () => {
      const big = randomBytes(6 * SEGMENT, 17);
      server.put(URL_, big);
      file = { path: 'model.onnx', size: big.byteLength, sha256: await sha256Hex(big), segments: { bytes: SEGMENT, sha256: await digests(big) } } as typeof file;
      const chunked = (retry = { maxRetries: 0, backoffMs: 0 }) =>
        downloadArtifact({ store, key, url: URL_, file, chunkBytes: 2 * SEGMENT, retry, fetch: server.fetch, where: 'test file', into: (into = new Uint8Array(big.byteLength)) });
      server.fault(URL_, { cutAfterBytes: 4 * SEGMENT + 10 });
      await expect(chunked()).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      const record = (await store.file(key))!;
      expect(record).toMatchObject({ chunkBytes: 2 * SEGMENT, chunks: 2 });
      // The second segment of chunk 1 (segment 3) is lost since.
      const damaged = big.slice(2 * SEGMENT, 4 * SEGMENT);
      damaged[SEGMENT + 1] = damaged[SEGMENT + 1]! ^ 1;
      await store.putChunk(record, 1, damaged);
      server.fault(URL_);
      await chunked();
      expect(server.requests.at(-1)?.range).toBeNull();
      expect(into).toEqual(big);
    });

    it('filling `into` of a store that writes chunks in place, the body is read to its end while the store is still committing: the network never waits for it', async () => {
      const big = randomBytes(8 * SEGMENT, 11);
      server.put(URL_, big);
      file = { path: 'model.onnx', size: big.byteLength, sha256: await sha256Hex(big), segments: { bytes: SEGMENT, sha256: await digests(big) } } as typeof file;
      into = new Uint8Array(big.byteLength);
      let open!: () => void;
      const gate = new Promise<void>((resolve) => (open = resolve));
      let committed = 0;
      // The store, with every putChunk held until the gate opens.
      // A store that writes chunks in place (as OPFS does) lets any number of commits wait.
      const slow = new Proxy(store, {
        get: (target, name) => {
          if (name === 'writesInPlace') return true;
          if (name === 'putChunk') {
            return async (...args: Parameters<ArtifactStore['putChunk']>) => {
              await gate;
              await target.putChunk(...args);
              committed += 1;
            };
          }
          const value = Reflect.get(target, name) as unknown;
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      const done = downloadArtifact({ store: slow, key, url: URL_, file, chunkBytes: CHUNK, retry: { maxRetries: 0, backoffMs: 0 }, fetch: server.fetch, where: 'test file', into });
      await vi.waitFor(() => expect(server.bytesSent(URL_)).toBe(big.byteLength));
      expect(committed).toBe(0);
      open();
      expect(await done).toMatchObject({ complete: true, chunks: 8 });
      expect(committed).toBe(8);
      expect(into).toEqual(big);
      expect(await store.readFile(key)).toEqual(big);
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

    describe('fetched as one Blob per segment once a segment streams in fast', () => {
      // Every segment counts as fast and none is too small: after the first, each one is a ranged request of its own.
      const BLOBS: SegmentRequestPolicy = { lanes: 2, minSegmentBytes: 0, fastSegmentMs: Infinity };
      const WHERE = 'model "m" version 1 file "model.onnx"';
      const big = randomBytes(6 * SEGMENT + 123, 11);
      const range = (segment: number, last = false) => `bytes=${segment * SEGMENT}-${last ? big.byteLength - 1 : (segment + 1) * SEGMENT - 1}`;

      beforeEach(async () => {
        server.put(URL_, big);
        file = { path: 'model.onnx', size: big.byteLength, sha256: await sha256Hex(big), segments: { bytes: SEGMENT, sha256: await digests(big) } } as typeof file;
        into = new Uint8Array(big.byteLength);
      });

      const downloadBlobs = (options: { retry?: { maxRetries: number; backoffMs: number }; policy?: SegmentRequestPolicy; now?: () => number; onBytes?: (n: number) => void; to?: ArtifactStore } = {}) =>
        downloadArtifact({
          store: options.to ?? store, key, url: URL_, file, chunkBytes: CHUNK, retry: options.retry ?? { maxRetries: 3, backoffMs: 0 }, fetch: server.fetch, where: WHERE, into,
          segmentRequests: options.policy ?? BLOBS,
          ...(options.now ? { now: options.now } : {}),
          ...(options.onBytes ? { onBytes: options.onBytes } : {}),
        });

      for (const kind of ['indexeddb', 'memory'] as const) {
        it(`streams the first segment, then requests each other segment by itself, storing the file byte for byte (${kind})`, async () => {
          const to = kind === 'memory' ? new MemoryArtifactStore() : store;
          const progress: number[] = [];
          const record = await downloadBlobs({ to, onBytes: (n) => progress.push(n) });
          expect(record).toMatchObject({ complete: true, chunkBytes: SEGMENT, chunks: 7, storedBytes: big.byteLength });
          expect(server.requests.map((r) => [r.range, r.status])).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => [range(i, i === 6), 206]));
          expect(server.bytesSent(URL_)).toBe(big.byteLength);
          expect(into).toEqual(big);
          expect(await to.readFile(key)).toEqual(big);
          expect(progress.at(-1)).toBe(big.byteLength);
          for (let i = 1; i < progress.length; i++) expect(progress[i]).toBeGreaterThanOrEqual(progress[i - 1]!);
        });
      }

      it('a segment request cut off mid-body loses that segment only: the store keeps every segment before it and the next download starts there', async () => {
        // The first request (segment 0, streamed) is served whole; every later one is cut off.
        server.fault(URL_, { times: 1 }, { cutAfterBytes: 100 });
        const error = await downloadBlobs({ retry: { maxRetries: 0, backoffMs: 0 } }).catch((e) => e);
        expect(error).toMatchObject({ code: 'UNAVAILABLE' });
        expect(error.message).toMatch(/chunk 1 \(bytes 8192–16383\) broke off/);
        expect(await store.file(key)).toMatchObject({ chunks: 1, storedBytes: SEGMENT, complete: false });
        expect(await store.readFile(key)).toEqual(big.subarray(0, SEGMENT));

        server.fault(URL_);
        const before = server.requests.length;
        into = new Uint8Array(big.byteLength);
        await downloadBlobs();
        expect(server.requests[before]?.range).toBe(range(1));
        expect(into).toEqual(big);
        expect(await store.readFile(key)).toEqual(big);
      });

      it('retries a cut segment within one download, from the last whole segment', async () => {
        server.fault(URL_, { times: 2 }, { cutAfterBytes: 100, times: 1 });
        await downloadBlobs();
        expect(into).toEqual(big);
        expect(await store.readFile(key)).toEqual(big);
        // Segments 0 and 1 arrived once; the retry starts at the first segment not committed.
        const retried = server.requests.slice(3).map((r) => r.range);
        expect(retried[0]).toBe(range(2));
        expect(retried).not.toContain(range(0));
        expect(retried).not.toContain(range(1));
      });

      it('the first corrupt segment is DATA_LOSS naming model, version, file and segment; segments before it stay stored, it and those after it do not', async () => {
        // Segments 3, 4 and 6 are corrupt; with two in flight, 4 may be checked before 3: the error is about 3.
        const corrupt = big.slice();
        corrupt[3 * SEGMENT + 9] = corrupt[3 * SEGMENT + 9]! ^ 0xff;
        corrupt[4 * SEGMENT + 9] = corrupt[4 * SEGMENT + 9]! ^ 0xff;
        corrupt[6 * SEGMENT + 9] = corrupt[6 * SEGMENT + 9]! ^ 0xff;
        server.put(URL_, corrupt);
        const error = await downloadBlobs().catch((e) => e);
        expect(error).toBeInstanceOf(ServingError);
        expect(error).toMatchObject({ code: 'DATA_LOSS', model: 'm', version: 1, data: { segment: 3 } });
        expect(error.message).toMatch(/^model "m" version 1 file "model\.onnx": bytes 24576–32767 \(segment 3\) have SHA-256 [0-9a-f]{64}, the manifest says [0-9a-f]{64}/);
        expect(await store.file(key)).toMatchObject({ chunks: 3, storedBytes: 3 * SEGMENT, complete: false });
        expect(await store.readFile(key)).toEqual(big.subarray(0, 3 * SEGMENT));
      });

      it('chunks of several segments: each chunk is one request, a corrupt segment inside the second is DATA_LOSS naming it, only the first chunk stays', async () => {
        const corrupt = big.slice();
        corrupt[4 * SEGMENT + 9] = corrupt[4 * SEGMENT + 9]! ^ 0xff;
        server.put(URL_, corrupt);
        const chunk = 3 * SEGMENT;
        const error = await downloadArtifact({ store, key, url: URL_, file, chunkBytes: chunk, retry: { maxRetries: 0, backoffMs: 0 }, fetch: server.fetch, where: WHERE, into, segmentRequests: BLOBS }).catch((e) => e);
        expect(error).toMatchObject({ code: 'DATA_LOSS', model: 'm', version: 1, data: { segment: 4 } });
        expect(error.message).toMatch(/bytes 32768–40959 \(segment 4\) have SHA-256/);
        // Chunk 0 streamed alone, then chunks 1 and 2 each by itself.
        expect(server.requests.map((r) => r.range)).toEqual([`bytes=0-${chunk - 1}`, `bytes=${chunk}-${2 * chunk - 1}`, `bytes=${2 * chunk}-${big.byteLength - 1}`]);
        expect(await store.file(key)).toMatchObject({ chunkBytes: chunk, chunks: 1, storedBytes: chunk, complete: false });

        server.put(URL_, big);
        into = new Uint8Array(big.byteLength);
        const record = await downloadArtifact({ store, key, url: URL_, file, chunkBytes: chunk, retry: { maxRetries: 0, backoffMs: 0 }, fetch: server.fetch, where: WHERE, into, segmentRequests: BLOBS });
        expect(record).toMatchObject({ complete: true, chunks: 3 });
        expect(into).toEqual(big);
        expect(await store.readFile(key)).toEqual(big);
      });

      it('when the server answers a segment\'s Range with the whole file, the rest is streamed and stored byte for byte', async () => {
        server.fault(URL_, { times: 1 }, { ignoreRange: true });
        await downloadBlobs();
        expect(server.requests.at(-1)).toMatchObject({ range: `bytes=${SEGMENT}-`, status: 200 });
        expect(into).toEqual(big);
        expect(await store.readFile(key)).toEqual(big);
      });

      it('segments that arrive too slowly for progress to be seen send the rest back to streaming', async () => {
        // The first two readings of the clock (segment 0's request and last byte) are 1 ms apart, every later one 5 s after the last.
        let clock = 0;
        let readings = 0;
        const policy = { lanes: 2, minSegmentBytes: 0, fastSegmentMs: 1000 };
        await downloadBlobs({ policy, now: () => (clock += readings++ < 2 ? 1 : 5000) });
        // Segment 0 streamed in 1 ms: Blobs; segments 1 and 2 took 5 s each: the rest in one streamed request.
        expect(server.requests.map((r) => r.range)).toEqual([range(0), range(1), range(2), `bytes=${3 * SEGMENT}-`]);
        expect(into).toEqual(big);
        expect(await store.readFile(key)).toEqual(big);
      });

      it('a segment first streamed slowly keeps the whole file streamed', async () => {
        let clock = 0;
        await downloadBlobs({ policy: { lanes: 2, minSegmentBytes: 0, fastSegmentMs: 1000 }, now: () => (clock += 5000) });
        expect(server.requests.map((r) => r.range)).toEqual([range(0), `bytes=${SEGMENT}-`]);
        expect(await store.readFile(key)).toEqual(big);
      });

      it('segments smaller than minSegmentBytes are streamed in one request', async () => {
        await downloadBlobs({ policy: { ...BLOBS, minSegmentBytes: SEGMENT + 1 } });
        expect(server.requests.map((r) => r.range)).toEqual([null]);
        expect(await store.readFile(key)).toEqual(big);
      });

      it('the store\'s QuotaExceededError passes through unchanged, the segments committed before it stay', async () => {
        const quota = new DOMException('The quota has been exceeded.', 'QuotaExceededError');
        const full = new Proxy(store, {
          get(target, name) {
            if (name === 'putChunk') return (record: StoredFile, index: number, data: Uint8Array | Blob) => (index >= 2 ? Promise.reject(quota) : target.putChunk(record, index, data));
            const value: unknown = Reflect.get(target, name, target);
            return typeof value === 'function' ? value.bind(target) : value;
          },
        });
        const error = await downloadBlobs({ to: full }).catch((e) => e);
        expect(error).toBe(quota);
        expect(await store.file(key)).toMatchObject({ chunks: 2, complete: false });
        expect(await store.readFile(key)).toEqual(big.subarray(0, 2 * SEGMENT));
      });
    });
  });
});
