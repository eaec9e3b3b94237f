/**
 * ArtifactFetcher: the one way loaders obtain a version's file bytes, verified against the
 * manifest's size and SHA-256. The artifact store (src/storage) implements it: it reads from
 * IndexedDB (or memory) and downloads only what is missing.
 */
import { ServingError } from '../core/serving-error.js';
import type { ManifestFile } from '../sources/manifest.js';

export interface ArtifactRequest {
  readonly model: string;
  readonly version: number;
  /** Absolute URL of the file. */
  readonly url: string;
  readonly file: ManifestFile;
  /** Every file the loader will fetch for this version (this one included): lets a store check the version fits and report the version's progress. @defaultValue [file] */
  readonly versionFiles?: readonly ManifestFile[];
  readonly signal?: AbortSignal;
}

export interface ArtifactFetcher {
  /** The verified bytes of one file. Rejects with DATA_LOSS when size or SHA-256 differ from the manifest, NOT_FOUND / UNAVAILABLE when it cannot be fetched. */
  fetch(request: ArtifactRequest): Promise<Uint8Array>;
}

/**
 * Throws DATA_LOSS when `bytes` do not match the manifest entry's size or SHA-256 — checked
 * segment by segment when the entry lists segment digests (they cover every byte, and small
 * digests cost SubtleCrypto no fresh pages: verifyChunk), else whole.
 */
export async function verifyArtifact(bytes: Uint8Array, file: ManifestFile, where: string, details: { model: string; version: number }): Promise<void> {
  await verifySize(bytes, file, where, details);
  if (file.segments) return verifySegments(bytes, file, where, details);
  // A model given as a single URL has no manifest, hence no digest to check against.
  if (file.sha256 === undefined) return;
  const digest = await sha256Hex(bytes);
  if (digest !== file.sha256) {
    throw new ServingError('DATA_LOSS', `${where}: SHA-256 ${digest} does not match the manifest's ${file.sha256}`, { ...details, data: { expectedSha256: file.sha256, actualSha256: digest } });
  }
}

/** Throws DATA_LOSS when `bytes` do not match the manifest entry's size: all there is to check once every segment was verified. */
export async function verifySize(bytes: Uint8Array, file: ManifestFile, where: string, details: { model: string; version: number }): Promise<void> {
  if (bytes.byteLength !== file.size) {
    throw new ServingError('DATA_LOSS', `${where}: got ${bytes.byteLength} bytes, manifest says ${file.size}`, { ...details, data: { expectedBytes: file.size, actualBytes: bytes.byteLength } });
  }
}

/**
 * Throws DATA_LOSS when a chunk of a file (`bytes`: chunk `index` of `chunkBytes`, a whole number
 * of the manifest's segments) holds a segment that does not match its digest; names the first such
 * segment. SubtleCrypto has no streaming digest, so the manifest's segments, not the chunk, are
 * what gets hashed — and small segments hash faster: SubtleCrypto copies its input first, and
 * below ~1 MiB that copy reuses memory instead of faulting in fresh pages (64 MiB in 43–47 ms as
 * 256 KiB segments, 210–238 ms as 1–4 MiB ones, measured in a worker in Chromium 150).
 */
export async function verifyChunk(bytes: Uint8Array, file: ManifestFile, index: number, chunkBytes: number, where: string, details: { model: string; version: number }): Promise<void> {
  const segments = file.segments;
  if (!segments) return;
  const first = (index * chunkBytes) / segments.bytes;
  if (!Number.isInteger(first)) {
    throw new ServingError('INTERNAL', `${where}: chunk ${index} of ${chunkBytes} bytes does not start on a ${segments.bytes}-byte segment boundary (a bug in browserving's store)`, details);
  }
  // Asked for at once: a chunk is a few MiB, and Chromium digests each call before the next starts.
  const actual = [];
  for (let at = 0; at < bytes.byteLength; at += segments.bytes) actual.push(sha256Hex(bytes.subarray(at, at + segments.bytes)));
  for (const [i, digest] of (await Promise.all(actual)).entries()) {
    const segment = first + i;
    const expected = segments.sha256[segment];
    if (digest !== expected) {
      const start = segment * segments.bytes;
      const length = Math.min(segments.bytes, bytes.byteLength - i * segments.bytes);
      throw new ServingError(
        'DATA_LOSS',
        `${where}: bytes ${start}–${start + length - 1} (segment ${segment}) have SHA-256 ${digest}, the manifest says ${expected}; the server sent corrupt bytes or the manifest is stale (rerun \`npx browserving manifest\`)`,
        { ...details, data: { segment, expectedSha256: expected ?? null, actualSha256: digest } },
      );
    }
  }
}

/**
 * Throws DATA_LOSS naming the first segment of `bytes` — the file's first bytes, the whole file
 * or a prefix — that does not match its digest; VERIFY_WINDOW_SEGMENTS segments at a time, never
 * the whole file's copies at once.
 */
export async function verifySegments(bytes: Uint8Array, file: ManifestFile, where: string, details: { model: string; version: number }): Promise<void> {
  if (!file.segments) return;
  const window = file.segments.bytes * VERIFY_WINDOW_SEGMENTS;
  for (let i = 0; i * window < bytes.byteLength; i += 1) await verifyChunk(bytes.subarray(i * window, (i + 1) * window), file, i, window, where, details);
}

/** Segments digested at once when a whole file is checked: 4 MiB of 256 KiB segments. */
const VERIFY_WINDOW_SEGMENTS = 16;

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}
