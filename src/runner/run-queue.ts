/**
 * RunQueue: runs tasks one at a time, in arrival order. One queue per inference session,
 * because onnxruntime-web must never run one session concurrently (WebGPU fails with "Session
 * already started"; WASM would interleave on one heap).
 *
 * A task waiting in the queue leaves it — rejecting with the signal's reason — when its signal
 * aborts; a task already running finishes (the engine cannot stop a run midway).
 *
 * After a long run (≥ YIELD_AFTER_MS) the queue yields to the event loop once before the next
 * task. A WASM run computes synchronously on the worker's thread, so messages that arrive during
 * it wait in the worker's message queue, out of reach of deadlines and cancellation; the yield
 * lets them in first. After short runs it does not: hardly anything can have piled up, and the
 * yield measured as costly as a small model's run (Silero p50 1.2 → 2.4 ms in Chromium).
 */
import { yieldToEventLoop } from '../core/yield-to-event-loop.js';

export const YIELD_AFTER_MS = 4;

export class RunQueue {
  #tail: Promise<unknown> = Promise.resolve();
  #waiting = 0;
  /** Tasks enqueued and not finished (or skipped). */
  #active = 0;
  #lastRunMs = 0;

  /** Tasks queued and not yet started. */
  get waiting(): number {
    return this.#waiting;
  }

  /** True when a task enqueued now starts at once: nothing to wait behind, so nothing to cancel it by. */
  get idle(): boolean {
    return this.#active === 0 && this.#lastRunMs < YIELD_AFTER_MS;
  }

  /** Runs `task` after every task enqueued before it; rejects with `signal.reason` if the signal aborts before it starts. */
  enqueue<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    // A promise-returning function rejects rather than throws, also when it is called too late.
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.idle) {
      // Idle: nothing to wait behind and nothing to leave — the predict hot path starts the run now.
      this.#active = 1;
      const run = this.#timed(task);
      this.#tail = run.catch(() => undefined);
      return run;
    }
    this.#active += 1;
    this.#waiting += 1;
    const previous = this.#tail;
    let started = false;
    let leave: (reason: unknown) => void = () => {};
    const left = new Promise<never>((_, reject) => {
      leave = reject;
    });
    const onAbort = () => {
      if (!started) leave(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const run = previous.then(async () => {
      if (this.#lastRunMs >= YIELD_AFTER_MS) await yieldToEventLoop();
      signal?.removeEventListener('abort', onAbort);
      this.#waiting -= 1;
      if (signal?.aborted) {
        this.#active -= 1;
        throw signal.reason;
      }
      started = true;
      return this.#timed(task);
    });
    // The next task waits for this one to finish or be skipped, never for its failure to be handled.
    this.#tail = run.catch(() => undefined);
    const result = Promise.race([run, left]);
    result.catch(() => undefined);
    return result;
  }

  async #timed<T>(task: () => Promise<T>): Promise<T> {
    const startedAt = performance.now();
    try {
      return await task();
    } finally {
      this.#lastRunMs = performance.now() - startedAt;
      this.#active -= 1;
    }
  }
}
