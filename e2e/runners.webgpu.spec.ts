/**
 * WebGPU with several sessions, on SwiftShader's adapter: two versions warmed up at once and
 * predicted on concurrently (each in its runner, so ORT's one-run-per-instance rule holds), a
 * shared runner group whose sessions take turns, and a lost device that brings the version back
 * on WebGPU in a new runner.
 */
import { test, expect, startServing, SILERO_FRAME, type Repo } from './fixtures.js';

function sileroRepo(repo: Repo): void {
  repo.addVersion('silero', 1, { model: 'silero', version: 1 });
  repo.addVersion('silero', 2, { model: 'silero', version: 2 });
  repo.publish('silero');
}

/** 24 concurrent predictions, alternating versions; each answer is compared with the same version's answer on WASM. */
async function concurrentAgainstWasm(page: import('@playwright/test').Page) {
  return page.evaluate(async (frame) => {
    const make = (0, eval)(frame);
    const run = (model: string, version: number) => window.serving.predict({ model, version, inputs: make(true) }).then((r) => Array.from(r.outputs.stateN!.data as Float32Array));
    const reference = { 1: await run('cpu', 1), 2: await run('cpu', 2) } as Record<number, number[]>;
    const versions = Array.from({ length: 24 }, (_, i) => 1 + (i % 2));
    const outcomes = await Promise.all(versions.map((v) => run('gpu', v).then((out) => Math.max(...out.map((x, i) => Math.abs(x - reference[v]![i]!))), (e) => `${e.code}: ${e.message}`)));
    return { outcomes, status: await window.serving.status('gpu') };
  }, SILERO_FRAME);
}

const config = (repo: Repo, gpu: object = {}) => ({
  models: [
    { name: 'gpu', basePath: repo.basePath('silero'), modelVersionPolicy: { all: {} }, warmupRuns: 2, ...gpu },
    { name: 'cpu', basePath: repo.basePath('silero'), modelVersionPolicy: { all: {} }, executionProviders: ['wasm' as const] },
  ],
  executionProviders: ['webgpu' as const, 'wasm' as const],
  pollIntervalMs: 0,
  maxConcurrentLoads: 4,
});

test('two WebGPU versions, warmed up at once, answer concurrent predictions correctly; ORT says nothing through console.error', async ({ harness, repo }) => {
  const errors: string[] = [];
  harness.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  sileroRepo(repo);
  await startServing(harness, config(repo));
  const r = await concurrentAgainstWasm(harness);
  for (const v of r.status.versions) expect(v).toMatchObject({ state: 'AVAILABLE', description: { provider: 'webgpu' } });
  for (const outcome of r.outcomes) expect(outcome).toBeLessThan(1e-3);
  // WebGPU session creation logs its node assignment as warnings unless the session's log severity says otherwise.
  expect(errors.filter((e) => /onnxruntime|VerifyEachNodeIsAssignedToAnEp/.test(e))).toEqual([]);
});

test('two WebGPU versions sharing one runner take turns: correct answers, one runner', async ({ harness, repo }) => {
  sileroRepo(repo);
  await startServing(harness, config(repo, { runnerGroup: 'gpu' }));
  const r = await concurrentAgainstWasm(harness);
  for (const outcome of r.outcomes) expect(outcome).toBeLessThan(1e-3);
  const runners = await harness.evaluate(() => window.serving.debug.runners());
  expect(runners.filter((x) => x.group === 'gpu')).toEqual([expect.objectContaining({ servables: expect.arrayContaining(['"gpu"@1', '"gpu"@2']) })]);
});

test('a lost WebGPU device: the runner is replaced and the version reloads on WebGPU', async ({ harness, repo }) => {
  repo.addVersion('silero', 1, { model: 'silero', version: 1 });
  repo.publish('silero');
  await startServing(harness, { models: [{ name: 'gpu', basePath: repo.basePath('silero') }], executionProviders: ['webgpu', 'wasm'], pollIntervalMs: 0 });
  const old = await harness.evaluate(async () => {
    const [runner] = window.serving.debug.runners();
    await window.serving.debug.fault(runner!.runner, 'device-destroy');
    return runner!.runner;
  });
  await expect.poll(() => harness.evaluate(() => window.serving.status('gpu').then((s) => s.versions[0]?.description?.restarts)), { timeout: 30_000 }).toBe(1);
  await expect.poll(() => harness.evaluate(() => window.serving.status('gpu').then((s) => s.versions[0]?.description?.runnerState ?? 'up')), { timeout: 30_000 }).toBe('up');
  const version = (await harness.evaluate(() => window.serving.status('gpu'))).versions[0]!;
  expect(version.description).toMatchObject({ provider: 'webgpu', lastExit: expect.stringMatching(/WebGPU device lost/) });
  expect(version.description!.runner).not.toBe(old);
  const p = await harness.evaluate(async (frame) => (await window.serving.predict({ model: 'gpu', inputs: (0, eval)(frame)(true) })).outputs.output!.dims, SILERO_FRAME);
  expect(p).toEqual([1, 1]);
});
