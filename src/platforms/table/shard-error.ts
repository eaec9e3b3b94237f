/**
 * shardError: a failure of one shard of a sharded table version, as its caller gets it — the
 * original code kept, the message and `data` naming the shard (`model "vocab" version 2 shard 1
 * of 4: …`, `data: { shard: 1, shards: 4 }`), so that a caller or an operator knows which runner
 * to look at. Used where shards are loaded (control worker) and where lookups fan out (client).
 */
import { ServingError, describeServable } from '../../core/serving-error.js';

export interface ShardPlace {
  readonly model: string;
  readonly version: number;
  readonly shard: number;
  readonly shards: number;
}

export function shardError(error: unknown, { model, version, shard, shards }: ShardPlace): ServingError {
  const failure = ServingError.from(error, { model, version });
  if (failure.data?.shard === shard) return failure;
  const where = `shard ${shard} of ${shards}`;
  const prefix = describeServable(model, version);
  const message = failure.message.startsWith(prefix) ? `${prefix} ${where}${failure.message.slice(prefix.length)}` : `${prefix} ${where}: ${failure.message}`;
  const named = new ServingError(failure.code, message, { ...failure.toJSON(), model, version, data: { ...failure.data, shard, shards } });
  if (failure.stack !== undefined) named.stack = failure.stack;
  return named;
}
