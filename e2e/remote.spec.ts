/**
 * A remote TF Serving / KServe endpoint as a placement, in Chromium: the test server
 * (scripts/remote-server.mjs: real models run by ORT in Node behind both protocols, on another
 * origin, with CORS + CORP so this cross-origin isolated page may call it, faults injectable)
 * serves `mlp` and `silero`; the page serves the same models from its repository. Outputs are
 * compared between the two, since both run the same ONNX files.
 */
import { join } from 'node:path';
import { MODELS_DIR } from '../scripts/models.mjs';
import { startRemoteServer } from '../scripts/remote-server.mjs';
import { test, expect, pageError, startServing, SILERO_FRAME } from './fixtures.js';

let remote: Awaited<ReturnType<typeof startRemoteServer>>;

test.beforeAll(async () => {
  remote = await startRemoteServer({ models: { mlp: join(MODELS_DIR, 'mlp'), silero: join(MODELS_DIR, 'silero') } });
});
test.afterAll(() => remote?.close());
test.beforeEach(() => {
  remote.clearFault();
  remote.resetLog();
});

/** Predicts `model` with the MLP's input (3 rows) in the page; resolves with the version and the outputs as plain numbers. */
const predictMlp = `async ({ model, version }) => {
  const x = { type: 'float32', dims: [3, 16], data: Float32Array.from({ length: 48 }, (_, i) => Math.sin(i)) };
  const r = await window.serving.predict({ model, ...(version ? { version } : {}), inputs: { x } });
  return { version: r.version, dims: r.outputs.y.dims, y: Array.from(r.outputs.y.data) };
}`;

for (const protocol of ['tfserving', 'kserve-v2'] as const) {
  test(`placement "remote" (${protocol}): versions and signature come from the endpoint, predict gives the local numbers, status says provider remote`, async ({ harness }) => {
    await startServing(harness, {
      models: [
        { name: 'mlp', placement: 'remote', remote: { url: remote.url, protocol } },
        { name: 'vad', placement: 'remote', remote: { url: remote.url, protocol, model: 'silero' }, modelVersionPolicy: { all: {} }, versionLabels: { canary: 2 } },
        { name: 'local', basePath: '/models/mlp' },
      ],
      executionProviders: ['wasm'],
      pollIntervalMs: 0,
    });
    const remoteAnswer = await harness.evaluate(`(${predictMlp})({ model: 'mlp' })`);
    const localAnswer = await harness.evaluate(`(${predictMlp})({ model: 'local' })`);
    expect(remoteAnswer).toEqual(localAnswer);
    const r = await harness.evaluate(async (frame) => {
      const s = window.serving;
      const inputs = (0, eval)(frame)(true);
      const canary = await s.predict({ model: 'vad', label: 'canary', inputs });
      return {
        status: await s.status('vad'),
        metadata: await s.metadata('mlp'),
        canary: { version: canary.version, dims: canary.outputs.output!.dims },
        metrics: (await s.metrics()).models,
        runners: s.debug.runners(),
      };
    }, SILERO_FRAME);
    expect(r.status.versions.map((v) => [v.version, v.state, v.description?.provider])).toEqual([[2, 'AVAILABLE', 'remote'], [1, 'AVAILABLE', 'remote']]);
    expect(r.status.versions[0]!.description).toMatchObject({ platform: 'remote', endpoint: remote.url, protocol, remoteModel: 'silero' });
    expect(r.status.repository).toMatchObject({ basePath: remote.url, versionsFound: [2, 1] });
    expect(r.canary).toEqual({ version: 2, dims: [1, 1] });
    expect(r.metadata).toMatchObject({ platform: 'remote', apis: ['predict'], signature: { inputs: [{ name: 'x', type: 'float32' }], outputs: [{ name: 'y', type: 'float32' }] } });
    expect(r.metrics.mlp!.placements).toEqual({ local: 0, remote: 1 });
    expect(r.metrics.local!.placements).toBeUndefined();
    // Every remote version shares one WASM-only runner, which starts no ORT.
    const remoteRunners = r.runners.filter((runner) => runner.servables.some((key) => key.includes('"mlp"') || key.includes('"vad"')));
    expect(remoteRunners).toHaveLength(1);
    expect(remoteRunners[0]!.variant).toBe('wasm');
    expect(remote.log.predictions).toEqual({ mlp: 1, silero: 1 });
    expect(remote.log.requests.some((line: string) => line.startsWith(protocol === 'tfserving' ? 'POST /v1/models/mlp/versions/1:predict' : 'POST /v2/models/mlp/versions/1/infer application/octet-stream'))).toBe(true);
    expect(remote.log.authorization).toEqual([]);
    expect(remote.log.cookie).toEqual([]);
  });
}

test('remote errors are typed: a bad input is refused before sending; 5xx, a malformed body, a slow endpoint, a version it lacks', async ({ harness }) => {
  await startServing(harness, {
    models: [{ name: 'mlp', placement: 'remote', remote: { url: remote.url, protocol: 'tfserving', timeoutMs: 1000 } }],
    executionProviders: ['wasm'],
    pollIntervalMs: 0,
  });
  const bad = await pageError(harness, `() => window.serving.predict({ model: 'mlp', inputs: { x: { type: 'float32', dims: [1, 3], data: new Float32Array(3) } } })`);
  expect(bad).toMatchObject({ code: 'INVALID_ARGUMENT', model: 'mlp', version: 1, input: 'x' });
  expect(remote.log.predictions).toEqual({});

  const call = `() => window.serving.predict({ model: 'mlp', inputs: { x: { type: 'float32', dims: [1, 16], data: new Float32Array(16) } } })`;
  remote.setFault({ kind: 'status', status: 503, message: 'overloaded', times: 1 });
  const unavailable = await pageError(harness, call);
  expect(unavailable).toMatchObject({ code: 'UNAVAILABLE', model: 'mlp', version: 1 });
  expect(unavailable.message).toContain('HTTP 503');
  expect(unavailable.message).toContain('overloaded');

  remote.setFault({ kind: 'malformed', times: 1 });
  expect(await pageError(harness, call)).toMatchObject({ code: 'DATA_LOSS', model: 'mlp', version: 1 });

  remote.setFault({ kind: 'slow', delayMs: 3000, times: 1 });
  const slow = await pageError(harness, call);
  expect(slow).toMatchObject({ code: 'DEADLINE_EXCEEDED', model: 'mlp' });
  expect(slow.message).toContain('remote.timeoutMs (1000 ms)');

  remote.setFault({ kind: 'slow', delayMs: 3000, times: 1 });
  const deadline = await pageError(harness, `() => window.serving.predict({ model: 'mlp', timeoutMs: 100, inputs: { x: { type: 'float32', dims: [1, 16], data: new Float32Array(16) } } })`);
  expect(deadline).toMatchObject({ code: 'DEADLINE_EXCEEDED', model: 'mlp' });

  expect(await pageError(harness, `() => window.serving.predict({ model: 'mlp', version: 9, inputs: {} })`)).toMatchObject({ code: 'NOT_FOUND', model: 'mlp' });
  // After all that, the endpoint serves again.
  const ok = await harness.evaluate(`(${predictMlp})({ model: 'mlp' })`);
  expect(ok).toMatchObject({ version: 1, dims: [3, 4] });
});

/** The MLP's answer for `predictMlp`'s input, from the test server's session run directly (no HTTP, no codec). */
async function mlpReference(): Promise<{ dims: number[]; y: number[] }> {
  const outputs = await remote.reference('mlp', 1, { x: { type: 'float32', dims: [3, 16], data: Float32Array.from({ length: 48 }, (_, i) => Math.sin(i)) } });
  return { dims: outputs.y!.dims, y: Array.from(outputs.y!.data as Float32Array) };
}

const preferLocal = (extra: Record<string, unknown> = {}) => ({ name: 'mlp', basePath: '/models/mlp', placement: 'prefer-local' as const, remote: { url: remote.url, protocol: 'kserve-v2' as const, probeIntervalMs: 200 }, ...extra });

test('prefer-local: a model over the memory budget is served remotely, with the right outputs, and status says why', async ({ harness }) => {
  await startServing(harness, { models: [preferLocal()], resourceBudgetBytes: 100, executionProviders: ['wasm'], pollIntervalMs: 0 });
  const answer = await harness.evaluate(`(${predictMlp})({ model: 'mlp' })`);
  expect(answer).toEqual({ version: 1, ...(await mlpReference()) });
  const status = await harness.evaluate(() => window.serving.status('mlp'));
  expect(status.versions[0]).toMatchObject({ version: 1, state: 'AVAILABLE', description: { provider: 'remote', placement: 'prefer-local' } });
  expect(String(status.versions[0]!.description!.placementReason)).toMatch(/local: it needs \d+ bytes, more than the resource budget/);
  expect(remote.log.predictions).toEqual({ mlp: 1 });
  // The local version was never loaded: no runner but the remote one.
  const runners = await harness.evaluate(() => window.serving.debug.runners());
  expect(runners.map((r) => r.group)).toEqual(['browserving-remote']);
});

test('prefer-local: no adapter for the required provider (WebGPU only, none here) → remote', async ({ harness }) => {
  test.skip(await harness.evaluate(async () => !!(await (navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu?.requestAdapter())), 'this browser has a WebGPU adapter');
  await startServing(harness, { models: [preferLocal({ executionProviders: ['webgpu'] })], pollIntervalMs: 0 });
  const answer = await harness.evaluate(`(${predictMlp})({ model: 'mlp' })`);
  expect(answer).toEqual({ version: 1, ...(await mlpReference()) });
  const status = await harness.evaluate(() => window.serving.status('mlp'));
  expect(status.versions[0]!.description).toMatchObject({ provider: 'remote', placement: 'prefer-local' });
  expect(String(status.versions[0]!.description!.placementReason)).toMatch(/^local: .*webgpu/i);
});

test('prefer-local: the local runner killed under load → remote until it is back → local again, at most one failed request', async ({ harness }) => {
  await startServing(harness, { models: [preferLocal()], executionProviders: ['wasm'], pollIntervalMs: 0 });
  const r = await harness.evaluate(async () => {
    const s = window.serving;
    const x = () => ({ x: { type: 'float32' as const, dims: [1, 16], data: new Float32Array(16).fill(0.5) } });
    const before = (await s.status('mlp')).versions[0]!.description;
    const local = s.debug.runners().find((runner) => runner.group === undefined)!;
    const failures: string[] = [];
    let done = 0;
    let killed = false;
    let back = false;
    const states: string[] = [];
    // A loop of 4 callers: the runner is terminated mid-loop; the loop ends once the local version serves again.
    const caller = async () => {
      while (!back) {
        try {
          await s.predict({ model: 'mlp', inputs: x() });
        } catch (e) {
          failures.push(`${(e as { code: string }).code}: ${(e as Error).message}`);
        }
        done += 1;
        if (done === 40 && !killed) {
          killed = true;
          await s.debug.fault(local.runner, 'terminate');
        }
        if (killed && done % 10 === 0) {
          const d = (await s.status('mlp')).versions[0]!.description!;
          states.push(String(d.provider));
          back = states.includes('remote') && d.provider === 'wasm';
        }
      }
    };
    await Promise.all([caller(), caller(), caller(), caller()]);
    const during = (await s.metrics()).models.mlp!.placements!;
    for (let i = 0; i < 20; i += 1) await s.predict({ model: 'mlp', inputs: x() });
    const after = (await s.metrics()).models.mlp!.placements!;
    return { before, failures, during, after, status: (await s.status('mlp')).versions[0]!.description, states };
  });
  expect(r.before).toMatchObject({ provider: 'wasm', placement: 'prefer-local' });
  expect(r.failures.length, r.failures.join('\n')).toBeLessThanOrEqual(1);
  for (const failure of r.failures) expect(failure).toMatch(/^UNAVAILABLE: .*retry the request/);
  expect(r.states).toContain('remote');
  expect(r.during.remote).toBeGreaterThan(0);
  // Back on the local runner: the 20 requests after did not go remote.
  expect(r.after.remote).toBe(r.during.remote);
  expect(r.after.local).toBe(r.during.local + 20);
  expect(r.status).toMatchObject({ provider: 'wasm', placement: 'prefer-local', restarts: 1 });
  expect(r.status!.placementReason).toBeUndefined();
});

test('prefer-remote: remote while it answers; offline → local with no failed request; back online → remote again; a failing endpoint → local', async ({ harness, context }) => {
  await startServing(harness, {
    models: [{ name: 'mlp', basePath: '/models/mlp', placement: 'prefer-remote', remote: { url: remote.url, protocol: 'tfserving', probeIntervalMs: 200 } }],
    executionProviders: ['wasm'],
    pollIntervalMs: 0,
  });
  const reference = await mlpReference();
  const predictions = () => remote.log.predictions.mlp ?? 0;
  expect(await harness.evaluate(`(${predictMlp})({ model: 'mlp' })`)).toEqual({ version: 1, ...reference });
  expect(predictions()).toBe(1);
  expect((await harness.evaluate(() => window.serving.status('mlp'))).versions[0]!.description).toMatchObject({ provider: 'remote', placement: 'prefer-remote' });

  await context.setOffline(true);
  // The first request finds the endpoint unreachable and moves to the local version: it does not fail.
  expect(await harness.evaluate(`(${predictMlp})({ model: 'mlp' })`)).toEqual({ version: 1, ...reference });
  expect(await harness.evaluate(`(${predictMlp})({ model: 'mlp' })`)).toEqual({ version: 1, ...reference });
  const offline = (await harness.evaluate(() => window.serving.status('mlp'))).versions[0]!.description!;
  expect(offline).toMatchObject({ provider: 'wasm', placement: 'prefer-remote' });
  expect(String(offline.placementReason)).toMatch(/^remote: .*cannot be reached/);
  expect(predictions()).toBe(1);

  await context.setOffline(false);
  await expect.poll(async () => (await harness.evaluate(() => window.serving.status('mlp'))).versions[0]!.description!.provider, { timeout: 30_000 }).toBe('remote');
  await harness.evaluate(`(${predictMlp})({ model: 'mlp' })`);
  expect(predictions()).toBe(2);

  // An endpoint answering 500 is failing too: the request moves local, the next ones stay there.
  remote.setFault({ kind: 'status', status: 500 });
  expect(await harness.evaluate(`(${predictMlp})({ model: 'mlp' })`)).toEqual({ version: 1, ...reference });
  expect(await harness.evaluate(`(${predictMlp})({ model: 'mlp' })`)).toEqual({ version: 1, ...reference });
  const failing = (await harness.evaluate(() => window.serving.status('mlp'))).versions[0]!.description!;
  expect(String(failing.placementReason)).toMatch(/HTTP 500/);
  const metrics = (await harness.evaluate(() => window.serving.metrics())).models.mlp!;
  expect(metrics.errors).toEqual({});
  expect(metrics.placements).toEqual({ local: 4, remote: 2 });
  remote.clearFault();
  await expect.poll(async () => (await harness.evaluate(() => window.serving.status('mlp'))).versions[0]!.description!.provider, { timeout: 30_000 }).toBe('remote');
});

test('credentials and headers go to the endpoint only when configured', async ({ harness, context }) => {
  // Cookies are per host, not per port: the page's cookie for 127.0.0.1 would reach the endpoint if credentials were sent.
  await context.addCookies([{ name: 'session', value: 'page-secret', domain: '127.0.0.1', path: '/' }]);
  await startServing(harness, {
    models: [
      { name: 'plain', placement: 'remote', remote: { url: remote.url, protocol: 'tfserving', model: 'mlp' } },
      { name: 'authed', placement: 'remote', remote: { url: remote.url, protocol: 'tfserving', model: 'mlp', credentials: 'include', headers: { Authorization: 'Bearer app-token' } } },
    ],
    executionProviders: ['wasm'],
    pollIntervalMs: 0,
  });
  // Both models asked the endpoint for versions and signatures while starting: only predictions are looked at.
  remote.resetLog();
  await harness.evaluate(`(${predictMlp})({ model: 'plain' })`);
  expect(remote.log.predictions).toEqual({ mlp: 1 });
  expect(remote.log.cookie).toEqual([]);
  expect(remote.log.authorization).toEqual([]);
  remote.resetLog();
  await harness.evaluate(`(${predictMlp})({ model: 'authed' })`);
  expect(remote.log.cookie).toContain('session=page-secret');
  expect(remote.log.authorization).toContain('Bearer app-token');
});

test('batching on a remote model merges concurrent predictions into fewer requests to the endpoint; each caller gets its own rows', async ({ harness }) => {
  await startServing(harness, {
    models: [{ name: 'mlp', placement: 'remote', remote: { url: remote.url, protocol: 'kserve-v2' }, batching: { maxBatchSize: 8 } }],
    executionProviders: ['wasm'],
    pollIntervalMs: 0,
  });
  remote.resetLog();
  const answers = await harness.evaluate(async () => {
    const row = (k: number) => Float32Array.from({ length: 16 }, (_, i) => Math.cos(i + k));
    const results = await Promise.all(Array.from({ length: 8 }, (_, k) => window.serving.predict({ model: 'mlp', inputs: { x: { type: 'float32', dims: [1, 16], data: row(k) } } })));
    return results.map((r) => ({ dims: r.outputs.y!.dims, y: Array.from(r.outputs.y!.data as Float32Array) }));
  });
  const requests = remote.log.predictions.mlp ?? 0;
  expect(requests).toBeGreaterThan(0);
  expect(requests).toBeLessThan(8);
  for (let k = 0; k < 8; k += 1) {
    const reference = await remote.reference('mlp', 1, { x: { type: 'float32', dims: [1, 16], data: Float32Array.from({ length: 16 }, (_, i) => Math.cos(i + k)) } });
    expect(answers[k], `caller ${k}`).toEqual({ dims: [1, 4], y: Array.from(reference.y!.data as Float32Array) });
  }
});
