/**
 * DownloadProgressTracker: turns what the fetcher does to each file into `DownloadProgress`
 * events, per file and per version, for a progress bar on the main thread.
 *
 * Guarantees: within one load attempt of a version, `bytesDone` of a file and of the version
 * never decreases, nor does the version's state go back (a second file downloading after the
 * first was verified keeps the version downloading until nothing is left to fetch) (a retried download that re-fetches part of a chunk does not move it back);
 * a cached file ends at its size; the version's event follows every file event. Files are
 * announced `queued` when the version's first file is requested.
 */
import type { ServingErrorJSON } from '../core/serving-error.js';
import type { DownloadProgress, DownloadState } from '../protocol.js';
import type { ManifestFile } from '../sources/manifest.js';

interface FileProgress {
  readonly size: number;
  state: DownloadState;
  bytesDone: number;
}

interface VersionProgress {
  readonly files: Map<string, FileProgress>;
  bytesDone: number;
  state: DownloadState;
}

export class DownloadProgressTracker {
  readonly #emit: (progress: DownloadProgress) => void;
  readonly #versions = new Map<string, VersionProgress>();

  constructor(emit: (progress: DownloadProgress) => void) {
    this.#emit = emit;
  }

  /** Starts tracking a version (announcing every file as queued) unless it is tracked already. */
  begin(model: string, version: number, files: readonly ManifestFile[]): void {
    const id = versionId(model, version);
    if (this.#versions.has(id)) return;
    const progress: VersionProgress = { files: new Map(files.map((f) => [f.path, { size: f.size, state: 'queued' as DownloadState, bytesDone: 0 }])), bytesDone: 0, state: 'queued' };
    this.#versions.set(id, progress);
    for (const path of progress.files.keys()) this.#emitFile(model, version, path, progress.files.get(path)!);
    this.#emitVersion(model, version, progress);
  }

  /** Reports a file's state and bytes; `bytesDone` lower than already reported is ignored. */
  update(model: string, version: number, path: string, state: DownloadState, bytesDone: number, error?: ServingErrorJSON): void {
    const progress = this.#versions.get(versionId(model, version));
    const file = progress?.files.get(path);
    if (!progress || !file) return;
    const done = Math.max(file.bytesDone, Math.min(bytesDone, file.size));
    if (file.state === state && done === file.bytesDone) return;
    file.state = state;
    file.bytesDone = done;
    this.#emitFile(model, version, path, file, error);
    this.#emitVersion(model, version, progress, error);
    if (state === 'failed' || [...progress.files.values()].every((f) => f.state === 'cached')) this.#versions.delete(versionId(model, version));
  }

  #emitFile(model: string, version: number, file: string, progress: FileProgress, error?: ServingErrorJSON): void {
    this.#emit({ model, version, file, state: progress.state, bytesDone: progress.bytesDone, bytesTotal: progress.size, ...(error ? { error } : {}) });
  }

  #emitVersion(model: string, version: number, progress: VersionProgress, error?: ServingErrorJSON): void {
    const files = [...progress.files.values()];
    progress.bytesDone = Math.max(progress.bytesDone, files.reduce((sum, f) => sum + f.bytesDone, 0));
    const state = versionState(files.map((f) => f.state));
    // A version's state only moves forward (queued → downloading → verifying → cached), or fails.
    if (state === 'failed' || RANK[state] > RANK[progress.state]) progress.state = state;
    this.#emit({
      model,
      version,
      state: progress.state,
      bytesDone: progress.bytesDone,
      bytesTotal: files.reduce((sum, f) => sum + f.size, 0),
      ...(error ? { error } : {}),
    });
  }
}

const RANK: Readonly<Record<DownloadState, number>> = { queued: 0, downloading: 1, verifying: 2, cached: 3, failed: 4 };

/** A version is verifying only once none of its files is left to download; before that, downloading. */
function versionState(states: readonly DownloadState[]): DownloadState {
  if (states.includes('failed')) return 'failed';
  if (states.every((s) => s === 'cached')) return 'cached';
  if (states.every((s) => s === 'queued')) return 'queued';
  if (states.some((s) => s === 'queued' || s === 'downloading')) return 'downloading';
  return 'verifying';
}

const versionId = (model: string, version: number) => JSON.stringify([model, version]);
