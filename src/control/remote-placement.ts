/**
 * How the control worker places versions on a remote endpoint: the `remote` platform's servable
 * (src/platforms/remote), in a runner shared by every remote version — it runs no ORT and holds
 * no model, so one WASM-only runner is enough for all of them; and, for `prefer-*` models, in
 * two places at once (RemotePlacements, below).
 */
import { validateBatchingConfig } from '../batching/batching-options.js';
import { servableIdKey, type ServableId } from '../core/servable-id.js';
import type { ArtifactFetcher } from '../loaders/artifact-fetcher.js';
import { EndpointHealth } from '../loaders/endpoint-health.js';
import { PlacementLoader } from '../loaders/placement-loader.js';
import { RunnerLoader, type RunnerSupervision } from '../loaders/runner-loader.js';
import { RemoteClient } from '../platforms/remote/remote-client.js';
import type { RemoteFailoverMessage, RemotePlatformConfig } from '../platforms/remote/remote-platform.js';
import type { ModelConfig } from '../protocol.js';

/** The runner group of remote servables (a model's own `runnerGroup` wins). */
export const REMOTE_RUNNER_GROUP = 'browserving-remote';

/** Load options of a remote version of `config` (which has `remote`); `channel` for failover under `prefer-*`. */
export function remoteLoadOptions(config: ModelConfig, channel?: string): { platformConfig: RemotePlatformConfig; runnerGroup: string } {
  const endpoint = config.remote!;
  // Validated with the config already; this fills in the defaults.
  const batching = config.batching ? validateBatchingConfig(config.name, config.batching) : undefined;
  return {
    platformConfig: { endpoint, model: endpoint.model ?? config.name, ...(channel ? { channel } : {}), ...(batching ? { batching } : {}) },
    runnerGroup: config.runnerGroup ?? REMOTE_RUNNER_GROUP,
  };
}

export interface RemotePlacementsOptions {
  readonly supervision: RunnerSupervision;
  readonly fetcher: ArtifactFetcher;
  /** Whether `bytes` more fit the manager's resource budget now. */
  readonly fits: (bytes: number) => boolean;
  readonly routesChanged: () => void;
  /** The server's poll interval: how often a failing endpoint is asked again (at most every 5 s) unless `remote.probeIntervalMs` says. */
  readonly pollIntervalMs: number;
  /** What probes the endpoints, like the server's other remote clients. @defaultValue globalThis.fetch */
  readonly fetch?: typeof fetch;
}

/**
 * RemotePlacements: the control worker's side of `placement: 'prefer-local' | 'prefer-remote'`.
 * It makes each version's PlacementLoader (a local and a remote RunnerLoader), keeps one
 * EndpointHealth per model, and answers the remote servables' failover questions on its
 * BroadcastChannel (the exchange is in remote-platform.ts): it marks the endpoint failing and
 * says whether the local side can take the request — in that order, so that the `route()` the
 * client asks next already leaves the endpoint out.
 */
export class RemotePlacements {
  /** The BroadcastChannel the remote servables of this server ask on; unique per server (tabs share channel names). */
  readonly channel = `browserving-placement-${crypto.randomUUID()}`;
  readonly #options: RemotePlacementsOptions;
  /** Opened by the first `prefer-*` version: most servers never need it. */
  #broadcast: BroadcastChannel | undefined;
  readonly #loaders = new Map<string, PlacementLoader>();
  readonly #health = new Map<string, { readonly key: string; readonly health: EndpointHealth }>();

  constructor(options: RemotePlacementsOptions) {
    this.#options = options;
  }

  #listen(): void {
    if (this.#broadcast) return;
    const broadcast = (this.#broadcast = new BroadcastChannel(this.channel));
    broadcast.onmessage = (event: MessageEvent<RemoteFailoverMessage>) => {
      const message = event.data;
      if (message?.k !== 'failing') return;
      const loader = this.#loaders.get(servableIdKey({ name: message.model, version: message.version }));
      const failover = loader?.remoteFailed(message.reason) ?? false;
      broadcast.postMessage({ k: 'failover', id: message.id, failover } satisfies RemoteFailoverMessage);
    };
  }

  /** The loader of version `id` of `config` (placed `prefer-*`), around its local RunnerLoader. */
  place(id: ServableId, local: RunnerLoader, config: ModelConfig): PlacementLoader {
    const { supervision, fetcher, fits } = this.#options;
    this.#listen();
    const remote = new RunnerLoader({
      id,
      versionUrl: config.remote!.url,
      entry: { version: id.version, platform: 'remote', files: [] },
      fetcher,
      supervision,
      executionProviders: ['wasm'],
      ...remoteLoadOptions(config, this.channel),
    });
    const key = servableIdKey(id);
    const loader: PlacementLoader = new PlacementLoader({
      id,
      placement: config.placement as 'prefer-local' | 'prefer-remote',
      local,
      remote,
      health: this.#healthOf(config),
      fits,
      onUnloaded: () => this.#forget(key, loader),
    });
    this.#loaders.set(key, loader);
    return loader;
  }

  close(): void {
    this.#broadcast?.close();
    for (const { health } of this.#health.values()) health.close();
  }

  /** An unloaded version's loader leaves the registry; its model's EndpointHealth stops probing once no version uses it. */
  #forget(key: string, loader: PlacementLoader): void {
    if (this.#loaders.get(key) === loader) this.#loaders.delete(key);
    const model = loader.id.name;
    if ([...this.#loaders.values()].some((l) => l.id.name === model)) return;
    this.#health.get(model)?.health.close();
    this.#health.delete(model);
  }

  /** The model's EndpointHealth; a new one when its endpoint's config changed. */
  #healthOf(config: ModelConfig): EndpointHealth {
    const endpoint = config.remote!;
    const key = JSON.stringify(endpoint);
    const known = this.#health.get(config.name);
    if (known?.key === key) return known.health;
    known?.health.close();
    const client = new RemoteClient(endpoint, endpoint.model ?? config.name, { name: config.name, ...(this.#options.fetch ? { fetch: this.#options.fetch } : {}) });
    const interval = this.#options.pollIntervalMs > 0 ? Math.min(this.#options.pollIntervalMs, 5000) : 5000;
    const health = new EndpointHealth({
      probe: (signal) => client.ready(undefined, signal),
      probeMs: endpoint.probeIntervalMs || interval,
      onChange: () => {
        if (health.healthy) for (const loader of this.#loaders.values()) if (loader.id.name === config.name) loader.endpointHealthy();
        this.#options.routesChanged();
      },
    });
    this.#health.set(config.name, { key, health });
    return health;
  }
}
