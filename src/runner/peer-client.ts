/**
 * PeerClient: a runner's way to call the servables of other runners (`version.servables` of a
 * platform; the built-in `pipeline` runs on it). Requests go runner to runner on a MessagePort
 * the main thread hands out once per pair — tensors never cross the page — with the same
 * messages and replies the main thread's client uses (src/protocol/runner.ts, "runner to runner").
 *
 * Contract:
 * - A route is asked of the main thread once per selector and kept until the main thread says
 *   the routing table changed; `moved` asks again, fresh, and re-sends (at most MAX_MOVES times).
 * - The caller's AbortSignal cancels: the request leaves the other runner's queue (`x`) and the
 *   promise rejects with the signal's reason.
 * - The other runner gone: requests to a runner that retired (it says `bye` after its last reply,
 *   so those still pending never ran) are re-sent where the servable is now; to one that died,
 *   they reject with UNAVAILABLE (`data.retryable`), as the page's own requests do. A runner
 *   being replaced (its route answered but its port already gone) is asked for again, fresh: the
 *   control worker's answer waits for the restart, as the page's requests do.
 * - Inputs are copied, not transferred: a caller may use one tensor in several requests.
 */
import { MessageOutbox } from '../core/message-outbox.js';
import { raceAbort } from '../core/request-deadline.js';
import { ServingError, describeServable, type ServingErrorJSON } from '../core/serving-error.js';
import { splitServableKey } from '../core/servable-id.js';
import { validateSelector, type CheckedSelector } from '../core/version-selector.js';
import { unansweredError, type PlatformCallOptions, type PlatformServables, type ServableApi, type ServableSelector } from '../platforms/platform.js';
import type { Route, TableValue, TensorData } from '../protocol.js';
import type { DataMessage, FromRunner, PeerReply, RunnerReply } from '../protocol/runner.js';
import { MAX_REQUEST_DEPTH, requestDepth } from '../core/request-depth.js';

const MAX_MOVES = 3;
/** How long a retired runner's `bye` is waited for once the main thread says it is gone. */
const BYE_GRACE_MS = 1000;

const MOVED = Symbol('moved');

interface Pending {
  readonly key: string;
  resolve(value: unknown): void;
  reject(error: ServingError): void;
}

interface Connection {
  readonly port: MessagePort;
  readonly outbox: MessageOutbox<DataMessage>;
  readonly pending: Map<number, Pending>;
  /** Set once the main thread said the runner retired: when its `bye` is given up on. */
  byeTimer?: ReturnType<typeof setTimeout>;
}

export class PeerClient implements PlatformServables {
  readonly #post: (message: FromRunner) => void;
  readonly #connections = new Map<string, Connection>();
  #routes = new Map<string, Route>();
  readonly #asks = new Map<number, { resolve(value: { route: Route; port?: MessagePort }): void; reject(error: ServingError): void }>();
  #nextId = 1;

  /** `post` sends to the main thread. */
  constructor(post: (message: FromRunner) => void) {
    this.#post = post;
  }

  async predict(request: ServableSelector & { readonly inputs: Readonly<Record<string, TensorData>>; readonly outputs?: readonly string[] }, options: PlatformCallOptions): Promise<{ version: number; outputs: Record<string, TensorData> }> {
    const { version, value } = await this.#request(request, 'predict', (route, id, h) => ({ k: 'p', id, s: route.key, i: request.inputs, ...(request.outputs ? { o: request.outputs } : {}), h }), options.signal);
    return { version, outputs: value as Record<string, TensorData> };
  }

  async lookup(request: ServableSelector & { readonly keys: readonly (string | number)[] }, options: PlatformCallOptions): Promise<{ version: number; values: TableValue[] }> {
    const { version, value } = await this.#request(request, 'lookup', (route, id, h) => ({ k: 'c', id, s: route.key, m: 'lookup', a: request.keys, h }), options.signal);
    return { version, values: value as TableValue[] };
  }

  async call(request: ServableSelector & { readonly method: string; readonly args?: unknown }, options: PlatformCallOptions): Promise<{ version: number; value: unknown }> {
    if (typeof request?.method !== 'string' || request.method === '' || request.method === 'lookup') {
      throw new ServingError('INVALID_ARGUMENT', `call() needs a method name (a string other than "lookup"; use lookup() for that), got ${JSON.stringify(request?.method)}`);
    }
    return this.#request(request, `call:${request.method}`, (route, id, h) => ({ k: 'c', id, s: route.key, m: request.method, a: request.args, h }), options.signal);
  }

  /** The main thread's answer to `route`. */
  routed(id: number, route: Route | undefined, port: MessagePort | undefined, error: ServingErrorJSON | undefined): void {
    const ask = this.#asks.get(id);
    // An answer nobody waits for still brings a port: keep it, the next route to that runner needs it.
    if (port && route) this.#connect(route.runner, port);
    if (!ask) return;
    this.#asks.delete(id);
    if (route) ask.resolve({ route });
    else ask.reject(ServingError.fromJSON(error ?? { code: 'INTERNAL', message: 'the main thread answered a route request with nothing' }));
  }

  /** The routing table changed: ask again next time. */
  routesChanged(): void {
    this.#routes = new Map();
  }

  /** `runner` is gone; see the file comment. */
  peerGone(runner: string, died: boolean): void {
    for (const [key, route] of this.#routes) if (route.runner === runner) this.#routes.delete(key);
    const connection = this.#connections.get(runner);
    if (!connection) return;
    if (died) {
      this.#close(runner, connection, (pending) => {
        const [model, version] = splitServableKey(pending.key);
        pending.reject(new ServingError('UNAVAILABLE', `${describeServable(model, version)}: its runner ended while serving this request; it is being restarted — retry the request`, { model, ...(version !== undefined ? { version } : {}), data: { retryable: true } }));
      });
      return;
    }
    // Its last replies may still be on their way on the port: they end with `bye`.
    connection.byeTimer ??= setTimeout(() => this.#close(runner, connection, (pending) => pending.resolve(MOVED)), BYE_GRACE_MS);
  }

  #close(runner: string, connection: Connection, settle: (pending: Pending) => void): void {
    clearTimeout(connection.byeTimer);
    if (this.#connections.get(runner) === connection) this.#connections.delete(runner);
    connection.port.close();
    const pending = [...connection.pending.values()];
    connection.pending.clear();
    for (const p of pending) settle(p);
  }

  async #request(selector: ServableSelector, api: ServableApi, message: (route: Route, id: number, depth: number) => DataMessage, signal: AbortSignal): Promise<{ version: number; value: unknown }> {
    const checked = validateSelector(selector);
    signal.throwIfAborted();
    const depth = requestDepth(signal) + 1;
    if (depth > MAX_REQUEST_DEPTH) {
      throw new ServingError('FAILED_PRECONDITION', `a request to model "${checked.model}" would be the ${depth}th servable called by servables for one request (at most ${MAX_REQUEST_DEPTH}): do pipelines call each other in a circle? Check the steps' models`, { model: checked.model, data: { depth } });
    }
    let fresh = false;
    for (let moves = 0; ; moves += 1) {
      const route = await this.#route(checked, fresh, signal);
      if (!route.apis.includes(api)) throw unansweredError(checked.model, route.version, route.apis, api);
      const value = await this.#send(route, (r, id) => message(r, id, depth), signal);
      if (value !== MOVED) return { version: route.version, value };
      if (moves >= MAX_MOVES) {
        throw new ServingError('UNAVAILABLE', `${describeServable(checked.model, route.version)} kept moving between runners; retry the request`, { model: checked.model, version: route.version, data: { retryable: true } });
      }
      fresh = true;
    }
  }

  async #route(selector: CheckedSelector, fresh: boolean, signal: AbortSignal, attempt = 0): Promise<Route> {
    const key = JSON.stringify([selector.model, selector.version ?? null, selector.label ?? null]);
    const known = fresh ? undefined : this.#routes.get(key);
    if (known && this.#connections.has(known.runner)) return known;
    const id = this.#nextId++;
    const asked = new Promise<{ route: Route }>((resolve, reject) => this.#asks.set(id, { resolve, reject }));
    this.#post({ k: 'route', id, sel: selector, fresh });
    const { route } = await raceAbort(asked, signal, () => this.#asks.delete(id));
    if (this.#connections.has(route.runner)) {
      this.#routes.set(key, route);
      return route;
    }
    // The runner ended between the answer and now: ask again, fresh, which waits for its replacement.
    if (attempt >= MAX_MOVES) {
      throw new ServingError('UNAVAILABLE', `${describeServable(selector.model, route.version)}: its runner kept ending; retry the request`, { model: selector.model, version: route.version, data: { retryable: true } });
    }
    return this.#route(selector, true, signal, attempt + 1);
  }

  #send(route: Route, message: (route: Route, id: number) => DataMessage, signal: AbortSignal): Promise<unknown> {
    const connection = this.#connections.get(route.runner)!;
    const id = this.#nextId++;
    const answered = new Promise<unknown>((resolve, reject) => {
      connection.pending.set(id, { key: route.key, resolve, reject });
      connection.outbox.push(message(route, id));
    });
    return raceAbort(answered, signal, () => {
      if (connection.pending.delete(id)) connection.outbox.push({ k: 'x', id });
    });
  }

  #connect(runner: string, port: MessagePort): void {
    if (this.#connections.has(runner)) {
      port.close();
      return;
    }
    const pending = new Map<number, Pending>();
    const outbox = new MessageOutbox<DataMessage>({
      post: (message, transfer) => port.postMessage(message, transfer),
      wrap: (m) => ({ k: 'many', m }),
      onError: (message, error) => {
        const waiting = pending.get(message.id);
        if (!waiting) return;
        pending.delete(message.id);
        const [model, version] = 's' in message ? splitServableKey(message.s) : ['?', undefined];
        waiting.reject(new ServingError('INVALID_ARGUMENT', `${describeServable(model, version)}: the request cannot be sent to its runner (${(error as Error)?.message ?? String(error)}); tensors must be { type, data, dims } objects of typed arrays or string arrays`, { model, ...(version !== undefined ? { version } : {}) }));
      },
    });
    const connection: Connection = { port, outbox, pending };
    port.onmessage = (event: MessageEvent<PeerReply>) => {
      const data = event.data;
      for (const reply of data.k === 'many' ? data.m : [data]) {
        if (reply.k !== 'bye') {
          settle(pending, reply);
          continue;
        }
        this.#close(runner, connection, (p) => p.resolve(MOVED));
        this.#post({ k: 'unlinked', runner });
      }
    };
    this.#connections.set(runner, connection);
  }
}

function settle(pending: Map<number, Pending>, reply: RunnerReply): void {
  const waiting = pending.get(reply.id);
  if (!waiting || reply.k === 'si') return;
  pending.delete(reply.id);
  if (reply.k === 'ok') waiting.resolve(reply.value);
  else if (reply.k === 'err') waiting.reject(ServingError.fromJSON(reply.error));
  else waiting.resolve(MOVED);
}
