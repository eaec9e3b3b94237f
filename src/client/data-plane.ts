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
import { ServingMetrics } from './serving-metrics.js';
import { RunnerPool, type RunnerInfo, type RunnerVariant } from './runner-pool.js';

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
    this.#pool = new RunnerPool({ spawn: options.spawnRunner, onExit: options.onRunnerExit });
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
    try {
      let route = this.#find(request) ?? (await deadline.race(this.#options.route(request)));
      let inputs = request.inputs;
      let transfer = request.transfer;
      for (let moves = 0; ; moves += 1) {
        const result = await this.#send(route, request, inputs, transfer);
        if (!(result instanceof Moved)) {
          const ms = performance.now() - started;
          this.metrics.recordRequest(model, ms);
          this.latencies.record({ model, version: result.version, api: 'predict', entrypoint: 'JS' }, ms * 1000);
          return result;
        }
        if (moves >= MAX_MOVES) {
          throw new ServingError('UNAVAILABLE', `${describeServable(model, route.version)} kept moving between runners; retry the request`, { model, version: route.version, data: { retryable: true } });
        }
        inputs = result.inputs;
        transfer = [];
        route = await deadline.race(this.#options.route(request));
      }
    } catch (error) {
      const failure = ServingError.from(error, { model });
      if (this.#routes.has(model)) this.metrics.recordRequest(model, performance.now() - started, failure.code);
      throw failure;
    } finally {
      deadline.clear();
    }
  }

  #send(route: Route, request: CheckedPredict, inputs: unknown, transfer: readonly Transferable[]): Promise<PredictResponse | Moved> {
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
