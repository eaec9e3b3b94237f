/**
 * Misconfiguration is loud: a repository that cannot be read is said in the console (URL and HTTP
 * status), inside the errors of requests for that model, and — with `requireModels` — by
 * `createServing` itself.
 */
import { test, expect, startServing, pageError } from './fixtures.js';
import { mlpModel } from '../scripts/onnx-models.mjs';

test('a wrong basePath: a console warning naming the URL and the 404, and the cause in request errors', async ({ harness, repo }) => {
  const warnings: string[] = [];
  harness.on('console', (m) => {
    if (m.type() === 'warning') warnings.push(m.text());
  });
  await startServing(harness, { models: [{ name: 'm', basePath: `${repo.url}nowhere` }], executionProviders: ['wasm'], pollIntervalMs: 0 });
  await expect.poll(() => warnings.find((w) => w.includes('nowhere/manifest.json'))).toMatch(/answered HTTP 404.*manifest/);
  const error = await pageError(harness, `() => window.serving.predict({ model: 'm', inputs: {} })`);
  expect(error.code).toMatch(/UNAVAILABLE|NOT_FOUND/);
  expect(error.message).toMatch(/nowhere\/manifest\.json answered HTTP 404/);
  expect(error.message).toMatch(/basePath/);
});

test('requireModels: createServing rejects naming each model without a servable version and why', async ({ harness, repo }) => {
  repo.writeFile('ok', 1, 'model.onnx', mlpModel({ seed: 1 }));
  repo.publish('ok');
  const error = await pageError(
    harness,
    `(o) => window.browserving.createServing(o)`,
    { models: [{ name: 'ok', basePath: repo.basePath('ok') }, { name: 'gone', basePath: `${repo.url}gone` }], executionProviders: ['wasm'], pollIntervalMs: 0, requireModels: true },
  );
  expect(error).toMatchObject({ code: 'FAILED_PRECONDITION', model: 'gone' });
  expect(error.message).toMatch(/gone\/manifest\.json answered HTTP 404/);
  expect(error.message).not.toMatch(/"ok"/);
  // The same config without requireModels starts, and serves the model that exists.
  await startServing(harness, { models: [{ name: 'ok', basePath: repo.basePath('ok') }, { name: 'gone', basePath: `${repo.url}gone` }], executionProviders: ['wasm'], pollIntervalMs: 0 });
  expect(await harness.evaluate(() => window.serving.predict({ model: 'ok', inputs: { x: { type: 'float32', dims: [1, 16], data: new Float32Array(16) } } }).then((r) => r.version))).toBe(1);
});

test('reusing an input after predict (its buffer was transferred) names transferInputs: false', async ({ harness, repo }) => {
  repo.writeFile('mlp', 1, 'model.onnx', mlpModel({ seed: 1 }));
  repo.publish('mlp');
  await startServing(harness, { models: [{ name: 'mlp', basePath: repo.basePath('mlp') }], executionProviders: ['wasm'], pollIntervalMs: 0 });
  const error = await pageError(harness, `async () => {
    const inputs = { x: { type: 'float32', dims: [1, 16], data: new Float32Array(16) } };
    await window.serving.predict({ model: 'mlp', inputs });
    await window.serving.predict({ model: 'mlp', inputs });
  }`);
  expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', model: 'mlp', version: 1 });
  expect(error.message).toMatch(/detached/);
  expect(error.message).toMatch(/transferInputs: false/);
  // With transferInputs: false the same inputs can be sent again.
  const versions = await harness.evaluate(async () => {
    const inputs = { x: { type: 'float32' as const, dims: [1, 16], data: new Float32Array(16) } };
    const a = await window.serving.predict({ model: 'mlp', inputs, transferInputs: false });
    const b = await window.serving.predict({ model: 'mlp', inputs, transferInputs: false });
    return [a.version, b.version, inputs.x.data.length];
  });
  expect(versions).toEqual([1, 1, 16]);
});

test('warmupRuns without a warmup.json: synthetic inputs that run are found, or the warm-up is skipped with the fix — the version serves', async ({ harness, repo }) => {
  repo.addVersion('silero', 1, { model: 'silero', version: 1 });
  repo.removeFile('silero', 1, 'warmup.json');
  repo.publish('silero');
  repo.writeFile('mlp', 1, 'model.onnx', mlpModel({ seed: 1 }));
  repo.publish('mlp');
  await startServing(harness, {
    models: [
      { name: 'silero', basePath: repo.basePath('silero'), warmupRuns: 1 },
      { name: 'mlp', basePath: repo.basePath('mlp'), warmupRuns: 2 },
    ],
    executionProviders: ['wasm'],
    pollIntervalMs: 0,
  });
  const silero = (await harness.evaluate(() => window.serving.status('silero'))).versions[0]!;
  expect(silero.state).toBe('AVAILABLE');
  // Silero rejects zero-filled inputs (its state shape and sample rate matter): skipped, and the message says what to add.
  expect(silero.description?.warmup).toMatch(/warm-up skipped.*did not run.*Add a warmup\.json beside model\.onnx.*"inputs"/);
  const mlp = (await harness.evaluate(() => window.serving.status('mlp'))).versions[0]!;
  expect(mlp).toMatchObject({ state: 'AVAILABLE' });
  expect(mlp.description?.warmup).toBeUndefined();
  expect(await harness.evaluate(() => window.serving.metrics().then((m) => m.models.mlp?.runs))).toBe(0);
});
