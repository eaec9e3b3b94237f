/**
 * A lookup on a sharded table version, on the main thread: the caller's keys are checked, split
 * by shard (src/sources/table-shards.ts: a string by hash, a vocabulary's index by range), sent
 * to every shard that holds one of them at once — one `lookup` call message per shard, on each
 * shard runner's own channel — and the answers merged back in the caller's key order.
 *
 * Worked sequence (keys ["b", 7, …] on a vocabulary of 4 shards):
 *   1. keys checked: all strings or all integers, else INVALID_ARGUMENT naming `keys[i]`;
 *   2. each key's shard; an index no shard holds (negative, beyond the table) answers null
 *      without a message, as an unsharded table answers it;
 *   3. main → shard k's runner: { k: 'c', id, s: key, m: 'lookup', a: [its keys] }, every shard
 *      in the same task (so all precede an unload that follows a route change);
 *   4. runner → { k: 'ok', id, value: [values] } per shard; merged by position;
 *   5. a shard answering `moved` (the version moved or went): the whole lookup is reported moved
 *      and the caller re-sends it on the route the control worker gives now;
 *   6. a shard's error (or its runner's death) rejects the lookup, code kept, naming the shard
 *      (and the caller's key position); the other shards' requests are cancelled.
 */
import type { RequestDeadline } from '../core/request-deadline.js';
import { ServingError, describeServable } from '../core/serving-error.js';
import type { Route, RouteShard, TableValue } from '../protocol.js';
import { shardError } from '../platforms/table/shard-error.js';
import { checkLookupKeys } from '../platforms/table/lookup-table.js';
import { indexKeyShard, stringKeyShard } from '../sources/table-shards.js';
import type { PendingReply } from './runner-pool.js';

/** A shard answered `moved` or its runner is gone: ask for the route again. */
export const MOVED = Symbol('moved');

/** The keys one shard is asked for, and where their values go in the caller's answer. */
export interface ShardPart {
  readonly shard: number;
  readonly keys: (string | number)[];
  readonly positions: number[];
}

/** How the lookup reaches runners (the RunnerPool). */
export interface ShardChannel {
  call(runner: string, message: { s: string; m: string; a: unknown }, transfer: readonly Transferable[], reply: PendingReply): number | undefined;
  cancel(runner: string, id: number): void;
}

/**
 * Splits checked keys by shard, in shard order, each part keeping the caller's order; keys no
 * shard holds are left out (their answer is null).
 */
export function partitionKeys(keys: readonly (string | number)[], byIndex: boolean, shards: readonly RouteShard[]): ShardPart[] {
  const parts = new Map<number, ShardPart>();
  const ranges = byIndex && shards[0]?.indices ? shards.map((s) => s.indices!) : undefined;
  keys.forEach((key, position) => {
    // A map's integer key is its decimal string, as in an unsharded map.
    const shard = ranges ? indexKeyShard(key as number, ranges) : stringKeyShard(String(key), shards.length);
    if (shard < 0) return;
    let part = parts.get(shard);
    if (!part) parts.set(shard, (part = { shard, keys: [], positions: [] }));
    part.keys.push(key);
    part.positions.push(position);
  });
  return [...parts.values()].sort((a, b) => a.shard - b.shard);
}

/** The caller's answer: each part's values at its positions, null where no shard was asked. */
export function mergeValues(length: number, parts: readonly ShardPart[], values: readonly (readonly TableValue[])[]): TableValue[] {
  const merged = new Array<TableValue>(length).fill(null);
  parts.forEach((part, i) => part.positions.forEach((position, j) => (merged[position] = values[i]![j]!)));
  return merged;
}

/**
 * Looks `keys` up on the sharded `route` (see the file comment). Resolves to the values in key
 * order, or MOVED; rejects with a ServingError naming the shard that failed.
 */
export async function lookupShards(route: Route & { readonly shards: readonly RouteShard[] }, request: { readonly model: string; readonly args: unknown; readonly deadline: RequestDeadline }, channel: ShardChannel): Promise<TableValue[] | typeof MOVED> {
  const { model, args: keys, deadline } = request;
  const { version, shards } = route;
  const byIndex = checkLookupKeys({ name: model, version }, keys);
  const parts = partitionKeys(keys as (string | number)[], byIndex, shards);
  const sent: { runner: string; id: number }[] = [];
  const cancelAll = () => sent.splice(0).forEach(({ runner, id }) => channel.cancel(runner, id));
  const asked = parts.map(
    (part) =>
      new Promise<readonly TableValue[]>((resolve, reject) => {
        const { runner, key } = shards[part.shard]!;
        const place = { model, version, shard: part.shard, shards: shards.length };
        const id = channel.call(runner, { s: key, m: 'lookup', a: part.keys }, [], {
          ok: (values) => (Array.isArray(values) && values.length === part.keys.length ? resolve(values as TableValue[]) : reject(shardError(new ServingError('INTERNAL', `${describeServable(model, version)}: answered ${Array.isArray(values) ? values.length : typeof values} values for ${part.keys.length} keys`), place))),
          fail: (error) => reject(shardError(atCallerPositions(error, part.positions), place)),
          // One shard moved is the whole lookup moved: reject at once rather than wait for the others.
          moved: () => reject(MOVED),
        });
        if (id === undefined) reject(MOVED);
        else sent.push({ runner, id });
      }),
  );
  let answers: (readonly TableValue[])[];
  try {
    answers = await deadline.race(Promise.all(asked), cancelAll);
  } catch (error) {
    cancelAll();
    if (error === MOVED) return MOVED;
    throw error;
  }
  return mergeValues((keys as unknown[]).length, parts, answers);
}

/** A shard's error names its own key positions (`keys[j]` of the part it got): the caller's are `positions[j]`. */
function atCallerPositions(error: ServingError, positions: readonly number[]): ServingError {
  const toCaller = (text: string) => text.replace(/keys\[(\d+)\]/g, (whole, j: string) => (positions[Number(j)] !== undefined ? `keys[${positions[Number(j)]}]` : whole));
  if (error.input === undefined && !/keys\[\d+\]/.test(error.message)) return error;
  const moved = new ServingError(error.code, toCaller(error.message), { ...error.toJSON(), ...(error.input !== undefined ? { input: toCaller(error.input) } : {}) });
  if (error.stack !== undefined) moved.stack = error.stack;
  return moved;
}
