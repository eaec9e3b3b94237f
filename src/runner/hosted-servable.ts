/**
 * HostedServable: what a runner hosts, whatever its platform — the runner's data-plane side
 * calls only this. An ONNX session (OnnxServable) and an app platform's servable
 * (PlatformServableHost) implement it.
 *
 * The runner calls a member only when `apis` lists it: `run` for `predict`, `stream` for
 * `stream`, `call` for `lookup` and `call:<method>`. Inputs reach `run`/`stream` validated
 * against `signature` when there is one. Errors are ServingErrors naming the servable.
 */
import type { BatchedRun } from '../batching/batching-session.js';
import type { ServableId } from '../core/servable-id.js';
import type { ServableApi } from '../platforms/platform.js';
import type { Signature, TensorData } from '../protocol.js';

export interface RunResult {
  readonly outputs: Record<string, TensorData>;
  /** The batched session run this request was part of; absent when batching is off. */
  readonly batch?: BatchedRun;
}

export interface HostedServable {
  readonly id: ServableId;
  readonly apis: readonly ServableApi[];
  readonly signature?: Signature;
  /** True when a prediction asked for now starts at once and cannot be cancelled: it needs no AbortSignal. */
  readonly startsAtOnce: boolean;
  /** True when its results are fresh arrays nobody else holds, so their buffers can be transferred to the client instead of copied. */
  readonly transfersResults: boolean;
  run(inputs: Readonly<Record<string, TensorData>>, outputs?: readonly string[], signal?: AbortSignal): Promise<RunResult>;
  call?(method: string, args: unknown, signal: AbortSignal): Promise<unknown>;
  stream?(inputs: Readonly<Record<string, TensorData>>, signal: AbortSignal): AsyncIterator<Readonly<Record<string, TensorData>>>;
  /** Facts for status and metadata. */
  describe?(): Readonly<Record<string, string | number | boolean>>;
  /** Frees it; called once, after its requests in flight. */
  release(): Promise<void>;
}
