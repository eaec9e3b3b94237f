/**
 * Runner workers in real Chromium: each ONNX version runs in a runner of its own; unloading a
 * version terminates its runner and gives its memory back; a runner or the control worker that
 * dies is seen within 2 s, its requests fail UNAVAILABLE (retryable), and it comes back from the
 * artifact store with 0 artifact bytes; close() ends everything within a second, even mid-run;
 * a runtime that cannot start names its asset and recovers once the asset is back.
 * The test server's request log (/__control/log) witnesses what crossed the network.
 */
import type { Page } from '@playwright/test';
import { test, expect, startServing, type Repo } from './fixtures.js';
import { largeModel, mlpModel, mlpReference, slowModel } from '../scripts/onnx-models.mjs';

const INPUT = Float32Array.from({ length: 16 }, (_, i) => (i - 8) / 4);

function mlpRepo(repo: Repo, versions: Record<number, number>): void {
  for (const [version, seed] of Object.entries(versions)) repo.writeFile('mlp', Number(version), 'model.onnx', mlpModel({ seed }));
  repo.publish('mlp');
}

const mlpConfig = (repo: Repo, extra: object = {}, server: object = {}) => ({
  models: [{ name: 'mlp', basePath: repo.basePath('mlp'), ...extra }],
  executionProviders: ['wasm' as const],
  pollIntervalMs: 0,
  wasm: { numThreads: 1 },
  ...server,
});

/** Predicts on the MLP in the page; resolves with the version and outputs, or the error's code and fields. */
async function predictMlp(page: Page, select: object = {}) {
  return page.evaluate(async ({ input, select }) => {
    try {
      const r = await window.serving.predict({ model: 'mlp', ...select, inputs: { x: { type: 'float32', dims: [1, 16], data: Float32Array.from(input) } } });
      return { version: r.version, y: Array.from(r.outputs.y!.data as Float32Array) };
    } catch (e) {
      const error = e as { code: string; message: string; data?: Record<string, unknown> };
      return { code: error.code, message: error.message, retryable: error.data?.retryable };
    }
  }, { input: Array.from(INPUT), select });
}

function expectMlp(result: { y?: number[] }, seed: number): void {
  const expected = mlpReference(INPUT, 1, { seed });
  expect(result.y).toHaveLength(expected.length);
  result.y!.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 4));
}

async function artifactRequests(page: Page, prefix: string): Promise<number> {
  const log: Record<string, { requests: number }> = await (await page.request.get('/__control/log')).json();
  return Object.entries(log).filter(([path]) => path.startsWith(prefix) && !path.endsWith('manifest.json')).reduce((n, [, e]) => n + e.requests, 0);
}

test('each ONNX version runs in a runner of its own; unloading a version terminates its runner', async ({ harness, repo }) => {
  mlpRepo(repo, { 1: 1, 2: 2 });
  await startServing(harness, mlpConfig(repo, { modelVersionPolicy: { all: {} } }, { pollIntervalMs: 100 }));
  const runners = await harness.evaluate(() => window.serving.debug.runners());
  expect(runners).toHaveLength(2);
  expect(runners.map((r) => r.servables).flat().sort()).toEqual(['"mlp"@1', '"mlp"@2']);
  const status = await harness.evaluate(() => window.serving.status('mlp'));
  for (const v of status.versions) expect(v.description).toMatchObject({ platform: 'onnx', provider: 'wasm', runner: expect.stringMatching(/^browserving-runner-/) });
  expectMlp(await predictMlp(harness, { version: 1 }), 1);
  expectMlp(await predictMlp(harness, { version: 2 }), 2);

  repo.removeVersion('mlp', 1);
  repo.publish('mlp');
  await expect.poll(() => harness.evaluate(() => window.serving.debug.runners().length), { timeout: 10_000 }).toBe(1);
  expect((await predictMlp(harness, { version: 1 })).code).toBe('NOT_FOUND');
  expectMlp(await predictMlp(harness), 2);
});

test('a runner killed mid-request: UNAVAILABLE (retryable) within 2 s, then served by a new runner with 0 artifact bytes', async ({ harness, repo }) => {
  mlpRepo(repo, { 1: 1 });
  // A batch that waits a minute for company keeps the request in flight in the runner.
  await startServing(harness, mlpConfig(repo, { batching: { maxBatchSize: 8, batchTimeoutMicros: 60_000_000 } }));
  const before = await artifactRequests(harness, `${repo.url}mlp/`);
  const outcome = await harness.evaluate(async (input) => {
    const [runner] = window.serving.debug.runners();
    const events: string[] = ((window as any).runnerEvents = []);
    window.serving.subscribe((e) => {
      if (e.type === 'runner') events.push(e.runner.state);
    });
    const inflight = window.serving.predict({ model: 'mlp', inputs: { x: { type: 'float32', dims: [1, 16], data: Float32Array.from(input) } } });
    await new Promise((r) => setTimeout(r, 200));
    const pending = window.serving.debug.runners()[0]!.pending;
    const killedAt = performance.now();
    await window.serving.debug.fault(runner!.runner, 'terminate');
    const error = await inflight.then(() => undefined, (e) => ({ code: e.code, message: e.message, retryable: e.data?.retryable, model: e.model, version: e.version }));
    return { error, ms: performance.now() - killedAt, old: runner!.runner, pending };
  }, Array.from(INPUT));
  expect(outcome.pending).toBe(1);
  expect(outcome.error).toMatchObject({ code: 'UNAVAILABLE', retryable: true, model: 'mlp', version: 1 });
  expect(outcome.error!.message).toMatch(/retry/);
  expect(outcome.ms).toBeLessThan(2000);
  // The next request (a full batch of 8 rows, so it runs at once) waits for the new runner and is served by it.
  const rows = await harness.evaluate(async (input) => {
    const x = new Float32Array(8 * 16);
    for (let r = 0; r < 8; r++) x.set(input, r * 16);
    const response = await window.serving.predict({ model: 'mlp', inputs: { x: { type: 'float32', dims: [8, 16], data: x } } });
    return Array.from(response.outputs.y!.data as Float32Array).slice(0, 4);
  }, Array.from(INPUT));
  expectMlp({ y: rows }, 1);
  const runners = await harness.evaluate(() => window.serving.debug.runners());
  expect(runners).toHaveLength(1);
  expect(runners[0]!.runner).not.toBe(outcome.old);
  expect(await artifactRequests(harness, `${repo.url}mlp/`)).toBe(before);
  expect(await harness.evaluate(() => (window as any).runnerEvents)).toEqual(['exited', 'restarting', 'restarted']);
  const version = (await harness.evaluate(() => window.serving.status('mlp'))).versions[0]!;
  expect(version).toMatchObject({ state: 'AVAILABLE', description: { restarts: 1, lastExit: expect.stringMatching(/ended/), runner: runners[0]!.runner } });
});

test('a runner killed while busy in a long run: its request fails UNAVAILABLE once Chromium has ended the thread', async ({ harness, repo }) => {
  mlpRepo(repo, { 1: 1 });
  await startServing(harness, mlpConfig(repo));
  const outcome = await harness.evaluate(async (input) => {
    const [runner] = window.serving.debug.runners();
    // The runner's thread is busy for 10 s, as in a long WASM run.
    await window.serving.debug.fault(runner!.runner, 'hang', 10_000);
    const inflight = window.serving.predict({ model: 'mlp', inputs: { x: { type: 'float32', dims: [1, 16], data: Float32Array.from(input) } } });
    await new Promise((r) => setTimeout(r, 200));
    const killedAt = performance.now();
    await window.serving.debug.fault(runner!.runner, 'terminate');
    const error = await inflight.then(() => undefined, (e) => ({ code: e.code, retryable: e.data?.retryable }));
    return { error, ms: performance.now() - killedAt };
  }, Array.from(INPUT));
  expect(outcome.error).toEqual({ code: 'UNAVAILABLE', retryable: true });
  // Chromium gives a worker busy in JS/WASM a grace period (~2 s) before it forcibly ends it.
  expect(outcome.ms).toBeLessThan(3000);
  expectMlp(await predictMlp(harness), 1);
});

test('a runner that closes itself or aborts is replaced the same way, and says why', async ({ harness, repo }) => {
  mlpRepo(repo, { 1: 1 });
  await startServing(harness, mlpConfig(repo));
  for (const fault of ['close', 'abort'] as const) {
    const old = await harness.evaluate(async (fault) => {
      const [runner] = window.serving.debug.runners();
      await window.serving.debug.fault(runner!.runner, fault);
      return runner!.runner;
    }, fault);
    await expect.poll(() => harness.evaluate(() => window.serving.debug.runners()[0]?.runner), { timeout: 10_000 }).not.toBe(old);
    expectMlp(await predictMlp(harness), 1);
  }
  const version = (await harness.evaluate(() => window.serving.status('mlp'))).versions[0]!;
  expect(version.description).toMatchObject({ restarts: 2, lastExit: expect.stringMatching(/aborted/) });
});

test('the control worker killed: its calls fail UNAVAILABLE within 2 s, then it restarts and serves with 0 artifact bytes', async ({ harness, repo }) => {
  mlpRepo(repo, { 1: 1 });
  await startServing(harness, mlpConfig(repo));
  expectMlp(await predictMlp(harness), 1);
  const before = await artifactRequests(harness, `${repo.url}mlp/`);
  // A poll that hangs on the manifest is in flight on the control worker when it dies.
  await harness.request.post('/__control/faults', { data: [{ prefix: `${repo.url}mlp/manifest.json`, delayMs: 5000, times: 1 }] });
  const outcome = await harness.evaluate(async () => {
    const events: string[] = [];
    window.serving.subscribe((e) => {
      if (e.type === 'control') events.push(e.state);
    });
    const inflight = window.serving.poll();
    await new Promise((r) => setTimeout(r, 200));
    const killedAt = performance.now();
    await window.serving.debug.fault('control', 'terminate');
    const error = await inflight.then(() => undefined, (e) => ({ code: e.code, retryable: e.data?.retryable }));
    const ms = performance.now() - killedAt;
    // Calls made meanwhile wait for the new control worker.
    const status = await window.serving.status('mlp');
    return { error, ms, events, state: status.versions[0]?.state };
  });
  expect(outcome.error).toEqual({ code: 'UNAVAILABLE', retryable: true });
  expect(outcome.ms).toBeLessThan(2000);
  expect(outcome.events).toEqual(['exited', 'restarted']);
  expect(outcome.state).toBe('AVAILABLE');
  expectMlp(await predictMlp(harness), 1);
  expect(await artifactRequests(harness, `${repo.url}mlp/`)).toBe(before);
});

test('close() during a long run settles within 1 s; the run is CANCELLED', async ({ harness, repo }) => {
  repo.writeFile('slow', 1, 'model.onnx', slowModel({ size: 512, repeats: 160, rows: 512 }));
  repo.publish('slow');
  await startServing(harness, { models: [{ name: 'slow', basePath: repo.basePath('slow') }], executionProviders: ['wasm'], pollIntervalMs: 0, wasm: { numThreads: 1 } });
  const r = await harness.evaluate(async () => {
    const x = () => ({ x: { type: 'float32' as const, dims: [512, 512], data: new Float32Array(512 * 512).fill(0.01) } });
    let t = performance.now();
    await window.serving.predict({ model: 'slow', inputs: x() });
    const runMs = performance.now() - t;
    const running = window.serving.predict({ model: 'slow', inputs: x() }).then(() => 'ok', (e) => e.code);
    await new Promise((r) => setTimeout(r, 100));
    t = performance.now();
    await window.serving.close();
    const closeMs = performance.now() - t;
    return { runMs, closeMs, outcome: await running };
  });
  // The run is long enough for close() to land in the middle of one.
  expect(r.runMs).toBeGreaterThan(1000);
  expect(r.closeMs).toBeLessThan(1000);
  expect(r.outcome).toBe('CANCELLED');
});

test('memory: unloading a large version gives back what loading it took (within 5 %)', async ({ harness, repo }) => {
  const bytes = largeModel({ bytes: 64 * 1024 * 1024, seed: 1 });
  repo.writeFile('big', 1, 'model.onnx', bytes);
  repo.publish('big');
  mlpRepo(repo, { 1: 1 });
  await startServing(harness, mlpConfig(repo));
  const measure = () => harness.evaluate(async () => {
    // Several measurements, the smallest: garbage collected between them is not held memory.
    let least = Infinity;
    for (let i = 0; i < 3; i++) least = Math.min(least, (await (performance as any).measureUserAgentSpecificMemory()).bytes);
    return least;
  });
  const before = await measure();
  const mlp = { name: 'mlp', basePath: repo.basePath('mlp') };
  await harness.evaluate((models) => window.serving.reloadConfig({ models }), [mlp, { name: 'big', basePath: repo.basePath('big') }]);
  await expect.poll(() => harness.evaluate(() => window.serving.status('big').then((s) => s.versions[0]?.state)), { timeout: 60_000 }).toBe('AVAILABLE');
  const loaded = await measure();
  await harness.evaluate((models) => window.serving.reloadConfig({ models }), [mlp]);
  await expect.poll(() => harness.evaluate(() => window.serving.debug.runners().length), { timeout: 30_000 }).toBe(1);
  // A measurement taken while the terminated worker is still being torn down can wait for
  // Chromium's measurement timeout (a minute): give the teardown a moment first.
  await harness.waitForTimeout(1000);
  const after = await measure();
  // The version really held its weights (a sanity check of the measurement itself).
  expect(loaded - before).toBeGreaterThan(bytes.byteLength * 0.9);
  expect(after / before).toBeLessThan(1.05);
});

test('ORT\'s .wasm missing: UNAVAILABLE naming the asset; once it is back, the next version loads in a new runner', async ({ harness, repo }) => {
  mlpRepo(repo, { 1: 1 });
  await harness.request.post('/__control/faults', { data: [{ prefix: '/dist/ort-wasm-simd-threaded', status: 404 }] });
  await startServing(harness, mlpConfig(repo, {}, { maxLoadRetries: 0, pollIntervalMs: 0 }));
  const failed = (await harness.evaluate(() => window.serving.status('mlp'))).versions[0]!;
  expect(failed.state).toBe('END');
  expect(failed.error).toMatchObject({ code: 'UNAVAILABLE', model: 'mlp', version: 1 });
  expect(failed.error!.message).toMatch(/ort-wasm[^ ]*\.wasm answered HTTP 404/);
  expect(failed.error!.message).toMatch(/wasm-unsafe-eval/);
  expect(await harness.evaluate(() => window.serving.debug.runners().length)).toBe(0);

  await harness.request.post('/__control/faults', { data: [] });
  mlpRepo(repo, { 1: 1, 2: 2 });
  await harness.evaluate(() => window.serving.poll());
  await expect.poll(() => harness.evaluate(() => window.serving.status('mlp').then((s) => s.versions.find((v) => v.version === 2)?.state)), { timeout: 30_000 }).toBe('AVAILABLE');
  expectMlp(await predictMlp(harness), 2);
});

test('maxRunMs: a run stuck past the limit gets DEADLINE_EXCEEDED, and the runner is recycled', async ({ harness, repo }) => {
  mlpRepo(repo, { 1: 1 });
  await startServing(harness, mlpConfig(repo, { maxRunMs: 300 }));
  const outcome = await harness.evaluate(async (input) => {
    const [runner] = window.serving.debug.runners();
    await window.serving.debug.fault(runner!.runner, 'hang', 5000);
    const started = performance.now();
    const error = await window.serving.predict({ model: 'mlp', inputs: { x: { type: 'float32', dims: [1, 16], data: Float32Array.from(input) } } }).then(() => undefined, (e) => ({ code: e.code, message: e.message }));
    return { error, ms: performance.now() - started, old: runner!.runner };
  }, Array.from(INPUT));
  expect(outcome.error).toMatchObject({ code: 'DEADLINE_EXCEEDED', message: expect.stringMatching(/maxRunMs \(300 ms\)/) });
  expect(outcome.ms).toBeLessThan(1500);
  expectMlp(await predictMlp(harness), 1);
  const version = (await harness.evaluate(() => window.serving.status('mlp'))).versions[0]!;
  expect(version.description).toMatchObject({ restarts: 1, lastExit: expect.stringMatching(/maxRunMs/) });
  expect(version.description!.runner).not.toBe(outcome.old);
});
