import { describe, expect, it } from 'vitest';
import { RequestDeadline } from '../../core/request-deadline.js';
import { ServingError } from '../../core/serving-error.js';
import type { RouteShard, TableValue } from '../../protocol.js';
import { indexRanges, stringKeyShard } from '../../sources/table-shards.js';
import type { PendingReply } from '../runner-pool.js';
import { MOVED, lookupShards, mergeValues, partitionKeys, type ShardChannel } from '../sharded-lookup.js';

const WORDS = Array.from({ length: 40 }, (_, i) => `w${i}`);
const vocabularyShards = (n: number): RouteShard[] => indexRanges(WORDS.length, n).map((indices, k) => ({ runner: `r${k}`, key: '"vocab"@1', indices }));

/** Answers each shard's lookup from WORDS the way its TableShard would, after the test lets it (`answer`). */
class FakeShards implements ShardChannel {
  readonly sent: { runner: string; keys: (string | number)[]; reply: PendingReply; id: number }[] = [];
  readonly cancelled: number[] = [];
  #next = 1;
  gone = new Set<string>();

  call(runner: string, message: { a: unknown }, _transfer: readonly Transferable[], reply: PendingReply): number | undefined {
    if (this.gone.has(runner)) return undefined;
    const id = this.#next++;
    this.sent.push({ runner, keys: message.a as (string | number)[], reply, id });
    return id;
  }

  cancel(_runner: string, id: number): void {
    this.cancelled.push(id);
  }

  /** Every shard asked answers, in reverse order of asking (the merge must not depend on it). */
  answerAll(): void {
    for (const { keys, reply } of [...this.sent].reverse()) reply.ok(keys.map((k): TableValue => (typeof k === 'number' ? WORDS[k]! : WORDS.indexOf(k) >= 0 ? WORDS.indexOf(k) : null)), undefined);
  }
}

const request = (keys: unknown) => ({ model: 'vocab', args: keys, deadline: new RequestDeadline('vocab', undefined, undefined) });
const route = (shards: RouteShard[]) => ({ runner: shards[0]!.runner, key: shards[0]!.key, version: 1, apis: ['lookup' as const], shards });

describe('partitionKeys and mergeValues', () => {
  it("split keys by shard, keep each part in the caller's order, and merge back by position", () => {
    const shards = vocabularyShards(4);
    const keys = ['w3', 'w17', 'nope', 'w3', 'w39', 'w0'];
    const parts = partitionKeys(keys, false, shards);
    expect(parts.map((p) => p.shard)).toEqual([...new Set(keys.map((k) => stringKeyShard(k, 4)))].sort());
    for (const part of parts) {
      expect(part.positions).toEqual([...part.positions].sort((a, b) => a - b));
      expect(part.keys).toEqual(part.positions.map((p) => keys[p]));
    }
    const values = parts.map((p) => p.keys.map((k) => `v:${k}`));
    expect(mergeValues(keys.length, parts, values)).toEqual(keys.map((k) => `v:${k}`));
  });

  it('send indices by range; an index no shard holds is left out and merges as null', () => {
    const parts = partitionKeys([39, -1, 0, 10, 40, 25], true, vocabularyShards(4));
    expect(parts).toEqual([
      { shard: 0, keys: [0], positions: [2] },
      { shard: 1, keys: [10], positions: [3] },
      { shard: 2, keys: [25], positions: [5] },
      { shard: 3, keys: [39], positions: [0] },
    ]);
    expect(mergeValues(6, parts, parts.map((p) => p.keys.map(String)))).toEqual(['39', null, '0', '10', null, '25']);
  });

  it("send a map's integer keys by the hash of their decimal string", () => {
    const shards = vocabularyShards(3).map(({ runner, key }) => ({ runner, key }));
    const parts = partitionKeys([7, 123], true, shards);
    expect(parts.flatMap((p) => p.keys.map((k) => [k, p.shard]))).toEqual(expect.arrayContaining([[7, stringKeyShard('7', 3)], [123, stringKeyShard('123', 3)]]));
  });
});

describe('lookupShards', () => {
  it('asks every shard holding a key at once, one message each, and answers in key order', async () => {
    const channel = new FakeShards();
    const keys = WORDS.slice().reverse().concat(['missing']);
    const pending = lookupShards(route(vocabularyShards(4)), request(keys), channel);
    expect(channel.sent.map((s) => s.runner).sort()).toEqual(['r0', 'r1', 'r2', 'r3']);
    channel.answerAll();
    expect(await pending).toEqual(keys.map((k) => (WORDS.includes(k) ? WORDS.indexOf(k) : null)));

    const c2 = new FakeShards();
    const both = lookupShards(route(vocabularyShards(4)), request([39, 0, 20, 99]), c2);
    c2.answerAll();
    expect(await both).toEqual(['w39', 'w0', 'w20', null]);
  });

  it('rejects bad keys before sending anything, naming the model, version and key position', async () => {
    const channel = new FakeShards();
    const error = await lookupShards(route(vocabularyShards(2)), request(['w1', 2]), channel).catch((e: unknown) => e as ServingError);
    expect(error).toBeInstanceOf(ServingError);
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', model: 'vocab', version: 1, input: 'keys[1]' });
    expect(channel.sent).toEqual([]);
  });

  it("names the failing shard and the caller's key position, keeps the code, and cancels the other shards' requests", async () => {
    const channel = new FakeShards();
    const keys = WORDS.slice(0, 20);
    const pending = lookupShards(route(vocabularyShards(4)), request(keys), channel).catch((e: unknown) => e as ServingError);
    const failing = channel.sent[1]!;
    failing.reply.fail(new ServingError('INTERNAL', `model "vocab" version 1: keys[1] belongs to another shard`, { model: 'vocab', version: 1, input: 'keys[1]' }));
    const error = await pending;
    const shard = Number(failing.runner.slice(1));
    const position = keys.indexOf(failing.keys[1] as string);
    expect(error).toMatchObject({ code: 'INTERNAL', model: 'vocab', version: 1, input: `keys[${position}]`, data: { shard, shards: 4 } });
    expect((error as ServingError).message).toBe(`model "vocab" version 1 shard ${shard} of 4: keys[${position}] belongs to another shard`);
    expect(channel.cancelled.sort()).toEqual(channel.sent.map((s) => s.id).sort());
  });

  it('reports MOVED when a shard no longer hosts the version or its runner is gone', async () => {
    const channel = new FakeShards();
    const pending = lookupShards(route(vocabularyShards(2)), request(WORDS), channel);
    channel.sent[0]!.reply.moved(null);
    expect(await pending).toBe(MOVED);
    expect(channel.cancelled).toContain(channel.sent[1]!.id);
    const gone = new FakeShards();
    gone.gone.add('r1');
    expect(await lookupShards(route(vocabularyShards(2)), request(WORDS), gone)).toBe(MOVED);
  });
});
