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

export type TableType = 'vocabulary' | 'map';

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

  /** Parses a table file; throws INVALID_ARGUMENT naming the version and the problem. */
  static parse(id: ServableId, fileName: string, bytes: Uint8Array): LookupTable {
    const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
    if (fileName.endsWith('.txt')) {
      const lines = text.split(/\r?\n/);
      if (lines.at(-1) === '') lines.pop();
      return new LookupTable('vocabulary', lines);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new ServingError('INVALID_ARGUMENT', `${describeServable(id.name, id.version)}: ${fileName} is not valid JSON: ${(error as Error).message}`, { model: id.name, version: id.version });
    }
    if (Array.isArray(json) && json.every((e) => typeof e === 'string')) return new LookupTable('vocabulary', json);
    if (typeof json === 'object' && json !== null && !Array.isArray(json)) return new LookupTable('map', json as Record<string, TableValue>);
    throw new ServingError('INVALID_ARGUMENT', `${describeServable(id.name, id.version)}: ${fileName} must hold an array of strings or an object`, { model: id.name, version: id.version });
  }

  /**
   * One value per key (`null` when absent). `keys` must be all strings or all integers;
   * anything else is INVALID_ARGUMENT naming the first bad position.
   */
  lookup(id: ServableId, keys: unknown): TableValue[] {
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
    if (!byIndex) return (keys as string[]).map((key) => this.#index.get(key) ?? null);
    if (this.type === 'map') return (keys as number[]).map((key) => this.#index.get(String(key)) ?? null);
    return (keys as number[]).map((key) => this.#entries[key] ?? null);
  }
}
