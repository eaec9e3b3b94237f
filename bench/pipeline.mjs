/**
 * What a pipeline costs, as `npm run bench` measures it: a 3-step text classifier (tokenizer
 * platform → ONNX bag-of-words → label table) as one `pipeline` predict, against the same three
 * calls chained from the page — the same servables, interleaved in blocks, in one runtime. The
 * pipeline keeps intermediates off the page and runs under one deadline; it pays one more hop
 * (page → pipeline runner) and runner-to-runner MessagePorts instead of Worker channels.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MODELS_DIR, writeManifest } from '../scripts/models.mjs';
import { bagOfWordsModel, TEXT_CLASSIFIER } from '../scripts/onnx-models.mjs';

const REPO = 'bench-pipeline';

function writeRepository() {
  const dir = join(MODELS_DIR, REPO);
  rmSync(dir, { recursive: true, force: true });
  const put = (model, file, bytes) => {
    mkdirSync(join(dir, model, '1'), { recursive: true });
    writeFileSync(join(dir, model, '1', file), bytes);
  };
  put('tok', 'vocab.json', JSON.stringify(TEXT_CLASSIFIER.words));
  writeManifest(join(dir, 'tok'), {}, { platform: 'tokenizer' });
  put('cls', 'model.onnx', bagOfWordsModel(TEXT_CLASSIFIER.model(7)));
  writeManifest(join(dir, 'cls'));
  put('labels', 'table.json', JSON.stringify(TEXT_CLASSIFIER.labels));
  writeManifest(join(dir, 'labels'));
  // The label alone: the chained calls it is measured against read nothing else.
  put('textcls', 'pipeline.json', JSON.stringify({ steps: TEXT_CLASSIFIER.pipeline.steps, outputs: { label: 'names.values' } }));
  writeManifest(join(dir, 'textcls'));
}

/** p50/p99 of each way, over `blocks` interleaved blocks of `perBlock` requests. */
export async function pipeline(page, { quick, numThreads, url }) {
  writeRepository();
  const blocks = quick ? 6 : 20;
  return page.evaluate(
    async ({ base, numThreads, blocks }) => {
      const { createServing } = await import('/dist/index.js');
      const s = await createServing({
        models: ['tok', 'cls', 'labels', 'textcls'].map((name) => ({ name, basePath: `${base}/${name}` })),
        platforms: { tokenizer: '/e2e/platforms/tokenizer-platform.js' },
        executionProviders: ['wasm'],
        pollIntervalMs: 0,
        wasm: { numThreads },
      });
      const text = () => ({ text: { type: 'string', data: ['good movie dull ending'], dims: [1] } });
      const ways = {
        pipeline: async () => (await s.predict({ model: 'textcls', inputs: text() })).outputs.label.data[0],
        chained: async () => {
          const ids = (await s.predict({ model: 'tok', inputs: text() })).outputs.ids;
          const id = (await s.predict({ model: 'cls', inputs: { ids } })).outputs.label_id.data[0];
          return (await s.lookup({ model: 'labels', keys: [Number(id)] })).values[0];
        },
      };
      try {
        if ((await ways.pipeline()) !== (await ways.chained())) throw new Error('the pipeline and the chained calls answer differently');
        for (let i = 0; i < 50; i++) for (const f of Object.values(ways)) await f();
        const times = { pipeline: [], chained: [] };
        for (let block = 0; block < blocks; block++) {
          const order = block % 2 ? ['pipeline', 'chained'] : ['chained', 'pipeline'];
          for (const name of order) {
            for (let i = 0; i < 25; i++) {
              const t = performance.now();
              await ways[name]();
              times[name].push(performance.now() - t);
            }
          }
        }
        const q = (a, p) => [...a].sort((x, y) => x - y)[Math.floor(p * (a.length - 1))];
        const summary = (a) => ({ requests: a.length, p50Ms: Math.round(q(a, 0.5) * 1000) / 1000, p99Ms: Math.round(q(a, 0.99) * 1000) / 1000 });
        return { steps: 3, pipeline: summary(times.pipeline), chained: summary(times.chained) };
      } finally {
        await s.close();
      }
    },
    { base: `${url}/models/${REPO}`, numThreads, blocks },
  );
}
