/**
 * Sharded tables: the part of the repository format that lets one `table` version be served by
 * N runner workers, one shard each. The CLI writes the shard files, `parseManifest` checks the
 * version's `shards`, a runner parses its shard file, and the client sends each key to its shard:
 * all four must agree on the partition, so it is defined once, here.
 *
 * The partition (a vocabulary must answer both directions: string → global index, index → string):
 * - **string keys** (a vocabulary's entries, a map's keys) go to shard `fnv1a32(utf8(key)) % N`.
 *   A hash, because a caller's key alone must name its shard (the client holds no index of the
 *   table), and a hash spreads any key set evenly with nothing to record in the manifest.
 * - **integer keys of a vocabulary** (index → entry) go by contiguous range: shard k holds indices
 *   `[floor(k·size/N), floor((k+1)·size/N))`, recorded in the manifest as `indices`. A range,
 *   because an index's shard is then a comparison and the shard holds a plain slice of entries.
 * - integer keys of a map are its decimal strings (as in an unsharded map), so they go by hash.
 * A vocabulary's entry is thus stored twice — beside its string's hash and in its index's range —
 * so a table of B bytes becomes about 2·B of shard files, and a lookup is one message per shard.
 *
 * A shard file, `table-KKKKK-of-NNNNN.json` (TF's naming of sharded files):
 *
 * ```json
 * { "format": "browserving-table-shard/1", "shard": 1, "shards": 4, "type": "vocabulary", "size": 100000,
 *   "keys": ["serving", …], "values": [3, …],            // this shard's strings → index (a map: → value)
 *   "indices": { "start": 25000, "entries": ["…", …] } }  // a vocabulary only: entries start … end-1
 * ```
 *
 * In the manifest, every shard file is one of the version's `files` (verified and stored like any
 * file), and the version lists its shards in order:
 * `"shards": [ { "files": ["table-00000-of-00004.json"], "indices": { "start": 0, "end": 25000 } }, … ]`.
 *
 * Nothing here may import the DOM, a worker or another folder's runtime: the CLI runs it on Node.
 */
import type { TableValue } from '../protocol.js';

export const TABLE_SHARD_FORMAT = 'browserving-table-shard/1';
/** A sharded version runs one runner per shard: more than this is a mistake, not a table. */
export const MAX_TABLE_SHARDS = 64;

const SHARD_PATH = /^table-(\d{5})-of-(\d{5})\.json$/;

/** Indices `start` (inclusive) to `end` (exclusive) of a vocabulary. */
export interface IndexRange {
  readonly start: number;
  readonly end: number;
}

/** One shard of a version, as the manifest lists it. */
export interface TableShardEntry {
  /** Paths of the shard's files among the version's `files`; one of them is its shard file. */
  readonly files: readonly string[];
  /** A vocabulary's shard: the indices it answers. Absent for a map. */
  readonly indices?: IndexRange;
}

/** A table read from its source file, before sharding. */
export type TableSource = { readonly type: 'vocabulary'; readonly entries: readonly string[] } | { readonly type: 'map'; readonly entries: Readonly<Record<string, TableValue>> };

/** The contents of one shard file, checked. */
export interface TableShardData {
  readonly shard: number;
  readonly shards: number;
  readonly type: TableSource['type'];
  /** Entries of the whole table. */
  readonly size: number;
  readonly keys: readonly string[];
  readonly values: readonly TableValue[];
  /** A vocabulary's range of entries. */
  readonly indices?: { readonly start: number; readonly entries: readonly string[] };
}

/** `table-00001-of-00004.json`. */
export function tableShardPath(shard: number, shards: number): string {
  return `table-${String(shard).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.json`;
}

/** `{ shard, shards }` of a shard file's name, or undefined for any other path. */
export function parseTableShardPath(path: string): { shard: number; shards: number } | undefined {
  const match = SHARD_PATH.exec(path);
  return match ? { shard: Number(match[1]), shards: Number(match[2]) } : undefined;
}

/** 32-bit FNV-1a of the key's UTF-8 bytes (lone surrogates as U+FFFD, as TextEncoder writes them). */
export function fnv1a32(key: string): number {
  let hash = 0x811c9dc5;
  const add = (byte: number) => {
    hash = Math.imul(hash ^ byte, 0x01000193);
  };
  for (let i = 0; i < key.length; i += 1) {
    let code = key.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < key.length) {
      const low = key.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
        i += 1;
      }
    }
    if (code >= 0xd800 && code <= 0xdfff) code = 0xfffd;
    if (code < 0x80) add(code);
    else if (code < 0x800) {
      add(0xc0 | (code >> 6));
      add(0x80 | (code & 0x3f));
    } else if (code < 0x10000) {
      add(0xe0 | (code >> 12));
      add(0x80 | ((code >> 6) & 0x3f));
      add(0x80 | (code & 0x3f));
    } else {
      add(0xf0 | (code >> 18));
      add(0x80 | ((code >> 12) & 0x3f));
      add(0x80 | ((code >> 6) & 0x3f));
      add(0x80 | (code & 0x3f));
    }
  }
  return hash >>> 0;
}

/** The shard that holds a string key. */
export function stringKeyShard(key: string, shards: number): number {
  return fnv1a32(key) % shards;
}

/** The contiguous index ranges of `size` entries over `shards` shards (sizes differ by at most one). */
export function indexRanges(size: number, shards: number): IndexRange[] {
  return Array.from({ length: shards }, (_, k) => ({ start: Math.floor((k * size) / shards), end: Math.floor(((k + 1) * size) / shards) }));
}

/** The shard whose range holds `index`, or -1 when none does (beyond the table, or negative). */
export function indexKeyShard(index: number, ranges: readonly IndexRange[]): number {
  let low = 0;
  let high = ranges.length - 1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    const range = ranges[mid]!;
    if (index < range.start) high = mid - 1;
    else if (index >= range.end) low = mid + 1;
    else return mid;
  }
  return -1;
}

/**
 * Reads a table source: `*.txt` one entry per line (a vocabulary), JSON an array of strings (a
 * vocabulary) or an object (a map). Calls `fail` with what is wrong.
 */
export function parseTableSource(fileName: string, text: string, fail: (why: string) => never): TableSource {
  if (fileName.endsWith('.txt')) {
    const lines = text.split(/\r?\n/);
    if (lines.at(-1) === '') lines.pop();
    return { type: 'vocabulary', entries: lines };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return fail(`${fileName} is not valid JSON: ${(error as Error).message}`);
  }
  if (Array.isArray(json) && json.every((e) => typeof e === 'string')) return { type: 'vocabulary', entries: json };
  if (typeof json === 'object' && json !== null && !Array.isArray(json)) return { type: 'map', entries: json as Record<string, TableValue> };
  return fail(`${fileName} must hold an array of strings or an object`);
}

/**
 * Splits a table into `shards` shard files (see the file comment); deterministic, so an unchanged
 * table gives the same bytes. Resolves the files in shard order and the manifest's `shards`.
 */
export function buildTableShards(table: TableSource, shards: number): { files: { path: string; text: string }[]; entries: TableShardEntry[] } {
  const keys = Array.from({ length: shards }, () => [] as string[]);
  const values = Array.from({ length: shards }, () => [] as TableValue[]);
  const put = (key: string, value: TableValue) => {
    const k = stringKeyShard(key, shards);
    keys[k]!.push(key);
    values[k]!.push(value);
  };
  let ranges: IndexRange[] | undefined;
  if (table.type === 'vocabulary') {
    // The first occurrence of a duplicated entry keeps its index, as an unsharded vocabulary does.
    const seen = new Set<string>();
    table.entries.forEach((entry, i) => {
      if (seen.has(entry)) return;
      seen.add(entry);
      put(entry, i);
    });
    ranges = indexRanges(table.entries.length, shards);
  } else {
    for (const [key, value] of Object.entries(table.entries)) put(key, value);
  }
  const size = table.type === 'vocabulary' ? table.entries.length : Object.keys(table.entries).length;
  const files = keys.map((shardKeys, k) => {
    const range = ranges?.[k];
    const data: TableShardData = {
      shard: k,
      shards,
      type: table.type,
      size,
      keys: shardKeys,
      values: values[k]!,
      ...(range ? { indices: { start: range.start, entries: (table.entries as readonly string[]).slice(range.start, range.end) } } : {}),
    };
    return { path: tableShardPath(k, shards), text: JSON.stringify({ format: TABLE_SHARD_FORMAT, ...data }) };
  });
  const entries = files.map((f, k) => ({ files: [f.path], ...(ranges ? { indices: ranges[k]! } : {}) }));
  return { files, entries };
}

/**
 * Checks a version's `shards` against its file paths; calls `fail` with the first problem (its
 * field path included). Every file of the version must belong to exactly one shard, and shard k
 * must hold `table-<k>-of-<n>.json`; ranges, when given, are given for every shard and cover
 * 0 … size contiguously.
 */
export function validateTableShards(shards: unknown, paths: readonly string[], at: string, fail: (why: string) => never): readonly TableShardEntry[] {
  if (!Array.isArray(shards) || shards.length < 2 || shards.length > MAX_TABLE_SHARDS) {
    return fail(`${at}.shards must be an array of 2 to ${MAX_TABLE_SHARDS} shards, got ${Array.isArray(shards) ? `${shards.length}` : typeof shards}`);
  }
  const owner = new Map<string, number>();
  const withRanges = shards.filter((s) => (s as TableShardEntry | null)?.indices !== undefined).length;
  if (withRanges !== 0 && withRanges !== shards.length) fail(`${at}.shards: either every shard has indices (a vocabulary) or none does (a map); ${withRanges} of ${shards.length} have them`);
  let next = 0;
  shards.forEach((entry, k) => {
    const s = entry as Partial<TableShardEntry> | null;
    const here = `${at}.shards[${k}]`;
    if (typeof s !== 'object' || s === null) fail(`${here} must be an object`);
    if (!Array.isArray(s!.files) || s!.files.length === 0) fail(`${here}.files must be a non-empty array of the version's file paths`);
    for (const path of s!.files!) {
      if (typeof path !== 'string' || !paths.includes(path)) fail(`${here}.files lists ${JSON.stringify(path)}, which is not one of the version's files (${paths.join(', ')})`);
      if (owner.has(path)) fail(`${here}.files lists "${path}", which shard ${owner.get(path)} lists too`);
      owner.set(path, k);
    }
    const own = tableShardPath(k, shards.length);
    if (!s!.files!.includes(own)) fail(`${here}.files must include its shard file "${own}"`);
    if (s!.indices !== undefined) {
      const { start, end } = s!.indices as Partial<IndexRange>;
      if (start !== next || !Number.isSafeInteger(end) || end! < start) fail(`${here}.indices must be { start: ${next}, end: ≥ ${next} } (ranges are contiguous from 0), got ${JSON.stringify(s!.indices)}`);
      next = end!;
    }
  });
  const orphan = paths.find((p) => !owner.has(p));
  if (orphan !== undefined) fail(`${at}: file "${orphan}" belongs to no shard (a sharded version's files are its shards' files)`);
  return shards as TableShardEntry[];
}

/**
 * Parses and checks one shard file against what is known of it (`expected`: its place from its
 * name, and its index range when the manifest is at hand); calls `fail` with what is wrong.
 */
export function parseTableShard(text: string, expected: { readonly shard: number; readonly shards: number; readonly indices?: IndexRange }, fail: (why: string) => never): TableShardData {
  let json: Partial<TableShardData> & { format?: unknown };
  try {
    json = JSON.parse(text) as typeof json;
  } catch (error) {
    return fail(`not valid JSON: ${(error as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || json.format !== TABLE_SHARD_FORMAT) return fail(`format must be "${TABLE_SHARD_FORMAT}"`);
  if (json.shard !== expected.shard || json.shards !== expected.shards) fail(`it is shard ${String(json.shard)} of ${String(json.shards)}, the manifest lists it as shard ${expected.shard} of ${expected.shards}`);
  if (json.type !== 'vocabulary' && json.type !== 'map') fail(`type must be "vocabulary" or "map", got ${JSON.stringify(json.type)}`);
  if (!Number.isSafeInteger(json.size) || json.size! < 0) fail('size must be the number of entries of the whole table');
  if (!Array.isArray(json.keys) || !json.keys.every((k) => typeof k === 'string') || !Array.isArray(json.values) || json.values.length !== json.keys.length) {
    fail('keys must be an array of strings and values an array of the same length');
  }
  const indices = json.indices;
  if (json.type === 'map' && indices !== undefined) fail('a map shard has no indices');
  if (json.type === 'vocabulary') {
    if (typeof indices !== 'object' || indices === null || !Number.isSafeInteger(indices.start) || indices.start < 0 || !Array.isArray(indices.entries) || !indices.entries.every((e) => typeof e === 'string')) {
      fail('a vocabulary shard needs indices: { start, entries: [strings] }');
    }
    const range = expected.indices;
    if (range && (indices!.start !== range.start || indices!.entries.length !== range.end - range.start)) {
      fail(`its indices are ${indices!.start}–${indices!.start + indices!.entries.length - 1}, the manifest says ${range.start}–${range.end - 1}`);
    }
  }
  return json as TableShardData;
}
