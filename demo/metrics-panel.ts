/**
 * Latency and traffic: `metrics()` sampled once a second into a live p50/p99 chart of the chosen
 * model (over the last five minutes; each sample is the summary of that model's most recent
 * requests), and a table of requests, requests per second, errors by code, session runs and
 * latency for every model.
 */
import type { MetricsSnapshot, ModelMetrics } from 'browserving';
import { byId, formatMs, h } from './dom.js';
import { LineChart } from './line-chart.js';

interface Sample {
  /** Seconds since the page opened. */
  readonly t: number;
  readonly p50: number;
  readonly p99: number;
  readonly requests: number;
}

const WINDOW_S = 300;

export class MetricsPanel {
  readonly #chart: LineChart;
  readonly #select: HTMLSelectElement;
  readonly #table: HTMLTableSectionElement;
  readonly #since: number;
  readonly #samples = new Map<string, Sample[]>();
  #last: MetricsSnapshot | undefined;

  constructor(models: readonly string[], since: number) {
    this.#since = since;
    this.#chart = new LineChart(byId('latency-chart') as unknown as SVGSVGElement);
    this.#select = byId<HTMLSelectElement>('latency-model');
    this.#select.replaceChildren(...models.map((m) => h('option', { value: m }, m)));
    this.#select.addEventListener('change', () => this.#draw());
    this.#table = byId('metrics-table').querySelector('tbody')!;
    this.#draw();
  }

  /** Records one snapshot: a chart point per model that has served requests, and the counters. */
  update(snapshot: MetricsSnapshot, now = Date.now()): void {
    const t = (now - this.#since) / 1000;
    for (const [model, m] of Object.entries(snapshot.models)) {
      if (m.latency.count === 0) continue;
      const samples = this.#samples.get(model) ?? [];
      samples.push({ t, p50: m.latency.p50Ms, p99: m.latency.p99Ms, requests: m.requests });
      while (samples.length > 0 && samples[0]!.t < t - WINDOW_S) samples.shift();
      this.#samples.set(model, samples);
    }
    this.#last = snapshot;
    this.#renderTable(snapshot.models);
    this.#draw(t);
  }

  #draw(t = (Date.now() - this.#since) / 1000): void {
    const samples = this.#samples.get(this.#select.value) ?? [];
    const from = Math.max(0, t - WINDOW_S);
    this.#chart.render({
      x: [from, Math.max(from + 30, t)],
      y: [0, 1],
      fitY: true,
      formatX: (x) => `${Math.round(x)} s`,
      formatY: (y) => `${y} ms`,
      series: [
        { name: 'p99', className: 'p99', points: samples.map((sa) => ({ x: sa.t, y: sa.p99 })), dots: samples.length < 60 },
        { name: 'p50', className: 'p50', points: samples.map((sa) => ({ x: sa.t, y: sa.p50 })), dots: samples.length < 60 },
      ],
      empty: `no requests to ${this.#select.value || 'this model'} yet`,
    });
  }

  #renderTable(models: Readonly<Record<string, ModelMetrics>>): void {
    this.#table.replaceChildren(...Object.entries(models).map(([model, m]) => {
      const rate = this.#rate(model);
      const errors = Object.entries(m.errors).filter(([, n]) => n);
      return h('tr', { 'data-model': model },
        h('td', {}, model),
        h('td', { class: 'num' }, m.requests),
        h('td', { class: 'num' }, rate === undefined ? '—' : rate.toFixed(1)),
        h('td', {}, ...(errors.length ? errors.map(([code, n]) => h('span', { class: 'chip chip-error', 'data-code': code }, `${code} ${n}`)) : ['0'])),
        h('td', { class: 'num' }, m.runs),
        h('td', { class: 'num' }, m.latency.count ? formatMs(m.latency.p50Ms) : '—'),
        h('td', { class: 'num' }, m.latency.count ? formatMs(m.latency.p99Ms) : '—'),
        h('td', { class: 'num' }, m.latency.count ? formatMs(m.latency.meanMs) : '—'),
        h('td', { class: 'num' }, m.batching ? `${m.batching.meanBatchSize.toFixed(1)} rows/run` : '—'));
    }));
  }

  /** Requests per second over the last ~5 s of samples. */
  #rate(model: string): number | undefined {
    const samples = this.#samples.get(model);
    if (!samples || samples.length < 2) return undefined;
    const last = samples.at(-1)!;
    const first = samples.findLast((sa) => sa.t <= last.t - 5) ?? samples[0]!;
    return last.t > first.t ? (last.requests - first.requests) / (last.t - first.t) : undefined;
  }

  /** The last snapshot (for the runtime panel and tests). */
  get last(): MetricsSnapshot | undefined {
    return this.#last;
  }
}
