/**
 * browserving's Service Worker in Chromium: TF Serving REST, KServe v2 and Prometheus answered at
 * the page's origin by plain fetch() (forwarded to the page's runtime), 503 when no page serves,
 * and a cold start with the network gone: the page, the runtime and the model come from the
 * Service Worker's cache and the artifact store, and it predicts.
 */
import type { Page } from '@playwright/test';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test, expect, startServing } from './fixtures.js';
import { mlpModel, mlpReference } from '../scripts/onnx-models.mjs';

const DIST = fileURLToPath(new URL(`../${process.env.BROWSERVING_DIST ?? 'dist'}/`, import.meta.url));
const ROW = Array.from({ length: 16 }, (_, i) => (i - 8) / 4);

async function serveHttp(page: Page): Promise<void> {
  await page.evaluate(async () => {
    (window as any).http = await window.browserving.serveHttp(window.serving!, { serviceWorkerUrl: '/dist/browserving.sw.js', scope: '/' });
    // The first page is taken over by clients.claim() once the worker activates.
    while (!navigator.serviceWorker.controller) await new Promise((r) => setTimeout(r, 20));
  });
}

async function restPredict(page: Page, row: number[]) {
  return page.evaluate(async (row) => {
    const response = await fetch('/v1/models/mlp:predict', { method: 'POST', body: JSON.stringify({ instances: [row] }) });
    return { status: response.status, body: await response.json() };
  }, row);
}

test('fetch() of TF Serving and KServe routes at the origin is answered by the page\'s runtime; 503 once no page serves', async ({ harness, repo }) => {
  repo.writeFile('mlp', 1, 'model.onnx', mlpModel({ seed: 1 }));
  repo.publish('mlp');
  await startServing(harness, { models: [{ name: 'mlp', basePath: repo.basePath('mlp') }], executionProviders: ['wasm'], pollIntervalMs: 0 });
  await serveHttp(harness);
  const rest = await restPredict(harness, ROW);
  expect(rest.status).toBe(200);
  const expected = mlpReference(Float32Array.from(ROW), 1, { seed: 1 });
  rest.body.predictions[0].forEach((v: number, i: number) => expect(v).toBeCloseTo(expected[i]!, 4));
  const other = await harness.evaluate(async () => {
    const v2 = await fetch('/v2/models/mlp/ready').then((r) => r.json());
    const metrics = await fetch('/monitoring/prometheus/metrics').then(async (r) => ({ type: r.headers.get('Content-Type'), text: await r.text() }));
    const missing = await fetch('/v1/models/nope').then(async (r) => ({ status: r.status, body: await r.json() }));
    (window as any).http.stop();
    const unserved = await fetch('/v1/models/mlp').then(async (r) => ({ status: r.status, body: await r.json() }));
    return { v2, metrics, missing, unserved };
  });
  expect(other.v2).toEqual({ name: 'mlp', ready: true });
  expect(other.metrics.type).toMatch(/^text\/plain; version=0\.0\.4/);
  expect(other.metrics.text).toMatch(/^:tensorflow:serving:request_count\{model_name="mlp",status="OK"\} 1$/m);
  expect(other.missing.status).toBe(404);
  expect(other.unserved.status).toBe(503);
  expect(other.unserved.body.error).toMatch(/no page is serving/);
});

test('cold start offline: reloaded with the network gone, the page starts from the caches and the store, and predicts', async ({ harness, repo }) => {
  repo.writeFile('mlp', 1, 'model.onnx', mlpModel({ seed: 1 }));
  repo.publish('mlp');
  const config = { models: [{ name: 'mlp', basePath: repo.basePath('mlp') }], executionProviders: ['wasm' as const], pollIntervalMs: 0 };
  await startServing(harness, config);
  await serveHttp(harness);
  expect((await restPredict(harness, ROW)).status).toBe(200);
  // Wait until the runtime this page used (its .wasm included) is in the Service Worker's cache.
  await expect.poll(() => harness.evaluate(async () => {
    const names = await caches.keys();
    const urls = (await Promise.all(names.map(async (n) => (await (await caches.open(n)).keys()).map((r) => r.url)))).flat();
    return urls.filter((u) => u.endsWith('.wasm')).length;
  }), { timeout: 30_000 }).toBeGreaterThan(0);

  await harness.request.post('/__control/reset');
  await harness.request.post('/__control/faults', { data: [{ prefix: '/', offline: true }] });
  const started = Date.now();
  await harness.reload();
  await harness.waitForFunction(() => window.harnessReady === true);
  await startServing(harness, config);
  const offline = await harness.evaluate(async (row) => {
    const r = await window.serving!.predict({ model: 'mlp', inputs: { x: { type: 'float32', dims: [1, 16], data: Float32Array.from(row) } } });
    return { version: r.version, y: Array.from(r.outputs.y!.data as Float32Array), fromCache: (await window.serving!.status('mlp')).repository?.fromCache };
  }, ROW);
  expect(offline.version).toBe(1);
  expect(offline.fromCache).toBe(true);
  const expected = mlpReference(Float32Array.from(ROW), 1, { seed: 1 });
  offline.y.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 4));
  expect(Date.now() - started).toBeLessThan(30_000);
  // The server answered nothing: every attempt (network-first probes of the page and the runtime,
  // the manifest poll) was refused, and the model's bytes were not even asked for (the store has them).
  const log: Record<string, { requests: number; refused?: number }> = await (await harness.request.get('/__control/log')).json();
  expect(Object.entries(log).filter(([, e]) => e.requests > 0)).toEqual([]);
  expect(Object.keys(log).filter((path) => path.endsWith('.onnx'))).toEqual([]);
  expect(Object.keys(log)).toContain('/dist/index.js');
});

test('a new library build replaces the cached runtime once it activates, never mixing the two', async ({ harness, repo, context }) => {
  repo.writeFile('mlp', 1, 'model.onnx', mlpModel({ seed: 1 }));
  repo.publish('mlp');
  await startServing(harness, { models: [{ name: 'mlp', basePath: repo.basePath('mlp') }], executionProviders: ['wasm'], pollIntervalMs: 0 });
  await serveHttp(harness);
  const runtimeCaches = (page: Page) => page.evaluate(async () => (await caches.keys()).filter((n) => n.startsWith('browserving-runtime-')).sort());
  const [first] = await runtimeCaches(harness);
  expect(first).toMatch(/^browserving-runtime-[0-9a-f]{12}$/);
  // "The next build": the same Service Worker with another build id, beside the library files.
  const sw = readFileSync(join(DIST, 'browserving.sw.js'), 'utf8');
  const nextBuild = sw.replace(/"build":"[0-9a-f]{12}"/, '"build":"nextbuild000"');
  expect(nextBuild).not.toBe(sw);
  writeFileSync(join(DIST, 'browserving-next.sw.js'), nextBuild);
  try {
    await harness.evaluate(() => navigator.serviceWorker.register('/dist/browserving-next.sw.js', { type: 'module', scope: '/' }).then((r) => r.update()));
    // It installs while this page keeps the old one: both caches exist, the serving page is not disturbed.
    await expect.poll(() => runtimeCaches(harness), { timeout: 20_000 }).toEqual(['browserving-runtime-nextbuild000', first].sort());
    expect((await restPredict(harness, ROW)).status).toBe(200);
    // Once no page uses the old worker, the new one activates and deletes the old runtime.
    const url = harness.url();
    await harness.goto('about:blank');
    // A page opened while the browser still counts the old page as the old worker's client is
    // controlled by the old worker (and keeps the new one waiting): closing it leaves the old worker
    // no client, so the new one activates and the next page is controlled by it.
    let next = await context.newPage();
    for (const deadline = Date.now() + 20_000; ;) {
      await next.goto(url);
      const controller = await next.evaluate(() => navigator.serviceWorker.controller?.scriptURL ?? '');
      if (controller.endsWith('/browserving-next.sw.js') || Date.now() > deadline) break;
      await next.close();
      next = await context.newPage();
    }
    await expect.poll(() => runtimeCaches(next), { timeout: 20_000 }).toEqual(['browserving-runtime-nextbuild000']);
    await next.close();
  } finally {
    rmSync(join(DIST, 'browserving-next.sw.js'), { force: true });
  }
});
