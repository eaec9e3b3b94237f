import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ServingError } from '../../core/serving-error.js';
import { MANIFEST_FORMAT, parseManifest } from '../manifest.js';
import { buildTableShards, fnv1a32, indexKeyShard, indexRanges, parseTableShard, parseTableShardPath, stringKeyShard, tableShardPath } from '../table-shards.js';

const fail = (why: string): never => {
  throw new Error(why);
};

describe('the table partition', () => {
  it('hashes UTF-8 bytes with FNV-1a (reference values, and the same bytes TextEncoder writes)', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
    // Non-ASCII, astral and a lone surrogate hash as their UTF-8 encoding does.
    for (const key of ['é', 'naïve', '😀 ok', 'x\ud800y']) {
      let hash = 0x811c9dc5;
      for (const byte of new TextEncoder().encode(key)) hash = Math.imul(hash ^ byte, 0x01000193);
      expect(fnv1a32(key)).toBe(hash >>> 0);
    }
  });

  it('cuts indices into contiguous ranges differing by at most one, and finds the range of an index', () => {
    const ranges = indexRanges(10, 4);
    expect(ranges).toEqual([{ start: 0, end: 2 }, { start: 2, end: 5 }, { start: 5, end: 7 }, { start: 7, end: 10 }]);
    expect([0, 1, 2, 4, 5, 9].map((i) => indexKeyShard(i, ranges))).toEqual([0, 0, 1, 1, 2, 3]);
    expect([-1, 10, 1e9].map((i) => indexKeyShard(i, ranges))).toEqual([-1, -1, -1]);
    // A table smaller than its shard count leaves empty ranges, which hold nothing.
    expect(indexKeyShard(0, indexRanges(1, 3))).toBe(2);
  });

  it('spreads 100 000 strings evenly over 4 shards', () => {
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 100_000; i += 1) counts[stringKeyShard(`token-${i}`, 4)]! += 1;
    for (const n of counts) expect(Math.abs(n - 25_000)).toBeLessThan(1_000);
  });

  it('names shard files as TF names sharded files, and reads the names back', () => {
    expect(tableShardPath(2, 4)).toBe('table-00002-of-00004.json');
    expect(parseTableShardPath('table-00002-of-00004.json')).toEqual({ shard: 2, shards: 4 });
    expect(parseTableShardPath('table.txt')).toBeUndefined();
    expect(parseTableShardPath('x/table-00002-of-00004.json')).toBeUndefined();
  });
});

describe('buildTableShards', () => {
  const shardsOf = (files: { path: string; text: string }[]) => files.map((f) => parseTableShard(f.text, parseTableShardPath(f.path)!, fail));

  it('puts every vocabulary entry in its hash shard with its global index and in its range shard, first index for duplicates', () => {
    const entries = ['the', 'serving', 'model', 'the', 'browser', 'tensor', 'label'];
    const built = buildTableShards({ type: 'vocabulary', entries }, 3);
    expect(built.files.map((f) => f.path)).toEqual(['table-00000-of-00003.json', 'table-00001-of-00003.json', 'table-00002-of-00003.json']);
    expect(built.entries.map((e) => e.indices)).toEqual(indexRanges(entries.length, 3));
    const shards = shardsOf(built.files);
    const byString = new Map<string, unknown>();
    shards.forEach((s, k) => s.keys.forEach((key, i) => {
      expect(stringKeyShard(key, 3)).toBe(k);
      byString.set(key, s.values[i]);
    }));
    expect(Object.fromEntries(byString)).toEqual({ the: 0, serving: 1, model: 2, browser: 4, tensor: 5, label: 6 });
    expect(shards.flatMap((s) => s.indices!.entries)).toEqual(entries);
    expect(shards.map((s) => s.size)).toEqual([7, 7, 7]);
  });

  it('shards a map by the hash of its keys only, and gives the same bytes for the same table', () => {
    const map = { cat: 1, dog: [2, 3], '7': 'seven', emu: null };
    const a = buildTableShards({ type: 'map', entries: map }, 2);
    expect(a.entries.every((e) => e.indices === undefined)).toBe(true);
    const shards = shardsOf(a.files);
    expect(shards.every((s) => s.indices === undefined)).toBe(true);
    const pairs = shards.flatMap((s) => s.keys.map((k, i) => [k, s.values[i]]));
    expect(Object.fromEntries(pairs)).toEqual(map);
    expect(buildTableShards({ type: 'map', entries: { ...map } }, 2).files).toEqual(a.files);
  });
});

describe('parseTableShard', () => {
  const [file] = buildTableShards({ type: 'vocabulary', entries: ['a', 'b', 'c', 'd'] }, 2).files;

  it('rejects a file that is not the shard the manifest says, naming both', () => {
    expect(() => parseTableShard(file!.text, { shard: 1, shards: 2 }, fail)).toThrow('it is shard 0 of 2, the manifest lists it as shard 1 of 2');
    expect(() => parseTableShard(file!.text, { shard: 0, shards: 2, indices: { start: 0, end: 3 } }, fail)).toThrow('its indices are 0–1, the manifest says 0–2');
    expect(() => parseTableShard('{"format":"other"}', { shard: 0, shards: 2 }, fail)).toThrow('format must be "browserving-table-shard/1"');
    expect(() => parseTableShard('{', { shard: 0, shards: 2 }, fail)).toThrow(/not valid JSON/);
  });
});

describe('parseManifest: sharded table versions', () => {
  const sha = (s: string) => createHash('sha256').update(s).digest('hex');
  function manifestOf(shards: number, edit: (version: any) => void = () => {}): any {
    const built = buildTableShards({ type: 'vocabulary', entries: Array.from({ length: 10 }, (_, i) => `t${i}`) }, shards);
    const version = { version: 1, platform: 'table', files: built.files.map((f) => ({ path: f.path, size: f.text.length, sha256: sha(f.text) })), shards: built.entries };
    edit(version);
    return { format: MANIFEST_FORMAT, versions: [version] };
  }
  function rejection(json: unknown): ServingError {
    try {
      parseManifest(json, 'vocab');
    } catch (error) {
      expect(error).toBeInstanceOf(ServingError);
      expect((error as ServingError).code).toBe('INVALID_ARGUMENT');
      return error as ServingError;
    }
    throw new Error('parseManifest accepted the manifest');
  }

  it('accepts the manifest entry the builder makes, shards in order', () => {
    const manifest = parseManifest(manifestOf(4), 'vocab');
    expect(manifest.versions[0]!.shards).toHaveLength(4);
    expect(manifest.versions[0]!.shards![3]).toEqual({ files: ['table-00003-of-00004.json'], indices: { start: 7, end: 10 } });
  });

  it('rejects a wrong shard count, misplaced or missing shard files, and broken ranges, naming the field', () => {
    expect(rejection(manifestOf(2, (v) => v.shards.pop())).message).toContain('versions[0].shards must be an array of 2 to 64 shards, got 1');
    expect(rejection(manifestOf(2, (v) => v.shards.reverse())).message).toContain('versions[0].shards[0].files must include its shard file "table-00000-of-00002.json"');
    expect(rejection(manifestOf(2, (v) => (v.shards[1].files = ['nope.json']))).message).toContain('versions[0].shards[1].files lists "nope.json", which is not one of the version\'s files');
    expect(rejection(manifestOf(2, (v) => v.shards[1].files.push('table-00000-of-00002.json'))).message).toContain('which shard 0 lists too');
    expect(rejection(manifestOf(3, (v) => (v.shards[1].indices = { start: 4, end: 6 }))).message).toContain('versions[0].shards[1].indices must be { start: 3, end: ≥ 3 }');
    expect(rejection(manifestOf(2, (v) => delete v.shards[0].indices)).message).toContain('either every shard has indices (a vocabulary) or none does (a map)');
    expect(rejection(manifestOf(2, (v) => v.files.push({ path: 'table.txt', size: 1, sha256: sha('x') }))).message).toContain('file "table.txt" belongs to no shard');
    expect(rejection(manifestOf(2, (v) => delete v.shards)).message).toContain('its files are table shards');
    expect(rejection(manifestOf(2, (v) => (v.platform = 'tokenizer'))).message).toContain('versions[0].shards is for "table" versions');
  });

  it("checks each shard file's size and SHA-256 as any file's", () => {
    expect(rejection(manifestOf(2, (v) => (v.files[1].sha256 = 'nothex'))).message).toContain('versions[0].files[1].sha256 must be 64 lower-case hex digits');
    expect(rejection(manifestOf(2, (v) => (v.files[0].size = -1))).message).toContain('versions[0].files[0].size must be a byte count');
  });
});
