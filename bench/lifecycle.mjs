/**
 * What the runtime's life cycle costs, as `npm run bench` measures it (bench/pages/lifecycle.js
 * does the work in the page, one call each): memory held around a 64 MiB version, Silero's
 * latency while another model loads and swaps versions, and time to AVAILABLE of a version in a
 * new runner from a warm store. Raw ORT in a worker is the baseline wherever one exists; the
 * systems alternate order from repetition to repetition.
 */
import { median, servingOptions, SILERO_INPUTS } from './scenarios.mjs';

const silero = (url) => ({ name: 'silero', basePath: `${url}/models/silero`, modelVersionPolicy: { specific: { versions: [1] } } });

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const round3 = (x) => Math.round(x * 1000) / 1000;

function latencySummary(latencies) {
  const sorted = [...latencies].sort((a, b) => a - b);
  return { requests: sorted.length, p50Ms: round3(quantile(sorted, 0.5)), p99Ms: round3(quantile(sorted, 0.99)), maxMs: round3(sorted[sorted.length - 1]) };
}

/**
 * Memory (bytes, each the least of 3 measurements) of a runtime serving Silero: before the
 * 64 MiB model is added, once it is AVAILABLE, and after it is removed and its runner is gone;
 * against a raw ORT worker holding a session of the same bytes (its delta over the page before
 * it started). Medians over the repetitions.
 */
export async function memory(page, options) {
  // A page of its own: what earlier scenarios leave in the bench page (ORT's proxy worker, which
  // lives as long as the page) would count into "before" and flatter the ratios.
  const fresh = await options.browser.newPage();
  fresh.on('pageerror', (e) => console.error('[page]', e.message));
  try {
    await fresh.goto(page.url());
    await fresh.waitForFunction(() => window.benchReady === true);
    return await memoryOn(fresh, options);
  } finally {
    await fresh.close();
  }
}

async function memoryOn(page, { quick, numThreads, url }) {
  const reps = quick ? 1 : 3;
  const serving = servingOptions(url, numThreads, [silero(url)]);
  const heavy = { name: 'large', basePath: `${url}/models/bench-large` };
  const artifact = `${url}/models/bench-large/1/model.onnx`;
  const samples = [];
  for (let rep = 0; rep < reps; rep++) {
    const measureRuntime = () => page.evaluate(([s, h]) => window.bench.memoryAcrossLoad(s, h), [serving, heavy]);
    const measureRaw = () => page.evaluate(([u, n]) => window.bench.rawMemory(u, n), [artifact, numThreads]);
    let raw = rep % 2 === 1 ? await measureRaw() : undefined;
    const runtime = await measureRuntime();
    raw ??= await measureRaw();
    samples.push({ ...runtime, rawHeld: raw.holding - raw.before });
  }
  return summarizeMemory(samples);
}

function summarizeMemory(samples) {
  const med = (f) => Math.round(median(samples.map(f)));
  return {
    model: 'bench-large (64 MiB)',
    seesWorker: samples.every((s) => s.seesWorker),
    beforeBytes: med((s) => s.before),
    loadedBytes: med((s) => s.loaded),
    afterBytes: med((s) => s.after),
    heldBytes: med((s) => s.loaded - s.before),
    rawHeldBytes: med((s) => s.rawHeld),
    afterOverBefore: round3(median(samples.map((s) => s.after / s.before))),
    heldOverRaw: round3(median(samples.map((s) => (s.loaded - s.before) / s.rawHeld))),
  };
}

/**
 * Silero predictions back to back (one caller): p99 in steady windows against p99 while the
 * 17 MB bench MLP is added as a second model (version 1 loads in a runner of its own), then
 * swaps to version 2 (a third runner loads it, the second drains and ends). The first round
 * downloads both versions; later rounds load them from the store. Baseline: a raw ORT worker
 * running Silero while new raw workers create sessions of the same MLP, one replacing the other.
 */
export async function swap(page, { quick, numThreads, url }) {
  const setup = {
    serving: servingOptions(url, numThreads, [silero(url)]),
    model: 'silero',
    modelUrl: `${url}/models/silero/1/model.onnx`,
    inputs: SILERO_INPUTS,
    other: { name: 'other', basePath: `${url}/models/bench-mlp` },
    otherUrl: `${url}/models/bench-mlp/1/model.onnx`,
    numThreads,
  };
  const options = { steadyMs: quick ? 1000 : 2000, rounds: quick ? 2 : 6 };
  const r = await page.evaluate(([s, o]) => window.bench.predictionsWhileLoading(s, o), [setup, options]);
  return { model: 'silero', other: 'bench-mlp (17 MB): version 1 loads, then version 2 swaps in', rounds: options.rounds, ...swapSummary(r.browserving), raw: swapSummary(r.raw) };
}

function swapSummary(r) {
  const steady = latencySummary(r.steady);
  const during = latencySummary([...r.loading, ...r.swapping]);
  return {
    steady,
    during,
    loading: latencySummary(r.loading),
    swapping: latencySummary(r.swapping),
    loadMs: Math.round(median(r.loadMs)),
    swapMs: Math.round(median(r.swapMs)),
    p99Ratio: round3(during.p99Ms / steady.p99Ms),
  };
}

/**
 * Time to AVAILABLE of Silero added by reloadConfig to a runtime serving nothing, its artifacts
 * already in the store, so each time in a new runner; against a fresh raw ORT worker creating the
 * session from the bytes in memory. Medians over interleaved repetitions.
 */
export async function newRunner(page, { quick, numThreads, url }) {
  const reps = quick ? 2 : 6;
  const serving = servingOptions(url, numThreads, []);
  const r = await page.evaluate(([s, m, u, n, k]) => window.bench.timeToAvailable(s, m, u, n, k), [serving, silero(url), `${url}/models/silero/1/model.onnx`, numThreads, reps]);
  const summary = (xs) => ({ medianMs: round3(median(xs)), samplesMs: xs.map(Math.round) });
  return { model: 'silero v5 (2.3 MB)', storeMode: r.storeMode, browserving: summary(r.browserving), raw: summary(r.raw) };
}
