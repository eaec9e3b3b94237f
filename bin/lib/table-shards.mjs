/**
 * Sharded table versions for `browserving manifest`: a `table` version folder whose table is
 * split into N shard files, each served by a runner of its own (the partition and the shard file
 * format are the runtime's: src/sources/table-shards.ts, read through dist/repository.js).
 *
 * A version is sharded when `--shards` names a count for it, or, without the flag, when its folder
 * already holds shard files (`table-KKKKK-of-NNNNN.json`): so a later run, to move a label say,
 * keeps the shards. The source table (`table.txt` / `table.json`) stays in the folder, unlisted —
 * the runtime never downloads it — and each run re-shards from it: deterministic bytes, so an
 * unchanged table leaves the shard files as they were. Without a source table, the shard files on
 * disk are the table and are listed as they are. A sharded folder holds nothing else.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CliError } from './cli-error.mjs';
import { describeBytes } from './repository-scan.mjs';
import { TABLE_FILES, buildTableShards, parseTableShard, parseTableShardPath, parseTableSource, tableShardPath } from './repository-format.mjs';

/**
 * @typedef {import('../../src/repository.js').ManifestVersion} ManifestVersion
 * @typedef {import('../../src/repository.js').ManifestFile} ManifestFile
 * @typedef {{ path: string, bytes: Uint8Array, changed: boolean }} ShardWrite  a shard file to write (absolute path); `changed` when the disk holds other bytes
 * @typedef {{ entry: ManifestVersion, writes: ShardWrite[], removes: string[] }} ShardedVersion
 */

/**
 * The manifest entry of a sharded table version and the shard files to write (and stale ones of
 * another count to remove), or undefined when the version is not sharded.
 * Rejects when the folder holds other files, shard files of several counts, or, with no source
 * table, shard files that are not a whole set of `count`.
 * @param {{ version: number, dir: string, files: readonly ManifestFile[], count: number | undefined }} folder
 * @returns {Promise<ShardedVersion | undefined>}
 */
export async function shardedTableVersion({ version, dir, files, count }) {
  const onDisk = files.filter((f) => parseTableShardPath(f.path));
  const source = files.find((f) => /** @type {readonly string[]} */ (TABLE_FILES).includes(f.path));
  if (count === undefined) {
    if (onDisk.length === 0) return undefined;
    const counts = [...new Set(onDisk.map((f) => /** @type {{ shards: number }} */ (parseTableShardPath(f.path)).shards))];
    if (counts.length > 1) throw new CliError(`version folder ${dir} holds table shard files of ${counts.join(' and ')} shards; name the count: --shards ${version}=<N>`);
    count = /** @type {number} */ (counts[0]);
  }
  const others = files.filter((f) => f !== source && !onDisk.includes(f));
  if (others.length) {
    throw new CliError(`version folder ${dir} is a sharded table: it may hold only its source table (${TABLE_FILES.join(' or ')}) and its shard files, not ${others.map((f) => f.path).join(', ')}`);
  }
  if (source) return fromSource(version, dir, source, onDisk, count);
  return fromShardFiles(version, dir, onDisk, count);
}

/**
 * @param {number} version
 * @param {string} dir
 * @param {ManifestFile} source
 * @param {readonly ManifestFile[]} onDisk
 * @param {number} count
 * @returns {Promise<ShardedVersion>}
 */
async function fromSource(version, dir, source, onDisk, count) {
  const sourcePath = join(dir, source.path);
  const table = parseTableSource(source.path, await readFile(sourcePath, 'utf8'), (why) => {
    throw new CliError(`${sourcePath}: ${why}`);
  });
  const built = buildTableShards(table, count);
  const encoder = new TextEncoder();
  const writes = [];
  const described = [];
  for (const file of built.files) {
    const bytes = encoder.encode(file.text);
    const entry = await describeBytes(file.path, bytes);
    const existing = onDisk.find((f) => f.path === file.path);
    described.push(entry);
    writes.push({ path: join(dir, file.path), bytes, changed: existing?.sha256 !== entry.sha256 });
  }
  const removes = onDisk.filter((f) => !built.files.some((b) => b.path === f.path)).map((f) => join(dir, f.path));
  return { entry: { version, platform: 'table', files: described, shards: built.entries }, writes, removes };
}

/**
 * @param {number} version
 * @param {string} dir
 * @param {readonly ManifestFile[]} onDisk
 * @param {number} count
 * @returns {Promise<ShardedVersion>}
 */
async function fromShardFiles(version, dir, onDisk, count) {
  const expected = Array.from({ length: count }, (_, k) => tableShardPath(k, count));
  const missing = expected.filter((path) => !onDisk.some((f) => f.path === path));
  if (missing.length || onDisk.length !== count) {
    throw new CliError(`version folder ${dir} has no ${TABLE_FILES.join(' or ')} to shard from, and its shard files are not the ${count} shards of one table (${missing.length ? `missing ${missing.join(', ')}` : `found ${onDisk.map((f) => f.path).join(', ')}`}); put the source table back and rerun with --shards ${count}`);
  }
  const shards = [];
  for (const [k, path] of expected.entries()) {
    const absolute = join(dir, path);
    const data = parseTableShard(await readFile(absolute, 'utf8'), { shard: k, shards: count }, (why) => {
      throw new CliError(`${absolute}: ${why}`);
    });
    const indices = data.indices ? { start: data.indices.start, end: data.indices.start + data.indices.entries.length } : undefined;
    shards.push({ files: [path], ...(indices ? { indices } : {}) });
  }
  const files = expected.map((path) => /** @type {ManifestFile} */ (onDisk.find((f) => f.path === path)));
  return { entry: { version, platform: 'table', files, shards }, writes: [], removes: [] };
}
