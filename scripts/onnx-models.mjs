// Generates small ONNX test models in code, so no model binaries need to be committed.
//
// Every model function returns a Uint8Array holding a serialized onnx.ModelProto
// (ir_version 8, opset 17, producer "browserving-test"), backed by its own ArrayBuffer
// (byteOffset 0, so `bytes.buffer` can be transferred to a worker as-is).
//
// Encoding notes (onnx-proto 8 = protobufjs 6 static code, CommonJS):
// - Import it as a default import; Node cannot detect named exports of this CJS file.
// - int64 fields (dims, dim_value, ir_version, opset version) accept plain JS numbers
//   (fromObject wraps them in Long); only values beyond 2^53 would need Long or a string.
// - TensorProto.data_type and TypeProto.Tensor.elem_type are int32 fields, not enums:
//   pass numbers from onnx.TensorProto.DataType.
// - Tensor data goes in raw_data as little-endian bytes (a typed array viewed as bytes),
//   which avoids the slow, per-element float_data / int64_data (Long) paths.

import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
const DataType = onnx.TensorProto.DataType;

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('onnx-models.mjs assumes a little-endian platform (raw_data is little-endian)');
}

/** @typedef {'float32' | 'int32' | 'int64' | 'uint8'} DType */
/** @typedef {Array<number | string>} Shape  numbers become dim_value, strings dim_param */

/** @type {Record<DType, number>} */
const DTYPES = {
  float32: DataType.FLOAT,
  int32: DataType.INT32,
  int64: DataType.INT64,
  uint8: DataType.UINT8,
};

/** @param {string} dtype */
function dataType(dtype) {
  const t = DTYPES[/** @type {DType} */ (dtype)];
  if (t === undefined) throw new Error(`unsupported dtype ${dtype} (use ${Object.keys(DTYPES).join('|')})`);
  return t;
}

// ---------------------------------------------------------------- PRNG

/**
 * mulberry32: tiny, fast, deterministic 32-bit PRNG.
 * @param {number} seed
 * @returns {() => number} next uint32
 */
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/**
 * Float32Array of n uniform values in [-scale, scale), drawn from `next`.
 * @param {() => number} next
 * @param {number} n
 * @param {number} scale
 */
function uniform(next, n, scale) {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (next() / 2 ** 32 * 2 - 1) * scale;
  return out;
}

// ---------------------------------------------------------------- builders

/**
 * Initializer tensor, data stored as raw_data.
 * @param {string} name
 * @param {DType} dtype
 * @param {number[]} dims  [] for a scalar
 * @param {ArrayBufferView} data  typed array matching dtype
 */
function tensor(name, dtype, dims, data) {
  const rawData = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return { name, dataType: dataType(dtype), dims, rawData };
}

/**
 * Graph input/output description.
 * @param {string} name
 * @param {DType} dtype
 * @param {Shape} shape
 */
function valueInfo(name, dtype, shape) {
  const dim = shape.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d }));
  return { name, type: { tensorType: { elemType: dataType(dtype), shape: { dim } } } };
}

/**
 * @param {string} opType
 * @param {string[]} input
 * @param {string[]} output
 * @param {string} [name]
 */
function node(opType, input, output, name = `${opType}_${output[0]}`) {
  return { opType, input, output, name };
}

/**
 * @param {{ nodes: object[], inputs: object[], outputs: object[], initializers?: object[], name?: string }} g
 */
function graph({ nodes, inputs, outputs, initializers = [], name = 'test' }) {
  return { name, node: nodes, input: inputs, output: outputs, initializer: initializers };
}

/**
 * Wraps a graph in a ModelProto and serializes it.
 * @param {object} g  result of graph()
 * @returns {Uint8Array}
 */
function model(g) {
  const obj = {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'browserving-test',
    graph: g,
  };
  const err = onnx.ModelProto.verify(obj);
  if (err) throw new Error(`invalid ModelProto: ${err}`);
  const buf = onnx.ModelProto.encode(onnx.ModelProto.fromObject(obj)).finish();
  // In Node, finish() returns a Buffer; small ones are slices of a shared pool, so copy
  // those. Large ones already own their ArrayBuffer: just view it (saves a 64 MiB copy).
  const owned = buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength;
  return owned ? new Uint8Array(buf.buffer, 0, buf.byteLength) : new Uint8Array(buf);
}

// ---------------------------------------------------------------- models

/**
 * y = Identity(x).
 * @param {{ dtype?: DType, shape?: Shape }} [opts]
 */
export function identityModel({ dtype = 'float32', shape = ['batch', 4] } = {}) {
  return model(graph({
    nodes: [node('Identity', ['x'], ['y'])],
    inputs: [valueInfo('x', dtype, shape)],
    outputs: [valueInfo('y', dtype, shape)],
  }));
}

/** @typedef {{ inputSize?: number, hidden?: number, outputSize?: number, seed?: number }} MlpOptions */

/**
 * Deterministic MLP weights: W1 [inputSize, hidden], b1 [hidden], W2 [hidden, outputSize], b2 [outputSize].
 * @param {MlpOptions} [opts]
 */
function mlpWeights({ inputSize = 16, hidden = 32, outputSize = 4, seed = 1 } = {}) {
  const next = mulberry32(seed);
  return {
    inputSize, hidden, outputSize,
    w1: uniform(next, inputSize * hidden, 1 / Math.sqrt(inputSize)),
    b1: uniform(next, hidden, 0.1),
    w2: uniform(next, hidden * outputSize, 1 / Math.sqrt(hidden)),
    b2: uniform(next, outputSize, 0.1),
  };
}

/**
 * x float32 [batch, inputSize] -> Gemm(W1, b1) -> Relu -> Gemm(W2, b2) -> y float32 [batch, outputSize].
 * @param {MlpOptions} [opts]
 */
export function mlpModel(opts = {}) {
  const { inputSize, hidden, outputSize, w1, b1, w2, b2 } = mlpWeights(opts);
  return model(graph({
    nodes: [
      node('Gemm', ['x', 'W1', 'b1'], ['h']),
      node('Relu', ['h'], ['h_relu']),
      node('Gemm', ['h_relu', 'W2', 'b2'], ['y']),
    ],
    inputs: [valueInfo('x', 'float32', ['batch', inputSize])],
    outputs: [valueInfo('y', 'float32', ['batch', outputSize])],
    initializers: [
      tensor('W1', 'float32', [inputSize, hidden], w1),
      tensor('b1', 'float32', [hidden], b1),
      tensor('W2', 'float32', [hidden, outputSize], w2),
      tensor('b2', 'float32', [outputSize], b2),
    ],
  }));
}

/**
 * Plain-JS forward pass of mlpModel(opts); matches ORT to ~1e-5.
 * @param {Float32Array} x  row-major [batch, inputSize]
 * @param {number} batch
 * @param {MlpOptions} [opts]  same options as passed to mlpModel
 * @returns {Float32Array} row-major [batch, outputSize]
 */
export function mlpReference(x, batch, opts = {}) {
  const { inputSize, hidden, outputSize, w1, b1, w2, b2 } = mlpWeights(opts);
  if (x.length !== batch * inputSize) throw new Error(`x must have ${batch * inputSize} values`);
  /** @type {(inp: Float32Array, k: number, w: Float32Array, b: Float32Array, n: number, relu: boolean) => Float32Array} */
  const dense = (inp, k, w, b, n, relu) => {
    const out = new Float32Array(batch * n);
    for (let r = 0; r < batch; r++) {
      for (let j = 0; j < n; j++) {
        let acc = 0;
        for (let i = 0; i < k; i++) acc = Math.fround(acc + Math.fround(inp[r * k + i] * w[i * n + j]));
        acc = Math.fround(acc + b[j]);
        out[r * n + j] = relu ? Math.max(0, acc) : acc;
      }
    }
    return out;
  };
  return dense(dense(x, inputSize, w1, b1, hidden, true), hidden, w2, b2, outputSize, false);
}

/**
 * x float32 [rows, size] -> repeats x (MatMul(W) -> Tanh) -> y float32 [rows, size]; W is one
 * shared [size, size] initializer. Meant to make a single run take a noticeable time: with the
 * defaults (4.2 MB file) about 30 ms per run in single-threaded WASM under Node 20, linear in
 * `repeats` and in `rows`. Session creation also grows with `repeats` (~1-1.5 ms per repeat),
 * not with `rows`: runs of seconds take `rows` in the hundreds and few repeats.
 * @param {{ size?: number, repeats?: number, rows?: number, seed?: number }} [opts]
 */
export function slowModel({ size = 1024, repeats = 500, rows = 1, seed = 1 } = {}) {
  // Gain ~1.7 (> 1) keeps activations O(1) through the chain: no decay to 0 / denormals.
  const w = uniform(mulberry32(seed), size * size, 3 / Math.sqrt(size));
  const nodes = [];
  let prev = 'x';
  for (let i = 0; i < repeats; i++) {
    const out = i === repeats - 1 ? 'y' : `t${i}`;
    nodes.push(node('MatMul', [prev, 'W'], [`m${i}`]), node('Tanh', [`m${i}`], [out]));
    prev = out;
  }
  return model(graph({
    nodes,
    inputs: [valueInfo('x', 'float32', [rows, size])],
    outputs: [valueInfo('y', 'float32', [rows, size])],
    initializers: [tensor('W', 'float32', [size, size], w)],
  }));
}

/**
 * A model whose file is about `bytes` long: y = x + Gather(big, [0, 1, 2, 3]), with
 * x, y float32 [1, 4] and `big` a float32 initializer of floor(bytes / 4) pseudo-random,
 * incompressible values with |v| < 1.
 * @param {{ bytes?: number, seed?: number }} [opts]
 */
export function largeModel({ bytes = 64 * 1024 * 1024, seed = 1 } = {}) {
  const n = Math.max(4, Math.floor(bytes / 4));
  const bits = new Uint32Array(n);
  const next = mulberry32(seed);
  // Random sign, mantissa and low 5 exponent bits (exponent 96..127): always a finite,
  // normal float with |v| in [2^-31, 1), and 30 of 32 bits random, so it does not compress.
  for (let i = 0; i < n; i++) bits[i] = (next() & 0x8fffffff) | 0x30000000;
  return model(graph({
    nodes: [
      node('Gather', ['big', 'idx'], ['head']),
      node('Add', ['x', 'head'], ['y']),
    ],
    inputs: [valueInfo('x', 'float32', [1, 4])],
    outputs: [valueInfo('y', 'float32', [1, 4])],
    initializers: [
      tensor('big', 'float32', [n], bits),
      tensor('idx', 'int64', [4], new BigInt64Array([0n, 1n, 2n, 3n])),
    ],
  }));
}

/** sum = a + b, all int64 [n]. */
export function addInt64Model() {
  return model(graph({
    nodes: [node('Add', ['a', 'b'], ['sum'])],
    inputs: [valueInfo('a', 'int64', ['n']), valueInfo('b', 'int64', ['n'])],
    outputs: [valueInfo('sum', 'int64', ['n'])],
  }));
}

/** x float32 [batch, 3] -> double = x * 2, negated = -x (both float32 [batch, 3]). */
export function twoOutputModel() {
  return model(graph({
    nodes: [node('Mul', ['x', 'two'], ['double']), node('Neg', ['x'], ['negated'])],
    inputs: [valueInfo('x', 'float32', ['batch', 3])],
    outputs: [valueInfo('double', 'float32', ['batch', 3]), valueInfo('negated', 'float32', ['batch', 3])],
    initializers: [tensor('two', 'float32', [], new Float32Array([2]))],
  }));
}

/**
 * A bag-of-words text classifier: ids int32 [n] (word ids, as a tokenizer makes them) →
 * scores float32 [classes] (the sum of the ids' rows of a seeded embedding [vocab, classes]) and
 * label_id int64 [1] (ArgMax of the scores). Built for pipeline tests: tokenizer → this → labels.
 * @param {{ vocab?: number, classes?: number, seed?: number }} [opts]
 */
export function bagOfWordsModel({ vocab = 8, classes = 3, seed = 7 } = {}) {
  const int = (name, i) => ({ name, type: onnx.AttributeProto.AttributeType.INT, i });
  return model(graph({
    nodes: [
      node('Gather', ['emb', 'ids'], ['rows']),
      { ...node('ReduceSum', ['rows', 'axes'], ['scores']), attribute: [int('keepdims', 0)] },
      { ...node('ArgMax', ['scores'], ['label_id']), attribute: [int('axis', 0), int('keepdims', 1)] },
    ],
    inputs: [valueInfo('ids', 'int32', ['n'])],
    outputs: [valueInfo('scores', 'float32', [classes]), valueInfo('label_id', 'int64', [1])],
    initializers: [tensor('emb', 'float32', [vocab, classes], bagOfWordsEmbedding({ vocab, classes, seed })), tensor('axes', 'int64', [1], new BigInt64Array([0n]))],
  }));
}

/** @param {{ vocab?: number, classes?: number, seed?: number }} opts */
function bagOfWordsEmbedding({ vocab = 8, classes = 3, seed = 7 }) {
  return uniform(mulberry32(seed), vocab * classes, 1);
}

/**
 * Plain-JS bagOfWordsModel(opts): the scores and the label id of `ids` (a negative id counts
 * from the end, as ONNX Gather does).
 * @param {readonly number[]} ids
 * @param {{ vocab?: number, classes?: number, seed?: number }} [opts]
 */
export function bagOfWordsReference(ids, opts = {}) {
  const { vocab = 8, classes = 3 } = opts;
  const emb = bagOfWordsEmbedding(opts);
  const scores = new Float32Array(classes);
  for (const id of ids) {
    const row = id < 0 ? id + vocab : id;
    for (let c = 0; c < classes; c++) scores[c] = Math.fround(scores[c] + emb[row * classes + c]);
  }
  let labelId = 0;
  for (let c = 1; c < classes; c++) if (scores[c] > scores[labelId]) labelId = c;
  return { scores, labelId };
}

/**
 * The text classifier the pipeline tests and benchmark build: a `tokenizer` platform reading
 * `WORDS` as its vocabulary, `bagOfWordsModel(TEXT_CLASSIFIER.model(seed))` over it, a table of
 * `LABELS`, and `pipeline` — the pipeline.json chaining the three (version 1 of models `tok`,
 * `cls` and `labels`).
 */
const CLASSIFIER_WORDS = ['good', 'bad', 'movie', 'plot', 'great', 'dull', 'acting', 'ending'];
const CLASSIFIER_LABELS = ['negative', 'neutral', 'positive'];
export const TEXT_CLASSIFIER = Object.freeze({
  words: CLASSIFIER_WORDS,
  labels: CLASSIFIER_LABELS,
  /** bagOfWordsModel options for a classifier over `words` into `labels`. */
  model: (seed) => ({ vocab: CLASSIFIER_WORDS.length, classes: CLASSIFIER_LABELS.length, seed }),
  pipeline: {
    signature: {
      inputs: [{ name: 'text', type: 'string', shape: [1] }],
      outputs: [{ name: 'label', type: 'string', shape: [1] }, { name: 'scores', type: 'float32', shape: [3] }],
    },
    steps: [
      { name: 'tokenize', model: 'tok', predict: { text: 'inputs.text' } },
      { name: 'classify', model: 'cls', predict: { ids: 'tokenize.ids' } },
      { name: 'names', model: 'labels', lookup: 'classify.label_id' },
    ],
    outputs: { label: 'names.values', scores: 'classify.scores' },
  },
});

/**
 * Writes model bytes to `path`, creating parent directories as needed.
 * @param {string} path
 * @param {Uint8Array} bytes
 * @returns {Promise<void>}
 */
export async function writeModel(path, bytes) {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, bytes);
}
