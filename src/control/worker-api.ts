/**
 * The control worker's API, as exposed over Comlink: a thin layer over ServingServer that
 * tracks lookups by id so the main thread can cancel them. Predictions do not pass here: they go
 * from the main thread straight to runner workers; this worker only says where (`route`).
 */
import { ServingError } from '../core/serving-error.js';
import type { RunnerHost, ServerConfig, ServingEvent, WorkerApi } from '../protocol.js';
import { ServingServer } from './serving-server.js';

export function createWorkerApi(lifeLockHeld: Promise<void> = Promise.resolve()): WorkerApi {
  let server: ServingServer | undefined;

  const running = (): ServingServer => {
    if (!server) throw new ServingError('FAILED_PRECONDITION', 'the serving worker has not been started, or has been closed');
    return server;
  };

  return {
    async start(config: ServerConfig, events: (event: ServingEvent) => void, host: RunnerHost) {
      if (server) throw new ServingError('FAILED_PRECONDITION', 'the serving worker is already started');
      await lifeLockHeld;
      server = await ServingServer.create(config, {
        host,
        onEvent: (event) => void Promise.resolve(events(event)).catch(() => undefined),
      });
      return server.runtime();
    },
    waitForModels: (timeoutMs) => running().waitForModels(timeoutMs),
    route: (selector) => running().route(selector),
    runnerExited: (runner, reason) => running().runnerExited(runner, reason),
    status: (model) => running().status(model),
    metadata: (selector) => running().metadata(selector),
    reloadConfig: (config) => running().reloadConfig(config),
    poll: () => running().pollNow(),
    runtime: () => running().runtime(),
    prometheusSamples: () => running().prometheusSamples(),
    storageList: () => running().storage.list(),
    storageDelete: (model, version) => running().storage.delete(model, version),
    storageUsage: () => running().storage.usage(),
    async close() {
      const closing = server;
      server = undefined;
      await closing?.close();
    },
  };
}
