// The benchmark page: the three systems behind one interface, so each scenario runs the same
// model, the same inputs and the same load on (a) raw ORT in a worker, (b) ORT's proxy worker,
// (c) browserving — interleaved by bench/run.mjs so that machine noise hits all alike.
import { echoFloor, restHop } from './http.js';
import { memoryAcrossLoad, predictionsWhileLoading, rawMemory, timeToAvailable } from './lifecycle.js';
import { Browserving, browserving, closedLoop, fetchBytes, inputsFrom, leastMemory, OrtProxy, RawBatches, RawWorker, RawWorkerPerModel } from './systems.js';

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

const systems = new Map();
const RAW_KINDS = { raw: RawWorker, 'raw-batches': RawBatches, 'raw-per-model': RawWorkerPerModel, proxy: OrtProxy };

window.bench = {
  runtime: () => ({ crossOriginIsolated, hardwareConcurrency: navigator.hardwareConcurrency, userAgent: navigator.userAgent }),

  /**
   * Starts system `key` of `kind` (a key of RAW_KINDS, or 'browserving') serving the model at
   * `modelUrl` (browserving: the models of `serving`); `options` go to the system's constructor.
   */
  async setup(key, kind, { modelUrl, numThreads, serving, ...options }) {
    let system;
    if (kind === 'browserving') {
      system = new Browserving();
      await system.start(serving);
    } else {
      system = new RAW_KINDS[kind](options);
      await system.load(await fetchBytes(modelUrl), numThreads);
    }
    systems.set(key, system);
  },

  /** Runs a closed-loop load on system `key` (caller i asks `models[i % models.length]`, or `model`); returns raw latencies (ms) and wall time. */
  async run(key, { model, models = [model], inputs, callers, perCaller }) {
    return closedLoop(systems.get(key), models, inputsFrom(inputs), callers, perCaller);
  },

  async metrics(key) {
    return systems.get(key).serving?.metrics();
  },

  async teardown(key) {
    await systems.get(key)?.close();
    systems.delete(key);
  },

  /** Time to first prediction of a fresh browserving runtime (new worker, WASM init, load, first run). */
  async browservingFirstPrediction(serving, model, inputs) {
    const t0 = performance.now();
    const b = new Browserving();
    await b.start(serving);
    const ready = performance.now();
    await b.predict(inputsFrom(inputs), model);
    const done = performance.now();
    const runtime = b.serving.runtime;
    const hasStorage = typeof b.serving.storage === 'object';
    await b.close();
    return { totalMs: done - t0, readyMs: ready - t0, runtime, hasStorage };
  },

  /** The baseline for start-up: a fresh raw worker creating the session from an in-memory buffer, then one run. */
  async ortFirstPrediction(modelUrl, numThreads, inputs) {
    const bytes = await fetchBytes(modelUrl);
    const t0 = performance.now();
    const raw = new RawWorker();
    await raw.load(bytes, numThreads);
    await raw.predict(inputsFrom(inputs));
    const done = performance.now();
    raw.close();
    return { totalMs: done - t0 };
  },

  /**
   * Starts a runtime serving `model` and times its download into the store: from the version's
   * first download event (the store takes the file on: what raw fetch is set against) and from
   * `createServing()` (start-up included), until the progress events say every file is cached —
   * or, when the runtime reports no progress, until the version is AVAILABLE (download,
   * verification and session creation together).
   */
  async storeDownload(serving, model) {
    const t0 = performance.now();
    let firstAt;
    let cachedAt;
    window.benchDownloadCached = false;
    const b = new Browserving();
    await b.start({
      ...serving,
      waitForModels: false,
      onEvent: (event) => {
        if (event.type !== 'download') return;
        firstAt ??= performance.now();
        // A version-level progress event (no `file`) in state `cached`: every file is in the store.
        if (event.progress.state === 'cached' && event.progress.file === undefined) {
          cachedAt ??= performance.now();
          window.benchDownloadCached = true;
        }
      },
    });
    await b.serving.waitForModels();
    const available = performance.now();
    await b.close();
    if (cachedAt === undefined) return { ms: available - t0, fromStartMs: available - t0, availableMs: available - t0, measured: 'whole load (no progress events)' };
    return { ms: cachedAt - firstAt, fromStartMs: cachedAt - t0, availableMs: available - t0, measured: 'first download event until cached' };
  },

  /** A raw fetch of `url` into one ArrayBuffer: the download throughput baseline. */
  async rawFetch(url) {
    const t0 = performance.now();
    const buffer = await fetchBytes(url);
    return { ms: performance.now() - t0, bytes: buffer.byteLength };
  },

  /** One measurement of the page's and its workers' memory (the store downloads in a worker: a figure without one is the page's heap alone); `downloadDone`: the download of storeDownload() had ended when it returned. */
  memory: async () => {
    const m = await leastMemory(1);
    return m && { ...m, downloadDone: window.benchDownloadCached === true };
  },

  memoryAcrossLoad,
  rawMemory,
  predictionsWhileLoading,
  timeToAvailable,
  restHop,
  echoFloor,
  quantile,
  browserving,
};
window.benchReady = true;
