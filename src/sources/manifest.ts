/**
 * The model repository manifest: `<basePath>/manifest.json`.
 *
 * Browsers cannot list directories, so each model's base path carries a manifest naming its
 * versions and, per version, every file with its byte size and SHA-256 — the same layout TF
 * Serving reads from a file system (`<basePath>/<version>/…`), made listable over HTTP. Write it
 * with `npx browserving manifest <basePath>`.
 *
 * ```json
 * { "format": "browserving-manifest/1",
 *   "versions": [ { "version": 1, "platform": "onnx",
 *                   "files": [ { "path": "model.onnx", "size": 2327524, "sha256": "…" },
 *                              { "path": "tokenizer.json", "size": 4410, "sha256": "…" } ],
 *                   "externalData": [],
 *                   "signature": { "inputs": [...], "outputs": [...] } } ],
 *   "labels": { "stable": 1 } }
 * ```
 * `platform` (TF Serving's `model_platform`) names what loads the version. Built-ins: `onnx` (a
 * `model.onnx`; the files named in `externalData` are its ONNX external data; an optional
 * `warmup.json`), `table` (a `table.txt`, one entry per line, or a `table.json` array or
 * object) and `pipeline` (a `pipeline.json`: steps calling other servables); any other name is a platform the app registers (`platforms` in the config). Every
 * other file of a version is a side file (a tokenizer, labels, a config): stored and verified
 * like the model, and readable by the platform's loader.
 *
 * A `table` version may be split into shards, each served by a runner of its own (`--shards N` in the
 * CLI): its files are the shard files and `"shards"` lists them in order (see `table-shards.ts`).
 *
 * Manifests written before platforms had `kind` instead of `platform`: such an ONNX version
 * treats every file besides `model.onnx` and `warmup.json` as external data, as it did then.
 *
 * A file may also list `"segments": { "bytes": 262144, "sha256": ["…", …] }`: the SHA-256 of each
 * `bytes`-long segment (the last one shorter), so that a download is verified segment by segment
 * as it arrives instead of digesting the whole file after it (the CLI writes 256 KiB ones for
 * files above 4 MiB; other sizes, and manifests without them, stay valid).
 */
import { ServingError } from '../core/serving-error.js';
import { isValidVersion } from '../core/servable-id.js';
import { VersionLabels } from '../core/version-labels.js';
import type { ServableKind, Signature } from '../protocol.js';
import { describeValue } from '../core/describe-value.js';
import { parseTableShardPath, validateTableShards, type TableShardEntry } from './table-shards.js';

export const MANIFEST_FORMAT = 'browserving-manifest/1';
export const MANIFEST_FILE = 'manifest.json';
export const ONNX_MODEL_FILE = 'model.onnx';
export const WARMUP_FILE = 'warmup.json';
export const TABLE_FILES = ['table.txt', 'table.json'] as const;
/** What a `pipeline` version computes: its steps and how tensors flow between them. */
export const PIPELINE_FILE = 'pipeline.json';
/** Platform names: lower-case letters, digits, `-` and `_`, starting with a letter. */
export const PLATFORM_NAME_PATTERN = /^[a-z][a-z0-9_-]*$/;
/** The platforms every runtime has. */
export const BUILTIN_PLATFORMS = ['onnx', 'table', 'pipeline'] as const;

export interface ManifestFile {
  /** Relative to the version folder; `/`-separated, no `..`. */
  readonly path: string;
  readonly size: number;
  /** Lower-case hex. Absent only for a model given as a single URL (no manifest): its bytes are checked by size. */
  readonly sha256?: string;
  /** Where the file is when not inside the version folder: a model given as a single URL. */
  readonly url?: string;
  /** Digests of the file's consecutive segments, for verifying a download as it arrives. */
  readonly segments?: FileSegments;
}

/** The SHA-256 of each `bytes`-long segment of a file, in order; the last segment may be shorter. */
export interface FileSegments {
  readonly bytes: number;
  /** Lower-case hex, `ceil(size / bytes)` of them. */
  readonly sha256: readonly string[];
}

/** Segments smaller than this are refused: each costs a digest call and a store commit. */
export const MIN_SEGMENT_BYTES = 64 * 1024;

export interface ManifestVersion {
  readonly version: number;
  /** What loads it: `onnx`, `table` or a platform the app registers. */
  readonly platform: string;
  readonly files: readonly ManifestFile[];
  /** `onnx` versions: the paths of the files that are the model's ONNX external data (the others beside `model.onnx` and `warmup.json` are side files). */
  readonly externalData?: readonly string[];
  /** For a model given as a single URL: the validator (ETag, else Last-Modified, else size) that told this version apart. */
  readonly validator?: string;
  /** For ONNX versions, as read by the CLI; informational (the loaded session is authoritative). */
  readonly signature?: Signature;
  /** A sharded `table` version: its shards in order, each served by a runner of its own. */
  readonly shards?: readonly TableShardEntry[];
}

export interface Manifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly versions: readonly ManifestVersion[];
  readonly labels?: Readonly<Record<string, number>>;
  readonly generatedAt?: string;
}

/** The built-in platform a version's file list implies, or undefined when it holds no `model.onnx`, table file or `pipeline.json`. */
export function platformOfFiles(paths: readonly string[]): ServableKind | undefined {
  if (paths.includes(ONNX_MODEL_FILE)) return 'onnx';
  if (TABLE_FILES.some((f) => paths.includes(f)) || paths.some((p) => parseTableShardPath(p))) return 'table';
  if (paths.includes(PIPELINE_FILE)) return 'pipeline';
  return undefined;
}

/** The files a built-in platform needs, as a message fragment, or undefined when `paths` has them (or the platform is not built in). */
export function missingPlatformFiles(platform: string, paths: readonly string[]): string | undefined {
  if (platform === 'onnx' && !paths.includes(ONNX_MODEL_FILE)) return `an "onnx" version needs a ${ONNX_MODEL_FILE}`;
  if (platform === 'table' && !TABLE_FILES.some((f) => paths.includes(f)) && !paths.some((p) => parseTableShardPath(p))) return `a "table" version needs a ${TABLE_FILES.join(' or a ')}`;
  if (platform === 'pipeline' && !paths.includes(PIPELINE_FILE)) return `a "pipeline" version needs a ${PIPELINE_FILE}`;
  return undefined;
}

/** The ONNX external-data files of a version (`parseManifest` fills `externalData` in for a manifest from before platforms). */
export function externalDataFiles(entry: ManifestVersion): readonly ManifestFile[] {
  const declared = entry.externalData ?? [];
  return entry.platform === 'onnx' ? entry.files.filter((f) => declared.includes(f.path)) : [];
}

/**
 * Validates parsed JSON as a manifest. Throws INVALID_ARGUMENT naming the model and the first
 * problem found (path of the offending field included).
 */
export function parseManifest(json: unknown, model: string): Manifest {
  const fail = (why: string): never => {
    throw new ServingError('INVALID_ARGUMENT', `model "${model}": invalid manifest: ${why}`, { model });
  };
  if (typeof json !== 'object' || json === null) fail('not a JSON object');
  const m = json as Record<string, unknown>;
  if (m.format !== MANIFEST_FORMAT) fail(`format must be "${MANIFEST_FORMAT}", got ${describeValue(m.format)}`);
  if (!Array.isArray(m.versions)) fail('versions must be an array');
  const seen = new Set<number>();
  const versions = (m.versions as unknown[]).map((entry, i) => {
    const v = entry as Partial<ManifestVersion> | null;
    const at = `versions[${i}]`;
    if (typeof v !== 'object' || v === null) fail(`${at} must be an object`);
    if (!isValidVersion(v!.version)) fail(`${at}.version must be a non-negative integer, got ${describeValue(v!.version)}`);
    if (seen.has(v!.version!)) fail(`version ${v!.version} is listed twice`);
    seen.add(v!.version!);
    if (!Array.isArray(v!.files) || v!.files.length === 0) fail(`${at}.files must be a non-empty array`);
    v!.files!.forEach((f, j) => validateFile(f, `${at}.files[${j}]`, fail));
    const paths = v!.files!.map((f) => f.path);
    const legacy = (entry as { kind?: unknown }).kind;
    if (v!.platform === undefined) {
      // Written before platforms: `kind` was "onnx" or "table", and ONNX external data was implied.
      if (legacy !== 'onnx' && legacy !== 'table') fail(`${at}.platform must name a platform ("onnx", "table" or one the app registers), got ${describeValue(v!.platform)}`);
      if (platformOfFiles(paths) !== legacy) fail(`${at} is kind "${String(legacy)}" but its files are ${paths.join(', ')}`);
      const { kind: _kind, ...rest } = v as ManifestVersion & { kind: string };
      const externalData = legacy === 'onnx' ? paths.filter((p) => p !== ONNX_MODEL_FILE && p !== WARMUP_FILE) : undefined;
      return { ...rest, platform: legacy as string, ...(externalData ? { externalData } : {}) } as ManifestVersion;
    }
    if (typeof v!.platform !== 'string' || !PLATFORM_NAME_PATTERN.test(v!.platform)) fail(`${at}.platform must be a platform name (lower-case letters, digits, - and _), got ${describeValue(v!.platform)}`);
    const missing = missingPlatformFiles(v!.platform!, paths);
    if (missing) fail(`${at}: ${missing}; its files are ${paths.join(', ')}`);
    if (v!.shards !== undefined) {
      if (v!.platform !== 'table') fail(`${at}.shards is for "table" versions; this one is "${v!.platform}"`);
      validateTableShards(v!.shards, paths, at, fail);
    } else if (v!.platform === 'table' && !TABLE_FILES.some((f) => paths.includes(f))) {
      fail(`${at}: its files are table shards (${paths.join(', ')}) but it lists no "shards"; rewrite the manifest with \`npx browserving manifest <basePath>\``);
    }
    if (v!.externalData !== undefined) {
      if (v!.platform !== 'onnx') fail(`${at}.externalData is for "onnx" versions; this one is "${v!.platform}"`);
      if (!Array.isArray(v!.externalData) || v!.externalData.some((p) => typeof p !== 'string' || !paths.includes(p) || p === ONNX_MODEL_FILE || p === WARMUP_FILE)) {
        fail(`${at}.externalData must list files of the version besides ${ONNX_MODEL_FILE} and ${WARMUP_FILE}, got ${describeValue(v!.externalData)}`);
      }
    }
    return v as ManifestVersion;
  });
  if (m.labels !== undefined) {
    if (typeof m.labels !== 'object' || m.labels === null || Array.isArray(m.labels)) fail('labels must be an object of label → version');
    VersionLabels.validate(model, m.labels as Record<string, number>);
  }
  return { format: MANIFEST_FORMAT, versions, ...(m.labels ? { labels: m.labels as Record<string, number> } : {}), ...(typeof m.generatedAt === 'string' ? { generatedAt: m.generatedAt } : {}) };
}

function validateFile(file: unknown, at: string, fail: (why: string) => never): void {
  const f = file as Partial<ManifestFile> | null;
  if (typeof f !== 'object' || f === null) fail(`${at} must be an object`);
  const path = f!.path;
  if (typeof path !== 'string' || path === '' || path.startsWith('/') || path.split('/').some((part) => part === '..' || part === '' || part === '.')) {
    fail(`${at}.path must be a relative path inside the version folder, got ${describeValue(path)}`);
  }
  if (!Number.isSafeInteger(f!.size) || f!.size! < 0) fail(`${at}.size must be a byte count, got ${describeValue(f!.size)}`);
  if (f!.url !== undefined && !(typeof f!.url === 'string' && /^https?:/.test(f!.url) && URL.canParse(f!.url))) fail(`${at}.url must be an absolute http(s) URL, got ${describeValue(f!.url)}`);
  // A file listed by URL (a model given as a single ONNX URL) has no known digest; every other one must.
  if (f!.url === undefined || f!.sha256 !== undefined) {
    if (typeof f!.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(f!.sha256)) fail(`${at}.sha256 must be 64 lower-case hex digits`);
  }
  if (f!.segments !== undefined) validateSegments(f!.segments, f!.size!, `${at}.segments`, fail);
}

function validateSegments(segments: unknown, size: number, at: string, fail: (why: string) => never): void {
  const s = segments as Partial<FileSegments> | null;
  if (typeof s !== 'object' || s === null) fail(`${at} must be an object`);
  if (!Number.isSafeInteger(s!.bytes) || s!.bytes! < MIN_SEGMENT_BYTES) fail(`${at}.bytes must be an integer ≥ ${MIN_SEGMENT_BYTES}, got ${describeValue(s!.bytes)}`);
  const count = Math.ceil(size / s!.bytes!);
  if (!Array.isArray(s!.sha256) || s!.sha256.length !== count) fail(`${at}.sha256 must list ${count} digests (one per ${s!.bytes}-byte segment of ${size} bytes)`);
  s!.sha256!.forEach((d, i) => {
    if (typeof d !== 'string' || !/^[0-9a-f]{64}$/.test(d)) fail(`${at}.sha256[${i}] must be 64 lower-case hex digits`);
  });
}

/** The URL of one of a version's files. */
export function fileUrl(file: ManifestFile, versionFolderUrl: string): string {
  return file.url ?? new URL(file.path, versionFolderUrl).href;
}

/** True when a model's `basePath` names one ONNX file rather than a repository (no manifest). */
export function isSingleModelUrl(basePath: string): boolean {
  return /\.onnx$/i.test(new URL(basePath).pathname);
}

/** URL of a version's folder, ending in `/`. */
export function versionUrl(basePath: string, version: number): string {
  return new URL(`${version}/`, withTrailingSlash(basePath)).href;
}

export function manifestUrl(basePath: string): string {
  return new URL(MANIFEST_FILE, withTrailingSlash(basePath)).href;
}

function withTrailingSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}
