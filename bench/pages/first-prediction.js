// A page that does what an app serving a model does on load — createServing, then one
// prediction — and reports when each step finished, in ms from navigation start (the origin of
// performance.now()), as `window.firstPrediction`: the document's arrival, this script's start,
// the version LOADING and AVAILABLE, createServing resolved, the prediction's result. Its
// configuration comes from localStorage under CONFIG_KEY (the document's URL must not change:
// the Service Worker's cache of it is keyed by URL). With `serveHttp`, it then puts the runtime
// behind browserving's Service Worker: that load caches the page and the runtime, so the next
// one can start offline.
import { browserving, inputsFrom } from './systems.js';
import { serveAtOrigin } from './http.js';

const CONFIG_KEY = 'bench:first-prediction';

async function firstPrediction({ serving, model, inputs, serveHttp }) {
  const scriptMs = performance.now();
  // When the version began loading (the control worker has read the manifest) and was AVAILABLE (the runner has its session).
  const states = {};
  const onEvent = (e) => {
    if (e.type === 'servable-state') states[e.state.state] ??= performance.now();
  };
  const runtime = await browserving.createServing({ ...serving, onEvent });
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
    loadingMs: states.LOADING,
    availableMs: states.AVAILABLE,
  };
}

const config = JSON.parse(localStorage.getItem(CONFIG_KEY) ?? 'null');
if (config) {
  firstPrediction(config).then(
    (result) => { window.firstPrediction = result; },
    (error) => { window.firstPrediction = { error: String(error?.message ?? error) }; },
  );
}
