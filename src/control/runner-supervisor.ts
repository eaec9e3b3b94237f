/**
 * RunnerSupervisor: the control worker's record of which loaders run on which runner worker, and
 * what it does when the main thread reports a runner gone (`runnerExited`): every version it
 * hosted is restarted by its own loader (`RunnerLoader.restart`), in a new runner, from the store.
 * It also pushes the routing table to the main thread whenever placements change.
 */
import { LatencyHistogram } from '../http/latency-histogram.js';
import type { PrometheusSource } from '../http/prometheus.js';
import type { RunnerLoader, RunnerSupervision } from '../loaders/runner-loader.js';
import type { RoutingTable, RunnerEvent, RunnerHost, RuntimeInfo } from '../protocol.js';
import type { RunnerLoadSpec } from '../protocol/runner.js';

export interface RunnerSupervisorOptions {
  readonly host: RunnerHost;
  readonly routes: () => RoutingTable;
  readonly onEvent: (event: RunnerEvent) => void;
  readonly maxRestarts?: number;
  readonly restartBackoffMs?: number;
  readonly wasm?: RunnerLoadSpec['wasm'];
}

export class RunnerSupervisor implements RunnerSupervision {
  readonly host: RunnerHost;
  readonly maxRestarts: number;
  readonly restartBackoffMs: number;
  readonly wasm: RunnerLoadSpec['wasm'];
  readonly #options: RunnerSupervisorOptions;
  readonly #loaders = new Map<string, Set<RunnerLoader>>();
  readonly #loads = new Map<string, number>();
  readonly #warmups = new Map<string, { modelPath: string; status: string; histogram: LatencyHistogram }>();
  readonly #restarts = new Map<string, { model: string; version: number; count: number }>();
  #runtime: RuntimeInfo | undefined;

  constructor(options: RunnerSupervisorOptions) {
    this.#options = options;
    this.host = options.host;
    this.maxRestarts = Math.max(0, options.maxRestarts ?? 3);
    this.restartBackoffMs = Math.max(0, options.restartBackoffMs ?? 250);
    this.wasm = options.wasm ?? {};
  }

  attach(runner: string, loader: RunnerLoader): void {
    let loaders = this.#loaders.get(runner);
    if (!loaders) this.#loaders.set(runner, (loaders = new Set()));
    loaders.add(loader);
  }

  detach(runner: string, loader: RunnerLoader): void {
    const loaders = this.#loaders.get(runner);
    loaders?.delete(loader);
    if (loaders?.size === 0) this.#loaders.delete(runner);
  }

  /** The main thread saw `runner` end: restart what it hosted. */
  runnerExited(runner: string, reason: string): void {
    const loaders = [...(this.#loaders.get(runner) ?? [])];
    this.#loaders.delete(runner);
    for (const loader of loaders) loader.restart(runner, reason);
  }

  routesChanged(): void {
    void Promise.resolve(this.host.routes(this.#options.routes())).catch(() => undefined);
  }

  event(event: RunnerEvent): void {
    if (event.state === 'exited') {
      const key = JSON.stringify([event.model, event.version]);
      const entry = this.#restarts.get(key) ?? { model: event.model, version: event.version, count: 0 };
      entry.count += 1;
      this.#restarts.set(key, entry);
    }
    this.#options.onEvent(event);
  }

  loaded(load: Parameters<RunnerSupervision['loaded']>[0]): void {
    // A counter, as TF Serving's load_latency: a restart's load adds to the version's total.
    this.#loads.set(load.modelPath, (this.#loads.get(load.modelPath) ?? 0) + load.loadMs * 1000);
    if (load.warmupMs <= 0 && !load.warmupSkipped) return;
    const status = load.warmupSkipped ? 'FAILED_PRECONDITION' : 'OK';
    const key = JSON.stringify([load.modelPath, status]);
    const entry = this.#warmups.get(key) ?? { modelPath: load.modelPath, status, histogram: new LatencyHistogram() };
    entry.histogram.record(load.warmupMs * 1000);
    this.#warmups.set(key, entry);
  }

  /** Load and warm-up latencies and runner restarts, for the Prometheus text. */
  samples(): Pick<PrometheusSource, 'loadLatency' | 'warmupLatency' | 'runnerRestarts'> {
    return {
      loadLatency: [...this.#loads].map(([modelPath, micros]) => ({ modelPath, micros })),
      warmupLatency: [...this.#warmups.values()].map((w) => ({ modelPath: w.modelPath, status: w.status, histogram: w.histogram.snapshot() })),
      runnerRestarts: [...this.#restarts.values()].map((r) => ({ ...r })),
    };
  }

  runtime(info: RuntimeInfo): void {
    this.#runtime = info;
  }

  /** ORT facts of the last runner that loaded (version, threads, adapter). */
  get lastRuntime(): RuntimeInfo | undefined {
    return this.#runtime;
  }
}
