/**
 * Sharded tables end to end in Node: InProcessServing (control server, data plane, runners over
 * real MessageChannels) serving a table version written as shards — one runner per shard,
 * AVAILABLE only with every shard, lookups fanned out and merged, a shard's failure named.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ServerConfig } from '../../protocol.js';
import { FakeRepository } from '../../test-util/fake-repository.js';
import { InProcessServing } from '../../test-util/in-process-serving.js';
import { rejectionOf } from '../../test-util/rejection.js';

const WORDS = Array.from({ length: 2000 }, (_, i) => `word-${i.toString(36)}`);


describe('a sharded table version', () => {
  let server: InProcessServing | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function start(repo: FakeRepository, config: Partial<ServerConfig> = {}): Promise<InProcessServing> {
    server = await InProcessServing.create({ pollIntervalMs: 0, maxLoadRetries: 0, runnerRestartBackoffMs: 0, models: [{ name: 'vocab', basePath: repo.basePath('vocab'), runnerGroup: 'ignored-for-shards' }], ...config }, { fetch: repo.fetch });
    await server.waitForModels(20_000);
    return server;
  }

  it('runs each shard on a runner of its own and answers like the unsharded table, in key order', async () => {
    const repo = new FakeRepository();
    await repo.publishShardedTable('vocab', 1, { type: 'vocabulary', entries: WORDS }, 4);
    const s = await start(repo);

    const keys = [...WORDS].reverse().concat(['absent']);
    expect((await s.lookup({ model: 'vocab', keys })).values).toEqual([...WORDS.keys()].reverse().concat([null] as never[]));
    const indices = [1999, 0, 500, 1500, 2000, -3];
    expect((await s.lookup({ model: 'vocab', keys: indices })).values).toEqual(['word-1jj', 'word-0', 'word-dw', 'word-15o', null, null]);
    expect((await s.lookup({ model: 'vocab', keys: [] })).values).toEqual([]);

    const runners = s.data.runners();
    expect(runners).toHaveLength(4);
    expect(runners.every((r) => r.variant === 'wasm' && r.servables.length === 1)).toBe(true);
    const metadata = s.metadata({ model: 'vocab' });
    expect(metadata).toMatchObject({ platform: 'table', apis: ['lookup'], description: { platform: 'table', tableType: 'vocabulary', size: 2000, shards: 4 } });
    expect(metadata.shards!.map((shard) => shard.indices)).toEqual([{ start: 0, end: 500 }, { start: 500, end: 1000 }, { start: 1000, end: 1500 }, { start: 1500, end: 2000 }]);
    expect(new Set(metadata.shards!.map((shard) => shard.description.runner))).toEqual(new Set(runners.map((r) => r.runner)));
    expect(metadata.shards!.reduce((n, shard) => n + Number(shard.description.keys), 0)).toBe(2000);
    for (const shard of metadata.shards!) expect(shard.estimatedBytes).toBeGreaterThan(0);
    expect(s.status('vocab').versions[0]!.shards).toHaveLength(4);
  });

  it('answers bad keys with INVALID_ARGUMENT naming the key position, and predict or a method with what it does answer', async () => {
    const repo = new FakeRepository();
    await repo.publishShardedTable('vocab', 1, { type: 'vocabulary', entries: WORDS }, 2);
    const s = await start(repo);
    expect(await rejectionOf(s.lookup({ model: 'vocab', keys: ['word-1', 2] as never }))).toMatchObject({ code: 'INVALID_ARGUMENT', model: 'vocab', version: 1, input: 'keys[1]' });
    expect(await rejectionOf(s.lookup({ model: 'vocab', keys: [1, 2.5] }))).toMatchObject({ code: 'INVALID_ARGUMENT', input: 'keys[1]' });
    expect(await rejectionOf(s.lookup({ model: 'vocab', keys: 'word-1' as never }))).toMatchObject({ code: 'INVALID_ARGUMENT', input: 'keys' });
    const predict = await rejectionOf(s.predict({ model: 'vocab', inputs: {} }));
    expect(predict.message).toMatch(/is a lookup table: predict\(\) cannot be used with it; use lookup\(\)/);
  });

  it('serves a sharded map, integer keys as their decimal strings', async () => {
    const repo = new FakeRepository();
    const map = Object.fromEntries(WORDS.slice(0, 300).map((w, i) => [String(i), { word: w }]));
    await repo.publishShardedTable('vocab', 1, { type: 'map', entries: map }, 3);
    const s = await start(repo);
    expect((await s.lookup({ model: 'vocab', keys: [299, 0, 300] })).values).toEqual([{ word: WORDS[299] }, { word: WORDS[0] }, null]);
    expect((await s.lookup({ model: 'vocab', keys: ['7'] })).values).toEqual([{ word: WORDS[7] }]);
  });

  it("restarts only the shard whose runner died and names that shard in the runner's events", async () => {
    const repo = new FakeRepository();
    await repo.publishShardedTable('vocab', 1, { type: 'vocabulary', entries: WORDS }, 4);
    const s = await start(repo);
    const events: { state: string; shard?: number }[] = [];
    s.subscribe((e) => e.type === 'runner' && events.push(e.runner));
    const before = s.metadata({ model: 'vocab' }).shards!.map((shard) => shard.description.runner);

    s.server.runnerExited(String(before[2]), 'killed by the test');
    await s.server.route({ model: 'vocab' });

    const after = s.metadata({ model: 'vocab' }).shards!;
    expect(after.map((shard) => shard.description.runner).filter((r, k) => r !== before[k])).toHaveLength(1);
    expect(after[2]!.description).toMatchObject({ restarts: 1, lastExit: 'killed by the test' });
    expect(events.map((e) => [e.state, e.shard])).toEqual([['exited', 2], ['restarting', 2], ['restarted', 2]]);
    expect((await s.lookup({ model: 'vocab', keys: WORDS })).values).toEqual([...WORDS.keys()]);
  });

  it('fails the version, naming the shard, when one shard cannot load; the other shards are unloaded', async () => {
    const repo = new FakeRepository();
    await repo.publishShardedTable('vocab', 1, { type: 'vocabulary', entries: WORDS }, 4);
    const { size } = repo.manifest('vocab').versions[0]!.files[1]!;
    repo.replaceFile('vocab', 1, 'table-00001-of-00004.json', new Uint8Array(size).fill(0x20));
    const s = await start(repo);
    const version = s.status('vocab').versions[0]!;
    expect(version.state).toBe('END');
    expect(version.error).toMatchObject({ code: 'DATA_LOSS', model: 'vocab', version: 1, data: { shard: 1, shards: 4 } });
    expect(version.error!.message).toMatch(/^model "vocab" version 1 shard 1 of 4/);
    await expect.poll(() => s.data.runners().length).toBe(0);
  });
});
