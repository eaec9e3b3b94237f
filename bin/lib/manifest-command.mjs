/**
 * `browserving manifest <basePath>`: writes `<basePath>/manifest.json` from the version folders
 * on disk, keeping the existing manifest's labels unless the command line changes them; with
 * `check`, compares instead of writing.
 */
import { rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CliError } from './cli-error.mjs';
import { formatJson } from './json-format.mjs';
import { diffManifests } from './manifest-diff.mjs';
import { applyLabelChanges, assertRuntimeAccepts, manifestOf, readExistingManifest, readVersions } from './manifest-builder.mjs';
import { MANIFEST_FILE } from './repository-format.mjs';

/**
 * @typedef {object} ManifestCommandOptions
 * @property {string} basePath
 * @property {import('./manifest-builder.mjs').LabelChanges} labelChanges
 * @property {import('./manifest-builder.mjs').PlatformChoices} platforms
 * @property {boolean} check
 * @property {(message: string) => void} warn
 */

/**
 * Resolves to the line to print on success. Rejects with a CliError when the repository is
 * invalid, a label cannot be applied, the runtime's `parseManifest` rejects the manifest built,
 * or (checking) the manifest is missing or out of date.
 * @param {ManifestCommandOptions} options
 * @returns {Promise<string>}
 */
export async function manifestCommand({ basePath, labelChanges, platforms, check, warn }) {
  const path = join(basePath, MANIFEST_FILE);
  const { versions, writes, removes } = await readVersions(basePath, platforms, warn);
  const existing = await readExistingManifest(basePath);
  if (check && !existing) throw new CliError(`${path} does not exist; write it with: browserving manifest ${basePath}`);
  const numbers = versions.map((v) => v.version);
  const { labels, problems } = applyLabelChanges(existing?.labels ?? {}, labelChanges, numbers, basePath);
  const manifest = manifestOf(versions, labels);
  assertRuntimeAccepts(manifest, basePath);

  if (check) {
    const stale = [...writes.filter((w) => w.changed).map((w) => `~ ${w.path}: differs from the shards its source table gives`), ...removes.map((path) => `- ${path}: a shard file of another shard count`)];
    const differences = [...diffManifests(existing?.manifest, manifest), ...stale, ...problems.map((p) => `! ${p}`)];
    if (differences.length) {
      throw new CliError([`${path} does not match ${basePath}:`, ...differences.map((d) => `  ${d}`), `update it with: browserving manifest ${basePath}`].join('\n'));
    }
    return `${path} is up to date (${summary(numbers, labels)})`;
  }
  if (problems.length) throw new CliError(problems.join('\n'));
  // Shard files first: the manifest that lists them is written last.
  for (const write of writes) if (write.changed) await writeFile(write.path, write.bytes);
  for (const path of removes) await rm(path, { force: true });
  // Written beside and renamed over the old one: a server polling the manifest never reads half a file.
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, formatJson(manifest));
  await rename(temporary, path);
  return `wrote ${path} (${summary(numbers, labels)})`;
}

/**
 * @param {readonly number[]} versions
 * @param {Readonly<Record<string, number>>} labels
 */
function summary(versions, labels) {
  const named = Object.entries(labels).map(([name, version]) => `${name}=${version}`);
  return `${versions.length === 1 ? 'version' : 'versions'} ${versions.join(', ')}${named.length ? `; labels ${named.join(', ')}` : ''}`;
}
