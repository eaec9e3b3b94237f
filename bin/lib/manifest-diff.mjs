/**
 * Compares a manifest found on disk with the one the repository implies, for `--check`.
 *
 * Versions are matched by number, files by path and labels by name (not by array position), so
 * one added or removed version is one line, not a shifted list. Lines start with `-` for what
 * only the manifest has, `+` for what only the repository has, `~` for what differs.
 */

/**
 * @typedef {import('../../src/repository.js').Manifest} Manifest
 * @typedef {import('../../src/repository.js').ManifestVersion} ManifestVersion
 */

/**
 * The differences between `actual` (parsed from `manifest.json`, possibly malformed) and
 * `expected`; empty when they match.
 * @param {unknown} actual
 * @param {Manifest} expected
 * @returns {string[]}
 */
export function diffManifests(actual, expected) {
  if (typeof actual !== 'object' || actual === null || Array.isArray(actual)) return ['~ manifest.json is not a JSON object'];
  const found = /** @type {Record<string, unknown>} */ (actual);
  const lines = [];
  if (found.format !== expected.format) lines.push(`~ format: ${JSON.stringify(found.format)} → ${JSON.stringify(expected.format)}`);
  if (Array.isArray(found.versions)) lines.push(...diffVersions(found.versions, expected.versions));
  else lines.push('~ versions: not an array');
  lines.push(...diffLabels(found.labels, expected.labels ?? {}));
  return lines;
}

/**
 * @param {unknown[]} actual
 * @param {readonly ManifestVersion[]} expected
 */
function diffVersions(actual, expected) {
  const lines = [];
  const byNumber = new Map(actual.map((v) => [/** @type {{ version?: unknown }} */ (v)?.version, /** @type {Record<string, unknown>} */ (v)]));
  for (const version of byNumber.keys()) {
    if (!expected.some((v) => v.version === version)) lines.push(`- version ${JSON.stringify(version)}: listed, but not on disk`);
  }
  for (const want of expected) {
    const have = byNumber.get(want.version);
    if (!have) {
      lines.push(`+ version ${want.version}: on disk (${want.platform}, ${describeCount(want.files.length, 'file')}), not listed`);
      continue;
    }
    const at = `version ${want.version}`;
    if (have.platform !== want.platform) lines.push(`~ ${at}: platform ${describePlatform(have)} → ${JSON.stringify(want.platform)}`);
    lines.push(...diffFiles(at, Array.isArray(have.files) ? have.files : [], want.files));
    if (JSON.stringify(have.externalData) !== JSON.stringify(want.externalData)) {
      lines.push(`~ ${at} externalData: ${JSON.stringify(have.externalData) ?? 'none'} → ${JSON.stringify(want.externalData) ?? 'none'}`);
    }
    if (JSON.stringify(have.shards) !== JSON.stringify(want.shards)) {
      lines.push(`~ ${at} shards: ${Array.isArray(have.shards) ? have.shards.length : 'none'} → ${want.shards ? want.shards.length : 'none'}${Array.isArray(have.shards) && want.shards && have.shards.length === want.shards.length ? ' (their files or index ranges changed)' : ''}`);
    }
    if (JSON.stringify(have.signature) !== JSON.stringify(want.signature)) {
      lines.push(`~ ${at} signature: ${JSON.stringify(have.signature) ?? 'none'} → ${JSON.stringify(want.signature) ?? 'none'}`);
    }
  }
  return lines;
}

/**
 * @param {string} at
 * @param {unknown[]} actual
 * @param {ManifestVersion['files']} expected
 */
function diffFiles(at, actual, expected) {
  const lines = [];
  const byPath = new Map(actual.map((f) => [/** @type {{ path?: unknown }} */ (f)?.path, /** @type {Record<string, unknown>} */ (f)]));
  for (const path of byPath.keys()) {
    if (!expected.some((f) => f.path === path)) lines.push(`- ${at} file ${JSON.stringify(path)}: listed, but not on disk`);
  }
  for (const want of expected) {
    const have = byPath.get(want.path);
    if (!have) {
      lines.push(`+ ${at} file "${want.path}": on disk (${describeCount(want.size, 'byte')}), not listed`);
      continue;
    }
    const changes = [];
    if (have.size !== want.size) changes.push(`size ${JSON.stringify(have.size)} → ${want.size}`);
    if (have.sha256 !== want.sha256) changes.push(`sha256 ${shortHash(have.sha256)} → ${shortHash(want.sha256)}`);
    if (changes.length) lines.push(`~ ${at} file "${want.path}": ${changes.join(', ')}`);
  }
  return lines;
}

/**
 * @param {unknown} actual
 * @param {Readonly<Record<string, number>>} expected
 */
function diffLabels(actual, expected) {
  const have = typeof actual === 'object' && actual !== null ? /** @type {Record<string, unknown>} */ (actual) : {};
  const lines = [];
  for (const [name, version] of Object.entries(have)) {
    if (!(name in expected)) lines.push(`- label ${name}: ${JSON.stringify(version)}`);
    else if (version !== expected[name]) lines.push(`~ label ${name}: ${JSON.stringify(version)} → ${expected[name]}`);
  }
  for (const [name, version] of Object.entries(expected)) {
    if (!(name in have)) lines.push(`+ label ${name}: ${version}`);
  }
  return lines;
}

/**
 * A listed version's platform, or what it had instead: a manifest written before platforms has `kind`.
 * @param {Record<string, unknown>} version
 */
function describePlatform(version) {
  if (version.platform !== undefined) return JSON.stringify(version.platform);
  return version.kind !== undefined ? `none (kind ${JSON.stringify(version.kind)}, from before platforms)` : 'none';
}

/** @param {unknown} hash */
function shortHash(hash) {
  return typeof hash === 'string' ? `${hash.slice(0, 12)}…` : JSON.stringify(hash);
}

/**
 * @param {number} n
 * @param {string} unit
 */
function describeCount(n, unit) {
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}
