/**
 * MessageOutbox: coalesces the messages one side of a channel produces in the same task into one
 * `postMessage`, so 32 predictions issued together cost one structured-clone envelope and one
 * task on the other side instead of 32 (and their replies one on the way back).
 *
 * `push()` queues a message with its transferables; the outbox flushes once the microtask queue
 * has gone one round without a new message, so replies that several promise continuations
 * produce from one batched run still leave together. One queued message is posted as itself;
 * several as `wrap(messages)`. When a combined post fails (a message that cannot be cloned, a
 * buffer already detached), each message is posted alone and only the ones that still fail are
 * handed to `onError`: one bad request never sinks the others.
 */
interface Entry<M> {
  readonly message: M;
  readonly transfer: readonly Transferable[];
}

export interface MessageOutboxOptions<M> {
  readonly post: (message: unknown, transfer: Transferable[]) => void;
  readonly wrap: (messages: M[]) => unknown;
  readonly onError: (message: M, error: unknown) => void;
}

export class MessageOutbox<M> {
  readonly #options: MessageOutboxOptions<M>;
  #entries: Entry<M>[] = [];
  #scheduled = false;
  #grew = false;

  constructor(options: MessageOutboxOptions<M>) {
    this.#options = options;
  }

  push(message: M, transfer: readonly Transferable[] = []): void {
    this.#entries.push({ message, transfer });
    if (this.#scheduled) {
      this.#grew = true;
      return;
    }
    this.#scheduled = true;
    queueMicrotask(this.#flush);
  }

  readonly #flush = (): void => {
    if (this.#grew) {
      this.#grew = false;
      queueMicrotask(this.#flush);
      return;
    }
    const entries = this.#entries;
    this.#entries = [];
    this.#scheduled = false;
    const { post, wrap, onError } = this.#options;
    if (entries.length === 1) {
      const [{ message, transfer }] = entries as [Entry<M>];
      try {
        post(message, [...transfer]);
      } catch (error) {
        onError(message, error);
      }
      return;
    }
    try {
      // postMessage rejects a buffer listed twice: requests may share one.
      post(wrap(entries.map((e) => e.message)), [...new Set(entries.flatMap((e) => e.transfer))]);
    } catch {
      for (const { message, transfer } of entries) {
        try {
          post(message, [...transfer]);
        } catch (error) {
          onError(message, error);
        }
      }
    }
  };
}
