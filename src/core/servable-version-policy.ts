/**
 * Model version policy: which of the versions found in a model's repository should be served
 * (TF Serving's `ServableVersionPolicy` in `file_system_storage_path_source.proto`).
 *
 * - `{ latest: { numVersions } }` — the `numVersions` highest versions (default 1).
 * - `{ all: {} }` — every version found.
 * - `{ specific: { versions } }` — exactly these versions, where found.
 */
import { ServingError } from './serving-error.js';
import { isValidVersion } from './servable-id.js';
import { describeValue } from './describe-value.js';

export type ModelVersionPolicy =
  | { readonly latest: { readonly numVersions?: number } }
  | { readonly all: Readonly<Record<string, never>> }
  | { readonly specific: { readonly versions: readonly number[] } };

export const DEFAULT_MODEL_VERSION_POLICY: ModelVersionPolicy = { latest: { numVersions: 1 } };

/** The versions to aspire among `found`, highest first. */
export function selectAspiredVersions(policy: ModelVersionPolicy, found: readonly number[]): number[] {
  const sorted = [...new Set(found)].sort((a, b) => b - a);
  if ('all' in policy) return sorted;
  if ('specific' in policy) return sorted.filter((v) => policy.specific.versions.includes(v));
  return sorted.slice(0, policy.latest.numVersions ?? 1);
}

/** Throws INVALID_ARGUMENT naming the model when `policy` is malformed. */
export function validateModelVersionPolicy(model: string, policy: unknown): asserts policy is ModelVersionPolicy {
  const fail = (why: string): never => {
    throw new ServingError('INVALID_ARGUMENT', `model "${model}": invalid modelVersionPolicy: ${why}`, { model });
  };
  if (typeof policy !== 'object' || policy === null) fail('expected { latest }, { all } or { specific }');
  const keys = Object.keys(policy as object);
  if (keys.length !== 1 || !['latest', 'all', 'specific'].includes(keys[0]!)) {
    fail(`expected exactly one of latest, all, specific; got ${describeValue(keys)}`);
  }
  const p = policy as Record<string, unknown>;
  if ('latest' in p) {
    // selectAspiredVersions() reads latest.numVersions: a null or missing `latest` would fail there, at poll time.
    if (typeof p.latest !== 'object' || p.latest === null) fail(`latest must be an object such as { numVersions: 1 }, got ${String(p.latest)}`);
    const n = (p.latest as { numVersions?: unknown }).numVersions;
    if (n !== undefined && !(Number.isSafeInteger(n) && (n as number) >= 1)) fail(`latest.numVersions must be an integer ≥ 1, got ${String(n)}`);
  }
  if ('specific' in p) {
    const versions = (p.specific as { versions?: unknown } | undefined)?.versions;
    if (!Array.isArray(versions) || versions.length === 0 || !versions.every(isValidVersion)) {
      fail('specific.versions must be a non-empty array of version numbers');
    }
  }
}
