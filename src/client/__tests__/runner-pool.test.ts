import { describe, expect, it } from 'vitest';
import { ServingError } from '../../core/serving-error.js';
import type { RunnerLoadSpec } from '../../protocol/runner.js';
import { CLASSIC_WORKER, isClassicWorker } from '../../runner/start-runner.js';
import { RunnerPool } from '../runner-pool.js';

/** A worker whose script says `message` on start. */
class SayingWorker extends EventTarget {
  terminated = false;
  constructor(message: unknown) {
    super();
    queueMicrotask(() => this.dispatchEvent(new MessageEvent('message', { data: message })));
  }
  postMessage(): void {}
  terminate(): void {
    this.terminated = true;
  }
}

const spec = (providers: RunnerLoadSpec['providers']): RunnerLoadSpec => ({ key: '"m"@1', model: 'm', version: 1, platform: 'onnx', files: [{ path: 'model.onnx', data: new Uint8Array(4) }], externalData: [], providers, warmupRuns: 0, wasm: {} });

describe('RunnerPool', () => {
  it('a runner that cannot work (fatal instead of up) fails the load with FAILED_PRECONDITION and its reason, and is terminated', async () => {
    const workers: SayingWorker[] = [];
    const pool = new RunnerPool({ spawn: () => (workers.push(new SayingWorker({ k: 'fatal', reason: CLASSIC_WORKER })), workers.at(-1) as unknown as Worker), onExit: () => undefined });
    const error = await pool.load(spec(['wasm'])).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(ServingError);
    expect(error).toMatchObject({ code: 'FAILED_PRECONDITION', message: expect.stringContaining("worker: { format: 'es' }") });
    expect(workers[0]!.terminated).toBe(true);
    expect(pool.list()).toEqual([]);
  });

  it('spawns the WASM-only runner unless a version may use WebGPU', async () => {
    const variants: string[] = [];
    const pool = new RunnerPool({ spawn: (_name, variant) => (variants.push(variant), new SayingWorker({ k: 'fatal', reason: 'stop here' }) as unknown as Worker), onExit: () => undefined });
    await pool.load(spec(['wasm'])).catch(() => undefined);
    await pool.load(spec(['webgpu', 'wasm'])).catch(() => undefined);
    expect(variants).toEqual(['wasm', 'webgpu']);
  });
});

describe('isClassicWorker', () => {
  it('tells a classic worker (importScripts() accepted) from a module worker (importScripts() throws) and a page', () => {
    expect(isClassicWorker({ importScripts: () => undefined })).toBe(true);
    expect(isClassicWorker({ importScripts: () => { throw new TypeError('Module scripts do not support importScripts().'); } })).toBe(false);
    expect(isClassicWorker({})).toBe(false);
  });
});
