/**
 * InProcessServing: the whole serving runtime in one Node process, for tests — the control
 * server (ServingServer), the DataPlane with its RunnerPool, and runners (RunnerServer) behind
 * in-process "workers" that talk over real MessageChannels, with structured clone and transfers,
 * as Chromium's workers do. It answers the same calls as the page's `Serving`.
 */
import { checkCallRequest, checkPredictRequest, checkStreamRequest } from '../client/check-request.js';
import { DataPlane } from '../client/data-plane.js';
import type { CallRequest, CallResponse, PredictRequest, PredictStreamRequest } from '../client/serving-client.js';
import { ServingError } from '../core/serving-error.js';
import type { LookupRequestWire, LookupResponse, MetricsSnapshot, PredictResponse, ServerConfig } from '../protocol.js';
import type { FromRunner, ToRunner } from '../protocol/runner.js';
import * as ort from 'onnxruntime-web';
import { RunnerServer } from '../runner/runner-server.js';
import { ServingServer, type ServingServerDependencies } from '../control/serving-server.js';

/** A runner "worker" in this process: a RunnerServer on the far side of a MessageChannel. */
export class InProcessRunner extends EventTarget {
  readonly #port: MessagePort;
  readonly #far: MessagePort;
  /** As on a Worker: called for every message, besides the listeners. */
  onmessage: ((event: MessageEvent) => void) | null = null;

  constructor(readonly name: string) {
    super();
    const { port1, port2 } = new MessageChannel();
    this.#port = port1;
    this.#far = port2;
    const server = new RunnerServer({ ort, post: (message, transfer) => port2.postMessage(message, transfer), close: () => this.terminate() });
    port2.onmessage = (event: MessageEvent<ToRunner>) => server.handle(event.data);
    port1.onmessage = (event: MessageEvent<FromRunner>) => {
      const message = new MessageEvent('message', { data: event.data });
      this.dispatchEvent(message);
      this.onmessage?.(message);
    };
    queueMicrotask(() => port2.postMessage({ k: 'up' }));
  }

  postMessage(message: unknown, transfer: Transferable[] = []): void {
    this.#port.postMessage(message, transfer);
  }

  terminate(): void {
    this.#port.close();
    this.#far.close();
  }
}

export class InProcessServing {
  readonly runners: InProcessRunner[] = [];
  readonly data: DataPlane;
  #server: ServingServer | undefined;

  private constructor() {
    this.data = new DataPlane({
      spawnRunner: (name) => {
        // One onnxruntime-web for every variant here: Node has its own build.
        const runner = new InProcessRunner(name);
        this.runners.push(runner);
        return runner as unknown as Worker;
      },
      route: (selector) => this.server.route(selector),
      onRunnerExit: (runner, reason) => this.server.runnerExited(runner, reason),
    });
  }

  static async create(config: ServerConfig, deps: Omit<ServingServerDependencies, 'host'> = {}): Promise<InProcessServing> {
    const serving = new InProcessServing();
    serving.#server = await ServingServer.create(config, { ...deps, host: serving.data.host });
    return serving;
  }

  get server(): ServingServer {
    if (!this.#server) throw new ServingError('FAILED_PRECONDITION', 'not started');
    return this.#server;
  }

  predict(request: PredictRequest): Promise<PredictResponse> {
    try {
      // Tests compare outputs with the inputs they sent: keep them, as the old in-worker server did.
      return this.data.predict(checkPredictRequest({ transferInputs: false, ...request }));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async lookup(request: LookupRequestWire): Promise<LookupResponse> {
    const { version, value } = await this.data.call(checkCallRequest(request, 'lookup'));
    return { model: request.model, version, values: value as LookupResponse['values'] };
  }

  async call(request: CallRequest): Promise<CallResponse> {
    const { version, value } = await this.data.call(checkCallRequest(request, 'call'));
    return { model: request.model, version, value };
  }

  predictStream(request: PredictStreamRequest): AsyncGenerator<PredictResponse, void, undefined> {
    return this.data.stream(checkStreamRequest({ transferInputs: false, ...request }));
  }

  status(model: string) {
    return this.server.status(model);
  }

  metadata(selector: Parameters<ServingServer['metadata']>[0]) {
    return this.server.metadata(selector);
  }

  reloadConfig(config: Parameters<ServingServer['reloadConfig']>[0]) {
    return this.server.reloadConfig(config);
  }

  waitForModels(timeoutMs?: number) {
    return this.server.waitForModels(timeoutMs);
  }

  pollNow() {
    return this.server.pollNow();
  }

  subscribe(listener: Parameters<ServingServer['subscribe']>[0]) {
    return this.server.subscribe(listener);
  }

  get storage() {
    return this.server.storage;
  }

  async metrics(): Promise<MetricsSnapshot> {
    return { models: this.data.metrics.snapshot(this.data.models), runtime: this.server.runtime() };
  }

  async close(): Promise<void> {
    await this.#server?.close();
    this.data.close(new ServingError('CANCELLED', 'closed'));
  }
}
