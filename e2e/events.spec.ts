/**
 * What a page sees of loading, from the first byte: `createServing({ onEvent })` gets every event
 * before it resolves — the first download's progress included, at a rate a UI can render — and
 * `subscribe()` replays the current state to a late subscriber.
 */
import { test, expect, startServing } from './fixtures.js';
import { largeModel } from '../scripts/onnx-models.mjs';

test('onEvent sees the first download from its first byte, about 10 progress events a second, ending cached', async ({ harness, repo }) => {
  repo.writeFile('big', 1, 'model.onnx', largeModel({ bytes: 1_500_000, seed: 1 }));
  repo.publish('big');
  // 1.5 MB at 1 MB/s: a download of about 1.5 s.
  await harness.request.post('/__control/faults', { data: [{ prefix: `${repo.url}big/1/`, bytesPerSecond: 1_000_000 }] });
  const r = await harness.evaluate(async (basePath) => {
    const events: { type: string; at: number; state?: string; file?: string; bytesDone?: number; bytesTotal?: number }[] = [];
    const t0 = performance.now();
    window.serving = await window.browserving.createServing({
      models: [{ name: 'big', basePath }],
      executionProviders: ['wasm'],
      pollIntervalMs: 0,
      storage: { chunkBytes: 64 * 1024 },
      onEvent: (e) => {
        const at = performance.now() - t0;
        if (e.type === 'download') events.push({ type: e.type, at, state: e.progress.state, file: e.progress.file, bytesDone: e.progress.bytesDone, bytesTotal: e.progress.bytesTotal });
        else if (e.type === 'servable-state') events.push({ type: e.type, at, state: e.state.state });
        else events.push({ type: e.type, at });
      },
    });
    const replayed: string[] = [];
    window.serving.subscribe((e) => replayed.push(e.type === 'servable-state' ? `state ${e.state.id.version} ${e.state.state}` : e.type))();
    return { events, replayed };
  }, repo.basePath('big'));
  const versionProgress = r.events.filter((e) => e.type === 'download' && e.file === undefined);
  const states = r.events.filter((e) => e.type === 'servable-state').map((e) => e.state);
  expect(states).toEqual(['START', 'LOADING', 'AVAILABLE']);
  expect(versionProgress[0]).toMatchObject({ state: 'queued', bytesDone: 0 });
  expect(versionProgress.at(-1)).toMatchObject({ state: 'cached' });
  const downloading = versionProgress.filter((e) => e.state === 'downloading');
  // Progress moved forward in visible steps while the download lasted, never backwards.
  expect(downloading.length).toBeGreaterThanOrEqual(5);
  for (let i = 1; i < versionProgress.length; i++) expect(versionProgress[i]!.bytesDone!).toBeGreaterThanOrEqual(versionProgress[i - 1]!.bytesDone!);
  const span = (downloading.at(-1)!.at - downloading[0]!.at) / 1000;
  // About 10 a second (one every 100 ms, plus the first of each burst).
  expect(downloading.length).toBeLessThanOrEqual(Math.ceil(span * 10) + 3);
  // A late subscriber is told where things stand: the version AVAILABLE, and the repository.
  expect(r.replayed).toContain('state 1 AVAILABLE');
  expect(r.replayed).toContain('repository');
});
