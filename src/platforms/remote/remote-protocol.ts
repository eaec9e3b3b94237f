/**
 * The client side of TF Serving's REST API and KServe's v2 protocol: what a remote endpoint's
 * answers mean, and the bodies to send it — with the same tensor codecs the runtime's own HTTP
 * front doors use (`src/http`), read the other way round. Shapes: `/work/shared/PROTOCOLS.md`.
 *
 * - Versions: TF Serving's model status lists versions with their state (only AVAILABLE ones
 *   serve); KServe's model metadata lists `versions` (strings; a model without a `versions` list
 *   is unversioned and is version 1 here, addressed without `/versions/`).
 * - Signatures: TF Serving's `signature_def.serving_default` (inputs by their map key, which is
 *   what `:predict` takes), KServe's `inputs`/`outputs`. A size of -1 is a variable dimension
 *   (its name kept when the server gives one). A TF Serving tensor of unknown rank fails the load
 *   (FAILED_PRECONDITION naming it): requests could not be validated, and TF Serving's JSON
 *   outputs, which carry no dtype, could not be read.
 * - Predict: TF Serving in the columnar format (`{"inputs": {name: nested list}}` →
 *   `{"outputs": …}`), which holds scalars and outputs of any batch size; KServe as JSON tensors,
 *   or with the binary tensor extension when the server lists `binary_tensor_data`.
 * - Failures: `{"error": message}` with the HTTP status → a ServingError (see `errorForStatus`).
 *   A body that is not what the protocol says is DATA_LOSS. Messages never quote tensor data.
 */
import { describeValue } from '../../core/describe-value.js';
import { ServingError, type ErrorCode } from '../../core/serving-error.js';
import { isTensorType } from '../../loaders/tensor-types.js';
import type { Signature, TensorData, TensorSpec, TensorType } from '../../protocol.js';
import { flatJSON, isJsonObject, nestedJSON, tensorFromFlat, tensorFromNested } from '../../http/json-tensor.js';
import { DATATYPE_OF, tensorBytes, tensorFromBytes, tensorTypeOf } from '../../http/kserve-tensors.js';
import { parseRequestJSON } from '../../http/request-json.js';
import { TF_DTYPE_OF } from '../../http/tfserving-rest.js';

export type RemoteProtocol = 'tfserving' | 'kserve-v2';

/** What the endpoint says of one model. */
export interface RemoteModelInfo {
  /** Versions that serve now, highest first. */
  readonly versions: readonly number[];
  /** KServe models without a `versions` list: addressed without `/versions/{v}`. */
  readonly unversioned?: boolean;
}

/** A request ready for `fetch`. */
export interface EncodedRequest {
  readonly path: string;
  readonly body: string | Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
}

export const INFERENCE_HEADER_LENGTH = 'Inference-Header-Content-Length';
const TF_TYPE_OF = new Map<string, TensorType>(Object.entries(TF_DTYPE_OF).map(([type, dtype]) => [dtype, type as TensorType]));
const MAX_REMOTE_MESSAGE = 300;

/** Where the answer came from, for messages and error details. */
export interface RemoteWhere {
  readonly endpoint: string;
  /** The model's name in this runtime (what the caller asked for; errors name it). */
  readonly model: string;
  /** Its name on the endpoint, when different. */
  readonly remoteModel?: string;
  readonly version?: number;
}

/** `model "vad" (named "silero" there) version 2`. */
function describeWhere(where: RemoteWhere): string {
  return `model "${where.model}"${where.remoteModel && where.remoteModel !== where.model ? ` (named "${where.remoteModel}" there)` : ''}${where.version !== undefined ? ` version ${where.version}` : ''}`;
}

function malformed(where: RemoteWhere, what: string): ServingError {
  return new ServingError('DATA_LOSS', `remote endpoint ${where.endpoint} (${describeWhere(where)}) answered ${what}: not what its protocol says — check remote.url and remote.protocol`, {
    model: where.model,
    ...(where.version !== undefined ? { version: where.version } : {}),
    data: { endpoint: where.endpoint },
  });
}

/** Parses an answer's text as JSON (NaN/Infinity tokens and exact int64 included); DATA_LOSS when it is not. */
export function parseAnswer(text: string, where: RemoteWhere): unknown {
  try {
    return parseRequestJSON(text);
  } catch {
    throw malformed(where, `a body that is not JSON (${text.length} characters)`);
  }
}

/** Paths of one model on the endpoint. */
export function modelPaths(protocol: RemoteProtocol, model: string, version: number | undefined): { status: string; metadata: string; predict: string; ready: string } {
  const name = encodeURIComponent(model);
  if (protocol === 'tfserving') {
    const base = `/v1/models/${name}${version !== undefined ? `/versions/${version}` : ''}`;
    return { status: `/v1/models/${name}`, metadata: `${base}/metadata`, predict: `${base}:predict`, ready: `/v1/models/${name}` };
  }
  const base = `/v2/models/${name}${version !== undefined ? `/versions/${version}` : ''}`;
  return { status: base, metadata: base, predict: `${base}/infer`, ready: `${base}/ready` };
}

/** The versions that serve, from TF Serving's status or KServe's model metadata. */
export function readModelInfo(protocol: RemoteProtocol, body: unknown, where: RemoteWhere): RemoteModelInfo {
  if (!isJsonObject(body)) throw malformed(where, `${describeValue(body)} as the model's ${protocol === 'tfserving' ? 'status' : 'metadata'}`);
  if (protocol === 'tfserving') {
    const list = body.model_version_status;
    if (!Array.isArray(list)) throw malformed(where, 'a model status without "model_version_status"');
    const versions = list.filter((v) => isJsonObject(v) && v.state === 'AVAILABLE').map((v) => versionNumber((v as Record<string, unknown>).version, where));
    return { versions: sortDown(versions) };
  }
  if (body.versions === undefined || (Array.isArray(body.versions) && body.versions.length === 0)) return { versions: [1], unversioned: true };
  if (!Array.isArray(body.versions)) throw malformed(where, `"versions": ${describeValue(body.versions)}`);
  return { versions: sortDown(body.versions.map((v) => versionNumber(v, where))) };
}

function versionNumber(value: unknown, where: RemoteWhere): number {
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string' || !/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) throw malformed(where, `a version ${describeValue(value)} that is not a number`);
  return Number(text);
}

function sortDown(versions: number[]): number[] {
  return [...new Set(versions)].sort((a, b) => b - a);
}

/** The signature from TF Serving's metadata or KServe's model metadata; FAILED_PRECONDITION when a TF Serving tensor's rank is unknown. */
export function readSignature(protocol: RemoteProtocol, body: unknown, where: RemoteWhere): Signature {
  if (!isJsonObject(body)) throw malformed(where, `${describeValue(body)} as the model's metadata`);
  return protocol === 'tfserving' ? tfSignature(body, where) : kserveSignature(body, where);
}

function tfSignature(body: Record<string, unknown>, where: RemoteWhere): Signature {
  const defs = (body.metadata as { signature_def?: { signature_def?: unknown } } | undefined)?.signature_def?.signature_def;
  if (!isJsonObject(defs)) throw malformed(where, 'metadata without "metadata.signature_def.signature_def"');
  const def = defs.serving_default;
  if (!isJsonObject(def)) throw malformed(where, `metadata without a "serving_default" signature (signatures: ${Object.keys(defs).join(', ') || 'none'}); only serving_default is used`);
  const specs = (map: unknown, side: string): TensorSpec[] => {
    if (!isJsonObject(map)) throw malformed(where, `a serving_default signature without "${side}"`);
    const out: TensorSpec[] = [];
    for (const [name, info] of Object.entries(map)) {
      if (!isJsonObject(info)) throw malformed(where, `${side} "${name}" that is not a TensorInfo`);
      const type = TF_TYPE_OF.get(String(info.dtype));
      if (!type) throw malformed(where, `${side} "${name}" of dtype ${describeValue(info.dtype)}, which has no tensor type here`);
      const shape = info.tensor_shape as { dim?: unknown; unknown_rank?: unknown } | undefined;
      if (!isJsonObject(shape) || shape.unknown_rank === true) throw unknownRank(where, side === 'inputs' ? 'input' : 'output', name);
      const dims = shape.dim === undefined ? [] : shape.dim;
      if (!Array.isArray(dims)) throw malformed(where, `${side} "${name}" with a shape that is not a list of dims`);
      out.push({
        name,
        type,
        shape: dims.map((d: unknown) => {
          const size = Number((d as { size?: unknown } | null)?.size);
          const label = (d as { name?: unknown } | null)?.name;
          if (!Number.isInteger(size)) throw malformed(where, `${side} "${name}" with a dimension size ${describeValue((d as { size?: unknown } | null)?.size)}`);
          return size >= 0 ? size : typeof label === 'string' && label !== '' ? label : null;
        }),
      });
    }
    return out;
  };
  return { inputs: specs(def.inputs, 'inputs'), outputs: specs(def.outputs, 'outputs') };
}

function unknownRank(where: RemoteWhere, side: 'input' | 'output', name: string): ServingError {
  return new ServingError(
    'FAILED_PRECONDITION',
    `remote endpoint ${where.endpoint} (${describeWhere(where)}): ${side} "${name}" of its serving_default signature has unknown rank, which this runtime cannot serve (requests are validated against the shape, and TF Serving's JSON outputs are typed by the signature); export the SavedModel with a shape for "${name}", e.g. tf.TensorSpec([None, 16])`,
    { model: where.model, ...(where.version !== undefined ? { version: where.version } : {}), ...(side === 'input' ? { input: name } : {}), data: { endpoint: where.endpoint, [side]: name } },
  );
}

function kserveSignature(body: Record<string, unknown>, where: RemoteWhere): Signature {
  const specs = (list: unknown, side: string): TensorSpec[] => {
    if (list === undefined) return [];
    if (!Array.isArray(list)) throw malformed(where, `"${side}": ${describeValue(list)}`);
    return list.map((t: unknown) => {
      if (!isJsonObject(t) || typeof t.name !== 'string') throw malformed(where, `an entry of "${side}" without a name`);
      const type = tensorTypeOf(t.datatype);
      if (!type) throw malformed(where, `${side} "${t.name}" of datatype ${describeValue(t.datatype)}`);
      if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isInteger(d))) throw malformed(where, `${side} "${t.name}" with shape ${describeValue(t.shape)}`);
      return { name: t.name, type, shape: (t.shape as number[]).map((d) => (d >= 0 ? d : null)) };
    });
  };
  return { inputs: specs(body.inputs, 'inputs'), outputs: specs(body.outputs, 'outputs') };
}

/**
 * A binary KServe answer whose `Inference-Header-Content-Length` cannot be read: a cross-origin
 * endpoint must expose it (CORS hides every response header not listed), or the JSON header and
 * the tensors after it cannot be told apart. The endpoint answered well; its CORS config is the
 * cause, so this is FAILED_PRECONDITION, not DATA_LOSS.
 */
export function unexposedHeaderLength(where: RemoteWhere): ServingError {
  return new ServingError(
    'FAILED_PRECONDITION',
    `remote endpoint ${where.endpoint} (${describeWhere(where)}) answered with binary tensors, but its ${INFERENCE_HEADER_LENGTH} header cannot be read from this page: the endpoint must send Access-Control-Expose-Headers: ${INFERENCE_HEADER_LENGTH} (or set remote.binary: false to use JSON)`,
    { model: where.model, ...(where.version !== undefined ? { version: where.version } : {}), data: { endpoint: where.endpoint } },
  );
}

/** Whether KServe's `GET /v2` lists the binary tensor extension. */
export function hasBinaryExtension(body: unknown): boolean {
  return isJsonObject(body) && Array.isArray(body.extensions) && body.extensions.includes('binary_tensor_data');
}

/**
 * The predict request. TF Serving: columnar JSON. KServe: JSON tensors, or binary tensors when
 * `binary` (the server lists the extension); FP16 has no JSON form, so without it an FP16
 * input is INVALID_ARGUMENT naming it.
 */
export function encodePredict(protocol: RemoteProtocol, path: string, inputs: Readonly<Record<string, TensorData>>, outputs: readonly string[] | undefined, binary: boolean, where: RemoteWhere): EncodedRequest {
  const json = { 'Content-Type': 'application/json' };
  if (protocol === 'tfserving') {
    const columns = Object.entries(inputs).map(([name, tensor]) => `${JSON.stringify(name)}:${nestedJSON(tensor)}`);
    return { path, body: `{"inputs":{${columns.join(',')}}}`, headers: json };
  }
  const requested = outputs === undefined ? '' : `,"outputs":[${outputs.map((name) => `{"name":${JSON.stringify(name)}${binary ? ',"parameters":{"binary_data":true}' : ''}}`).join(',')}]`;
  if (!binary) {
    const tensors = Object.entries(inputs).map(([name, tensor]) => {
      if (tensor.type === 'float16') {
        throw new ServingError('INVALID_ARGUMENT', `model "${where.model}": input "${name}" is float16, which KServe's JSON tensors cannot carry, and ${where.endpoint} does not list the binary tensor extension`, { model: where.model, input: name });
      }
      return `{${tensorHead(name, tensor)},"data":${flatJSON(tensor)}}`;
    });
    return { path, body: `{"inputs":[${tensors.join(',')}]${requested}}`, headers: json };
  }
  const blobs = Object.entries(inputs).map(([name, tensor]) => ({ name, tensor, bytes: tensorBytes(tensor) }));
  const head = blobs.map(({ name, tensor, bytes }) => `{${tensorHead(name, tensor)},"parameters":{"binary_data_size":${bytes.byteLength}}}`);
  const header = new TextEncoder().encode(`{"inputs":[${head.join(',')}]${requested},"parameters":{"binary_data_output":true}}`);
  const body = new Uint8Array(header.byteLength + blobs.reduce((n, b) => n + b.bytes.byteLength, 0));
  body.set(header, 0);
  let at = header.byteLength;
  for (const { bytes } of blobs) {
    body.set(bytes, at);
    at += bytes.byteLength;
  }
  return { path, body, headers: { 'Content-Type': 'application/octet-stream', [INFERENCE_HEADER_LENGTH]: String(header.byteLength) } };
}

function tensorHead(name: string, tensor: TensorData): string {
  return `"name":${JSON.stringify(name)},"shape":${JSON.stringify(tensor.dims)},"datatype":"${DATATYPE_OF[tensor.type]}"`;
}

/**
 * The outputs of a successful predict answer. TF Serving's are typed by `signature` (JSON lists
 * carry no dtype); KServe's carry their datatype. `requested` keeps only those outputs (TF
 * Serving's REST API has no output filter).
 */
export function decodePredict(protocol: RemoteProtocol, body: Uint8Array, headerLength: string | null, signature: Signature | undefined, requested: readonly string[] | undefined, where: RemoteWhere): Record<string, TensorData> {
  const all = protocol === 'tfserving' ? tfOutputs(body, signature, where) : kserveOutputs(body, headerLength, where);
  if (!requested) return all;
  const picked: Record<string, TensorData> = {};
  for (const name of requested) {
    const tensor = all[name];
    if (!tensor) throw malformed(where, `no output "${name}" (outputs: ${Object.keys(all).join(', ') || 'none'})`);
    picked[name] = tensor;
  }
  return picked;
}

function tfOutputs(bytes: Uint8Array, signature: Signature | undefined, where: RemoteWhere): Record<string, TensorData> {
  const body = parseAnswer(new TextDecoder().decode(bytes), where);
  if (!isJsonObject(body) || body.outputs === undefined) throw malformed(where, 'a :predict answer without "outputs"');
  const specs = signature?.outputs ?? [];
  const typeOf = (name: string): TensorType => {
    const spec = specs.find((s) => s.name === name);
    if (!spec) throw malformed(where, `an output "${name}" its signature does not have`);
    return spec.type;
  };
  const read = (name: string, value: unknown) => {
    try {
      return tensorFromNested(value, typeOf(name), `output "${name}"`);
    } catch (error) {
      if ((error as ServingError).code === 'DATA_LOSS') throw error;
      throw malformed(where, `output "${name}" that does not read as its type: ${(error as Error).message.slice(0, MAX_REMOTE_MESSAGE)}`);
    }
  };
  // One output: the bare tensor; several: an object output name → tensor.
  if (specs.length === 1) return { [specs[0]!.name]: read(specs[0]!.name, body.outputs) };
  if (!isJsonObject(body.outputs)) throw malformed(where, `"outputs" that is not an object of output name → tensor (the signature has ${specs.length} outputs)`);
  return Object.fromEntries(Object.entries(body.outputs).map(([name, value]) => [name, read(name, value)]));
}

function kserveOutputs(bytes: Uint8Array, headerLength: string | null, where: RemoteWhere): Record<string, TensorData> {
  const length = headerLength === null ? bytes.byteLength : Number(headerLength);
  if (!Number.isSafeInteger(length) || length < 0 || length > bytes.byteLength) throw malformed(where, `${INFERENCE_HEADER_LENGTH}: ${describeValue(headerLength)} for a body of ${bytes.byteLength} bytes`);
  const body = parseAnswer(new TextDecoder().decode(bytes.subarray(0, length)), where);
  if (!isJsonObject(body) || !Array.isArray(body.outputs)) throw malformed(where, 'an inference answer without an "outputs" list');
  const binary = bytes.subarray(length);
  let at = 0;
  const outputs: Record<string, TensorData> = {};
  for (const entry of body.outputs as unknown[]) {
    if (!isJsonObject(entry) || typeof entry.name !== 'string') throw malformed(where, 'an output without a name');
    const what = `output "${entry.name}"`;
    const type = tensorTypeOf(entry.datatype);
    if (!type || !isTensorType(type)) throw malformed(where, `${what} of datatype ${describeValue(entry.datatype)}`);
    if (!Array.isArray(entry.shape) || !entry.shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) throw malformed(where, `${what} with shape ${describeValue(entry.shape)}`);
    const dims = entry.shape as number[];
    const size = isJsonObject(entry.parameters) ? entry.parameters.binary_data_size : undefined;
    try {
      if (size !== undefined) {
        if (!Number.isSafeInteger(size) || (size as number) < 0 || at + (size as number) > binary.byteLength) throw malformed(where, `${what} whose binary_data_size ${describeValue(size)} reaches past the body`);
        outputs[entry.name] = tensorFromBytes(binary.subarray(at, at + (size as number)), type, dims, what);
        at += size as number;
      } else {
        outputs[entry.name] = tensorFromFlat(entry.data, type, dims, what);
      }
    } catch (error) {
      if ((error as ServingError).code === 'DATA_LOSS') throw error;
      throw malformed(where, `${what} that does not read as ${DATATYPE_OF[type]} [${dims.join(', ')}]: ${(error as Error).message.slice(0, MAX_REMOTE_MESSAGE)}`);
    }
  }
  return outputs;
}

/**
 * The ServingError for a non-2xx answer. Where TF Serving's table (PROTOCOLS.md) gives one code
 * per status, the code is that one: 400 INVALID_ARGUMENT, 404 NOT_FOUND, 429 RESOURCE_EXHAUSTED,
 * 499 CANCELLED, 503 UNAVAILABLE, 504 DEADLINE_EXCEEDED. The others are mapped for what the
 * caller can do about them here, not inverted from the table: 401/403 (UNAUTHENTICATED /
 * PERMISSION_DENIED there) are FAILED_PRECONDITION — the fix is this runtime's config
 * (`remote.headers` / `remote.credentials`), not the caller's; 501 (UNIMPLEMENTED) is
 * FAILED_PRECONDITION — the endpoint does not offer that API; 409 (ALREADY_EXISTS, ABORTED) and
 * 500 / other 5xx (UNKNOWN, INTERNAL, DATA_LOSS) are UNAVAILABLE — a fault on the endpoint's
 * side, which a retry (or the local version) may get past, and which must not read as this
 * runtime's INTERNAL or as data lost here. The endpoint's `{"error"}` message is kept, cut to
 * 300 characters.
 */
export function errorForStatus(status: number, text: string, where: RemoteWhere): ServingError {
  let message: string | undefined;
  try {
    const body = JSON.parse(text) as unknown;
    if (isJsonObject(body) && typeof body.error === 'string') message = body.error;
  } catch {
    // Not {"error"}: a proxy's HTML page, say. Its status still says what happened.
  }
  const code: ErrorCode =
    status === 400 ? 'INVALID_ARGUMENT'
    : status === 404 ? 'NOT_FOUND'
    : status === 429 ? 'RESOURCE_EXHAUSTED'
    : status === 499 ? 'CANCELLED'
    : status === 504 ? 'DEADLINE_EXCEEDED'
    : status === 401 || status === 403 || status === 501 ? 'FAILED_PRECONDITION'
    : status >= 500 || status === 409 ? 'UNAVAILABLE'
    : 'INVALID_ARGUMENT';
  const said = message === undefined ? 'with no {"error"} body' : `: ${message.length > MAX_REMOTE_MESSAGE ? `${message.slice(0, MAX_REMOTE_MESSAGE)}…` : message}`;
  const hint = status === 401 || status === 403 ? ' (the endpoint wants credentials: set remote.headers, e.g. Authorization, or remote.credentials)' : '';
  return new ServingError(code, `remote endpoint ${where.endpoint} answered HTTP ${status} for ${describeWhere(where)} ${said}${hint}`, {
    model: where.model,
    ...(where.version !== undefined ? { version: where.version } : {}),
    data: { endpoint: where.endpoint, httpStatus: status, ...(code === 'UNAVAILABLE' ? { retryable: true } : {}) },
  });
}
