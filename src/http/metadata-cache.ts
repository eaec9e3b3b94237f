/**
 * MetadataCache: the metadata a REST `:predict` reads its request with (the signature, and the
 * version "latest" resolves to), kept per model so that a prediction costs the runtime one call
 * (`predict`) rather than two (`metadata`, then `predict`) — each a round trip to the control
 * worker.
 *
 * - `get(model, select)`: for `{ version }` and for the latest version (`{}`), what was kept
 *   when there is something, else `serving.metadata()`'s answer, kept. A failure is not kept.
 * - A label is always asked for: a label moves with `reloadConfig()`, and no event says so.
 * - Every `servable-state` event of a model drops what is kept of it: the latest version may
 *   have changed, and a version unloaded and loaded again may hold other files. An answer that
 *   was in flight when such an event came is handed over but not kept.
 * - `forget(model)` drops it too: for a caller that learnt otherwise (a `predict` on the kept
 *   version answered NOT_FOUND before the event arrived).
 * - Without `subscribe` (a `ServingLike` that publishes no events) nothing is kept.
 */
import type { ModelMetadata } from '../protocol.js';
import type { ServingLike } from './serving-like.js';

export interface MetadataSelect {
  readonly version?: number;
  readonly label?: string;
}

export class MetadataCache {
  readonly #serving: ServingLike;
  readonly #kept = new Map<string, Map<string, Promise<ModelMetadata>>>();
  readonly #enabled: boolean;

  constructor(serving: ServingLike) {
    this.#serving = serving;
    this.#enabled = typeof serving.subscribe === 'function';
    serving.subscribe?.((event) => {
      if (event.type === 'servable-state') this.forget(event.state.id.name);
    });
  }

  /** The model's metadata for `select`; rejects as `serving.metadata()` does. */
  get(model: string, select: MetadataSelect): Promise<ModelMetadata> {
    if (!this.#enabled || select.label !== undefined) return this.#serving.metadata(model, select);
    const key = select.version === undefined ? 'latest' : String(select.version);
    const kept = this.#kept.get(model)?.get(key);
    if (kept) return kept;
    // Kept at once, so that concurrent requests share one call; a drop meanwhile removes it.
    const answer = this.#serving.metadata(model, select);
    let byKey = this.#kept.get(model);
    if (!byKey) this.#kept.set(model, (byKey = new Map()));
    byKey.set(key, answer);
    answer.catch(() => {
      if (this.#kept.get(model)?.get(key) === answer) this.#kept.get(model)!.delete(key);
    });
    return answer;
  }

  /** True when `get(model, select)` would answer without asking the runtime. */
  has(model: string, select: MetadataSelect): boolean {
    return select.label === undefined && this.#kept.get(model)?.has(select.version === undefined ? 'latest' : String(select.version)) === true;
  }

  /** Drops everything kept of `model`. */
  forget(model: string): void {
    this.#kept.delete(model);
  }
}
