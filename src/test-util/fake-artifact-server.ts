/**
 * FakeArtifactServer: a `fetch` serving files from memory the way scripts/serve.mjs does for
 * the e2e tests — single-range `Range` requests (`bytes=N-` and `bytes=N-M`, 206), ETags, and faults per URL: cut the body
 * after N bytes (the stream errors, as a dropped connection does), ignore Range, answer a
 * status, fail at the network level. `requests` records each request with its Range and the
 * body bytes actually sent.
 */
export interface ArtifactFault {
  readonly cutAfterBytes?: number;
  readonly ignoreRange?: boolean;
  readonly status?: number;
  readonly network?: boolean;
  /** How many requests the fault applies to. @defaultValue every request */
  times?: number;
}

export interface ServedRequest {
  readonly url: string;
  readonly range: string | null;
  readonly status: number | 'network-error';
  bytesSent: number;
}

export class FakeArtifactServer {
  readonly requests: ServedRequest[] = [];
  readonly #files = new Map<string, Uint8Array>();
  readonly #faults = new Map<string, ArtifactFault[]>();

  put(url: string, bytes: Uint8Array): void {
    this.#files.set(url, bytes);
  }

  /** Faults for `url`, applied in order, each for its `times` requests. */
  fault(url: string, ...faults: ArtifactFault[]): void {
    this.#faults.set(url, faults.map((f) => ({ ...f })));
  }

  /** Body bytes sent for `url`, over every request. */
  bytesSent(url: string): number {
    return this.requests.filter((r) => r.url === url).reduce((sum, r) => sum + r.bytesSent, 0);
  }

  readonly fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = String(input instanceof Request ? input.url : input);
    const range = new Headers(init?.headers).get('Range');
    const fault = this.#nextFault(url);
    if (fault?.network) {
      this.requests.push({ url, range, status: 'network-error', bytesSent: 0 });
      throw new TypeError('Failed to fetch');
    }
    const bytes = this.#files.get(url);
    const status = fault?.status ?? (bytes ? 200 : 404);
    if (status !== 200 || !bytes) {
      this.requests.push({ url, range, status, bytesSent: 0 });
      return new Response('error', { status });
    }
    let start = 0;
    let end = bytes.byteLength - 1;
    const match = /^bytes=(\d+)-(\d*)$/.exec(range ?? '');
    const honoured = match && !fault?.ignoreRange;
    if (honoured) {
      start = Number(match[1]);
      if (match[2] !== '') end = Math.min(end, Number(match[2]));
    }
    const body = bytes.subarray(start, end + 1);
    const record: ServedRequest = { url, range, status: honoured ? 206 : 200, bytesSent: 0 };
    this.requests.push(record);
    const limit = fault?.cutAfterBytes ?? Infinity;
    let offset = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (offset >= limit) return controller.error(new TypeError('network error: connection reset'));
        if (offset >= body.byteLength) return controller.close();
        const piece = body.slice(offset, Math.min(offset + 1000, body.byteLength, limit));
        offset += piece.byteLength;
        record.bytesSent += piece.byteLength;
        controller.enqueue(piece);
      },
    });
    const headers: Record<string, string> = { ETag: '"v1"', 'Content-Length': String(body.byteLength) };
    if (honoured) headers['Content-Range'] = `bytes ${start}-${end}/${bytes.byteLength}`;
    return new Response(stream, { status: record.status as number, headers });
  };

  #nextFault(url: string): ArtifactFault | undefined {
    const faults = this.#faults.get(url) ?? [];
    const fault = faults.find((f) => f.times === undefined || f.times > 0);
    if (fault?.times !== undefined) fault.times -= 1;
    return fault;
  }
}
