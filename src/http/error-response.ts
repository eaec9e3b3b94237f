/**
 * Failures on the wire. Every error a protocol handler answers is `{"error": "<message>"}` with
 * the HTTP status TF Serving gives the failure's canonical code (`http_server.cc`,
 * `ToHTTPStatusCode`); KServe's protocol asks only for "an HTTP error status (typically 400)" and
 * the same body, so both protocols share this one table.
 *
 * Handlers throw `ServingError` (the runtime's rejections pass through as they are) and turn
 * whatever reaches them into a response with `responseForError()`: a handler never throws.
 * Codes the runtime never produces (UNIMPLEMENTED for `:classify`, say) are answered directly
 * with `errorResponse()`.
 */
import { isServingError } from '../core/serving-error.js';

/** Every canonical status code (gRPC's), by name — a superset of the runtime's `ErrorCode`. */
export type CanonicalCode =
  | 'OK'
  | 'CANCELLED'
  | 'UNKNOWN'
  | 'INVALID_ARGUMENT'
  | 'DEADLINE_EXCEEDED'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'PERMISSION_DENIED'
  | 'RESOURCE_EXHAUSTED'
  | 'FAILED_PRECONDITION'
  | 'ABORTED'
  | 'OUT_OF_RANGE'
  | 'UNIMPLEMENTED'
  | 'INTERNAL'
  | 'UNAVAILABLE'
  | 'DATA_LOSS'
  | 'UNAUTHENTICATED';

/** TF Serving's HTTP status for each canonical code. */
export const HTTP_STATUS_OF: Readonly<Record<CanonicalCode, number>> = {
  OK: 200,
  CANCELLED: 499,
  UNKNOWN: 500,
  INVALID_ARGUMENT: 400,
  DEADLINE_EXCEEDED: 504,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  PERMISSION_DENIED: 403,
  RESOURCE_EXHAUSTED: 429,
  FAILED_PRECONDITION: 400,
  ABORTED: 409,
  OUT_OF_RANGE: 400,
  UNIMPLEMENTED: 501,
  INTERNAL: 500,
  UNAVAILABLE: 503,
  DATA_LOSS: 500,
  UNAUTHENTICATED: 401,
};

/** The HTTP status of a canonical code name; 500 for a name that is not one. */
export function httpStatusOf(code: string): number {
  return Object.hasOwn(HTTP_STATUS_OF, code) ? HTTP_STATUS_OF[code as CanonicalCode] : 500;
}

/** A JSON response: `body` is sent as is when it is already JSON text, stringified otherwise. */
export function jsonResponse(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return new Response(text, { status, headers: { 'Content-Type': 'application/json', ...headers } });
}

/** `{"error": message}` with the HTTP status of `code`. */
export function errorResponse(code: CanonicalCode, message: string, headers: Record<string, string> = {}): Response {
  return jsonResponse({ error: message }, httpStatusOf(code), headers);
}

/**
 * The response for anything a handler caught: a `ServingError` keeps its code and message;
 * anything else is INTERNAL (500) with its message, since it is a fault of ours, not the caller's.
 */
export function responseForError(error: unknown): Response {
  if (isServingError(error)) return errorResponse(error.code, error.message);
  const message = error instanceof Error ? error.message : String(error);
  return errorResponse('INTERNAL', `internal error: ${message}`);
}
