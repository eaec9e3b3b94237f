/**
 * A test platform: a word-piece-free tokenizer. Its version holds a side file `vocab.json` (an
 * array of words); `platformConfig.lowercase` folds case first. It answers `encode`/`decode`
 * (methods), `lookup` (word → id) and `predict` with a signature (a string tensor `text` →
 * an int32 tensor `ids`), and says its vocabulary size in `describe()`.
 */
export function createLoader(version) {
  return {
    async estimateResources() {
      const vocab = await version.readJson('vocab.json');
      return { bytes: 64 * vocab.length };
    },
    async load() {
      const words = await version.readJson('vocab.json');
      if (!Array.isArray(words)) throw new Error('vocab.json must be an array of words');
      const lowercase = version.config?.lowercase === true;
      const index = new Map(words.map((w, i) => [w, i]));
      const encode = (text) => String(text).split(/\s+/).filter(Boolean).map((w) => index.get(lowercase ? w.toLowerCase() : w) ?? -1);
      return {
        signature: { inputs: [{ name: 'text', type: 'string', shape: [1] }], outputs: [{ name: 'ids', type: 'int32', shape: [null] }] },
        predict(inputs) {
          const ids = encode(inputs.text.data[0]);
          return { ids: { type: 'int32', data: Int32Array.from(ids), dims: [ids.length] } };
        },
        lookup: (keys) => keys.map((k) => index.get(String(k)) ?? null),
        methods: {
          encode: (text) => encode(text),
          decode: (ids) => ids.map((id) => words[id] ?? '[UNK]').join(' '),
          failPlain: () => {
            throw new TypeError('this tokenizer has a bug');
          },
          failCoded: () => {
            // As a ServingError bundled with the platform would look: a name and a canonical code.
            throw Object.assign(new Error('no such word list'), { name: 'ServingError', code: 'NOT_FOUND' });
          },
        },
        describe: () => ({ vocabulary: words.length, lowercase }),
      };
    },
  };
}
