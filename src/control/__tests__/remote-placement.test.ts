/**
 * RemotePlacements: which loader answers a remote servable's failover question (the exchange of
 * remote-platform.ts, on the real BroadcastChannel), and when a model's endpoint is probed.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ServingError } from '../../core/serving-error.js';
import type { RemoteFailoverMessage } from '../../platforms/remote/remote-platform.js';
import type { ModelConfig, Route } from '../../protocol.js';
import type { ArtifactFetcher } from '../../loaders/artifact-fetcher.js';
import type { RunnerLoader, RunnerSupervision } from '../../loaders/runner-loader.js';
import { REMOTE_RUNNER_GROUP, RemotePlacements } from '../remote-placement.js';
import { fakeSupervision } from '../../test-util/fake-supervision.js';

/** Runners as the control worker sees them: the remote servable loads, or fails as `remoteFails` says. */
function supervision(options: { remoteFails?: () => boolean; groups?: (string | undefined)[] } = {}): RunnerSupervision {
  let runners = 0;
  return fakeSupervision((_spec, group) => {
    options.groups?.push(group);
    if (options.remoteFails?.()) throw new ServingError('UNAVAILABLE', 'remote endpoint http://tfs.test cannot be reached');
    return { runner: `runner-${(runners += 1)}` };
  });
}

/** A local RunnerLoader as PlacementLoader uses it. */
function localSide(options: { fails?: string } = {}) {
  let route: Route | undefined;
  return {
    estimateResources: async () => ({ bytes: 10 }),
    load: vi.fn(async () => {
      if (options.fails) throw new ServingError('FAILED_PRECONDITION', options.fails);
      route = { runner: 'local-runner', key: '"m"@1', version: 1, apis: ['predict'] };
    }),
    unload: vi.fn(async () => void (route = undefined)),
    servable: () => ({ platform: 'onnx', apis: ['predict'], signature: undefined }),
    get currentRoute() {
      return route;
    },
    route: async () => route!,
    describe: () => ({ platform: 'onnx' }),
  } as unknown as RunnerLoader;
}

const config: ModelConfig = { name: 'm', basePath: 'https://cdn.test/m', placement: 'prefer-remote', remote: { url: 'http://tfs.test', protocol: 'tfserving', probeIntervalMs: 50 } };
const signal = new AbortController().signal;

/** Asks the control worker, as a remote servable does, whether version 1 of `m` can move elsewhere. */
async function ask(placements: RemotePlacements): Promise<boolean> {
  const channel = new BroadcastChannel(placements.channel);
  const id = crypto.randomUUID();
  try {
    return await new Promise<boolean>((resolve) => {
      channel.onmessage = (event: MessageEvent<RemoteFailoverMessage>) => {
        if (event.data.k === 'failover' && event.data.id === id) resolve(event.data.failover);
      };
      channel.postMessage({ k: 'failing', id, model: 'm', version: 1, reason: 'HTTP 503' } satisfies RemoteFailoverMessage);
    });
  } finally {
    channel.close();
  }
}

/** A fetch that counts the endpoint's probes and answers as if it were down. */
function probes() {
  const calls: string[] = [];
  const fetch = (async (url: string) => {
    calls.push(String(url));
    throw new TypeError('fetch failed');
  }) as unknown as typeof globalThis.fetch;
  return { calls, fetch };
}

const fetcher = {} as ArtifactFetcher;
let placements: RemotePlacements | undefined;

afterEach(() => {
  placements?.close();
  placements = undefined;
  vi.useRealTimers();
});

describe('RemotePlacements', () => {
  it('a version list sent again makes a new loader for a loaded version: the loaded one still answers its failover questions', async () => {
    placements = new RemotePlacements({ supervision: supervision(), fetcher, resources: { fits: () => true, resize: () => true }, routesChanged: () => {}, pollIntervalMs: 0, fetch: probes().fetch });
    const loaded = placements.place({ name: 'm', version: 1 }, localSide(), config);
    await loaded.load({ signal });
    // What ServableLoaderAdapter does when the source sends the list again (labels edited): the manager discards this one.
    placements.place({ name: 'm', version: 1 }, localSide(), config);
    expect(await ask(placements)).toBe(true);
    await loaded.unload();
    expect(await ask(placements)).toBe(false);
  });

  it('a version whose load failed on both sides leaves nothing behind: its endpoint is not probed for ever', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { calls, fetch } = probes();
    placements = new RemotePlacements({ supervision: supervision({ remoteFails: () => true }), fetcher, resources: { fits: () => true, resize: () => true }, routesChanged: () => {}, pollIntervalMs: 0, fetch });
    const loader = placements.place({ name: 'm', version: 1 }, localSide({ fails: 'corrupt model' }), config);
    await expect(loader.load({ signal })).rejects.toMatchObject({ code: 'FAILED_PRECONDITION', message: expect.stringContaining('neither locally (corrupt model) nor remotely') });
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toEqual([]);
  });

  it('the remote copy runs in the remote runner group, never in the model\'s own runnerGroup (one runner\'s death would take both copies)', async () => {
    const groups: (string | undefined)[] = [];
    placements = new RemotePlacements({ supervision: supervision({ groups }), fetcher, resources: { fits: () => true, resize: () => true }, routesChanged: () => {}, pollIntervalMs: 0, fetch: probes().fetch });
    const loader = placements.place({ name: 'm', version: 1 }, localSide(), { ...config, runnerGroup: 'small-models' });
    await loader.load({ signal });
    expect(groups).toEqual([REMOTE_RUNNER_GROUP]);
    await loader.unload();
  });

  it('after reloadConfig changes the endpoint, versions loaded before keep a live health for theirs: a failure there is probed until it recovers', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { calls, fetch } = probes();
    placements = new RemotePlacements({ supervision: supervision(), fetcher, resources: { fits: () => true, resize: () => true }, routesChanged: () => {}, pollIntervalMs: 0, fetch });
    const before = placements.place({ name: 'm', version: 1 }, localSide(), config);
    await before.load({ signal });
    const moved: ModelConfig = { ...config, remote: { ...config.remote!, url: 'http://tfs-2.test' } };
    const after = placements.place({ name: 'm', version: 2 }, localSide(), moved);
    await after.load({ signal });
    expect(await ask(placements)).toBe(true);
    expect(before.currentRoute).toMatchObject({ runner: 'local-runner' });
    await vi.advanceTimersByTimeAsync(50);
    expect(calls).toEqual(['http://tfs.test/v1/models/m']);
    await before.unload();
    await after.unload();
  });
});
