/**
 * ServableId: the name of a servable stream plus one version number in it.
 *
 * Versions are non-negative safe integers; a larger number is a newer version. A servable
 * stream is all versions sharing a name, ordered by version.
 */
export interface ServableId {
  readonly name: string;
  readonly version: number;
}

/** `"vad"@2` — stable, human-readable, used as a map key. */
export function servableIdKey(id: ServableId): string {
  return `${JSON.stringify(id.name)}@${id.version}`;
}

/** A servable key back into [model, version] (version undefined for a key that is not one). */
export function splitServableKey(key: string): [string, number | undefined] {
  const at = key.lastIndexOf('@');
  try {
    return [JSON.parse(key.slice(0, at)) as string, Number(key.slice(at + 1))];
  } catch {
    return [key, undefined];
  }
}

/** True when `version` can name a version: a safe integer ≥ 0. */
export function isValidVersion(version: unknown): version is number {
  return typeof version === 'number' && Number.isSafeInteger(version) && version >= 0;
}
