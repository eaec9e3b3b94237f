/**
 * A seeded fuzz of every public method with malformed arguments: each call must return a
 * promise (never throw synchronously) that rejects with a ServingError whose code is not
 * INTERNAL (a caller's mistake is never our fault) — or resolves, where the call happens to be
 * valid. Afterwards the runtime still serves.
 */
import { test, expect, startServing, type Repo } from './fixtures.js';
import { mlpModel } from '../scripts/onnx-models.mjs';

function setUp(repo: Repo) {
  repo.writeFile('mlp', 1, 'model.onnx', mlpModel({ seed: 1 }));
  repo.publish('mlp');
  repo.writeFile('words', 1, 'table.txt', 'a\nb\nc\n');
  repo.publish('words');
  return {
    models: [
      { name: 'mlp', basePath: repo.basePath('mlp') },
      { name: 'words', basePath: repo.basePath('words') },
    ],
    executionProviders: ['wasm' as const],
    pollIntervalMs: 0,
  };
}

test('1200 malformed calls over every public method: promises only, ServingErrors only, never INTERNAL', async ({ harness, repo }) => {
  const config = setUp(repo);
  await startServing(harness, config);
  const report = await harness.evaluate(async (models) => {
    let seed = 20261125;
    const random = () => {
      seed = (seed * 1664525 + 1013904223) >>> 0;
      return seed / 2 ** 32;
    };
    const pick = <T,>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const throwing = (field: string) => Object.defineProperty({}, field, { get: () => { throw new Error(`getter ${field}`); }, enumerable: true });
    const goodX = () => ({ type: 'float32', dims: [1, 16], data: new Float32Array(16) });
    const weird = (): unknown => pick([
      null, undefined, 0, -1, 1.5, NaN, Infinity, 2 ** 31, 2 ** 53 + 2, 7n, '', 'x', '__proto__', 'constructor', [], [1, 2], {}, { length: 3 },
      () => 1, Symbol('s'), new Date(0), new Float32Array(3), new ArrayBuffer(4), new Map(), Object.create(null), throwing('x'),
    ]);
    const tensor = (): unknown => pick([
      weird(), goodX(),
      { type: 'float32', dims: [1, 16n], data: new Float32Array(16) },
      { type: 'float32', dims: [1, 16], data: Array(16).fill(0) },
      { type: 'float32', dims: [1, 16], data: new Float64Array(16) },
      { type: 'int64', dims: [1, 16], data: new BigInt64Array(16) },
      { type: 'float32', dims: [1, 15], data: new Float32Array(16) },
      { type: 'float32', dims: [-1, 16], data: new Float32Array(16) },
      { type: 'float32', dims: 'x', data: new Float32Array(16) },
      { type: 'float32', dims: [1, 16], data: new Float32Array(16), extra: () => 1 },
      { type: 'bogus', dims: [1, 16], data: new Float32Array(16) },
      throwing('data'),
    ]);
    const predictRequest = (): unknown => pick([
      weird(),
      { model: weird(), inputs: { x: goodX() } },
      { model: 'mlp', version: pick([1n, -1, 1.5, '1', null, NaN, 2 ** 60]), inputs: { x: goodX() } },
      { model: 'mlp', label: pick([5, '', null, {}, 1n]), inputs: { x: goodX() } },
      { model: 'mlp', version: 1, label: 'a', inputs: { x: goodX() } },
      { model: 'mlp', inputs: weird() },
      { model: 'mlp', inputs: { x: tensor() } },
      { model: 'mlp', inputs: { x: goodX(), [pick(['y', 'constructor', '__proto__', 'toString'])]: tensor() } },
      { model: 'mlp', inputs: { x: goodX() }, outputs: pick(['y', [1], [], ['nope'], [null], weird()]) },
      { model: 'mlp', inputs: { x: goodX() }, signal: pick([{}, 'abort', 1, { aborted: true }, new EventTarget()]) },
      { model: 'mlp', inputs: { x: goodX() }, timeoutMs: pick([-1, 0, NaN, '5', 5n, -Infinity, {}]) },
      { model: 'mlp', inputs: { x: goodX() }, transferInputs: pick([0, 'no', null]) },
      { model: 'words', inputs: { x: goodX() } },
      { model: 'nope', inputs: { x: goodX() } },
      Object.assign(throwing('inputs'), { model: 'mlp' }),
      throwing('model'),
    ]);
    const calls: [string, () => unknown][] = [
      ['predict', () => window.serving.predict(predictRequest() as never)],
      ['lookup', () => window.serving.lookup(pick([weird(), { model: 'words', keys: weird() }, { model: 'words', keys: [1n] }, { model: 'words', keys: ['a', 1] }, { model: 'mlp', keys: ['a'] }, { model: 'words', keys: ['a'], signal: 'x' }, throwing('keys')]) as never)],
      ['call', () => window.serving.call(pick([weird(), { model: 'words', method: weird() }, { model: 'words', method: 'lookup' }, { model: 'mlp', method: 'encode', args: () => 1 }, { model: 'words', method: 'x', signal: 'x' }, throwing('method')]) as never)],
      ['predictStream', () => window.serving.predictStream(pick([predictRequest(), { model: 'mlp', inputs: { x: goodX() }, highWaterMark: pick([0, -1, 1.5, '2', 2n, 4096]) }]) as never).next()],
      ['status', () => window.serving.status(weird() as never)],
      ['metadata', () => window.serving.metadata(pick([weird(), 'mlp']) as never, pick([weird(), { version: 1n }, { version: 9 }, { label: 3 }, 42]) as never)],
      ['reloadConfig', () => window.serving.reloadConfig(pick([weird(), { models: weird() }, { models: [weird()] }, { models: [{ name: 'mlp', basePath: 7 }] }, { models: [{ name: 1n, basePath: '/x' }] }, { models: [{ name: 'mlp', basePath: '/x', versionLabels: { a: 1n } }] }, { models: [() => 1] }]) as never)],
      ['storage.delete', () => window.serving.storage.delete(weird() as never, pick([weird(), 1n, -1]) as never)],
      ['waitForModels', () => window.serving.waitForModels(pick([-1, NaN, '5', 5n, {}]) as never)],
      ['debug.fault', () => window.serving.debug.fault(pick([weird(), 'nope']) as never, pick(['bogus', 1]) as never)],
    ];
    const tally = { calls: 0, syncThrows: [] as string[], untyped: [] as string[], internal: [] as string[], resolved: {} as Record<string, number> };
    for (let i = 0; i < 1200; i++) {
      const [name, call] = pick(calls);
      tally.calls++;
      let result: unknown;
      try {
        result = call();
      } catch (e) {
        tally.syncThrows.push(`${name}: ${String(e)}`);
        continue;
      }
      if (!(result instanceof Promise)) {
        tally.syncThrows.push(`${name}: returned ${typeof result}`);
        continue;
      }
      try {
        await result;
        tally.resolved[name] = (tally.resolved[name] ?? 0) + 1;
      } catch (e) {
        if (!(e instanceof window.browserving.ServingError)) tally.untyped.push(`${name}: ${String(e)}`);
        else if (e.code === 'INTERNAL') tally.internal.push(`${name}: ${e.message}`);
      }
    }
    // `{ models: [] }` is a valid config the fuzz may have sent: put the models back.
    await window.serving.reloadConfig({ models });
    await window.serving.waitForModels();
    // Values past what a timer holds mean "no deadline": the request is served, not failed at once.
    const far = await Promise.all([2 ** 31, Infinity, 1e300].map((timeoutMs) => window.serving.predict({ model: 'mlp', inputs: { x: goodX() as never }, timeoutMs }).then((r) => r.version, (e) => e.code)));
    const still = await window.serving.predict({ model: 'mlp', inputs: { x: goodX() as never } }).then((r) => r.version, (e) => e.code);
    return { ...tally, far, still };
  }, config.models);
  expect(report.calls).toBe(1200);
  expect(report.syncThrows).toEqual([]);
  expect(report.untyped).toEqual([]);
  expect(report.internal).toEqual([]);
  expect(report.far).toEqual([1, 1, 1]);
  expect(report.still).toBe(1);
});
