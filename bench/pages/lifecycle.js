// What the runtime's own life cycle costs, each measured in one call: memory held before, with
// and after a large version; predictions on one model while another loads and swaps versions;
// time to AVAILABLE of a version in a new runner from a warm store. Raw ORT in a worker is the
// baseline wherever one exists.
import { browserving, fetchBytes, freshInputs, inputsFrom, leastMemory, predictUntil, RawWorker } from './systems.js';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves at `version` of `model` (any version when absent) becoming AVAILABLE; rejects when it ends first, with an error, or after `timeoutMs`. */
function untilAvailable(serving, model, version, timeoutMs = 120_000) {
  return new Promise((resolve, reject) => {
    let off = () => {};
    const timer = setTimeout(() => settle(reject, new Error(`${model}@${version ?? 'latest'} did not become AVAILABLE within ${timeoutMs} ms`)), timeoutMs);
    function settle(how, value) {
      clearTimeout(timer);
      // Deferred: the replay calls the listener inside subscribe(), before `off` is assigned.
      queueMicrotask(() => off());
      how(value);
    }
    // A new listener is replayed each version's last event first: an earlier life of the version ended (END).
    off = serving.subscribe((event) => {
      if (event.type !== 'servable-state') return;
      const { id, state, error } = event.state;
      if (id.name !== model || (version !== undefined && id.version !== version)) return;
      if (state === 'AVAILABLE') settle(resolve);
      else if (state === 'END' && error) settle(reject, new Error(`${model}@${id.version} failed to load: ${error.message}`));
    });
  });
}

const runnerNames = (serving) => new Set(serving.debug.runners().map((r) => r.runner));

/** Resolves once none of `names` is a live runner (unloading drains, then terminates them). */
async function untilRunnersGone(serving, names, timeoutMs = 30_000) {
  const deadline = performance.now() + timeoutMs;
  while (serving.debug.runners().some((r) => names.has(r.runner))) {
    if (performance.now() > deadline) throw new Error(`runners ${[...names].join(', ')} still alive after ${timeoutMs} ms`);
    await sleep(10);
  }
}

/** reloadConfig({ models }) adding models: resolves once `model`(@`version`) is AVAILABLE, to the runners that appeared for it. */
async function addAndWait(serving, models, model, version) {
  const before = runnerNames(serving);
  const available = untilAvailable(serving, model, version);
  await serving.reloadConfig({ models });
  await available;
  return new Set([...runnerNames(serving)].filter((name) => !before.has(name)));
}

/**
 * Memory held by a runtime serving `serving.models` (nothing heavy), then with `heavy` added
 * and AVAILABLE, then after removing it once its runner is gone; each the least of 3
 * measurements. Bytes, as measured.
 */
export async function memoryAcrossLoad(serving, heavy) {
  const runtime = await browserving.createServing(serving);
  try {
    const before = await leastMemory();
    const added = await addAndWait(runtime, [...serving.models, heavy], heavy.name);
    const loaded = await leastMemory();
    await runtime.reloadConfig({ models: serving.models });
    await untilRunnersGone(runtime, added);
    const after = await leastMemory();
    return { before: before?.bytes, loaded: loaded?.bytes, after: after?.bytes, seesWorker: Boolean(before?.seesWorker && loaded?.seesWorker), runnersAdded: added.size };
  } finally {
    await runtime.close();
  }
}

/** Memory of the page before a raw ORT worker starts, and once it holds a session created from the bytes at `modelUrl`. */
export async function rawMemory(modelUrl, numThreads) {
  const before = await leastMemory();
  const raw = new RawWorker();
  try {
    await raw.load(await fetchBytes(modelUrl), numThreads);
    const holding = await leastMemory();
    return { before: before?.bytes, holding: holding?.bytes };
  } finally {
    raw.close();
  }
}

/** One round on one system: predictions back to back through a steady window of `steadyMs`, then while `load()` and `swap()` run; `reset()` after, unmeasured. */
async function measureRound(predict, { load, swap, reset }, steadyMs, into) {
  const steadyEnd = performance.now() + steadyMs;
  into.steady.push(...(await predictUntil(predict, () => performance.now() > steadyEnd)));
  let changing = true;
  const startedAt = [];
  const during = predictUntil(predict, () => !changing, startedAt);
  const t0 = performance.now();
  await load();
  const t1 = performance.now();
  await swap();
  const t2 = performance.now();
  changing = false;
  (await during).forEach((ms, i) => (startedAt[i] < t1 ? into.loading : into.swapping).push(ms));
  into.loadMs.push(t1 - t0);
  into.swapMs.push(t2 - t1);
  await reset();
  await sleep(200);
}

/** browserving: `other` (a repository with versions 1 and 2) added beside `models` loads version 1, then swaps to version 2 until version 1's runner is gone; reset removes it. */
function runtimeChanges(runtime, models, other) {
  const pinned = (version) => ({ ...other, modelVersionPolicy: { specific: { versions: [version] } } });
  let first;
  let second;
  return {
    load: async () => {
      first = await addAndWait(runtime, [...models, pinned(1)], other.name, 1);
    },
    swap: async () => {
      second = await addAndWait(runtime, [...models, pinned(2)], other.name, 2);
      await untilRunnersGone(runtime, first);
    },
    reset: async () => {
      await runtime.reloadConfig({ models });
      await untilRunnersGone(runtime, second);
    },
  };
}

/** Raw ORT, the same change by hand: a new worker creates a session from `bytes`, then another replaces it. Copies made up front, off the measured window. */
function rawChanges(bytes, numThreads) {
  const copies = [bytes.slice(0), bytes.slice(0)];
  let first;
  let second;
  return {
    load: async () => {
      first = new RawWorker();
      await first.load(copies[0], numThreads);
    },
    swap: async () => {
      second = new RawWorker();
      await second.load(copies[1], numThreads);
      first.close();
    },
    reset: async () => second.close(),
  };
}

/**
 * Predictions on `model` back to back (one caller) in `rounds` rounds of: a steady window of
 * `steadyMs`, then a window in which another model loads and then swaps versions — on
 * browserving (`other` added by reloadConfig) and, as the baseline, on raw ORT (a Silero worker
 * predicting while new workers load the bytes at `otherUrl`); the systems alternate order.
 * Resolves, per system, to the latencies (ms) of each kind of window (loading: version 1;
 * swapping: version 2 in, version 1 out) and how long the load and the swap took.
 */
export async function predictionsWhileLoading({ serving, model, modelUrl, inputs, other, otherUrl, numThreads }, { steadyMs, rounds }) {
  const runtime = await browserving.createServing(serving);
  const raw = new RawWorker();
  try {
    await raw.load(await fetchBytes(modelUrl), numThreads);
    const otherBytes = await fetchBytes(otherUrl);
    const template = inputsFrom(inputs);
    const predict = {
      browserving: () => runtime.predict({ model, inputs: freshInputs(template) }),
      raw: () => raw.predict(freshInputs(template)),
    };
    const changes = {
      browserving: () => runtimeChanges(runtime, serving.models, other),
      raw: () => rawChanges(otherBytes, numThreads),
    };
    const results = {};
    for (const system of ['browserving', 'raw']) {
      results[system] = { steady: [], loading: [], swapping: [], loadMs: [], swapMs: [] };
      let warmup = 50;
      await predictUntil(predict[system], () => warmup-- <= 0);
    }
    for (let round = 0; round < rounds; round++) {
      for (const system of round % 2 === 0 ? ['browserving', 'raw'] : ['raw', 'browserving']) {
        await measureRound(predict[system], changes[system](), steadyMs, results[system]);
      }
    }
    return results;
  } finally {
    raw.close();
    await runtime.close();
  }
}

/**
 * Time until `model`, added by reloadConfig to a runtime serving `serving.models` (say none), is
 * AVAILABLE in a new runner, its artifacts already in the store (added and removed once before),
 * against a fresh raw ORT worker creating the session from the same bytes in memory; `reps`
 * interleaved repetitions of each.
 */
export async function timeToAvailable(serving, model, modelUrl, numThreads, reps) {
  const runtime = await browserving.createServing(serving);
  const samples = { browserving: [], raw: [] };
  const timeBrowserving = async () => {
    const t0 = performance.now();
    const added = await addAndWait(runtime, [model], model.name);
    const ms = performance.now() - t0;
    await runtime.reloadConfig({ models: [] });
    await untilRunnersGone(runtime, added);
    return ms;
  };
  const timeRaw = async () => {
    const bytes = await fetchBytes(modelUrl);
    const t0 = performance.now();
    const raw = new RawWorker();
    await raw.load(bytes, numThreads);
    const ms = performance.now() - t0;
    raw.close();
    return ms;
  };
  try {
    await timeBrowserving();
    const usage = await runtime.storage.usage();
    for (let rep = 0; rep < reps; rep++) {
      const order = rep % 2 === 0 ? ['browserving', 'raw'] : ['raw', 'browserving'];
      for (const system of order) {
        samples[system].push(system === 'raw' ? await timeRaw() : await timeBrowserving());
        await sleep(100);
      }
    }
    return { ...samples, storeMode: usage.mode };
  } finally {
    await runtime.close();
  }
}
