/**
 * BatchingOptions: a model's `batching` config, validated and with TF Serving's defaults filled
 * in, plus the two questions asked of it — may this model be batched at all, and which size
 * does a batch of `n` rows run at.
 *
 * - `validateBatchingConfig()` runs with the rest of the config (`server-config.ts`), before
 *   anything is applied: every problem is an INVALID_ARGUMENT naming the model and the field.
 * - `assertBatchable()` runs at load, once the signature is known: a model whose inputs or
 *   outputs lack a symbolic first dimension cannot be split back per caller, so its version
 *   fails to load with FAILED_PRECONDITION (the config is well-formed; the model does not meet
 *   its precondition) naming the offending input or output.
 */
import type { ServableId } from '../core/servable-id.js';
import { ServingError, describeServable } from '../core/serving-error.js';
import { formatShape } from '../loaders/signature-validation.js';
import type { BatchingConfig, Signature } from '../protocol.js';
import { describeValue } from '../core/describe-value.js';

export interface BatchingOptions {
  readonly maxBatchSize: number;
  readonly batchTimeoutMicros: number;
  readonly maxEnqueuedBatches: number;
  /** Empty when every size up to `maxBatchSize` is allowed. */
  readonly allowedBatchSizes: readonly number[];
  readonly padVariableLengthInputs: boolean;
}

/** TF Serving's `BasicBatchScheduler` defaults. `maxBatchSize` has none here: TF Serving's 1000 rows is rarely what a page wants to hold in memory. */
export const DEFAULT_BATCH_TIMEOUT_MICROS = 0;
export const DEFAULT_MAX_ENQUEUED_BATCHES = 10;

const FIELDS: readonly (keyof BatchingConfig)[] = ['maxBatchSize', 'batchTimeoutMicros', 'maxEnqueuedBatches', 'allowedBatchSizes', 'padVariableLengthInputs'];

/** Checks `config` (a model's `batching`) and fills in defaults. Throws INVALID_ARGUMENT naming `model` and the field. */
export function validateBatchingConfig(model: string, config: unknown): BatchingOptions {
  const fail = (message: string): never => {
    throw new ServingError('INVALID_ARGUMENT', `model "${model}": batching${message}`, { model });
  };
  if (typeof config !== 'object' || config === null || Array.isArray(config)) return fail(` must be an object, got ${describeValue(config)}`);
  const c = config as Partial<Record<keyof BatchingConfig, unknown>>;
  for (const key of Object.keys(c)) {
    if (!(FIELDS as readonly string[]).includes(key)) fail(` has unknown field "${key}" (fields: ${FIELDS.join(', ')})`);
  }
  const integer = (field: keyof BatchingConfig, value: unknown, min: number): number => {
    if (!Number.isSafeInteger(value) || (value as number) < min) fail(`.${field} must be an integer ≥ ${min}, got ${describeValue(value)}`);
    return value as number;
  };
  const maxBatchSize = integer('maxBatchSize', c.maxBatchSize, 1);
  const batchTimeoutMicros = c.batchTimeoutMicros === undefined ? DEFAULT_BATCH_TIMEOUT_MICROS : integer('batchTimeoutMicros', c.batchTimeoutMicros, 0);
  const maxEnqueuedBatches = c.maxEnqueuedBatches === undefined ? DEFAULT_MAX_ENQUEUED_BATCHES : integer('maxEnqueuedBatches', c.maxEnqueuedBatches, 1);
  let allowedBatchSizes: readonly number[] = [];
  if (c.allowedBatchSizes !== undefined) {
    if (!Array.isArray(c.allowedBatchSizes) || c.allowedBatchSizes.length === 0) fail(`.allowedBatchSizes must be a non-empty array of integers, got ${describeValue(c.allowedBatchSizes)}`);
    const sizes = c.allowedBatchSizes as unknown[];
    sizes.forEach((size, i) => {
      integer('allowedBatchSizes', size, 1);
      if (i > 0 && (size as number) <= (sizes[i - 1] as number)) fail(`.allowedBatchSizes must be strictly increasing, got ${describeValue(sizes)}`);
    });
    if (sizes.at(-1) !== maxBatchSize) fail(`.allowedBatchSizes must end with maxBatchSize (${maxBatchSize}), got ${describeValue(sizes)}`);
    allowedBatchSizes = [...(sizes as number[])];
  }
  if (c.padVariableLengthInputs !== undefined && typeof c.padVariableLengthInputs !== 'boolean') fail(`.padVariableLengthInputs must be a boolean, got ${describeValue(c.padVariableLengthInputs)}`);
  return { maxBatchSize, batchTimeoutMicros, maxEnqueuedBatches, allowedBatchSizes, padVariableLengthInputs: c.padVariableLengthInputs === true };
}

/**
 * The size a batch of `rows` rows runs at: the smallest allowed size ≥ `rows`, or `rows` itself
 * when every size is allowed or when `rows` exceeds them all (a request larger than
 * `maxBatchSize`, which runs alone and unpadded).
 */
export function paddedBatchSize(options: BatchingOptions, rows: number): number {
  return options.allowedBatchSizes.find((size) => size >= rows) ?? rows;
}

/** Throws FAILED_PRECONDITION unless every input and output of `signature` has a symbolic (or unknown) first dimension. */
export function assertBatchable(id: ServableId, signature: Signature): void {
  const where = describeServable(id.name, id.version);
  const check = (kind: 'input' | 'output', spec: Signature['inputs'][number]) => {
    const first = spec.shape[0];
    if (spec.shape.length > 0 && (first === null || typeof first === 'string')) return;
    throw new ServingError(
      'FAILED_PRECONDITION',
      `${where}: batching is configured but ${kind} "${spec.name}" has no batch dimension (shape ${formatShape(spec.shape)}; its first dimension must be symbolic)`,
      { model: id.name, version: id.version, [kind]: spec.name },
    );
  };
  for (const spec of signature.inputs) check('input', spec);
  for (const spec of signature.outputs) check('output', spec);
}
