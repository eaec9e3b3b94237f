/**
 * RequestLatencies: one `LatencyHistogram` per (model, version, API, entrypoint), as TF Serving
 * keeps `request_latency` per label set; read out as `RequestLatencySample`s for the Prometheus
 * exporter. Only successful requests are recorded, as TF Serving does.
 */
import { LatencyHistogram } from './latency-histogram.js';
import type { RequestLatencySample } from './prometheus.js';

export interface LatencyLabels {
  readonly model: string;
  readonly version?: number;
  readonly api: string;
  readonly entrypoint: string;
}

export class RequestLatencies {
  readonly #histograms = new Map<string, { labels: LatencyLabels; histogram: LatencyHistogram }>();

  /** Records one request's latency under `labels`. @throws RangeError for a negative or non-finite latency. */
  record(labels: LatencyLabels, micros: number): void {
    const key = JSON.stringify([labels.model, labels.version ?? null, labels.api, labels.entrypoint]);
    let entry = this.#histograms.get(key);
    if (!entry) {
      entry = { labels: { ...labels }, histogram: new LatencyHistogram() };
      this.#histograms.set(key, entry);
    }
    entry.histogram.record(micros);
  }

  /** Every label set recorded so far, with its histogram now. */
  samples(): RequestLatencySample[] {
    return [...this.#histograms.values()].map(({ labels, histogram }) => ({ ...labels, histogram: histogram.snapshot() }));
  }
}
