/**
 * RunnerServer: what a runner worker hosts — one onnxruntime-web instance and the servables the
 * control plane placed on it (ONNX sessions, tables, an app's platforms) — and the runner's side
 * of the data-plane protocol (`src/protocol/runner.ts`, where the message sequences are).
 *
 * Contract:
 * - Every request is answered exactly once: `ok`, `err` (a ServingError), or `moved` when the
 *   servable it names is not hosted here or is being unloaded; a stream answers `si` per result
 *   and then once more.
 * - A request for an API the servable does not answer is INVALID_ARGUMENT naming what it answers.
 * - Runs of all ONNX sessions go through one RunQueue (one run at a time per ORT instance); the
 *   ORT instance is made by the first load that needs it.
 * - A stream produces a result only when the client has room for it (`c`, then `sc` credits).
 * - `unload` waits for the servable's requests in flight (the data plane's handles) and open
 *   streams, then releases it.
 * - Requests come from the main thread and from other runners (ports handed out by the main
 *   thread, `connect`): each sender has its own reply outbox, cancellations and stream credits.
 *   This runner's servables call other runners' through a PeerClient (`version.servables`).
 * - A WebAssembly.RuntimeError (WASM abort, out-of-bounds access) or a lost WebGPU device leaves
 *   the instance unusable: the runner answers what it can, says `exit` and closes, and the main
 *   thread replaces it.
 */
import { ServingError, describeServable } from '../core/serving-error.js';
import { planPredictValidation } from '../loaders/signature-validation.js';
import { transferablesOf } from '../loaders/tensor-types.js';
import type { CallMessage, DataMessage, FromRunner, PredictMessage, RunnerFault, RunnerLoadResult, RunnerLoadSpec, StreamMessage, ToRunner } from '../protocol/runner.js';
import { unansweredError, type ServableApi } from '../platforms/platform.js';
import type { TensorData } from '../protocol.js';
import type { HostedServable } from './hosted-servable.js';
import { loadOnnxServable } from './load-onnx-servable.js';
import { loadPlatformServable } from './platform-servable-host.js';
import { OrtRuntime, type OrtModule } from './ort-runtime.js';
import { PeerClient } from './peer-client.js';
import { PeerSenders, senderChannel, type SenderChannel } from './sender-channels.js';
import { setRequestDepth } from '../core/request-depth.js';
import { RunQueue } from './run-queue.js';

interface Hosted {
  readonly servable: HostedServable;
  /** Validation planned once for the servable's signature (none without one). */
  readonly validate: (inputs: unknown, outputs?: unknown) => void;
  inflight: number;
  draining: boolean;
  drained?: () => void;
}

export interface RunnerScope {
  /** onnxruntime-web as this runner's entry point imported it (the full build, or WASM only). */
  readonly ort: OrtModule;
  post(message: FromRunner, transfer: Transferable[]): void;
  /** Ends the worker (self.close). */
  close(): void;
}

export class RunnerServer {
  readonly #scope: RunnerScope;
  readonly #main: SenderChannel;
  /** Other runners calling this one's servables. */
  readonly #peers = new PeerSenders((message, from) => this.#data(message, from));
  /** This runner's servables calling other runners'. */
  readonly #servables: PeerClient;
  readonly #queue = new RunQueue();
  readonly #hosted = new Map<string, Hosted>();
  #runtime: OrtRuntime | undefined;
  #exiting = false;

  constructor(scope: RunnerScope) {
    this.#scope = scope;
    this.#main = senderChannel((message, transfer) => scope.post(message as FromRunner, transfer));
    this.#servables = new PeerClient((message) => scope.post(message, []));
  }

  handle(message: ToRunner): void {
    switch (message.k) {
      case 'p':
      case 'c':
      case 'sp':
      case 'sc':
      case 'x':
        this.#data(message, this.#main);
        return;
      case 'many':
        for (const m of message.m) this.#data(m, this.#main);
        return;
      case 'connect':
        this.#peers.connect(message.peer, message.port);
        return;
      case 'disconnect':
        this.#peers.disconnect(message.peer);
        return;
      case 'routed':
        this.#servables.routed(message.id, message.route, message.port, message.error);
        return;
      case 'routes':
        this.#servables.routesChanged();
        return;
      case 'peer-gone':
        this.#servables.peerGone(message.runner, message.died);
        return;
      case 'load':
        this.#answer(message.id, this.#load(message.spec));
        return;
      case 'unload':
        this.#answer(message.id, this.#unload(message.s));
        return;
      case 'fault':
        this.#fault(message.fault, message.ms);
        return;
    }
  }

  /** A request (or its credit or cancellation) from `from`: the main thread or a peer runner. */
  #data(message: DataMessage | { readonly k: 'many'; readonly m: readonly DataMessage[] }, from: SenderChannel): void {
    switch (message.k) {
      case 'p':
        this.#predict(message, from);
        return;
      case 'c':
        this.#call(message, from);
        return;
      case 'sp':
        void this.#stream(message, from);
        return;
      case 'sc': {
        const stream = from.streams.get(message.id);
        if (!stream) return;
        stream.credit += message.n;
        stream.resume?.();
        return;
      }
      case 'x':
        from.cancels.get(message.id)?.abort(new ServingError('CANCELLED', 'the request was cancelled by the caller'));
        from.streams.get(message.id)?.resume?.();
        return;
      case 'many':
        for (const m of message.m) this.#data(m, from);
        return;
    }
  }

  #predict(m: PredictMessage, from: SenderChannel): void {
    const hosted = this.#hosted.get(m.s);
    if (!hosted || hosted.draining || this.#exiting) {
      from.outbox.push({ k: 'moved', id: m.id, i: m.i }, safeTransferables(m.i));
      return;
    }
    const { servable } = hosted;
    if (!servable.apis.includes('predict')) {
      from.outbox.push({ k: 'err', id: m.id, error: unansweredError(servable.id.name, servable.id.version, servable.apis, 'predict').toJSON() });
      return;
    }
    // Only a request that may wait can be cancelled; one that starts now needs no AbortController.
    const controller = servable.startsAtOnce ? undefined : new AbortController();
    if (controller) {
      from.cancels.set(m.id, controller);
      setRequestDepth(controller.signal, m.h);
    }
    hosted.inflight += 1;
    const done = () => {
      if (controller) from.cancels.delete(m.id);
      hosted.inflight -= 1;
      if (hosted.inflight === 0) hosted.drained?.();
    };
    let running;
    try {
      hosted.validate(m.i, m.o);
      running = servable.run(m.i, m.o, controller?.signal);
    } catch (error) {
      done();
      from.outbox.push({ k: 'err', id: m.id, error: ServingError.from(error, { model: servable.id.name, version: servable.id.version }).toJSON() });
      return;
    }
    running.then(
      ({ outputs, batch }) => {
        done();
        from.outbox.push(batch ? { k: 'ok', id: m.id, value: outputs, n: batch } : { k: 'ok', id: m.id, value: outputs }, servable.transfersResults ? transferablesOf(Object.values(outputs)) : []);
      },
      (error: unknown) => {
        done();
        // A remote servable whose endpoint failed, with the model served elsewhere: the client re-routes (remote-platform.ts).
        if ((error as { data?: { failover?: unknown } } | null)?.data?.failover === true) from.outbox.push({ k: 'moved', id: m.id, i: m.i }, safeTransferables(m.i));
        else from.outbox.push({ k: 'err', id: m.id, error: this.#runFailure(servable, error).toJSON() });
      },
    );
  }

  /** `lookup` or a method of the servable's own. */
  #call(m: CallMessage, from: SenderChannel): void {
    const hosted = this.#hosted.get(m.s);
    if (!hosted || hosted.draining || this.#exiting) {
      from.outbox.push({ k: 'moved', id: m.id, i: m.a });
      return;
    }
    const { servable } = hosted;
    const api: ServableApi = m.m === 'lookup' ? 'lookup' : `call:${m.m}`;
    if (!servable.call || !servable.apis.includes(api)) {
      from.outbox.push({ k: 'err', id: m.id, error: unansweredError(servable.id.name, servable.id.version, servable.apis, api).toJSON() });
      return;
    }
    const controller = new AbortController();
    from.cancels.set(m.id, controller);
    setRequestDepth(controller.signal, m.h);
    const done = this.#begin(hosted);
    servable.call(m.m, m.a, controller.signal).then(
      (value) => {
        from.cancels.delete(m.id);
        done();
        from.outbox.push({ k: 'ok', id: m.id, value });
      },
      (error: unknown) => {
        from.cancels.delete(m.id);
        done();
        from.outbox.push({ k: 'err', id: m.id, error: this.#runFailure(servable, error).toJSON() });
      },
    );
  }

  /** Pulls results from the servable's iterator while the client has room for them. */
  async #stream(m: StreamMessage, from: SenderChannel): Promise<void> {
    const hosted = this.#hosted.get(m.s);
    if (!hosted || hosted.draining || this.#exiting) {
      from.outbox.push({ k: 'moved', id: m.id, i: m.i }, safeTransferables(m.i));
      return;
    }
    const { servable } = hosted;
    if (!servable.stream || !servable.apis.includes('stream')) {
      from.outbox.push({ k: 'err', id: m.id, error: unansweredError(servable.id.name, servable.id.version, servable.apis, 'stream').toJSON() });
      return;
    }
    const controller = new AbortController();
    const state: { credit: number; resume?: () => void } = { credit: m.c };
    from.cancels.set(m.id, controller);
    from.streams.set(m.id, state);
    const done = this.#begin(hosted);
    let iterator: AsyncIterator<Readonly<Record<string, TensorData>>> | undefined;
    try {
      hosted.validate(m.i);
      iterator = servable.stream(m.i, controller.signal);
      for (;;) {
        while (state.credit <= 0 && !controller.signal.aborted) await new Promise<void>((resolve) => (state.resume = resolve));
        state.resume = undefined;
        if (controller.signal.aborted) break;
        const step = await iterator.next();
        if (step.done || controller.signal.aborted) break;
        state.credit -= 1;
        from.outbox.push({ k: 'si', id: m.id, value: step.value as Record<string, TensorData> }, servable.transfersResults ? transferablesOf(Object.values(step.value)) : []);
      }
      if (controller.signal.aborted) {
        // The client has stopped listening: let the servable's iterator clean up.
        await iterator.return?.().catch(() => undefined);
      } else {
        from.outbox.push({ k: 'ok', id: m.id, value: null });
      }
    } catch (error) {
      if (!controller.signal.aborted) from.outbox.push({ k: 'err', id: m.id, error: this.#runFailure(servable, error).toJSON() });
    } finally {
      from.cancels.delete(m.id);
      from.streams.delete(m.id);
      done();
    }
  }

  /** Counts a request in flight on the servable; the returned function ends it. */
  #begin(hosted: Hosted): () => void {
    hosted.inflight += 1;
    return () => {
      hosted.inflight -= 1;
      if (hosted.inflight === 0) hosted.drained?.();
    };
  }

  /** A run's error as the caller sees it; a WASM abort also ends this runner. */
  #runFailure(servable: HostedServable, error: unknown): ServingError {
    const details = { model: servable.id.name, version: servable.id.version };
    if (error instanceof WebAssembly.RuntimeError) {
      const reason = `onnxruntime-web aborted (${error.message}) running ${describeServable(servable.id.name, servable.id.version)}`;
      this.exit(reason);
      return new ServingError('UNAVAILABLE', `${reason}; the runner is being replaced, retry the request`, { ...details, data: { retryable: true } });
    }
    return ServingError.from(error, details);
  }

  async #load(spec: RunnerLoadSpec): Promise<RunnerLoadResult> {
    if (this.#hosted.has(spec.key)) throw new ServingError('INTERNAL', `${describeServable(spec.model, spec.version)} is already hosted by this runner`);
    const runtime = () => (this.#runtime ??= this.#createRuntime(spec.wasm));
    try {
      if (spec.platform !== 'onnx') {
        const servable = await loadPlatformServable(spec, { runtime, queue: this.#queue, servables: this.#servables });
        this.#host(spec.key, servable);
        const description = servable.describe();
        return {
          apis: servable.apis,
          ...(servable.signature ? { signature: servable.signature } : {}),
          skipped: [],
          warmupMs: 0,
          ...(Object.keys(description).length ? { description } : {}),
          ...(this.#runtime ? { runtime: await this.#runtime.info() } : {}),
        };
      }
      const { servable, skipped, warmupSkipped, warmupMs } = await loadOnnxServable(runtime(), this.#queue, spec);
      this.#host(spec.key, servable);
      if (warmupSkipped) console.warn(`[browserving] ${warmupSkipped}`);
      return { apis: servable.apis, signature: servable.signature, provider: servable.provider, skipped, warmupMs, runtime: await runtime().info(), ...(warmupSkipped ? { warmupSkipped } : {}) };
    } finally {
      // A runtime that cannot start stays broken in this worker: let the main thread replace it.
      if (this.#runtime?.broken && this.#hosted.size === 0) queueMicrotask(() => this.exit('onnxruntime-web could not start in this runner'));
    }
  }

  #host(key: string, servable: HostedServable): void {
    const validate = servable.signature ? planPredictValidation(servable.id, servable.signature) : () => undefined;
    this.#hosted.set(key, { servable, validate, inflight: 0, draining: false });
  }

  #createRuntime(wasm: RunnerLoadSpec['wasm']): OrtRuntime {
    const runtime = new OrtRuntime(this.#scope.ort, wasm);
    runtime.onDeviceLost = (reason) => this.exit(reason);
    return runtime;
  }

  async #unload(key: string): Promise<void> {
    const hosted = this.#hosted.get(key);
    if (!hosted) return;
    hosted.draining = true;
    if (hosted.inflight > 0) await new Promise<void>((resolve) => (hosted.drained = resolve));
    this.#hosted.delete(key);
    await hosted.servable.release();
    // Hosting nothing, this runner is about to be retired: runners calling it learn it after its last reply.
    if (this.#hosted.size === 0) this.#peers.bye();
  }

  #answer(id: number, work: Promise<unknown>): void {
    work.then(
      (value) => this.#scope.post({ k: 'ok', id, value }, []),
      (error: unknown) => this.#scope.post({ k: 'err', id, error: ServingError.from(error).toJSON() }, []),
    );
  }

  /** Says why, then ends the worker; the main thread sees it go and replaces it. */
  exit(reason: string): void {
    if (this.#exiting) return;
    this.#exiting = true;
    this.#scope.post({ k: 'exit', reason }, []);
    this.#scope.close();
  }

  #fault(fault: RunnerFault, ms = 10_000): void {
    switch (fault) {
      case 'close':
        this.#scope.close();
        return;
      case 'abort':
        // What a WASM abort looks like from outside: an uncaught RuntimeError, then the runner exits.
        this.exit('onnxruntime-web aborted (injected fault)');
        return;
      case 'device-destroy':
        this.#runtime?.device?.destroy();
        return;
      case 'hang': {
        const until = performance.now() + ms;
        while (performance.now() < until) {
          // A run that does not return: the thread is busy, no message gets in.
        }
        return;
      }
    }
  }
}

/** The buffers of whatever the caller sent as inputs (not validated yet), to hand them back. */
function safeTransferables(inputs: unknown): Transferable[] {
  try {
    return transferablesOf(Object.values(inputs as Record<string, never>));
  } catch {
    return [];
  }
}
