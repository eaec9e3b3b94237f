/**
 * What the HTTP handlers need from the runtime, and what they tell it back.
 *
 * `ServingLike` is the part of `Serving` they call: `predict`, `status`, `metadata` and
 * `metrics`, and `subscribe` when there is one. A `Serving` from `createServing()` is one; so is any object with those four methods
 * (a test fake, a relay to a page that hosts the runtime). Each method rejects with a
 * `ServingError`, whose code becomes the HTTP status (see `error-response.ts`).
 *
 * The runtime has no "list models" call, so the set of models is the keys of
 * `metrics().models`, which holds every configured model (with zeros before its first request).
 */
import type { Serving } from '../client/serving-client.js';
import type { MetricsSnapshot } from '../protocol.js';

export type ServingLike = Pick<Serving, 'predict' | 'status' | 'metadata'> & {
  metrics(): Promise<MetricsSnapshot>;
  /** When present, REST `:predict` keeps each version's metadata until the model's versions change (metadata-cache.ts). */
  subscribe?: Serving['subscribe'];
};

/** Told once per successful inference a handler served: which version ran, through which API (`predict`, `infer`). */
export type OnServed = (served: { readonly model: string; readonly version: number; readonly api: string }) => void;

/** The names of the models `serving` serves, sorted. */
export async function listModels(serving: ServingLike): Promise<string[]> {
  const { models } = await serving.metrics();
  return Object.keys(models).sort();
}
