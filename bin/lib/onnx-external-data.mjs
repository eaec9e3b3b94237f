/**
 * Which files an ONNX model stores its tensors in: the `location` of every tensor whose data is
 * external (TensorProto.external_data, ONNX's "external data" format), read from the model's own
 * bytes. The runtime hands exactly these files to onnxruntime-web; every other file beside the
 * model is a side file its platform may read.
 *
 * A minimal protobuf reader walks only the messages that can hold tensors — the graph's
 * initializers, node attributes (subgraphs of If/Loop/Scan included), training graphs and model
 * functions — skipping everything else by wire type, so a multi-gigabyte model is read in one pass
 * without decoding its weights.
 */

/** Field numbers from onnx.proto; each entry: field → the message it holds. */
const MESSAGES = {
  model: { 7: 'graph', 20: 'trainingInfo', 25: 'function' },
  trainingInfo: { 1: 'graph', 2: 'graph' },
  function: { 7: 'node', 11: 'attribute' },
  graph: { 1: 'node', 5: 'tensor', 15: 'sparseTensor' },
  node: { 5: 'attribute' },
  attribute: { 5: 'tensor', 6: 'graph', 10: 'tensor', 11: 'graph', 22: 'sparseTensor', 23: 'sparseTensor' },
  sparseTensor: { 1: 'tensor', 2: 'tensor' },
};
const TENSOR_EXTERNAL_DATA = 13;
const ENTRY_KEY = 1;
const ENTRY_VALUE = 2;

/**
 * The external-data locations `model` refers to, as written in the model (relative to its
 * folder), sorted and without duplicates. Throws an Error when the bytes are not a well-formed
 * protobuf message.
 * @param {Uint8Array} model  a serialized onnx.ModelProto
 * @returns {string[]}
 */
export function externalDataLocations(model) {
  /** @type {Set<string>} */
  const locations = new Set();
  walk(model, 0, model.length, 'model', locations);
  return [...locations].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * @param {Uint8Array} bytes
 * @param {number} start
 * @param {number} end
 * @param {keyof typeof MESSAGES | 'tensor'} message
 * @param {Set<string>} locations
 */
function walk(bytes, start, end, message, locations) {
  for (const field of fields(bytes, start, end)) {
    if (field.wireType !== 2) continue;
    if (message === 'tensor') {
      if (field.number === TENSOR_EXTERNAL_DATA) {
        const entry = stringEntry(bytes, field.start, field.end);
        if (entry.key === 'location' && entry.value !== undefined) locations.add(entry.value);
      }
      continue;
    }
    const inner = /** @type {Record<number, keyof typeof MESSAGES | 'tensor'>} */ (MESSAGES[message])[field.number];
    if (inner) walk(bytes, field.start, field.end, inner, locations);
  }
}

/**
 * A StringStringEntryProto's key and value.
 * @param {Uint8Array} bytes
 * @param {number} start
 * @param {number} end
 */
function stringEntry(bytes, start, end) {
  const text = new TextDecoder('utf-8', { fatal: true });
  /** @type {{ key?: string, value?: string }} */
  const entry = {};
  for (const field of fields(bytes, start, end)) {
    if (field.wireType !== 2) continue;
    if (field.number === ENTRY_KEY) entry.key = text.decode(bytes.subarray(field.start, field.end));
    if (field.number === ENTRY_VALUE) entry.value = text.decode(bytes.subarray(field.start, field.end));
  }
  return entry;
}

/**
 * The fields of the message in `bytes[start, end)`: number, wire type and, for length-delimited
 * fields, where their payload is.
 * @param {Uint8Array} bytes
 * @param {number} start
 * @param {number} end
 * @returns {Generator<{ number: number, wireType: number, start: number, end: number }>}
 */
function* fields(bytes, start, end) {
  let at = start;
  while (at < end) {
    const [tag, afterTag] = varint(bytes, at, end);
    const number = Math.floor(tag / 8);
    const wireType = tag % 8;
    if (number === 0) throw new Error(`invalid protobuf field number 0 at byte ${at}`);
    at = afterTag;
    if (wireType === 0) {
      at = varint(bytes, at, end)[1];
      yield { number, wireType, start: at, end: at };
    } else if (wireType === 1 || wireType === 5) {
      at += wireType === 1 ? 8 : 4;
      yield { number, wireType, start: at, end: at };
    } else if (wireType === 2) {
      const [length, payload] = varint(bytes, at, end);
      at = payload + length;
      if (at > end) throw new Error(`protobuf field ${number} at byte ${payload} runs past the end of its message`);
      yield { number, wireType, start: payload, end: at };
    } else {
      throw new Error(`unsupported protobuf wire type ${wireType} at byte ${afterTag}`);
    }
  }
  if (at !== end) throw new Error(`protobuf message ends mid-field at byte ${end}`);
}

/**
 * @param {Uint8Array} bytes
 * @param {number} at
 * @param {number} end
 * @returns {[value: number, next: number]}
 */
function varint(bytes, at, end) {
  let value = 0;
  for (let shift = 0, i = at; i < end && shift < 64; shift += 7, i++) {
    const byte = /** @type {number} */ (bytes[i]);
    // Multiplication, not <<: lengths of large models pass 2^31.
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return [value, i + 1];
  }
  throw new Error(`truncated protobuf varint at byte ${at}`);
}
