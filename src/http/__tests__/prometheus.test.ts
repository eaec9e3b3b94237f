import { describe, expect, it } from 'vitest';
import { createRequestHandler } from '../handle.js';
import { LatencyHistogram, REQUEST_LATENCY_BOUNDS } from '../latency-histogram.js';
import { formatPrometheus, prometheusSourceFromSnapshot, type PrometheusSource } from '../prometheus.js';
import { FakeServing } from './fake-serving.js';
import { send } from './http-test-util.js';
import { parsePrometheusText, samplesOf } from './prometheus-text.js';

const COUNT = ':tensorflow:serving:request_count';
const LATENCY = ':tensorflow:serving:request_latency';

describe('LatencyHistogram', () => {
  it("has TF Serving's 33 bounds 10·1.8^k µs, as printed with six significant digits", () => {
    expect(REQUEST_LATENCY_BOUNDS).toHaveLength(33);
    expect(REQUEST_LATENCY_BOUNDS.slice(0, 5)).toEqual([10, 18, 32.4, 58.32, 104.976]);
    expect(REQUEST_LATENCY_BOUNDS[32]).toBeCloseTo(10 * 1.8 ** 32, -4);
  });

  it('counts a value in the first bucket whose bound is ≥ it, past the last bound in the overflow; keeps sum and count', () => {
    const h = new LatencyHistogram([10, 100, 1000]);
    for (const v of [0, 10, 10.5, 100, 999, 5000]) h.record(v);
    expect(h.snapshot()).toEqual({ bounds: [10, 100, 1000], counts: [2, 2, 1, 1], sum: 6119.5, count: 6 });
  });

  it('rejects a negative or non-finite latency and bad bounds with RangeError', () => {
    const h = new LatencyHistogram();
    expect(() => h.record(-1)).toThrow(RangeError);
    expect(() => h.record(NaN)).toThrow(/micros/);
    expect(() => new LatencyHistogram([10, 5])).toThrow(RangeError);
    expect(() => new LatencyHistogram([])).toThrow(RangeError);
    expect(h.count).toBe(0);
  });
});

describe('formatPrometheus', () => {
  const histogram = new LatencyHistogram();
  const recorded = [5, 12, 12, 300, 250_000, 1e12];
  recorded.forEach((v) => histogram.record(v));
  const source: PrometheusSource = {
    requestCounts: [
      { model: 'vad', version: 2, status: 'OK', count: 7 },
      { model: 'vad', version: 2, status: 'INVALID_ARGUMENT', count: 2 },
      { model: 'odd "name"\\with\nnewline', status: 'OK', count: 1 },
    ],
    requestLatency: [{ model: 'vad', version: 2, api: 'predict', entrypoint: 'REST', histogram: histogram.snapshot() }],
  };

  it('writes text a strict parser reads, with HELP and TYPE lines and the counts recorded', () => {
    const parsed = parsePrometheusText(formatPrometheus(source));
    expect(parsed.types.get(COUNT)).toBe('counter');
    expect(parsed.types.get(LATENCY)).toBe('histogram');
    expect(parsed.help.get(COUNT)).toBe('The total number of requests.');
    expect(parsed.help.get(LATENCY)).toMatch(/microseconds/);
    expect(samplesOf(parsed, COUNT, { model_name: 'vad', model_version: '2', status: 'OK' }).map((s) => s.value)).toEqual([7]);
    expect(samplesOf(parsed, COUNT, { status: 'INVALID_ARGUMENT' }).map((s) => s.value)).toEqual([2]);
    expect(samplesOf(parsed, COUNT, { model_name: 'odd "name"\\with\nnewline' }).map((s) => s.value)).toEqual([1]);
  });

  it('writes the histogram as cumulative buckets with le labels, +Inf, _sum and _count', () => {
    const parsed = parsePrometheusText(formatPrometheus(source));
    const labels = { model_name: 'vad', model_version: '2', API: 'predict', entrypoint: 'REST' };
    const buckets = samplesOf(parsed, `${LATENCY}_bucket`, labels);
    expect(buckets).toHaveLength(34);
    const at = (le: string) => buckets.find((b) => b.labels.le === le)!.value;
    expect(at('10')).toBe(1);
    expect(at('18')).toBe(3);
    expect(at('340.122')).toBe(4);
    expect(at('+Inf')).toBe(6);
    expect(samplesOf(parsed, `${LATENCY}_count`, labels)[0]!.value).toBe(recorded.length);
    expect(samplesOf(parsed, `${LATENCY}_sum`, labels)[0]!.value).toBe(recorded.reduce((a, b) => a + b, 0));
    for (const b of buckets.slice(0, -1)) expect(b.value).toBe(recorded.filter((v) => v <= Number(b.labels.le)).length);
  });

  it('leaves out metrics without samples, and writes nothing for an empty source', () => {
    expect(formatPrometheus({ requestCounts: [] })).toBe('');
    expect(formatPrometheus({ requestCounts: [{ model: 'm', status: 'OK', count: 1 }] })).not.toContain(LATENCY);
  });

  it("takes a MetricsSnapshot's counts: OK is the requests that did not fail, then each error code", () => {
    const snapshot = {
      models: { vad: { requests: 10, errors: { INVALID_ARGUMENT: 2, NOT_FOUND: 1 }, runs: 7, latency: { count: 7, meanMs: 1, p50Ms: 1, p99Ms: 2 } } },
      runtime: { crossOriginIsolated: false, hardwareConcurrency: 1 },
    };
    expect(prometheusSourceFromSnapshot(snapshot)).toEqual({
      requestCounts: [
        { model: 'vad', status: 'OK', count: 7 },
        { model: 'vad', status: 'INVALID_ARGUMENT', count: 2 },
        { model: 'vad', status: 'NOT_FOUND', count: 1 },
      ],
    });
  });

  it('counts predictions by placement (local runner or remote endpoint) for models that have one, as an extension', () => {
    const latency = { count: 0, meanMs: 0, p50Ms: 0, p99Ms: 0 };
    const snapshot = {
      models: { vad: { requests: 9, errors: {}, runs: 9, latency, placements: { local: 6, remote: 3 } }, mlp: { requests: 2, errors: {}, runs: 2, latency } },
      runtime: { crossOriginIsolated: false, hardwareConcurrency: 1 },
    };
    const source = prometheusSourceFromSnapshot(snapshot);
    expect(source.placements).toEqual([{ model: 'vad', placement: 'local', count: 6 }, { model: 'vad', placement: 'remote', count: 3 }]);
    const parsed = parsePrometheusText(formatPrometheus(source));
    expect(samplesOf(parsed, ':browserving:request_count_by_placement', { model_name: 'vad', placement: 'remote' })[0]!.value).toBe(3);
    expect(samplesOf(parsed, ':browserving:request_count_by_placement', { model_name: 'mlp', placement: 'local' })).toEqual([]);
  });
});

describe('GET /monitoring/prometheus/metrics', () => {
  it("serves the runtime's request counts and the latency of the predictions the handler served, by version", async () => {
    const fake = new FakeServing(['doubler', 'multi']);
    const handler = createRequestHandler(fake);
    for (let i = 0; i < 3; i += 1) await send(handler, 'POST', '/v1/models/doubler:predict', { inputs: [[1, 2, 3]] });
    await send(handler, 'POST', '/v1/models/doubler/versions/1:predict', { inputs: [[1, 2, 3]] });
    await send(handler, 'POST', '/v2/models/doubler/infer', { inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] });
    await send(handler, 'POST', '/v1/models/doubler:predict', { inputs: [['not a number']] });
    await send(handler, 'POST', '/v1/models/doubler:predict', { inputs: [[1, 2]] });

    const answer = await send(handler, 'GET', '/monitoring/prometheus/metrics');
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const parsed = parsePrometheusText(answer.text);
    expect(samplesOf(parsed, COUNT, { model_name: 'doubler', status: 'OK' })[0]!.value).toBe(5);
    expect(samplesOf(parsed, COUNT, { model_name: 'doubler', status: 'INVALID_ARGUMENT' })[0]!.value).toBe(1);
    expect(samplesOf(parsed, COUNT, { model_name: 'multi', status: 'OK' })[0]!.value).toBe(0);
    const count = (labels: Record<string, string>) => samplesOf(parsed, `${LATENCY}_count`, labels)[0]?.value;
    expect(count({ model_name: 'doubler', model_version: '2', API: 'predict', entrypoint: 'REST' })).toBe(3);
    expect(count({ model_name: 'doubler', model_version: '1', API: 'predict' })).toBe(1);
    expect(count({ model_name: 'doubler', model_version: '2', API: 'infer' })).toBe(1);
    expect(samplesOf(parsed, `${LATENCY}_count`)).toHaveLength(3);
  });

  it('serves the text of the prometheus option when given; other methods are 405', async () => {
    const handler = createRequestHandler(new FakeServing(), { prometheus: () => '# TYPE up gauge\nup 1\n' });
    const answer = await send(handler, 'GET', '/monitoring/prometheus/metrics');
    expect(answer.text).toBe('# TYPE up gauge\nup 1\n');
    expect((await send(handler, 'POST', '/monitoring/prometheus/metrics', 'x')).status).toBe(405);
  });
});
