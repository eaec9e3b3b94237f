/**
 * ShardedTableLoader: the Loader of a sharded `table` version (the manifest lists its `shards`):
 * one version to the manager, N runner workers underneath — one per shard, each a WASM-only
 * runner hosting that shard's TableShard, placed by a RunnerLoader of its own.
 *
 * Contract, as the manager sees one version:
 * - `estimateResources()`: the sum of every shard's estimate (each its table platform's: twice
 *   its shard file); each shard's share is kept and shown in status.
 * - `load()`: places every shard at once (each reads only its own files, from the store when
 *   there). The version is loaded only when every shard is: when one fails, the others stop (or
 *   are unloaded) and the load fails with that shard's error, code kept, naming the shard. A
 *   retried load starts again with fresh placements.
 * - `unload()`: every shard drains and releases at once; the route left the routing table
 *   before (the manager publishes UNLOADING first), so no new lookup reaches any of them.
 * - A shard's runner that dies restarts that shard alone (its RunnerLoader, from the store);
 *   meanwhile the version has no route and `route()` waits for it, as for any version.
 *
 * The route carries every shard (runner, key, index range): the client fans a lookup out.
 */
import type { LoadContext, Loader, ResourceAllocation } from '../core/loader.js';
import type { ServableDescription } from '../core/servable-state.js';
import { ServingError, describeServable } from '../core/serving-error.js';
import type { Route, ShardStatus } from '../protocol.js';
import { shardError } from '../platforms/table/shard-error.js';
import type { ManifestVersion } from '../sources/manifest.js';
import type { TableShardEntry } from '../sources/table-shards.js';
import { RunnerLoader, RunnerServable, type PlacedVersion, type RunnerLoaderOptions } from './runner-loader.js';

export class ShardedTableLoader implements Loader<RunnerServable>, PlacedVersion {
  readonly #options: RunnerLoaderOptions;
  readonly #shards: readonly TableShardEntry[];
  #placed: RunnerLoader[] = [];
  #estimates: number[] = [];
  #servable: RunnerServable | undefined;

  /** `options.entry` must list `shards`; `runnerGroup` is ignored: each shard gets a runner of its own. */
  constructor(options: RunnerLoaderOptions) {
    if (!options.entry.shards) throw new ServingError('INTERNAL', `${describeServable(options.id.name, options.id.version)} is not sharded`);
    this.#options = options;
    this.#shards = options.entry.shards;
  }

  async estimateResources(): Promise<ResourceAllocation> {
    const loaders = this.#shardLoaders();
    this.#estimates = await Promise.all(loaders.map((loader, k) => loader.estimateResources().then((e) => e.bytes, (error: unknown) => Promise.reject(this.#shardError(k, error)))));
    return { bytes: this.#estimates.reduce((sum, bytes) => sum + bytes, 0) };
  }

  async load({ signal }: LoadContext): Promise<void> {
    const loaders = this.#shardLoaders();
    // The first shard that fails stops the others: the version cannot serve without it.
    const stop = new AbortController();
    const forward = () => stop.abort(signal.reason);
    signal.addEventListener('abort', forward, { once: true });
    let failure: ServingError | undefined;
    const results = await Promise.allSettled(
      loaders.map((loader, k) =>
        loader.load({ signal: stop.signal }).catch((error: unknown) => {
          failure ??= this.#shardError(k, error);
          stop.abort(failure);
          throw error;
        }),
      ),
    );
    signal.removeEventListener('abort', forward);
    if (failure) {
      await Promise.all(loaders.map((loader, k) => (results[k]!.status === 'fulfilled' ? loader.unload() : undefined)));
      throw signal.aborted ? ServingError.from(signal.reason, { model: this.#options.id.name, version: this.#options.id.version }, 'CANCELLED') : failure;
    }
    this.#placed = loaders;
    this.#servable = new RunnerServable('table', ['lookup'], undefined, this);
  }

  async unload(): Promise<void> {
    const placed = this.#placed;
    this.#placed = [];
    this.#servable = undefined;
    await Promise.all(placed.map((loader) => loader.unload()));
  }

  servable(): RunnerServable {
    if (!this.#servable) throw new ServingError('INTERNAL', `${describeServable(this.#options.id.name, this.#options.id.version)} is not loaded`);
    return this.#servable;
  }

  /** Every shard's route once all are placed; waits while shards restart; UNAVAILABLE naming the shard whose restarts gave up. */
  async route(): Promise<Route> {
    const routes = await Promise.all(this.#placed.map((loader, k) => loader.route().catch((error: unknown) => Promise.reject(this.#shardError(k, error)))));
    return this.#compose(routes);
  }

  /** The route while every shard is placed; undefined while one restarts. */
  get currentRoute(): Route | undefined {
    const routes = this.#placed.map((loader) => loader.currentRoute);
    return routes.length > 0 && routes.every((r) => r !== undefined) ? this.#compose(routes as Route[]) : undefined;
  }

  /** The table's facts, the shard count, and the health of the shards taken together. */
  describe(): ServableDescription {
    const shards = this.#placed.map((loader) => loader.describe());
    const first = shards[0] ?? {};
    const restarts = shards.reduce((sum, d) => sum + (typeof d.restarts === 'number' ? d.restarts : 0), 0);
    const failed = shards.findIndex((d) => d.runnerState === 'failed');
    const restarting = shards.findIndex((d) => d.runnerState === 'restarting');
    return {
      platform: 'table',
      ...(first.tableType !== undefined ? { tableType: first.tableType } : {}),
      ...(first.size !== undefined ? { size: first.size } : {}),
      shards: this.#shards.length,
      ...(restarts ? { restarts } : {}),
      ...(failed >= 0 ? { runnerState: 'failed', runnerError: `shard ${failed}: ${String(shards[failed]!.runnerError)}` } : restarting >= 0 ? { runnerState: 'restarting' } : {}),
    };
  }

  shards(): readonly ShardStatus[] {
    return this.#shards.map((entry, k) => ({
      shard: k,
      files: entry.files,
      ...(entry.indices ? { indices: entry.indices } : {}),
      ...(this.#estimates[k] !== undefined ? { estimatedBytes: this.#estimates[k] } : {}),
      description: this.#placed[k]?.describe() ?? {},
    }));
  }

  #compose(routes: readonly Route[]): Route {
    const [first] = routes as [Route];
    return {
      ...first,
      shards: routes.map((route, k) => ({ runner: route.runner, key: route.key, ...(this.#shards[k]!.indices ? { indices: this.#shards[k]!.indices! } : {}) })),
    };
  }

  /** A RunnerLoader per shard, each given only that shard's files (the store still records the whole version). */
  #shardLoaders(): RunnerLoader[] {
    const { runnerGroup: _ownRunners, entry, ...options } = this.#options;
    return this.#shards.map((shard, k) => {
      const files = entry.files.filter((f) => shard.files.includes(f.path));
      const shardEntry: ManifestVersion = { version: entry.version, platform: entry.platform, files };
      return new RunnerLoader({ ...options, entry: shardEntry, versionFiles: entry.files, shard: k });
    });
  }

  #shardError(shard: number, error: unknown): ServingError {
    return shardError(error, { model: this.#options.id.name, version: this.#options.id.version, shard, shards: this.#shards.length });
  }
}
