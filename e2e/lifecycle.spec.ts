/**
 * Versions come and go while the page serves: polling picks up a published version with no
 * failed or lost request during the swap, removed versions unload, broken artifacts end in END
 * with their error while the serving version keeps serving, and reloadConfig changes the model list.
 */
import { test, expect, startServing, pageError, type Repo } from './fixtures.js';
import { mlpModel, mlpReference } from '../scripts/onnx-models.mjs';

const INPUT = Float32Array.from({ length: 16 }, (_, i) => (i - 8) / 4);

function mlpRepo(repo: Repo, versions: Record<number, number>): void {
  for (const [version, seed] of Object.entries(versions)) repo.writeFile('mlp', Number(version), 'model.onnx', mlpModel({ seed }));
  repo.publish('mlp');
}

const mlpConfig = (repo: Repo, extra: object = {}) => ({
  models: [{ name: 'mlp', basePath: repo.basePath('mlp'), ...extra }],
  executionProviders: ['wasm' as const],
  pollIntervalMs: 150,
});

function closeTo(actual: number[], expected: Float32Array): boolean {
  return actual.length === expected.length && actual.every((v, i) => Math.abs(v - expected[i]!) < 1e-4);
}

test('a version published while predictions run is picked up by polling; no request fails or is lost', async ({ harness, repo }) => {
  mlpRepo(repo, { 1: 1 });
  await startServing(harness, mlpConfig(repo));
  await harness.evaluate((input) => {
    const w = window as unknown as { loop: { stop: boolean; results: { version: number; y: number[] }[]; errors: string[]; sent: number; done: Promise<void> } };
    w.loop = { stop: false, results: [], errors: [], sent: 0, done: Promise.resolve() };
    w.loop.done = (async () => {
      while (!w.loop.stop) {
        // Four concurrent requests at a time, so requests are in flight on v1 when v2 arrives.
        const batch = Array.from({ length: 4 }, () => {
          w.loop.sent++;
          return window.serving
            .predict({ model: 'mlp', inputs: { x: { type: 'float32', dims: [1, 16], data: Float32Array.from(input) } } })
            .then((r) => void w.loop.results.push({ version: r.version, y: Array.from(r.outputs.y!.data as Float32Array) }), (e) => void w.loop.errors.push(`${e.code}: ${e.message}`));
        });
        await Promise.all(batch);
      }
    })();
  }, Array.from(INPUT));

  await expect.poll(() => harness.evaluate(() => (window as any).loop.results.length), { timeout: 10_000 }).toBeGreaterThan(20);
  mlpRepo(repo, { 1: 1, 2: 2 });
  await expect.poll(() => harness.evaluate(() => (window as any).loop.results.at(-1)?.version), { timeout: 30_000 }).toBe(2);
  // Keep going a little on v2, then stop.
  await harness.waitForTimeout(300);
  const loop = await harness.evaluate(async () => {
    const w = window as any;
    w.loop.stop = true;
    await w.loop.done;
    return { results: w.loop.results, errors: w.loop.errors, sent: w.loop.sent };
  });
  expect(loop.errors).toEqual([]);
  expect(loop.results.length).toBe(loop.sent);
  const versions = loop.results.map((r: { version: number }) => r.version);
  // Versions only move forward: once v2 answered, v1 never answered again.
  expect(versions.indexOf(2)).toBeGreaterThan(0);
  expect(versions.slice(versions.indexOf(2)).every((v: number) => v === 2)).toBe(true);
  const expected = { 1: mlpReference(INPUT, 1, { seed: 1 }), 2: mlpReference(INPUT, 1, { seed: 2 }) };
  // One assertion over all of them: the loop makes tens of thousands of requests.
  expect((loop.results as { version: 1 | 2; y: number[] }[]).filter((r) => !closeTo(r.y, expected[r.version]))).toEqual([]);
  // latest{1}: v1 was unloaded after v2 became available.
  await expect.poll(async () => (await harness.evaluate(() => window.serving.status('mlp'))).versions.map((v) => `${v.version}:${v.state}`)).toEqual(['2:AVAILABLE', '1:END']);
});

test('a version removed from the manifest is unloaded and latest falls back to the one below', async ({ harness, repo }) => {
  mlpRepo(repo, { 1: 1, 2: 2 });
  await startServing(harness, mlpConfig(repo, { modelVersionPolicy: { all: {} } }));
  expect(await harness.evaluate(async () => (await window.serving.metadata('mlp')).version)).toBe(2);
  repo.removeVersion('mlp', 2);
  repo.publish('mlp');
  await expect.poll(async () => (await harness.evaluate(() => window.serving.status('mlp'))).versions.map((v) => `${v.version}:${v.state}`), { timeout: 20_000 }).toEqual(['2:END', '1:AVAILABLE']);
  const error = await pageError(harness, `() => window.serving.predict({ model: 'mlp', version: 2, inputs: { x: { type: 'float32', dims: [1, 16], data: new Float32Array(16) } } })`);
  expect(error).toMatchObject({ model: 'mlp', version: 2 });
  expect(['NOT_FOUND', 'UNAVAILABLE']).toContain(error.code);
});

test('a corrupted artifact ends in END with DATA_LOSS and the serving version keeps serving', async ({ harness, repo }) => {
  mlpRepo(repo, { 1: 1 });
  await startServing(harness, { ...mlpConfig(repo), pollIntervalMs: 0 });
  repo.writeFile('mlp', 2, 'model.onnx', mlpModel({ seed: 2 }));
  repo.publish('mlp');
  const bytes = mlpModel({ seed: 2 });
  bytes[bytes.length - 1]! ^= 0xff; // same size, different SHA-256
  repo.writeFile('mlp', 2, 'model.onnx', bytes);
  await harness.evaluate(() => window.serving.poll());
  await expect.poll(async () => (await harness.evaluate(() => window.serving.status('mlp'))).versions.find((v) => v.version === 2)?.state, { timeout: 20_000 }).toBe('END');
  const status = await harness.evaluate(() => window.serving.status('mlp'));
  const v2 = status.versions.find((v) => v.version === 2)!;
  expect(v2.error).toMatchObject({ code: 'DATA_LOSS', model: 'mlp', version: 2 });
  expect(v2.error?.message).toMatch(/SHA-256|sha256/i);
  expect(status.versions.find((v) => v.version === 1)?.state).toBe('AVAILABLE');
  const served = await harness.evaluate(async () => (await window.serving.predict({ model: 'mlp', inputs: { x: { type: 'float32', dims: [1, 16], data: new Float32Array(16) } } })).version);
  expect(served).toBe(1);
});

test('an artifact that is not a valid model fails its load with the error on the version; retries are bounded', async ({ harness, repo }) => {
  mlpRepo(repo, { 1: 1 });
  // Without the artifact store: a retry would read the (verified) bytes from it, and the request count below would not see it.
  await startServing(harness, { ...mlpConfig(repo), pollIntervalMs: 0, maxLoadRetries: 1, loadRetryIntervalMs: 50, storage: { enabled: false } });
  mlpRepo(repo, { 1: 1, 2: 2 });
  repo.forgeFile('mlp', 2, 'model.onnx', new TextEncoder().encode('this is not an onnx model'));
  await harness.evaluate(() => window.serving.poll());
  await expect.poll(async () => (await harness.evaluate(() => window.serving.status('mlp'))).versions.find((v) => v.version === 2)?.state, { timeout: 20_000 }).toBe('END');
  const status = await harness.evaluate(() => window.serving.status('mlp'));
  const v2 = status.versions.find((v) => v.version === 2)!;
  expect(v2.error?.code).toBe('INVALID_ARGUMENT');
  expect(v2.error?.message).toMatch(/mlp.*version 2/);
  // latest{1} aspires only v2, but v1 is not unloaded for a version that never became available.
  expect(status.versions.find((v) => v.version === 1)?.state).toBe('AVAILABLE');
  const served = await harness.evaluate(async () => (await window.serving.predict({ model: 'mlp', inputs: { x: { type: 'float32', dims: [1, 16], data: new Float32Array(16) } } })).version);
  expect(served).toBe(1);
  const log = await (await harness.request.get('/__control/log')).json();
  expect(log[`${repo.url}mlp/2/model.onnx`].requests).toBe(2); // first attempt + one retry
});

test('reloadConfig adds and removes models and moves labels; a label on a version that is not AVAILABLE is FAILED_PRECONDITION', async ({ harness, repo }) => {
  mlpRepo(repo, { 1: 1, 2: 2 });
  repo.addVersion('vocab', 1, { model: 'vocab', version: 1 });
  repo.publish('vocab');
  await startServing(harness, mlpConfig(repo, { modelVersionPolicy: { all: {} }, versionLabels: { stable: 1 } }));
  const vocab = { name: 'vocab', basePath: repo.basePath('vocab') };
  const mlp = { name: 'mlp', basePath: repo.basePath('mlp'), modelVersionPolicy: { all: {} } };

  const bad = await pageError(harness, `(c) => window.serving.reloadConfig(c)`, { models: [{ ...mlp, versionLabels: { stable: 3 } }] });
  expect(bad).toMatchObject({ code: 'FAILED_PRECONDITION', model: 'mlp', label: 'stable' });
  expect((await harness.evaluate(() => window.serving.status('mlp'))).labels).toEqual({ stable: 1 });

  await harness.evaluate((c) => window.serving.reloadConfig(c), { models: [{ ...mlp, versionLabels: { stable: 2 } }, vocab] });
  await harness.evaluate(() => window.serving.waitForModels());
  const after = await harness.evaluate(async () => ({
    stable: (await window.serving.metadata('mlp', { label: 'stable' })).version,
    vocab: await window.serving.lookup({ model: 'vocab', keys: ['model'] }),
  }));
  expect(after.stable).toBe(2);
  expect(after.vocab.values).toEqual([4]);

  await harness.evaluate((c) => window.serving.reloadConfig(c), { models: [vocab] });
  const gone = await pageError(harness, `() => window.serving.predict({ model: 'mlp', inputs: { x: { type: 'float32', dims: [1, 16], data: new Float32Array(16) } } })`);
  expect(gone).toMatchObject({ code: 'NOT_FOUND', model: 'mlp' });
  // Its versions are unloaded; their END states stay visible in status, as TF Serving's monitor keeps them.
  await expect.poll(async () => (await harness.evaluate(() => window.serving.status('mlp'))).versions.map((v) => v.state)).toEqual(['END', 'END']);
  const invalid = await pageError(harness, `() => window.serving.reloadConfig({ models: [{ name: 'x', basePath: '/x', modelVersionPolicy: { latest: { numVersions: 0 } } }] })`);
  expect(invalid).toMatchObject({ code: 'INVALID_ARGUMENT', model: 'x' });
});

test('a lookup table is served: key → index, index → key, unknown → null, bad keys INVALID_ARGUMENT', async ({ harness, repo }) => {
  repo.addVersion('vocab', 1, { model: 'vocab', version: 1 });
  repo.writeFile('classes', 1, 'table.json', JSON.stringify({ 0: 'cat', 1: 'dog' }));
  repo.publish('vocab');
  repo.publish('classes');
  await startServing(harness, { models: [{ name: 'vocab', basePath: repo.basePath('vocab') }, { name: 'classes', basePath: repo.basePath('classes') }], pollIntervalMs: 0 });
  const r = await harness.evaluate(async () => ({
    byKey: await window.serving.lookup({ model: 'vocab', keys: ['the', 'serving', 'nope'] }),
    byIndex: await window.serving.lookup({ model: 'vocab', keys: [0, 3, 99] }),
    classes: await window.serving.lookup({ model: 'classes', keys: [1, 0] }),
    meta: await window.serving.metadata('vocab'),
    status: await window.serving.status('vocab'),
  }));
  expect(r.byKey).toEqual({ model: 'vocab', version: 1, values: [2, 3, null] });
  expect(r.byIndex.values).toEqual(['[PAD]', 'serving', null]);
  expect(r.classes.values).toEqual(['dog', 'cat']);
  expect(r.meta).toMatchObject({ platform: 'table', apis: ['lookup'], description: { tableType: 'vocabulary', size: 10 } });
  expect(r.status.versions[0]).toMatchObject({ version: 1, state: 'AVAILABLE' });
  const bad = await pageError(harness, `() => window.serving.lookup({ model: 'vocab', keys: ['a', 2] })`);
  expect(bad).toMatchObject({ code: 'INVALID_ARGUMENT', model: 'vocab', version: 1 });
  const onnx = await pageError(harness, `() => window.serving.predict({ model: 'vocab', inputs: {} })`);
  expect(onnx).toMatchObject({ code: 'INVALID_ARGUMENT', model: 'vocab', version: 1 });
  expect(onnx.message).toMatch(/lookup\(\)/);
});
