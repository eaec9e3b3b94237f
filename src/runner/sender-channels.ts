/**
 * Who sends a runner requests: the main thread, on the Worker's own channel, and other runners,
 * each on a port of its own (`connect`, src/protocol/runner.ts "runner to runner"). Request ids
 * are the sender's, so each sender has its own reply outbox, cancellations and stream credits.
 */
import { MessageOutbox } from '../core/message-outbox.js';
import { ServingError } from '../core/serving-error.js';
import type { DataMessage, RunnerReply } from '../protocol/runner.js';

export interface SenderChannel {
  readonly outbox: MessageOutbox<RunnerReply | { readonly k: 'bye' }>;
  readonly cancels: Map<number, AbortController>;
  readonly streams: Map<number, { credit: number; resume?: () => void }>;
}

/** A sender's reply outbox, posting with `post`, and its requests' cancellations and stream credits. */
export function senderChannel(post: (message: unknown, transfer: Transferable[]) => void): SenderChannel {
  return {
    outbox: new MessageOutbox<RunnerReply | { readonly k: 'bye' }>({
      post,
      wrap: (m) => ({ k: 'many', m }),
      // Outputs are fresh ORT arrays: a failure to post one is ours.
      onError: (reply, error) => {
        if (reply.k !== 'bye') post({ k: 'err', id: reply.id, error: ServingError.from(error).toJSON() }, []);
      },
    }),
    cancels: new Map(),
    streams: new Map(),
  };
}

type Batch = DataMessage | { readonly k: 'many'; readonly m: readonly DataMessage[] };

/** The other runners that send this one requests, by name. */
export class PeerSenders {
  readonly #peers = new Map<string, { readonly port: MessagePort; readonly channel: SenderChannel }>();
  readonly #handle: (message: Batch, from: SenderChannel) => void;

  /** `handle` serves a data message from a sender. */
  constructor(handle: (message: Batch, from: SenderChannel) => void) {
    this.#handle = handle;
  }

  /** Runner `peer` will send requests on `port`. */
  connect(peer: string, port: MessagePort): void {
    this.disconnect(peer);
    const from = senderChannel((message, transfer) => port.postMessage(message, transfer));
    // Only data messages travel between runners: loads, unloads and faults come from the main thread.
    port.onmessage = (event: MessageEvent<Batch>) => {
      const k = event.data?.k;
      if (k === 'p' || k === 'c' || k === 'sp' || k === 'sc' || k === 'x' || k === 'many') this.#handle(event.data, from);
    };
    this.#peers.set(peer, { port, channel: from });
  }

  /** Runner `peer` is gone: what it asked for is not wanted any more. */
  disconnect(peer: string): void {
    const connection = this.#peers.get(peer);
    if (!connection) return;
    this.#peers.delete(peer);
    connection.port.close();
    for (const controller of connection.channel.cancels.values()) controller.abort(new ServingError('CANCELLED', 'the runner that sent the request ended'));
    for (const stream of connection.channel.streams.values()) stream.resume?.();
  }

  /** This runner hosts nothing more and is about to be retired: each sender learns it after its last reply. */
  bye(): void {
    for (const { channel } of this.#peers.values()) channel.outbox.push({ k: 'bye' });
  }
}
