/**
 * downloadArtifact: brings one file from the repository into the ArtifactStore, chunk by chunk,
 * resuming after failures.
 *
 * - The body is streamed: each full chunk is committed (chunk and file record in one
 *   transaction) while the next ones fill: at most two commits in flight, so memory stays bounded
 *   by three chunks — except when the chunks are views of `into` and the store writes in place
 *   (OPFS): then the reading never waits for the store (waiting for the commit before last cost
 *   the 64 MiB benchmark ~200–300 ms of idle network). Awaiting each commit before reading on
 *   left the network idle for every transaction.
 * - With `into` (the file's size), every byte is also copied there at its offset, committed
 *   chunks of an earlier attempt read in first: the caller gets the whole file without reading
 *   it back from the store.
 * - A body cut off mid-way (network error, dropped connection, HTTP 5xx) is retried after
 *   `backoffMs × 2^attempt`, up to `maxRetries` times, with `Range: bytes=<committed>-` (and
 *   `If-Range` when an ETag is known): the partly filled chunk is fetched again, no committed
 *   chunk is.
 * - A server that ignores Range answers 200 with the whole body: the bytes already committed are
 *   skipped as they stream past and the download completes from there.
 * - A file already stored whole is not fetched; a record made for another manifest entry (size,
 *   SHA-256 or chunk size changed) is dropped and the file starts over.
 * - A file whose manifest entry lists segment digests is stored in chunks of whole segments (as
 *   many as fit in `chunkBytes`, at least one: chunkBytesFor), and each chunk's segments are
 *   digested as soon as it is filled, while the next one streams in; it is committed only once
 *   they match, so the store never holds a byte that failed its segment's digest. A mismatch
 *   rejects with DATA_LOSS naming the segment; the chunks committed before it stay, and the next
 *   attempt resumes after them. Segments of an earlier attempt read into `into` are digested again
 *   before they are used (the file starts over when one no longer matches): with segment digests
 *   and `into`, every byte of `into` was verified once this resolves.
 * - A file with segment digests in chunks of at least `segmentRequests.minSegmentBytes`, with two
 *   or more still to fetch, is probed: its next chunk is streamed alone (a bounded Range) and
 *   timed. Arrived within `fastSegmentMs`, the rest goes to fetchSegmentBlobs: a ranged request
 *   and one Blob per chunk, the bytes read into the worker once (segment-blobs.ts says why).
 *   Slower, or should the Blobs slow down or the server ignore ranges, the rest is streamed.
 *   Either way the store holds whole verified chunks only, and progress is reported per read
 *   (streamed) or per committed chunk (Blobs: then at least every `fastSegmentMs`).
 * With a store that writes in place (OPFS) every file is streamed (its sync access handle writes
 *   the bytes the worker holds; a Blob would have to be read back first). Bodies are read with a
 *   BYOB reader where they allow one (download-response.ts).
 * Without segment digests nothing here verifies the bytes: the caller digests the assembled file.
 *
 * Call sequence of a 64 MiB file in 4 MiB chunks (of 256 KiB segments) on a fast network, with
 * its bytes in IndexedDB (OPFS streams every file), nothing stored yet:
 *   GET Range: bytes=0-4194303 → 206, streamed, digested, committed, within fastSegmentMs
 *   → GET Range: bytes=4194304-8388607, bytes=8388608-12582911, … (`lanes` in flight) → each
 *   206 → blob() → read → digest → committed in segment order → resolves, complete.
 * On a slow one: GET Range: bytes=0-4194303 → too slow → GET Range: bytes=4194304- → streamed.
 */
import { ServingError } from '../core/serving-error.js';
import { verifyChunk, verifySegments } from '../loaders/artifact-fetcher.js';
import type { ManifestFile } from '../sources/manifest.js';
import { recordMatches, type ArtifactStore, type FileKey, type StoredFile } from './artifact-store.js';
import { bodyReader, contentRangeEnd, contentRangeStart, isRetryable, requestArtifact, retryable } from './download-response.js';
import { fetchSegmentBlobs, type SegmentRequestPolicy } from './segment-blobs.js';

export type { SegmentRequestPolicy } from './segment-blobs.js';

export interface RetryOptions {
  readonly maxRetries: number;
  readonly backoffMs: number;
}

export interface DownloadOptions {
  readonly store: ArtifactStore;
  readonly key: FileKey;
  readonly url: string;
  readonly file: ManifestFile;
  readonly chunkBytes: number;
  readonly retry: RetryOptions;
  readonly fetch: typeof fetch;
  readonly signal?: AbortSignal;
  /** Filled with the whole file as it is stored (chunks committed before this call read in from the store). */
  readonly into?: Uint8Array;
  /** Bytes of the file received so far (committed plus in the current chunk); may repeat or go back after a retry. */
  readonly onBytes?: (bytes: number) => void;
  /** `model "m" version 1 file "model.onnx"`, for messages. */
  readonly where: string;
  /** When segments are fetched as Blobs. @defaultValue DEFAULT_SEGMENT_REQUESTS */
  readonly segmentRequests?: SegmentRequestPolicy;
  /** The clock segment times are measured with, in milliseconds. @defaultValue performance.now */
  readonly now?: () => number;
}

/**
 * Two lanes: while one segment's request waits for its first byte, the other carries bytes
 * (one or three measured no faster on the 64 MiB benchmark, within its noise).
 * 1 MiB: below it a request per segment costs more than it saves. 1000 ms: a bar that moves
 * every second still reads as moving, and a probe slowed by a busy CPU rather than the network
 * still takes the Blob path, which costs the CPU less.
 */
export const DEFAULT_SEGMENT_REQUESTS: SegmentRequestPolicy = { lanes: 2, minSegmentBytes: 1024 * 1024, fastSegmentMs: 1000 };

/**
 * The chunk size a file is stored in: `chunkBytes`, except for a file that lists segment digests:
 * then the most whole segments that fit in `chunkBytes`, at least one (a chunk is committed only
 * once each of its segments matched).
 */
export function chunkBytesFor(file: ManifestFile, chunkBytes: number): number {
  const segment = file.segments?.bytes;
  return segment === undefined ? chunkBytes : segment * Math.max(1, Math.floor(chunkBytes / segment));
}

/** Resolves once the file is stored whole. Rejects with NOT_FOUND, UNAVAILABLE (retries used up), DATA_LOSS (more bytes than the manifest says, or a segment that does not match its digest) or the store's error. */
export async function downloadArtifact(options: DownloadOptions): Promise<StoredFile> {
  const { store, key, file, retry, signal } = options;
  const chunkBytes = chunkBytesFor(file, options.chunkBytes);
  const begin = async (): Promise<StoredFile> => {
    const fresh = { ...key, size: file.size, sha256: file.sha256, chunkBytes, chunks: 0, storedBytes: 0, complete: file.size === 0 };
    await store.beginFile(fresh);
    return fresh;
  };
  let record = await store.file(key);
  if (!recordMatches(record, file, chunkBytes)) {
    record = await begin();
  } else if (options.into && record.storedBytes > 0) {
    await store.readFile(key, options.into);
    // What an earlier attempt committed was verified then; the store may have lost it since.
    if (!(await storedSegmentsMatch(options, record))) record = await begin();
  }
  const policy = options.segmentRequests ?? DEFAULT_SEGMENT_REQUESTS;
  const now = options.now ?? (() => performance.now());
  let rangesIgnored = false;
  // Probing streams one segment with a bounded Range: its time decides between Blobs and streaming, and a fast
  // server has no body running ahead to cancel. Worth it only with two segments or more still to come.
  const firstMode = (): Mode => {
    const left = Math.ceil(record!.size / chunkBytes) - record!.chunks;
    // A store that writes the worker's bytes in place (OPFS) gains nothing from Blobs: they would be read back into it.
    const blobsWorth = !store.writesInPlace && file.segments !== undefined && chunkBytes >= policy.minSegmentBytes && policy.lanes > 0;
    return blobsWorth && !rangesIgnored && left >= 2 ? 'probe' : 'stream';
  };
  let mode = firstMode();
  for (let attempt = 0; !record.complete; ) {
    try {
      if (mode === 'blobs') {
        const result = await fetchSegmentBlobs({ ...options, policy, now }, record);
        record = result.record;
        rangesIgnored ||= result.stopped === 'ranges-ignored';
        mode = 'stream';
      } else {
        const until = mode === 'probe' ? Math.min(record.size, (record.chunks + 1) * chunkBytes) : undefined;
        const result = await fetchRemainder({ ...options, chunkBytes }, record, now, until);
        record = result.record;
        rangesIgnored ||= result.rangesIgnored;
        mode = mode === 'probe' && !rangesIgnored && result.ms < policy.fastSegmentMs ? 'blobs' : 'stream';
      }
    } catch (error) {
      signal?.throwIfAborted();
      if (!isRetryable(error) || attempt >= retry.maxRetries) throw error;
      await sleep(retry.backoffMs * 2 ** attempt, signal);
      attempt += 1;
      record = (await store.file(key)) ?? record;
      mode = firstMode();
    }
  }
  return record;
}

/** How the next request fetches: one segment streamed and timed, every segment left as Blobs, or the rest streamed. */
type Mode = 'probe' | 'blobs' | 'stream';

async function storedSegmentsMatch(options: DownloadOptions, record: StoredFile): Promise<boolean> {
  const { file, into, key, where } = options;
  if (!file.segments || !into) return true;
  try {
    await verifySegments(into.subarray(0, record.storedBytes), file, where, { model: key.model, version: key.version });
    return true;
  } catch {
    return false;
  }
}

interface StreamResult {
  readonly record: StoredFile;
  /** The server answered a Range with the whole body. */
  readonly rangesIgnored: boolean;
  /** From sending the request to the body's end (its commits not counted). */
  readonly ms: number;
}

/**
 * One request for what is not committed yet, up to byte `until` when given (else to the end);
 * resolves with the record once that much is stored.
 */
async function fetchRemainder(options: DownloadOptions, start: StoredFile, now: () => number, until?: number): Promise<StreamResult> {
  const { store, url, chunkBytes, where } = options;
  const offset = start.chunks * chunkBytes;
  const bounded = until !== undefined && until < start.size;
  const range = offset > 0 || bounded ? `bytes=${offset}-${bounded ? until - 1 : ''}` : undefined;
  const headers: Record<string, string> = range ? { Range: range, ...(start.etag ? { 'If-Range': start.etag } : {}) } : {};
  const sent = now();
  const response = await requestArtifact(options, headers);
  // 206 from where we asked: append. 200 is the whole body (Range ignored): skip what is committed.
  const resumed = response.status === 206;
  if (resumed && contentRangeStart(response) !== offset) {
    response.body.cancel().catch(() => undefined);
    throw new ServingError('UNAVAILABLE', `${where}: ${url} answered ${response.headers.get('Content-Range')} to Range: ${range}`);
  }
  // Where this body ends: a whole body, or a range the server extended, runs to the end of the file.
  const end = resumed && bounded && contentRangeEnd(response) === until - 1 ? until : start.size;
  let skip = resumed ? 0 : offset;
  const etag = response.headers.get('ETag') ?? undefined;
  let record: StoredFile = { ...start, ...(etag ? { etag } : {}) };
  let index = record.chunks;
  const { into } = options;
  const chunkAt = (start: number) => {
    const end = Math.min(start + chunkBytes, record.size);
    return into ? into.subarray(start, end) : new Uint8Array(end - start);
  };
  let pending = chunkAt(offset);
  let filled = 0;
  // Commits run while the next chunks stream in. Filling `into`, the chunks are views of it: when
  // the store writes each as it is put (`writesInPlace`, OPFS), any number may be in flight and
  // the read loop never waits for the store; otherwise at most two (the store copies each chunk
  // waiting for its commit): the older settles before a third starts. The store commits them in
  // the order they were issued (IndexedDB runs transactions in the order they began; the OPFS
  // store queues a file's chunks). A segment is digested while the next one streams in; its put
  // waits for the digest and for the previous chunk's put to be issued (rejecting with it), so a
  // chunk is never committed after one that failed, nor before an earlier one. The first commit
  // to fail stops the reading at once.
  const inFlight: Promise<void>[] = [];
  let failure: { error: unknown } | undefined;
  let previousIssued: Promise<void> = Promise.resolve();
  const commit = (committed: StoredFile, chunk: number, data: Uint8Array): Promise<void> => {
    const verified = verifyChunk(data, options.file, chunk, chunkBytes, where, { model: options.key.model, version: options.key.version });
    const after = previousIssued;
    const issued = (async () => {
      await verified;
      await after;
    })();
    issued.catch(() => undefined);
    previousIssued = issued;
    return (async () => {
      await issued;
      await store.putChunk(committed, chunk, data);
      options.onBytes?.(committed.storedBytes);
    })();
  };
  let lastByteAt = sent;
  const reader = bodyReader(response.body);
  try {
    for (;;) {
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = await reader.read();
      } catch (error) {
        options.signal?.throwIfAborted();
        throw retryable(new ServingError('UNAVAILABLE', `${where}: the download broke off after ${index * chunkBytes + filled} of ${record.size} bytes: ${(error as Error).message}`, {}, { cause: error }));
      }
      if (failure) throw failure.error;
      if (result.done) {
        lastByteAt = now();
        break;
      }
      let bytes = result.value;
      if (skip > 0) {
        const skipped = Math.min(skip, bytes.byteLength);
        bytes = bytes.subarray(skipped);
        skip -= skipped;
      }
      while (bytes.byteLength > 0) {
        if (record.complete) {
          throw new ServingError('DATA_LOSS', `${where}: ${url} sent more than the manifest's ${record.size} bytes`, { data: { expectedBytes: record.size } });
        }
        if (record.storedBytes === end) {
          throw new ServingError('UNAVAILABLE', `${where}: ${url} sent more than its Content-Range ${response.headers.get('Content-Range')} says`);
        }
        const taken = Math.min(pending.byteLength - filled, bytes.byteLength);
        pending.set(bytes.subarray(0, taken), filled);
        filled += taken;
        bytes = bytes.subarray(taken);
        if (filled === pending.byteLength) {
          const storedBytes = index * chunkBytes + filled;
          record = { ...record, chunks: index + 1, storedBytes, complete: storedBytes === record.size };
          if (!(into && store.writesInPlace) && inFlight.length >= 2) await inFlight.shift();
          const committing = commit(record, index, pending);
          // Handled here so that a failed commit is no unhandled rejection while the next read is awaited; it stops the
          // reading (the pending read ends) and is rethrown below.
          committing.catch((error: unknown) => {
            failure ??= { error };
            reader.cancel().catch(() => undefined);
          });
          inFlight.push(committing);
          index += 1;
          filled = 0;
          if (storedBytes < end) pending = chunkAt(storedBytes);
        }
      }
      options.onBytes?.(index * chunkBytes + filled);
    }
    // In chunk order: the first failure in the file is the one reported.
    for (const committing of inFlight) await committing;
  } catch (error) {
    // Settle the commits first: a retry starts from what the store has committed. A failed commit, the first in chunk
    // order, is what is reported (a DATA_LOSS, or a QuotaExceededError the caller makes room for), before the read's.
    const settled = await Promise.allSettled(inFlight);
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    throw failed ? failed.reason : error;
  } finally {
    reader.cancel().catch(() => undefined);
  }
  if (record.storedBytes < end) {
    throw retryable(new ServingError('UNAVAILABLE', `${where}: the body of ${url} ended after ${index * chunkBytes + filled} of ${record.size} bytes`));
  }
  return { record, rangesIgnored: range !== undefined && !resumed, ms: lastByteAt - sent };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
