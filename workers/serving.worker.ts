/**
 * Entry point of the control worker: config, sources, the manager, labels and the artifact
 * store, exposed over Comlink. It runs no model and does not load onnxruntime-web: versions run
 * in runner workers (workers/runner.worker.ts) that the main thread spawns when this one asks.
 */
import { expose } from 'comlink';
import { holdLifeLock } from '../src/core/life-lock.js';
import { CLASSIC_WORKER, isClassicWorker } from '../src/runner/start-runner.js';
import { createWorkerApi } from '../src/control/worker-api.js';
import { installErrorTransferHandler } from '../src/wire-errors.js';

const scope = self as unknown as { name: string; importScripts?: () => void; postMessage(message: unknown): void };
if (isClassicWorker(scope)) {
  // Bundled as a classic (iife) worker, this runtime cannot start: say why at once instead of hanging.
  scope.postMessage({ browservingFatal: CLASSIC_WORKER });
} else {
  installErrorTransferHandler();
  // The main thread watches this lock to see the worker die (src/core/life-lock.ts); start() waits until it is held.
  expose(createWorkerApi(holdLifeLock(scope.name)));
}
