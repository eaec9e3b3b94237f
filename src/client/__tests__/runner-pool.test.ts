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
    const pool = new RunnerPool({ spawn: (_name, variant) => (variants.push(variant), new SayingWorker({ k: 'fatal', reason: 'stop here' }) as unknown as Worker), onExit: () => undefined, webgpuUnavailable: async () => undefined });
    await pool.load(spec(['wasm'])).catch(() => undefined);
    await pool.load(spec(['webgpu', 'wasm'])).catch(() => undefined);
    expect(variants).toEqual(['wasm', 'webgpu']);
  });
});

/** A runner that starts, loads whatever it is sent (recording the specs), and answers as a WASM session would. */
class LoadingWorker extends EventTarget {
  readonly loads: RunnerLoadSpec[] = [];
  onmessage: ((event: MessageEvent) => void) | null = null;
  constructor() {
    super();
    this.#say({ k: 'up' });
  }
  /** As a Worker delivers a message: to the listeners and to `onmessage`. */
  #say(data: unknown): void {
    queueMicrotask(() => {
      const event = new MessageEvent('message', { data });
      this.dispatchEvent(event);
      this.onmessage?.(event);
    });
  }
  postMessage(message: { k: string; id: number; spec: RunnerLoadSpec }): void {
    if (message.k !== 'load') return;
    this.loads.push(message.spec);
    const value = { apis: ['predict'], provider: message.spec.providers[0], skipped: [] };
    this.#say({ k: 'ok', id: message.id, value });
  }
  terminate(): void {}
}

describe('RunnerPool and WebGPU', () => {
  it('without a WebGPU adapter in the page, a version that may fall back gets the WASM-only runner and WASM alone, and says why WebGPU was skipped', async () => {
    const workers: { variant: string; worker: LoadingWorker }[] = [];
    const pool = new RunnerPool({
      spawn: (_name, variant) => (workers.push({ variant, worker: new LoadingWorker() }), workers.at(-1)!.worker as unknown as Worker),
      onExit: () => undefined,
      webgpuUnavailable: async () => 'no WebGPU adapter is available',
    });
    const placed = await pool.load(spec(['webgpu', 'wasm']));
    expect(workers.map((w) => w.variant)).toEqual(['wasm']);
    expect(workers[0]!.worker.loads.map((l) => l.providers)).toEqual([['wasm']]);
    expect(placed).toMatchObject({ provider: 'wasm', skipped: ['webgpu: no WebGPU adapter is available'] });
    // WebGPU alone is left to the runner, which fails it with every reason.
    await pool.load({ ...spec(['webgpu']), key: '"m"@2', version: 2 });
    expect(workers.at(-1)!.variant).toBe('webgpu');
    expect(workers.at(-1)!.worker.loads[0]!.providers).toEqual(['webgpu']);
  });

  it('with an adapter, the WebGPU build and the providers as configured', async () => {
    const workers: { variant: string; worker: LoadingWorker }[] = [];
    const pool = new RunnerPool({ spawn: (_name, variant) => (workers.push({ variant, worker: new LoadingWorker() }), workers.at(-1)!.worker as unknown as Worker), onExit: () => undefined, webgpuUnavailable: async () => undefined });
    expect(await pool.load(spec(['webgpu', 'wasm']))).toMatchObject({ provider: 'webgpu', skipped: [] });
    expect(workers.map((w) => w.variant)).toEqual(['webgpu']);
  });
});

describe('isClassicWorker', () => {
  it('tells a classic worker (importScripts() accepted) from a module worker (importScripts() throws) and a page', () => {
    expect(isClassicWorker({ importScripts: () => undefined })).toBe(true);
    expect(isClassicWorker({ importScripts: () => { throw new TypeError('Module scripts do not support importScripts().'); } })).toBe(false);
    expect(isClassicWorker({})).toBe(false);
  });
});
