/**
 * Batching through InProcessServing in Node, with the real onnxruntime-web (WASM) running the
 * generated MLP: merged runs, each caller's own rows, padding, queue limits, deadlines and
 * cancellation while queued, the load-time batch-dimension check, and unload waiting for
 * batched requests.
 *
 * Requests issued in one synchronous stretch reach the batch scheduler before it takes a batch
 * (it yields to the event loop first), so which requests share a run is deterministic here.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BatchingConfig, ModelConfig, PredictResponse, TensorData } from '../../protocol.js';
import { FakeRepository } from '../../test-util/fake-repository.js';
import { loadOnnxModels, type MlpOptions } from '../../test-util/onnx-models.js';
import { InProcessServing } from '../../test-util/in-process-serving.js';

const onnx = await loadOnnxModels();
const MLP: MlpOptions = { inputSize: 16, hidden: 32, outputSize: 4, seed: 1 };

/** Row-major [rows, 16] features, different for every `seed`. */
function features(rows: number, seed: number): Float32Array {
  return Float32Array.from({ length: rows * 16 }, (_, i) => Math.sin(i * 0.37 + seed * 1.3) * 2);
}

const inputsOf = (x: Float32Array, rows: number): Record<string, TensorData> => ({ x: { type: 'float32', data: x, dims: [rows, 16] } });

/** Asserts that `response.outputs.y` is exactly the MLP applied to this caller's rows. */
function expectOwnRows(response: PredictResponse, x: Float32Array, rows: number): void {
  const y = response.outputs.y!;
  expect(y.dims).toEqual([rows, 4]);
  const expected = onnx.mlpReference(x, rows, MLP);
  const actual = y.data as Float32Array;
  expect(actual).toHaveLength(expected.length);
  expect(Math.max(0, ...actual.map((v, i) => Math.abs(v - expected[i]!)))).toBeLessThan(1e-5);
}

const outcome = (p: Promise<unknown>) => p.then(() => 'ok', (e: { code?: string }) => e.code ?? String(e));

describe('InProcessServing with batching (onnxruntime-web WASM)', () => {
  let repo: FakeRepository;
  let server: InProcessServing | undefined;

  beforeEach(async () => {
    repo = new FakeRepository();
    await repo.publish('mlp', 1, { 'model.onnx': onnx.mlpModel(MLP) });
  });

  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function start(batching: BatchingConfig | undefined, models: ModelConfig[] = []): Promise<InProcessServing> {
    const mlp: ModelConfig = { name: 'mlp', basePath: repo.basePath('mlp'), ...(batching ? { batching } : {}) };
    server = await InProcessServing.create(
      { pollIntervalMs: 0, executionProviders: ['wasm'], wasm: { numThreads: 1 }, maxLoadRetries: 0, models: [mlp, ...models] },
      { fetch: repo.fetch },
    );
    await server.waitForModels(20_000);
    return server;
  }

  it('serves 32 concurrent requests in fewer session runs than requests, each caller getting exactly its own rows', async () => {
    const s = await start({ maxBatchSize: 64 });
    const rows = Array.from({ length: 32 }, (_, i) => 1 + (i % 3));
    const xs = rows.map((r, i) => features(r, i));
    const responses = await Promise.all(xs.map((x, i) => s.predict({ model: 'mlp', inputs: inputsOf(x, rows[i]!) })));
    responses.forEach((response, i) => expectOwnRows(response, xs[i]!, rows[i]!));
    const metrics = (await s.metrics()).models.mlp!;
    expect(metrics.requests).toBe(32);
    expect(metrics.runs).toBeLessThan(32);
    expect(metrics.batching).toMatchObject({ batches: metrics.runs, requests: 32, paddingRows: 0 });
    expect(metrics.batching!.maxBatchSize).toBeGreaterThan(1);
  });

  it('without batching every request is its own run', async () => {
    const s = await start(undefined);
    await Promise.all([1, 2, 3, 4].map((i) => s.predict({ model: 'mlp', inputs: inputsOf(features(1, i), 1) })));
    const metrics = (await s.metrics()).models.mlp!;
    expect(metrics.runs).toBe(4);
    expect(metrics.batching).toBeUndefined();
  });

  it('pads a batch to the next allowed size and drops the padding from every answer', async () => {
    const s = await start({ maxBatchSize: 8, allowedBatchSizes: [4, 8] });
    const xs = [1, 2, 3].map((i) => features(1, i));
    const responses = await Promise.all(xs.map((x) => s.predict({ model: 'mlp', inputs: inputsOf(x, 1) })));
    responses.forEach((response, i) => expectOwnRows(response, xs[i]!, 1));
    const metrics = (await s.metrics()).models.mlp!;
    expect(metrics.runs).toBe(1);
    expect(metrics.batching).toMatchObject({ batches: 1, requests: 3, maxBatchSize: 3, paddingRows: 1 });
  });

  it('a full batch queue rejects with UNAVAILABLE naming the model and version, and the queued request still succeeds', async () => {
    const s = await start({ maxBatchSize: 1, maxEnqueuedBatches: 1 });
    const xs = [1, 2, 3, 4].map((i) => features(1, i));
    const settled = await Promise.allSettled(xs.map((x) => s.predict({ model: 'mlp', inputs: inputsOf(x, 1) })));
    expect(settled.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'rejected']);
    expectOwnRows((settled[0] as PromiseFulfilledResult<PredictResponse>).value, xs[0]!, 1);
    expect((settled[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'UNAVAILABLE', model: 'mlp', version: 1, message: expect.stringMatching(/queue is full/) });
    expect((await s.metrics()).models.mlp!.errors.UNAVAILABLE).toBe(3);
    // Once the queue drains, requests are accepted again.
    expectOwnRows(await s.predict({ model: 'mlp', inputs: inputsOf(xs[1]!, 1) }), xs[1]!, 1);
  });

  it('a request whose deadline passes or whose signal aborts while its batch waits is removed: DEADLINE_EXCEEDED / CANCELLED', async () => {
    // The batch waits a minute for company; the deadline and the abort come long before.
    const s = await start({ maxBatchSize: 4, batchTimeoutMicros: 60_000_000 });
    const late = await outcome(s.predict({ model: 'mlp', inputs: inputsOf(features(1, 1), 1), timeoutMs: 20 }));
    expect(late).toBe('DEADLINE_EXCEEDED');
    const controller = new AbortController();
    const cancelled = s.predict({ model: 'mlp', inputs: inputsOf(features(1, 2), 1), signal: controller.signal });
    controller.abort();
    expect(await outcome(cancelled)).toBe('CANCELLED');
    // Four rows fill a batch, which runs without waiting for the timeout; the removed requests are not in it.
    const xs = [3, 4, 5, 6].map((i) => features(1, i));
    const responses = await Promise.all(xs.map((x) => s.predict({ model: 'mlp', inputs: inputsOf(x, 1) })));
    responses.forEach((response, i) => expectOwnRows(response, xs[i]!, 1));
    const metrics = (await s.metrics()).models.mlp!;
    expect(metrics.runs).toBe(1);
    expect(metrics.batching).toMatchObject({ batches: 1, requests: 4 });
    expect(metrics.errors).toMatchObject({ DEADLINE_EXCEEDED: 1, CANCELLED: 1 });
  });

  it('a version whose signature has no batch dimension fails to load with FAILED_PRECONDITION naming the input', async () => {
    await repo.publish('fixed', 1, { 'model.onnx': onnx.identityModel({ shape: [1, 4] }) });
    const s = await start(undefined, [{ name: 'fixed', basePath: repo.basePath('fixed'), batching: { maxBatchSize: 8 } }]);
    const [version] = s.status('fixed').versions;
    expect(version).toMatchObject({ version: 1, state: 'END', error: { code: 'FAILED_PRECONDITION', model: 'fixed', version: 1, input: 'x' } });
    expect(version!.error!.message).toMatch(/no batch dimension/);
  });

  it('unloading a version waits for the batched requests in flight, which all complete', async () => {
    const s = await start({ maxBatchSize: 4 });
    const xs = Array.from({ length: 8 }, (_, i) => features(1, i));
    const inflight = xs.map((x) => s.predict({ model: 'mlp', inputs: inputsOf(x, 1) }));
    await s.reloadConfig({ models: [] });
    const responses = await Promise.all(inflight);
    responses.forEach((response, i) => expectOwnRows(response, xs[i]!, 1));
  });
});
