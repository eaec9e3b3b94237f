/**
 * Prometheus text exposition (format 0.0.4) of serving metrics under TF Serving's names
 * (`util/prometheus_exporter.cc`): each internal name with every character outside
 * `[A-Za-z0-9_]` replaced by `:`, a `# HELP` and a `# TYPE` line per metric, histograms as
 * cumulative `_bucket{…,le="…"}` lines ending in `le="+Inf"`, then `_sum` and `_count`.
 *
 *     :tensorflow:serving:request_count{model_name, model_version?, status}          counter
 *     :tensorflow:serving:request_latency{model_name, API, entrypoint, model_version?}  histogram, µs
 *
 * `status` is the canonical code name (`OK`, `INVALID_ARGUMENT`, …). `model_version` is an
 * addition TF Serving's users asked for (tensorflow/serving #1970), present where the source
 * knows the version.
 *
 * What the runtime must provide (`PrometheusSource`): finished requests counted per model,
 * version and status; request latency per model, version, API and entrypoint as histograms
 * (`LatencyHistogram` keeps one). Today's `MetricsSnapshot` has counts per model and status but
 * no version, and latency only as p50/p99 over a window, from which no histogram can be made:
 * `prometheusSourceFromSnapshot()` exports the counts it has and no latency; the request handler
 * adds the latency of the requests it served itself (entrypoint `REST`).
 */
import type { MetricsSnapshot } from '../protocol.js';
import type { HistogramSnapshot } from './latency-histogram.js';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Finished requests with one label set. One entry per (model, version, status). */
export interface RequestCountSample {
  readonly model: string;
  /** Absent when the source does not know which version served the requests. */
  readonly version?: number;
  /** `OK` or the canonical code the requests failed with. */
  readonly status: string;
  readonly count: number;
}

/** Latency of requests with one label set. One entry per (model, version, api, entrypoint). */
export interface RequestLatencySample {
  readonly model: string;
  readonly version?: number;
  /** TF Serving's `API` label: the method, e.g. `predict`. */
  readonly api: string;
  /** How the request arrived: `REST` for the HTTP handlers; the runtime might say `JS`. */
  readonly entrypoint: string;
  readonly histogram: HistogramSnapshot;
}

/** What the exporter reads. Everything but `requestCounts` is optional; a metric without samples is left out. */
export interface PrometheusSource {
  readonly requestCounts: readonly RequestCountSample[];
  readonly requestLatency?: readonly RequestLatencySample[];
  /** Time to load each version (download or store read, session creation, warm-up), µs: TF Serving's `load_latency`, labelled by the version's path. */
  readonly loadLatency?: readonly { readonly modelPath: string; readonly micros: number }[];
  /** Warm-up time of each loaded version, µs, by path and outcome (`OK`, or skipped as `FAILED_PRECONDITION`). */
  readonly warmupLatency?: readonly { readonly modelPath: string; readonly status: string; readonly histogram: HistogramSnapshot }[];
  /** Rows per batched session run, per model. */
  readonly batchSizes?: readonly { readonly model: string; readonly histogram: HistogramSnapshot }[];
  /** Extension: times each version's runner worker died and was replaced. */
  readonly runnerRestarts?: readonly { readonly model: string; readonly version: number; readonly count: number }[];
  /** Extension: bytes held by the artifact store. */
  readonly storeBytes?: number;
  /** Extension: predictions per model answered by its local runner or its remote endpoint (`prefer-*` and `remote` placements). */
  readonly placements?: readonly { readonly model: string; readonly placement: 'local' | 'remote'; readonly count: number }[];
}

const REQUEST_COUNT = ':tensorflow:serving:request_count';
const REQUEST_LATENCY = ':tensorflow:serving:request_latency';
const LOAD_LATENCY = ':tensorflow:cc:saved_model:load_latency';
const WARMUP_LATENCY = ':tensorflow:serving:model_warmup_latency';
const BATCH_SIZE = ':tensorflow:serving:batching:processed_batch_size';
const RUNNER_RESTARTS = ':browserving:runner_restarts';
const STORE_BYTES = ':browserving:artifact_store_bytes';
const PLACEMENT_COUNT = ':browserving:request_count_by_placement';

/** The exposition text: metrics without any sample are left out; ends with a newline. */
export function formatPrometheus(source: PrometheusSource): string {
  const lines: string[] = [];
  if (source.requestCounts.length > 0) {
    lines.push(`# HELP ${REQUEST_COUNT} The total number of requests.`, `# TYPE ${REQUEST_COUNT} counter`);
    for (const s of source.requestCounts) {
      lines.push(`${REQUEST_COUNT}${labels([['model_name', s.model], ...versionLabel(s.version), ['status', s.status]])} ${formatNumber(s.count)}`);
    }
  }
  const latency = source.requestLatency ?? [];
  if (latency.length > 0) {
    lines.push(`# HELP ${REQUEST_LATENCY} Distribution of wall time (in microseconds) for Tensorflow Serving request.`, `# TYPE ${REQUEST_LATENCY} histogram`);
    for (const s of latency) {
      const common: [string, string][] = [['model_name', s.model], ['API', s.api], ['entrypoint', s.entrypoint], ...versionLabel(s.version)];
      lines.push(...histogramLines(REQUEST_LATENCY, common, s.histogram));
    }
  }
  if (source.loadLatency?.length) {
    lines.push(`# HELP ${LOAD_LATENCY} Latency in microseconds for loading a model version.`, `# TYPE ${LOAD_LATENCY} counter`);
    for (const s of source.loadLatency) lines.push(`${LOAD_LATENCY}${labels([['model_path', s.modelPath]])} ${formatNumber(Math.round(s.micros))}`);
  }
  if (source.warmupLatency?.length) {
    lines.push(`# HELP ${WARMUP_LATENCY} Distribution of wall time (in microseconds) for warming up the model.`, `# TYPE ${WARMUP_LATENCY} histogram`);
    for (const s of source.warmupLatency) lines.push(...histogramLines(WARMUP_LATENCY, [['model_path', s.modelPath], ['status', s.status]], s.histogram));
  }
  if (source.batchSizes?.length) {
    lines.push(`# HELP ${BATCH_SIZE} The number of rows in each batched session run.`, `# TYPE ${BATCH_SIZE} histogram`);
    for (const s of source.batchSizes) lines.push(...histogramLines(BATCH_SIZE, [['model_name', s.model]], s.histogram));
  }
  if (source.runnerRestarts?.length) {
    lines.push(`# HELP ${RUNNER_RESTARTS} Extension: times a version's runner worker ended and was replaced.`, `# TYPE ${RUNNER_RESTARTS} counter`);
    for (const s of source.runnerRestarts) lines.push(`${RUNNER_RESTARTS}${labels([['model_name', s.model], ['model_version', String(s.version)]])} ${s.count}`);
  }
  if (source.placements?.length) {
    lines.push(`# HELP ${PLACEMENT_COUNT} Extension: predictions answered by the model's local runner or its remote endpoint.`, `# TYPE ${PLACEMENT_COUNT} counter`);
    for (const s of source.placements) lines.push(`${PLACEMENT_COUNT}${labels([['model_name', s.model], ['placement', s.placement]])} ${formatNumber(s.count)}`);
  }
  if (source.storeBytes !== undefined) {
    lines.push(`# HELP ${STORE_BYTES} Extension: bytes held by the IndexedDB artifact store.`, `# TYPE ${STORE_BYTES} gauge`, `${STORE_BYTES} ${formatNumber(source.storeBytes)}`);
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/** The request counts a `MetricsSnapshot` holds: per model, `OK` (requests that did not fail) and each error code. No versions, no latency. */
export function prometheusSourceFromSnapshot(snapshot: MetricsSnapshot): PrometheusSource {
  const requestCounts: RequestCountSample[] = [];
  for (const [model, metrics] of Object.entries(snapshot.models)) {
    const errors = Object.entries(metrics.errors).filter((e): e is [string, number] => typeof e[1] === 'number' && e[1] > 0);
    const failed = errors.reduce((sum, [, n]) => sum + n, 0);
    requestCounts.push({ model, status: 'OK', count: metrics.requests - failed });
    for (const [code, count] of errors) requestCounts.push({ model, status: code, count });
  }
  const placements = Object.entries(snapshot.models).flatMap(([model, m]) =>
    m.placements ? (['local', 'remote'] as const).map((placement) => ({ model, placement, count: m.placements![placement] })) : [],
  );
  return { requestCounts, ...(placements.length ? { placements } : {}) };
}

function histogramLines(name: string, common: readonly [string, string][], h: HistogramSnapshot): string[] {
  const lines: string[] = [];
  let cumulative = 0;
  h.bounds.forEach((bound, i) => {
    cumulative += h.counts[i] ?? 0;
    lines.push(`${name}_bucket${labels([...common, ['le', formatNumber(bound)]])} ${cumulative}`);
  });
  cumulative += h.counts[h.bounds.length] ?? 0;
  lines.push(`${name}_bucket${labels([...common, ['le', '+Inf']])} ${cumulative}`);
  lines.push(`${name}_sum${labels(common)} ${formatNumber(h.sum)}`, `${name}_count${labels(common)} ${cumulative}`);
  return lines;
}

function versionLabel(version: number | undefined): [string, string][] {
  return version === undefined ? [] : [['model_version', String(version)]];
}

function labels(pairs: readonly (readonly [string, string])[]): string {
  return `{${pairs.map(([name, value]) => `${name}="${escapeLabelValue(value)}"`).join(',')}}`;
}

/** The exposition format's escapes in a label value: backslash, double quote, line feed. */
function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}
