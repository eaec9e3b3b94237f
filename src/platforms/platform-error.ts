/**
 * platformError: what a failure inside a platform's code becomes. A ServingError keeps its code —
 * also one thrown by a copy of the class bundled with the platform (same `name`, a canonical
 * `code`) — and gains the servable's model and version; an AbortError/TimeoutError (the call's
 * signal) maps as everywhere; anything else is INTERNAL naming the platform and the call: it is
 * a fault of code the runtime hosts, not of the request.
 */
import { ServingError, describeServable, isServingError } from '../core/serving-error.js';

export function platformError(error: unknown, where: { readonly platform: string; readonly model: string; readonly version: number; readonly call: string }): ServingError {
  const details = { model: where.model, version: where.version };
  const name = (error as { name?: unknown } | null)?.name;
  if (isServingError(error) || name === 'AbortError' || name === 'TimeoutError') return ServingError.from(error, details);
  const message = error instanceof Error ? error.message : String(error);
  return new ServingError('INTERNAL', `${describeServable(where.model, where.version)}: platform "${where.platform}" failed in ${where.call}: ${message}`, details, { cause: error });
}
