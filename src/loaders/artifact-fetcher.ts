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

/** Throws DATA_LOSS when `bytes` do not match the manifest entry's size or SHA-256. */
export async function verifyArtifact(bytes: Uint8Array, file: ManifestFile, where: string, details: { model: string; version: number }): Promise<void> {
  await verifySize(bytes, file, where, details);
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

/** Throws DATA_LOSS when segment `index` of a file (`bytes`, exactly that segment) does not match the manifest's segment digest. */
export async function verifySegment(bytes: Uint8Array, file: ManifestFile, index: number, where: string, details: { model: string; version: number }): Promise<void> {
  const segments = file.segments;
  if (!segments) return;
  const digest = await sha256Hex(bytes);
  const expected = segments.sha256[index];
  if (digest !== expected) {
    const start = index * segments.bytes;
    throw new ServingError(
      'DATA_LOSS',
      `${where}: bytes ${start}–${start + bytes.byteLength - 1} (segment ${index}) have SHA-256 ${digest}, the manifest says ${expected}; the server sent corrupt bytes or the manifest is stale (rerun \`npx browserving manifest\`)`,
      { ...details, data: { segment: index, expectedSha256: expected ?? null, actualSha256: digest } },
    );
  }
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}
