/**
 * prefer-local in the whole runtime (InProcessServing: real runners, real onnxruntime-web in
 * Node) against the remote test server (scripts/remote-server.mjs) serving the same MLP.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, expect, it, vi } from 'vitest';
import { startRemoteServer } from '../../../scripts/remote-server.mjs';
import { createRequestHandler } from '../../http/handle.js';
import { ServingError } from '../../core/serving-error.js';
import type { TensorData } from '../../protocol.js';
import { FakeRepository } from '../../test-util/fake-repository.js';
import { InProcessServing } from '../../test-util/in-process-serving.js';

const MLP = fileURLToPath(new URL('../../../public/models/mlp/1/model.onnx', import.meta.url));
let remote: Awaited<ReturnType<typeof startRemoteServer>>;
let dir: string;
let server: InProcessServing | undefined;

beforeAll(async () => {
  if (!existsSync(MLP)) throw new Error('public/models is missing: run `node scripts/test.mjs --unit` (or npm test) once to write it');
  // The endpoint serves versions 1 and 2 of the same MLP, as the repository will.
  dir = mkdtempSync(join(tmpdir(), 'browserving-prefer-'));
  for (const version of [1, 2]) {
    mkdirSync(join(dir, String(version)));
    copyFileSync(MLP, join(dir, String(version), 'model.onnx'));
  }
  remote = await startRemoteServer({ library: { createRequestHandler, ServingError }, models: { mlp: dir } });
}, 60_000);
afterAll(async () => {
  await remote?.close();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const x: Record<string, TensorData> = { x: { type: 'float32', dims: [1, 16], data: new Float32Array(16).fill(0.5) } };

it('prefer-local: an upgrade that does not fit beside the old version serves remotely, then goes local once the old one is unloaded', async () => {
  const model = new Uint8Array(readFileSync(MLP));
  const repo = new FakeRepository();
  await repo.publish('mlp', 1, { 'model.onnx': model });
  // Remote calls go to the test server; the repository's to the fake.
  const fetch = ((input: string | URL | Request, init?: RequestInit) => (String(input).startsWith(remote.url) ? globalThis.fetch(input, init) : repo.fetch(input as string, init))) as typeof globalThis.fetch;
  server = await InProcessServing.create(
    {
      pollIntervalMs: 0,
      executionProviders: ['wasm'],
      wasm: { numThreads: 1 },
      maxLoadRetries: 0,
      // One copy of the model fits, two do not.
      resourceBudgetBytes: Math.floor(model.byteLength * 1.5),
      models: [{ name: 'mlp', basePath: repo.basePath('mlp'), placement: 'prefer-local', remote: { url: remote.url, protocol: 'tfserving' } }],
    },
    { fetch },
  );
  await server.waitForModels(20_000);
  expect((await server.status('mlp')).versions[0]!.description).toMatchObject({ provider: 'wasm', placement: 'prefer-local' });

  await repo.publish('mlp', 2, { 'model.onnx': model });
  await server.pollNow();
  await vi.waitFor(async () => expect((await server!.status('mlp')).versions.map((v) => [v.version, v.state])).toEqual([[2, 'AVAILABLE'], [1, 'END']]), { timeout: 20_000 });
  // Version 2 loaded while version 1 held the budget; once 1 is gone, 2 loads locally too.
  await vi.waitFor(async () => expect((await server!.status('mlp')).versions[0]!.description).toMatchObject({ provider: 'wasm', placement: 'prefer-local' }), { timeout: 20_000 });
  expect((await server.status('mlp')).versions[0]!.description!.placementReason).toBeUndefined();
  remote.resetLog();
  const answer = await server.predict({ model: 'mlp', inputs: x });
  expect(answer.version).toBe(2);
  expect(remote.log.predictions).toEqual({});
}, 60_000);
