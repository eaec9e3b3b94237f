/**
 * InProcessServing end to end in Node: the real onnxruntime-web (WASM backend) runs models that
 * scripts/onnx-models.mjs generates, fetched from an in-memory repository through a fake fetch.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ServingError } from '../../core/serving-error.js';
import type { ModelConfig, PredictResponse, ServerConfig, TensorData } from '../../protocol.js';
import { FakeRepository } from '../../test-util/fake-repository.js';
import { loadOnnxModels, type MlpOptions } from '../../test-util/onnx-models.js';
import { InProcessServing } from '../../test-util/in-process-serving.js';

const onnx = await loadOnnxModels();

const MLP = { inputSize: 16, hidden: 32, outputSize: 4 } as const;
const V1: MlpOptions = { ...MLP, seed: 1 };
const V2: MlpOptions = { ...MLP, seed: 2 };
const V3: MlpOptions = { ...MLP, seed: 3 };

/** Row-major [batch, 16] inputs, different in every row and for every `offset`. */
function features(batch: number, offset = 0): Float32Array {
  return Float32Array.from({ length: batch * MLP.inputSize }, (_, i) => Math.sin(i * 0.37 + offset) * 2);
}

function inputsOf(x: Float32Array, batch: number): Record<string, TensorData> {
  return { x: { type: 'float32', data: x, dims: [batch, MLP.inputSize] } };
}

/** Asserts that the response's `y` is what mlpModel(options) computes for `x`. */
function expectMlpOutput(response: PredictResponse, x: Float32Array, batch: number, options: MlpOptions): void {
  const y = response.outputs.y!;
  expect(y.type).toBe('float32');
  expect(y.dims).toEqual([batch, MLP.outputSize]);
  expect(y.data).toBeInstanceOf(Float32Array);
  const expected = onnx.mlpReference(x, batch, options);
  const actual = y.data as Float32Array;
  expect(actual).toHaveLength(expected.length);
  const worst = Math.max(...actual.map((v, i) => Math.abs(v - expected[i]!)));
  expect(worst).toBeLessThan(1e-5);
}

const rejectionOf = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => {
      throw new Error('the request succeeded');
    },
    (error: unknown) => error,
  );

function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('did not throw');
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('InProcessServing with onnxruntime-web (WASM) and a fetched repository', () => {
  let repo: FakeRepository;
  let server: InProcessServing | undefined;

  beforeEach(async () => {
    repo = new FakeRepository();
    await repo.publish('mlp', 1, { 'model.onnx': onnx.mlpModel(V1) });
  });

  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const model = (name: string, extra: Partial<ModelConfig> = {}): ModelConfig => ({ name, basePath: repo.basePath(name), ...extra });

  async function start(config: Partial<ServerConfig> = {}): Promise<InProcessServing> {
    server = await InProcessServing.create(
      { pollIntervalMs: 0, executionProviders: ['wasm'], wasm: { numThreads: 1 }, maxLoadRetries: 0, models: [model('mlp')], ...config },
      { fetch: repo.fetch },
    );
    await server.waitForModels(20_000);
    return server;
  }

  it('predict returns what the MLP computes, from the latest version', async () => {
    const s = await start();
    const x = features(3);
    const response = await s.predict({ model: 'mlp', inputs: inputsOf(x, 3) });
    expect(response.model).toBe('mlp');
    expect(response.version).toBe(1);
    expect(Object.keys(response.outputs)).toEqual(['y']);
    expectMlpOutput(response, x, 3, V1);
  });

  it('predict by version and by label reaches that version', async () => {
    await repo.publish('mlp', 2, { 'model.onnx': onnx.mlpModel(V2) });
    repo.setLabels('mlp', { canary: 2 });
    const s = await start({ models: [model('mlp', { modelVersionPolicy: { all: {} }, versionLabels: { stable: 1 } })] });
    const x = features(2);
    const byVersion1 = await s.predict({ model: 'mlp', version: 1, inputs: inputsOf(x, 2) });
    expect(byVersion1.version).toBe(1);
    expectMlpOutput(byVersion1, x, 2, V1);
    const byVersion2 = await s.predict({ model: 'mlp', version: 2, inputs: inputsOf(x, 2) });
    expect(byVersion2.version).toBe(2);
    expectMlpOutput(byVersion2, x, 2, V2);

    const stable = await s.predict({ model: 'mlp', label: 'stable', inputs: inputsOf(x, 2) });
    expect(stable.version).toBe(1);
    expectMlpOutput(stable, x, 2, V1);
    const canary = await s.predict({ model: 'mlp', label: 'canary', inputs: inputsOf(x, 2) });
    expect(canary.version).toBe(2);
    expectMlpOutput(canary, x, 2, V2);
    expect((await s.predict({ model: 'mlp', inputs: inputsOf(x, 2) })).version).toBe(2);

    expect(await rejectionOf(s.predict({ model: 'mlp', label: 'beta', inputs: inputsOf(x, 2) }))).toMatchObject({ code: 'NOT_FOUND', model: 'mlp', label: 'beta' });
    expect(await rejectionOf(s.predict({ model: 'mlp', version: 3, inputs: inputsOf(x, 2) }))).toMatchObject({ code: 'NOT_FOUND', model: 'mlp', version: 3 });
    expect(await rejectionOf(s.predict({ model: 'mlp', version: 1, label: 'stable', inputs: inputsOf(x, 2) }))).toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('a label on a version the policy does not select says so and how to fix it, instead of waiting forever', async () => {
    await repo.publish('mlp', 2, { 'model.onnx': onnx.mlpModel(V2) });
    repo.setLabels('mlp', { stable: 1, future: 7 });
    const s = await start();
    const x = features(1);
    const stable = await rejectionOf(s.predict({ model: 'mlp', label: 'stable', inputs: inputsOf(x, 1) }));
    expect(stable).toMatchObject({ code: 'FAILED_PRECONDITION', model: 'mlp', label: 'stable', version: 1 });
    expect((stable as Error).message).toMatch(/version policy \{"latest":\{"numVersions":1\}\} does not select \(it serves: 2\); use modelVersionPolicy: \{ all: \{\} \}/);
    const future = await rejectionOf(s.predict({ model: 'mlp', label: 'future', inputs: inputsOf(x, 1) }));
    expect(future).toMatchObject({ code: "FAILED_PRECONDITION", version: 7 });
    expect((future as Error).message).toMatch(/the repository does not have \(versions found: (1, 2|2, 1)\)/);
  });

  it('status shows the version AVAILABLE on the wasm provider, with why WebGPU was skipped', async () => {
    const s = await start({ executionProviders: undefined, models: [model('mlp', { versionLabels: { stable: 1 } })] });
    const status = s.status('mlp');
    expect(status.model).toBe('mlp');
    expect(status.versions).toHaveLength(1);
    expect(status.versions[0]).toMatchObject({ version: 1, state: 'AVAILABLE', labels: ['stable'], description: { platform: 'onnx', provider: 'wasm' } });
    expect(status.versions[0]!.description!.providerFallback).toMatch(/^webgpu: /);
    expect(status.versions[0]!.error).toBeUndefined();
    expect(status.labels).toEqual({ stable: 1 });
    expect(status.repository).toMatchObject({ basePath: repo.basePath('mlp'), versionsFound: [1], versionsAspired: [1] });
    expect(status.repository!.error).toBeUndefined();
    expect(thrownBy(() => s.status('nope'))).toMatchObject({ code: 'NOT_FOUND', model: 'nope' });
  });

  it('metadata gives the signature the loaded session reports', async () => {
    const s = await start();
    const metadata = s.metadata({ model: 'mlp' });
    expect(metadata).toMatchObject({ model: 'mlp', version: 1, platform: 'onnx', apis: ['predict'], labels: [], description: { provider: 'wasm' } });
    expect(metadata.signature).toEqual({
      inputs: [{ name: 'x', type: 'float32', shape: ['batch', 16] }],
      outputs: [{ name: 'y', type: 'float32', shape: ['batch', 4] }],
    });
  });

  it('a bad request is INVALID_ARGUMENT naming model, version and input, and is counted in metrics', async () => {
    const s = await start();
    const wrongWidth = { x: { type: 'float32', data: new Float32Array(2 * 15), dims: [2, 15] } } as const;
    const error = await rejectionOf(s.predict({ model: 'mlp', inputs: wrongWidth }));
    expect(error).toBeInstanceOf(ServingError);
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', model: 'mlp', version: 1, input: 'x', message: expect.stringMatching(/model "mlp" version 1: input "x" dimension 1 is 15, expected 16/) });
    expect(await rejectionOf(s.predict({ model: 'nope', inputs: {} }))).toMatchObject({ code: 'NOT_FOUND', model: 'nope', message: expect.stringContaining('models: mlp') });
    await s.predict({ model: 'mlp', inputs: inputsOf(features(1), 1) });
    const metrics = await s.metrics();
    expect(metrics.models.mlp).toMatchObject({ requests: 2, runs: 1, errors: { INVALID_ARGUMENT: 1 } });
    expect(metrics.runtime.ortVersion).toMatch(/^\d+\.\d+/);
  });

  it('publishing version 2 swaps to it on the next poll, while a stream of predictions never fails', async () => {
    const s = await start();
    const served: number[] = [];
    const failures: unknown[] = [];
    let stop = false;
    const traffic = (async () => {
      for (let i = 0; !stop; i += 1) {
        const x = features(2, i);
        try {
          const response = await s.predict({ model: 'mlp', inputs: inputsOf(x, 2) });
          expectMlpOutput(response, x, 2, response.version === 1 ? V1 : V2);
          served.push(response.version);
        } catch (error) {
          failures.push(error);
        }
        // Requests arrive over time, as from a page; without this the loop would never yield to I/O.
        await tick();
      }
    })();
    await expect.poll(() => served.length, { timeout: 10_000 }).toBeGreaterThan(3);
    await repo.publish('mlp', 2, { 'model.onnx': onnx.mlpModel(V2) });
    await s.pollNow();
    await s.waitForModels(20_000);
    const swappedAt = served.length;
    await expect.poll(() => served.length, { timeout: 10_000 }).toBeGreaterThan(swappedAt + 3);
    stop = true;
    await traffic;

    expect(failures).toEqual([]);
    const firstV2 = served.indexOf(2);
    expect(served[0]).toBe(1);
    expect(firstV2).toBeGreaterThan(0);
    expect(served.slice(firstV2).every((v) => v === 2)).toBe(true);
    expect(s.status('mlp').versions.map((v) => [v.version, v.state, v.error])).toEqual([
      [2, 'AVAILABLE', undefined],
      [1, 'END', undefined],
    ]);
  });

  it('a corrupt artifact fails that version with DATA_LOSS while version 1 keeps serving', async () => {
    const s = await start();
    const good = onnx.mlpModel(V2);
    await repo.publish('mlp', 2, { 'model.onnx': good });
    const corrupt = good.slice();
    corrupt[corrupt.length - 1]! ^= 0xff;
    repo.replaceFile('mlp', 2, 'model.onnx', corrupt);
    await s.pollNow();
    await s.waitForModels(20_000);

    const [v2, v1] = s.status('mlp').versions;
    expect(v2).toMatchObject({ version: 2, state: 'END', error: { code: 'DATA_LOSS', model: 'mlp', version: 2 } });
    expect(v2!.error!.message).toMatch(/model "mlp" version 2 file "model\.onnx": SHA-256 [0-9a-f]{64} does not match/);
    expect(v2!.error!.data).toMatchObject({ expectedSha256: repo.manifest('mlp').versions[1]!.files[0]!.sha256 });
    expect(v1).toMatchObject({ version: 1, state: 'AVAILABLE' });

    const x = features(1);
    const latest = await s.predict({ model: 'mlp', inputs: inputsOf(x, 1) });
    expect(latest.version).toBe(1);
    expectMlpOutput(latest, x, 1, V1);
    const error = await rejectionOf(s.predict({ model: 'mlp', version: 2, inputs: inputsOf(x, 1) }));
    expect(error).toMatchObject({ code: 'FAILED_PRECONDITION', model: 'mlp', version: 2, message: expect.stringContaining('DATA_LOSS') });

    await repo.publish('mlp', 3, { 'model.onnx': onnx.mlpModel(V3) });
    await s.pollNow();
    await s.waitForModels(20_000);
    const next = await s.predict({ model: 'mlp', inputs: inputsOf(x, 1) });
    expect(next.version).toBe(3);
    expectMlpOutput(next, x, 1, V3);
  });

  it('warms a version up from its warmup.json, and a malformed one fails the version with INVALID_ARGUMENT', async () => {
    const warmup = (value: number) => JSON.stringify({ inputs: { a: { type: 'int64', dims: [1], data: [value] }, b: { type: 'int64', dims: [1], data: [2] } } });
    await repo.publish('add', 1, { 'model.onnx': onnx.addInt64Model(), 'warmup.json': warmup(1) });
    await repo.publish('add', 2, { 'model.onnx': onnx.addInt64Model(), 'warmup.json': warmup(1.5) });
    const s = await start({ models: [model('mlp'), model('add', { modelVersionPolicy: { all: {} }, warmupRuns: 2 })] });
    const versions = s.status('add').versions;
    expect(versions.find((v) => v.version === 1)).toMatchObject({ state: 'AVAILABLE' });
    const v2 = versions.find((v) => v.version === 2)!;
    expect(v2.state).toBe('END');
    expect(v2.error).toMatchObject({ code: 'INVALID_ARGUMENT', model: 'add', version: 2 });
    expect(v2.error!.message).toMatch(/warmup\.json.*input "a"/);
    const sum = await s.predict({ model: 'add', version: 1, inputs: { a: { type: 'int64', dims: [1], data: BigInt64Array.from([40n]) }, b: { type: 'int64', dims: [1], data: BigInt64Array.from([2n]) } } });
    expect(Array.from(sum.outputs.sum!.data as BigInt64Array)).toEqual([42n]);
  });

  it('serves lookup tables: a vocabulary and a map', async () => {
    await repo.publish('words', 1, { 'table.txt': '<unk>\nhello\nworld\n' });
    await repo.publish('classes', 4, { 'table.json': JSON.stringify({ 0: 'cat', 1: 'dog' }) });
    const s = await start({ models: [model('mlp'), model('words'), model('classes')] });
    expect(await s.lookup({ model: 'words', keys: ['world', 'nope'] })).toEqual({ model: 'words', version: 1, values: [2, null] });
    expect(await s.lookup({ model: 'words', keys: [1] })).toEqual({ model: 'words', version: 1, values: ['hello'] });
    expect(await s.lookup({ model: 'classes', keys: [1, 0] })).toEqual({ model: 'classes', version: 4, values: ['dog', 'cat'] });
    expect(s.metadata({ model: 'words' })).toMatchObject({ platform: 'table', apis: ['lookup'], description: { tableType: 'vocabulary', size: 3 } });
    expect(s.metadata({ model: 'classes' })).toMatchObject({ platform: 'table', apis: ['lookup'], description: { tableType: 'map', size: 2 } });
    expect(s.status('words').versions[0]).toMatchObject({ state: 'AVAILABLE', description: { platform: 'table', tableType: 'vocabulary', size: 3 } });

    expect(await rejectionOf(s.lookup({ model: 'words', keys: ['a', 2] as unknown as string[] }))).toMatchObject({ code: 'INVALID_ARGUMENT', model: 'words', version: 1, input: 'keys[1]' });
    expect(await rejectionOf(s.predict({ model: 'words', inputs: {} }))).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('use lookup()') });
    expect(await rejectionOf(s.lookup({ model: 'mlp', keys: ['a'] }))).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('use predict()') });
  });

  it('reloadConfig adds and removes models while serving', async () => {
    await repo.publish('words', 1, { 'table.txt': 'a\nb\n' });
    const s = await start();
    expect(thrownBy(() => s.metadata({ model: 'words' }))).toMatchObject({ code: 'NOT_FOUND', model: 'words' });

    await s.reloadConfig({ models: [model('mlp'), model('words')] });
    await s.waitForModels(20_000);
    expect(await s.lookup({ model: 'words', keys: ['b'] })).toMatchObject({ values: [1] });
    expect((await s.predict({ model: 'mlp', inputs: inputsOf(features(1), 1) })).version).toBe(1);

    await s.reloadConfig({ models: [model('words')] });
    await s.waitForModels(20_000);
    expect(await rejectionOf(s.predict({ model: 'mlp', inputs: inputsOf(features(1), 1) }))).toMatchObject({ code: 'NOT_FOUND', model: 'mlp', message: expect.stringContaining('not configured') });
    expect(s.status('mlp').versions).toMatchObject([{ version: 1, state: 'END' }]);
    expect(await s.lookup({ model: 'words', keys: ['a'] })).toMatchObject({ values: [0] });
  });

  it('a rejected reloadConfig changes nothing', async () => {
    const s = await start();
    const bad = [
      { models: [model('mlp'), { name: 'mlp', basePath: repo.basePath('mlp') }] },
      { models: [model('mlp', { modelVersionPolicy: { latest: null } as never })] },
      { models: [{ name: 'other', basePath: 'not a url' }] },
    ];
    for (const config of bad) {
      expect(await rejectionOf(s.reloadConfig(config))).toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    expect(await rejectionOf(s.reloadConfig({ models: [model('mlp', { versionLabels: { stable: 9 } })] }))).toMatchObject({ code: 'FAILED_PRECONDITION', model: 'mlp', label: 'stable', version: 9 });
    expect((await s.predict({ model: 'mlp', inputs: inputsOf(features(1), 1) })).version).toBe(1);
    expect(s.status('mlp').labels).toEqual({});
  });

  it('create() rejects a malformed model version policy instead of failing at the first poll', async () => {
    const created = InProcessServing.create({ pollIntervalMs: 0, models: [model('mlp', { modelVersionPolicy: { latest: null } as never })] }, { fetch: repo.fetch });
    expect(await rejectionOf(created)).toMatchObject({ code: 'INVALID_ARGUMENT', model: 'mlp', message: expect.stringContaining('latest must be an object') });
  });
});
