/**
 * Reads a model repository from the file system: the numeric version folders under a base path
 * and, in each, every file with its byte size and SHA-256 — what the manifest lists.
 *
 * As in TF Serving, entries of the base path whose names are not version numbers are ignored
 * (`manifest.json` among them). Hidden files and folders (names starting with `.`, such as
 * `.DS_Store`) are skipped everywhere: the runtime would download each listed file of an ONNX
 * version as external data.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CliError } from './cli-error.mjs';

/**
 * The size of the segments whose SHA-256 the manifest lists for a large file. The CLI's own
 * choice: the runtime reads it from the manifest, checks each segment as it arrives and stores
 * the file in chunks of whole segments. Why 256 KiB: SubtleCrypto, which has no streaming
 * digest, copies its input first, and below ~1 MiB that copy reuses memory instead of faulting
 * in fresh pages: on the 64 MiB benchmark the download into the store went from 0.69–0.72× a
 * raw fetch with 4 MiB segments to 0.77–0.94× with 512 KiB and 0.83–1.11× with 256 KiB
 * (128 KiB: 0.83–0.89). The manifest grows by ~67 bytes per segment (0.03% of the file).
 */
export const SEGMENT_BYTES = 256 * 1024;

/**
 * Files larger than this get segment digests; smaller ones are digested whole (one SubtleCrypto
 * call, and a cut download of them costs little to repeat).
 */
export const SEGMENTED_ABOVE_BYTES = 4 * 1024 * 1024;

/**
 * @typedef {{ bytes: number, sha256: string[] }} FileSegments
 * @typedef {{ path: string, size: number, sha256: string, segments?: FileSegments }} ManifestFile
 * @typedef {{ version: number, dir: string, files: ManifestFile[] }} VersionFolder
 */

/**
 * The version folders under `basePath`, ascending. Rejects when `basePath` is not a folder or
 * a version folder name cannot be fetched as the runtime spells it (`007` for version 7).
 * @param {string} basePath
 * @returns {Promise<{ version: number, dir: string }[]>}
 */
export async function listVersionFolders(basePath) {
  const info = await stat(basePath).catch((error) => {
    throw new CliError(error.code === 'ENOENT' ? `base path ${basePath} does not exist` : `cannot read base path ${basePath}: ${error.message}`);
  });
  if (!info.isDirectory()) throw new CliError(`base path ${basePath} is not a folder`);
  const folders = [];
  for (const entry of await readdir(basePath, { withFileTypes: true })) {
    if (!/^\d+$/.test(entry.name)) continue;
    const dir = join(basePath, entry.name);
    if (!(await isDirectory(dir))) continue;
    const version = Number(entry.name);
    if (!Number.isSafeInteger(version)) throw new CliError(`version folder ${dir}: ${entry.name} is too large to be a version number`);
    // The runtime fetches `<basePath>/<version>/…` with the number printed plainly.
    if (String(version) !== entry.name) throw new CliError(`version folder ${dir}: the runtime looks for version ${version} at "${version}/"; rename the folder to ${version}`);
    folders.push({ version, dir });
  }
  return folders.sort((a, b) => a.version - b.version);
}

/**
 * Every file under a version folder with its size and SHA-256, sorted by path; a file larger
 * than SEGMENTED_ABOVE_BYTES also gets the SHA-256 of each `segmentBytes`-long segment, which
 * lets the runtime verify a download as it arrives.
 * @param {string} dir
 * @param {number} [segmentBytes]
 * @returns {Promise<ManifestFile[]>}
 */
export async function describeFiles(dir, segmentBytes = SEGMENT_BYTES) {
  const files = [];
  for (const path of await relativeFilePaths(dir)) {
    const absolute = join(dir, ...path.split('/'));
    const { size } = await stat(absolute);
    const { sha256, segments } = await digestsOf(absolute, segmentBytes);
    files.push({ path, size, sha256, ...(size > SEGMENTED_ABOVE_BYTES ? { segments: { bytes: segmentBytes, sha256: segments } } : {}) });
  }
  return files;
}

/**
 * What the manifest lists of a file not written yet: `bytes` as it will be at `path`.
 * @param {string} path
 * @param {Uint8Array} bytes
 * @param {number} [segmentBytes]
 * @returns {Promise<ManifestFile>}
 */
export async function describeBytes(path, bytes, segmentBytes = SEGMENT_BYTES) {
  const { sha256, segments } = await digestsOfChunks([bytes], segmentBytes);
  return { path, size: bytes.byteLength, sha256, ...(bytes.byteLength > SEGMENTED_ABOVE_BYTES ? { segments: { bytes: segmentBytes, sha256: segments } } : {}) };
}

/**
 * @param {string} dir
 * @param {string} [prefix]  `/`-separated path of `dir` inside the version folder
 * @returns {Promise<string[]>}
 */
async function relativeFilePaths(dir, prefix = '') {
  const paths = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const absolute = join(dir, entry.name);
    const path = prefix + entry.name;
    const info = await stat(absolute);
    if (info.isDirectory()) paths.push(...(await relativeFilePaths(absolute, `${path}/`)));
    else if (info.isFile()) paths.push(path);
  }
  return paths.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * The file's SHA-256 and its segments' in one read.
 * @param {string} path
 * @param {number} segmentBytes
 */
function digestsOf(path, segmentBytes) {
  return digestsOfChunks(createReadStream(path), segmentBytes);
}

/**
 * @param {AsyncIterable<Uint8Array> | Iterable<Uint8Array>} chunks
 * @param {number} segmentBytes
 */
async function digestsOfChunks(chunks, segmentBytes) {
  const whole = createHash('sha256');
  /** @type {string[]} */
  const segments = [];
  let segment = createHash('sha256');
  let filled = 0;
  for await (const chunk of chunks) {
    whole.update(chunk);
    for (let at = 0; at < chunk.length; ) {
      const taken = Math.min(segmentBytes - filled, chunk.length - at);
      segment.update(chunk.subarray(at, at + taken));
      at += taken;
      filled += taken;
      if (filled === segmentBytes) {
        segments.push(segment.digest('hex'));
        segment = createHash('sha256');
        filled = 0;
      }
    }
  }
  if (filled > 0) segments.push(segment.digest('hex'));
  return { sha256: whole.digest('hex'), segments };
}

/** @param {string} path */
async function isDirectory(path) {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
