/**
 * Platforms end to end in Node: InProcessServing (control server, data plane, runners over real
 * MessageChannels) loading versions of app platforms from the modules e2e/pages/platforms/*.js
 * (the same files the browser tests import), with side files from a fetched repository.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ModelConfig, ServerConfig, TensorData } from '../../protocol.js';
import { FakeRepository } from '../../test-util/fake-repository.js';
import { InProcessServing } from '../../test-util/in-process-serving.js';
import { rejectionOf } from '../../test-util/rejection.js';
import { loadOnnxModels } from '../../test-util/onnx-models.js';

const onnx = await loadOnnxModels();
const platform = (name: string) => new URL(`../../../e2e/pages/platforms/${name}-platform.js`, import.meta.url).href;
const PLATFORMS = { tokenizer: platform('tokenizer'), counter: platform('counter'), broken: platform('broken'), decoder: platform('decoder') };
const VOCAB = JSON.stringify(['hello', 'browser', 'serving', 'world']);


const n = (value: number): Record<string, TensorData> => ({ n: { type: 'int32', data: Int32Array.of(value), dims: [1] } });

describe('platforms', () => {
  let repo: FakeRepository;
  let server: InProcessServing | undefined;

  beforeEach(async () => {
    repo = new FakeRepository();
    await repo.publish('tok', 1, { 'vocab.json': VOCAB, 'README.txt': 'a side file' }, 'tokenizer');
    await repo.publish('count', 1, { 'params.json': '{}' }, 'counter');
  });

  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const model = (name: string, extra: Partial<ModelConfig> = {}): ModelConfig => ({ name, basePath: repo.basePath(name), ...extra });

  async function start(config: Partial<ServerConfig> = {}): Promise<InProcessServing> {
    server = await InProcessServing.create(
      { pollIntervalMs: 0, executionProviders: ['wasm'], wasm: { numThreads: 1 }, maxLoadRetries: 0, platforms: PLATFORMS, models: [model('tok', { platformConfig: { lowercase: true } }), model('count')], ...config },
      { fetch: repo.fetch },
    );
    await server.waitForModels(20_000);
    return server;
  }

  it("serves an app platform's servable from its module: methods, lookup and predict validated against its signature, with its side files and platformConfig", async () => {
    const s = await start();
    expect(await s.call({ model: 'tok', method: 'encode', args: 'Hello serving WORLD nope' })).toEqual({ model: 'tok', version: 1, value: [0, 2, 3, -1] });
    expect((await s.call({ model: 'tok', method: 'decode', args: [1, 2] })).value).toBe('browser serving');
    expect(await s.lookup({ model: 'tok', keys: ['world', 'x'] })).toEqual({ model: 'tok', version: 1, values: [3, null] });
    const predicted = await s.predict({ model: 'tok', inputs: { text: { type: 'string', data: ['browser world'], dims: [1] } } });
    expect(predicted.outputs.ids).toEqual({ type: 'int32', data: Int32Array.of(1, 3), dims: [2] });

    const badInput = await rejectionOf(s.predict({ model: 'tok', inputs: { txt: { type: 'string', data: ['a'], dims: [1] } } }));
    expect(badInput).toMatchObject({ code: 'INVALID_ARGUMENT', model: 'tok', version: 1 });
    expect(badInput.message).toMatch(/text/);

    const metadata = s.metadata({ model: 'tok' });
    expect(metadata).toMatchObject({ platform: 'tokenizer', apis: ['predict', 'lookup', 'call:encode', 'call:decode', 'call:failPlain', 'call:failCoded'], description: { platform: 'tokenizer', vocabulary: 4, lowercase: true } });
    expect(metadata.signature?.inputs[0]).toEqual({ name: 'text', type: 'string', shape: [1] });
    expect(s.status('tok').versions[0]).toMatchObject({ state: 'AVAILABLE', description: { platform: 'tokenizer', vocabulary: 4 } });
  });

  it('a request for something the servable does not answer is INVALID_ARGUMENT saying what it answers', async () => {
    const s = await start();
    const predictOnCounter = await rejectionOf(s.predict({ model: 'count', inputs: n(1) }));
    expect(predictOnCounter).toMatchObject({ code: 'INVALID_ARGUMENT', model: 'count', version: 1 });
    expect(predictOnCounter.message).toMatch(/predict\(\) cannot be used with it; use predictStream\(\) or call\(\{ method: "stats" \}\)/);
    const unknownMethod = await rejectionOf(s.call({ model: 'tok', method: 'tokenize', args: 'x' }));
    expect(unknownMethod.message).toMatch(/call\(\{ method: "tokenize" \}\) cannot be used with it; use predict\(\) or lookup\(\) or call\(\{ method: "encode" \}\)/);
    const badMethod = await rejectionOf(s.call({ model: 'tok', method: 42 as unknown as string }));
    expect(badMethod).toMatchObject({ code: 'INVALID_ARGUMENT', model: 'tok' });
  });

  it("errors thrown by a platform's code keep a ServingError's code; anything else is INTERNAL naming the platform", async () => {
    const s = await start();
    const plain = await rejectionOf(s.call({ model: 'tok', method: 'failPlain' }));
    expect(plain).toMatchObject({ code: 'INTERNAL', model: 'tok', version: 1 });
    expect(plain.message).toBe('model "tok" version 1: platform "tokenizer" failed in failPlain(): this tokenizer has a bug');
    const coded = await rejectionOf(s.call({ model: 'tok', method: 'failCoded' }));
    expect(coded).toMatchObject({ code: 'NOT_FOUND', model: 'tok', version: 1, message: 'no such word list' });
    // The servable keeps serving after its errors.
    expect((await s.call({ model: 'tok', method: 'encode', args: 'world' })).value).toEqual([3]);
  });

  it('a version whose platform fails to load ends with the error; one of an unregistered platform says how to register it; others keep serving', async () => {
    await repo.publish('bad', 1, { 'x.bin': 'x' }, 'broken');
    await repo.publish('unknown', 1, { 'x.bin': 'x' }, 'mystery');
    const s = await start({ models: [model('tok'), model('bad'), model('unknown')] });
    expect(s.status('bad').versions[0]).toMatchObject({ state: 'END', error: { code: 'INTERNAL', message: 'model "bad" version 1: platform "broken" failed in load(): the broken platform cannot load anything' } });
    const unknown = s.status('unknown').versions[0]!;
    expect(unknown).toMatchObject({ state: 'END', error: { code: 'FAILED_PRECONDITION' } });
    expect(unknown.error!.message).toMatch(/platform "mystery", which is not registered \(platforms: onnx, table, pipeline, tokenizer, counter, broken, decoder\); register its module: createServing\(\{ platforms: \{ mystery: new URL/);
    expect((await s.call({ model: 'tok', method: 'encode', args: 'hello' })).value).toEqual([0]);
  });

  it('rejects a config whose platforms are malformed, naming the platform', async () => {
    for (const [platforms, message] of [
      [{ onnx: PLATFORMS.tokenizer }, /platforms: "onnx" is built in/],
      [{ Tok: PLATFORMS.tokenizer }, /"Tok" is not a platform name/],
      [{ tok: './relative.js' }, /platforms.tok must be the absolute URL of its module/],
    ] as const) {
      const error = await rejectionOf(InProcessServing.create({ platforms, models: [] }, { fetch: repo.fetch }));
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(error.message).toMatch(message);
    }
  });

  it('predictStream yields each step; the runner produces no more than highWaterMark ahead of the consumer', async () => {
    const s = await start();
    const steps: number[] = [];
    for await (const result of s.predictStream({ model: 'count', inputs: n(5) })) steps.push((result.outputs.step!.data as Int32Array)[0]!);
    expect(steps).toEqual([0, 1, 2, 3, 4]);

    const before = ((await s.call({ model: 'count', method: 'stats' })).value as { produced: number }).produced;
    const iterator = s.predictStream({ model: 'count', inputs: n(1000), highWaterMark: 3 });
    await iterator.next();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const { produced } = (await s.call({ model: 'count', method: 'stats' })).value as { produced: number };
    // One taken and three ahead, not a thousand.
    expect(produced - before).toBeLessThanOrEqual(1 + 3);
    await iterator.return();
  });

  it('leaving the loop, the signal and the deadline stop the stream within one step', async () => {
    await repo.publish('slow', 1, { 'params.json': '{}' }, 'counter');
    const s = await start({ models: [model('count'), model('slow', { platformConfig: { stepMs: 20 } })] });
    const stats = async () => (await s.call({ model: 'slow', method: 'stats' })).value as { produced: number; stopped: number; finished: number };

    for await (const result of s.predictStream({ model: 'slow', inputs: n(1000) })) if ((result.outputs.step!.data as Int32Array)[0] === 1) break;
    await expect.poll(async () => (await stats()).stopped).toBe(1);

    const controller = new AbortController();
    const aborted = (async () => {
      for await (const result of s.predictStream({ model: 'slow', inputs: n(1000), signal: controller.signal })) if ((result.outputs.step!.data as Int32Array)[0] === 2) controller.abort();
    })();
    expect(await rejectionOf(aborted)).toMatchObject({ code: 'CANCELLED', model: 'slow' });
    await expect.poll(async () => (await stats()).stopped).toBe(2);

    const timedOut = (async () => {
      for await (const _ of s.predictStream({ model: 'slow', inputs: n(1000), timeoutMs: 150 })) void _;
    })();
    expect(await rejectionOf(timedOut)).toMatchObject({ code: 'DEADLINE_EXCEEDED', model: 'slow' });
    await expect.poll(async () => (await stats()).stopped).toBe(3);
    const { produced, finished } = await stats();
    expect(finished).toBe(0);
    expect(produced).toBeLessThan(40);
  });

  it('a platform runs its own ONNX session on the runner: a decoder loop streams each step', async () => {
    await repo.publish('dec', 1, { 'step.onnx': onnx.mlpModel({ inputSize: 16, hidden: 8, outputSize: 4, seed: 3 }) }, 'decoder');
    const s = await start({ models: [model('dec', { platformConfig: { steps: 3 } })] });
    const x = Float32Array.from({ length: 16 }, (_, i) => Math.sin(i));
    const outputs: Float32Array[] = [];
    for await (const r of s.predictStream({ model: 'dec', inputs: { x: { type: 'float32', data: x, dims: [1, 16] } } })) outputs.push(r.outputs.y!.data as Float32Array);
    expect(outputs).toHaveLength(3);
    let input = x;
    for (const y of outputs) {
      const expected = onnx.mlpReference(input, 1, { inputSize: 16, hidden: 8, outputSize: 4, seed: 3 });
      expect(Math.max(...y.map((v, i) => Math.abs(v - expected[i]!)))).toBeLessThan(1e-5);
      input = Float32Array.from({ length: 16 }, (_, j) => y[j % 4]!);
    }
    expect(s.metadata({ model: 'dec' })).toMatchObject({ platform: 'decoder', apis: ['stream'], description: { inputs: 1 } });
  });
});
