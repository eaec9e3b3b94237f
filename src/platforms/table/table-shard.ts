/**
 * TableShard: one shard of a sharded table version, the servable a shard's runner hosts (the
 * partition is in `src/sources/table-shards.ts`). It answers the keys of its shard only — the
 * client sends each key to the shard that holds it — with the same values the unsharded table
 * would: a vocabulary's string → its global index, index → entry; a map's key → value.
 *
 * A key that is not this shard's is not a caller's mistake but a routing one (the client and the
 * CLI disagree on the partition): INTERNAL, naming the shard and the key's position, rather than
 * a silent `null`.
 */
import type { ServableId } from '../../core/servable-id.js';
import { ServingError, describeServable } from '../../core/serving-error.js';
import type { TableValue } from '../../protocol.js';
import { parseTableShard, parseTableShardPath, stringKeyShard, type TableShardData } from '../../sources/table-shards.js';
import { checkLookupKeys } from './lookup-table.js';

export class TableShard {
  readonly #data: TableShardData;
  readonly #index = new Map<string, TableValue>();

  private constructor(data: TableShardData) {
    this.#data = data;
    data.keys.forEach((key, i) => this.#index.set(key, data.values[i]!));
  }

  /** True for a shard file's path (`table-00001-of-00004.json`). */
  static isShardFile(path: string): boolean {
    return parseTableShardPath(path) !== undefined;
  }

  /** Parses a shard file; INVALID_ARGUMENT naming the version, the shard and the problem. */
  static parse(id: ServableId, path: string, bytes: Uint8Array): TableShard {
    const place = parseTableShardPath(path);
    const fail = (why: string): never => {
      throw new ServingError('INVALID_ARGUMENT', `${describeServable(id.name, id.version)}: table shard file ${path}: ${why}; rewrite the shards with \`npx browserving manifest <basePath> --shards N\``, {
        model: id.name,
        version: id.version,
        ...(place ? { data: { shard: place.shard, shards: place.shards } } : {}),
      });
    };
    if (!place) return fail('its name is not table-<shard>-of-<shards>.json');
    return new TableShard(parseTableShard(new TextDecoder().decode(bytes), place, fail));
  }

  /** One value per key of this shard (`null` when absent); see the file comment for keys of other shards. */
  lookup(id: ServableId, keys: unknown): TableValue[] {
    const byIndex = checkLookupKeys(id, keys);
    const { shard, shards, type, indices } = this.#data;
    const misrouted = (i: number): never => {
      throw new ServingError('INTERNAL', `${describeServable(id.name, id.version)} shard ${shard} of ${shards}: keys[${i}] (${JSON.stringify((keys as unknown[])[i])}) belongs to another shard; the client and the table's shard files disagree on the partition`, {
        model: id.name,
        version: id.version,
        input: `keys[${i}]`,
        data: { shard, shards },
      });
    };
    if (byIndex && type === 'vocabulary') {
      const { start, entries } = indices!;
      return (keys as number[]).map((key, i) => (key >= start && key < start + entries.length ? entries[key - start]! : misrouted(i)));
    }
    return (keys as (string | number)[]).map((key, i) => {
      const name = String(key);
      if (stringKeyShard(name, shards) !== shard) misrouted(i);
      return this.#index.get(name) ?? null;
    });
  }

  /** Facts for status and metadata. */
  describe(): Record<string, string | number> {
    const { shard, shards, type, size, keys, indices } = this.#data;
    return {
      tableType: type,
      size,
      shard,
      shards,
      keys: keys.length,
      ...(indices ? { indexStart: indices.start, indexEnd: indices.start + indices.entries.length } : {}),
    };
  }
}
