/**
 * The `remote` platform's servable against the test server (scripts/remote-server.mjs), with the
 * control worker's end of the failover channel played by the test.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createRequestHandler } from '../../../http/handle.js';
import { ServingError } from '../../../core/serving-error.js';
import type { RemoteEndpointConfig, TensorData } from '../../../protocol.js';
import type { PlatformServable, PlatformVersion } from '../../platform.js';
import { remotePlatform, type RemoteFailoverMessage, type RemotePlatformConfig } from '../remote-platform.js';
import { startRemoteServer } from '../../../../scripts/remote-server.mjs';

const MODELS = fileURLToPath(new URL('../../../../public/models/', import.meta.url));
let server: Awaited<ReturnType<typeof startRemoteServer>>;

beforeAll(async () => {
  if (!existsSync(`${MODELS}mlp/1/model.onnx`)) throw new Error('public/models is missing: run `node scripts/test.mjs --unit` (or npm test) once to write it');
  server = await startRemoteServer({ library: { createRequestHandler, ServingError }, models: { mlp: `${MODELS}mlp` } });
}, 60_000);
afterAll(() => server?.close());
beforeEach(() => server.clearFault());

/** The control worker's end: records what it is asked and answers `failover: true`. */
let control: { channel: BroadcastChannel; asked: string[] };
beforeEach(() => {
  const channel = new BroadcastChannel(`test-${crypto.randomUUID()}`);
  const asked: string[] = [];
  channel.onmessage = (event: MessageEvent<RemoteFailoverMessage>) => {
    if (event.data.k !== 'failing') return;
    asked.push(event.data.reason);
    channel.postMessage({ k: 'failover', id: event.data.id, failover: true } satisfies RemoteFailoverMessage);
  };
  control = { channel, asked };
});
afterEach(() => control.channel.close());

function version(endpoint: Partial<RemoteEndpointConfig> = {}): PlatformVersion {
  const config: RemotePlatformConfig = { endpoint: { url: server.url, protocol: 'tfserving', ...endpoint }, model: 'mlp', channel: control.channel.name };
  return { model: 'mlp', version: 1, platform: 'remote', files: [], config } as unknown as PlatformVersion;
}

const x = (cols = 16): Record<string, TensorData> => ({ x: { type: 'float32', dims: [1, cols], data: new Float32Array(cols) } });

async function rejection(promise: Promise<unknown> | unknown): Promise<ServingError> {
  try {
    await promise;
  } catch (error) {
    return error as ServingError;
  }
  throw new Error('it succeeded');
}

describe('remote platform: failover under prefer-*', () => {
  let servable: PlatformServable;
  let loader: ReturnType<typeof remotePlatform.createLoader>;
  beforeEach(async () => {
    loader = remotePlatform.createLoader(version());
    servable = await loader.load({ signal: new AbortController().signal });
  });
  afterEach(() => loader.unload?.());

  for (const status of [404, 401, 403, 429, 500, 503]) {
    it(`an endpoint answering HTTP ${status} moves the request to the local version`, async () => {
      server.setFault({ kind: 'status', status, times: 1 });
      const error = await rejection(servable.predict!(x(), { signal: new AbortController().signal }));
      expect(error).toMatchObject({ code: 'UNAVAILABLE', model: 'mlp', version: 1, data: { failover: true, retryable: true } });
      expect(error.message).toContain(`HTTP ${status}`);
      expect(control.asked).toHaveLength(1);
    });
  }

  it('a request the endpoint refuses as invalid fails as it is: the local version would refuse it too', async () => {
    server.setFault({ kind: 'status', status: 400, times: 1 });
    expect(await rejection(servable.predict!(x(), { signal: new AbortController().signal }))).toMatchObject({ code: 'INVALID_ARGUMENT', model: 'mlp' });
    expect(control.asked).toEqual([]);
  });
});

it('a load that fails closes its failover channel (it gets no unload)', async () => {
  const close = vi.spyOn(BroadcastChannel.prototype, 'close');
  try {
    const loader = remotePlatform.createLoader({ ...version(), version: 9 } as PlatformVersion);
    await expect(loader.load({ signal: new AbortController().signal })).rejects.toMatchObject({ code: 'NOT_FOUND', model: 'mlp', version: 9 });
    expect(close).toHaveBeenCalledTimes(1);
    expect((close.mock.contexts[0] as BroadcastChannel).name).toBe(control.channel.name);
  } finally {
    close.mockRestore();
  }
});
