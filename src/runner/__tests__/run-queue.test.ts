import { describe, expect, it } from 'vitest';
import { ServingError } from '../../core/serving-error.js';
import { RunQueue } from '../run-queue.js';

/** A promise with its resolve function, to finish a task when the test says so. */
function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 10));

describe('RunQueue', () => {
  it('runs tasks one at a time, in the order they were enqueued', async () => {
    const queue = new RunQueue();
    const log: string[] = [];
    let running = 0;
    let maxRunning = 0;
    const gates = [deferred(), deferred(), deferred()];
    const results = gates.map((gate, i) =>
      queue.enqueue(async () => {
        running += 1;
        maxRunning = Math.max(maxRunning, running);
        log.push(`start ${i}`);
        await gate.promise;
        log.push(`end ${i}`);
        running -= 1;
        return i;
      }),
    );
    await tick();
    expect(log).toEqual(['start 0']);
    expect(queue.waiting).toBe(2);
    // Finishing a later task first must not let it start early.
    gates[2]!.resolve();
    gates[1]!.resolve();
    await tick();
    expect(log).toEqual(['start 0']);
    gates[0]!.resolve();
    await expect(Promise.all(results)).resolves.toEqual([0, 1, 2]);
    expect(log).toEqual(['start 0', 'end 0', 'start 1', 'end 1', 'start 2', 'end 2']);
    expect(maxRunning).toBe(1);
    expect(queue.waiting).toBe(0);
  });

  it('a failing task rejects on its own and the queue goes on', async () => {
    const queue = new RunQueue();
    const failing = queue.enqueue(async () => {
      throw new ServingError('INTERNAL', 'session run failed');
    });
    const next = queue.enqueue(async () => 'ok');
    await expect(failing).rejects.toMatchObject({ code: 'INTERNAL' });
    await expect(next).resolves.toBe('ok');
  });

  it('aborting a queued task rejects it with CANCELLED at once, never runs it, and runs the tasks after it', async () => {
    const queue = new RunQueue();
    const first = deferred();
    const log: string[] = [];
    const running = queue.enqueue(async () => {
      log.push('first');
      await first.promise;
    });
    const controller = new AbortController();
    const cancelled = queue.enqueue(async () => {
      log.push('cancelled');
    }, controller.signal);
    const third = queue.enqueue(async () => {
      log.push('third');
      return 3;
    });
    await tick();
    controller.abort(new ServingError('CANCELLED', 'the request was cancelled by the caller'));
    // It leaves the queue without waiting for the task in front of it to finish.
    await expect(cancelled).rejects.toMatchObject({ name: 'ServingError', code: 'CANCELLED' });
    expect(log).toEqual(['first']);
    first.resolve();
    await running;
    await expect(third).resolves.toBe(3);
    expect(log).toEqual(['first', 'third']);
  });

  it('an abort without a reason rejects with the AbortError, which ServingError maps to CANCELLED', async () => {
    const queue = new RunQueue();
    const gate = deferred();
    void queue.enqueue(() => gate.promise);
    const controller = new AbortController();
    const queued = queue.enqueue(async () => 'ran', controller.signal);
    controller.abort();
    const reason = await queued.then(
      () => undefined,
      (error: unknown) => error,
    );
    expect((reason as Error).name).toBe('AbortError');
    expect(ServingError.from(reason).code).toBe('CANCELLED');
    gate.resolve();
  });

  it('a signal already aborted rejects (does not throw synchronously) and runs nothing', async () => {
    const queue = new RunQueue();
    let ran = false;
    const controller = new AbortController();
    controller.abort(new ServingError('CANCELLED', 'cancelled before it was sent'));
    let result: Promise<unknown> | undefined;
    expect(() => {
      result = queue.enqueue(async () => {
        ran = true;
      }, controller.signal);
    }).not.toThrow();
    await expect(result).rejects.toMatchObject({ code: 'CANCELLED' });
    await expect(queue.enqueue(async () => 'after')).resolves.toBe('after');
    expect(ran).toBe(false);
  });

  it('a task that has started finishes even if its signal aborts (a run cannot be stopped midway)', async () => {
    const queue = new RunQueue();
    const gate = deferred();
    const controller = new AbortController();
    const result = queue.enqueue(async () => {
      await gate.promise;
      return 'finished';
    }, controller.signal);
    await tick();
    controller.abort(new ServingError('CANCELLED', 'too late'));
    gate.resolve();
    await expect(result).resolves.toBe('finished');
  });

  it('yields to the event loop after a long run, so a message that arrives while a task computes synchronously can still cancel the next one', async () => {
    const queue = new RunQueue();
    const busyFor = (ms: number) => {
      const end = performance.now() + ms;
      while (performance.now() < end) {
        // a WASM run: synchronous compute on this thread
      }
    };
    const controller = new AbortController();
    const ran: string[] = [];
    // Like the worker's cancel message: posted while the first task computes.
    const cancel = new MessageChannel();
    cancel.port1.onmessage = () => {
      controller.abort(new ServingError('DEADLINE_EXCEEDED', 'deadline'));
      cancel.port1.close();
    };
    const first = queue.enqueue(async () => {
      cancel.port2.postMessage(null);
      busyFor(30);
      ran.push('first');
    });
    const second = queue.enqueue(async () => {
      ran.push('second');
    }, controller.signal);
    await first;
    await expect(second).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    expect(ran).toEqual(['first']);
  });
});
