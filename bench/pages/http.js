// What serving over HTTP at the page's origin costs, measured in one call: TF Serving REST
// `:predict` through browserving's Service Worker, against the same handler called on the page
// (`serving.handle`, the same JSON codec without the hop) and against `serving.predict` with typed
// arrays. The page's first prediction from navigation start is first-prediction.html's business.
import { browserving, freshInputs, inputsFrom } from './systems.js';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** serveHttp for `runtime` at scope '/', resolved once this page is controlled (clients.claim() takes it over on activation). */
export async function serveAtOrigin(runtime) {
  const http = await browserving.serveHttp(runtime, { serviceWorkerUrl: '/dist/browserving.sw.js', scope: '/' });
  while (!navigator.serviceWorker.controller) await sleep(20);
  return http;
}

/** A REST answer's JSON, or a throw saying what came back: a benchmark of error answers measures nothing. */
async function predictions(response) {
  const body = await response.json();
  if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${JSON.stringify(body)}`);
  return body;
}

/**
 * The three ways to one prediction; the REST ones build their JSON body and parse the answer
 * inside the timed call, as a REST client does. Each request through the Service Worker also
 * pushes to `legs` where its time went, from the marks `served` takes around `handle()`.
 */
function systemsFor(runtime, served, legs, { model, inputs, body }) {
  const template = inputsFrom(inputs);
  const url = `/v1/models/${model}:predict`;
  const post = () => ({ method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  return {
    sw: async () => {
      const t0 = performance.now();
      await predictions(await fetch(url, post()));
      legs.push({ toPage: served.marks.in - t0, handle: served.marks.out - served.marks.in, back: performance.now() - served.marks.out });
    },
    handle: async () => predictions(await runtime.handle(new Request(new URL(url, location.href), post()))),
    predict: () => runtime.predict({ model, inputs: freshInputs(template) }),
  };
}

/**
 * One runtime serving `serving.models`, behind the Service Worker; for each case ({ name, model,
 * inputs, body }), `warmup` calls of each system, then `rounds` rounds of `perRound` calls back to
 * back (one caller) on each system, the order rotating round by round. Resolves to each case's
 * latencies (ms) per system, and where each request through the Service Worker spent its time
 * (ms): on its way to the page's handler (`toPage`), in `handle()`, and back to the caller (`back`).
 */
export async function restHop(serving, cases, { rounds, perRound, warmup }) {
  const runtime = await browserving.createServing(serving);
  // What the Service Worker forwards is answered by this wrapper: it marks when handle() is called and when it resolves.
  const served = {
    marks: {},
    debug: runtime.debug,
    async handle(request) {
      this.marks.in = performance.now();
      try {
        return await runtime.handle(request);
      } finally {
        this.marks.out = performance.now();
      }
    },
  };
  let http;
  try {
    http = await serveAtOrigin(served);
    const results = {};
    for (const c of cases) {
      const legs = [];
      const systems = systemsFor(runtime, served, legs, c);
      const keys = Object.keys(systems);
      const latencies = Object.fromEntries(keys.map((k) => [k, []]));
      for (const k of keys) for (let i = 0; i < warmup; i++) await systems[k]();
      legs.length = 0;
      for (let round = 0; round < rounds; round++) {
        for (const k of keys.map((_, i) => keys[(i + round) % keys.length])) {
          for (let i = 0; i < perRound; i++) {
            const t0 = performance.now();
            await systems[k]();
            latencies[k].push(performance.now() - t0);
          }
        }
      }
      results[c.name] = { latencies, legs };
    }
    return results;
  } finally {
    http?.stop();
    await runtime.close();
  }
}

/**
 * The floor of the hop: `count` POSTs of `body` (after `warmup`) to a Service Worker that answers
 * them itself (echo.sw.js, registered here: run it in a context of its own). Resolves to the
 * latencies (ms), JSON built and parsed inside the timed call as for REST.
 */
export async function echoFloor(body, { count, warmup }) {
  await navigator.serviceWorker.register('/bench/echo.sw.js', { scope: '/' });
  while (!navigator.serviceWorker.controller) await sleep(20);
  const echo = async () => predictions(await fetch('/__echo', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }));
  for (let i = 0; i < warmup; i++) await echo();
  const latencies = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await echo();
    latencies.push(performance.now() - t0);
  }
  return latencies;
}
