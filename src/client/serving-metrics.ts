/**
 * ServingMetrics (main thread, fed by the DataPlane): per-model request counts, errors by code, session runs, batch sizes of
 * batched runs, and a latency summary over the most recent requests (a fixed window, so memory
 * stays bounded).
 */
import type { BatchedRun } from '../batching/batching-session.js';
import type { ErrorCode } from '../core/serving-error.js';
import type { BatchingMetrics, LatencySummary, ModelMetrics } from '../protocol.js';

const WINDOW = 1024;

class ModelCounters {
  requests = 0;
  runs = 0;
  readonly errors: Partial<Record<ErrorCode, number>> = {};
  readonly latencies = new Float64Array(WINDOW);
  recorded = 0;
  latencySum = 0;
  batching: { batches: number; requests: number; rows: number; maxBatchSize: number; paddingRows: number } | undefined;
  placements: { local: number; remote: number } | undefined;
  localRequests = 0;

  snapshot(): ModelMetrics {
    return {
      requests: this.requests,
      errors: { ...this.errors },
      runs: this.runs,
      latency: this.#latency(),
      ...(this.batching ? { batching: this.#batching(this.batching) } : {}),
      ...(this.placements ? { placements: { ...this.placements } } : {}),
    };
  }

  #batching(b: NonNullable<ModelCounters['batching']>): BatchingMetrics {
    return { batches: b.batches, requests: b.requests, meanBatchSize: b.rows / b.batches, maxBatchSize: b.maxBatchSize, paddingRows: b.paddingRows };
  }

  #latency(): LatencySummary {
    const n = Math.min(this.recorded, WINDOW);
    if (n === 0) return { count: 0, meanMs: 0, p50Ms: 0, p99Ms: 0 };
    const sorted = this.latencies.slice(0, n).sort();
    const at = (q: number) => sorted[Math.min(n - 1, Math.floor(q * n))]!;
    return { count: this.recorded, meanMs: this.latencySum / this.recorded, p50Ms: at(0.5), p99Ms: at(0.99) };
  }
}

export class ServingMetrics {
  readonly #models = new Map<string, ModelCounters>();

  #of(model: string): ModelCounters {
    let counters = this.#models.get(model);
    if (!counters) {
      counters = new ModelCounters();
      this.#models.set(model, counters);
    }
    return counters;
  }

  /** Records one finished request (successful when `error` is absent). */
  recordRequest(model: string, latencyMs: number, error?: ErrorCode): void {
    const c = this.#of(model);
    c.requests += 1;
    if (error) {
      c.errors[error] = (c.errors[error] ?? 0) + 1;
      return;
    }
    c.latencies[c.recorded % WINDOW] = latencyMs;
    c.recorded += 1;
    c.latencySum += latencyMs;
  }

  /** Records where a prediction ran (the route's `placement`; absent: local). Counted per placement once a model has sent one remotely. */
  recordPlacement(model: string, placement: 'local' | 'remote' | undefined): void {
    const c = this.#of(model);
    if (placement !== 'remote' && !c.placements) {
      c.localRequests += 1;
      return;
    }
    c.placements ??= { local: c.localRequests, remote: 0 };
    c.placements[placement ?? 'local'] += 1;
  }

  /** Records one session run; `batch` when the batching layer made it. */
  recordRun(model: string, batch?: BatchedRun): void {
    const c = this.#of(model);
    c.runs += 1;
    if (!batch) return;
    const b = (c.batching ??= { batches: 0, requests: 0, rows: 0, maxBatchSize: 0, paddingRows: 0 });
    b.batches += 1;
    b.requests += batch.requests;
    b.rows += batch.size;
    b.maxBatchSize = Math.max(b.maxBatchSize, batch.size);
    b.paddingRows += batch.paddedSize - batch.size;
  }

  /** Counters of every model in `served` (zeros when it has had no request yet) and of any other model that has. */
  snapshot(served: Iterable<string> = []): Record<string, ModelMetrics> {
    for (const model of served) this.#of(model);
    return Object.fromEntries([...this.#models].map(([model, c]) => [model, c.snapshot()]));
  }
}
