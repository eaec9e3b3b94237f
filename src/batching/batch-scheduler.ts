/**
 * BatchScheduler: TF Serving's BasicBatchScheduler for one session — groups tasks into
 * batches and hands each batch to `process`, one batch at a time (a session never runs
 * concurrently, so this is also the session's run queue). Knows nothing of tensors: a task is
 * an opaque payload with a `size` (its rows) and a `key` (tasks may share a batch only when
 * their keys are equal).
 *
 * Forming batches:
 * - A task joins the newest open batch with its key when it fits (`size` in total at most
 *   `maxBatchSize`); otherwise that batch closes and the task opens a new one. A task larger
 *   than `maxBatchSize` gets a batch of its own and leaves the open one open.
 * - At most `maxEnqueuedBatches` batches wait (open or closed, not counting the one being
 *   processed); a task that would need one more is rejected with UNAVAILABLE.
 * - A batch is ready when it is closed or full, or when `batchTimeoutMicros` has passed since
 *   its first task arrived (at once with 0). An open batch keeps taking tasks until `process`
 *   takes it, so tasks arriving while the session is busy merge into the next run.
 *
 * Processing: the oldest ready batch goes first. Before taking it the scheduler yields to the
 * event loop once (like `RunQueue`): requests that arrived as messages meanwhile join it, and
 * due deadlines and cancellations fire. `process` gets the payloads in arrival order and
 * resolves with one result per payload; if it rejects, every task of the batch rejects with
 * that error.
 *
 * Leaving: a task whose `signal` aborts while its batch waits is removed from the batch (an
 * emptied batch is dropped and frees its place in the queue) and rejects with the signal's
 * reason. Once its batch is taken a task runs to the end.
 */
import { ServingError } from '../core/serving-error.js';
import { yieldToEventLoop } from '../core/yield-to-event-loop.js';

export interface BatchSchedulerOptions {
  readonly maxBatchSize: number;
  readonly batchTimeoutMicros: number;
  readonly maxEnqueuedBatches: number;
}

/** Runs one batch: one result per payload, in the same order. */
export type ProcessBatch<T, R> = (payloads: readonly T[]) => Promise<readonly R[]>;

interface Task<T, R> {
  readonly payload: T;
  readonly size: number;
  readonly signal: AbortSignal | undefined;
  readonly resolve: (result: R) => void;
  readonly reject: (error: unknown) => void;
  onAbort?: () => void;
}

class Batch<T, R> {
  readonly tasks: Task<T, R>[] = [];
  size = 0;
  closed = false;
  timedOut = false;
  timer: ReturnType<typeof setTimeout> | undefined;

  constructor(readonly key: string) {}
}

export class BatchScheduler<T, R> {
  readonly #options: BatchSchedulerOptions;
  readonly #process: ProcessBatch<T, R>;
  readonly #name: string;
  readonly #batches: Batch<T, R>[] = [];
  #processing = false;

  /** `name` starts the queue-full message, e.g. `model "mlp" version 1`. */
  constructor(options: BatchSchedulerOptions, process: ProcessBatch<T, R>, name = 'batch scheduler') {
    this.#options = options;
    this.#process = process;
    this.#name = name;
  }

  /** Tasks waiting in batches not yet taken. */
  get queued(): number {
    return this.#batches.reduce((sum, batch) => sum + batch.tasks.length, 0);
  }

  /** Batches waiting (open or closed), not counting the one being processed. */
  get enqueuedBatches(): number {
    return this.#batches.length;
  }

  /**
   * Adds a task; resolves with its result once its batch has been processed. Rejects with
   * UNAVAILABLE when the queue is full, with `signal.reason` when the signal aborts before the
   * batch is taken, or with `process`'s error.
   */
  schedule(payload: T, size: number, key: string, signal?: AbortSignal): Promise<R> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<R>((resolve, reject) => {
      const batch = this.#batchFor(key, size);
      if (!batch) {
        const { maxEnqueuedBatches } = this.#options;
        reject(new ServingError('UNAVAILABLE', `${this.#name}: the batch queue is full (${maxEnqueuedBatches} batches waiting; maxEnqueuedBatches)`, { data: { maxEnqueuedBatches } }));
        return;
      }
      const task: Task<T, R> = { payload, size, signal, resolve, reject };
      batch.tasks.push(task);
      batch.size += size;
      if (batch.size >= this.#options.maxBatchSize) batch.closed = true;
      if (signal) {
        task.onAbort = () => this.#remove(batch, task);
        signal.addEventListener('abort', task.onAbort, { once: true });
      }
      void this.#pump();
    });
  }

  /** The open batch `key` may join, or a new one; undefined when the queue is full. */
  #batchFor(key: string, size: number): Batch<T, R> | undefined {
    const open = this.#batches.findLast((b) => b.key === key && !b.closed);
    if (open && open.size + size <= this.#options.maxBatchSize) return open;
    if (this.#batches.length >= this.#options.maxEnqueuedBatches) return undefined;
    // An oversized task goes alone without closing the open batch: the tasks after it may still join that one.
    if (open && size <= this.#options.maxBatchSize) open.closed = true;
    const batch = new Batch<T, R>(key);
    const { batchTimeoutMicros } = this.#options;
    if (batchTimeoutMicros > 0) {
      batch.timer = setTimeout(() => {
        batch.timedOut = true;
        void this.#pump();
      }, batchTimeoutMicros / 1000);
    }
    this.#batches.push(batch);
    return batch;
  }

  #isReady(batch: Batch<T, R>): boolean {
    return batch.closed || batch.timedOut || this.#options.batchTimeoutMicros === 0;
  }

  #remove(batch: Batch<T, R>, task: Task<T, R>): void {
    const index = batch.tasks.indexOf(task);
    if (index < 0) return;
    batch.tasks.splice(index, 1);
    batch.size -= task.size;
    if (batch.tasks.length === 0) this.#drop(batch);
    task.reject(task.signal!.reason);
  }

  #drop(batch: Batch<T, R>): void {
    clearTimeout(batch.timer);
    const index = this.#batches.indexOf(batch);
    if (index >= 0) this.#batches.splice(index, 1);
  }

  /** Processes ready batches, oldest first, until none is ready; a no-op while already doing so. */
  async #pump(): Promise<void> {
    if (this.#processing || !this.#batches.some((b) => this.#isReady(b))) return;
    this.#processing = true;
    try {
      for (;;) {
        await yieldToEventLoop();
        const batch = this.#batches.find((b) => this.#isReady(b));
        if (!batch) break;
        this.#drop(batch);
        await this.#run(batch);
      }
    } finally {
      this.#processing = false;
    }
  }

  async #run(batch: Batch<T, R>): Promise<void> {
    for (const task of batch.tasks) if (task.onAbort) task.signal!.removeEventListener('abort', task.onAbort);
    try {
      const results = await this.#process(batch.tasks.map((t) => t.payload));
      batch.tasks.forEach((task, i) => task.resolve(results[i]!));
    } catch (error) {
      for (const task of batch.tasks) task.reject(error);
    }
  }
}
