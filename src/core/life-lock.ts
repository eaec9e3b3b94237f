/**
 * Life locks: how the main thread sees a worker die, however it dies (terminated, crashed, out
 * of memory, `self.close()`), within milliseconds and without a heartbeat — a heartbeat would be
 * starved by a long synchronous WASM run and mistake it for death.
 *
 * The worker takes an exclusive Web Lock named after itself and never releases it
 * (`holdLifeLock`); the browser releases it when the worker's agent ends. The parent asks for
 * the same lock once the worker holds it (`watchLifeLock`): the request is granted exactly then.
 * Where Web Locks are missing (non-secure contexts), neither does anything.
 */
interface LocksLike {
  request(name: string, callback: () => Promise<unknown> | unknown): Promise<unknown>;
}

function locks(): LocksLike | undefined {
  return (globalThis as { navigator?: { locks?: LocksLike } }).navigator?.locks;
}

/** Resolves once this worker holds the lock `name`, which it keeps until it ends. */
export function holdLifeLock(name: string): Promise<void> {
  const manager = locks();
  if (!manager || !name) return Promise.resolve();
  return new Promise((held) => {
    void manager.request(name, () => {
      held();
      return new Promise(() => {});
    });
  });
}

/** Calls `onDeath` once the worker holding `name` has ended. Returns false when it cannot watch. */
export function watchLifeLock(name: string, onDeath: () => void): boolean {
  const manager = locks();
  if (!manager) return false;
  void manager.request(name, () => onDeath());
  return true;
}
