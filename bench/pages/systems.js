// The systems the benchmark compares, behind one `predict(inputs, model)` each: (a) raw ORT in a
// worker with a minimal postMessage loop, (b) ORT's proxy worker, (c) browserving — plus the raw
// worker running full batches back to back, the session-only ceiling of a batched model.
import * as browserving from '/dist/index.js';

export { browserving };

export async function fetchBytes(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.arrayBuffer();
}

/** Typed tensors from the JSON-safe templates the bench driver sends (int64 as numbers). */
export function inputsFrom(inputs) {
  const out = {};
  for (const [name, t] of Object.entries(inputs)) {
    const Ctor = { float32: Float32Array, int64: BigInt64Array, int32: Int32Array }[t.type];
    out[name] = { type: t.type, dims: t.dims, data: t.type === 'int64' ? Ctor.from(t.data.map(BigInt)) : Ctor.from(t.data) };
  }
  return out;
}

/** Copies the template inputs (every system transfers or consumes its buffers). */
export function freshInputs(template) {
  const out = {};
  for (const [name, t] of Object.entries(template)) out[name] = { type: t.type, dims: t.dims, data: t.data.slice() };
  return out;
}

/** The template's one-row inputs repeated `rows` times along the batch (first) dimension. */
function tiled(template, rows) {
  const out = {};
  for (const [name, t] of Object.entries(template)) {
    const data = new t.data.constructor(t.data.length * rows);
    for (let r = 0; r < rows; r++) data.set(t.data, r * t.data.length);
    out[name] = { type: t.type, dims: [rows, ...t.dims.slice(1)], data };
  }
  return out;
}

export class RawWorker {
  #worker = new Worker(new URL('./raw-worker.js', import.meta.url), { type: 'module' });
  #next = 1;
  #pending = new Map();
  constructor() {
    this.#worker.onmessage = ({ data }) => {
      const p = this.#pending.get(data.id);
      this.#pending.delete(data.id);
      if (data.error) p.reject(new Error(data.error));
      else p.resolve(data.result);
    };
  }
  #send(message, transfer = []) {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ ...message, id }, transfer);
    });
  }
  load(bytes, numThreads) {
    return this.#send({ type: 'load', bytes, numThreads }, [bytes]);
  }
  predict(inputs) {
    return this.#send({ type: 'run', inputs }, Object.values(inputs).map((t) => t.data.buffer));
  }
  /** Runs `inputs` `count` times back to back inside the worker; resolves to each run's ms and the whole loop's. */
  repeat(inputs, count) {
    return this.#send({ type: 'repeat', inputs, count }, Object.values(inputs).map((t) => t.data.buffer));
  }
  close() {
    this.#worker.terminate();
  }
}

/**
 * The ceiling of batching: the raw worker running batches of `rows` rows back to back, timed
 * inside the worker (no messaging). A closed loop of `callers × perCaller` one-row requests
 * becomes that many rows in full batches; throughput is in rows per second.
 */
export class RawBatches extends RawWorker {
  #rows;
  constructor({ batchRows }) {
    super();
    this.#rows = batchRows;
  }
  async closedLoop(template, callers, perCaller) {
    const batches = Math.max(1, Math.round((callers * perCaller) / this.#rows));
    const { runsMs, totalMs } = await this.repeat(tiled(template, this.#rows), batches);
    return { latencies: runsMs, seconds: totalMs / 1000, requests: batches * this.#rows };
  }
}

/** Raw ORT with a worker per model: what parallel sessions give on this machine, with nothing on top. */
export class RawWorkerPerModel {
  #workers;
  constructor({ models }) {
    this.#workers = new Map(models.map((model) => [model, new RawWorker()]));
  }
  async load(bytes, numThreads) {
    await Promise.all([...this.#workers.values()].map((worker) => worker.load(bytes.slice(0), numThreads)));
  }
  predict(inputs, model) {
    return this.#workers.get(model).predict(inputs);
  }
  close() {
    for (const worker of this.#workers.values()) worker.close();
  }
}

export class OrtProxy {
  static ortPromise;
  #session;
  #ort;
  async load(bytes, numThreads) {
    OrtProxy.ortPromise ??= import('/ort/ort.wasm.bundle.min.mjs').then((ort) => {
      ort.env.wasm.proxy = true;
      ort.env.wasm.numThreads = numThreads;
      ort.env.wasm.wasmPaths = '/ort/';
      return ort;
    });
    this.#ort = await OrtProxy.ortPromise;
    this.#session = await this.#ort.InferenceSession.create(new Uint8Array(bytes), { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  }
  async predict(inputs) {
    const feeds = {};
    for (const [name, t] of Object.entries(inputs)) feeds[name] = new this.#ort.Tensor(t.type, t.data, t.dims);
    return this.#session.run(feeds);
  }
  close() {
    return this.#session?.release();
  }
}

export class Browserving {
  serving;
  async start(options) {
    this.serving = await browserving.createServing(options);
  }
  predict(inputs, model) {
    return this.serving.predict({ model, inputs });
  }
  close() {
    return this.serving?.close();
  }
}

/**
 * Closed loop: `callers` callers each issue `perCaller` requests back to back; caller i asks
 * `models[i % models.length]`. A system with a `closedLoop` of its own (RawBatches) runs that.
 */
export async function closedLoop(system, models, template, callers, perCaller) {
  if (system.closedLoop) return system.closedLoop(template, callers, perCaller);
  const latencies = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async (_, caller) => {
      const model = models[caller % models.length];
      for (let i = 0; i < perCaller; i++) {
        const t0 = performance.now();
        await system.predict(freshInputs(template), model);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { latencies, seconds, requests: callers * perCaller };
}

/** Calls `predict()` back to back until `stop()` says so; resolves to the latencies (ms), and pushes each request's start time to `startedAt`. */
export async function predictUntil(predict, stop, startedAt = []) {
  const latencies = [];
  while (!stop()) {
    const t0 = performance.now();
    await predict();
    latencies.push(performance.now() - t0);
    startedAt.push(t0);
  }
  return latencies;
}

/**
 * Live memory of the page and its workers (JS heaps, array buffers, WASM memories), the least of
 * `times` measurements — garbage collected between them is not held memory — and whether the
 * measurements included a dedicated worker (a figure without one is the page's heap alone).
 */
export async function leastMemory(times = 3) {
  if (typeof performance.measureUserAgentSpecificMemory !== 'function') return undefined;
  // A measurement begun in the task that terminated a worker waits ~60 s for it to answer.
  await new Promise((resolve) => setTimeout(resolve, 250));
  let least;
  for (let i = 0; i < times; i++) {
    const m = await performance.measureUserAgentSpecificMemory();
    const seesWorker = m.breakdown.some((b) => b.attribution.some((a) => a.scope === 'DedicatedWorkerGlobalScope'));
    if (least === undefined || m.bytes < least.bytes) least = { bytes: m.bytes, seesWorker };
  }
  return least;
}
