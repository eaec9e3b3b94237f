// A page that does what an app serving a model does on load — createServing, then one
// prediction — and reports when each finished, in ms from navigation start (performance.now()'s
// origin), as `window.firstPrediction`. Its configuration comes from localStorage (the document's
// URL must stay the same: the Service Worker's cache of it is keyed by URL). With `serveHttp`,
// it then puts the runtime behind browserving's Service Worker: that load caches the page and the
// runtime, so the next load can start offline.
import { browserving, inputsFrom } from './systems.js';
import { serveAtOrigin } from './http.js';

export const CONFIG_KEY = 'bench:first-prediction';

async function firstPrediction({ serving, model, inputs, serveHttp }) {
  const scriptMs = performance.now();
  const runtime = await browserving.createServing(serving);
  const readyMs = performance.now();
  await runtime.predict({ model, inputs: inputsFrom(inputs) });
  const doneMs = performance.now();
  const [navigation] = performance.getEntriesByType('navigation');
  const status = await runtime.status(model);
  if (serveHttp) await serveAtOrigin(runtime);
  return {
    documentMs: navigation?.responseEnd,
    scriptMs,
    readyMs,
    doneMs,
    controlled: Boolean(navigator.serviceWorker.controller),
    fromCache: Boolean(status.repository?.fromCache),
    // Which resources the browser fetched, and how long each took: where an offline start loses time.
    resources: performance.getEntriesByType('resource').map((e) => ({ name: e.name, startMs: e.startTime, ms: e.duration })),
  };
}

const config = JSON.parse(localStorage.getItem(CONFIG_KEY) ?? 'null');
if (config) {
  firstPrediction(config).then(
    (result) => { window.firstPrediction = result; },
    (error) => { window.firstPrediction = { error: String(error?.message ?? error) }; },
  );
}
