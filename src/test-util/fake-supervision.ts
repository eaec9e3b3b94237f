/** For tests: the control worker's runner supervision with a host whose `load` the test gives (placing on runner-1 by default); everything else does nothing. */
import type { RunnerSupervision } from '../loaders/runner-loader.js';
import type { RunnerLoadSpec } from '../protocol/runner.js';

export function fakeSupervision(load: (spec: RunnerLoadSpec, group?: string) => Promise<{ runner: string }> | { runner: string } = () => ({ runner: 'runner-1' })): RunnerSupervision {
  return {
    host: {
      load: async (spec: RunnerLoadSpec, group?: string) => ({ apis: ['predict'], skipped: [], warmupMs: 0, ...(await load(spec, group)) }),
      unload: async () => {},
      routes: () => {},
    },
    attach: () => {},
    detach: () => {},
    routesChanged: () => {},
    event: () => {},
    loaded: () => {},
    runtime: () => {},
    maxRestarts: 0,
    restartBackoffMs: 0,
    wasm: {},
  } as unknown as RunnerSupervision;
}
