/**
 * FakeRepository: an in-memory model repository served by a fake `fetch`, laid out as the
 * RepositorySource and the artifact fetcher expect (`<basePath>/manifest.json`,
 * `<basePath>/<version>/<file>`), with manifests whose sizes and SHA-256 match the files.
 *
 * Manifests answer conditionally (ETag / If-None-Match → 304), like a static file server.
 * Tests publish and withdraw versions, move labels, replace a file after its manifest entry was
 * written (a corrupt artifact), or make a manifest fail, and read `requests` to see what was asked.
 */
import { sha256Hex } from '../loaders/artifact-fetcher.js';
import { platformOfFiles, MANIFEST_FORMAT, type Manifest, type ManifestVersion } from '../sources/manifest.js';
import { buildTableShards, type TableSource } from '../sources/table-shards.js';

export type ManifestFailure =
  /** fetch() itself rejects, as on a network error. */
  | { readonly kind: 'network' }
  /** The server answers this status. */
  | { readonly kind: 'status'; readonly status: number }
  /** The headers arrive but the body breaks off. */
  | { readonly kind: 'body' }
  /** The server answers 200 with this text. */
  | { readonly kind: 'text'; readonly text: string };

export interface RecordedRequest {
  readonly url: string;
  readonly ifNoneMatch: string | null;
  readonly status: number | 'network-error';
}

interface ModelEntry {
  readonly versions: Map<number, ManifestVersion>;
  labels?: Record<string, number>;
  failure?: ManifestFailure;
  /** Bumped whenever the manifest changes; the ETag is derived from it. */
  revision: number;
}

export class FakeRepository {
  readonly origin: string;
  readonly requests: RecordedRequest[] = [];
  readonly #models = new Map<string, ModelEntry>();
  readonly #files = new Map<string, Uint8Array>();

  constructor(origin = 'https://models.test/') {
    this.origin = origin;
  }

  /** `https://models.test/<model>/`. */
  basePath(model: string): string {
    return new URL(`${model}/`, this.origin).href;
  }

  /** Adds (or replaces) a version with these files; its manifest entry gets their true sizes and digests. */
  async publish(model: string, version: number, files: Readonly<Record<string, Uint8Array | string>>, platform?: string): Promise<void> {
    const entries = await Promise.all(
      Object.entries(files).map(async ([path, content]) => {
        const bytes = typeof content === 'string' ? new TextEncoder().encode(content) : content;
        this.#files.set(this.#fileUrl(model, version, path), bytes);
        return { path, size: bytes.byteLength, sha256: await sha256Hex(bytes) };
      }),
    );
    const resolvedKind = platform ?? platformOfFiles(entries.map((f) => f.path));
    if (!resolvedKind) throw new Error(`FakeRepository: cannot tell the kind of ${Object.keys(files).join(', ')}`);
    const entry = this.#model(model);
    entry.versions.set(version, { version, platform: resolvedKind, files: entries });
    entry.revision += 1;
  }

  /** Adds a `table` version written as `shards` shard files (as `browserving manifest --shards` writes them). */
  async publishShardedTable(model: string, version: number, table: TableSource, shards: number): Promise<void> {
    const built = buildTableShards(table, shards);
    await this.publish(model, version, Object.fromEntries(built.files.map((f) => [f.path, f.text])), 'table');
    const entry = this.#model(model);
    entry.versions.set(version, { ...entry.versions.get(version)!, shards: built.entries });
    entry.revision += 1;
  }

  /** Removes a version from the manifest (its files stay fetchable, as on a real server until deleted). */
  withdraw(model: string, version: number): void {
    const entry = this.#model(model);
    entry.versions.delete(version);
    entry.revision += 1;
  }

  setLabels(model: string, labels: Record<string, number> | undefined): void {
    const entry = this.#model(model);
    if (labels === undefined) delete entry.labels;
    else entry.labels = labels;
    entry.revision += 1;
  }

  /** Replaces a file's served bytes without touching its manifest entry. */
  replaceFile(model: string, version: number, path: string, bytes: Uint8Array): void {
    this.#files.set(this.#fileUrl(model, version, path), bytes);
  }

  /** Makes every manifest request of `model` fail this way, until called with `undefined`. */
  failManifest(model: string, failure: ManifestFailure | undefined): void {
    const entry = this.#model(model);
    if (failure === undefined) delete entry.failure;
    else entry.failure = failure;
  }

  manifest(model: string): Manifest {
    const entry = this.#model(model);
    return {
      format: MANIFEST_FORMAT,
      versions: [...entry.versions.values()].sort((a, b) => a.version - b.version),
      ...(entry.labels ? { labels: entry.labels } : {}),
    };
  }

  manifestRequests(model: string): RecordedRequest[] {
    const url = new URL('manifest.json', this.basePath(model)).href;
    return this.requests.filter((r) => r.url === url);
  }

  /** The fake `fetch`; pass it where a `typeof fetch` is taken. */
  readonly fetch: typeof fetch = async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const ifNoneMatch = new Headers(init?.headers).get('If-None-Match');
    init?.signal?.throwIfAborted();
    const record = (status: RecordedRequest['status']) => this.requests.push({ url, ifNoneMatch, status });
    const model = [...this.#models.keys()].find((name) => url === new URL('manifest.json', this.basePath(name)).href);
    if (model !== undefined) return this.#manifestResponse(model, ifNoneMatch, record);
    const bytes = this.#files.get(url);
    if (!bytes) {
      record(404);
      return new Response('not found', { status: 404 });
    }
    record(200);
    return new Response(bytes.slice(), { status: 200, headers: { 'Content-Type': 'application/octet-stream' } });
  };

  #manifestResponse(model: string, ifNoneMatch: string | null, record: (status: RecordedRequest['status']) => void): Response {
    const entry = this.#model(model);
    const failure = entry.failure;
    if (failure?.kind === 'network') {
      record('network-error');
      throw new TypeError('fetch failed: connection refused');
    }
    if (failure?.kind === 'status') {
      record(failure.status);
      return new Response('error', { status: failure.status });
    }
    if (failure?.kind === 'body') {
      record(200);
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('{"format":'));
          controller.error(new TypeError('terminated: connection reset'));
        },
      });
      return new Response(body, { status: 200 });
    }
    if (failure?.kind === 'text') {
      record(200);
      return new Response(failure.text, { status: 200 });
    }
    const etag = `"rev-${entry.revision}"`;
    if (ifNoneMatch === etag) {
      record(304);
      return new Response(null, { status: 304, headers: { ETag: etag } });
    }
    record(200);
    return new Response(JSON.stringify(this.manifest(model), null, 2), { status: 200, headers: { ETag: etag, 'Content-Type': 'application/json' } });
  }

  #model(model: string): ModelEntry {
    let entry = this.#models.get(model);
    if (!entry) {
      entry = { versions: new Map(), revision: 0 };
      this.#models.set(model, entry);
    }
    return entry;
  }

  #fileUrl(model: string, version: number, path: string): string {
    return new URL(`${version}/${path}`, this.basePath(model)).href;
  }
}
