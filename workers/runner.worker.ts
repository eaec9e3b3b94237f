/**
 * Entry point of a runner worker: one onnxruntime-web instance and the servables placed on it,
 * spoken to in tagged messages on this worker's own channel (src/protocol/runner.ts).
 *
 * First it takes the Web Lock named after this worker and keeps it until the worker ends, then
 * says `up`: the main thread waits on the same lock, which is granted the moment this worker is
 * gone, however it went (terminated, crashed, out of memory, closed).
 */
import type { ToRunner } from '../src/protocol/runner.js';
import { holdLifeLock } from '../src/core/life-lock.js';
import { RunnerServer } from '../src/runner/runner-server.js';

interface WorkerScope {
  readonly name: string;
  readonly navigator: Navigator;
  onmessage: ((event: MessageEvent<ToRunner>) => void) | null;
  postMessage(message: unknown, transfer: Transferable[]): void;
  close(): void;
  addEventListener(type: 'error' | 'unhandledrejection', listener: (event: Event & { error?: unknown; reason?: unknown }) => void): void;
}

const scope = self as unknown as WorkerScope;
const server = new RunnerServer({
  post: (message, transfer) => scope.postMessage(message, transfer),
  close: () => scope.close(),
});
scope.onmessage = (event) => server.handle(event.data);
// A WASM abort outside a request (inside ORT's own promises) leaves the instance unusable too.
const fatal = (error: unknown) => {
  if (error instanceof WebAssembly.RuntimeError) server.exit(`onnxruntime-web aborted (${error.message})`);
};
scope.addEventListener('error', (event) => fatal(event.error));
scope.addEventListener('unhandledrejection', (event) => fatal(event.reason));

void holdLifeLock(scope.name).then(() => scope.postMessage({ k: 'up' }, []));
