/**
 * A model given as one ONNX file URL, with no manifest: it loads, a changed file becomes the next
 * version (hot-swapped like any other), and a reloaded page serves it from the store offline.
 */
import { test, expect, startServing } from './fixtures.js';
import { mlpModel, mlpReference } from '../scripts/onnx-models.mjs';

const INPUT = Float32Array.from({ length: 16 }, (_, i) => (i - 8) / 4);

test('basePath naming an .onnx file: version 1; the file changes: version 2; offline: served from the store', async ({ harness, repo }) => {
  repo.writeFile('files', 0, 'mlp.onnx', mlpModel({ seed: 1 }));
  const url = `${repo.url}files/0/mlp.onnx`;
  const config = { models: [{ name: 'mlp', basePath: url }], executionProviders: ['wasm' as const], pollIntervalMs: 0 };
  await startServing(harness, config);
  const predict = () => harness.evaluate(async (input) => {
    const r = await window.serving!.predict({ model: 'mlp', inputs: { x: { type: 'float32', dims: [1, 16], data: Float32Array.from(input) } } });
    return { version: r.version, y: Array.from(r.outputs.y!.data as Float32Array) };
  }, Array.from(INPUT));
  const first = await predict();
  expect(first.version).toBe(1);
  mlpReference(INPUT, 1, { seed: 1 }).forEach((v, i) => expect(first.y[i]).toBeCloseTo(v, 4));
  const status = await harness.evaluate(() => window.serving!.status('mlp'));
  expect(status.repository).toMatchObject({ basePath: expect.stringMatching(/files\/0\/mlp\.onnx$/), versionsFound: [1] });

  // The file changes (new bytes, new ETag): the next poll makes it version 2.
  await new Promise((r) => setTimeout(r, 20));
  repo.writeFile('files', 0, 'mlp.onnx', mlpModel({ seed: 2 }));
  await harness.evaluate(() => window.serving!.poll());
  await expect.poll(async () => (await predict()).version, { timeout: 20_000 }).toBe(2);
  const second = await predict();
  mlpReference(INPUT, 1, { seed: 2 }).forEach((v, i) => expect(second.y[i]).toBeCloseTo(v, 4));

  // Reloaded with the server refusing everything under the repository: version 2 from the store.
  await harness.request.post('/__control/faults', { data: [{ prefix: repo.url, offline: true }] });
  await harness.reload();
  await harness.waitForFunction(() => window.harnessReady === true);
  await startServing(harness, config);
  const offline = await predict();
  expect(offline.version).toBe(2);
  expect(await harness.evaluate(() => window.serving!.status('mlp').then((s) => s.repository?.fromCache))).toBe(true);
});
