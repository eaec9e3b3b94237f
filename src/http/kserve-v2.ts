/**
 * KServe's Open Inference Protocol v2 (REST), with the binary tensor data extension, answered
 * from a `ServingLike`.
 *
 *     GET  /v2                                   → {"name", "version", "extensions": ["binary_tensor_data"]}
 *     GET  /v2/health/live                       → 200 {"live": true} (this handler answers, so it is live)
 *     GET  /v2/health/ready                      → 200 {"ready": true} when every model has an AVAILABLE
 *                                                  version, else 400 {"ready": false} (the spec's 4xx for false)
 *     GET  /v2/models/{m}[/versions/{v}]         → {"name", "versions" (AVAILABLE ones, as strings),
 *                                                  "platform": "onnx_onnxv1", "inputs", "outputs"} (-1: variable)
 *     GET  /v2/models/{m}[/versions/{v}]/ready   → 200 {"name", "ready": true}, else 400 with false
 *     POST /v2/models/{m}[/versions/{v}]/infer   → inference
 *
 * Infer, JSON: `{"id"?, "parameters"?, "inputs": [{"name", "shape", "datatype", "data"}], "outputs"?:
 * [{"name", "parameters"?}]}`; `data` is row-major, flat or nested. The response is
 * `{"model_name", "model_version", "id"? (echoed), "outputs": [{"name", "datatype", "shape", "data"}]}`,
 * outputs in the order requested (all of them, in the model's order, when none are).
 *
 * Infer, binary: the `Inference-Header-Content-Length` request header gives the JSON header's
 * byte length; after it come the inputs that carry `parameters.binary_data_size` instead of
 * `data`, in input order (layout in `kserve-tensors.ts`). An output is returned binary when its
 * `parameters.binary_data` is true, or when the request's `parameters.binary_data_output` is and
 * the output does not say false. With any binary output the response is `application/octet-stream`:
 * the JSON header (those outputs carry `parameters.binary_data_size`), then their bytes in output
 * order, the header's length in `Inference-Header-Content-Length`. FP16 travels only as binary.
 *
 * Errors: `{"error": "<message>"}`, status from the canonical code (400, 404 for an unknown model
 * or version, 503 while the runtime is unavailable, …); 404 for a path this protocol does not
 * have, 405 for a method a path does not take.
 */
import { describeValue } from '../core/describe-value.js';
import { ServingError } from '../core/serving-error.js';
import type { TensorData, TensorSpec } from '../protocol.js';
import { errorResponse, jsonResponse, responseForError } from './error-response.js';
import { flatJSON, isJsonObject, tensorFromFlat } from './json-tensor.js';
import { DATATYPE_OF, tensorBytes, tensorFromBytes, tensorTypeOf } from './kserve-tensors.js';
import { parseRequestJSON } from './request-json.js';
import { listModels, type OnServed, type ServingLike } from './serving-like.js';

/** What `GET /v2` reports. */
export interface KServeServerInfo {
  /** @defaultValue 'browserving' */
  readonly name?: string;
  /** @defaultValue 'unknown' — pass your build's version */
  readonly version?: string;
}

export const KSERVE_EXTENSIONS: readonly string[] = ['binary_tensor_data'];

const HEADER_LENGTH = 'Inference-Header-Content-Length';
const MODEL_ROUTE = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(?:\/(ready|infer))?$/;
const UTF8 = new TextDecoder('utf-8', { fatal: true });

interface Target {
  readonly model: string;
  readonly version?: number;
}

interface RequestedOutput {
  readonly name: string;
  readonly binary: boolean;
}

/** Answers one request whose path (below any mount point) is `/v2` or starts with `/v2/`. Never rejects. */
export async function handleKServeV2(serving: ServingLike, request: Request, path: string, options: { server?: KServeServerInfo; onServed?: OnServed } = {}): Promise<Response> {
  try {
    const method = request.method.toUpperCase();
    const notAllowed = (allowed: string) => jsonResponse({ error: `${method} is not allowed on ${path}: use ${allowed}` }, 405, { Allow: allowed });
    if (path === '/v2' || path === '/v2/') {
      if (method !== 'GET') return notAllowed('GET');
      return jsonResponse({ name: options.server?.name ?? 'browserving', version: options.server?.version ?? 'unknown', extensions: KSERVE_EXTENSIONS });
    }
    if (path === '/v2/health/live') return method === 'GET' ? jsonResponse({ live: true }) : notAllowed('GET');
    if (path === '/v2/health/ready') return method === 'GET' ? await serverReady(serving) : notAllowed('GET');
    const match = MODEL_ROUTE.exec(path);
    if (!match) return errorResponse('NOT_FOUND', `no such endpoint: ${method} ${path}`);
    const action = match[3];
    if (action === 'infer' && method !== 'POST') return notAllowed('POST');
    if (action !== 'infer' && method !== 'GET') return notAllowed('GET');
    const target = targetOf(match);
    if (action === 'infer') return await infer(serving, request, target, options.onServed);
    if (action === 'ready') return await modelReady(serving, target);
    return jsonResponse(await modelMetadata(serving, target));
  } catch (error) {
    return responseForError(error);
  }
}

function targetOf(match: RegExpExecArray): Target {
  let model: string;
  try {
    model = decodeURIComponent(match[1]!);
  } catch {
    throw new ServingError('INVALID_ARGUMENT', `Failed to decode model name: ${match[1]}`);
  }
  const text = match[2];
  if (text === undefined) return { model };
  const version = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(version)) throw new ServingError('INVALID_ARGUMENT', `model "${model}": version "${text}" is not a version number (digits)`, { model });
  return { model, version };
}

async function serverReady(serving: ServingLike): Promise<Response> {
  let ready: boolean;
  try {
    const statuses = await Promise.all((await listModels(serving)).map((name) => serving.status(name)));
    ready = statuses.every((status) => status.versions.some((v) => v.state === 'AVAILABLE'));
  } catch {
    ready = false;
  }
  return jsonResponse({ ready }, ready ? 200 : 400);
}

async function modelReady(serving: ServingLike, { model, version }: Target): Promise<Response> {
  const status = await serving.status(model);
  const ready = status.versions.some((v) => v.state === 'AVAILABLE' && (version === undefined || v.version === version));
  return jsonResponse({ name: model, ready }, ready ? 200 : 400);
}

async function modelMetadata(serving: ServingLike, { model, version }: Target): Promise<unknown> {
  const [status, metadata] = await Promise.all([serving.status(model), serving.metadata(model, version === undefined ? {} : { version })]);
  const describe = (spec: TensorSpec) => ({ name: spec.name, datatype: DATATYPE_OF[spec.type], shape: spec.shape.map((d) => (typeof d === 'number' ? d : -1)) });
  return {
    name: model,
    versions: status.versions.filter((v) => v.state === 'AVAILABLE').map((v) => String(v.version)),
    platform: metadata.platform === 'onnx' ? 'onnx_onnxv1' : `browserving_${metadata.platform}`,
    inputs: metadata.signature?.inputs.map(describe) ?? [],
    outputs: metadata.signature?.outputs.map(describe) ?? [],
  };
}

async function infer(serving: ServingLike, request: Request, target: Target, onServed: OnServed | undefined): Promise<Response> {
  const { header, binary } = await splitBody(request);
  const body = parseRequestJSON(header);
  if (!isJsonObject(body)) throw invalid(`the inference request must be a JSON object, got ${describeValue(body)}`);
  if (body.id !== undefined && typeof body.id !== 'string') throw invalid(`"id" must be a string, got ${describeValue(body.id)}`);
  const parameters = body.parameters === undefined ? {} : body.parameters;
  if (!isJsonObject(parameters)) throw invalid(`"parameters" must be an object, got ${describeValue(parameters)}`);
  const binaryOutput = parameters.binary_data_output ?? false;
  if (typeof binaryOutput !== 'boolean') throw invalid(`parameters.binary_data_output must be true or false, got ${describeValue(binaryOutput)}`);
  const inputs = readInputs(body.inputs, binary);
  const requested = readOutputs(body.outputs, binaryOutput);
  const response = await serving.predict({
    model: target.model,
    ...(target.version !== undefined ? { version: target.version } : {}),
    inputs,
    ...(requested ? { outputs: requested.map((r) => r.name) } : {}),
    signal: request.signal,
  });
  const outputs = requested ?? Object.keys(response.outputs).map((name) => ({ name, binary: binaryOutput }));
  const result = inferResponse(target.model, response.version, body.id as string | undefined, response.outputs, outputs);
  onServed?.({ model: target.model, version: response.version, api: 'infer' });
  return result;
}

/** The JSON header's text and the binary data after it (empty without `Inference-Header-Content-Length`). */
async function splitBody(request: Request): Promise<{ header: string; binary: Uint8Array }> {
  const bytes = new Uint8Array(await request.arrayBuffer());
  const declared = request.headers.get(HEADER_LENGTH);
  const length = declared === null ? bytes.byteLength : /^\d+$/.test(declared.trim()) ? Number(declared.trim()) : NaN;
  if (!(length <= bytes.byteLength)) {
    throw invalid(`${HEADER_LENGTH} must be a byte count no larger than the body (${bytes.byteLength} bytes), got ${describeValue(declared)}`);
  }
  try {
    return { header: UTF8.decode(bytes.subarray(0, length)), binary: bytes.subarray(length) };
  } catch {
    throw invalid('the JSON header is not UTF-8 text');
  }
}

function readInputs(value: unknown, binary: Uint8Array): Record<string, TensorData> {
  if (!Array.isArray(value)) throw invalid(`"inputs" must be a list of tensors, got ${describeValue(value)}`);
  const inputs: Record<string, TensorData> = {};
  let at = 0;
  value.forEach((input: unknown, i) => {
    if (!isJsonObject(input)) throw invalid(`inputs[${i}] must be an object, got ${describeValue(input)}`);
    const { name, datatype, shape, data } = input;
    if (typeof name !== 'string' || name === '') throw invalid(`inputs[${i}].name must be a non-empty string, got ${describeValue(name)}`);
    if (Object.hasOwn(inputs, name)) throw invalid(`input "${name}" is given twice`);
    const what = `input "${name}"`;
    const type = tensorTypeOf(datatype);
    if (!type) throw invalid(`${what}: datatype must be one of ${Object.values(DATATYPE_OF).join(', ')}, got ${describeValue(datatype)}`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
      throw invalid(`${what}: shape must be a list of non-negative integers, got ${describeValue(shape)}`);
    }
    const size = binaryDataSize(input.parameters, what);
    if (size === undefined) {
      if (data === undefined) throw invalid(`${what} has neither "data" nor parameters.binary_data_size`);
      if (type === 'float16') throw invalid(`${what}: FP16 has no JSON form; send it as binary data (parameters.binary_data_size)`);
      inputs[name] = tensorFromFlat(data, type, shape as number[], what);
      return;
    }
    if (data !== undefined) throw invalid(`${what} has both "data" and parameters.binary_data_size`);
    if (at + size > binary.byteLength) throw invalid(`${what}: binary_data_size ${size} reaches past the ${binary.byteLength} bytes of binary data after the JSON header`);
    inputs[name] = tensorFromBytes(binary.subarray(at, at + size), type, shape as number[], what);
    at += size;
  });
  if (at !== binary.byteLength) throw invalid(`${binary.byteLength - at} bytes of binary data after the JSON header belong to no input (binary_data_size)`);
  return inputs;
}

function binaryDataSize(parameters: unknown, what: string): number | undefined {
  if (parameters === undefined) return undefined;
  if (!isJsonObject(parameters)) throw invalid(`${what}: parameters must be an object, got ${describeValue(parameters)}`);
  const size = parameters.binary_data_size;
  if (size === undefined) return undefined;
  if (!Number.isSafeInteger(size) || (size as number) < 0) throw invalid(`${what}: binary_data_size must be a byte count, got ${describeValue(size)}`);
  return size as number;
}

/** The requested outputs with whether each travels binary, or `undefined` when the request names none. */
function readOutputs(value: unknown, binaryByDefault: boolean): RequestedOutput[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw invalid(`"outputs" must be a list, got ${describeValue(value)}`);
  const seen = new Set<string>();
  return value.map((output: unknown, i) => {
    if (!isJsonObject(output) || typeof output.name !== 'string') throw invalid(`outputs[${i}] must be an object with a "name", got ${describeValue(output)}`);
    if (seen.has(output.name)) throw invalid(`output "${output.name}" is requested twice`);
    seen.add(output.name);
    const parameters = output.parameters ?? {};
    if (!isJsonObject(parameters)) throw invalid(`output "${output.name}": parameters must be an object, got ${describeValue(parameters)}`);
    const binary = parameters.binary_data;
    if (binary !== undefined && typeof binary !== 'boolean') throw invalid(`output "${output.name}": binary_data must be true or false, got ${describeValue(binary)}`);
    return { name: output.name, binary: binary ?? binaryByDefault };
  });
}

function inferResponse(model: string, version: number, id: string | undefined, tensors: Readonly<Record<string, TensorData>>, outputs: readonly RequestedOutput[]): Response {
  const blobs: Uint8Array[] = [];
  const entries = outputs.map(({ name, binary }) => {
    const tensor = tensors[name];
    if (!tensor) throw new ServingError('INTERNAL', `the model returned no output "${name}"`, { model, version, output: name });
    const head = `"name":${JSON.stringify(name)},"datatype":"${DATATYPE_OF[tensor.type]}","shape":${JSON.stringify(tensor.dims)}`;
    if (binary) {
      const bytes = tensorBytes(tensor);
      blobs.push(bytes);
      return `{${head},"parameters":{"binary_data_size":${bytes.byteLength}}}`;
    }
    if (tensor.type === 'float16') throw invalid(`output "${name}" is FP16, which has no JSON form: request it with parameters.binary_data: true`);
    return `{${head},"data":${flatJSON(tensor)}}`;
  });
  const idField = id === undefined ? '' : `,"id":${JSON.stringify(id)}`;
  const json = `{"model_name":${JSON.stringify(model)},"model_version":"${version}"${idField},"outputs":[${entries.join(',')}]}`;
  if (blobs.length === 0) return jsonResponse(json);
  const header = new TextEncoder().encode(json);
  const body = new Uint8Array(header.byteLength + blobs.reduce((sum, b) => sum + b.byteLength, 0));
  body.set(header, 0);
  let at = header.byteLength;
  for (const blob of blobs) {
    body.set(blob, at);
    at += blob.byteLength;
  }
  return new Response(body, { status: 200, headers: { 'Content-Type': 'application/octet-stream', [HEADER_LENGTH]: String(header.byteLength) } });
}

function invalid(message: string): ServingError {
  return new ServingError('INVALID_ARGUMENT', message);
}
