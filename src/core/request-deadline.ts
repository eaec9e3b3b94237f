/**
 * RequestDeadline: a request's deadline and cancellation, in one place for every layer (the
 * client's data path and control calls, the control worker's lookups; queues below take the
 * signal it gives).
 *
 * - `timeoutMs`: a positive number of milliseconds; DEADLINE_EXCEEDED once it has passed.
 *   Values past what a timer can hold (2^31 − 1 ms, ~24.8 days) and `Infinity` mean no deadline
 *   — a browser timer given more fires at once.
 * - `signal`: an AbortSignal; CANCELLED when it aborts.
 * - Anything else is INVALID_ARGUMENT naming the field: a caller's mistake, never a TypeError.
 * Without either, `signal` is undefined and nothing is allocated: the hot path stays bare.
 */
import { describeValue } from './describe-value.js';
import { ServingError, describeServable, type ServingErrorDetails } from './serving-error.js';

const MAX_TIMER_MS = 2 ** 31 - 1;

export class RequestDeadline {
  readonly signal: AbortSignal | undefined;
  readonly #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #caller: AbortSignal | undefined;
  readonly #onAbort: (() => void) | undefined;

  /** Throws INVALID_ARGUMENT for a malformed `timeoutMs` or `signal`. */
  constructor(model: string, timeoutMs: unknown, signal: unknown) {
    const details: ServingErrorDetails = model ? { model } : {};
    const subject = model ? `${describeServable(model)}: ` : '';
    if (signal !== undefined && !isAbortSignal(signal)) {
      throw new ServingError('INVALID_ARGUMENT', `${subject}signal must be an AbortSignal, got ${describeValue(signal)}`, details);
    }
    if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || Number.isNaN(timeoutMs) || timeoutMs <= 0)) {
      throw new ServingError('INVALID_ARGUMENT', `${subject}timeoutMs must be a positive number of milliseconds, got ${describeValue(timeoutMs)}`, details);
    }
    const timed = typeof timeoutMs === 'number' && timeoutMs <= MAX_TIMER_MS;
    if (!timed && signal === undefined) return;
    const controller = new AbortController();
    this.signal = controller.signal;
    if (signal) {
      this.#caller = signal;
      const cancelled = () => new ServingError('CANCELLED', `${subject}the request was cancelled by its AbortSignal`, details);
      if (signal.aborted) controller.abort(cancelled());
      else {
        this.#onAbort = () => controller.abort(cancelled());
        signal.addEventListener('abort', this.#onAbort, { once: true });
      }
    }
    if (timed) {
      this.#timer = setTimeout(() => controller.abort(new ServingError('DEADLINE_EXCEEDED', `${subject}request did not complete within ${timeoutMs} ms`, details)), timeoutMs);
    }
  }

  /** Stops the timer and the listener; call once the request has settled. */
  clear(): void {
    clearTimeout(this.#timer);
    if (this.#onAbort) this.#caller?.removeEventListener('abort', this.#onAbort);
  }

  /** Settles like `work`, or rejects with the abort reason as soon as the deadline passes or the caller cancels; `onAbort` runs then (e.g. to withdraw a queued request). */
  race<T>(work: Promise<T>, onAbort?: () => void): Promise<T> {
    return this.signal ? raceAbort(work, this.signal, onAbort) : work;
  }
}

/** Settles like `work`, or rejects with `signal.reason` as soon as it aborts; `onAbort` runs then. */
export function raceAbort<T>(work: Promise<T>, signal: AbortSignal, onAbort?: () => void): Promise<T> {
  if (signal.aborted) {
    onAbort?.();
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const aborted = () => {
      onAbort?.();
      reject(signal.reason);
    };
    signal.addEventListener('abort', aborted, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', aborted));
  });
}

function isAbortSignal(value: unknown): value is AbortSignal {
  return typeof AbortSignal !== 'undefined' && value instanceof AbortSignal;
}
