/**
 * DataPlane: the main thread's request path for predictions — routing table, runner pool,
 * retries on `moved`, and request metrics. It is also the RunnerHost the control worker drives.
 *
 * A prediction goes: routing table (pushed by the control worker) → the runner's own Worker
 * channel, as one tagged message coalesced with the others of the same task → one reply. When
 * the table has no route (a version still loading, a label waiting, a runner restarting, an
 * unknown model), the control worker is asked (`route`): it answers with the route or with the
 * request's precise ServingError, and waits while a runner restarts. A `moved` reply (the runner
 * no longer hosts the version) sends the request, with its inputs handed back, to the route the
 * control worker gives now — so no request fails or is lost during a swap.
 */
import type { BatchedRun } from '../batching/batching-session.js';
import type { RequestDeadline } from '../core/request-deadline.js';
import { ServingError, describeServable } from '../core/serving-error.js';
import type { CheckedSelector } from '../core/version-selector.js';
import type { PredictResponse, Route, RoutingTable, RunnerHost, TensorData } from '../protocol.js';
import type { RunnerFault } from '../protocol/runner.js';
import { LatencyHistogram } from '../http/latency-histogram.js';
import { RequestLatencies } from '../http/request-latencies.js';
import { unansweredError, type ServableApi } from '../platforms/platform.js';
import { ServingMetrics } from './serving-metrics.js';
import { RunnerPool, type RunnerInfo, type RunnerVariant } from './runner-pool.js';
import { MOVED, lookupShards } from './sharded-lookup.js';

export interface DataPlaneOptions {
  readonly spawnRunner: (name: string, variant: RunnerVariant) => Worker;
  /** Asks the control worker where `selector` runs (or why it cannot). */
  readonly route: (selector: CheckedSelector) => Promise<Route>;
  readonly onRunnerExit: (runner: string, reason: string) => void;
}

export interface CheckedPredict extends CheckedSelector {
  readonly inputs: unknown;
  readonly outputs?: unknown;
  readonly transfer: readonly Transferable[];
  readonly deadline: RequestDeadline;
}

export interface CheckedCall extends CheckedSelector {
  /** `lookup`, or a method of the servable's own. */
  readonly method: string;
  readonly args: unknown;
  readonly transfer: readonly Transferable[];
  readonly deadline: RequestDeadline;
}

export interface CheckedStream extends CheckedPredict {
  /** Results the runner may produce ahead of the consumer. */
  readonly highWaterMark: number;
}

interface ModelRouting {
  readonly latest: Route | undefined;
  readonly versions: Map<number, Route>;
  readonly labels: Map<string, Route>;
}

/** How many times a request follows `moved` before giving up (a swap moves it once). */
const MAX_MOVES = 3;

class Moved {
  constructor(readonly inputs: unknown) {}
}

/** Rows per batched run: powers of two up to 1024. */
const BATCH_SIZE_BOUNDS = Array.from({ length: 11 }, (_, k) => 2 ** k);

export class DataPlane {
  readonly metrics = new ServingMetrics();
  /** Latency histograms of successful predictions, per model and version (entrypoint `JS`), for the Prometheus text. */
  readonly latencies = new RequestLatencies();
  readonly #batchSizes = new Map<string, LatencyHistogram>();
  readonly #options: DataPlaneOptions;
  readonly #pool: RunnerPool;
  #routes = new Map<string, ModelRouting>();

  constructor(options: DataPlaneOptions) {
    this.#options = options;
    this.#pool = new RunnerPool({
      spawn: options.spawnRunner,
      onExit: options.onRunnerExit,
      // A runner's servable calling another (a pipeline's step): the table, or the control worker.
      resolveRoute: async (selector, fresh) => (fresh ? undefined : this.#find(selector)) ?? options.route(selector),
    });
  }

  /** What the control worker calls (through Comlink on the page). */
  readonly host: RunnerHost = {
    load: (spec, group) => this.#pool.load(spec, group),
    unload: (runner, key) => this.#pool.unload(runner, key),
    routes: (table) => this.#setRoutes(table),
  };

  /** Models the control worker serves, as of its last routing table. */
  get models(): string[] {
    return [...this.#routes.keys()];
  }

  async predict(request: CheckedPredict): Promise<PredictResponse> {
    const { model, deadline } = request;
    const started = performance.now();
    let route: Route | undefined;
    try {
      const found = this.#route(request, 'predict');
      route = found instanceof Promise ? await found : found;
      let inputs = request.inputs;
      let transfer = request.transfer;
      for (let moves = 0; ; moves += 1) {
        const result = await this.#send(route, request, inputs, transfer, moves);
        if (!(result instanceof Moved)) {
          const ms = performance.now() - started;
          this.metrics.recordRequest(model, ms);
          this.metrics.recordPlacement(model, route.placement);
          this.latencies.record({ model, version: result.version, api: 'predict', entrypoint: 'JS' }, ms * 1000);
          return result;
        }
        if (moves >= MAX_MOVES) throw this.#keptMoving(model, route.version);
        inputs = result.inputs;
        transfer = [];
        route = await this.#route(request, 'predict', true);
      }
    } catch (error) {
      if (route) this.metrics.recordPlacement(model, route.placement);
      throw this.#failed(model, started, error);
    } finally {
      deadline.clear();
    }
  }

  /**
   * A route with `failover` (a model placed in two places) gets a copy of the inputs, not their
   * buffers: when its runner dies under the request, the inputs are still here, and the request
   * moves to where the model serves now instead of failing.
   */
  #send(route: Route, request: CheckedPredict, inputs: unknown, transfer: readonly Transferable[], moves: number): Promise<PredictResponse | Moved> {
    if (!route.failover) return this.#sendOnce(route, request, inputs, transfer);
    return this.#sendOnce(route, request, inputs, []).catch((error: unknown) => {
      const failure = ServingError.from(error);
      if (moves < MAX_MOVES && failure.code === 'UNAVAILABLE' && failure.data?.retryable === true && !request.deadline.signal?.aborted) return new Moved(inputs);
      throw failure;
    });
  }

  #sendOnce(route: Route, request: CheckedPredict, inputs: unknown, transfer: readonly Transferable[]): Promise<PredictResponse | Moved> {
    const { model } = request;
    let id: number | undefined;
    const sent = new Promise<PredictResponse | Moved>((resolve, reject) => {
      id = this.#pool.predict(
        route.runner,
        { s: route.key, i: inputs as Record<string, TensorData>, ...(request.outputs !== undefined ? { o: request.outputs as string[] } : {}) },
        transfer,
        {
          ok: (outputs, batch) => {
            this.#recordRun(model, batch);
            resolve({ model, version: route.version, outputs: outputs as Record<string, TensorData> });
          },
          fail: reject,
          moved: (returned) => resolve(new Moved(returned)),
        },
      );
      // The runner is gone already: nothing was sent, the inputs are still ours.
      if (id === undefined) resolve(new Moved(inputs));
    });
    return request.deadline.race(sent, () => {
      if (id !== undefined) this.#pool.cancel(route.runner, id);
    });
  }

  /** `lookup` or a method of the servable's own, with `args`; resolves to the version that answered and its value. */
  async call(request: CheckedCall): Promise<{ version: number; value: unknown }> {
    const { model, deadline, method } = request;
    const api: ServableApi = method === 'lookup' ? 'lookup' : `call:${method}`;
    const started = performance.now();
    try {
      const found = this.#route(request, api);
      let route = found instanceof Promise ? await found : found;
      let args = request.args;
      let transfer = request.transfer;
      for (let moves = 0; ; moves += 1) {
        if (route.shards) {
          // A sharded table: the keys fan out to its shards' runners (sharded-lookup.ts).
          const values = await lookupShards({ ...route, shards: route.shards }, request, this.#pool);
          if (values !== MOVED) {
            this.metrics.recordRequest(model, performance.now() - started);
            return { version: route.version, value: values };
          }
          if (moves >= MAX_MOVES) throw this.#keptMoving(model, route.version);
          route = await this.#route(request, api, true);
          continue;
        }
        let id: number | undefined;
        const runner = route.runner;
        const result = await deadline.race(
          new Promise<{ value: unknown } | Moved>((resolve, reject) => {
            id = this.#pool.call(runner, { s: route.key, m: method, a: args }, transfer, { ok: (value) => resolve({ value }), fail: reject, moved: (returned) => resolve(new Moved(returned)) });
            if (id === undefined) resolve(new Moved(args));
          }),
          () => id !== undefined && this.#pool.cancel(runner, id),
        );
        if (!(result instanceof Moved)) {
          this.metrics.recordRequest(model, performance.now() - started);
          return { version: route.version, value: result.value };
        }
        if (moves >= MAX_MOVES) throw this.#keptMoving(model, route.version);
        args = result.inputs;
        transfer = [];
        route = await this.#route(request, api, true);
      }
    } catch (error) {
      throw this.#failed(model, started, error);
    } finally {
      deadline.clear();
    }
  }

  /**
   * A stream's results, as the consumer pulls them: the runner produces at most `highWaterMark`
   * ahead. Stopping the iteration (break, return, the request's signal or deadline) stops the
   * servable's iterator. A `moved` before the first result restarts it where the version is now.
   */
  async *stream(request: CheckedStream): AsyncGenerator<PredictResponse, void, undefined> {
    const { model, deadline, highWaterMark } = request;
    const started = performance.now();
    let route: Route | undefined;
    let id: number | undefined;
    // True once the runner has ended the stream (its last result, or an error): nothing to stop there.
    let settled = false;
    try {
      route = await this.#route(request, 'stream');
      let inputs = request.inputs;
      let transfer = request.transfer;
      for (let moves = 0; ; moves += 1) {
        const results: unknown[] = [];
        let ended = false;
        let failure: ServingError | undefined;
        let moved: Moved | undefined;
        let wake: (() => void) | undefined;
        const runner = route.runner;
        const notify = () => wake?.();
        id = this.#pool.stream(runner, { s: route.key, i: inputs as Record<string, TensorData>, c: highWaterMark }, transfer, {
          item: (value) => {
            results.push(value);
            notify();
          },
          ok: () => {
            ended = true;
            notify();
          },
          fail: (error) => {
            failure = error;
            notify();
          },
          moved: (returned) => {
            moved = new Moved(returned);
            notify();
          },
        });
        if (id === undefined) moved = new Moved(inputs);
        let yielded = 0;
        for (;;) {
          // Between results too: a signal or deadline that fired while the consumer had a result ends it now.
          deadline.signal?.throwIfAborted();
          if (results.length > 0) {
            const outputs = results.shift() as Record<string, TensorData>;
            this.#pool.credit(runner, id!, 1);
            yielded += 1;
            yield { model, version: route.version, outputs };
            continue;
          }
          if (failure) {
            settled = true;
            throw failure;
          }
          if (ended) {
            settled = true;
            this.metrics.recordRequest(model, performance.now() - started);
            return;
          }
          if (moved) break;
          await deadline.race(new Promise<void>((resolve) => (wake = resolve)));
          wake = undefined;
        }
        // Moved before any result: start again where the version is now.
        id = undefined;
        if (yielded > 0 || moves >= MAX_MOVES) throw this.#keptMoving(model, route.version);
        inputs = moved!.inputs;
        transfer = [];
        route = await this.#route(request, 'stream', true);
      }
    } catch (error) {
      throw this.#failed(model, started, error);
    } finally {
      // The consumer stopped early (break, return, deadline): the runner stops the servable's iterator.
      if (!settled && route && id !== undefined) this.#pool.cancel(route.runner, id);
      deadline.clear();
    }
  }

  /**
   * The route for `request` — from the table, else (or after a move, always) from the control
   * worker — checked to answer `api`. From the table it is returned synchronously: a request
   * issued before an unload must reach the runner's channel before the unload does.
   */
  #route(request: CheckedSelector & { readonly deadline: RequestDeadline }, api: ServableApi, fresh = false): Route | Promise<Route> {
    const check = (route: Route): Route => {
      if (!route.apis.includes(api)) throw unansweredError(request.model, route.version, route.apis, api);
      return route;
    };
    const known = fresh ? undefined : this.#find(request);
    // Only the selector crosses to the control worker: the request's inputs may be detached (transferred already).
    const { model, version, label } = request;
    const selector = { model, ...(version !== undefined ? { version } : {}), ...(label !== undefined ? { label } : {}) };
    return known ? check(known) : request.deadline.race(this.#options.route(selector)).then(check);
  }

  /** A request's failure as its caller gets it, counted for a model the runtime serves. */
  #failed(model: string, started: number, error: unknown): ServingError {
    const failure = ServingError.from(error, { model });
    if (this.#routes.has(model)) this.metrics.recordRequest(model, performance.now() - started, failure.code);
    return failure;
  }

  #keptMoving(model: string, version: number): ServingError {
    return new ServingError('UNAVAILABLE', `${describeServable(model, version)} kept moving between runners; retry the request`, { model, version, data: { retryable: true } });
  }

  #recordRun(model: string, batch: BatchedRun | undefined): void {
    // A batched run answers several requests: only its first one counts it.
    if (batch && !batch.first) return;
    this.metrics.recordRun(model, batch);
    if (!batch) return;
    let sizes = this.#batchSizes.get(model);
    if (!sizes) this.#batchSizes.set(model, (sizes = new LatencyHistogram(BATCH_SIZE_BOUNDS)));
    sizes.record(batch.size);
  }

  /** Rows per batched run, per model, for the Prometheus text. */
  batchSizes(): { model: string; histogram: ReturnType<LatencyHistogram['snapshot']> }[] {
    return [...this.#batchSizes].map(([model, histogram]) => ({ model, histogram: histogram.snapshot() }));
  }

  #find({ model, version, label }: CheckedSelector): Route | undefined {
    const routing = this.#routes.get(model);
    if (!routing) return undefined;
    if (label !== undefined) return routing.labels.get(label);
    if (version !== undefined) return routing.versions.get(version);
    return routing.latest;
  }

  #setRoutes(table: RoutingTable): void {
    const routes = new Map<string, ModelRouting>();
    for (const [model, m] of Object.entries(table.models)) {
      routes.set(model, {
        latest: m.latest,
        versions: new Map(Object.entries(m.versions).map(([v, r]) => [Number(v), r])),
        labels: new Map(Object.entries(m.labels)),
      });
    }
    this.#routes = routes;
    this.#pool.routesChanged();
  }

  runners(): RunnerInfo[] {
    return this.#pool.list();
  }

  fault(runner: string, fault: RunnerFault | 'terminate', ms?: number): void {
    this.#pool.fault(runner, fault, ms);
  }

  /** Terminates every runner; pending requests reject with `reason`; routes are forgotten until the control worker pushes new ones. */
  reset(reason: ServingError): void {
    this.#routes = new Map();
    this.#pool.terminateAll(reason);
  }

  /** Terminates every runner for good. */
  close(reason: ServingError): void {
    this.#routes = new Map();
    this.#pool.close(reason);
  }
}
