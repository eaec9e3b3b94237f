/**
 * downloadArtifact: streams one file from the repository into the ArtifactStore, chunk by
 * chunk as the body arrives, resuming after failures.
 *
 * - Each full chunk is committed (chunk and file record in one transaction) while the next ones
 *   fill: at most two commits are in flight, so memory stays bounded by three chunks (plus
 *   `into`). Awaiting each commit before reading on left the network idle for every transaction.
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
 * - A file whose manifest entry lists segment digests is stored in chunks of one segment, and each
 *   segment is digested as soon as it is filled, while the next one streams in; it is committed
 *   only once it matches, so the store never holds a byte that failed its segment's digest. A
 *   mismatch rejects with DATA_LOSS; the segments committed before it stay, and the next attempt
 *   resumes after them. Segments of an earlier attempt read into `into` are digested again
 *   before they are used (the file starts over when one no longer matches): with segment digests
 *   and `into`, every byte of `into` was verified once this resolves.
 * Without segment digests nothing here verifies the bytes: the caller digests the assembled file.
 */
import { ServingError } from '../core/serving-error.js';
import { verifySegment } from '../loaders/artifact-fetcher.js';
import type { ManifestFile } from '../sources/manifest.js';
import { recordMatches, type ArtifactStore, type FileKey, type StoredFile } from './artifact-store.js';

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
}

/** Failures worth another attempt: the network, a body cut off, a server error. */
const transient = new WeakSet<ServingError>();

/** The chunk size a file is stored in: its manifest segment size when it lists segment digests, else `chunkBytes`. */
export function chunkBytesFor(file: ManifestFile, chunkBytes: number): number {
  return file.segments?.bytes ?? chunkBytes;
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
  for (let attempt = 0; !record.complete; attempt += 1) {
    try {
      record = await fetchRemainder({ ...options, chunkBytes }, record);
    } catch (error) {
      signal?.throwIfAborted();
      if (!(error instanceof ServingError && transient.has(error)) || attempt >= retry.maxRetries) throw error;
      await sleep(retry.backoffMs * 2 ** attempt, signal);
      record = (await store.file(key)) ?? record;
    }
  }
  return record;
}

async function storedSegmentsMatch(options: DownloadOptions, record: StoredFile): Promise<boolean> {
  const { file, into, key, where } = options;
  if (!file.segments || !into) return true;
  for (let i = 0; i < record.chunks; i += 1) {
    const start = i * record.chunkBytes;
    try {
      await verifySegment(into.subarray(start, Math.min(start + record.chunkBytes, record.storedBytes)), file, i, where, { model: key.model, version: key.version });
    } catch {
      return false;
    }
  }
  return true;
}

/** One request for what is not committed yet; resolves with the record once the body is stored, whole or not. */
async function fetchRemainder(options: DownloadOptions, start: StoredFile): Promise<StoredFile> {
  const { store, url, chunkBytes, signal, where } = options;
  const offset = start.chunks * chunkBytes;
  const headers: Record<string, string> = offset > 0 ? { Range: `bytes=${offset}-`, ...(start.etag ? { 'If-Range': start.etag } : {}) } : {};
  let response: Response;
  try {
    response = await options.fetch(url, { headers, signal: signal ?? null, cache: 'no-store' });
  } catch (error) {
    signal?.throwIfAborted();
    throw retryable(new ServingError('UNAVAILABLE', `${where}: fetch ${url} failed: ${(error as Error).message}`, {}, { cause: error }));
  }
  if (!response.ok || !response.body) {
    const failure = new ServingError(response.status === 404 ? 'NOT_FOUND' : 'UNAVAILABLE', `${where}: ${url} answered HTTP ${response.status}`);
    throw response.status >= 500 ? retryable(failure) : failure;
  }
  // 206 from where we asked: append. 200 is the whole body (Range ignored): skip what is committed.
  const resumed = response.status === 206;
  if (resumed && contentRangeStart(response) !== offset) {
    throw new ServingError('UNAVAILABLE', `${where}: ${url} answered ${response.headers.get('Content-Range')} to Range: bytes=${offset}-`);
  }
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
  // At most two commits in flight: the older settles before a third starts, and IndexedDB runs
  // them in the order they began, so chunks and records are committed in order. A segment is
  // digested while the next one streams in; its put waits for the digest and for the previous
  // chunk's put to be issued (rejecting with it), so a chunk is never committed after one that
  // failed, nor before an earlier one.
  let committing: Promise<void> | undefined;
  let older: Promise<void> | undefined;
  let previousIssued: Promise<void> = Promise.resolve();
  const commit = (committed: StoredFile, chunk: number, data: Uint8Array): Promise<void> => {
    const verified = verifySegment(data, options.file, chunk, where, { model: options.key.model, version: options.key.version });
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
  const reader = response.body.getReader();
  try {
    for (;;) {
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = await reader.read();
      } catch (error) {
        signal?.throwIfAborted();
        throw retryable(new ServingError('UNAVAILABLE', `${where}: the download broke off after ${index * chunkBytes + filled} of ${record.size} bytes: ${(error as Error).message}`, {}, { cause: error }));
      }
      if (result.done) break;
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
        const taken = Math.min(pending.byteLength - filled, bytes.byteLength);
        pending.set(bytes.subarray(0, taken), filled);
        filled += taken;
        bytes = bytes.subarray(taken);
        if (filled === pending.byteLength) {
          const storedBytes = index * chunkBytes + filled;
          record = { ...record, chunks: index + 1, storedBytes, complete: storedBytes === record.size };
          await older;
          older = committing;
          committing = commit(record, index, pending);
          // Handled here so that a failed commit is no unhandled rejection while the next read is awaited; it is rethrown below.
          committing.catch(() => undefined);
          index += 1;
          filled = 0;
          if (!record.complete) pending = chunkAt(storedBytes);
        }
      }
      options.onBytes?.(index * chunkBytes + filled);
    }
    await older;
    await committing;
  } catch (error) {
    // Settle the commits first: a retry starts from what the store has committed.
    await Promise.allSettled([older, committing]);
    throw error;
  } finally {
    reader.cancel().catch(() => undefined);
  }
  if (!record.complete) {
    throw retryable(new ServingError('UNAVAILABLE', `${where}: the body of ${url} ended after ${index * chunkBytes + filled} of ${record.size} bytes`));
  }
  return record;
}

function retryable(error: ServingError): ServingError {
  transient.add(error);
  return error;
}

function contentRangeStart(response: Response): number | undefined {
  const match = /^bytes (\d+)-/.exec(response.headers.get('Content-Range') ?? '');
  return match ? Number(match[1]) : undefined;
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
