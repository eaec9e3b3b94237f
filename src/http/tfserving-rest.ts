/**
 * TF Serving's REST API (v1), as `tensorflow_serving/g3doc/api_rest.md` and
 * `model_servers/http_rest_api_*.cc` define it, answered from a `ServingLike`.
 *
 * Routes (matched case-insensitively; a version is digits, a label `[A-Za-z0-9_]+`; the model
 * name is URL-decoded):
 *
 *     GET  /v1/models/{name}[/versions/{v}|/labels/{l}]            → status
 *     GET  /v1/models/{name}[/versions/{v}|/labels/{l}]/metadata   → metadata (latest version by default)
 *     POST /v1/models/{name}[/versions/{v}|/labels/{l}]:predict    → predict (body: tfserving-predict.ts)
 *     POST …:classify, …:regress                                    → 501: they need tf.Example inputs
 *     GET  /v1/models                                               → every model's status (an extension:
 *                                                                    TF Serving answers 400 here; asked for
 *                                                                    in tensorflow/serving #795, #1488)
 *
 * Anything else under `/v1/` is 400 `Malformed request: <METHOD> <path>`, as in TF Serving.
 *
 * A predict call, in order: the body is parsed (400 before the runtime is asked anything) →
 * `metadata()` resolves the version (a label or "latest" becomes a number) and gives the
 * signature, whose dtypes type the JSON values — kept per model until its versions change, so
 * that most predictions ask the runtime once (metadata-cache.ts) → `predict()` runs on *that* version, so the
 * signature used to read the request is the one that runs it → the outputs are written in the
 * request's format. Status differs from TF Serving in one place: with a label, only the labelled
 * version is listed (TF Serving ignores the label and lists every version).
 *
 * Every failure is `{"error": "<message>"}` with TF Serving's HTTP status for its code.
 */
import { ServingError } from '../core/serving-error.js';
import type { ModelMetadata, ModelVersionStatus, TensorSpec, TensorType } from '../protocol.js';
import { errorResponse, jsonResponse, responseForError } from './error-response.js';
import { MetadataCache } from './metadata-cache.js';
import { parseRequestJSON } from './request-json.js';
import { listModels, type OnServed, type ServingLike } from './serving-like.js';
import { decodePredictBody, encodePredictResponse } from './tfserving-predict.js';

const MODEL = String.raw`/v1/models/([^/:]+)(?:/versions/(\d+)|/labels/([A-Za-z0-9_]+))?`;
const STATUS_ROUTE = new RegExp(`^${MODEL}(/metadata)?$`, 'i');
const PREDICT_ROUTE = new RegExp(`^${MODEL}:(predict|classify|regress)$`, 'i');
const LIST_ROUTE = /^\/v1\/models\/?$/i;

/** TF Serving's DataType names. */
export const TF_DTYPE_OF: Readonly<Record<TensorType, string>> = {
  float32: 'DT_FLOAT',
  float16: 'DT_HALF',
  float64: 'DT_DOUBLE',
  int8: 'DT_INT8',
  int16: 'DT_INT16',
  int32: 'DT_INT32',
  int64: 'DT_INT64',
  uint8: 'DT_UINT8',
  uint16: 'DT_UINT16',
  uint32: 'DT_UINT32',
  uint64: 'DT_UINT64',
  bool: 'DT_BOOL',
  string: 'DT_STRING',
};

interface Target {
  readonly model: string;
  readonly version?: number;
  readonly label?: string;
}

/**
 * Answers one request whose path (below any mount point) starts with `/v1/`. Never rejects:
 * every failure is an error response. `onServed` hears of each successful prediction.
 */
export async function handleTfServingRest(serving: ServingLike, request: Request, path: string, onServed?: OnServed, metadata: MetadataCache = new MetadataCache(serving)): Promise<Response> {
  try {
    const method = request.method.toUpperCase();
    if (method === 'GET' && LIST_ROUTE.test(path)) return jsonResponse({ models: await allModelStatus(serving) });
    const status = method === 'GET' ? STATUS_ROUTE.exec(path) : null;
    if (status) {
      const target = targetOf(status);
      return jsonResponse(status[4] ? metadataBody(await serving.metadata(target.model, selectOf(target))) : await statusBody(serving, target));
    }
    const predict = method === 'POST' ? PREDICT_ROUTE.exec(path) : null;
    if (predict) {
      const verb = predict[4]!.toLowerCase();
      if (verb !== 'predict') {
        return errorResponse('UNIMPLEMENTED', `${verb} is not implemented: it takes tf.Example inputs and a ${verb === 'classify' ? 'classification' : 'regression'} signature, which ONNX models do not have; use :predict`);
      }
      return await predictResponse(serving, request, targetOf(predict), onServed, metadata);
    }
    return errorResponse('INVALID_ARGUMENT', `Malformed request: ${method} ${path}`);
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
  const version = match[2] === undefined ? undefined : Number(match[2]);
  if (version !== undefined && !Number.isSafeInteger(version)) throw new ServingError('INVALID_ARGUMENT', `Failed to convert version: ${match[2]} to numeric.`);
  return { model, ...(version !== undefined ? { version } : {}), ...(match[3] !== undefined ? { label: match[3] } : {}) };
}

function selectOf(target: Target): { version?: number; label?: string } {
  return target.version !== undefined ? { version: target.version } : target.label !== undefined ? { label: target.label } : {};
}

async function statusBody(serving: ServingLike, target: Target): Promise<unknown> {
  const { model, version, label } = target;
  const status = await serving.status(model);
  let versions = status.versions;
  if (label !== undefined) {
    const labelled = status.labels[label];
    if (labelled === undefined) throw new ServingError('NOT_FOUND', `model "${model}" has no label "${label}"`, { model, label });
    versions = versions.filter((v) => v.version === labelled);
  } else if (version !== undefined) {
    versions = versions.filter((v) => v.version === version);
    if (versions.length === 0) throw new ServingError('NOT_FOUND', `Could not find version ${version} of model ${model}`, { model, version });
  }
  if (versions.length === 0) throw new ServingError('NOT_FOUND', `Could not find any versions of model ${model}`, { model });
  return { model_version_status: versions.map(versionStatus) };
}

function versionStatus(v: ModelVersionStatus): unknown {
  return {
    version: String(v.version),
    state: v.state,
    status: { error_code: v.error?.code ?? 'OK', error_message: v.error?.message ?? '' },
  };
}

/** Extension: every model, each as `{ name, model_version_status }`; a model gone meanwhile is left out. */
async function allModelStatus(serving: ServingLike): Promise<unknown[]> {
  const names = await listModels(serving);
  const statuses = await Promise.all(
    names.map(async (name) => {
      try {
        const status = await serving.status(name);
        return { name, model_version_status: status.versions.map(versionStatus) };
      } catch (error) {
        if ((error as ServingError)?.code === 'NOT_FOUND') return undefined;
        throw error;
      }
    }),
  );
  return statuses.filter((s) => s !== undefined);
}

function metadataBody(metadata: ModelMetadata): unknown {
  const signature = requireSignature(metadata);
  const tensorMap = (specs: readonly TensorSpec[]) => Object.fromEntries(specs.map((spec) => [spec.name, tensorInfo(spec)]));
  return {
    model_spec: { name: metadata.model, signature_name: '', version: String(metadata.version) },
    metadata: {
      signature_def: {
        signature_def: {
          serving_default: {
            inputs: tensorMap(signature.inputs),
            outputs: tensorMap(signature.outputs),
            method_name: 'tensorflow/serving/predict',
            defaults: {},
          },
        },
      },
    },
  };
}

/** A signature entry as TF's TensorInfo: sizes as strings, -1 where the size varies (a symbolic dimension keeps its name). */
function tensorInfo(spec: TensorSpec): unknown {
  return {
    dtype: TF_DTYPE_OF[spec.type],
    tensor_shape: {
      dim: spec.shape.map((d) => (typeof d === 'number' ? { size: String(d), name: '' } : { size: '-1', name: d ?? '' })),
      unknown_rank: false,
    },
    name: spec.name,
  };
}

function requireSignature(metadata: ModelMetadata) {
  if (metadata.signature) return metadata.signature;
  throw new ServingError(
    'FAILED_PRECONDITION',
    `model "${metadata.model}" version ${metadata.version} is a ${metadata.platform} servable, which has no signature_def: it cannot serve :predict`,
    { model: metadata.model, version: metadata.version },
  );
}

async function predictResponse(serving: ServingLike, request: Request, target: Target, onServed: OnServed | undefined, cache: MetadataCache): Promise<Response> {
  const body = parseRequestJSON(await request.text());
  const select = selectOf(target);
  const run = async () => {
    const metadata = await cache.get(target.model, select);
    const signature = requireSignature(metadata);
    const { format, inputs } = decodePredictBody(body, signature);
    const response = await serving.predict({ model: target.model, version: metadata.version, inputs, signal: request.signal });
    return { format, signature, response };
  };
  const cached = cache.has(target.model, select);
  let ran: Awaited<ReturnType<typeof run>>;
  try {
    ran = await run();
  } catch (error) {
    // The kept version was unloaded before the event saying so arrived: once more, with fresh metadata.
    if (!cached || !(error instanceof ServingError) || error.code !== 'NOT_FOUND') throw error;
    cache.forget(target.model);
    ran = await run();
  }
  const { format, signature, response } = ran;
  const text = encodePredictResponse(format, response.outputs, signature.outputs.map((output) => output.name));
  onServed?.({ model: target.model, version: response.version, api: 'predict' });
  return jsonResponse(text);
}
