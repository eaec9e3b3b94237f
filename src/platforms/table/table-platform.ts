/**
 * The built-in `table` platform, written against the contract an app's platform gets: a version
 * holding a `table.txt` (one entry per line) or a `table.json` (an array or an object) becomes a
 * LookupTable that answers `lookup`. One shard of a sharded version (its runner is given that
 * shard's `table-<k>-of-<n>.json` only) becomes a TableShard. Estimated at twice the file size
 * (the decoded strings plus the index).
 */
import { TABLE_FILES } from '../../sources/manifest.js';
import { ServingError, describeServable } from '../../core/serving-error.js';
import type { PlatformModule, PlatformVersion } from '../platform.js';
import { LookupTable } from './lookup-table.js';
import { TableShard } from './table-shard.js';

function tableFile(version: PlatformVersion): { path: string; size: number } {
  // A whole table first: shard files are a table only when the runner is given one shard.
  const file = version.files.find((f) => (TABLE_FILES as readonly string[]).includes(f.path)) ?? version.files.find((f) => TableShard.isShardFile(f.path));
  if (!file) throw new ServingError('INVALID_ARGUMENT', `${describeServable(version.model, version.version)} has no ${TABLE_FILES.join(' or ')}`, { model: version.model, version: version.version });
  return file;
}

export const tablePlatform: PlatformModule = {
  createLoader(version) {
    const id = { name: version.model, version: version.version };
    return {
      estimateResources: () => ({ bytes: tableFile(version).size * 2 }),
      async load() {
        const file = tableFile(version);
        const bytes = await version.read(file.path);
        const table = TableShard.isShardFile(file.path) ? TableShard.parse(id, file.path, bytes) : LookupTable.parse(id, file.path, bytes);
        return { lookup: (keys) => table.lookup(id, keys), describe: () => table.describe() };
      },
    };
  },
};
