/**
 * What `npm run bench` measures. Each throughput/latency scenario names its systems; the
 * start-up and download measurements are functions of their own (they start fresh runtimes),
 * like those of the runtime's life cycle (bench/lifecycle.mjs).
 */
export const SILERO_INPUTS = {
  input: { type: 'float32', dims: [1, 512], data: Array.from({ length: 512 }, (_, i) => 0.5 * Math.sin((2 * Math.PI * 440 * i) / 16000)) },
  state: { type: 'float32', dims: [2, 1, 128], data: new Array(256).fill(0) },
  sr: { type: 'int64', dims: [], data: [16000] },
};
/**
 * The benchmark MLPs (bench/run.mjs generates them; `versions` copies of the same weights).
 * BENCH_MLP: 1024 → 4096 → 16, 4.3 M parameters (17 MB), with a batch dimension — a run of
 * about a millisecond, like Silero's, and compute-bound: its run time grows with the batch.
 * Versions 1 and 2 (the same weights): the load-and-swap measurement swaps between them.
 * SMALL_MLP: 64 → 256 → 16 (81 kB), a run of a few microseconds, nearly flat in batch size:
 * per-request messaging dominates, which is what coalescing and batching must amortise.
 */
export const BENCH_MLP = { inputSize: 1024, hidden: 4096, outputSize: 16, seed: 7, versions: 2 };
export const SMALL_MLP = { inputSize: 64, hidden: 256, outputSize: 16, seed: 11, versions: 1 };
/** Repositories of generated MLPs under public/models. */
export const GENERATED_MLPS = { 'bench-mlp': BENCH_MLP, 'bench-mlp-small': SMALL_MLP };

const rowsOf = (size, rows = 1) => ({ x: { type: 'float32', dims: [rows, size], data: Array.from({ length: rows * size }, (_, i) => Math.sin(i) / 2) } });
const MLP_INPUTS = rowsOf(BENCH_MLP.inputSize);
const SMALL_MLP_INPUTS = rowsOf(SMALL_MLP.inputSize);
/** 8 rows a request (a run of ~2 ms): the runs, not the messages, should fill the cores when two models run side by side. */
const MLP_8_ROWS = rowsOf(BENCH_MLP.inputSize, 8);

export const servingOptions = (url, numThreads, models) => ({
  models,
  executionProviders: ['wasm'],
  pollIntervalMs: 0,
  wasm: { numThreads },
  // BENCH_STORAGE_BACKEND=indexeddb measures the store with the bytes in IndexedDB (default: the runtime's own choice, OPFS).
  ...(process.env.BENCH_STORAGE_BACKEND ? { storage: { backend: process.env.BENCH_STORAGE_BACKEND } } : {}),
});

const modelConfig = (url, name, basePath) => ({ name, basePath: `${url}${basePath}`, modelVersionPolicy: { specific: { versions: [1] } } });

/** The three systems on one model; `extra` adds more browserving configurations, or the raw worker's batches (`kind: 'raw-batches'`). */
function systemsFor(url, numThreads, name, basePath, modelFile, extra = []) {
  const model = modelConfig(url, name, basePath);
  const modelUrl = `${url}${basePath}/1/${modelFile}`;
  return [
    { key: 'raw', kind: 'raw', label: '(a) raw ORT worker', options: { modelUrl, numThreads } },
    { key: 'proxy', kind: 'proxy', label: '(b) ORT proxy worker', options: { modelUrl, numThreads } },
    { key: 'browserving', kind: 'browserving', label: '(c) browserving', options: { serving: servingOptions(url, numThreads, [model]) } },
    ...extra.map(({ modelConfig: config, kind = 'browserving', options, ...e }) => ({
      kind,
      ...e,
      options: kind === 'browserving' ? { serving: servingOptions(url, numThreads, [{ ...model, ...config }]) } : { modelUrl, numThreads, ...options },
    })),
  ];
}

/**
 * Two models on the same MLP, one closed-loop caller each, 8 rows a request: a runner per model
 * (the default) against one runner for both (`runnerGroup`); raw ORT with a worker per model and
 * with one worker for both shows what parallel sessions can give on the machine at all.
 */
function twoModelSystems(url, numThreads) {
  const names = ['mlp-a', 'mlp-b'];
  const models = (group) => names.map((name) => ({ ...modelConfig(url, name, '/models/bench-mlp'), ...(group ? { runnerGroup: group } : {}) }));
  const modelUrl = `${url}/models/bench-mlp/1/model.onnx`;
  return [
    { key: 'raw-each', kind: 'raw-per-model', label: '(a) raw ORT, a worker per model', options: { modelUrl, numThreads, models: names } },
    { key: 'raw-one', kind: 'raw', label: '(a) raw ORT, one worker for both', options: { modelUrl, numThreads } },
    { key: 'runners', kind: 'browserving', label: '(c) browserving, a runner per model', options: { serving: servingOptions(url, numThreads, models()) } },
    { key: 'shared', kind: 'browserving', label: '(c) browserving, one shared runner', options: { serving: servingOptions(url, numThreads, models('shared')) } },
  ];
}

export function scenarios({ quick, numThreads, url }) {
  // Single-caller scenarios interleave in many short rounds: their latencies drift the most.
  const rounds = quick ? 2 : 6;
  const batched = {
    key: 'batched',
    label: '(c) browserving, batching on',
    modelConfig: { batching: { maxBatchSize: 32, batchTimeoutMicros: 2000, maxEnqueuedBatches: 64 } },
  };
  const ceiling = { key: 'ceiling', kind: 'raw-batches', label: '(a) raw ORT worker, 32-row batches back to back', options: { batchRows: 32 } };
  const silero = systemsFor(url, numThreads, 'silero', '/models/silero', 'model.onnx');
  return [
    { name: 'silero-1', models: ['silero'], inputs: SILERO_INPUTS, callers: 1, perCaller: 20, rounds: quick ? 2 : 18, warmup: 20, systems: silero },
    { name: 'silero-32', models: ['silero'], inputs: SILERO_INPUTS, callers: 32, perCaller: quick ? 2 : 4, rounds, warmup: 10, systems: silero },
    { name: 'mlp-1', models: ['mlp'], inputs: MLP_INPUTS, callers: 1, perCaller: 50, rounds: quick ? 2 : 24, warmup: 50, systems: systemsFor(url, numThreads, 'mlp', '/models/bench-mlp', 'model.onnx') },
    { name: 'mlp-32', models: ['mlp'], inputs: MLP_INPUTS, callers: 32, perCaller: quick ? 4 : 16, rounds, warmup: 20, systems: systemsFor(url, numThreads, 'mlp', '/models/bench-mlp', 'model.onnx', [batched, ceiling]) },
    { name: 'small-mlp-1', models: ['small-mlp'], inputs: SMALL_MLP_INPUTS, callers: 1, perCaller: 100, rounds: quick ? 2 : 24, warmup: 100, systems: systemsFor(url, numThreads, 'small-mlp', '/models/bench-mlp-small', 'model.onnx') },
    { name: 'small-mlp-32', models: ['small-mlp'], inputs: SMALL_MLP_INPUTS, callers: 32, perCaller: quick ? 8 : 32, rounds, warmup: 20, systems: systemsFor(url, numThreads, 'small-mlp', '/models/bench-mlp-small', 'model.onnx', [batched]) },
    { name: 'two-models', models: ['mlp-a', 'mlp-b'], inputs: MLP_8_ROWS, callers: 2, perCaller: quick ? 20 : 80, rounds, warmup: 10, systems: twoModelSystems(url, numThreads) },
  ];
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Deletes every IndexedDB database and the OPFS files of the bench origin: the next start is cold. */
const clearStore = (page) => page.evaluate(async () => {
  await (await navigator.storage.getDirectory()).removeEntry('browserving-artifacts', { recursive: true }).catch(() => undefined);
  for (const db of (await indexedDB.databases?.()) ?? []) {
    await new Promise((resolve) => {
      const request = indexedDB.deleteDatabase(db.name);
      request.onsuccess = request.onerror = request.onblocked = () => resolve();
    });
  }
});

/**
 * Time to first prediction: (ORT) a fresh raw worker creating the session from an in-memory
 * buffer, plus one run; (cold) a fresh browserving runtime with an empty store, over the network;
 * (warm) the same right after, with the artifacts in IndexedDB. Medians over interleaved repetitions.
 */
export async function startup(page, { quick, numThreads, url }) {
  const reps = quick ? 2 : 5;
  const serving = servingOptions(url, numThreads, [{ name: 'silero', basePath: `${url}/models/silero`, modelVersionPolicy: { specific: { versions: [1] } } }]);
  const samples = { ort: [], cold: [], warm: [] };
  let hasStorage = false;
  for (let rep = 0; rep < reps; rep++) {
    const ortFirst = rep % 2 === 0;
    const ort = () => page.evaluate(([u, n, i]) => window.bench.ortFirstPrediction(u, n, i), [`${url}/models/silero/1/model.onnx`, numThreads, SILERO_INPUTS]);
    if (ortFirst) samples.ort.push((await ort()).totalMs);
    await clearStore(page);
    const cold = await page.evaluate(([s, i]) => window.bench.browservingFirstPrediction(s, 'silero', i), [serving, SILERO_INPUTS]);
    const warm = await page.evaluate(([s, i]) => window.bench.browservingFirstPrediction(s, 'silero', i), [serving, SILERO_INPUTS]);
    hasStorage = warm.hasStorage;
    samples.cold.push(cold.totalMs);
    samples.warm.push(warm.totalMs);
    if (!ortFirst) samples.ort.push((await ort()).totalMs);
  }
  const summary = (xs) => ({ medianMs: Math.round(median(xs)), samplesMs: xs.map(Math.round) });
  return { model: 'silero v5 (2.3 MB)', storage: hasStorage, ort: summary(samples.ort), cold: summary(samples.cold), warm: summary(samples.warm) };
}

/**
 * Download throughput of a generated 64 MiB artifact: a raw fetch into one ArrayBuffer against
 * browserving downloading it into its store (from the version's first download event until its
 * files are cached, read from progress events; the whole load when the runtime reports none;
 * `fromStartMedianMs` counts from `createServing()`), interleaved rep by rep. The peak of the
 * page's and workers' memory (performance.measureUserAgentSpecificMemory) above the level
 * before is sampled in one more download of its own (each sample forces a garbage collection in
 * every context, which would slow the download it samples and not the raw fetch), counting only
 * samples that ended before the download did: the runner creating the session next holds ~4× the
 * model (ORT's copy), which is no cost of the store.
 */
export async function download(page, { quick, numThreads, url }) {
  // Five interleaved pairs: with three, the ratio of medians moved 0.84–1.12 between runs of the same build (raw fetch
  // alone 700–940 ms on these two shared cores); a run takes ~2 s per pair.
  const reps = quick ? 1 : 5;
  const artifact = `${url}/models/bench-large/1/model.onnx`;
  const serving = servingOptions(url, numThreads, [{ name: 'large', basePath: `${url}/models/bench-large` }]);
  const raw = [];
  const store = [];
  const fromStart = [];
  const available = [];
  let bytes = 0;
  let measured = 'whole load';
  for (let rep = 0; rep < reps; rep++) {
    const r = await page.evaluate((u) => window.bench.rawFetch(u), artifact);
    bytes = r.bytes;
    raw.push(r.ms);
    await clearStore(page);
    const load = await page.evaluate((s) => window.bench.storeDownload(s, 'large'), serving);
    measured = load.measured;
    store.push(load.ms);
    fromStart.push(load.fromStartMs);
    available.push(load.availableMs);
  }
  await clearStore(page);
  const baseline = await page.evaluate(() => window.bench.memory());
  let peak = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const m = await page.evaluate(() => window.bench.memory()).catch(() => undefined);
      // Only samples that include the runtime's worker count: the page alone reads as a bogus ~0. And only those that
      // ended before the download did: after it, the runner creating the session (ORT's own ~4× copy) is not the store's.
      if (m?.seesWorker && !m.downloadDone && baseline !== undefined) peak = Math.max(peak, m.bytes - baseline.bytes);
    }
  })();
  await page.evaluate((s) => window.bench.storeDownload(s, 'large'), serving);
  sampling = false;
  await sampler;
  const mib = bytes / 1024 / 1024;
  return {
    bytes,
    raw: { medianMs: Math.round(median(raw)), mibPerS: Math.round((mib / median(raw)) * 1000 * 10) / 10, samplesMs: raw.map(Math.round) },
    store: {
      medianMs: Math.round(median(store)),
      mibPerS: Math.round((mib / median(store)) * 1000 * 10) / 10,
      measured,
      samplesMs: store.map(Math.round),
      fromStartMedianMs: Math.round(median(fromStart)),
      // What a user waits for: from start() to the version AVAILABLE (session created in its runner), cold store.
      availableMedianMs: Math.round(median(available)),
      ...(peak > 0 ? { peakHeapBytes: peak } : {}),
    },
  };
}
