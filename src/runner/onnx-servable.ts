/**
 * OnnxServable: one loaded ONNX model version inside a runner — an inference session, its
 * signature, and the way its runs reach the session. Made and released only by the runner's
 * loading code (`load-onnx-servable.ts`).
 *
 * `run()` takes inputs already validated against `signature` and returns outputs as wire tensors
 * whose data arrays own their buffers (safe to transfer). Every session run goes through the
 * runner's one RunQueue — one run at a time per ORT instance, across all its sessions and
 * warm-ups, which WebGPU (JSEP) requires — and, when the model configures batching, first through
 * a BatchingSession that merges concurrent requests into one run.
 */
import type * as Ort from 'onnxruntime-web';
import { BatchingSession } from '../batching/batching-session.js';
import type { BatchingOptions } from '../batching/batching-options.js';
import type { ServableId } from '../core/servable-id.js';
import type { ExecutionProvider, Signature, TensorData, TensorSpec, TensorType } from '../protocol.js';
import { isTensorType } from '../loaders/tensor-types.js';
import type { OrtModule } from './ort-runtime.js';
import type { RunQueue } from './run-queue.js';
import type { HostedServable, RunResult } from './hosted-servable.js';

const ONNX_APIS = ['predict'] as const;

export interface OnnxServableOptions {
  readonly id: ServableId;
  readonly ort: OrtModule;
  readonly session: Ort.InferenceSession;
  readonly provider: ExecutionProvider;
  /** The runner's queue: shared by every session of one ORT instance. */
  readonly queue: RunQueue;
  /** Merge concurrent runs (the signature must have a batch dimension: `assertBatchable`). */
  readonly batching?: BatchingOptions;
}

export class OnnxServable implements HostedServable {
  readonly apis = ONNX_APIS;
  /** Outputs are ORT's fresh arrays. */
  readonly transfersResults = true;
  readonly id: ServableId;
  readonly signature: Signature;
  readonly provider: ExecutionProvider;
  readonly #ort: OrtModule;
  readonly #session: Ort.InferenceSession;
  readonly #queue: RunQueue;
  readonly #batching: BatchingSession | undefined;

  constructor(options: OnnxServableOptions) {
    this.id = options.id;
    this.#ort = options.ort;
    this.#session = options.session;
    this.#queue = options.queue;
    this.provider = options.provider;
    this.signature = signatureOf(options.session);
    this.#batching = options.batching
      ? new BatchingSession(options.id, options.batching, (inputs, outputs) => this.#queue.enqueue(() => this.#runSession(inputs, outputs)))
      : undefined;
  }

  /** True when a run asked for now starts at once (no batch to wait for, the queue idle): it cannot be cancelled, so needs no signal. */
  get startsAtOnce(): boolean {
    return !this.#batching && this.#queue.idle;
  }

  /**
   * Runs the request: after the runs queued before it, or merged into a batch with others when
   * batching is configured. Rejects with `signal.reason` when aborted before it starts, and with
   * UNAVAILABLE when the batch queue is full.
   */
  async run(inputs: Readonly<Record<string, TensorData>>, outputs?: readonly string[], signal?: AbortSignal): Promise<RunResult> {
    if (this.#batching) return this.#batching.run(inputs, outputs, signal);
    return { outputs: await this.#queue.enqueue(() => this.#runSession(inputs, outputs), signal) };
  }

  /** One session run; never called concurrently with another of this ORT instance (the RunQueue sees to it). */
  async #runSession(inputs: Readonly<Record<string, TensorData>>, outputs?: readonly string[]): Promise<Record<string, TensorData>> {
    const feeds: Record<string, Ort.Tensor> = {};
    for (const [name, tensor] of Object.entries(inputs)) {
      feeds[name] = new this.#ort.Tensor(tensor.type, tensor.data as Ort.Tensor.DataType, tensor.dims);
    }
    const results = outputs ? await this.#session.run(feeds, [...outputs]) : await this.#session.run(feeds);
    const out: Record<string, TensorData> = {};
    for (const [name, tensor] of Object.entries(results)) {
      out[name] = { type: tensor.type as TensorType, data: tensor.data as TensorData['data'], dims: [...tensor.dims] };
    }
    return out;
  }

  release(): Promise<void> {
    return this.#session.release();
  }
}

/** ORT reports unknown dimensions as negative or 2^32 − 1; both mean "any size". */
function normaliseDim(dim: number | string): number | string | null {
  if (typeof dim === 'string') return dim;
  return dim < 0 || dim >= 2 ** 31 ? null : dim;
}

function specsOf(metadata: readonly Ort.InferenceSession.ValueMetadata[]): TensorSpec[] {
  return metadata.map((m) => {
    const type = m.isTensor && isTensorType(m.type) ? m.type : 'float32';
    const shape = m.isTensor ? m.shape.map(normaliseDim) : [];
    return { name: m.name, type, shape };
  });
}

function signatureOf(session: Ort.InferenceSession): Signature {
  return { inputs: specsOf(session.inputMetadata), outputs: specsOf(session.outputMetadata) };
}
