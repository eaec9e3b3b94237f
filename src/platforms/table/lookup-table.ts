/**
 * LookupTable: a table servable (TF Serving serves vocabularies and lookup tables beside
 * models; a tokenizer vocabulary or a class-label map is the usual example).
 *
 * Two shapes, from the version's table file:
 * - vocabulary — `table.txt` (one entry per line) or a `table.json` array: a string key
 *   returns its index, an integer key returns the entry at that index.
 * - map — a `table.json` object: a string key returns its value; an integer key is looked up
 *   as its decimal string (so `{ "0": "cat" }` answers index 0).
 * A key not in the table returns `null`.
 */
import type { ServableId } from '../../core/servable-id.js';
import { ServingError, describeServable } from '../../core/serving-error.js';
import type { TableValue } from '../../protocol.js';
import { describeValue } from '../../core/describe-value.js';
import { parseTableSource } from '../../sources/table-shards.js';

export type TableType = 'vocabulary' | 'map';

/**
 * Checks lookup keys — an array, all strings or all safe integers — and says which: true for
 * integers. Throws INVALID_ARGUMENT naming the version and the first bad position (`keys[i]`).
 */
export function checkLookupKeys(id: ServableId, keys: unknown): boolean {
  const fail = (message: string, position?: number): never => {
    throw new ServingError('INVALID_ARGUMENT', `${describeServable(id.name, id.version)}: ${message}`, { model: id.name, version: id.version, ...(position !== undefined ? { input: `keys[${position}]` } : {}) });
  };
  if (!Array.isArray(keys)) return fail('keys must be an array of strings or of integers');
  const byIndex = typeof keys[0] === 'number';
  keys.forEach((key, i) => {
    if (byIndex ? !Number.isSafeInteger(key) : typeof key !== 'string') {
      fail(`keys[${i}] is ${describeValue(key)}: keys must be all strings or all integers`, i);
    }
  });
  return byIndex;
}

export class LookupTable {
  readonly kind = 'table' as const;
  readonly type: TableType;
  readonly #entries: readonly string[] = [];
  readonly #index = new Map<string, TableValue>();

  private constructor(type: TableType, entries: readonly string[] | Readonly<Record<string, TableValue>>) {
    this.type = type;
    if (Array.isArray(entries)) {
      this.#entries = entries;
      // The first occurrence of a duplicated line keeps its index, as TF's index_table_from_file does.
      entries.forEach((entry, i) => {
        if (!this.#index.has(entry)) this.#index.set(entry, i);
      });
    } else {
      for (const [key, value] of Object.entries(entries)) this.#index.set(key, value);
    }
  }

  get size(): number {
    return this.type === 'vocabulary' ? this.#entries.length : this.#index.size;
  }

  /** Facts for status and metadata. */
  describe(): Record<string, string | number> {
    return { tableType: this.type, size: this.size };
  }

  /** Parses a table file; throws INVALID_ARGUMENT naming the version and the problem. */
  static parse(id: ServableId, fileName: string, bytes: Uint8Array): LookupTable {
    const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
    const fail = (why: string): never => {
      throw new ServingError('INVALID_ARGUMENT', `${describeServable(id.name, id.version)}: ${why}`, { model: id.name, version: id.version });
    };
    const source = parseTableSource(fileName, text, fail);
    return new LookupTable(source.type, source.entries);
  }

  /**
   * One value per key (`null` when absent). `keys` must be all strings or all integers;
   * anything else is INVALID_ARGUMENT naming the first bad position.
   */
  lookup(id: ServableId, keys: unknown): TableValue[] {
    const byIndex = checkLookupKeys(id, keys);
    if (!byIndex) return (keys as string[]).map((key) => this.#index.get(key) ?? null);
    if (this.type === 'map') return (keys as number[]).map((key) => this.#index.get(String(key)) ?? null);
    return (keys as number[]).map((key) => this.#entries[key] ?? null);
  }
}
