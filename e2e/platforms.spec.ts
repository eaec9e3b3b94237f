/**
 * Platforms in Chromium: an app registers platform modules by URL (e2e/pages/platforms/*.js,
 * served at /e2e/platforms/), their versions' side files come through the artifact store, their
 * servables run in runner workers and answer call, lookup, predict and predictStream.
 */
import { test, expect, pageError, startServing, type Repo } from './fixtures.js';
import { mlpModel, mlpReference } from '../scripts/onnx-models.mjs';

/** Writes the version's files and its manifest with the CLI (`--platform`: every file a side file). */
function publishPlatform(repo: Repo, model: string, platform: string, files: Record<string, string | Uint8Array>): void {
  for (const [path, bytes] of Object.entries(files)) repo.writeFile(model, 1, path, bytes);
  repo.publish(model, {}, { platform });
}

const PLATFORMS = {
  tokenizer: '/e2e/platforms/tokenizer-platform.js',
  counter: '/e2e/platforms/counter-platform.js',
  decoder: '/e2e/platforms/decoder-platform.js',
  missing: '/e2e/platforms/no-such-platform.js',
};

test("an app's platform serves from its module in a runner: methods, lookup, predict, side files, metadata; unloading ends its runner", async ({ harness, repo }) => {
  publishPlatform(repo, 'tok', 'tokenizer', { 'vocab.json': JSON.stringify(['hello', 'browser', 'serving']), 'NOTICE.txt': 'side file' });
  await startServing(harness, { models: [{ name: 'tok', basePath: repo.basePath('tok'), platformConfig: { lowercase: true } }], platforms: PLATFORMS, executionProviders: ['wasm'], pollIntervalMs: 0 });
  const r = await harness.evaluate(async () => {
    const s = window.serving!;
    const encoded = await s.call({ model: 'tok', method: 'encode', args: 'Browser SERVING x' });
    const looked = await s.lookup({ model: 'tok', keys: ['hello', 'nope'] });
    const predicted = await s.predict({ model: 'tok', inputs: { text: { type: 'string', data: ['hello serving'], dims: [1] } } });
    const metadata = await s.metadata('tok');
    const runners = s.debug.runners();
    const stored = await s.storage.list();
    await s.reloadConfig({ models: [] });
    // The version unloads, then its runner, hosting nothing more, is terminated.
    const until = performance.now() + 10_000;
    while (s.debug.runners().length > 0 && performance.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
    return { encoded, looked, ids: Array.from(predicted.outputs.ids!.data as Int32Array), metadata, runners, stored, after: s.debug.runners().length };
  });
  expect(r.encoded).toEqual({ model: 'tok', version: 1, value: [1, 2, -1] });
  expect(r.looked.values).toEqual([0, null]);
  expect(r.ids).toEqual([0, 2]);
  expect(r.metadata).toMatchObject({ platform: 'tokenizer', apis: ['predict', 'lookup', 'call:encode', 'call:decode', 'call:failPlain', 'call:failCoded'], description: { vocabulary: 3, lowercase: true } });
  expect(r.runners).toHaveLength(1);
  expect(r.runners[0]!.servables).toEqual(['"tok"@1']);
  // Side files are stored and verified like model files.
  expect(r.stored.find((v) => v.model === 'tok')).toMatchObject({ version: 1, complete: true });
  expect(r.after).toBe(0);

  const plain = await pageError(harness, `() => window.serving.call({ model: 'tok', method: 'nothing' })`);
  expect(plain).toMatchObject({ code: 'NOT_FOUND', model: 'tok' });
});

test('predictStream in the page: every step, back-pressure, break and AbortSignal stop the servable; a decoder loop runs its own ONNX session', async ({ harness, repo }) => {
  publishPlatform(repo, 'count', 'counter', { 'params.json': '{}' });
  publishPlatform(repo, 'dec', 'decoder', { 'step.onnx': mlpModel({ inputSize: 16, hidden: 8, outputSize: 4, seed: 5 }) });
  await startServing(harness, {
    models: [
      { name: 'count', basePath: repo.basePath('count'), platformConfig: { stepMs: 10 } },
      { name: 'dec', basePath: repo.basePath('dec'), platformConfig: { steps: 4 } },
    ],
    platforms: PLATFORMS,
    executionProviders: ['wasm'],
    pollIntervalMs: 0,
  });
  const x = Array.from({ length: 16 }, (_, i) => Math.cos(i));
  const r = await harness.evaluate(async (x) => {
    const s = window.serving!;
    const n = (v: number) => ({ n: { type: 'int32' as const, data: Int32Array.of(v), dims: [1] } });
    const stats = async () => (await s.call<{ produced: number; stopped: number; finished: number }>({ model: 'count', method: 'stats' })).value;
    const all: number[] = [];
    for await (const step of s.predictStream({ model: 'count', inputs: n(6) })) all.push((step.outputs.step!.data as Int32Array)[0]!);
    // A slow consumer: the runner stays at most highWaterMark ahead.
    const before = (await stats()).produced;
    const slow = s.predictStream({ model: 'count', inputs: n(1000), highWaterMark: 2 });
    await slow.next();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const ahead = (await stats()).produced - before;
    await slow.return(undefined);
    for await (const step of s.predictStream({ model: 'count', inputs: n(1000) })) if ((step.outputs.step!.data as Int32Array)[0] === 3) break;
    const controller = new AbortController();
    let aborted: unknown;
    try {
      for await (const step of s.predictStream({ model: 'count', inputs: n(1000), signal: controller.signal })) if ((step.outputs.step!.data as Int32Array)[0] === 2) controller.abort();
    } catch (error) {
      aborted = { code: (error as { code: string }).code, isServingError: error instanceof window.browserving.ServingError };
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    const decoded: number[][] = [];
    for await (const step of s.predictStream({ model: 'dec', inputs: { x: { type: 'float32', data: Float32Array.from(x), dims: [1, 16] } } })) decoded.push(Array.from(step.outputs.y!.data as Float32Array));
    return { all, ahead, aborted, stats: await stats(), decoded };
  }, x);
  expect(r.all).toEqual([0, 1, 2, 3, 4, 5]);
  expect(r.ahead).toBeLessThanOrEqual(1 + 2);
  expect(r.aborted).toEqual({ code: 'CANCELLED', isServingError: true });
  // The slow one, the one left with break and the aborted one were stopped in the servable.
  expect(r.stats).toMatchObject({ stopped: 3, finished: 1 });
  expect(r.decoded).toHaveLength(4);
  let input = Float32Array.from(x);
  for (const y of r.decoded) {
    const expected = mlpReference(input, 1, { inputSize: 16, hidden: 8, outputSize: 4, seed: 5 });
    expect(Math.max(...y.map((v, i) => Math.abs(v - expected[i]!)))).toBeLessThan(1e-4);
    input = Float32Array.from({ length: 16 }, (_, j) => y[j % 4]!);
  }
});

test('a platform module that cannot be imported ends its version with FAILED_PRECONDITION naming the URL; other models keep serving', async ({ harness, repo }) => {
  publishPlatform(repo, 'gone', 'missing', { 'a.txt': 'a' });
  publishPlatform(repo, 'tok', 'tokenizer', { 'vocab.json': '["a"]' });
  await startServing(harness, { models: [{ name: 'gone', basePath: repo.basePath('gone') }, { name: 'tok', basePath: repo.basePath('tok') }], platforms: PLATFORMS, executionProviders: ['wasm'], pollIntervalMs: 0, maxLoadRetries: 0 });
  const r = await harness.evaluate(async () => ({ status: await window.serving!.status('gone'), encoded: await window.serving!.call({ model: 'tok', method: 'encode', args: 'a' }) }));
  expect(r.status.versions[0]).toMatchObject({ state: 'END', error: { code: 'FAILED_PRECONDITION' } });
  expect(r.status.versions[0]!.error!.message).toMatch(/the module of platform "missing" \(http:\/\/127\.0\.0\.1:\d+\/e2e\/platforms\/no-such-platform\.js\) could not be imported/);
  expect(r.encoded.value).toEqual([0]);
  const predictOnIt = await pageError(harness, `() => window.serving.predict({ model: 'gone', inputs: {} })`);
  expect(predictOnIt).toMatchObject({ code: 'UNAVAILABLE', model: 'gone' });
});

test('a streaming servable: a new version under a stream loop fails no stream (open ones finish on the old version); offline, a reloaded page streams from the store', async ({ harness, repo }) => {
  publishPlatform(repo, 'count', 'counter', { 'params.json': '{}' });
  const config = { models: [{ name: 'count', basePath: repo.basePath('count'), platformConfig: { stepMs: 5 } }], platforms: PLATFORMS, executionProviders: ['wasm' as const], pollIntervalMs: 0 };
  await startServing(harness, config);
  const loop = harness.evaluate(async () => {
    const s = window.serving!;
    const streams: { versions: number[]; steps: number[] }[] = [];
    const failures: string[] = [];
    const until = performance.now() + 60_000;
    let swapped = false;
    void (async () => {
      while (!swapped && performance.now() < until) {
        swapped = (await s.status('count')).versions.some((v) => v.version === 1 && v.state === 'END');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    for (let after = 0; after < 5 && performance.now() < until; after += swapped ? 1 : 0) {
      const seen = { versions: [] as number[], steps: [] as number[] };
      try {
        for await (const step of s.predictStream({ model: 'count', inputs: { n: { type: 'int32', data: Int32Array.of(5), dims: [1] } } })) {
          seen.versions.push(step.version);
          seen.steps.push((step.outputs.step!.data as Int32Array)[0]!);
        }
        streams.push(seen);
      } catch (error) {
        failures.push(String(error));
      }
    }
    return { streams, failures, swapped };
  });
  await harness.waitForTimeout(300);
  repo.writeFile('count', 2, 'params.json', '{"v":2}');
  repo.publish('count', {}, { platform: 'counter' });
  await harness.evaluate(() => window.serving!.poll());
  const r = await loop;
  expect(r.failures).toEqual([]);
  expect(r.swapped).toBe(true);
  // Every stream is whole and comes from one version; both versions answered.
  for (const stream of r.streams) {
    expect(stream.steps).toEqual([0, 1, 2, 3, 4]);
    expect(new Set(stream.versions).size).toBe(1);
  }
  expect(new Set(r.streams.map((s) => s.versions[0]))).toEqual(new Set([1, 2]));

  await harness.request.post('/__control/faults', { data: [{ prefix: repo.url, offline: true }] });
  await harness.reload();
  await harness.waitForFunction(() => window.harnessReady === true);
  await startServing(harness, config);
  const offline = await harness.evaluate(async () => {
    const steps: [number, number][] = [];
    for await (const step of window.serving!.predictStream({ model: 'count', inputs: { n: { type: 'int32', data: Int32Array.of(3), dims: [1] } } })) steps.push([step.version, (step.outputs.step!.data as Int32Array)[0]!]);
    return steps;
  });
  expect(offline).toEqual([[2, 0], [2, 1], [2, 2]]);
});
