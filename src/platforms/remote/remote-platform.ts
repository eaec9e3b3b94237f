/**
 * The built-in `remote` platform: a version whose servable forwards predictions to a remote TF
 * Serving or KServe endpoint (`ModelConfig.remote`). It runs in a runner like any platform's
 * servable — a WASM-only runner that never starts onnxruntime-web, shared by every remote
 * version — so the main thread's data plane reaches it the way it reaches a local one.
 *
 * - `load()` asks the endpoint for the model's versions and the version's signature; a version
 *   the endpoint does not serve fails the load with NOT_FOUND. The signature is the servable's:
 *   requests are validated against it in the runner before anything is sent.
 * - `predict()` sends the inputs with the caller's signal (its cancellation and deadline) and
 *   `remote.timeoutMs`; failures are the client's typed ServingErrors.
 * - Failover (`placement: 'prefer-*'`): when a request fails for any reason but its own
 *   (INVALID_ARGUMENT) or its caller's (CANCELLED, the caller's deadline) — unreachable, HTTP
 *   4xx/5xx, `remote.timeoutMs`, a malformed answer — the servable asks the control worker, on
 *   the placement channel, whether the model can serve elsewhere (`RemoteFailoverMessage`); the
 *   control worker marks the endpoint failing *before* it answers; if it says yes, the request is answered
 *   `moved` (its inputs handed back) and the client re-routes it — to the local version — so the
 *   failure costs no failed request. Otherwise the caller gets the error.
 * - With the model's `batching`, concurrent predictions are merged into one request to the
 *   endpoint (a BatchingSession, as for an ONNX session): fewer round trips; the endpoint's
 *   signature must have a batch dimension (FAILED_PRECONDITION at load otherwise).
 * - `estimateResources()` is 0 bytes: the model's memory is the endpoint's.
 */
import { assertBatchable, type BatchingOptions } from '../../batching/batching-options.js';
import { BatchingSession } from '../../batching/batching-session.js';
import { ServingError, describeServable } from '../../core/serving-error.js';
import type { RemoteEndpointConfig, Signature, TensorData } from '../../protocol.js';
import type { PlatformModule, PlatformServable, PlatformVersion } from '../platform.js';
import { RemoteClient } from './remote-client.js';

/** `platformConfig` of a `remote` version, as the control worker writes it. */
export interface RemotePlatformConfig {
  readonly endpoint: RemoteEndpointConfig;
  /** The model's name on the endpoint. */
  readonly model: string;
  /** BroadcastChannel to the control worker, for failover (`prefer-*` placements only). */
  readonly channel?: string;
  /** The model's `batching`: concurrent predictions merged into one request to the endpoint. */
  readonly batching?: BatchingOptions;
}

/**
 * The failover exchange on `RemotePlatformConfig.channel`, in order:
 *   runner  → { k: 'failing', id, model, version, reason }   the endpoint failed a request
 *   control → { k: 'failover', id, failover }                  after marking the endpoint failing
 */
export type RemoteFailoverMessage =
  | { readonly k: 'failing'; readonly id: string; readonly model: string; readonly version: number; readonly reason: string }
  | { readonly k: 'failover'; readonly id: string; readonly failover: boolean };

/** Data of the UNAVAILABLE a servable throws to have its request answered `moved`. */
export const FAILOVER_DATA = { failover: true, retryable: true } as const;

/** How long a failing request waits for the control worker's answer before it fails as it is. */
const FAILOVER_ANSWER_MS = 2000;

/**
 * Codes of failures the local version would answer the same way: the request itself is wrong, or
 * its caller gave up. Every other failure (unreachable, 5xx, timeout, 404, 401/403, 429, a
 * malformed answer) is the endpoint's, and the local version may serve the request instead.
 */
const REQUEST_FAILURES = new Set(['INVALID_ARGUMENT', 'CANCELLED']);

export const remotePlatform: PlatformModule = {
  createLoader(version: PlatformVersion) {
    const config = version.config as RemotePlatformConfig | undefined;
    if (typeof config?.endpoint?.url !== 'string') {
      // A manifest naming `remote` as a version's platform: remote versions come from the config instead.
      throw new ServingError('FAILED_PRECONDITION', `${describeServable(version.model, version.version)}: platform "remote" is the runtime's own; serve a model from an endpoint with remote: { url, protocol } and placement in its config`, { model: version.model, version: version.version });
    }
    let failover: FailoverChannel | undefined;
    return {
      estimateResources: () => ({ bytes: 0 }),
      load: async ({ signal }) => {
        failover = config.channel ? new FailoverChannel(config.channel) : undefined;
        try {
          return await loadRemote(version, config, failover, signal);
        } catch (error) {
          // A failed load gets no unload(): the channel would stay open for the runner's life.
          failover?.close();
          failover = undefined;
          throw error;
        }
      },
      unload: () => failover?.close(),
    };
  },
};

async function loadRemote(version: PlatformVersion, config: RemotePlatformConfig, failover: FailoverChannel | undefined, signal: AbortSignal): Promise<PlatformServable> {
  const client = new RemoteClient(config.endpoint, config.model, { name: version.model });
  const info = await client.info(signal);
  if (!info.versions.includes(version.version)) {
    throw new ServingError('NOT_FOUND', `${describeServable(version.model, version.version)}: remote endpoint ${client.endpoint} does not serve version ${version.version} of model "${config.model}" (it serves: ${info.versions.join(', ') || 'none'})`, { model: version.model, version: version.version });
  }
  const addressed = info.unversioned ? undefined : version.version;
  const signature: Signature = await client.signature(addressed, signal);
  const id = { name: version.model, version: version.version };
  let send = (inputs: Readonly<Record<string, TensorData>>, outputs: readonly string[] | undefined, signal: AbortSignal) => client.predict(addressed, inputs, { signature, signal, ...(outputs ? { outputs } : {}) });
  if (config.batching) {
    assertBatchable(id, signature);
    // A merged request serves several callers: it runs to the end whoever of them gives up (each leaves its batch alone).
    const batching = new BatchingSession(id, config.batching, (inputs, outputs) => client.predict(addressed, inputs, { signature, ...(outputs ? { outputs } : {}) }));
    send = async (inputs, outputs, signal) => (await batching.run(inputs, outputs, signal)).outputs;
  }
  const facts = { provider: 'remote', endpoint: client.endpoint, protocol: config.endpoint.protocol, ...(config.model !== version.model ? { remoteModel: config.model } : {}) };
  return {
    signature,
    predict: async (inputs: Readonly<Record<string, TensorData>>, { signal, outputs }) => {
      try {
        return await send(inputs, outputs, signal);
      } catch (error) {
        const failure = ServingError.from(error, { model: version.model, version: version.version });
        if (!failover || signal.aborted || REQUEST_FAILURES.has(failure.code)) throw failure;
        if (!(await failover.ask(version.model, version.version, failure.message))) throw failure;
        throw new ServingError('UNAVAILABLE', `${failure.message}; the request moves to the local version`, { model: version.model, version: version.version, data: FAILOVER_DATA });
      }
    },
    describe: () => facts,
  };
}

/** The runner's end of the failover channel. */
class FailoverChannel {
  readonly #channel: BroadcastChannel;
  readonly #waiting = new Map<string, (failover: boolean) => void>();

  constructor(name: string) {
    this.#channel = new BroadcastChannel(name);
    this.#channel.onmessage = (event: MessageEvent<RemoteFailoverMessage>) => {
      if (event.data?.k !== 'failover') return;
      this.#waiting.get(event.data.id)?.(event.data.failover);
    };
  }

  /** Whether the control worker moved the model's requests elsewhere (no, when it does not answer in time). */
  ask(model: string, version: number, reason: string): Promise<boolean> {
    const id = crypto.randomUUID();
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => answer(false), FAILOVER_ANSWER_MS);
      const answer = (failover: boolean) => {
        clearTimeout(timer);
        this.#waiting.delete(id);
        resolve(failover);
      };
      this.#waiting.set(id, answer);
      this.#channel.postMessage({ k: 'failing', id, model, version, reason } satisfies RemoteFailoverMessage);
    });
  }

  close(): void {
    this.#channel.close();
  }
}
