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

/**
 * The runner group of every remote servable. A model's own `runnerGroup` is for its local copy:
 * were the remote copy placed there too, one runner's death would take both copies of a
 * `prefer-*` version, the failover's whole point.
 */
export const REMOTE_RUNNER_GROUP = 'browserving-remote';

/** Load options of a remote version of `config` (which has `remote`); `channel` for failover under `prefer-*`. */
export function remoteLoadOptions(config: ModelConfig, channel?: string): { platformConfig: RemotePlatformConfig; runnerGroup: string } {
  const endpoint = config.remote!;
  // Validated with the config already; this fills in the defaults.
  const batching = config.batching ? validateBatchingConfig(config.name, config.batching) : undefined;
  return {
    platformConfig: { endpoint, model: endpoint.model ?? config.name, ...(channel ? { channel } : {}), ...(batching ? { batching } : {}) },
    runnerGroup: REMOTE_RUNNER_GROUP,
  };
}

export interface RemotePlacementsOptions {
  readonly supervision: RunnerSupervision;
  readonly fetcher: ArtifactFetcher;
  /** The manager's budget: whether `bytes` more fit now; set version `id`'s reservation to `bytes` if they fit. */
  readonly resources: { fits(bytes: number): boolean; resize(id: ServableId, bytes: number): boolean };
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
  /** The versions loading or loaded, by servable key: who answers a failover question. */
  readonly #loaders = new Map<string, PlacementLoader>();
  /** By model and endpoint config, as JSON. */
  readonly #endpoints = new Map<string, Endpoint>();

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
    const { supervision, fetcher, resources } = this.#options;
    const remote = new RunnerLoader({
      id,
      versionUrl: config.remote!.url,
      entry: { version: id.version, platform: 'remote', files: [] },
      fetcher,
      supervision,
      executionProviders: ['wasm'],
      ...remoteLoadOptions(config, this.channel),
    });
    const loader: PlacementLoader = new PlacementLoader({
      id,
      placement: config.placement as 'prefer-local' | 'prefer-remote',
      local,
      remote,
      attach: () => this.#attach(loader, config),
      detach: () => this.#detach(loader),
      resources: { fits: (bytes) => resources.fits(bytes), resize: (bytes) => resources.resize(id, bytes) },
      localRetries: { max: supervision.maxRestarts, backoffMs: supervision.restartBackoffMs },
      routesChanged: this.#options.routesChanged,
    });
    return loader;
  }

  /** Memory was freed (a version unloaded): local sides that did not fit may now. */
  resourcesFreed(): void {
    for (const loader of this.#loaders.values()) loader.resourcesFreed();
  }

  close(): void {
    this.#broadcast?.close();
    for (const { health } of this.#endpoints.values()) health.close();
  }

  /**
   * A version starts loading: it answers its failover questions from now on (replacing any
   * loader of the same id still registered), and shares its model's EndpointHealth.
   */
  #attach(loader: PlacementLoader, config: ModelConfig): EndpointHealth {
    this.#listen();
    this.#loaders.set(servableIdKey(loader.id), loader);
    const endpoint = this.#endpointOf(config);
    endpoint.loaders.add(loader);
    return endpoint.health;
  }

  /** A version is gone (unloaded, or its load failed): it leaves the registry; its endpoint stops being probed once no version uses it. */
  #detach(loader: PlacementLoader): void {
    const key = servableIdKey(loader.id);
    if (this.#loaders.get(key) === loader) this.#loaders.delete(key);
    for (const [key, endpoint] of this.#endpoints) {
      if (!endpoint.loaders.delete(loader) || endpoint.loaders.size > 0) continue;
      endpoint.health.close();
      this.#endpoints.delete(key);
    }
  }

  /**
   * The model's endpoint as `config` has it (health and the versions using it). A changed
   * `remote` (reloadConfig) is another endpoint: versions loaded before keep the one their remote
   * side talks to, probed while they use it.
   */
  #endpointOf(config: ModelConfig): Endpoint {
    const endpoint = config.remote!;
    const key = JSON.stringify([config.name, endpoint]);
    const known = this.#endpoints.get(key);
    if (known) return known;
    const client = new RemoteClient(endpoint, endpoint.model ?? config.name, { name: config.name, ...(this.#options.fetch ? { fetch: this.#options.fetch } : {}) });
    const interval = this.#options.pollIntervalMs > 0 ? Math.min(this.#options.pollIntervalMs, 5000) : 5000;
    const loaders = new Set<PlacementLoader>();
    const health = new EndpointHealth({
      probe: (signal) => client.ready(undefined, signal),
      probeMs: endpoint.probeIntervalMs || interval,
      onChange: () => {
        if (health.healthy) for (const loader of loaders) loader.endpointHealthy();
        this.#options.routesChanged();
      },
    });
    const created = { health, loaders };
    this.#endpoints.set(key, created);
    return created;
  }
}

interface Endpoint {
  readonly health: EndpointHealth;
  /** The versions attached to it (loading or loaded). */
  readonly loaders: Set<PlacementLoader>;
}
