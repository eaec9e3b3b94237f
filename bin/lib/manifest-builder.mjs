/**
 * Builds a repository's manifest (`src/sources/manifest.ts` defines the format) from what is on
 * disk, plus the version labels: those of the manifest already there, changed by the command line.
 *
 * A version's platform is implied by its files (`model.onnx` → `onnx`, `table.txt`/`table.json` →
 * `table`) or given on the command line. An ONNX version's external data is what `model.onnx`
 * itself refers to (plus `--external-data`); every other file is a side file.
 *
 * The output is deterministic — versions ascending, files by path, labels by name, no timestamp —
 * so regenerating an unchanged repository rewrites the same bytes and `--check` can compare.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CliError } from './cli-error.mjs';
import { externalDataLocations } from './onnx-external-data.mjs';
import { readOnnxSignature } from './onnx-signature.mjs';
import { describeFiles, listVersionFolders } from './repository-scan.mjs';
import { shardedTableVersion } from './table-shards.mjs';
import { MANIFEST_FILE, MANIFEST_FORMAT, ONNX_MODEL_FILE, PIPELINE_FILE, TABLE_FILES, WARMUP_FILE, isLabelName, isServingError, missingPlatformFiles, parseManifest, parsePipeline, platformOfFiles } from './repository-format.mjs';

/**
 * @typedef {import('../../src/repository.js').Manifest} Manifest
 * @typedef {import('../../src/repository.js').ManifestVersion} ManifestVersion
 * @typedef {{ set: ReadonlyMap<string, number>, remove: ReadonlySet<string> }} LabelChanges
 * @typedef {object} PlatformChoices  what the command line says about platforms and external data
 * @property {string} [platform]  for every version folder that holds neither a model nor a table
 * @property {ReadonlyMap<number, string>} byVersion  one version's platform, whatever its files
 * @property {readonly string[]} externalData  paths that are ONNX external data wherever an ONNX version holds them
 * @property {{ all?: number, byVersion: ReadonlyMap<number, number> }} [shards]  shard counts: of every table version, of one
 * @typedef {import('./table-shards.mjs').ShardWrite} ShardWrite
 */

/**
 * Every version under `basePath`, ascending, with its platform, files and, for ONNX versions, the
 * external-data files and the signature; for sharded tables, their shards and the shard files to
 * write (and stale ones to remove) before the manifest is.
 * Rejects when there is no version folder, when a version folder's platform is neither implied by
 * its files nor given, when `--platform <version>=` names a version not on disk, when a model
 * refers to external data that is not in its folder, when ORT cannot load a `model.onnx`, and
 * when `--shards <version>=` names a version that is not a table on disk.
 * @param {string} basePath
 * @param {PlatformChoices} choices
 * @param {(message: string) => void} warn
 * @returns {Promise<{ versions: ManifestVersion[], writes: ShardWrite[], removes: string[] }>}
 */
export async function readVersions(basePath, choices, warn) {
  const folders = await listVersionFolders(basePath);
  if (folders.length === 0) {
    throw new CliError(`no version folders in ${basePath}: expected numbered folders such as ${join(basePath, '1')} holding ${[ONNX_MODEL_FILE, ...TABLE_FILES].join(' or ')}, or files for a platform given with --platform`);
  }
  const numbers = folders.map((f) => f.version);
  for (const version of choices.byVersion.keys()) {
    if (!numbers.includes(version)) throw new CliError(`--platform ${version}=${choices.byVersion.get(version)}: there is no version ${version} in ${basePath} (versions: ${numbers.join(', ')})`);
  }
  for (const version of choices.shards?.byVersion.keys() ?? []) {
    if (!numbers.includes(version)) throw new CliError(`--shards ${version}=${choices.shards?.byVersion.get(version)}: there is no version ${version} in ${basePath} (versions: ${numbers.join(', ')})`);
  }
  const versions = [];
  const writes = [];
  const removes = [];
  for (const { version, dir } of folders) {
    const files = await describeFiles(dir);
    const paths = files.map((f) => f.path);
    const platform = platformOf(version, dir, paths, choices);
    if (platform === 'pipeline') await checkPipeline(dir);
    const count = choices.shards?.byVersion.get(version) ?? choices.shards?.all;
    if (platform === 'table') {
      const sharded = await shardedTableVersion({ version, dir, files, count });
      if (sharded) {
        versions.push(sharded.entry);
        writes.push(...sharded.writes);
        removes.push(...sharded.removes);
        continue;
      }
    } else if (choices.shards?.byVersion.has(version)) {
      throw new CliError(`--shards ${version}=${count}: version ${version} in ${basePath} is "${platform}", and only "table" versions can be sharded`);
    }
    if (platform !== 'onnx') {
      versions.push({ version, platform, files });
      continue;
    }
    const externalData = await externalDataOf(dir, paths, choices.externalData);
    versions.push({ version, platform, files, externalData, signature: await readOnnxSignature(dir, externalData, warn) });
  }
  for (const path of choices.externalData) {
    if (!versions.some((v) => v.externalData?.includes(path))) throw new CliError(`--external-data ${path}: no ONNX version in ${basePath} holds a file ${path}`);
  }
  return { versions, writes, removes };
}

/**
 * @param {number} version
 * @param {string} dir
 * @param {readonly string[]} paths
 * @param {PlatformChoices} choices
 * @returns {string}
 */
function platformOf(version, dir, paths, choices) {
  const given = choices.byVersion.get(version);
  const platform = given ?? platformOfFiles(paths) ?? choices.platform;
  if (!platform) {
    const holds = paths.length ? `it holds ${paths.join(', ')}` : 'it is empty';
    throw new CliError(`version folder ${dir} has neither ${ONNX_MODEL_FILE} nor ${TABLE_FILES.join(' nor ')} nor ${PIPELINE_FILE} (${holds}); if an app platform loads it, name that platform: --platform <name> (or --platform ${version}=<name>)`);
  }
  const missing = missingPlatformFiles(platform, paths);
  if (missing) throw new CliError(`version folder ${dir}: --platform ${given === undefined ? '' : `${version}=`}${platform}: ${missing} (${paths.length ? `it holds ${paths.join(', ')}` : 'it is empty'})`);
  return platform;
}

/**
 * A pipeline version's pipeline.json, checked with the runtime's own parser (the model and
 * label names of its steps are checked when it serves: they are other models of the config).
 * @param {string} dir
 */
async function checkPipeline(dir) {
  const path = join(dir, PIPELINE_FILE);
  let json;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new CliError(`${path} is not valid JSON: ${error.message}`);
  }
  try {
    parsePipeline(json, `version folder ${dir}`);
  } catch (error) {
    if (isServingError(error)) throw new CliError(error.message);
    throw error;
  }
}

/**
 * The files of an ONNX version that are its external data: those `model.onnx` refers to, and
 * those named by --external-data. Rejects when the model refers to a file the folder lacks (the
 * runtime could not load it either).
 * @param {string} dir
 * @param {readonly string[]} paths
 * @param {readonly string[]} flagged
 * @returns {Promise<string[]>}
 */
async function externalDataOf(dir, paths, flagged) {
  const modelPath = join(dir, ONNX_MODEL_FILE);
  let locations;
  try {
    locations = externalDataLocations(await readFile(modelPath));
  } catch (error) {
    throw new CliError(`${modelPath} is not a model onnxruntime-web can load: ${/** @type {Error} */ (error).message}`, { cause: error });
  }
  const referenced = locations.map((location) => {
    const path = location.split(/[\\/]/).filter((part) => part !== '.' && part !== '').join('/');
    if (!paths.includes(path) || path === ONNX_MODEL_FILE || path === WARMUP_FILE) {
      throw new CliError(`${modelPath} keeps tensors in the external-data file "${location}", which is not in ${dir}`);
    }
    return path;
  });
  const named = flagged.filter((path) => paths.includes(path) && path !== ONNX_MODEL_FILE && path !== WARMUP_FILE);
  return [...new Set([...referenced, ...named])].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * The labels of the manifest at `<basePath>/manifest.json`, or `{}` when there is none.
 * Rejects when the file exists but is not JSON or its labels are malformed: overwriting it
 * would lose them.
 * @param {string} basePath
 * @returns {Promise<{ manifest: unknown, labels: Record<string, number> } | undefined>}  undefined when there is no manifest
 */
export async function readExistingManifest(basePath) {
  const path = join(basePath, MANIFEST_FILE);
  let text;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (/** @type {NodeJS.ErrnoException} */ (error).code === 'ENOENT') return undefined;
    throw new CliError(`cannot read ${path}: ${/** @type {Error} */ (error).message}`);
  }
  let manifest;
  try {
    manifest = JSON.parse(text);
  } catch (error) {
    throw new CliError(`${path} is not valid JSON (${/** @type {Error} */ (error).message}); fix it, or delete it to start without labels`);
  }
  const labels = /** @type {{ labels?: unknown } | null} */ (manifest)?.labels ?? {};
  if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) throw new CliError(`${path}: labels must be an object of label → version`);
  for (const [name, version] of Object.entries(labels)) {
    if (!isLabelName(name) || !Number.isSafeInteger(version) || version < 0) {
      throw new CliError(`${path}: label ${JSON.stringify(name)} → ${JSON.stringify(version)} is not a valid label and version number`);
    }
  }
  return { manifest, labels: /** @type {Record<string, number>} */ (labels) };
}

/**
 * Applies the command line's label changes to the existing labels.
 * Rejects when `--label` names a version that is not on disk. An existing label whose version
 * is gone is returned as a problem: the caller decides whether that fails (writing) or is
 * reported (checking).
 * @param {Readonly<Record<string, number>>} existing
 * @param {LabelChanges} changes
 * @param {readonly number[]} versions  on disk
 * @param {string} basePath
 * @returns {{ labels: Record<string, number>, problems: string[] }}
 */
export function applyLabelChanges(existing, changes, versions, basePath) {
  for (const [name, version] of changes.set) {
    if (!versions.includes(version)) throw new CliError(`--label ${name}=${version}: there is no version ${version} in ${basePath} (versions: ${versions.join(', ')})`);
  }
  const merged = { ...existing, ...Object.fromEntries(changes.set) };
  for (const name of changes.remove) delete merged[name];
  const problems = Object.entries(merged)
    .filter(([, version]) => !versions.includes(version))
    .map(([name, version]) => `label "${name}" points to version ${version}, which is not in ${basePath} (versions: ${versions.join(', ')}); move it with --label ${name}=<version> or drop it with --unlabel ${name}`);
  const labels = Object.fromEntries(Object.entries(merged).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return { labels, problems };
}

/**
 * @param {ManifestVersion[]} versions
 * @param {Record<string, number>} labels
 * @returns {Manifest}
 */
export function manifestOf(versions, labels) {
  return { format: MANIFEST_FORMAT, versions, ...(Object.keys(labels).length ? { labels } : {}) };
}

/**
 * Throws a CliError when the runtime's own `parseManifest` rejects `manifest`: the CLI built a
 * manifest no browser would read, which is a bug in the CLI, not in the repository.
 * @param {Manifest} manifest
 * @param {string} basePath
 */
export function assertRuntimeAccepts(manifest, basePath) {
  try {
    parseManifest(JSON.parse(JSON.stringify(manifest)), basePath);
  } catch (error) {
    if (!isServingError(error)) throw error;
    throw new CliError(`the manifest built for ${basePath} is one the runtime rejects (a bug in the browserving CLI; please report it): ${error.message}`, { cause: error });
  }
}
