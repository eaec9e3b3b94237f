import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DownloadProgress } from '../../protocol.js';
import { ProgressCoalescer } from '../progress-coalescer.js';

const p = (state: DownloadProgress['state'], bytesDone: number, file?: string): DownloadProgress => ({ model: 'm', version: 1, state, bytesDone, bytesTotal: 1000, ...(file ? { file } : {}) });

describe('ProgressCoalescer', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('passes state changes at once and at most one downloading event per interval, the latest, per file and version', () => {
    const seen: DownloadProgress[] = [];
    const c = new ProgressCoalescer((e) => seen.push(e), 100);
    c.push(p('queued', 0));
    c.push(p('downloading', 10));
    for (let i = 2; i <= 50; i++) c.push(p('downloading', i * 10));
    c.push(p('downloading', 5, 'a.onnx'));
    expect(seen.map((e) => [e.state, e.bytesDone, e.file])).toEqual([['queued', 0, undefined], ['downloading', 10, undefined], ['downloading', 5, 'a.onnx']]);
    vi.advanceTimersByTime(100);
    expect(seen.at(-1)).toMatchObject({ state: 'downloading', bytesDone: 500 });
    c.push(p('downloading', 600));
    c.push(p('verifying', 1000));
    c.push(p('cached', 1000));
    vi.advanceTimersByTime(1000);
    // The held 600 is dropped: a later state came first, and progress never goes back.
    expect(seen.slice(-2).map((e) => e.state)).toEqual(['verifying', 'cached']);
    expect(seen.filter((e) => e.file === undefined).map((e) => e.bytesDone)).toEqual([0, 10, 500, 1000, 1000]);
  });

  it('a long download is reported about 10 times a second', () => {
    const seen: DownloadProgress[] = [];
    const c = new ProgressCoalescer((e) => seen.push(e), 100);
    for (let ms = 0; ms < 2000; ms += 5) {
      c.push(p('downloading', ms));
      vi.advanceTimersByTime(5);
    }
    expect(seen.length).toBeGreaterThanOrEqual(18);
    expect(seen.length).toBeLessThanOrEqual(22);
  });
});
