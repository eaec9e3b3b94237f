import { describe, expect, it, vi } from 'vitest';
import { ServingError } from '../../core/serving-error.js';
import type { Route } from '../../protocol.js';
import { EndpointHealth } from '../endpoint-health.js';
import { PlacementLoader } from '../placement-loader.js';
import type { RunnerLoader } from '../runner-loader.js';

/** A RunnerLoader as PlacementLoader uses it: its route can vanish (restart) and come back. */
function side(name: 'local' | 'remote', options: { bytes?: number; fails?: string; failsOnce?: string } = {}) {
  let route: Route | undefined;
  let failsOnce = options.failsOnce;
  const loader = {
    /** Called where a RunnerLoader pushes routes: at the end of its load, once placed. */
    pushRoutes: () => {},
    estimateResources: async () => ({ bytes: options.bytes ?? 0 }),
    load: vi.fn(async () => {
      if (options.fails) throw new ServingError('FAILED_PRECONDITION', options.fails);
      if (failsOnce) {
        const reason = failsOnce;
        failsOnce = undefined;
        throw new ServingError('UNAVAILABLE', reason);
      }
      route = { runner: `${name}-runner`, key: '"m"@1', version: 1, apis: ['predict'], ...(name === 'remote' ? { placement: 'remote' as const } : {}) };
      loader.pushRoutes();
    }),
    unload: vi.fn(async () => {}),
    servable: () => ({ platform: name === 'local' ? 'onnx' : 'remote', apis: ['predict'], signature: undefined }),
    get currentRoute() {
      return route;
    },
    route: async () => {
      if (!route) throw new ServingError('UNAVAILABLE', `${name} gone`);
      return route;
    },
    describe: () => ({ platform: name === 'local' ? 'onnx' : 'remote', provider: name === 'local' ? 'wasm' : 'remote' }),
    die: () => (route = undefined),
    back: () => (route = { runner: `${name}-runner-2`, key: '"m"@1', version: 1, apis: ['predict'] }),
  };
  return loader;
}

function placed(placement: 'prefer-local' | 'prefer-remote', options: { fits?: boolean; localRetries?: number; local?: { fails?: string; failsOnce?: string }; remote?: { fails?: string; failsOnce?: string } } = {}) {
  const local = side('local', { bytes: 1000, ...options.local });
  /** The budget: whether the local side fits, and the version's reservation. */
  const budget = { fits: options.fits ?? true, reserved: undefined as number | undefined };
  const remote = side('remote', options.remote);
  let healthy = true;
  /** The route the client was given at each push. */
  const pushed: (Route | undefined)[] = [];
  const pushRoutes = () => pushed.push(loader.currentRoute);
  local.pushRoutes = remote.pushRoutes = pushRoutes;
  // As RemotePlacements wires it: a healthy endpoint again retries a remote side that failed to load, then routes are pushed.
  const health = new EndpointHealth({ probe: async () => { if (!healthy) throw new Error('still down'); }, probeMs: 5, onChange: () => { if (health.healthy) loader.endpointHealthy(); pushRoutes(); } });
  const attached = { now: false };
  const loader = new PlacementLoader({
    id: { name: 'm', version: 1 },
    placement,
    local: local as unknown as RunnerLoader,
    remote: remote as unknown as RunnerLoader,
    attach: () => ((attached.now = true), health),
    detach: () => (attached.now = false),
    resources: {
      fits: () => budget.fits,
      resize: (bytes) => {
        if (bytes > 0 && !budget.fits) return false;
        budget.reserved = bytes;
        return true;
      },
    },
    localRetries: { max: options.localRetries ?? 0, backoffMs: 1 },
    routesChanged: pushRoutes,
  });
  return { loader, local, remote, health, attached, pushed, budget, setHealthy: (h: boolean) => (healthy = h) };
}

const signal = new AbortController().signal;

describe('PlacementLoader', () => {
  it('prefer-local: local while its runner is up, remote while it restarts, local again once back; every route says failover', async () => {
    const { loader, local } = placed('prefer-local');
    expect(await loader.estimateResources()).toEqual({ bytes: 1000 });
    await loader.load({ signal });
    expect(loader.currentRoute).toMatchObject({ runner: 'local-runner', failover: true });
    expect(loader.describe()).toMatchObject({ provider: 'wasm', placement: 'prefer-local' });
    local.die();
    expect(loader.currentRoute).toMatchObject({ runner: 'remote-runner', placement: 'remote', failover: true });
    expect(loader.describe()).toMatchObject({ provider: 'remote', placementReason: 'local runner restarting' });
    local.back();
    expect(loader.currentRoute).toMatchObject({ runner: 'local-runner-2' });
    expect(loader.describe().placementReason).toBeUndefined();
  });

  it('prefer-local: over the budget, the local side is not loaded at all and costs no resources', async () => {
    const { loader, local } = placed('prefer-local', { fits: false });
    expect(await loader.estimateResources()).toEqual({ bytes: 0 });
    await loader.load({ signal });
    expect(local.load).not.toHaveBeenCalled();
    expect(loader.currentRoute).toMatchObject({ placement: 'remote' });
    expect(String(loader.describe().placementReason)).toMatch(/^local: it needs 1000 bytes, more than the resource budget/);
  });

  it('prefer-local: a failed local load serves remotely; both failing fails the load naming both', async () => {
    const one = placed('prefer-local', { local: { fails: 'no adapter for webgpu' } });
    await one.loader.load({ signal });
    expect(one.loader.describe()).toMatchObject({ provider: 'remote', placementReason: 'local: no adapter for webgpu' });
    const both = placed('prefer-local', { local: { fails: 'no adapter for webgpu' }, remote: { fails: 'endpoint 404' } });
    await expect(both.loader.load({ signal })).rejects.toThrow(/neither locally \(no adapter for webgpu\) nor remotely \(endpoint 404\)/);
    // A failed load gets no unload(): the loader detaches itself, so nothing keeps its endpoint probed.
    expect(both.attached.now).toBe(false);
    both.health.close();
  });

  it('prefer-remote: remote while healthy; a failing endpoint moves requests local until a probe finds it ready', async () => {
    const { loader, health, setHealthy } = placed('prefer-remote');
    await loader.load({ signal });
    expect(loader.currentRoute).toMatchObject({ placement: 'remote' });
    setHealthy(false);
    expect(loader.remoteFailed('HTTP 500')).toBe(true);
    expect(health.healthy).toBe(false);
    expect(loader.currentRoute).toMatchObject({ runner: 'local-runner' });
    expect(loader.describe()).toMatchObject({ provider: 'wasm', placementReason: 'remote: HTTP 500' });
    setHealthy(true);
    await vi.waitFor(() => expect(health.healthy).toBe(true));
    expect(loader.currentRoute).toMatchObject({ placement: 'remote' });
    health.close();
  });

  it('prefer-remote: with no local side to take it, a failing endpoint is no failover, and the next requests still go remote', async () => {
    const { loader, health } = placed('prefer-remote', { local: { fails: 'corrupt model' } });
    await loader.load({ signal });
    expect(loader.remoteFailed('HTTP 503')).toBe(false);
    expect(health.healthy).toBe(false);
    expect(loader.currentRoute).toMatchObject({ placement: 'remote' });
    expect(await loader.route()).toMatchObject({ placement: 'remote' });
    health.close();
  });

  it('prefer-local: over the budget, one failed remote request does not make the version unroutable', async () => {
    const { loader, health, setHealthy } = placed('prefer-local', { fits: false });
    await loader.estimateResources();
    await loader.load({ signal });
    setHealthy(false);
    expect(loader.remoteFailed('HTTP 503')).toBe(false);
    expect(loader.currentRoute).toMatchObject({ placement: 'remote' });
    expect(await loader.route()).toMatchObject({ placement: 'remote' });
    health.close();
  });

  it('prefer-remote: a remote side that failed to load and loads once the endpoint is back gets the routes pushed with it', async () => {
    const { loader, remote, health, pushed } = placed('prefer-remote', { remote: { failsOnce: 'endpoint restarting' } });
    await loader.load({ signal });
    expect(loader.currentRoute).toMatchObject({ runner: 'local-runner' });
    await vi.waitFor(() => expect(remote.load).toHaveBeenCalledTimes(2));
    await vi.waitFor(() => expect(loader.currentRoute).toMatchObject({ placement: 'remote' }));
    // What the client follows is the last route pushed: it must be the remote one, or requests stay local for good.
    await vi.waitFor(() => expect(pushed.at(-1)).toMatchObject({ placement: 'remote' }));
    health.close();
  });

  it('prefer-local: over the budget, the manager\'s next load attempt checks the budget again and loads the local side when it fits', async () => {
    const { loader, local, budget } = placed('prefer-local', { fits: false, remote: { failsOnce: 'endpoint restarting' } });
    expect(await loader.estimateResources()).toEqual({ bytes: 0 });
    await expect(loader.load({ signal })).rejects.toThrow(/neither locally/);
    budget.fits = true;
    expect(await loader.estimateResources()).toEqual({ bytes: 1000 });
    await loader.load({ signal });
    expect(local.load).toHaveBeenCalledTimes(1);
    expect(loader.currentRoute).toMatchObject({ runner: 'local-runner' });
  });

  it('prefer-local: serving remotely for want of memory, it goes local once memory is freed, reserving the local bytes', async () => {
    const { loader, budget, pushed, health } = placed('prefer-local', { fits: false });
    await loader.estimateResources();
    await loader.load({ signal });
    expect(loader.currentRoute).toMatchObject({ placement: 'remote' });
    loader.resourcesFreed();
    expect(budget.reserved).toBeUndefined();
    budget.fits = true;
    loader.resourcesFreed();
    await vi.waitFor(() => expect(loader.currentRoute).toMatchObject({ runner: 'local-runner' }));
    expect(budget.reserved).toBe(1000);
    expect(pushed.at(-1)).toMatchObject({ runner: 'local-runner' });
    expect(loader.describe().placementReason).toBeUndefined();
    health.close();
  });

  it('prefer-local: a local load that failed is tried again while the endpoint serves, and the version goes back to local', async () => {
    const { loader, local, pushed, health } = placed('prefer-local', { localRetries: 3, local: { failsOnce: 'fetch failed' } });
    await loader.estimateResources();
    await loader.load({ signal });
    expect(loader.currentRoute).toMatchObject({ placement: 'remote' });
    await vi.waitFor(() => expect(loader.currentRoute).toMatchObject({ runner: 'local-runner' }));
    expect(local.load).toHaveBeenCalledTimes(2);
    expect(pushed.at(-1)).toMatchObject({ runner: 'local-runner' });
    await loader.unload();
    health.close();
  });
});
