// Baseline (a): raw onnxruntime-web in a Web Worker with a minimal hand-written postMessage loop —
// the floor any serving layer on top of ORT is measured against. No validation, no queue, no Comlink.
// `repeat` runs one input back to back inside the worker: the session alone, no messaging.
import * as ort from '/ort/ort.wasm.bundle.min.mjs';

let session;

function feedsOf(inputs) {
  const feeds = {};
  for (const [name, t] of Object.entries(inputs)) feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
  return feeds;
}

async function repeat(inputs, count) {
  const feeds = feedsOf(inputs);
  const runsMs = [];
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    runsMs.push(performance.now() - t0);
  }
  return { runsMs, totalMs: performance.now() - started };
}

self.onmessage = async ({ data: msg }) => {
  try {
    if (msg.type === 'load') {
      ort.env.wasm.numThreads = msg.numThreads;
      ort.env.wasm.wasmPaths = '/ort/';
      session = await ort.InferenceSession.create(new Uint8Array(msg.bytes), { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
      self.postMessage({ id: msg.id });
      return;
    }
    if (msg.type === 'repeat') {
      self.postMessage({ id: msg.id, result: await repeat(msg.inputs, msg.count) });
      return;
    }
    const results = await session.run(feedsOf(msg.inputs));
    const outputs = {};
    const transfer = [];
    for (const [name, t] of Object.entries(results)) {
      outputs[name] = { type: t.type, data: t.data, dims: t.dims };
      transfer.push(t.data.buffer);
    }
    self.postMessage({ id: msg.id, result: outputs }, transfer);
  } catch (error) {
    self.postMessage({ id: msg.id, error: String(error) });
  }
};
