/**
 * The core runtime in real Chromium: Silero VAD (a real model from an npm package) served as two
 * versions, version-aware predict, status and metadata, and the runtime facts that make ORT fast.
 */
import { test, expect, startServing, SILERO_FRAME, type Repo } from './fixtures.js';

function sileroRepo(repo: Repo): void {
  repo.addVersion('silero', 1, { model: 'silero', version: 1 });
  repo.addVersion('silero', 2, { model: 'silero', version: 2 });
  repo.publish('silero', { stable: 1, canary: 2 });
}

const config = (repo: Repo) => ({
  models: [{ name: 'silero', basePath: repo.basePath('silero'), modelVersionPolicy: { all: {} }, warmupRuns: 1 }],
  executionProviders: ['wasm' as const],
  pollIntervalMs: 0,
});

test('predicts on latest, a specific version and a label; versions are distinct sessions', async ({ harness, repo }) => {
  sileroRepo(repo);
  await startServing(harness, config(repo));
  const results = await harness.evaluate(async (frame) => {
    const make = (0, eval)(frame);
    const run = async (select: object) => {
      const r = await window.serving.predict({ model: 'silero', ...select, inputs: make(true) });
      return { version: r.version, p: Array.from(r.outputs.output!.data as Float32Array), stateDims: r.outputs.stateN!.dims };
    };
    return {
      latest: await run({}),
      v1: await run({ version: 1 }),
      v2: await run({ version: 2 }),
      stable: await run({ label: 'stable' }),
      canary: await run({ label: 'canary' }),
    };
  }, SILERO_FRAME);
  expect(results.latest.version).toBe(2);
  expect(results.v1.version).toBe(1);
  expect(results.v2.version).toBe(2);
  expect(results.stable.version).toBe(1);
  expect(results.canary.version).toBe(2);
  expect(results.v1.stateDims).toEqual([2, 1, 128]);
  for (const r of Object.values(results)) expect(r.p[0]).toBeGreaterThanOrEqual(0), expect(r.p[0]).toBeLessThanOrEqual(1);
  // Same input, same version → same output; v5 and v6 are different networks → different outputs.
  expect(results.stable.p).toEqual(results.v1.p);
  expect(results.canary.p).toEqual(results.latest.p);
  expect(results.v1.p).not.toEqual(results.v2.p);
});

test('Silero tells a tone from silence when the state is carried between frames', async ({ harness, repo }) => {
  sileroRepo(repo);
  await startServing(harness, config(repo));
  const probabilities = await harness.evaluate(async (frame) => {
    const make = (0, eval)(frame);
    const last: Record<string, number> = {};
    for (const tone of [false, true]) {
      let state: Float32Array = new Float32Array(256);
      let p = 0;
      for (let i = 0; i < 8; i++) {
        const inputs = make(tone);
        inputs.state.data = state;
        const r = await window.serving.predict({ model: 'silero', label: 'stable', inputs });
        state = r.outputs.stateN!.data as Float32Array;
        p = (r.outputs.output!.data as Float32Array)[0]!;
      }
      last[tone ? 'tone' : 'silence'] = p;
    }
    return last;
  }, SILERO_FRAME);
  expect(probabilities.silence).toBeLessThan(0.2);
  expect(probabilities.tone).toBeGreaterThan(probabilities.silence!);
});

test('status lists every version with state, labels and provider; metadata gives the signature', async ({ harness, repo }) => {
  sileroRepo(repo);
  await startServing(harness, config(repo));
  const { status, meta, metaStable } = await harness.evaluate(async () => ({
    status: await window.serving.status('silero'),
    meta: await window.serving.metadata('silero'),
    metaStable: await window.serving.metadata('silero', { label: 'stable' }),
  }));
  expect(status.versions.map((v) => [v.version, v.state, [...v.labels], v.description?.provider])).toEqual([
    [2, 'AVAILABLE', ['canary'], 'wasm'],
    [1, 'AVAILABLE', ['stable'], 'wasm'],
  ]);
  expect(status.labels).toEqual({ stable: 1, canary: 2 });
  expect([...(status.repository?.versionsFound ?? [])].sort()).toEqual([1, 2]);
  expect(meta.version).toBe(2);
  expect(metaStable.version).toBe(1);
  expect(meta.platform).toBe('onnx');
  expect(meta.apis).toEqual(['predict']);
  const inputs = Object.fromEntries(meta.signature!.inputs.map((i) => [i.name, [i.type, i.shape.length]]));
  expect(inputs).toEqual({ input: ['float32', 2], state: ['float32', 3], sr: ['int64', 0] });
  const state = meta.signature!.inputs.find((i) => i.name === 'state')!;
  expect(state.shape[0]).toBe(2);
  expect(state.shape[2]).toBe(128);
  expect(meta.signature!.outputs.map((o) => o.name).sort()).toEqual(['output', 'stateN']);
});

test('inputs are transferred to the worker and outputs arrive as typed arrays', async ({ harness, repo }) => {
  sileroRepo(repo);
  await startServing(harness, config(repo));
  const r = await harness.evaluate(async (frame) => {
    const inputs = (0, eval)(frame)(true);
    const input = inputs.input.data as Float32Array;
    const before = input.byteLength;
    const response = await window.serving.predict({ model: 'silero', inputs });
    const copied = (0, eval)(frame)(true);
    const keep = copied.input.data as Float32Array;
    await window.serving.predict({ model: 'silero', inputs: copied, transferInputs: false });
    return {
      before,
      after: input.byteLength,
      keptAfterCopy: keep.byteLength,
      outputIsTyped: response.outputs.output!.data instanceof Float32Array,
    };
  }, SILERO_FRAME);
  expect(r.before).toBe(2048);
  expect(r.after).toBe(0);
  expect(r.keptAfterCopy).toBe(2048);
  expect(r.outputIsTyped).toBe(true);
});

test('the worker is cross-origin isolated and runs multi-threaded WASM when asked to', async ({ harness, repo }) => {
  sileroRepo(repo);
  await startServing(harness, { ...config(repo), wasm: { numThreads: 2 } });
  const r = await harness.evaluate(async (frame) => ({
    runtime: window.serving.runtime,
    version: (await window.serving.predict({ model: 'silero', inputs: (0, eval)(frame)(true) })).version,
  }), SILERO_FRAME);
  expect(r.runtime.crossOriginIsolated).toBe(true);
  expect(r.runtime.ortVersion).toMatch(/^\d+\.\d+/);
  expect(r.runtime.wasmThreads).toBe(2);
  expect(r.version).toBe(2);
});

test('by default the WASM thread count is ORT\'s own: min(4, ceil(cores / 2))', async ({ harness, repo }) => {
  sileroRepo(repo);
  await startServing(harness, config(repo));
  const r = await harness.evaluate(() => ({ runtime: window.serving.runtime, cores: navigator.hardwareConcurrency }));
  expect(r.runtime.wasmThreads).toBe(Math.max(1, Math.min(4, Math.ceil(r.cores / 2))));
});
