/**
 * What a download makes of one request for an artifact: the response, or a ServingError that
 * says whether another attempt may succeed. Shared by the two ways a file's bytes are fetched:
 * streamed through the worker (artifact-download.ts) and as one Blob per segment
 * (segment-blobs.ts).
 *
 * - The network failing, a body cut off, HTTP 5xx: UNAVAILABLE, marked retryable.
 * - HTTP 404: NOT_FOUND; any other status that is not OK: UNAVAILABLE. Neither is retried.
 * - An abort passes through as the signal's reason.
 */
import { ServingError } from '../core/serving-error.js';

/** Failures worth another attempt: the network, a body cut off, a server error. */
const transient = new WeakSet<ServingError>();

/** Marks `error` as worth another attempt and returns it. */
export function retryable(error: ServingError): ServingError {
  transient.add(error);
  return error;
}

/** True for the errors `retryable()` marked. */
export function isRetryable(error: unknown): boolean {
  return error instanceof ServingError && transient.has(error);
}

export interface ArtifactRequestInit {
  readonly fetch: typeof fetch;
  readonly url: string;
  readonly signal?: AbortSignal;
  /** `model "m" version 1 file "model.onnx"`, for messages. */
  readonly where: string;
}

/** Sends one request with `headers`; resolves with an OK response that has a body. */
export async function requestArtifact(init: ArtifactRequestInit, headers: Record<string, string>): Promise<Response & { body: ReadableStream<Uint8Array> }> {
  const { url, signal, where } = init;
  let response: Response;
  try {
    // no-store: the artifact store is the cache; the HTTP cache would hold a second copy of every byte.
    response = await init.fetch(url, { headers, signal: signal ?? null, cache: 'no-store' });
  } catch (error) {
    signal?.throwIfAborted();
    throw retryable(new ServingError('UNAVAILABLE', `${where}: fetch ${url} failed: ${(error as Error).message}`, {}, { cause: error }));
  }
  if (!response.ok || !response.body) {
    const failure = new ServingError(response.status === 404 ? 'NOT_FOUND' : 'UNAVAILABLE', `${where}: ${url} answered HTTP ${response.status}`);
    throw response.status >= 500 ? retryable(failure) : failure;
  }
  return response as Response & { body: ReadableStream<Uint8Array> };
}

/** The first byte a 206 response's `Content-Range` says it holds. */
export function contentRangeStart(response: Response): number | undefined {
  const match = /^bytes (\d+)-/.exec(response.headers.get('Content-Range') ?? '');
  return match ? Number(match[1]) : undefined;
}

/** The last byte a 206 response's `Content-Range` says it holds. */
export function contentRangeEnd(response: Response): number | undefined {
  const match = /^bytes \d+-(\d+)/.exec(response.headers.get('Content-Range') ?? '');
  return match ? Number(match[1]) : undefined;
}

/** What reads a body: one piece at a time, each valid until the next read. */
export interface BodyReader {
  read(): Promise<ReadableStreamReadResult<Uint8Array>>;
  cancel(): Promise<void>;
}

/** The largest piece a BYOB read asks for. */
const READ_BYTES = 1024 * 1024;

/**
 * Reads `body` into one reused 1 MiB buffer (a BYOB reader) where the stream is a byte stream,
 * as fetch bodies are in Chromium; else piece by piece as the stream gives them. The default
 * reader allocates a new array for every piece the network delivers: reading the 64 MiB
 * benchmark body in a worker took 340–410 ms this way against 490–630 ms with it (scratch page,
 * profile on disk).
 */
export function bodyReader(body: ReadableStream<Uint8Array>): BodyReader {
  let byob: ReadableStreamBYOBReader;
  try {
    byob = body.getReader({ mode: 'byob' });
  } catch {
    return body.getReader();
  }
  let buffer = new ArrayBuffer(READ_BYTES);
  return {
    async read() {
      const result = await byob.read(new Uint8Array(buffer));
      // The read transferred the buffer: what it answers with is the same memory, to read into next.
      if (result.value) buffer = result.value.buffer as ArrayBuffer;
      return result.done ? { done: true, value: undefined } : { done: false, value: result.value };
    },
    cancel: () => byob.cancel(),
  };
}
