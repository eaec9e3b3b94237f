import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EndpointHealth } from '../endpoint-health.js';

beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] }));
afterEach(() => vi.useRealTimers());

describe('EndpointHealth', () => {
  it('an endpoint that stays down is probed less and less often (doubling, up to 16 × probeMs); a success resets the wait', async () => {
    let up = false;
    const probe = vi.fn(async () => {
      if (!up) throw new Error('HTTP 503');
    });
    const health = new EndpointHealth({ probe, probeMs: 100, onChange: () => {} });
    health.markFailing('HTTP 503');
    // Probes at 100, 300, 700, 1500, 3100, then every 1600 ms: 4700, 6300.
    await vi.advanceTimersByTimeAsync(6300);
    expect(probe).toHaveBeenCalledTimes(7);
    expect(health.healthy).toBe(false);
    up = true;
    await vi.advanceTimersByTimeAsync(1600);
    expect(health.healthy).toBe(true);
    up = false;
    probe.mockClear();
    health.markFailing('HTTP 503');
    await vi.advanceTimersByTimeAsync(100);
    expect(probe).toHaveBeenCalledTimes(1);
    health.close();
  });
});

describe('EndpointHealth, real timers', () => {
  beforeEach(() => vi.useRealTimers());

  it('a probe that gets no answer in time keeps the reason the endpoint was marked failing for', async () => {
    const finished: string[] = [];
    const probe = (signal: AbortSignal) =>
      new Promise<void>((_, reject) => signal.addEventListener('abort', () => {
        finished.push('probe');
        reject(signal.reason);
      }));
    const health = new EndpointHealth({ probe, probeMs: 1, onChange: () => {} });
    health.markFailing('remote endpoint http://tfs.test cannot be reached');
    await vi.waitFor(() => expect(finished).toEqual(['probe']), { timeout: 5000 });
    expect(health.reason).toBe('remote endpoint http://tfs.test cannot be reached');
    health.close();
  });
});
