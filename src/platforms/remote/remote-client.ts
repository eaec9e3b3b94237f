/**
 * RemoteClient: one model on a remote TF Serving or KServe endpoint — its versions, signature,
 * readiness, and predictions — over `fetch`.
 *
 * Contract:
 * - Only the configured endpoint's origin is contacted: every URL is built from `remote.url`,
 *   and redirects are refused (`redirect: 'error'`), since one could lead anywhere.
 * - Credentials (cookies, HTTP auth) are sent only when `remote.credentials` says so (default
 *   `omit`); headers only those in `remote.headers`.
 * - Every call takes the caller's AbortSignal (CANCELLED when it aborts, DEADLINE_EXCEEDED when
 *   it is a deadline's) and `remote.timeoutMs` per request (DEADLINE_EXCEEDED naming it).
 * - Failures are ServingErrors: an unreachable endpoint (offline, refused, DNS, CORS) is
 *   UNAVAILABLE (retryable); an HTTP error maps as `errorForStatus`; a malformed body is
 *   DATA_LOSS. No message quotes the tensors sent or received.
 */
import { ServingError } from '../../core/serving-error.js';
import type { RemoteEndpointConfig, Signature, TensorData } from '../../protocol.js';
import {
  INFERENCE_HEADER_LENGTH,
  decodePredict,
  encodePredict,
  errorForStatus,
  hasBinaryExtension,
  modelPaths,
  parseAnswer,
  readModelInfo,
  readSignature,
  unexposedHeaderLength,
  type RemoteModelInfo,
  type RemoteWhere,
} from './remote-protocol.js';

/** @defaultValue of `remote.timeoutMs` */
export const DEFAULT_REMOTE_TIMEOUT_MS = 30_000;

export class RemoteClient {
  readonly #config: RemoteEndpointConfig;
  readonly #model: string;
  readonly #name: string;
  readonly #fetch: typeof fetch;
  readonly #root: string;
  #binary: Promise<boolean> | undefined;

  /** `model`: the model's name on the endpoint; `name`: its name in this runtime, which errors carry (default: the same). */
  constructor(config: RemoteEndpointConfig, model: string, options: { name?: string; fetch?: typeof fetch } = {}) {
    const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.#config = config;
    this.#model = model;
    this.#name = options.name ?? model;
    this.#fetch = fetchImpl;
    // The endpoint's root, without a trailing slash: paths are appended to it.
    this.#root = new URL(config.url).href.replace(/\/+$/, '');
  }

  get endpoint(): string {
    return this.#root;
  }

  /** The versions that serve now. */
  async info(signal?: AbortSignal): Promise<RemoteModelInfo> {
    const where = this.#where();
    const { status } = modelPaths(this.#config.protocol, this.#model, undefined);
    return readModelInfo(this.#config.protocol, await this.#json(status, where, signal), where);
  }

  /** The signature of `version` (undefined: unversioned); FAILED_PRECONDITION naming a TF Serving tensor of unknown rank. */
  async signature(version: number | undefined, signal?: AbortSignal): Promise<Signature> {
    const where = this.#where(version);
    const { metadata } = modelPaths(this.#config.protocol, this.#model, version);
    return readSignature(this.#config.protocol, await this.#json(metadata, where, signal), where);
  }

  /** Resolves when the model (version; any version when undefined) is ready; rejects with why not. */
  async ready(version: number | undefined, signal?: AbortSignal): Promise<void> {
    const where = this.#where(version);
    if (this.#config.protocol === 'tfserving') {
      const info = await this.info(signal);
      // The status route answers while versions are still LOADING, or after all of them ended: not ready then.
      if (version === undefined && info.versions.length === 0) throw new ServingError('UNAVAILABLE', `remote endpoint ${this.#root}: model "${this.#model}" has no AVAILABLE version`, { model: this.#name, data: { endpoint: this.#root, retryable: true } });
      if (version !== undefined && !info.versions.includes(version)) throw new ServingError('UNAVAILABLE', `remote endpoint ${this.#root}: model "${this.#model}" version ${version} is not AVAILABLE there (available: ${info.versions.join(', ') || 'none'})`, { model: this.#name, version, data: { endpoint: this.#root, retryable: true } });
      return;
    }
    const body = await this.#json(modelPaths('kserve-v2', this.#model, version).ready, where, signal);
    if ((body as { ready?: unknown }).ready !== true) throw new ServingError('UNAVAILABLE', `remote endpoint ${this.#root}: model "${this.#model}" is not ready`, { model: this.#name, data: { endpoint: this.#root, retryable: true } });
  }

  /** Runs `version` (undefined: unversioned) on the endpoint. `signature` types TF Serving's outputs. */
  async predict(version: number | undefined, inputs: Readonly<Record<string, TensorData>>, options: { signature: Signature | undefined; outputs?: readonly string[]; signal?: AbortSignal }): Promise<Record<string, TensorData>> {
    const where = this.#where(version);
    const { protocol } = this.#config;
    const binary = protocol === 'kserve-v2' && this.#config.binary !== false && (await this.#binaryExtension(options.signal));
    const request = encodePredict(protocol, modelPaths(protocol, this.#model, version).predict, inputs, options.outputs, binary, where);
    const response = await this.#request(request.path, where, options.signal, { method: 'POST', body: request.body as BodyInit, headers: request.headers });
    const bytes = new Uint8Array(await this.#body(response, where, options.signal));
    const headerLength = response.headers.get(INFERENCE_HEADER_LENGTH);
    // Content-Type is always readable across origins; a binary answer without the length was hidden by CORS.
    if (binary && headerLength === null && !/json/i.test(response.headers.get('Content-Type') ?? '')) throw unexposedHeaderLength(where);
    return decodePredict(protocol, bytes, headerLength, options.signature, options.outputs, where);
  }

  /** KServe: whether the server lists the binary tensor extension (asked once; no when it has no `/v2` route; asked again after a failure). */
  #binaryExtension(signal: AbortSignal | undefined): Promise<boolean> {
    this.#binary ??= this.#json('/v2', this.#where(), signal).then(hasBinaryExtension, (error: ServingError) => {
      if (error.code === 'NOT_FOUND' || error.code === 'DATA_LOSS') return false;
      this.#binary = undefined;
      throw error;
    });
    return this.#binary;
  }

  #where(version?: number): RemoteWhere {
    return { endpoint: this.#root, model: this.#name, remoteModel: this.#model, ...(version !== undefined ? { version } : {}) };
  }

  async #json(path: string, where: RemoteWhere, signal: AbortSignal | undefined): Promise<unknown> {
    const response = await this.#request(path, where, signal, { method: 'GET' });
    return parseAnswer(new TextDecoder().decode(await this.#body(response, where, signal)), where);
  }

  /** One request to the endpoint; a non-2xx answer rejects with its ServingError. */
  async #request(path: string, where: RemoteWhere, signal: AbortSignal | undefined, init: RequestInit): Promise<Response> {
    const timeoutMs = this.#config.timeoutMs ?? DEFAULT_REMOTE_TIMEOUT_MS;
    const timeout = AbortSignal.timeout(timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let response: Response;
    try {
      response = await this.#fetch(`${this.#root}${path}`, {
        ...init,
        headers: { ...this.#config.headers, ...(init.headers as Record<string, string> | undefined) },
        credentials: this.#config.credentials ?? 'omit',
        redirect: 'error',
        mode: 'cors',
        signal: combined,
      });
    } catch (error) {
      throw this.#fetchFailure(error, where, signal, timeout, timeoutMs);
    }
    if (response.ok) return response;
    const text = await response.text().catch(() => '');
    throw errorForStatus(response.status, text, where);
  }

  async #body(response: Response, where: RemoteWhere, signal: AbortSignal | undefined): Promise<ArrayBuffer> {
    try {
      return await response.arrayBuffer();
    } catch (error) {
      throw this.#fetchFailure(error, where, signal, undefined, this.#config.timeoutMs ?? DEFAULT_REMOTE_TIMEOUT_MS);
    }
  }

  #fetchFailure(error: unknown, where: RemoteWhere, signal: AbortSignal | undefined, timeout: AbortSignal | undefined, timeoutMs: number): ServingError {
    const details = { model: where.model, ...(where.version !== undefined ? { version: where.version } : {}) };
    if (signal?.aborted) return ServingError.from(signal.reason, details, 'CANCELLED');
    if (timeout?.aborted || (error as { name?: string })?.name === 'TimeoutError') {
      return new ServingError('DEADLINE_EXCEEDED', `remote endpoint ${this.#root} did not answer for model "${where.remoteModel ?? where.model}" within remote.timeoutMs (${timeoutMs} ms)`, { ...details, data: { endpoint: this.#root, retryable: true } });
    }
    const cause = error instanceof Error ? error.message : String(error);
    return new ServingError(
      'UNAVAILABLE',
      `remote endpoint ${this.#root} cannot be reached for model "${where.remoteModel ?? where.model}" (${cause}): offline, refused, or blocked — a cross-origin endpoint must answer CORS (TF Serving: --rest_api_enable_cors_support) and, on a cross-origin isolated page, send Cross-Origin-Resource-Policy or be fetched from a COEP credentialless page`,
      { ...details, data: { endpoint: this.#root, retryable: true } },
    );
  }
}
