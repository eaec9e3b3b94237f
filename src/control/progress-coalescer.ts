/**
 * ProgressCoalescer: passes download progress on at a rate a UI can render — per file and per
 * version, at most one `downloading` event every `intervalMs` (the latest one, trailing), while
 * every change of state (queued → downloading → verifying → cached | failed) passes at once and
 * in order. The last event of a download is therefore always seen.
 */
import type { DownloadProgress } from '../protocol.js';

export class ProgressCoalescer {
  readonly #forward: (progress: DownloadProgress) => void;
  readonly #intervalMs: number;
  readonly #last = new Map<string, { state: DownloadProgress['state']; sentAt: number; held?: DownloadProgress; timer?: ReturnType<typeof setTimeout> }>();

  constructor(forward: (progress: DownloadProgress) => void, intervalMs = 100) {
    this.#forward = forward;
    this.#intervalMs = intervalMs;
  }

  push(progress: DownloadProgress): void {
    const key = JSON.stringify([progress.model, progress.version, progress.file ?? null]);
    const last = this.#last.get(key);
    const now = Date.now();
    if (!last || last.state !== progress.state || progress.state !== 'downloading') {
      if (last?.timer) clearTimeout(last.timer);
      if (progress.state === 'cached' || progress.state === 'failed') this.#last.delete(key);
      else this.#last.set(key, { state: progress.state, sentAt: now });
      this.#forward(progress);
      return;
    }
    last.held = progress;
    if (last.timer) return;
    const wait = Math.max(0, last.sentAt + this.#intervalMs - now);
    last.timer = setTimeout(() => {
      last.timer = undefined;
      if (!last.held || this.#last.get(key) !== last) return;
      last.sentAt = Date.now();
      const held = last.held;
      last.held = undefined;
      this.#forward(held);
    }, wait);
  }
}
