/**
 * What serving over HTTP at the page's origin costs, as `npm run bench` measures it: the hop of
 * TF Serving REST through browserving's Service Worker (bench/pages/http.js), and the time from
 * navigation start to a page's first prediction when it starts offline from the Service Worker's
 * caches and the artifact store, against the same page started online (first-prediction.html).
 * Each runs in a browser context of its own: a Service Worker controlling the bench page would
 * see every fetch of the other measurements.
 */
import { median, servingOptions, SILERO_INPUTS, SMALL_MLP } from './scenarios.mjs';

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const round3 = (x) => Math.round(x * 1000) / 1000;
const pinned = (url, name, basePath) => ({ name, basePath: `${url}${basePath}`, modelVersionPolicy: { specific: { versions: [1] } } });

/** `data` (flat, row-major) as TF Serving's nested lists of shape `dims`. */
function nested(data, dims) {
  if (dims.length === 0) return data[0];
  const size = dims.slice(1).reduce((a, b) => a * b, 1);
  return Array.from({ length: dims[0] }, (_, i) => nested(data.slice(i * size, (i + 1) * size), dims.slice(1)));
}

const SMALL_ROW = Array.from({ length: SMALL_MLP.inputSize }, (_, i) => Math.sin(i) / 2);
const SYSTEM_LABELS = {
  sw: 'REST :predict, fetch() through the Service Worker',
  handle: 'REST :predict, serving.handle() on the page',
  predict: 'serving.predict(), typed arrays',
};

/** In a fresh browser context: a page at the bench origin; `body(page)`'s result once the context is closed. */
async function inOwnContext(browser, url, body) {
  const context = await browser.newContext();
  try {
    const fresh = await context.newPage();
    fresh.on('pageerror', (e) => console.error('[page]', e.message));
    await fresh.goto(`${url}/bench/`);
    await fresh.waitForFunction(() => window.benchReady === true);
    return await body(fresh, context);
  } finally {
    await context.close();
  }
}

/**
 * REST `:predict` through the Service Worker against `serving.handle()` on the page and
 * `serving.predict()`, one caller, interleaved round by round — on the small MLP (row format,
 * `instances`) and Silero (columnar, `inputs`: its state and sample rate have no batch dimension).
 * The hop is the Service Worker's p50 minus handle's: the same JSON both ways, so what remains is
 * the request's way page → Service Worker → page (MessagePort) → Service Worker → page. A Service
 * Worker echoing the same POST itself, in a context of its own, gives the part any Service Worker costs.
 */
export async function restHop(page, { quick, numThreads, url, browser }) {
  const serving = servingOptions(url, numThreads, [pinned(url, 'small-mlp', '/models/bench-mlp-small'), pinned(url, 'silero', '/models/silero')]);
  const cases = [
    { name: 'small-mlp', model: 'small-mlp', inputs: { x: { type: 'float32', dims: [1, SMALL_MLP.inputSize], data: SMALL_ROW } }, body: { instances: [SMALL_ROW] } },
    {
      name: 'silero',
      model: 'silero',
      inputs: SILERO_INPUTS,
      body: { inputs: Object.fromEntries(Object.entries(SILERO_INPUTS).map(([name, t]) => [name, nested(t.data, t.dims)])) },
    },
  ];
  const options = { rounds: quick ? 3 : 12, perRound: quick ? 20 : 50, warmup: 50 };
  const r = await inOwnContext(browser, url, (fresh) => fresh.evaluate(([s, c, o]) => window.bench.restHop(s, c, o), [serving, cases, options]));
  // After, not interleaved: a Service Worker of its own needs a context of its own.
  const floor = { count: options.rounds * options.perRound, warmup: options.warmup };
  for (const c of cases) r[c.name].echo = await inOwnContext(browser, url, (fresh) => fresh.evaluate(([b, o]) => window.bench.echoFloor(b, o), [c.body, floor]));
  const out = { rounds: options.rounds, perRound: options.perRound, cases: {} };
  for (const [name, { latencies, legs, echo }] of Object.entries(r)) {
    const swFloor = latencySummary(echo);
    const systems = Object.fromEntries(Object.entries(latencies).map(([key, xs]) => [key, { label: SYSTEM_LABELS[key], ...latencySummary(xs) }]));
    const hopMs = systems.sw.p50Ms - systems.handle.p50Ms;
    out.cases[name] = {
      callers: 1,
      systems,
      hopUs: Math.round(hopMs * 1000),
      // A Service Worker answering the same POST itself (echo.sw.js), measured after the others: the part of the hop any Service Worker costs.
      swEchoFloor: { p50Ms: swFloor.p50Ms, p99Ms: swFloor.p99Ms, requests: swFloor.requests },
      hopOverPredict: round3(hopMs / systems.predict.p50Ms),
      swOverPredict: round3(systems.sw.p50Ms / systems.predict.p50Ms),
      handleOverPredict: round3(systems.handle.p50Ms / systems.predict.p50Ms),
      // Medians of each leg of a request through the Service Worker (fetch → the page's handle() → back to fetch's caller).
      swLegsMs: Object.fromEntries(['toPage', 'handle', 'back'].map((leg) => [leg, round3(median(legs.map((l) => l[leg])))])),
    };
  }
  return out;
}

function latencySummary(latencies) {
  const sorted = [...latencies].sort((a, b) => a - b);
  const total = sorted.reduce((a, b) => a + b, 0);
  return { requests: sorted.length, p50Ms: round3(quantile(sorted, 0.5)), p99Ms: round3(quantile(sorted, 0.99)), meanMs: round3(total / sorted.length), throughputPerS: round3((sorted.length / total) * 1000) };
}

/** Makes the bench server refuse every connection (`offline`), or answer again. */
async function setNetwork(url, offline) {
  await fetch(`${url}/__control/reset`, { method: 'POST' });
  if (offline) await fetch(`${url}/__control/faults`, { method: 'POST', body: JSON.stringify([{ prefix: '/', offline: true }]) });
}

/** Loads first-prediction.html in a new page of `context`; resolves to what it reports. */
async function loadOnce(context, url) {
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error('[page]', e.message));
  try {
    await page.goto(`${url}/bench/first-prediction.html`);
    await page.waitForFunction(() => window.firstPrediction !== undefined, undefined, { timeout: 60_000 });
    const result = await page.evaluate(() => window.firstPrediction);
    if (result.error) throw new Error(`first-prediction.html: ${result.error}`);
    return result;
  } finally {
    await page.close();
  }
}

/**
 * Time from navigation start to the first prediction's result of a page that creates a runtime
 * serving Silero and predicts once: (offline) with the server refusing every connection, the
 * page, the runtime and the model coming from the Service Worker's caches and the artifact store;
 * (online) the same page, the same caches, the server up. A first load online (unmeasured)
 * registers the Service Worker and fills the caches and the store; then `reps` repetitions of
 * each, the order alternating, each in a new page. Medians, and every sample.
 */
export async function offlineStart(page, { quick, numThreads, url, browser }) {
  const reps = quick ? 2 : 7;
  const config = { serving: servingOptions(url, numThreads, [pinned(url, 'silero', '/models/silero')]), model: 'silero', inputs: SILERO_INPUTS };
  const samples = { online: [], offline: [] };
  const last = {};
  const refused = [];
  try {
    await inOwnContext(browser, url, async (fresh, context) => {
      // first-prediction.html reads its configuration from there (its CONFIG_KEY).
      const configure = (c) => fresh.evaluate((c) => localStorage.setItem('bench:first-prediction', JSON.stringify(c)), c);
      await configure({ ...config, serveHttp: true });
      await loadOnce(context, url);
      await untilCachedForOffline(fresh);
      await configure(config);
      for (let rep = 0; rep < reps; rep++) {
        for (const mode of rep % 2 === 0 ? ['online', 'offline'] : ['offline', 'online']) {
          await setNetwork(url, mode === 'offline');
          const r = await loadOnce(context, url);
          if (mode === 'offline') {
            if (!r.fromCache) throw new Error('the offline start did not serve the cached manifest: it was not offline');
            const log = await (await fetch(`${url}/__control/log`)).json();
            const answered = Object.entries(log).filter(([, e]) => e.requests > 0).map(([path]) => path);
            if (answered.length) throw new Error(`the server answered ${answered.join(', ')} while offline`);
            refused.push(Object.values(log).reduce((n, e) => n + (e.refused ?? 0), 0));
          }
          samples[mode].push(r.doneMs);
          last[mode] = r;
          await setNetwork(url, false);
        }
      }
    });
  } finally {
    await setNetwork(url, false);
  }
  const summary = (xs, r) => ({
    medianMs: Math.round(median(xs)),
    samplesMs: xs.map(Math.round),
    // The last repetition's milestones, from navigation start: where the time goes.
    last: Object.fromEntries(['documentMs', 'scriptMs', 'loadingMs', 'availableMs', 'readyMs', 'doneMs'].map((k) => [k, Math.round(r[k])])),
  });
  const ratios = samples.offline.map((x, i) => x / samples.online[i]);
  return {
    model: 'silero v5 (2.3 MB)',
    reps,
    online: summary(samples.online, last.online),
    offline: { ...summary(samples.offline, last.offline), refusedRequests: refused },
    ratio: round3(median(samples.offline) / median(samples.online)),
    pairedRatios: { min: round3(Math.min(...ratios)), max: round3(Math.max(...ratios)) },
  };
}

/** Resolves once the Service Worker's caches hold the page's document and a .wasm (the one its runners use): the page can start offline. */
async function untilCachedForOffline(page, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const cached = await page.evaluate(async () => {
      const urls = (await Promise.all((await caches.keys()).map(async (n) => (await (await caches.open(n)).keys()).map((r) => r.url)))).flat();
      return urls.some((u) => u.endsWith('.wasm')) && urls.some((u) => u.endsWith('/first-prediction.html'));
    });
    if (cached) return;
    if (Date.now() > deadline) throw new Error(`the page and the runtime's .wasm were not cached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
