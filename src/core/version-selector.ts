/**
 * Which version a request addresses — `version`, or `label`, or neither for the latest — checked
 * the same way on the main thread (before routing) and in the control worker.
 */
import { describeValue } from './describe-value.js';
import { isValidVersion } from './servable-id.js';
import { ServingError } from './serving-error.js';

export interface CheckedSelector {
  readonly model: string;
  readonly version?: number;
  readonly label?: string;
}

/** Reads `model`, `version` and `label` once (a getter that throws is the caller's mistake); INVALID_ARGUMENT for anything malformed. */
export function validateSelector(selector: unknown): CheckedSelector {
  if (typeof selector !== 'object' || selector === null) {
    throw new ServingError('INVALID_ARGUMENT', `the request must be an object with a "model", got ${describeValue(selector)}`);
  }
  let model: unknown, version: unknown, label: unknown;
  try {
    ({ model, version, label } = selector as Record<string, unknown>);
  } catch (error) {
    throw new ServingError('INVALID_ARGUMENT', `the request could not be read: ${(error as Error)?.message ?? String(error)}`);
  }
  if (typeof model !== 'string' || model === '') {
    throw new ServingError('INVALID_ARGUMENT', `request.model must be a non-empty string, got ${describeValue(model)}`);
  }
  if (version !== undefined && label !== undefined) {
    throw new ServingError('INVALID_ARGUMENT', `model "${model}": give version or label, not both`, { model });
  }
  if (version !== undefined && !isValidVersion(version)) {
    throw new ServingError('INVALID_ARGUMENT', `model "${model}": version must be a non-negative integer, got ${describeValue(version)}`, { model });
  }
  if (label !== undefined && (typeof label !== 'string' || label === '')) {
    throw new ServingError('INVALID_ARGUMENT', `model "${model}": label must be a non-empty string, got ${describeValue(label)}`, { model });
  }
  return { model, ...(version !== undefined ? { version: version as number } : {}), ...(label !== undefined ? { label: label as string } : {}) };
}
