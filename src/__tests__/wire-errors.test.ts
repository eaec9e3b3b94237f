/**
 * ServingError across a real Comlink boundary: both ends run in this test, connected by a
 * MessageChannel (Node's, from worker_threads — the global one in Node), so every call and every
 * error goes through structured cloning exactly as between the page and the serving worker.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { expose, proxy, releaseProxy, wrap, type Remote } from 'comlink';
import { ServingError, type ServingErrorJSON } from '../core/serving-error.js';
import type { RunnerHost, ServingEvent, WorkerApi } from '../protocol.js';
import { createWorkerApi } from '../control/worker-api.js';
import { FakeRepository } from '../test-util/fake-repository.js';
import { installErrorTransferHandler } from '../wire-errors.js';

const cleanups: (() => void)[] = [];

afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
  vi.unstubAllGlobals();
});

/** Exposes `api` on one port of a fresh channel and returns the Comlink proxy on the other. */
function connect<T extends object>(api: T): Remote<T> {
  const { port1, port2 } = new MessageChannel();
  expose(api, port1);
  const remote = wrap<T>(port2);
  cleanups.push(() => {
    remote[releaseProxy]();
    port1.close();
    port2.close();
  });
  return remote;
}

const fullError = () =>
  new ServingError('INVALID_ARGUMENT', 'model "vad" version 2: input "audio" has type float64, expected float32', {
    model: 'vad',
    version: 2,
    label: 'stable',
    input: 'audio',
    output: 'probability',
    data: { expectedBytes: 16, exact: true, note: null },
  });

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('the call resolved');
    },
    (error: unknown) => error,
  );
}

describe('ServingError over Comlink', () => {
  // Runs first, before the handler is installed (installation is global and permanent): shows the
  // channel really serializes, so the assertions below are about the handler, not about sharing objects.
  it('without the handler, Comlink drops code and details (why the handler exists)', async () => {
    const remote = connect({
      fail(): void {
        throw fullError();
      },
    });
    const error = (await rejectionOf(remote.fail())) as Error & Partial<ServingError>;
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(ServingError);
    expect(error.message).toContain('input "audio"');
    expect(error.code).toBeUndefined();
    expect(error.model).toBeUndefined();
  });

  it('after installErrorTransferHandler(), arrives as a ServingError with code, message and every detail', async () => {
    installErrorTransferHandler();
    installErrorTransferHandler();
    const thrown = fullError();
    const remote = connect({
      fail(): void {
        throw thrown;
      },
      async failLater(): Promise<void> {
        await Promise.resolve();
        throw new ServingError('DATA_LOSS', 'model "vad" version 3 file "model.onnx": SHA-256 mismatch', { model: 'vad', version: 3 });
      },
    });
    const error = (await rejectionOf(remote.fail())) as ServingError;
    expect(error).not.toBe(thrown);
    expect(error).toBeInstanceOf(ServingError);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('ServingError');
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toBe(thrown.message);
    expect({ model: error.model, version: error.version, label: error.label, input: error.input, output: error.output, data: error.data }).toEqual({
      model: 'vad',
      version: 2,
      label: 'stable',
      input: 'audio',
      output: 'probability',
      data: { expectedBytes: 16, exact: true, note: null },
    });
    expect(error.stack).toBe(thrown.stack);

    const later = (await rejectionOf(remote.failLater())) as ServingError;
    expect(later).toBeInstanceOf(ServingError);
    expect(later).toMatchObject({ code: 'DATA_LOSS', model: 'vad', version: 3 });
    expect(later.input).toBeUndefined();
  });

  it('rebuilds a ServingError thrown in its JSON form (e.g. from another realm)', async () => {
    installErrorTransferHandler();
    const json: ServingErrorJSON = { name: 'ServingError', code: 'NOT_FOUND', message: 'model "x" is not configured', model: 'x' };
    const remote = connect({
      fail(): void {
        throw json;
      },
    });
    const error = await rejectionOf(remote.fail());
    expect(error).toBeInstanceOf(ServingError);
    expect(error).toMatchObject({ code: 'NOT_FOUND', model: 'x', message: 'model "x" is not configured' });
  });

  it('leaves other errors and thrown values as Comlink sends them', async () => {
    installErrorTransferHandler();
    const remote = connect({
      failWithTypeError(): void {
        throw new TypeError('not a function');
      },
      failWithString(): void {
        throw 'plain string';
      },
      failWithLookalike(): void {
        throw Object.assign(new Error('bogus'), { name: 'ServingError', code: 'NOT_A_CODE' });
      },
    });
    const typeError = (await rejectionOf(remote.failWithTypeError())) as Error;
    expect(typeError).not.toBeInstanceOf(ServingError);
    expect(typeError).toBeInstanceOf(Error);
    expect(typeError.message).toBe('not a function');
    expect(await rejectionOf(remote.failWithString())).toBe('plain string');
    expect(await rejectionOf(remote.failWithLookalike())).not.toBeInstanceOf(ServingError);
  });

  it('also crosses the other way: a main-thread callback that throws rejects the worker with a ServingError', async () => {
    installErrorTransferHandler();
    const remote = connect({
      async callBack(callback: () => void): Promise<unknown> {
        try {
          await callback();
          return 'no error';
        } catch (error) {
          return { isServingError: error instanceof ServingError, code: (error as ServingError).code, model: (error as ServingError).model };
        }
      },
    });
    const outcome = await remote.callBack(
      proxy(() => {
        throw new ServingError('CANCELLED', 'listener gone', { model: 'vad' });
      }),
    );
    expect(outcome).toEqual({ isServingError: true, code: 'CANCELLED', model: 'vad' });
  });

  it('the worker API rejects requests with structured ServingErrors (model, version, input) on the main thread', async () => {
    installErrorTransferHandler();
    const repo = new FakeRepository();
    await repo.publish('labels', 1, { 'table.txt': 'cat\ndog\n' });
    vi.stubGlobal('fetch', repo.fetch);
    const api = connect<WorkerApi>(createWorkerApi());
    const events: ServingEvent[] = [];
    await api.start({ pollIntervalMs: 0, models: [{ name: 'labels', basePath: repo.basePath('labels') }] }, proxy((event: ServingEvent) => void events.push(event)), proxy(tablesOnlyHost));
    await api.waitForModels(5000);
    try {
      await expect(api.metadata({ model: 'labels' })).resolves.toMatchObject({ version: 1, platform: 'table', apis: ['lookup'] });

      const noVersion = await rejectionOf(api.route({ model: 'labels', version: 7 }));
      expect(noVersion).toBeInstanceOf(ServingError);
      expect(noVersion).toMatchObject({ code: 'NOT_FOUND', model: 'labels', version: 7 });

      const unknownModel = await rejectionOf(api.status('nope') as Promise<unknown>);
      expect(unknownModel).toBeInstanceOf(ServingError);
      expect(unknownModel).toMatchObject({ code: 'NOT_FOUND', model: 'nope' });

      const startedTwice = await rejectionOf(api.start({ models: [] }, proxy(() => undefined), proxy(tablesOnlyHost)));
      expect(startedTwice).toMatchObject({ code: 'FAILED_PRECONDITION' });
      expect(events.some((e) => e.type === 'servable-state' && e.state.state === 'AVAILABLE')).toBe(true);
    } finally {
      await api.close();
    }
  });
});

/** A runner host that places every version on a pretend runner answering `lookup`. */
const tablesOnlyHost: RunnerHost = {
  load: async () => ({ runner: 'r1', apis: ['lookup'], skipped: [], warmupMs: 0 }),
  unload: async () => undefined,
  routes: () => undefined,
};
