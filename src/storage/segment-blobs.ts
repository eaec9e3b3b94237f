/**
 * fetchSegmentBlobs: fetches the segments of a file that lists segment digests, from the first
 * one not committed, as one ranged request per segment, `lanes` requests at a time; each
 * response is taken whole with `response.blob()`, read once to check its digest (and copied
 * into `into`), and the Blob itself is committed. A "segment" here is one stored chunk: a whole
 * number of the manifest's segments (chunkBytesFor), each of which must match its digest.
 *
 * Why Blobs: with `response.blob()` Chromium assembles the body in the browser process as it
 * arrives; the bytes cross into the worker once, in one read, and IndexedDB stores that Blob
 * without another copy. Streaming the body through the worker (many small reads, a digest, a
 * `new Blob()` per segment, which copies it again) made a download into the store about half
 * as fast as a plain fetch on the 64 MiB benchmark. Why a request per segment: a Blob is all
 * or nothing, so a body cut off loses the segment it was carrying and no more; the next attempt
 * resumes after the last segment committed.
 *
 * Order and verification: segment i is committed (Blob and record in one transaction) only
 * once it matched its digest and segment i − 1 was committed, so the record never claims a
 * segment that is not stored and verified. The first failure stops new requests; segments
 * before it that arrive are still committed; then the first failure in segment order is
 * thrown: UNAVAILABLE (retryable when the network or server may recover), NOT_FOUND, DATA_LOSS
 * (a segment not matching its digest, naming it) or the store's error, unchanged.
 *
 * It resolves before the file is complete, with what it committed, when segments come too
 * slowly for progress to be seen (`slow`: the caller streams the rest, reporting every read)
 * or when the server answers a range with the whole file (`ranges-ignored`).
 */
import { verifyChunk } from '../loaders/artifact-fetcher.js';
import { ServingError } from '../core/serving-error.js';
import type { ManifestFile } from '../sources/manifest.js';
import type { ArtifactStore, FileKey, StoredFile } from './artifact-store.js';
import { contentRangeStart, requestArtifact, retryable, type ArtifactRequestInit } from './download-response.js';

/** When a file's segments are fetched as Blobs rather than streamed. */
export interface SegmentRequestPolicy {
  /** Segment requests in flight at once. */
  readonly lanes: number;
  /** Chunks smaller than this are streamed: a request per chunk would cost more than the bytes. */
  readonly minSegmentBytes: number;
  /**
   * Blobs only while a segment arrives within this many milliseconds per lane: slower, progress
   * (reported per committed segment) would stall, so the rest is streamed (reported per read).
   */
  readonly fastSegmentMs: number;
}

export interface SegmentBlobsOptions extends ArtifactRequestInit {
  readonly store: ArtifactStore;
  readonly key: FileKey;
  readonly file: ManifestFile;
  readonly policy: SegmentRequestPolicy;
  readonly into?: Uint8Array;
  readonly onBytes?: (bytes: number) => void;
  readonly now: () => number;
}

export interface SegmentBlobsResult {
  readonly record: StoredFile;
  /** Why it resolved before the file was complete. */
  readonly stopped?: 'slow' | 'ranges-ignored';
}

/** A 200 to a ranged request: the server sends the whole file. Internal: it ends the Blob requests, it fails nothing. */
class RangeIgnored extends Error {}

export async function fetchSegmentBlobs(options: SegmentBlobsOptions, start: StoredFile): Promise<SegmentBlobsResult> {
  const { store, policy, now } = options;
  const segments = Math.ceil(start.size / start.chunkBytes);
  const lanes = Math.max(1, policy.lanes);
  let record = start;
  let next = start.chunks;
  let stopped: SegmentBlobsResult['stopped'];
  let failed = false;
  let read: Promise<void> = Promise.resolve();
  let committed: Promise<void> = Promise.resolve();
  const commits: Promise<void>[] = [];

  // Two chains in segment order. Reads, one Blob at a time (reading Blobs back concurrently made
  // each read several times slower), each digest overlapping the next read. Commits, each after
  // the one before it and after its own segment matched: a failure in segment i keeps every
  // later segment out of the store, and the chain rejects with the first failure in segment order.
  const enqueue = (index: number, downloaded: Promise<Blob>): void => {
    const previousRead = read;
    const bytes = (async () => {
      await previousRead;
      return readBlob(await downloaded);
    })();
    read = bytes.then(() => undefined);
    const check = (async () => {
      const blob = await downloaded;
      await verifyBytes(options, record, index, await bytes);
      return blob;
    })();
    check.catch(() => undefined);
    read.catch(() => undefined);
    const previousCommitted = committed;
    committed = (async () => {
      await previousCommitted;
      const blob = await check;
      const storedBytes = Math.min((index + 1) * record.chunkBytes, record.size);
      const updated: StoredFile = { ...record, chunks: index + 1, storedBytes, complete: storedBytes === record.size };
      await store.putChunk(updated, index, blob);
      record = updated;
      options.onBytes?.(storedBytes);
    })();
    committed.catch(() => {
      failed = true;
    });
    commits[index] = committed;
  };

  // Each lane keeps one request in flight; what arrived is verified and committed behind it.
  const lane = async (): Promise<void> => {
    while (next < segments && stopped === undefined && !failed) {
      const index = next;
      next += 1;
      // A slow reader or store holds the network back rather than piling up Blobs.
      await commits[index - 2 * lanes]?.catch(() => undefined);
      if (failed) return;
      const sent = now();
      const downloaded = downloadSegment(options, record, index);
      enqueue(index, downloaded);
      try {
        await downloaded;
      } catch (error) {
        if (error instanceof RangeIgnored) stopped = 'ranges-ignored';
        else failed = true;
        return;
      }
      if ((now() - sent) / lanes > policy.fastSegmentMs) stopped ??= 'slow';
    }
  };
  await Promise.all(Array.from({ length: lanes }, lane));
  try {
    await committed;
  } catch (error) {
    if (!(error instanceof RangeIgnored)) throw error;
  }
  return record.complete || stopped === undefined ? { record } : { record, stopped };
}

/** Segment `index` as a Blob of exactly its bytes. */
async function downloadSegment(options: SegmentBlobsOptions, record: StoredFile, index: number): Promise<Blob> {
  const { where, url, signal } = options;
  const start = index * record.chunkBytes;
  const end = Math.min(start + record.chunkBytes, record.size);
  const range = `bytes=${start}-${end - 1}`;
  // If-Range: should the file have changed since the ETag was seen, the server sends all of it (200), not a piece of the new one.
  const response = await requestArtifact(options, { Range: range, ...(record.etag ? { 'If-Range': record.etag } : {}) });
  if (response.status !== 206) {
    response.body.cancel().catch(() => undefined);
    throw new RangeIgnored();
  }
  if (contentRangeStart(response) !== start) {
    response.body.cancel().catch(() => undefined);
    throw new ServingError('UNAVAILABLE', `${where}: ${url} answered ${response.headers.get('Content-Range')} to Range: ${range}`);
  }
  let blob: Blob;
  try {
    blob = await response.blob();
  } catch (error) {
    signal?.throwIfAborted();
    throw retryable(new ServingError('UNAVAILABLE', `${where}: chunk ${index} (bytes ${start}–${end - 1}) broke off: ${(error as Error).message}`, {}, { cause: error }));
  }
  if (blob.size !== end - start) {
    throw retryable(new ServingError('UNAVAILABLE', `${where}: ${url} answered ${blob.size} bytes to Range: ${range}`));
  }
  return blob;
}

/** The Blob's bytes, in one read. */
async function readBlob(blob: Blob): Promise<Uint8Array> {
  return new Uint8Array(await blob.arrayBuffer());
}

/** DATA_LOSS unless segment `index` matches its digest; copied into `into` when it does. */
async function verifyBytes(options: SegmentBlobsOptions, record: StoredFile, index: number, bytes: Uint8Array): Promise<void> {
  const { file, into, key, where } = options;
  await verifyChunk(bytes, file, index, record.chunkBytes, where, { model: key.model, version: key.version });
  into?.set(bytes, index * record.chunkBytes);
}
