/**
 * withFileLock: runs `work` holding an exclusive lock named after one artifact file, across
 * every tab and worker of the origin (Web Locks), so a file is downloaded once: a second tab
 * waits, then finds the file stored. Where Web Locks are missing (Node, old browsers) the lock
 * is only exclusive within this realm.
 */
import type { FileKey } from './artifact-store.js';

const local = new Map<string, Promise<unknown>>();

export function lockName(key: FileKey): string {
  return `browserving:artifact:${JSON.stringify([key.model, key.version, key.path])}`;
}

export async function withFileLock<T>(key: FileKey, work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  const name = lockName(key);
  const locks = (globalThis.navigator as { locks?: LockManager } | undefined)?.locks;
  if (locks) return locks.request(name, signal ? { signal } : {}, work) as Promise<T>;
  const previous = local.get(name) ?? Promise.resolve();
  const running = previous.catch(() => undefined).then(work);
  local.set(name, running);
  try {
    return await running;
  } finally {
    if (local.get(name) === running) local.delete(name);
  }
}

/** Runs `work` holding the file's lock if no tab or worker holds it now; else does nothing and resolves undefined. */
export async function ifFileLockFree<T>(key: FileKey, work: () => Promise<T>): Promise<T | undefined> {
  const name = lockName(key);
  const locks = (globalThis.navigator as { locks?: LockManager } | undefined)?.locks;
  if (locks) return locks.request(name, { ifAvailable: true }, (lock) => (lock ? work() : undefined)) as Promise<T | undefined>;
  if (local.has(name)) return undefined;
  return withFileLock(key, work);
}
