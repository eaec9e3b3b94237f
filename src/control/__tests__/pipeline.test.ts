/**
 * The built-in `pipeline` platform end to end in Node: InProcessServing (control server, data
 * plane, runners over real MessageChannels), a text classifier made of a tokenizer platform (a
 * side file), an ONNX model and a label table, with the pipeline's runner calling theirs directly.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ModelConfig, ServerConfig, TensorData } from '../../protocol.js';
import { FakeRepository } from '../../test-util/fake-repository.js';
import { InProcessServing } from '../../test-util/in-process-serving.js';
import { rejectionOf } from '../../test-util/rejection.js';
import { loadOnnxModels } from '../../test-util/onnx-models.js';

const onnx = await loadOnnxModels();
const tokenizer = new URL('../../../e2e/pages/platforms/tokenizer-platform.js', import.meta.url).href;
const { words: WORDS, labels: LABELS, model: BOW, pipeline: CLASSIFIER } = onnx.TEXT_CLASSIFIER;

const text = (value: string): Record<string, TensorData> => ({ text: { type: 'string', data: [value], dims: [1] } });
const idsOf = (value: string) => value.split(/\s+/).map((w) => WORDS.indexOf(w.toLowerCase()));


describe('pipeline platform', () => {
  let repo: FakeRepository;
  let server: InProcessServing | undefined;

  beforeEach(async () => {
    repo = new FakeRepository();
    await repo.publish('tok', 1, { 'vocab.json': JSON.stringify(WORDS) }, 'tokenizer');
    await repo.publish('cls', 1, { 'model.onnx': onnx.bagOfWordsModel(BOW(7)) });
    await repo.publish('labels', 1, { 'table.json': JSON.stringify(LABELS) });
    await repo.publish('textcls', 1, { 'pipeline.json': JSON.stringify(CLASSIFIER) });
  });

  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const model = (name: string, extra: Partial<ModelConfig> = {}): ModelConfig => ({ name, basePath: repo.basePath(name), ...extra });

  async function start(config: Partial<ServerConfig> = {}): Promise<InProcessServing> {
    server = await InProcessServing.create(
      {
        pollIntervalMs: 0,
        executionProviders: ['wasm'],
        wasm: { numThreads: 1 },
        maxLoadRetries: 0,
        platforms: { tokenizer },
        models: [model('tok', { platformConfig: { lowercase: true } }), model('cls'), model('labels'), model('textcls')],
        ...config,
      },
      { fetch: repo.fetch },
    );
    await server.waitForModels(20_000);
    return server;
  }

  it('one predict runs tokenizer → ONNX model → label table, runner to runner; metadata describes the composite and its parts', async () => {
    const s = await start();
    for (const sentence of ['good movie great acting', 'bad plot dull ending', 'Movie Plot']) {
      const expected = onnx.bagOfWordsReference(idsOf(sentence), BOW(7));
      const { version, outputs } = await s.predict({ model: 'textcls', inputs: text(sentence) });
      expect(version).toBe(1);
      expect(outputs.label).toEqual({ type: 'string', data: [LABELS[expected.labelId]], dims: [1] });
      expect(Array.from(outputs.scores!.data as Float32Array)).toEqual(Array.from(expected.scores));
    }
    // Only what the requested outputs need runs: scores come without the table step.
    const scoresOnly = await s.predict({ model: 'textcls', inputs: text('good'), outputs: ['scores'] });
    expect(Object.keys(scoresOnly.outputs)).toEqual(['scores']);

    const metadata = s.metadata({ model: 'textcls' });
    expect(metadata).toMatchObject({ platform: 'pipeline', apis: ['predict'], description: { steps: 'tokenize → classify → names', outputs: 'label, scores', 'step.tokenize': '("tok", predict)', 'step.classify': '("cls", predict)', 'step.names': '("labels", lookup)' } });
    expect(metadata.signature?.inputs).toEqual([{ name: 'text', type: 'string', shape: [1] }]);
    // The pipeline runs in a runner of its own, without ORT.
    const runners = s.data.runners();
    expect(runners.find((r) => r.servables.includes('"textcls"@1'))).toMatchObject({ variant: 'wasm', servables: ['"textcls"@1'] });
  });

  it('wrong inputs and broken steps get typed errors naming the pipeline, the step and its servable', async () => {
    await repo.publish('broken', 1, {
      'pipeline.json': JSON.stringify({
        steps: [
          { name: 'first', model: 'cls', predict: { ids: 'inputs.ids' } },
          { name: 'ghost', model: 'nosuch', predict: { x: 'first.scores' } },
        ],
        outputs: { scores: 'first.scores', ghost: 'ghost.y', missing: 'first.nothing' },
      }),
    });
    await repo.publish('slow', 1, { 'model.onnx': onnx.slowModel({ size: 256, repeats: 100 }) });
    // Two steps at once: the one that fails answers, not the one it stops.
    await repo.publish('race', 1, { 'pipeline.json': JSON.stringify({ steps: [{ name: 'slow', model: 'slow', predict: { x: 'inputs.x' } }, { name: 'bad', model: 'cls', predict: { ids: 'inputs.ids' } }], outputs: { y: 'slow.y', s: 'bad.scores' } }) });
    await repo.publish('ping', 1, { 'pipeline.json': JSON.stringify({ steps: [{ name: 'next', model: 'pong', predict: { x: 'inputs.x' } }], outputs: { y: 'next.y' } }) });
    await repo.publish('pong', 1, { 'pipeline.json': JSON.stringify({ steps: [{ name: 'next', model: 'ping', predict: { x: 'inputs.x' } }], outputs: { y: 'next.y' } }) });
    await repo.publish('self', 1, { 'pipeline.json': JSON.stringify({ steps: [{ name: 'again', model: 'self', predict: { x: 'inputs.x' } }], outputs: { y: 'again.y' } }) });
    const s = await start({ models: [model('tok', { platformConfig: { lowercase: true } }), model('cls'), model('labels'), model('textcls'), model('broken'), model('slow'), model('race'), model('self'), model('ping'), model('pong')] });

    const raced = await rejectionOf(s.predict({ model: 'race', inputs: { x: { type: 'float32', data: new Float32Array(256), dims: [1, 256] }, ids: { type: 'float32', data: Float32Array.of(1), dims: [1] } } }));
    expect(raced).toMatchObject({ code: 'INVALID_ARGUMENT', model: 'race', input: 'ids', data: { step: 'bad' } });

    // Pipelines calling each other in a circle are stopped after a bounded number of hops.
    const circle = await rejectionOf(s.predict({ model: 'ping', inputs: { x: { type: 'float32', data: Float32Array.of(1), dims: [1] } } }));
    expect(circle).toMatchObject({ code: 'FAILED_PRECONDITION', model: 'ping' });
    expect(circle.message).toMatch(/^a request to model "(ping|pong)" would be the 17th servable called by servables for one request \(at most 16\): do pipelines call each other in a circle\? Check the steps' models$/);

    // A pipeline calling itself fails its load, naming the step.
    expect(s.status('self').versions[0]).toMatchObject({ state: 'END', error: { code: 'INVALID_ARGUMENT' } });
    expect(s.status('self').versions[0]!.error!.message).toMatch(/steps\[0\].model: "self" is this pipeline's own model/);

    // The composite's own signature is checked before any step runs.
    const noText = await rejectionOf(s.predict({ model: 'textcls', inputs: { words: { type: 'string', data: ['good'], dims: [1] } } }));
    expect(noText).toMatchObject({ code: 'INVALID_ARGUMENT', model: 'textcls', version: 1 });
    expect(noText.message).toMatch(/unknown input "words" \(inputs: text\)/);

    // A step's servable refuses what it was given: its code, the step and the servable named.
    const wrongType = await rejectionOf(s.predict({ model: 'broken', inputs: { ids: { type: 'float32', data: Float32Array.of(1), dims: [1] } }, outputs: ['scores'] }));
    expect(wrongType).toMatchObject({ code: 'INVALID_ARGUMENT', model: 'broken', version: 1, input: 'ids', data: { step: 'first', stepModel: 'cls', stepVersion: 1 } });
    expect(wrongType.message).toMatch(/^model "broken" version 1 \(a pipeline\), step "first" \("cls", predict\): .*model "cls" version 1.*int32/);

    const missingInput = await rejectionOf(s.predict({ model: 'broken', inputs: {}, outputs: ['scores'] }));
    expect(missingInput).toMatchObject({ code: 'INVALID_ARGUMENT', input: 'ids' });
    expect(missingInput.message).toMatch(/needs input "ids" \(read by step "first"\)/);

    const ids = { ids: { type: 'int32' as const, data: Int32Array.of(0, 1), dims: [2] } };
    const ghost = await rejectionOf(s.predict({ model: 'broken', inputs: ids, outputs: ['ghost'] }));
    expect(ghost).toMatchObject({ code: 'NOT_FOUND', model: 'broken', data: { step: 'ghost', stepModel: 'nosuch' } });
    expect(ghost.message).toMatch(/step "ghost" \("nosuch", predict\)/);

    const missingOutput = await rejectionOf(s.predict({ model: 'broken', inputs: ids, outputs: ['missing'] }));
    expect(missingOutput).toMatchObject({ code: 'FAILED_PRECONDITION', data: { step: 'first' } });
    expect(missingOutput.message).toMatch(/step "first" \("cls", predict\): model "cls" version 1: unknown output "nothing" \(outputs: scores, label_id\); fix pipeline.json/);

    const unknownOutput = await rejectionOf(s.predict({ model: 'broken', inputs: ids, outputs: ['nope'] }));
    expect(unknownOutput).toMatchObject({ code: 'INVALID_ARGUMENT', output: 'nope' });

    // Nothing is lost: the good pipeline still answers.
    expect((await s.predict({ model: 'textcls', inputs: text('good') })).outputs.label!.data).toHaveLength(1);
  });

  it('a swap of one part under a predict loop fails no request; the pipeline follows the new version', async () => {
    const s = await start();
    const failures: unknown[] = [];
    const seen = new Set<string>();
    let running = true;
    const loop = (async () => {
      while (running) {
        const sentence = 'good movie dull ending';
        await s.predict({ model: 'textcls', inputs: text(sentence) }).then(
          ({ outputs }) => seen.add(Array.from(outputs.scores!.data as Float32Array).join(',')),
          (error: unknown) => failures.push(error),
        );
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await repo.publish('cls', 2, { 'model.onnx': onnx.bagOfWordsModel(BOW(8)) });
    await s.pollNow();
    const until = Date.now() + 20_000;
    while (s.status('cls').versions.some((v) => v.version === 1 && v.state !== 'END') && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setTimeout(resolve, 100));
    running = false;
    await loop;
    expect(failures).toEqual([]);
    const v1 = Array.from(onnx.bagOfWordsReference(idsOf('good movie dull ending'), BOW(7)).scores).join(',');
    const v2 = Array.from(onnx.bagOfWordsReference(idsOf('good movie dull ending'), BOW(8)).scores).join(',');
    expect([...seen].sort()).toEqual([v1, v2].sort());
    const after = await s.predict({ model: 'textcls', inputs: text('good movie dull ending') });
    expect(Array.from(after.outputs.scores!.data as Float32Array).join(',')).toBe(v2);
  });

  it("one deadline covers every step: past it the request is DEADLINE_EXCEEDED, the step in flight is cancelled in its runner, and the pipeline serves on", async () => {
    // A step that takes 300 ms unless its signal aborts, and counts how its calls ended.
    const sleeper = `data:text/javascript,${encodeURIComponent(`
      let aborted = 0, finished = 0;
      export function createLoader() {
        return { async load() { return {
          predict: (inputs, { signal }) => new Promise((resolve, reject) => {
            const timer = setTimeout(() => { finished += 1; resolve({ y: inputs.x }); }, 300);
            signal.addEventListener('abort', () => { clearTimeout(timer); aborted += 1; reject(signal.reason); }, { once: true });
          }),
          methods: { stats: () => ({ aborted, finished }) },
        }; } };
      }`)}`;
    await repo.publish('sleepy', 1, { 'params.json': '{}' }, 'sleeper');
    await repo.publish('slowpipe', 1, {
      'pipeline.json': JSON.stringify({ steps: [{ name: 'a', model: 'sleepy', predict: { x: 'inputs.x' } }, { name: 'b', model: 'sleepy', predict: { x: 'a.y' } }, { name: 'c', model: 'sleepy', predict: { x: 'b.y' } }], outputs: { y: 'c.y' } }),
    });
    const s = await start({ platforms: { sleeper }, models: [model('sleepy'), model('slowpipe')] });
    const x = { x: { type: 'float32' as const, data: Float32Array.of(1, 2), dims: [2] } };
    const late = await rejectionOf(s.predict({ model: 'slowpipe', inputs: x, timeoutMs: 450 }));
    expect(late.code).toBe('DEADLINE_EXCEEDED');
    // The step in flight at the deadline ("b", or "a" on a crawling machine) was aborted in its runner; "c" never ran.
    const until = Date.now() + 5000;
    let stats = (await s.call({ model: 'sleepy', method: 'stats' })).value;
    while ((stats as { aborted: number }).aborted === 0 && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      stats = (await s.call({ model: 'sleepy', method: 'stats' })).value;
    }
    expect((stats as { aborted: number }).aborted).toBe(1);
    expect((stats as { finished: number }).finished).toBeLessThanOrEqual(1);
    const { outputs } = await s.predict({ model: 'slowpipe', inputs: x });
    expect(Array.from(outputs.y!.data as Float32Array)).toEqual([1, 2]);
  });
});
