/**
 * RunnerPool: the main thread's side of the data plane — it spawns runner workers when the
 * control plane asks, sends them loads, predictions and unloads in tagged messages on their own
 * Worker channel (src/protocol/runner.ts has the sequences), and notices when one dies.
 *
 * Contract:
 * - `load()` places a servable on a runner: a new one, or the live runner of `group` when one is
 *   given. A runner whose load fails and that hosts nothing else is terminated.
 * - `unload()` drains the servable (the runner finishes its requests in flight) and terminates
 *   the runner once it hosts nothing: its WASM heap and GPU memory go back to the browser.
 * - Death (terminated from outside, crash, out of memory, self-close, WASM abort, lost device) is
 *   seen through a Web Lock each runner holds for its life: every request pending on it rejects
 *   with UNAVAILABLE (`data.retryable`), and `onExit` tells the owner, once. A runner the pool
 *   retired itself is not reported.
 * - Runner to runner: a runner's servable may call other servables (a pipeline's steps). The
 *   runner asks where (`route`); the pool answers from `resolveRoute` and, the first time that
 *   runner needs that other one, hands both ends of a new MessageChannel out, so requests and
 *   tensors then go between them directly. A runner gone is told to every runner connected to
 *   it (`peer-gone`: died or retired) and to those it was calling (`disconnect`); a new routing
 *   table is told to every runner that asked for routes (`routes`).
 * - `close()` terminates every runner at once; pending requests reject with CANCELLED.
 */
import type { BatchedRun } from '../batching/batching-session.js';
import { watchLifeLock } from '../core/life-lock.js';
import { splitServableKey } from '../core/servable-id.js';
import { MessageOutbox } from '../core/message-outbox.js';
import { ServingError, describeServable, type ServingErrorJSON } from '../core/serving-error.js';
import type { CheckedSelector } from '../core/version-selector.js';
import type { Route } from '../protocol.js';
import { RunnerLinks } from './runner-links.js';
import type { CallMessage, DataMessage, FromRunner, PredictMessage, StreamMessage, RunnerFault, RunnerLoadResult, RunnerLoadSpec, RunnerReply, ToRunner } from '../protocol/runner.js';

/** What a pending request is told. */
export interface PendingReply {
  ok(value: unknown, batch: BatchedRun | undefined): void;
  fail(error: ServingError): void;
  /** The runner does not host the servable (any more); `inputs` are handed back. */
  moved(inputs: unknown): void;
  /** A stream's result; the request stays pending until `ok`/`fail`. Only streams have it. */
  item?(value: unknown): void;
}

/** Which onnxruntime-web build a runner loads: the full one (WebGPU + WASM) or WASM only. */
export type RunnerVariant = 'webgpu' | 'wasm';

export interface RunnerPoolOptions {
  /** Starts a runner worker named `name` (the name is its Web Lock) with the given ORT build. */
  readonly spawn: (name: string, variant: RunnerVariant) => Worker;
  /** A runner ended without being retired. */
  readonly onExit: (runner: string, reason: string) => void;
  /** Where a servable runs, for a runner whose servable calls it (`fresh`: not from the routing table). */
  readonly resolveRoute?: (selector: CheckedSelector, fresh: boolean) => Promise<Route>;
  /** Limit on a runner's start-up. @defaultValue 30000 */
  readonly startTimeoutMs?: number;
  /** Why WebGPU cannot run in this page, or undefined when it can. @defaultValue webgpuUnavailable (asks `navigator.gpu` once) */
  readonly webgpuUnavailable?: () => Promise<string | undefined>;
}

let webgpuProbe: Promise<string | undefined> | undefined;

/**
 * Why WebGPU cannot run in this page — no `navigator.gpu`, or no adapter — or undefined when an
 * adapter exists; asked once per page. A version that prefers WebGPU but may fall back then gets
 * the WASM-only runner at once: starting the WebGPU build (a 28 MB .wasm to compile) only to learn
 * there is no adapter cost 2.4–3.6 s per load on the test machine.
 */
export function webgpuUnavailable(): Promise<string | undefined> {
  webgpuProbe ??= (async () => {
    const gpu = (globalThis.navigator as { gpu?: { requestAdapter(): Promise<unknown> } } | undefined)?.gpu;
    if (!gpu) return 'WebGPU is not supported in this context (navigator.gpu is undefined)';
    try {
      return (await gpu.requestAdapter()) ? undefined : 'no WebGPU adapter is available';
    } catch (error) {
      return `requestAdapter() failed: ${(error as Error).message}`;
    }
  })();
  return webgpuProbe;
}

export interface PlacedServable extends RunnerLoadResult {
  readonly runner: string;
}

export interface RunnerInfo {
  readonly runner: string;
  /** The onnxruntime-web build it loaded. */
  readonly variant: RunnerVariant;
  readonly group?: string;
  readonly servables: readonly string[];
  readonly pending: number;
}

type State = 'starting' | 'up' | 'retired' | 'dead';

class Runner {
  state: State = 'starting';
  exitReason: string | undefined;
  /** Servable key → its `maxRunMs` (0: no limit). */
  readonly servables = new Map<string, number>();
  readonly pending = new Map<number, PendingReply & { readonly key: string; readonly stream?: true }>();
  /** When the runner last answered anything, or was given work while idle: a run that stalls shows as no progress. */
  lastProgressAt = 0;
  /** Its ports to other runners (its servables call theirs). */
  readonly links = new RunnerLinks();
  readonly outbox: MessageOutbox<DataMessage>;
  readonly up: Promise<void>;

  constructor(readonly name: string, readonly worker: Worker, readonly group: string | undefined, readonly variant: RunnerVariant, onPostError: (message: DataMessage, error: unknown) => void) {
    this.outbox = new MessageOutbox<DataMessage>({
      post: (message, transfer) => worker.postMessage(message, transfer),
      wrap: (m) => ({ k: 'many', m }),
      onError: onPostError,
    });
    this.up = new Promise<void>((resolve, reject) => {
      const onUp = (event: MessageEvent<FromRunner>) => {
        if (event.data?.k === 'fatal') reject(new ServingError('FAILED_PRECONDITION', event.data.reason));
        if (event.data?.k !== 'up') return;
        worker.removeEventListener('message', onUp);
        resolve();
      };
      worker.addEventListener('message', onUp);
      worker.addEventListener('error', (event) => reject(new ServingError('UNAVAILABLE', `a runner worker failed to start: ${event.message || 'its script could not be loaded (is runner.worker.js served beside the library, as an ES module?)'}`)), { once: true });
    });
  }

  post(message: ToRunner, transfer: Transferable[] = []): void {
    this.worker.postMessage(message, transfer);
  }
}

export class RunnerPool {
  readonly #options: RunnerPoolOptions;
  readonly #runners = new Map<string, Runner>();
  #nextId = 1;
  #closed = false;

  constructor(options: RunnerPoolOptions) {
    this.#options = options;
  }

  /** Places the servable `spec` describes on a runner; rejects with the load's ServingError. */
  async load(spec: RunnerLoadSpec, group?: string): Promise<PlacedServable> {
    const { placed, skipped } = await this.#usableProviders(spec);
    // Versions that will not use WebGPU get the WASM-only build: the page never downloads the other.
    const variant: RunnerVariant = placed.providers.includes('webgpu') ? 'webgpu' : 'wasm';
    const runner = await this.#runnerFor(group, variant);
    const transfer = placed.files.map((f) => f.data.buffer).filter((b): b is ArrayBuffer => b instanceof ArrayBuffer);
    try {
      const result = (await this.#control(runner, placed.key, (id) => runner.post({ k: 'load', id, spec: placed }, [...new Set(transfer)]))) as RunnerLoadResult;
      runner.servables.set(placed.key, placed.maxRunMs ?? 0);
      if (placed.maxRunMs) this.#startWatchdog();
      return { ...result, skipped: [...skipped, ...result.skipped], runner: runner.name };
    } catch (error) {
      if (runner.servables.size === 0) this.#retire(runner);
      throw error;
    }
  }

  /** `spec` without WebGPU when the page has no adapter and another provider remains, and why it was dropped. */
  async #usableProviders(spec: RunnerLoadSpec): Promise<{ placed: RunnerLoadSpec; skipped: string[] }> {
    if (!spec.providers.includes('webgpu') || spec.providers.length === 1) return { placed: spec, skipped: [] };
    const reason = await (this.#options.webgpuUnavailable ?? webgpuUnavailable)();
    if (reason === undefined) return { placed: spec, skipped: [] };
    return { placed: { ...spec, providers: spec.providers.filter((p) => p !== 'webgpu') }, skipped: [`webgpu: ${reason}`] };
  }

  /** Drains `key` on `runner`, releases it, and terminates the runner when it hosts nothing else. Resolves when done (at once for a runner already gone). */
  async unload(runnerName: string, key: string): Promise<void> {
    const runner = this.#runners.get(runnerName);
    if (!runner || runner.state !== 'up') return;
    // Resolves once the runner has finished the servable's requests in flight and released it.
    await this.#control(runner, key, (id) => runner.post({ k: 'unload', id, s: key })).catch(() => undefined);
    runner.servables.delete(key);
    if (runner.servables.size === 0) this.#retire(runner);
  }

  /**
   * Sends a prediction to `runnerName`, coalesced with the others issued in the same task.
   * Returns the request id (for `cancel`), or undefined when that runner is gone — the caller
   * then asks for the route again.
   */
  predict(runnerName: string, message: Omit<PredictMessage, 'k' | 'id'>, transfer: readonly Transferable[], reply: PendingReply): number | undefined {
    return this.#send(runnerName, message.s, reply, (id) => ({ k: 'p', id, s: message.s, i: message.i, ...(message.o !== undefined ? { o: message.o } : {}) }), transfer);
  }

  /** Sends `lookup` or a method call; as `predict`. */
  call(runnerName: string, message: Omit<CallMessage, 'k' | 'id'>, transfer: readonly Transferable[], reply: PendingReply): number | undefined {
    return this.#send(runnerName, message.s, reply, (id) => ({ k: 'c', id, ...message }), transfer);
  }

  /** Starts a stream with room for `message.c` results; `reply.item` gets each. As `predict` otherwise. */
  stream(runnerName: string, message: Omit<StreamMessage, 'k' | 'id'>, transfer: readonly Transferable[], reply: PendingReply & { item(value: unknown): void }): number | undefined {
    // A stream waits on its consumer as long as it likes: it is not a run the watchdog times.
    return this.#send(runnerName, message.s, reply, (id) => ({ k: 'sp', id, ...message }), transfer, true);
  }

  /** Registers `reply` under a new id and queues the message built for it; undefined when the runner is gone. */
  #send(runnerName: string, key: string, reply: PendingReply, message: (id: number) => DataMessage, transfer: readonly Transferable[], stream = false): number | undefined {
    const runner = this.#runners.get(runnerName);
    if (!runner || runner.state !== 'up') return undefined;
    const id = this.#nextId++;
    if (!stream && runner.pending.size === 0) runner.lastProgressAt = performance.now();
    runner.pending.set(id, stream ? { ...reply, key, stream: true } : { ...reply, key });
    runner.outbox.push(message(id), transfer);
    return id;
  }

  /** Room for `n` more results of stream `id`. */
  credit(runnerName: string, id: number, n: number): void {
    const runner = this.#runners.get(runnerName);
    if (!runner?.pending.has(id)) return;
    runner.outbox.push({ k: 'sc', id, n });
  }

  /** Asks the runner to drop a request it has not started; the caller has already answered its own caller. */
  cancel(runnerName: string, id: number): void {
    const runner = this.#runners.get(runnerName);
    if (!runner?.pending.delete(id)) return;
    runner.outbox.push({ k: 'x', id });
  }

  /** The routing table changed: runners that keep routes drop them. */
  routesChanged(): void {
    for (const runner of this.#runners.values()) if (runner.links.asksRoutes && runner.state === 'up') runner.post({ k: 'routes' });
  }

  /** The runners alive now. */
  list(): RunnerInfo[] {
    return [...this.#runners.values()]
      .filter((r) => r.state === 'up')
      .map((r) => ({ runner: r.name, variant: r.variant, ...(r.group !== undefined ? { group: r.group } : {}), servables: [...r.servables.keys()], pending: r.pending.size }));
  }

  /** Fault injection for tests and chaos drills: `terminate` kills the worker as the browser would; the others are carried out inside it. */
  fault(runnerName: string, fault: RunnerFault | 'terminate', ms?: number): void {
    const runner = this.#runners.get(runnerName);
    if (!runner) throw new ServingError('NOT_FOUND', `no runner named "${runnerName}" (runners: ${[...this.#runners.keys()].join(', ') || 'none'})`);
    if (fault === 'terminate') runner.worker.terminate();
    else runner.post({ k: 'fault', fault, ...(ms !== undefined ? { ms } : {}) });
  }

  /** Terminates every runner and takes no more loads; whatever is pending rejects with `reason`. */
  close(reason: ServingError): void {
    this.#closed = true;
    this.terminateAll(reason);
  }

  /** Terminates every runner (none is reported as exited); whatever is pending rejects with `reason`. */
  terminateAll(reason: ServingError): void {
    clearInterval(this.#watchdog);
    this.#watchdog = undefined;
    for (const runner of this.#runners.values()) {
      runner.state = 'retired';
      runner.worker.terminate();
      this.#rejectPending(runner, () => reason);
    }
    this.#runners.clear();
  }

  async #runnerFor(group: string | undefined, variant: RunnerVariant): Promise<Runner> {
    if (this.#closed) throw new ServingError('CANCELLED', 'the serving runtime was closed');
    if (group !== undefined) {
      const shared = [...this.#runners.values()].find((r) => r.group === group && r.variant === variant && (r.state === 'up' || r.state === 'starting'));
      if (shared) {
        await shared.up;
        return shared;
      }
    }
    return this.#spawn(group, variant);
  }

  async #spawn(group: string | undefined, variant: RunnerVariant): Promise<Runner> {
    const name = `browserving-runner-${crypto.randomUUID()}`;
    let worker: Worker;
    try {
      worker = this.#options.spawn(name, variant);
    } catch (error) {
      throw ServingError.from(error, {}, 'UNAVAILABLE');
    }
    const runner = new Runner(name, worker, group, variant, (message, error) => this.#postFailed(runner, message, error));
    this.#runners.set(name, runner);
    // The Worker's own handler property: the one listener on the predict reply path.
    worker.onmessage = (event: MessageEvent<FromRunner>) => this.#onMessage(runner, event.data);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeoutMs = this.#options.startTimeoutMs ?? 30_000;
    try {
      await Promise.race([
        runner.up,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new ServingError('UNAVAILABLE', `a runner worker did not start within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } catch (error) {
      this.#retire(runner);
      throw error;
    } finally {
      clearTimeout(timer);
    }
    runner.state = 'up';
    this.#watchLife(runner);
    return runner;
  }

  /** The lock the runner holds for its life is granted to us once it is gone. */
  #watchLife(runner: Runner): void {
    watchLifeLock(runner.name, () => this.#died(runner));
  }

  #watchdog: ReturnType<typeof setInterval> | undefined;

  /**
   * `maxRunMs`: a runner with requests pending that has answered nothing for longer than the
   * smallest `maxRunMs` of its servables is stuck in a run. Its callers get DEADLINE_EXCEEDED,
   * it is terminated and reported like a crash, so its versions reload in a new runner.
   */
  #startWatchdog(): void {
    this.#watchdog ??= setInterval(() => {
      const now = performance.now();
      for (const runner of [...this.#runners.values()]) {
        const limits = [...runner.servables.values()].filter((ms) => ms > 0);
        if (runner.state !== 'up' || limits.length === 0 || ![...runner.pending.values()].some((p) => !p.stream)) continue;
        const limit = Math.min(...limits);
        if (now - runner.lastProgressAt <= limit) continue;
        runner.worker.terminate();
        this.#died(runner, `a run went on for more than maxRunMs (${limit} ms); the runner was recycled`, 'DEADLINE_EXCEEDED');
      }
    }, 100);
  }

  #died(runner: Runner, reason = runner.exitReason ?? 'the runner worker ended (terminated, crashed or out of memory)', code: 'UNAVAILABLE' | 'DEADLINE_EXCEEDED' = 'UNAVAILABLE'): void {
    if (runner.state === 'retired' || runner.state === 'dead') return;
    runner.state = 'dead';
    this.#runners.delete(runner.name);
    RunnerLinks.gone(runner, this.#runners.values(), true);
    this.#rejectPending(runner, (key) => {
      const [model, version] = splitServableKey(key);
      return new ServingError(code, `${describeServable(model, version)}: ${reason} while serving this request; it is being restarted — retry the request`, { model, ...(version !== undefined ? { version } : {}), data: { retryable: true } });
    });
    this.#options.onExit(runner.name, reason);
  }

  #retire(runner: Runner): void {
    if (runner.state === 'retired' || runner.state === 'dead') return;
    runner.state = 'retired';
    this.#runners.delete(runner.name);
    runner.worker.terminate();
    RunnerLinks.gone(runner, this.#runners.values(), false);
    this.#rejectPending(runner, () => new ServingError('UNAVAILABLE', 'the runner was retired', { data: { retryable: true } }));
  }

  #rejectPending(runner: Runner, error: (key: string) => ServingError): void {
    const pending = [...runner.pending.values()];
    runner.pending.clear();
    for (const reply of pending) reply.fail(error(reply.key));
  }

  #onMessage(runner: Runner, message: FromRunner): void {
    switch (message.k) {
      case 'many':
        for (const reply of message.m) this.#settle(runner, reply);
        return;
      case 'exit':
        runner.exitReason = message.reason;
        return;
      case 'route':
        void runner.links.answerRoute(runner, this.#runners, this.#options.resolveRoute, message);
        return;
      case 'unlinked':
        runner.links.unlinked(runner, this.#runners.get(message.runner));
        return;
      case 'up':
      case 'fatal':
        return;
      default:
        this.#settle(runner, message);
    }
  }

  #settle(runner: Runner, reply: RunnerReply): void {
    runner.lastProgressAt = performance.now();
    const pending = runner.pending.get(reply.id);
    if (!pending) return; // cancelled, or answered already
    if (reply.k === 'si') {
      pending.item?.(reply.value);
      return;
    }
    runner.pending.delete(reply.id);
    if (reply.k === 'ok') pending.ok(reply.value, reply.n);
    else if (reply.k === 'err') pending.fail(ServingError.fromJSON(reply.error as ServingErrorJSON));
    else pending.moved(reply.i);
  }

  /** A message that could not be posted is the caller's data (ours always clone). */
  #postFailed(runner: Runner, message: DataMessage, error: unknown): void {
    const pending = runner.pending.get(message.id);
    if ((message.k !== 'p' && message.k !== 'c' && message.k !== 'sp') || !pending) return;
    runner.pending.delete(message.id);
    const [model, version] = splitServableKey(message.s);
    const cause = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    pending.fail(new ServingError('INVALID_ARGUMENT', `${describeServable(model, version)}: the request's inputs cannot be sent to the worker (${cause}); inputs must be { type, data, dims } objects of typed arrays that are not detached (pass transferInputs: false to keep using an input after predict)`, { model, ...(version !== undefined ? { version } : {}) }));
  }

  /** A load/unload round trip on the runner's channel. */
  #control(runner: Runner, key: string, send: (id: number) => void): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const id = this.#nextId++;
      runner.pending.set(id, { key, ok: (value) => resolve(value), fail: reject, moved: () => reject(new ServingError('INTERNAL', 'a control message was answered as moved')) });
      try {
        send(id);
      } catch (error) {
        runner.pending.delete(id);
        reject(ServingError.from(error));
      }
    });
  }
}
