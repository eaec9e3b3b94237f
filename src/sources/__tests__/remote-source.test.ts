/** RemoteSource against the test server (scripts/remote-server.mjs): versions from the endpoint, the policy applied, outages tolerated. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startRemoteServer } from '../../../scripts/remote-server.mjs';
import { createRequestHandler } from '../../http/handle.js';
import { ServingError } from '../../core/serving-error.js';
import { RemoteSource } from '../remote-source.js';

const MODELS = fileURLToPath(new URL('../../../public/models/', import.meta.url));
let server: Awaited<ReturnType<typeof startRemoteServer>>;

beforeAll(async () => {
  if (!existsSync(`${MODELS}silero/2/model.onnx`)) throw new Error('public/models is missing: run `node scripts/test.mjs --unit` (or npm test) once to write it');
  server = await startRemoteServer({ library: { createRequestHandler, ServingError }, models: { silero: `${MODELS}silero` } });
}, 60_000);
afterAll(() => server?.close());

function source() {
  const calls: { name: string; versions: number[]; platforms: string[] }[] = [];
  const remote = new RemoteSource({ pollIntervalMs: 0 });
  remote.setAspiredVersionsCallback((name, versions) => calls.push({ name, versions: versions.map((v) => v.id.version), platforms: versions.map((v) => v.data?.entry.platform ?? '') }));
  return { remote, calls };
}

for (const protocol of ['tfserving', 'kserve-v2'] as const) {
  it(`${protocol}: aspires the versions the endpoint serves, as the model version policy selects them`, async () => {
    const { remote, calls } = source();
    await remote.configure([
      { name: 'vad', remote: { url: server.url, protocol, model: 'silero' }, modelVersionPolicy: { latest: { numVersions: 1 } } },
      { name: 'all', remote: { url: server.url, protocol, model: 'silero' }, modelVersionPolicy: { all: {} } },
    ]);
    expect(calls).toEqual([
      { name: 'vad', versions: [2], platforms: ['remote'] },
      { name: 'all', versions: [2, 1], platforms: ['remote', 'remote'] },
    ]);
    expect(remote.status('vad')).toMatchObject({ basePath: server.url, versionsFound: [2, 1], versionsAspired: [2] });
    remote.stop();
  });
}

it('an endpoint that cannot be reached changes nothing aspired and says why; a removed model is unloaded', async () => {
  const { remote, calls } = source();
  const model = { name: 'vad', remote: { url: server.url, protocol: 'tfserving' as const, model: 'silero' }, modelVersionPolicy: { all: {} } };
  await remote.configure([model]);
  server.setFault({ kind: 'down' });
  try {
    await remote.pollAll();
  } finally {
    server.clearFault();
  }
  expect(calls).toHaveLength(1);
  expect(remote.status('vad')).toMatchObject({ versionsAspired: [2, 1], error: { code: 'UNAVAILABLE', model: 'vad' } });
  await remote.pollAll();
  expect(remote.status('vad')?.error).toBeUndefined();
  await remote.configure([]);
  expect(calls.at(-1)).toEqual({ name: 'vad', versions: [], platforms: [] });
  remote.stop();
});
