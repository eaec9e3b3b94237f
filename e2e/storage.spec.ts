/**
 * The offline-first artifact store in a real browser: artifacts stream into the store (OPFS for
 * the bytes, IndexedDB for the records; IndexedDB alone with `backend: 'indexeddb'`) once and
 * are served from there after a reload (0 artifact bytes fetched) or with the repository gone;
 * cut downloads resume by Range; corrupt bytes are never stored or served; two tabs download a
 * file once; the byte budget evicts by LRU or refuses with the numbers; progress is monotonic.
 * The test server's request log (/__control/log) is the witness of what crossed the network.
 */
import type { Page } from '@playwright/test';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, expect, startServing } from './fixtures.js';
import type { Repo } from './fixtures.js';
import { largeModel } from '../scripts/onnx-models.mjs';
import type { DownloadProgress } from '../src/index.js';

const CHUNK = 64 * 1024;
const SIZE = 300_000; // largeModel({ bytes: SIZE }) is a little larger: five chunks and a bit

interface LogEntry {
  requests: number;
  bytes: number;
  ranges: number;
  rangeStarts: number[];
}

function publishBig(repo: Repo, versions: readonly number[]): number {
  let size = 0;
  for (const version of versions) {
    const bytes = largeModel({ bytes: SIZE, seed: version });
    repo.writeFile('big', version, 'model.onnx', bytes);
    size = bytes.byteLength;
  }
  repo.publish('big');
  return size;
}

const bigConfig = (repo: Repo, extra: object = {}, storage: object = {}) => ({
  models: [{ name: 'big', basePath: repo.basePath('big'), ...extra }],
  executionProviders: ['wasm' as const],
  pollIntervalMs: 0,
  storage: { chunkBytes: CHUNK, retry: { maxRetries: 3, backoffMs: 50 }, ...storage },
});

/** Gives every file of the model's manifest segment digests of `bytes` (the CLI writes them only for files above 4 MiB, larger than these test files). */
function addSegments(repo: Repo, model: string, bytes: number): void {
  const path = join(repo.dir, model, 'manifest.json');
  const manifest = JSON.parse(readFileSync(path, 'utf8'));
  for (const entry of manifest.versions) {
    for (const file of entry.files) {
      const data = readFileSync(join(repo.dir, model, String(entry.version), file.path));
      const sha256 = [];
      for (let at = 0; at < data.byteLength; at += bytes) sha256.push(createHash('sha256').update(data.subarray(at, at + bytes)).digest('hex'));
      file.segments = { bytes, sha256 };
    }
  }
  writeFileSync(path, JSON.stringify(manifest));
}

const artifact = (repo: Repo, version: number) => `${repo.url}big/${version}/model.onnx`;

async function log(page: Page): Promise<Record<string, LogEntry>> {
  return (await page.request.get('/__control/log')).json();
}

async function faults(page: Page, list: object[]): Promise<void> {
  await page.request.post('/__control/faults', { data: list });
}

async function predictVersion(page: Page, version?: number): Promise<number> {
  return page.evaluate(async (v) => {
    const response = await window.serving.predict({ model: 'big', ...(v === undefined ? {} : { version: v }), inputs: { x: { type: 'float32', dims: [1, 4], data: new Float32Array(4) } } });
    return response.version;
  }, version);
}

/** Reloads the page (the worker and its memory go; IndexedDB stays) and waits for the harness. */
async function reload(page: Page): Promise<void> {
  await page.reload();
  await page.waitForFunction(() => window.harnessReady === true);
}

async function versionState(page: Page, version: number) {
  return (await page.evaluate(() => window.serving.status('big'))).versions.find((v) => v.version === version);
}

test('cold load stores the artifact; after a reload it serves with 0 artifact bytes fetched', async ({ harness, repo }) => {
  const size = publishBig(repo, [1]);
  await startServing(harness, bigConfig(repo));
  expect(await predictVersion(harness)).toBe(1);
  expect((await log(harness))[artifact(repo, 1)]).toMatchObject({ requests: 1, bytes: size });
  expect(await harness.evaluate(() => window.serving.storage.list())).toEqual([expect.objectContaining({ model: 'big', version: 1, bytes: size, complete: true })]);
  expect(await harness.evaluate(() => window.serving.storage.usage())).toMatchObject({ mode: 'opfs', bytes: size });

  await harness.request.post('/__control/reset');
  await reload(harness);
  await startServing(harness, bigConfig(repo));
  expect(await predictVersion(harness)).toBe(1);
  const after = await log(harness);
  expect(after[artifact(repo, 1)], 'the artifact was not requested at all').toBeUndefined();
  expect(after[`${repo.url}big/manifest.json`]?.requests).toBeGreaterThanOrEqual(1);
});

test('a version stored by IndexedDB alone (storage.backend, or an earlier build) is served from it once the bytes move to OPFS: 0 artifact bytes fetched', async ({ harness, repo }) => {
  const size = publishBig(repo, [1]);
  await startServing(harness, bigConfig(repo, {}, { backend: 'indexeddb' }));
  expect(await predictVersion(harness)).toBe(1);
  expect(await harness.evaluate(() => window.serving.storage.usage())).toMatchObject({ mode: 'indexeddb', bytes: size });

  await harness.request.post('/__control/reset');
  await reload(harness);
  await startServing(harness, bigConfig(repo));
  expect(await predictVersion(harness)).toBe(1);
  expect((await log(harness))[artifact(repo, 1)], 'the artifact was not requested at all').toBeUndefined();
  expect(await harness.evaluate(() => window.serving.storage.usage())).toMatchObject({ mode: 'opfs', bytes: size });
  // Deleting it removes what IndexedDB held.
  await harness.evaluate(() => window.serving.storage.delete('big', 1));
  expect(await harness.evaluate(() => window.serving.storage.list())).toEqual([]);
});

test('a body cut mid-way resumes with Range and re-fetches at most one chunk', async ({ harness, repo }) => {
  const size = publishBig(repo, [1]);
  await faults(harness, [{ prefix: artifact(repo, 1), cutAfterBytes: 200_000, times: 1 }]);
  await startServing(harness, bigConfig(repo));
  expect(await predictVersion(harness)).toBe(1);
  const entry = (await log(harness))[artifact(repo, 1)]!;
  expect(entry.requests).toBe(2);
  expect(entry.ranges).toBe(1);
  // Resumed from the last whole chunk received, not from 0.
  expect(entry.rangeStarts[0]! % CHUNK).toBe(0);
  expect(entry.rangeStarts[0]).toBeGreaterThan(0);
  expect(entry.bytes - size, `bytes fetched twice: ${entry.bytes - size}`).toBeLessThanOrEqual(CHUNK);
  expect(entry.bytes).toBeGreaterThanOrEqual(size);
  expect(await harness.evaluate(() => window.serving.storage.list())).toEqual([expect.objectContaining({ version: 1, complete: true, bytes: size })]);
});

test('a server that ignores Range still completes the download', async ({ harness, repo }) => {
  const size = publishBig(repo, [1]);
  await faults(harness, [{ prefix: artifact(repo, 1), cutAfterBytes: 200_000, times: 1 }, { prefix: artifact(repo, 1), ignoreRange: true }]);
  await startServing(harness, bigConfig(repo));
  expect(await predictVersion(harness)).toBe(1);
  const entry = (await log(harness))[artifact(repo, 1)]!;
  expect(entry).toMatchObject({ requests: 2, ranges: 0 });
  expect(entry.bytes).toBeGreaterThan(size);
  expect(await harness.evaluate(() => window.serving.storage.list())).toEqual([expect.objectContaining({ version: 1, complete: true, bytes: size })]);
});

test('a corrupt artifact is DATA_LOSS, nothing of it is stored, and the previous version keeps serving', async ({ harness, repo }) => {
  const size = publishBig(repo, [1]);
  await startServing(harness, { ...bigConfig(repo), maxLoadRetries: 0 });
  expect(await predictVersion(harness)).toBe(1);
  publishBig(repo, [1, 2]);
  await faults(harness, [{ prefix: artifact(repo, 2), corrupt: true }]);
  await harness.evaluate(() => window.serving.poll());
  await expect.poll(async () => (await versionState(harness, 2))?.state, { timeout: 30_000 }).toBe('END');
  expect((await versionState(harness, 2))?.error).toMatchObject({ code: 'DATA_LOSS', model: 'big', version: 2 });
  expect((await log(harness))[artifact(repo, 2)]?.requests).toBe(1);
  expect((await versionState(harness, 1))?.state).toBe('AVAILABLE');
  expect(await predictVersion(harness)).toBe(1);
  expect((await harness.evaluate(() => window.serving.storage.list())).map((v) => v.version)).toEqual([1]);
  expect((await harness.evaluate(() => window.serving.storage.usage())).bytes).toBe(size);
});

test('with segment digests, a corrupt segment is DATA_LOSS, the verified segments before it stay, and the next load resumes at its boundary', async ({ harness, repo }) => {
  const size = publishBig(repo, [1]);
  addSegments(repo, 'big', CHUNK);
  // The first response is cut after 200 000 bytes (three whole segments); the resumed one starts with a flipped byte.
  await faults(harness, [{ prefix: artifact(repo, 1), cutAfterBytes: 200_000, times: 1 }, { prefix: artifact(repo, 1), corrupt: true, times: 1 }]);
  await startServing(harness, { ...bigConfig(repo), maxLoadRetries: 0, waitForModels: false });
  await expect.poll(async () => (await versionState(harness, 1))?.state, { timeout: 30_000 }).toBe('END');
  const error = (await versionState(harness, 1))?.error;
  expect(error).toMatchObject({ code: 'DATA_LOSS', model: 'big', version: 1, data: { segment: 3 } });
  expect(error?.message).toMatch(/file "model\.onnx": bytes 196608–262143 \(segment 3\) have SHA-256/);
  expect(await harness.evaluate(() => window.serving.storage.list())).toEqual([expect.objectContaining({ version: 1, complete: false, bytes: 3 * CHUNK })]);

  await harness.request.post('/__control/reset');
  await reload(harness);
  await startServing(harness, bigConfig(repo));
  expect(await predictVersion(harness)).toBe(1);
  expect((await log(harness))[artifact(repo, 1)]).toMatchObject({ requests: 1, ranges: 1, rangeStarts: [3 * CHUNK], bytes: size - 3 * CHUNK });
  expect(await harness.evaluate(() => window.serving.storage.list())).toEqual([expect.objectContaining({ version: 1, complete: true, bytes: size })]);
});

const MIB = 1024 * 1024;

test('IndexedDB alone, with 1 MiB segments: a request cut mid-segment loses that segment only, and the next load resumes at its boundary without fetching a byte twice', async ({ harness, repo }) => {
  // Four segments: the first streams in, the others are fetched as Blobs, a request each (on a server this fast; with
  // the bytes in IndexedDB: on OPFS every file streams).
  const bytes = largeModel({ bytes: 3.5 * MIB, seed: 5 });
  repo.writeFile('big', 1, 'model.onnx', bytes);
  repo.publish('big');
  addSegments(repo, 'big', MIB);
  // The first request is served whole, every later one cut off after 100 000 bytes; no retries.
  await faults(harness, [{ prefix: artifact(repo, 1), times: 1 }, { prefix: artifact(repo, 1), cutAfterBytes: 100_000 }]);
  await startServing(harness, { ...bigConfig(repo, {}, { backend: 'indexeddb', retry: { maxRetries: 0, backoffMs: 0 } }), maxLoadRetries: 0, waitForModels: false });
  await expect.poll(async () => (await versionState(harness, 1))?.state, { timeout: 30_000 }).toBe('END');
  expect((await versionState(harness, 1))?.error).toMatchObject({ code: 'UNAVAILABLE', model: 'big', version: 1 });
  expect(await harness.evaluate(() => window.serving.storage.usage())).toMatchObject({ mode: 'indexeddb' });
  expect(await harness.evaluate(() => window.serving.storage.list())).toEqual([expect.objectContaining({ version: 1, complete: false, bytes: MIB })]);

  await harness.request.post('/__control/reset');
  await reload(harness);
  await startServing(harness, bigConfig(repo, {}, { backend: 'indexeddb' }));
  expect(await predictVersion(harness)).toBe(1);
  const entry = (await log(harness))[artifact(repo, 1)]!;
  expect(entry.rangeStarts[0]).toBe(MIB);
  expect(entry.rangeStarts.every((start) => start % MIB === 0), `range starts ${entry.rangeStarts.join(', ')}`).toBe(true);
  expect(entry.bytes).toBe(bytes.byteLength - MIB);
  expect(await harness.evaluate(() => window.serving.storage.list())).toEqual([expect.objectContaining({ version: 1, complete: true, bytes: bytes.byteLength })]);
});

test('IndexedDB alone, with 1 MiB segments: a corrupt segment is DATA_LOSS naming model, version, file and segment, and only the segments before it are stored', async ({ harness, repo }) => {
  const bytes = largeModel({ bytes: 3.5 * MIB, seed: 6 });
  repo.writeFile('big', 1, 'model.onnx', bytes);
  repo.publish('big');
  addSegments(repo, 'big', MIB);
  // The first request is served whole; every later one starts with a flipped byte.
  await faults(harness, [{ prefix: artifact(repo, 1), times: 1 }, { prefix: artifact(repo, 1), corrupt: true }]);
  await startServing(harness, { ...bigConfig(repo, {}, { backend: 'indexeddb' }), maxLoadRetries: 0, waitForModels: false });
  await expect.poll(async () => (await versionState(harness, 1))?.state, { timeout: 30_000 }).toBe('END');
  const error = (await versionState(harness, 1))?.error;
  expect(error).toMatchObject({ code: 'DATA_LOSS', model: 'big', version: 1, data: { segment: 1 } });
  expect(error?.message).toMatch(/^model "big" version 1 file "model\.onnx": bytes 1048576–2097151 \(segment 1\) have SHA-256 [0-9a-f]{64}, the manifest says [0-9a-f]{64}/);
  expect(await harness.evaluate(() => window.serving.storage.list())).toEqual([expect.objectContaining({ version: 1, complete: false, bytes: MIB })]);
});

test('with the server stopped, a reloaded page still serves from the cache', async ({ harness, repo }) => {
  publishBig(repo, [1]);
  await startServing(harness, bigConfig(repo));
  expect(await predictVersion(harness)).toBe(1);

  await faults(harness, [{ prefix: repo.url, offline: true }]);
  await reload(harness);
  await startServing(harness, bigConfig(repo));
  expect(await predictVersion(harness)).toBe(1);
  const status = await harness.evaluate(() => window.serving.status('big'));
  expect(status.repository).toMatchObject({ fromCache: true, versionsFound: [1], error: { code: 'UNAVAILABLE' } });
});

test('an OPFS file removed behind the store\'s back (its record kept) fails its digest as DATA_LOSS naming it, is dropped, and the retried load downloads it again', async ({ harness, repo }) => {
  const size = publishBig(repo, [1]);
  await startServing(harness, bigConfig(repo));
  expect(await predictVersion(harness)).toBe(1);

  await harness.request.post('/__control/reset');
  await reload(harness);
  // The reloaded page's workers are not started yet: nothing holds the file open.
  await harness.evaluate(async () => {
    const root = await (await navigator.storage.getDirectory()).getDirectoryHandle('browserving-artifacts');
    const model = await root.getDirectoryHandle('m-big');
    await (await model.getDirectoryHandle('1')).removeEntry('f-model.onnx');
  });
  const failures = await harness.evaluate(async (options) => {
    const seen: string[] = [];
    window.serving = await window.browserving.createServing({
      ...options,
      onEvent: (e) => {
        const text = JSON.stringify(e);
        if (text.includes('DATA_LOSS')) seen.push(text);
      },
    });
    await window.serving.waitForModels();
    return seen;
  }, { ...bigConfig(repo), maxLoadRetries: 1 });
  expect(failures.join('\n')).toMatch(/DATA_LOSS.*model \\"big\\" version 1 file \\"model\.onnx\\"/);
  expect(await predictVersion(harness)).toBe(1);
  expect((await log(harness))[artifact(repo, 1)]).toMatchObject({ requests: 1, bytes: size });
  const status = await harness.evaluate(() => window.serving.status('big'));
  expect(status.versions.find((v) => v.version === 1)).toMatchObject({ state: 'AVAILABLE' });
  expect(await harness.evaluate(() => window.serving.storage.list())).toEqual([expect.objectContaining({ version: 1, complete: true, bytes: size })]);
});

test('two tabs loading the same new version download each file once', async ({ harness, repo, context }) => {
  const size = publishBig(repo, [1]);
  const second = await context.newPage();
  await second.goto('/e2e/');
  await second.waitForFunction(() => window.harnessReady === true);
  // Slow the artifact down so that both tabs want it while it is still downloading.
  await faults(harness, [{ prefix: artifact(repo, 1), delayMs: 1500 }]);
  await Promise.all([startServing(harness, bigConfig(repo)), startServing(second, bigConfig(repo))]);
  expect(await predictVersion(harness)).toBe(1);
  expect(await predictVersion(second)).toBe(1);
  expect((await log(harness))[artifact(repo, 1)]).toMatchObject({ requests: 1, bytes: size });
  await second.evaluate(() => window.serving.close());
  await second.close();
});

test('a budget smaller than two versions evicts the one that is neither aspired nor serving', async ({ harness, repo }) => {
  const size = publishBig(repo, [1, 2]);
  const config = (version: number) => ({
    ...bigConfig(repo, { modelVersionPolicy: { specific: { versions: [version] } } }, { budgetBytes: Math.floor(size * 1.5) }),
    versionPolicy: 'resource-preserving' as const,
  });
  await startServing(harness, config(1));
  expect(await predictVersion(harness)).toBe(1);
  await harness.evaluate((c) => window.serving.reloadConfig(c), config(2));
  await expect.poll(async () => (await versionState(harness, 2))?.state, { timeout: 30_000 }).toBe('AVAILABLE');
  expect(await predictVersion(harness)).toBe(2);
  expect((await harness.evaluate(() => window.serving.storage.list())).map((v) => v.version)).toEqual([2]);
});

test('a budget smaller than one version fails it with RESOURCE_EXHAUSTED naming the bytes', async ({ harness, repo }) => {
  const size = publishBig(repo, [1]);
  const budget = Math.floor(size / 2);
  await startServing(harness, { ...bigConfig(repo, {}, { budgetBytes: budget }), maxLoadRetries: 0 });
  const v1 = await versionState(harness, 1);
  expect(v1?.state).toBe('END');
  expect(v1?.error).toMatchObject({ code: 'RESOURCE_EXHAUSTED', model: 'big', version: 1, data: { bytesNeeded: size, bytesAvailable: budget, budgetBytes: budget } });
  expect(v1?.error?.message).toContain(`needs ${size} more bytes but has ${budget} available`);
  expect((await log(harness))[artifact(repo, 1)]).toBeUndefined();
  expect(await harness.evaluate(() => window.serving.storage.list())).toEqual([]);
});

test('progress events per file and per version are monotonic and end at the file size', async ({ harness, repo }) => {
  const size = publishBig(repo, [1]);
  // Cut once, then resumed slowly (~1 s): progress is reported about 10 times a second, so a
  // download over the loopback at full speed would be one step.
  await faults(harness, [{ prefix: artifact(repo, 1), cutAfterBytes: 150_000, times: 1 }, { prefix: artifact(repo, 1), bytesPerSecond: 150_000 }]);
  await startServing(harness, { ...bigConfig(repo), models: [] });
  const events = await harness.evaluate(async (config) => {
    const seen: DownloadProgress[] = [];
    window.serving.subscribe((event) => {
      if (event.type === 'download') seen.push(event.progress);
    });
    await window.serving.reloadConfig({ models: config.models });
    await window.serving.waitForModels();
    return seen;
  }, bigConfig(repo));
  for (const stream of [events.filter((e) => e.file === 'model.onnx'), events.filter((e) => e.file === undefined)]) {
    const done = stream.map((e) => e.bytesDone);
    expect(done, 'bytesDone never decreases').toEqual([...done].sort((a, b) => a - b));
    expect(new Set(done).size, 'several steps, not just start and end').toBeGreaterThan(3);
    expect(stream.every((e) => e.bytesTotal === size)).toBe(true);
    expect(stream[0]).toMatchObject({ state: 'queued', bytesDone: 0 });
    expect(stream.at(-1)).toMatchObject({ model: 'big', version: 1, state: 'cached', bytesDone: size });
    expect(stream.map((e) => e.state)).toContain('verifying');
  }
});
