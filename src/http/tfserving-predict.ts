/**
 * The body of TF Serving's `:predict`, both ways (`util/json_tensor.cc`).
 *
 * Request: an object with an optional `signature_name` (absent, `""` or `serving_default`: an
 * ONNX model has that one signature) and exactly one of
 * - `instances` (row format): a non-empty list, one entry per row. With one input, each entry is
 *   the row's value (a bare value or list); with several, an object input name → value. Every
 *   row must have the same shape: the rows are stacked along a new dimension 0.
 * - `inputs` (columnar format): with one input, the tensor itself (or an object naming it); with
 *   several, an object input name → tensor (nested lists).
 * The signature gives each input's type (so `[1, 2]` becomes a `BigInt64Array` for an int64
 * input); a name the signature does not have is INVALID_ARGUMENT.
 *
 * Response: row format → `{"predictions": [...]}`, one entry per row of dimension 0: the bare
 * value with one output, an object output name → value with several (every output must then have
 * the same dimension 0). Columnar → `{"outputs": <tensor>}` with one output, an object with
 * several. String outputs whose name ends in `_bytes` are written as `{"b64": "..."}`.
 */
import { describeValue } from '../core/describe-value.js';
import { ServingError } from '../core/serving-error.js';
import type { Signature, TensorData } from '../protocol.js';
import { isB64Object, isJsonObject, nestedJSON, rowsJSON, tensorFromNested } from './json-tensor.js';

export type PredictFormat = 'row' | 'columnar';

export interface DecodedPredict {
  readonly format: PredictFormat;
  readonly inputs: Record<string, TensorData>;
}

const DEFAULT_SIGNATURE = 'serving_default';

/** Reads a parsed `:predict` body against the version's signature; INVALID_ARGUMENT for anything malformed. */
export function decodePredictBody(body: unknown, signature: Signature): DecodedPredict {
  if (!isJsonObject(body)) throw invalid(`JSON Value: ${describeValue(body)} Is not object`);
  checkSignatureName(body.signature_name);
  const hasInstances = body.instances !== undefined;
  const hasInputs = body.inputs !== undefined;
  if (hasInstances && hasInputs) throw invalid(`expecting only one of 'inputs' or 'instances' keys, got both`);
  if (hasInstances) return { format: 'row', inputs: inputsFromInstances(body.instances, signature) };
  if (hasInputs) return { format: 'columnar', inputs: inputsFromColumns(body.inputs, signature) };
  throw invalid(`Missing 'inputs' or 'instances' key`);
}

/**
 * The response body for `outputs`, listed in `order` (the signature's) and then any others.
 * INVALID_ARGUMENT when the row format cannot hold them (a scalar, or dimension 0 differing).
 */
export function encodePredictResponse(format: PredictFormat, outputs: Readonly<Record<string, TensorData>>, order: readonly string[]): string {
  const names = [...order.filter((name) => name in outputs), ...Object.keys(outputs).filter((name) => !order.includes(name))];
  if (names.length === 0) throw invalid('the model returned no outputs');
  const bytes = (name: string) => name.endsWith('_bytes') && outputs[name]!.type === 'string';
  if (format === 'columnar') {
    if (names.length === 1) return `{"outputs":${nestedJSON(outputs[names[0]!]!, bytes(names[0]!))}}`;
    return `{"outputs":{${names.map((name) => `${JSON.stringify(name)}:${nestedJSON(outputs[name]!, bytes(name))}`).join(',')}}}`;
  }
  const rows = names.map((name) => rowsOf(name, outputs[name]!, bytes(name)));
  const batch = rows[0]!.length;
  rows.forEach((r, i) => {
    if (r.length !== batch) throw invalid(`output "${names[i]}" has ${r.length} rows but output "${names[0]}" has ${batch}: the row format ("instances") needs every output to share dimension 0; use the columnar format ("inputs")`);
  });
  if (names.length === 1) return `{"predictions":[${rows[0]!.join(',')}]}`;
  const objects = Array.from({ length: batch }, (_, row) => `{${names.map((name, i) => `${JSON.stringify(name)}:${rows[i]![row]}`).join(',')}}`);
  return `{"predictions":[${objects.join(',')}]}`;
}

function rowsOf(name: string, tensor: TensorData, bytes: boolean): string[] {
  if (tensor.dims.length === 0) throw invalid(`output "${name}" is a scalar: the row format ("instances") needs every output to have a batch dimension; use the columnar format ("inputs")`);
  return rowsJSON(tensor, bytes);
}

function checkSignatureName(name: unknown): void {
  if (name === undefined || name === '' || name === DEFAULT_SIGNATURE) return;
  if (typeof name !== 'string') throw invalid(`'signature_name' must be a string, got ${describeValue(name)}`);
  throw invalid(`Serving signature name: "${name}" not found in signature def: an ONNX model has one signature, "${DEFAULT_SIGNATURE}"`);
}

function inputsFromInstances(instances: unknown, signature: Signature): Record<string, TensorData> {
  if (!Array.isArray(instances)) throw invalid(`expecting 'instances' to be a list, got ${describeValue(instances)}`);
  if (instances.length === 0) throw invalid(`No values in 'instances' list`);
  const named = isNamedObject(instances[0]);
  if (!named) {
    const only = soleInput(signature, 'instances is a plain list, but the signature has several inputs: give each instance as an object input name → value');
    const rows = instances.map((row, i) => {
      if (isNamedObject(row)) throw invalid(`expecting a value or list but got an object at item ${i} of 'instances'`);
      return row as unknown;
    });
    return { [only.name]: tensorFromNested(rows, only.type, `input "${only.name}"`) };
  }
  const keys = Object.keys(instances[0] as object);
  const columns = new Map<string, unknown[]>(keys.map((key) => [key, []]));
  instances.forEach((row, i) => {
    if (!isNamedObject(row)) throw invalid(`expecting an object but got ${describeValue(row)} at item ${i} of 'instances'`);
    const rowKeys = Object.keys(row);
    if (rowKeys.length !== keys.length || !rowKeys.every((key) => columns.has(key))) {
      throw invalid(`item ${i} of 'instances' has keys ${rowKeys.join(', ')}, but item 0 has ${keys.join(', ')}: every instance must name the same inputs`);
    }
    for (const key of rowKeys) columns.get(key)!.push(row[key]);
  });
  return Object.fromEntries(keys.map((key) => [key, tensorFromNested(columns.get(key), specOf(signature, key).type, `input "${key}"`)]));
}

function inputsFromColumns(inputs: unknown, signature: Signature): Record<string, TensorData> {
  if (!isNamedObject(inputs)) {
    const only = soleInput(signature, `'inputs' is a plain value or list, but the signature has several inputs: give an object input name → tensor`);
    return { [only.name]: tensorFromNested(inputs, only.type, `input "${only.name}"`) };
  }
  return Object.fromEntries(Object.entries(inputs).map(([name, value]) => [name, tensorFromNested(value, specOf(signature, name).type, `input "${name}"`)]));
}

/** An object of named inputs: any JSON object but `{"b64": ...}`, which is a value. */
function isNamedObject(value: unknown): value is Record<string, unknown> {
  return isJsonObject(value) && !isB64Object(value);
}

function soleInput(signature: Signature, message: string) {
  if (signature.inputs.length !== 1) throw invalid(message);
  return signature.inputs[0]!;
}

function specOf(signature: Signature, name: string) {
  const spec = signature.inputs.find((input) => input.name === name);
  if (!spec) throw invalid(`the signature has no input "${name}" (its inputs: ${signature.inputs.map((input) => input.name).join(', ')})`);
  return spec;
}

function invalid(message: string): ServingError {
  return new ServingError('INVALID_ARGUMENT', message);
}
