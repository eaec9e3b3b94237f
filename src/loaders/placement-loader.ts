/**
 * PlacementLoader: one version of a `prefer-local` or `prefer-remote` model, loaded in both
 * places — a local RunnerLoader (its runner, from the repository) and a remote one (the `remote`
 * platform's servable, forwarding to the endpoint) — and routed to whichever may serve now. The
 * placement decision is made here, in the control worker, each time routes are computed: the
 * client only follows the route it is given.
 *
 * Which side serves:
 * - `prefer-local`: local while its runner is up; remote when the local version could not load
 *   (its load failed, or it does not fit `resourceBudgetBytes`: then it is not loaded at all),
 *   or its runner died and is not back yet (the restart keeps going; once it is up, routes go
 *   local again).
 * - `prefer-remote`: remote while the endpoint is healthy (`EndpointHealth`); local when it is
 *   unreachable or failing, until a probe finds it ready again.
 * - Either way, while the local side is not loaded (over the budget, its load failed) a failing
 *   endpoint keeps its route: it is the only place the version can serve.
 *
 * Failover, worked sequences (≤ 1 failed request per transition; usually none):
 *   local runner dies       the main thread tells the control worker (`runnerExited`) →
 *                           RunnerLoader.restart drops its route → routes pushed with the remote
 *                           route. Requests in flight on the dead runner: their routes say
 *                           `failover`, so the client sent a copy of the inputs and, on the
 *                           runner's UNAVAILABLE (retryable), asks `route()` — after the
 *                           `runnerExited` it sent first — which answers remote: none fails.
 *   local runner is back    routes pushed with the local route; remote requests in flight finish.
 *   endpoint fails          the remote servable asks `remoteFailed()` (remote-platform.ts) →
 *                           the endpoint is marked failing, routes are pushed → the servable
 *                           answers its request `moved` → the client's `route()` gets local.
 *   endpoint ready again    a probe succeeds → routes pushed with the remote route.
 *
 * Load: both sides load together; the version is AVAILABLE when either did (the other's
 * failure is kept and shown). It fails only when both failed. Resources: the local estimate,
 * or 0 when it does not fit the budget (then only the remote side is loaded), checked afresh on
 * every load attempt. A local side that is down while the version serves remotely comes back:
 * one over the budget when memory is freed (`resourcesFreed()`: it then reserves its bytes),
 * one whose load failed after `localRetries.backoffMs`, doubling, `localRetries.max` times.
 */
import type { LoadContext, Loader, ResourceAllocation } from '../core/loader.js';
import type { ServableId } from '../core/servable-id.js';
import type { ServableDescription } from '../core/servable-state.js';
import { ServingError, describeServable } from '../core/serving-error.js';
import type { Route, Signature } from '../protocol.js';
import type { ServableApi } from '../platforms/platform.js';
import type { EndpointHealth } from './endpoint-health.js';
import { RunnerServable, type PlacedVersion, type RunnerLoader } from './runner-loader.js';

export interface PlacementLoaderOptions {
  readonly id: ServableId;
  readonly placement: 'prefer-local' | 'prefer-remote';
  readonly local: RunnerLoader;
  /** A RunnerLoader of the `remote` platform. */
  readonly remote: RunnerLoader;
  /**
   * Called when a load starts: the version answers failover questions from then on, and gets
   * its endpoint's health (shared by the versions of the model that use that endpoint).
   */
  readonly attach: () => EndpointHealth;
  /** Called once both sides are unloaded, or when the load failed: the version is gone. */
  readonly detach: () => void;
  /** The manager's budget, for this version. */
  readonly resources: {
    /** Whether `bytes` more fit the budget now. */
    fits(bytes: number): boolean;
    /** Sets this version's reservation to `bytes` when they fit (true), or leaves it as it is (false). */
    resize(bytes: number): boolean;
  };
  /** Retries of a local side that failed to load while the remote one serves: doubling from `backoffMs`. */
  readonly localRetries: { readonly max: number; readonly backoffMs: number };
  /** Routes changed outside a side's own load or unload (which push them themselves): push them now. */
  readonly routesChanged: () => void;
}

type Side = 'local' | 'remote';

export class PlacementLoader implements Loader<RunnerServable>, PlacedVersion {
  readonly #options: PlacementLoaderOptions;
  /** Why a side is not loaded (its load failed, or the local one did not fit). */
  readonly #down: Partial<Record<Side, string>> = {};
  /** The local side's estimate when it did not fit the budget (it then reserves nothing). */
  #overBudget: number | undefined;
  readonly #loaded = new Set<Side>();
  #servable: RunnerServable | undefined;
  /** The endpoint's health while attached (from the start of `load()` to the end of `unload()`). */
  #health: EndpointHealth | undefined;
  #retryingRemote: Promise<void> | undefined;
  #retryingLocal: Promise<void> | undefined;
  readonly #localRetry: { timer: ReturnType<typeof setTimeout> | undefined; attempts: number } = { timer: undefined, attempts: 0 };

  constructor(options: PlacementLoaderOptions) {
    this.#options = options;
  }

  get id(): ServableId {
    return this.#options.id;
  }

  /** Called before every load attempt (the manager's retries too): the budget is checked afresh each time. */
  async estimateResources(): Promise<ResourceAllocation> {
    const local = await this.#options.local.estimateResources();
    this.#overBudget = undefined;
    delete this.#down.local;
    if (this.#options.resources.fits(local.bytes)) return local;
    this.#overBudget = local.bytes;
    this.#down.local = overBudget(local.bytes);
    return { bytes: 0 };
  }

  async load(context: LoadContext): Promise<void> {
    // Registered here, not when the loader is made: the manager discards loaders made for
    // versions it already holds (a re-sent version list) and never loads or unloads them.
    this.#health = this.#options.attach();
    this.#localRetry.attempts = 0;
    try {
      await this.#loadBoth(context, this.#health);
    } catch (error) {
      // A failed load gets no unload(): nothing may keep answering for it, or keep its endpoint probed.
      this.#health = undefined;
      this.#options.detach();
      throw error;
    }
  }

  async #loadBoth(context: LoadContext, health: EndpointHealth): Promise<void> {
    const { local, remote, id } = this.#options;
    const [localLoad, remoteLoad] = await Promise.allSettled([
      this.#overBudget === undefined ? local.load(context) : Promise.reject(new ServingError('RESOURCE_EXHAUSTED', overBudget(this.#overBudget))),
      remote.load(context),
    ]);
    if (localLoad.status === 'fulfilled') this.#loaded.add('local');
    else this.#down.local ??= ServingError.from(localLoad.reason).message;
    if (remoteLoad.status === 'fulfilled') this.#loaded.add('remote');
    else {
      this.#down.remote = ServingError.from(remoteLoad.reason).message;
      health.markFailing(this.#down.remote);
    }
    if (localLoad.status === 'rejected' && remoteLoad.status === 'rejected') {
      // The local failure's code: the remote side is the fallback, its failure the lesser news.
      const failure = ServingError.from(localLoad.reason);
      throw new ServingError(failure.code, `${describeServable(id.name, id.version)} could be served neither locally (${this.#down.local}) nor remotely (${this.#down.remote})`, { ...failure, model: id.name, version: id.version });
    }
    const serving = this.#loaded.has('local') ? local.servable() : remote.servable();
    this.#servable = new RunnerServable(serving.platform, serving.apis, serving.signature, this);
    if (!this.#loaded.has('local') && this.#overBudget === undefined) this.#scheduleLocalRetry();
  }

  /**
   * Memory was freed (a version unloaded): a local side that did not fit the budget is loaded
   * now if it fits, and the version goes back to local (prefer-local) or has it warm again.
   */
  resourcesFreed(): void {
    if (this.#overBudget !== undefined) this.#retryLocal();
  }

  /** A failed local side is tried again, `localRetries.max` times with doubling backoff. */
  #scheduleLocalRetry(): void {
    const { max, backoffMs } = this.#options.localRetries;
    const retry = this.#localRetry;
    if (retry.attempts >= max || retry.timer !== undefined) return;
    retry.timer = setTimeout(() => {
      retry.timer = undefined;
      retry.attempts += 1;
      this.#retryLocal();
    }, backoffMs * 2 ** retry.attempts);
  }

  #retryLocal(): void {
    if (this.#loaded.has('local') || !this.#servable || this.#retryingLocal) return;
    // Reserved before the load starts, as the manager does: two versions cannot both take the freed bytes.
    const bytes = this.#overBudget;
    if (bytes !== undefined && !this.#options.resources.resize(bytes)) return;
    this.#overBudget = undefined;
    this.#retryingLocal = this.#loadLocalLate(bytes).finally(() => (this.#retryingLocal = undefined));
  }

  /** Loads the local side after the version became AVAILABLE; `bytes`: what was reserved for it just now. */
  async #loadLocalLate(bytes: number | undefined): Promise<void> {
    const { local, resources } = this.#options;
    try {
      await local.load({ signal: new AbortController().signal });
    } catch (error) {
      this.#down.local = ServingError.from(error).message;
      if (bytes !== undefined) {
        resources.resize(0);
        this.#overBudget = bytes;
      } else this.#scheduleLocalRetry();
      return;
    }
    if (!this.#servable) return void (await local.unload());
    this.#loaded.add('local');
    delete this.#down.local;
    this.#options.routesChanged();
  }

  async unload(): Promise<void> {
    const { local, remote } = this.#options;
    clearTimeout(this.#localRetry.timer);
    this.#localRetry.timer = undefined;
    // No servable: a retry that finishes now unloads the side it loaded instead of adding it.
    this.#servable = undefined;
    await Promise.all([this.#retryingRemote, this.#retryingLocal].map((retry) => retry?.catch(() => undefined)));
    const sides = [...this.#loaded];
    this.#loaded.clear();
    try {
      await Promise.all(sides.map((side) => (side === 'local' ? local : remote).unload()));
    } finally {
      this.#health = undefined;
      this.#options.detach();
    }
  }

  servable(): RunnerServable {
    if (!this.#servable) throw new ServingError('INTERNAL', `${describeServable(this.#options.id.name, this.#options.id.version)} is not loaded`);
    return this.#servable;
  }

  /**
   * The remote side's endpoint failed a request (`reason`): it is marked failing (routes leave it)
   * before this returns. True when the request can go to the local side instead — it serves, or
   * its runner is restarting (the request then waits for it).
   */
  remoteFailed(reason: string): boolean {
    this.#health?.markFailing(reason);
    return this.#loaded.has('local');
  }

  /** The endpoint is healthy again: load the remote side if it failed to load before. */
  endpointHealthy(): void {
    if (this.#loaded.has('remote') || this.#retryingRemote || !this.#servable) return;
    this.#retryingRemote = this.#options.remote
      .load({ signal: new AbortController().signal })
      .then(
        () => {
          if (!this.#servable) return void this.#options.remote.unload();
          this.#loaded.add('remote');
          delete this.#down.remote;
          // The remote side pushed its routes from inside its load, before it counted as loaded here.
          this.#options.routesChanged();
        },
        (error: unknown) => {
          this.#down.remote = ServingError.from(error).message;
        },
      )
      .finally(() => (this.#retryingRemote = undefined));
  }

  /** The route now: the side that may serve, by the placement's preference; undefined when neither can at once. */
  get currentRoute(): Route | undefined {
    return this.#pick();
  }

  /** Where requests go now; waits for a restarting side when neither can take them at once. */
  async route(): Promise<Route> {
    return { ...(await this.#route()), failover: true };
  }

  async #route(): Promise<Route> {
    const now = this.#pick();
    if (now) return now;
    const order: Side[] = this.#options.placement === 'prefer-local' ? ['local', 'remote'] : ['remote', 'local'];
    const reasons: string[] = [];
    for (const side of order) {
      if (!this.#loaded.has(side) || (side === 'remote' && !this.#remoteMayServe())) {
        reasons.push(`${side}: ${side === 'remote' ? (this.#health?.reason ?? this.#down.remote ?? 'not loaded') : (this.#down.local ?? 'not loaded')}`);
        continue;
      }
      try {
        return await (side === 'local' ? this.#options.local : this.#options.remote).route();
      } catch (error) {
        reasons.push(`${side}: ${ServingError.from(error).message}`);
      }
    }
    const { id } = this.#options;
    throw new ServingError('UNAVAILABLE', `${describeServable(id.name, id.version)} can be served neither locally nor remotely now (${reasons.join('; ')})`, { model: id.name, version: id.version, data: { retryable: true } });
  }

  describe(): ServableDescription {
    const route = this.#pick();
    const side: Side = route?.placement === 'remote' ? 'remote' : 'local';
    const loader = this.#loaded.has(side) ? (side === 'local' ? this.#options.local : this.#options.remote) : this.#options.remote;
    const reason = this.#reason(side);
    return { ...loader.describe(), ...(side === 'remote' ? { provider: 'remote' } : {}), placement: this.#options.placement, ...(reason ? { placementReason: reason } : {}) };
  }

  /** Why the preferred side is not the one serving. */
  #reason(serving: Side): string | undefined {
    const { placement, local } = this.#options;
    if (placement === 'prefer-local' && serving === 'remote') {
      if (this.#down.local) return `local: ${this.#down.local}`;
      const { lastExit, runnerState, runnerError } = local.describe();
      if (runnerState === 'failed') return `local runner could not be restarted: ${String(runnerError)}`;
      return `local runner restarting${lastExit ? ` (${String(lastExit)})` : ''}`;
    }
    if (placement === 'prefer-remote' && serving === 'local') return `remote: ${this.#health?.reason ?? this.#down.remote ?? 'restarting'}`;
    return undefined;
  }

  /**
   * A failing endpoint is left only for a local side that is loaded: with none, the endpoint is
   * all the version has, and one failed request must not make it unroutable until a probe.
   */
  #remoteMayServe(): boolean {
    return !!this.#health?.healthy || !this.#loaded.has('local');
  }

  #pick(): Route | undefined {
    const { placement, local, remote } = this.#options;
    const localRoute = this.#loaded.has('local') ? local.currentRoute : undefined;
    const remoteRoute = this.#loaded.has('remote') && this.#remoteMayServe() ? remote.currentRoute : undefined;
    const route = placement === 'prefer-local' ? (localRoute ?? remoteRoute) : (remoteRoute ?? localRoute);
    return route && { ...route, failover: true };
  }
}

function overBudget(bytes: number): string {
  return `it needs ${bytes} bytes, more than the resource budget (resourceBudgetBytes) has free`;
}
