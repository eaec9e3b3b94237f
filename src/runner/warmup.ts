/**
 * Warm-up inputs for a version: `warmup.json` when the version has one, otherwise zero-filled
 * tensors shaped from the signature.
 *
 * `warmup.json`: `{ "inputs": { "<name>": { "type": "float32", "dims": [1, 4], "data": [0, 0, 0, 0] } } }`
 * — int64/uint64 values as JSON numbers (integers), bool as 0/1, strings as strings.
 */
import type { ServableId } from '../core/servable-id.js';
import { ServingError, describeServable } from '../core/serving-error.js';
import { arrayFromJSON, isTensorType, zeroTensor } from '../loaders/tensor-types.js';
import type { Signature, TensorData } from '../protocol.js';
import { WARMUP_FILE } from '../sources/manifest.js';

/** Zero-filled inputs: fixed dimensions as they are, a symbolic first dimension 1 (a batch), other symbolic ones `size`. */
export function syntheticInputs(signature: Signature, size = 1): Record<string, TensorData> {
  return Object.fromEntries(
    signature.inputs.map((spec) => [spec.name, zeroTensor(spec.type, spec.shape.map((d, axis) => (typeof d === 'number' ? d : axis === 0 ? 1 : size)))]),
  );
}

export function parseWarmup(id: ServableId, bytes: Uint8Array): Record<string, TensorData> {
  const fail = (why: string): never => {
    throw new ServingError('INVALID_ARGUMENT', `${describeServable(id.name, id.version)}: invalid ${WARMUP_FILE}: ${why}`, { model: id.name, version: id.version });
  };
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    fail((error as Error).message);
  }
  const inputs = (json as { inputs?: unknown } | null)?.inputs;
  if (typeof inputs !== 'object' || inputs === null) fail('expected { "inputs": { name: { type, dims, data } } }');
  return Object.fromEntries(
    Object.entries(inputs as Record<string, { type?: unknown; dims?: unknown; data?: unknown }>).map(([name, t]): [string, TensorData] => {
      const { type, dims, data } = t;
      if (!isTensorType(type) || !Array.isArray(dims) || !Array.isArray(data)) return fail(`input "${name}" needs type, dims and data arrays`);
      try {
        return [name, { type, dims: dims as number[], data: arrayFromJSON(type, data) }];
      } catch (error) {
        // BigInt() throws a RangeError for a non-integer int64 value: the file is at fault, not the runtime.
        return fail(`input "${name}": ${(error as Error).message}`);
      }
    }),
  );
}
