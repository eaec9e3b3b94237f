/**
 * Sharded tables in Chromium: a vocabulary of 100 000 entries, generated at set-up, written as 4
 * shards by the package CLI (`browserving manifest --shards 4`) and served by four WASM-only
 * runners as one version — lookups both directions fanned out and merged in key order, wrong
 * keys and a dying shard as typed errors, a hot swap under a lookup loop, a reload offline.
 */
import type { Page } from '@playwright/test';
import { test, expect, pageError, startServing, type Repo } from './fixtures.js';

const SIZE = 100_000;
const SHARDS = 4;

/** Version 1's entries; version 2 holds the same ones in reverse order, so every answer tells the versions apart. */
const WORDS = Array.from({ length: SIZE }, (_, i) => (i % 1000 === 7 ? `naïve-${i.toString(36)}-✓` : `tok-${i.toString(36)}`));
const entriesOf = (version: number) => (version === 1 ? WORDS : [...WORDS].reverse());
/** The index of WORDS[i] in a version. */
const indexIn = (version: number, i: number) => (version === 1 ? i : SIZE - 1 - i);

function publishVocabulary(repo: Repo, version: number): void {
  repo.writeFile('vocab', version, 'table.txt', `${entriesOf(version).join('\n')}\n`);
  repo.publish('vocab', {}, { shards: SHARDS });
}

const config = (repo: Repo, extra: object = {}) => ({
  models: [{ name: 'vocab', basePath: repo.basePath('vocab') }],
  executionProviders: ['wasm' as const],
  pollIntervalMs: 0,
  ...extra,
});

/** Reloads the page (its workers and their memory go; IndexedDB stays) and waits for the harness. */
async function reload(page: Page): Promise<void> {
  await page.reload();
  await page.waitForFunction(() => window.harnessReady === true);
}

/** Looks up every entry of WORDS by string and by index in the page; resolves with the positions that came back wrong for `version`. */
async function wrongAnswers(page: Page, version: number): Promise<{ version: number; byString: number[]; byIndex: number[] }> {
  return page.evaluate(
    async ({ words, version, size }) => {
      const s = window.serving;
      // Shuffled: every lookup touches every shard, in an order unrelated to the shards'.
      const order = words.map((_, i) => (i * 7919) % size);
      const strings = await s.lookup({ model: 'vocab', keys: order.map((i) => words[i]!) });
      const indices = await s.lookup({ model: 'vocab', keys: order.map((i) => (version === 1 ? i : size - 1 - i)) });
      const expectedIndex = (i: number) => (version === 1 ? i : size - 1 - i);
      return {
        version: strings.version,
        byString: order.filter((i, p) => strings.values[p] !== expectedIndex(i)).slice(0, 5),
        byIndex: order.filter((i, p) => indices.values[p] !== words[i]).slice(0, 5),
      };
    },
    { words: WORDS, version, size: SIZE },
  );
}

test('a 100 000-entry vocabulary in 4 shards: four WASM-only runners, lookups both directions in key order, shards in status and metadata', async ({ harness, repo }) => {
  publishVocabulary(repo, 1);
  await startServing(harness, config(repo));

  expect(await wrongAnswers(harness, 1)).toEqual({ version: 1, byString: [], byIndex: [] });
  const r = await harness.evaluate(async () => {
    const s = window.serving;
    const few = await s.lookup({ model: 'vocab', keys: ['tok-2', 'absent', 'tok-1'] });
    const edges = await s.lookup({ model: 'vocab', keys: [99_999, -1, 100_000, 0] });
    return { few: few.values, edges: edges.values, runners: s.debug.runners(), metadata: await s.metadata('vocab'), status: await s.status('vocab') };
  });
  expect(r.few).toEqual([2, null, 1]);
  expect(r.edges).toEqual([WORDS[99_999], null, null, WORDS[0]]);
  expect(r.runners).toHaveLength(SHARDS);
  expect(r.runners.every((runner) => runner.variant === 'wasm' && runner.servables.length === 1)).toBe(true);
  expect(r.metadata).toMatchObject({ platform: 'table', apis: ['lookup'], description: { tableType: 'vocabulary', size: SIZE, shards: SHARDS } });
  expect(r.metadata.shards!.map((s) => s.indices)).toEqual([0, 1, 2, 3].map((k) => ({ start: k * 25_000, end: (k + 1) * 25_000 })));
  expect(new Set(r.metadata.shards!.map((s) => s.description.runner))).toEqual(new Set(r.runners.map((runner) => runner.runner)));
  expect(r.metadata.shards!.reduce((n, s) => n + Number(s.description.keys), 0)).toBe(SIZE);
  expect(r.status.versions[0]).toMatchObject({ version: 1, state: 'AVAILABLE', description: { shards: SHARDS } });
  expect(r.status.versions[0]!.shards).toHaveLength(SHARDS);
});

test("wrong keys are INVALID_ARGUMENT naming the key position; a shard whose runner dies mid-lookup is UNAVAILABLE naming the shard, and only that shard restarts", async ({ harness, repo }) => {
  publishVocabulary(repo, 1);
  await startServing(harness, config(repo));

  expect(await pageError(harness, `() => window.serving.lookup({ model: 'vocab', keys: ['tok-1', 2] })`)).toMatchObject({ code: 'INVALID_ARGUMENT', model: 'vocab', version: 1, input: 'keys[1]' });
  expect(await pageError(harness, `() => window.serving.lookup({ model: 'vocab', keys: [1, 2, 3.5] })`)).toMatchObject({ code: 'INVALID_ARGUMENT', model: 'vocab', input: 'keys[2]' });
  expect(await pageError(harness, `() => window.serving.lookup({ model: 'vocab', keys: 'tok-1' })`)).toMatchObject({ code: 'INVALID_ARGUMENT', model: 'vocab', input: 'keys' });
  const predict = await pageError(harness, `() => window.serving.predict({ model: 'vocab', inputs: {} })`);
  expect(predict).toMatchObject({ code: 'INVALID_ARGUMENT', model: 'vocab', version: 1 });
  expect(predict.message).toContain('is a lookup table: predict() cannot be used with it; use lookup()');

  // Shard 2's runner is made busy, a lookup reaches it, and the runner is terminated under it.
  const died = await harness.evaluate(async () => {
    const s = window.serving;
    const shards = (await s.metadata('vocab')).shards!;
    const runner = String(shards[2]!.description.runner);
    await s.debug.fault(runner, 'hang', 20_000);
    const keys = Array.from({ length: 100_000 }, (_, i) => i).filter((i) => i % 997 === 0);
    const pending = s.lookup({ model: 'vocab', keys }).then(
      () => ({ resolved: true }),
      (e: { code: string; message: string; model: string; version: number; data?: Record<string, unknown> }) => ({ code: e.code, message: e.message, model: e.model, version: e.version, data: e.data }),
    );
    await s.debug.fault(runner, 'terminate');
    return { runner, before: shards.map((shard) => shard.description.runner), error: await pending };
  });
  expect(died.error).toMatchObject({ code: 'UNAVAILABLE', model: 'vocab', version: 1, data: { shard: 2, shards: SHARDS, retryable: true } });
  expect((died.error as { message: string }).message).toMatch(/^model "vocab" version 1 shard 2 of 4: /);

  await expect.poll(async () => (await harness.evaluate(() => window.serving.metadata('vocab'))).shards![2]!.description, { timeout: 30_000 }).toMatchObject({ restarts: 1 });
  const after = (await harness.evaluate(() => window.serving.metadata('vocab'))).shards!.map((shard) => shard.description.runner);
  expect(after.filter((runner, k) => runner !== died.before[k])).toEqual([after[2]]);
  expect(await wrongAnswers(harness, 1)).toEqual({ version: 1, byString: [], byIndex: [] });
});

test('a new version published under a lookup loop is swapped in with no failed request; the old shards drain and their runners end', async ({ harness, repo }) => {
  publishVocabulary(repo, 1);
  await startServing(harness, config(repo, { pollIntervalMs: 150 }));
  const sample = Array.from({ length: 200 }, (_, k) => k * 499);
  await harness.evaluate(
    ({ keys }) => {
      const w = window as unknown as { loop: { stop: boolean; results: { version: number; values: unknown[] }[]; errors: string[]; sent: number; done: Promise<void> } };
      w.loop = { stop: false, results: [], errors: [], sent: 0, done: Promise.resolve() };
      w.loop.done = (async () => {
        while (!w.loop.stop) {
          // Several lookups in flight at once, so some are on version 1's shards when version 2 arrives.
          const batch = Array.from({ length: 4 }, () => {
            w.loop.sent++;
            return window.serving.lookup({ model: 'vocab', keys }).then(
              (r) => void w.loop.results.push({ version: r.version, values: r.values }),
              (e) => void w.loop.errors.push(`${e.code}: ${e.message}`),
            );
          });
          await Promise.all(batch);
        }
      })();
    },
    { keys: sample.map((i) => WORDS[i]!) },
  );
  await expect.poll(() => harness.evaluate(() => (window as any).loop.results.length), { timeout: 10_000 }).toBeGreaterThan(20);
  publishVocabulary(repo, 2);
  await expect.poll(() => harness.evaluate(() => (window as any).loop.results.at(-1)?.version), { timeout: 60_000 }).toBe(2);
  await expect.poll(() => harness.evaluate(() => window.serving.debug.runners().length), { timeout: 30_000 }).toBe(SHARDS);
  const loop = await harness.evaluate(async () => {
    const w = window as any;
    w.loop.stop = true;
    await w.loop.done;
    return { results: w.loop.results as { version: number; values: number[] }[], errors: w.loop.errors as string[], sent: w.loop.sent as number };
  });
  expect(loop.errors).toEqual([]);
  expect(loop.results.length).toBe(loop.sent);
  const versions = loop.results.map((r) => r.version);
  expect(versions.indexOf(2)).toBeGreaterThan(0);
  // Every answer is the one its version gives; one assertion over all of them.
  expect(loop.results.filter((r) => r.values.some((v, k) => v !== indexIn(r.version, sample[k]!))).map((r) => r.version)).toEqual([]);
  expect(await wrongAnswers(harness, 2)).toEqual({ version: 2, byString: [], byIndex: [] });
});

test('a reloaded page serves the sharded table from the artifact store with the repository offline', async ({ harness, repo }) => {
  publishVocabulary(repo, 1);
  await startServing(harness, config(repo));
  expect((await harness.evaluate(() => window.serving.lookup({ model: 'vocab', keys: ['tok-1'] }))).values).toEqual([1]);
  expect(await harness.evaluate(() => window.serving.storage.list())).toEqual([expect.objectContaining({ model: 'vocab', version: 1, complete: true })]);

  await harness.evaluate(() => window.serving.close());
  await harness.request.post('/__control/faults', { data: [{ prefix: repo.url, offline: true }] });
  await reload(harness);
  await startServing(harness, config(repo));

  expect(await wrongAnswers(harness, 1)).toEqual({ version: 1, byString: [], byIndex: [] });
  const status = await harness.evaluate(() => window.serving.status('vocab'));
  expect(status.repository).toMatchObject({ fromCache: true, versionsFound: [1] });
  expect(status.versions[0]!.shards).toHaveLength(SHARDS);
});
