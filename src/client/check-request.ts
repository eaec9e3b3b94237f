/**
 * Reads a caller's predict, predictStream, lookup and call requests once, field by field, before anything is sent: a getter that
 * throws, a non-object, a BigInt version, a `signal` that is not an AbortSignal, a bad
 * `timeoutMs` — each is INVALID_ARGUMENT naming the field, never a TypeError. The inputs'
 * contents are checked by the runner against the version's signature.
 */
import { describeValue } from '../core/describe-value.js';
import { RequestDeadline } from '../core/request-deadline.js';
import { ServingError } from '../core/serving-error.js';
import { validateSelector } from '../core/version-selector.js';
import { transferablesOf } from '../loaders/tensor-types.js';
import type { TensorData } from '../protocol.js';
import type { CheckedCall, CheckedPredict, CheckedStream } from './data-plane.js';

export function checkPredictRequest(request: unknown): CheckedPredict {
  const selector = validateSelector(request);
  const { model } = selector;
  const unreadable = (error: unknown) =>
    new ServingError('INVALID_ARGUMENT', `model "${model}": the request could not be read: ${(error as Error)?.message ?? String(error)}`, { model });
  let inputs: unknown, outputs: unknown, signal: unknown, timeoutMs: unknown, transferInputs: unknown;
  try {
    ({ inputs, outputs, signal, timeoutMs, transferInputs } = request as Record<string, unknown>);
  } catch (error) {
    throw unreadable(error);
  }
  if (typeof inputs !== 'object' || inputs === null || Array.isArray(inputs)) {
    throw new ServingError('INVALID_ARGUMENT', `model "${model}": inputs must be an object mapping input names to { type, data, dims } tensors, got ${describeValue(inputs)}`, { model });
  }
  if (outputs !== undefined && !Array.isArray(outputs)) {
    throw new ServingError('INVALID_ARGUMENT', `model "${model}": outputs must be an array of output names, got ${describeValue(outputs)}`, { model });
  }
  const deadline = new RequestDeadline(model, timeoutMs, signal);
  let transfer: Transferable[] = [];
  if (transferInputs !== false) {
    try {
      transfer = transferablesOf(Object.values(inputs as Record<string, TensorData>));
    } catch (error) {
      deadline.clear();
      throw unreadable(error);
    }
  }
  return { ...selector, inputs, ...(outputs !== undefined ? { outputs } : {}), transfer, deadline };
}

/** `predictStream`: a predict request plus `highWaterMark` (results the runner may produce ahead of the consumer, 1–1024, default 2). */
export function checkStreamRequest(request: unknown): CheckedStream {
  const checked = checkPredictRequest(request);
  let highWaterMark: unknown;
  try {
    ({ highWaterMark } = request as Record<string, unknown>);
  } catch {
    highWaterMark = undefined;
  }
  if (highWaterMark !== undefined && !(Number.isSafeInteger(highWaterMark) && (highWaterMark as number) >= 1 && (highWaterMark as number) <= 1024)) {
    checked.deadline.clear();
    throw new ServingError('INVALID_ARGUMENT', `model "${checked.model}": highWaterMark must be an integer from 1 to 1024 (results produced ahead of the consumer), got ${describeValue(highWaterMark)}`, { model: checked.model });
  }
  return { ...checked, highWaterMark: (highWaterMark as number | undefined) ?? 2 };
}

/** `lookup` (method `lookup`, its `keys` as the arguments) and `call` (a method of the servable's own and its `args`). */
export function checkCallRequest(request: unknown, kind: 'lookup' | 'call'): CheckedCall {
  const selector = validateSelector(request);
  const { model } = selector;
  let method: unknown, args: unknown, keys: unknown, signal: unknown, timeoutMs: unknown;
  try {
    ({ method, args, keys, signal, timeoutMs } = request as Record<string, unknown>);
  } catch (error) {
    throw new ServingError('INVALID_ARGUMENT', `model "${model}": the request could not be read: ${(error as Error)?.message ?? String(error)}`, { model });
  }
  if (kind === 'lookup') {
    if (!Array.isArray(keys)) throw new ServingError('INVALID_ARGUMENT', `model "${model}": keys must be an array of strings or of integers, got ${describeValue(keys)}`, { model, input: 'keys' });
    method = 'lookup';
    args = keys;
  } else if (typeof method !== 'string' || method === '' || method === 'lookup') {
    throw new ServingError('INVALID_ARGUMENT', `model "${model}": method must name one of the servable's methods (see metadata(model).apis), got ${describeValue(method)}${method === 'lookup' ? ' — use lookup() for that' : ''}`, { model });
  }
  return { ...selector, method: method as string, args, transfer: [], deadline: new RequestDeadline(model, timeoutMs, signal) };
}
