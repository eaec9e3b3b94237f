/**
 * The built-in `pipeline` platform in Chromium: a text classifier made of a tokenizer platform
 * (user-defined, reading a side file), an ONNX model and a label table. One predict runs the
 * graph in the pipeline's runner, which calls the steps' runners over MessagePorts of their own.
 */
import type { Page } from '@playwright/test';
import { test, expect, pageError, startServing, type Repo } from './fixtures.js';
import { bagOfWordsModel, bagOfWordsReference, TEXT_CLASSIFIER } from '../scripts/onnx-models.mjs';

const { words: WORDS, labels: LABELS, model: BOW, pipeline: PIPELINE } = TEXT_CLASSIFIER;
const SENTENCES = ['good movie great acting', 'bad plot dull ending', 'movie plot'];

function publishClassifier(repo: Repo): void {
  repo.writeFile('tok', 1, 'vocab.json', JSON.stringify(WORDS));
  repo.publish('tok', {}, { platform: 'tokenizer' });
  repo.writeFile('cls', 1, 'model.onnx', bagOfWordsModel(BOW(7)));
  repo.publish('cls');
  repo.writeFile('labels', 1, 'table.json', JSON.stringify(LABELS));
  repo.publish('labels');
  repo.writeFile('textcls', 1, 'pipeline.json', JSON.stringify(PIPELINE));
  // Inferred from pipeline.json: the CLI checks the file with the runtime's own parser.
  repo.publish('textcls');
  // No signature of its own: what the caller sends reaches the classifier step as it is.
  repo.writeFile('idscls', 1, 'pipeline.json', JSON.stringify({ steps: PIPELINE.steps.slice(1).map((s) => (s.name === 'classify' ? { ...s, predict: { ids: 'inputs.ids' } } : s)), outputs: PIPELINE.outputs }));
  repo.publish('idscls');
}

const config = (repo: Repo) => ({
  models: ['tok', 'cls', 'labels', 'textcls', 'idscls'].map((name) => ({ name, basePath: repo.basePath(name), ...(name === 'tok' ? { platformConfig: { lowercase: true } } : {}) })),
  platforms: { tokenizer: '/e2e/platforms/tokenizer-platform.js' },
  executionProviders: ['wasm' as const],
  pollIntervalMs: 0,
});

function expected(sentence: string, seed = 7) {
  const { scores, labelId } = bagOfWordsReference(sentence.split(' ').map((w) => WORDS.indexOf(w)), BOW(seed));
  return { label: LABELS[labelId], scores: Array.from(scores) };
}

async function classify(page: Page, sentences: readonly string[]) {
  return page.evaluate(async (sentences) => {
    const answers = [];
    for (const sentence of sentences) {
      const { version, outputs } = await window.serving.predict({ model: 'textcls', inputs: { text: { type: 'string', data: [sentence], dims: [1] } } });
      answers.push({ version, label: (outputs.label!.data as string[])[0], scores: Array.from(outputs.scores!.data as Float32Array) });
    }
    return answers;
  }, sentences);
}

test('a text-classification pipeline (tokenizer platform → ONNX → table) answers in one predict; wrong inputs name the step; a swap of its model under load fails nothing; offline it reloads from the store', async ({ harness, repo }) => {
  publishClassifier(repo);
  await startServing(harness, config(repo));
  expect(await classify(harness, SENTENCES)).toEqual(SENTENCES.map((s) => ({ version: 1, ...expected(s) })));
  const metadata = await harness.evaluate(() => window.serving.metadata('textcls'));
  expect(metadata).toMatchObject({ platform: 'pipeline', apis: ['predict'], description: { steps: 'tokenize → classify → names', 'step.classify': '("cls", predict)' } });

  // The composite's signature, then a step's own: typed errors naming where.
  expect(await pageError(harness, `() => window.serving.predict({ model: 'textcls', inputs: { text: { type: 'int32', data: Int32Array.of(1), dims: [1] } } })`)).toMatchObject({ code: 'INVALID_ARGUMENT', model: 'textcls', input: 'text' });
  const floats = await pageError(harness, `() => window.serving.predict({ model: 'idscls', inputs: { ids: { type: 'float32', data: Float32Array.of(1), dims: [1] } } })`);
  expect(floats).toMatchObject({ code: 'INVALID_ARGUMENT', model: 'idscls', version: 1, input: 'ids' });
  expect(floats.message).toMatch(/step "classify" \("cls", predict\): model "cls" version 1.*int32/);
  const idsAnswer = await harness.evaluate(async () => (await window.serving.predict({ model: 'idscls', inputs: { ids: { type: 'int32', data: Int32Array.of(0, 4), dims: [2] } } })).outputs.label!.data);
  expect(idsAnswer).toEqual([expected('good great').label]);

  // A new classifier under a predict loop, until v1 has unloaded: every answer is v1's or v2's, none fails.
  const loop = harness.evaluate(async () => {
    const results: string[] = [];
    const failures: string[] = [];
    const until = performance.now() + 60_000;
    let swapped = false;
    void (async () => {
      while (!swapped && performance.now() < until) {
        const status = await window.serving.status('cls');
        swapped = status.versions.some((v) => v.version === 1 && v.state === 'END');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    for (let after = 0; after < 20 && performance.now() < until; after += swapped ? 1 : 0) {
      try {
        const { outputs } = await window.serving.predict({ model: 'textcls', inputs: { text: { type: 'string', data: ['good movie dull ending'], dims: [1] } } });
        results.push(Array.from(outputs.scores!.data as Float32Array).join(','));
      } catch (error) {
        failures.push(String(error));
      }
    }
    return { distinct: [...new Set(results)], count: results.length, failures, swapped };
  });
  await harness.waitForTimeout(300);
  repo.writeFile('cls', 2, 'model.onnx', bagOfWordsModel(BOW(8)));
  repo.publish('cls');
  await harness.evaluate(() => window.serving.poll());
  const swapped = await loop;
  expect(swapped.failures).toEqual([]);
  expect(swapped.swapped).toBe(true);
  expect(swapped.distinct.sort()).toEqual([expected('good movie dull ending').scores.join(','), expected('good movie dull ending', 8).scores.join(',')].sort());

  // Every server gone, a reloaded page starts the whole pipeline from the artifact store.
  await harness.request.post('/__control/faults', { data: [{ prefix: repo.url, offline: true }] });
  await harness.reload();
  await harness.waitForFunction(() => window.harnessReady === true);
  await startServing(harness, config(repo));
  expect(await classify(harness, SENTENCES)).toEqual(SENTENCES.map((s) => ({ version: 1, ...expected(s, 8) })));
});

test("a step's runner killed: pipeline requests fail at most UNAVAILABLE (retryable) while it restarts, then serve again; the pipeline's own runner likewise", async ({ harness, repo }) => {
  publishClassifier(repo);
  await startServing(harness, config(repo));
  const r = await harness.evaluate(async () => {
    const s = window.serving;
    const ask = () => s.predict({ model: 'textcls', inputs: { text: { type: 'string', data: ['great acting'], dims: [1] } } }).then(
      (r) => ({ ok: (r.outputs.label!.data as string[])[0] }),
      (e) => ({ code: (e as { code: string }).code, retryable: (e as { data?: { retryable?: boolean } }).data?.retryable ?? false }),
    );
    const before = await ask();
    const runnerOf = (key: string) => s.debug.runners().find((x) => x.servables.includes(key))!.runner;
    const settle = async () => {
      const until = performance.now() + 20_000;
      for (;;) {
        const answer = await ask();
        if ('ok' in answer || performance.now() > until) return answer;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    const outcomes = [];
    for (const key of ['"cls"@1', '"textcls"@1']) {
      const victim = runnerOf(key);
      const during = ask();
      await s.debug.fault(victim, 'terminate');
      const first = await during;
      const after = await settle();
      outcomes.push({ key, first, after, moved: runnerOf(key) !== victim });
    }
    return { before, outcomes };
  });
  expect(r.before).toEqual({ ok: expected('great acting').label });
  for (const outcome of r.outcomes) {
    expect([{ ok: expected('great acting').label }, { code: 'UNAVAILABLE', retryable: true }]).toContainEqual(outcome.first);
    expect(outcome.after).toEqual({ ok: expected('great acting').label });
    expect(outcome.moved).toBe(true);
  }
});
