/**
 * What a runner worker's entry point does, whichever onnxruntime-web build it imported: takes the
 * Web Lock named after the worker for its whole life, then says `up` (src/core/life-lock.ts), and
 * hands every message to a RunnerServer. A WASM abort outside a request ends the runner too.
 *
 * A runner bundled as a classic (iife) worker cannot work — ORT's pthread workers would load the
 * whole runner script — so it says so at once, with the fix, instead of hanging.
 */
import { holdLifeLock } from '../core/life-lock.js';
import type { ToRunner } from '../protocol/runner.js';
import type { OrtModule } from './ort-runtime.js';
import { RunnerServer } from './runner-server.js';

interface WorkerScope {
  readonly name: string;
  onmessage: ((event: MessageEvent<ToRunner>) => void) | null;
  postMessage(message: unknown, transfer: Transferable[]): void;
  close(): void;
  importScripts?: (...urls: string[]) => void;
  addEventListener(type: 'error' | 'unhandledrejection', listener: (event: Event & { error?: unknown; reason?: unknown }) => void): void;
}

export function startRunner(ort: OrtModule): void {
  const scope = self as unknown as WorkerScope;
  // A consumer's bundler may put ORT and this runner into one file; ORT's threaded WASM then starts
  // its pthread workers (named 'em-pthread') from it. ORT's own code has already taken over such a
  // worker when it was imported: the runner must stay out of its way.
  if (scope.name === 'em-pthread') return;
  if (isClassicWorker(scope)) {
    scope.postMessage({ k: 'fatal', reason: CLASSIC_WORKER }, []);
    return;
  }
  const server = new RunnerServer({
    ort,
    post: (message, transfer) => scope.postMessage(message, transfer),
    close: () => scope.close(),
  });
  scope.onmessage = (event) => server.handle(event.data);
  const fatal = (error: unknown) => {
    if (error instanceof WebAssembly.RuntimeError) server.exit(`onnxruntime-web aborted (${error.message})`);
  };
  scope.addEventListener('error', (event) => fatal(event.error));
  scope.addEventListener('unhandledrejection', (event) => fatal(event.reason));
  void holdLifeLock(scope.name).then(() => scope.postMessage({ k: 'up' }, []));
}

export const CLASSIC_WORKER =
  "browserving's worker scripts were bundled as classic (iife) workers; they must stay ES modules. With Vite set worker: { format: 'es' } in vite.config; with webpack keep new Worker(new URL(...), { type: 'module' }) as the library writes it (README, \"Install\").";

/** A module worker refuses importScripts(); a classic one accepts an empty call. */
export function isClassicWorker(scope: { importScripts?: (...urls: string[]) => void }): boolean {
  if (typeof scope.importScripts !== 'function') return false;
  try {
    scope.importScripts();
    return true;
  } catch {
    return false;
  }
}
