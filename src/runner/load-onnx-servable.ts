/**
 * Loads one ONNX version inside a runner: creates the session on the first execution provider
 * that works, checks batching applies, runs the warm-up through the runner's queue, and drops
 * every reference to the model bytes (ORT copied them into its heap). A failed load releases
 * what it made, so the runner can take the next load.
 */
import { assertBatchable } from '../batching/batching-options.js';
import { ServingError, describeServable } from '../core/serving-error.js';
import { validatePredictInputs } from '../loaders/signature-validation.js';
import type { RunnerLoadSpec } from '../protocol/runner.js';
import { OnnxServable } from './onnx-servable.js';
import type { OrtRuntime } from './ort-runtime.js';
import type { RunQueue } from './run-queue.js';
import { parseWarmup, syntheticInputs } from './warmup.js';

export interface LoadedServable {
  readonly servable: OnnxServable;
  readonly skipped: readonly string[];
}

export async function loadOnnxServable(runtime: OrtRuntime, queue: RunQueue, spec: RunnerLoadSpec): Promise<LoadedServable> {
  const id = { name: spec.model, version: spec.version };
  const details = { model: spec.model, version: spec.version };
  const externalData = spec.externalData.length ? spec.externalData.map((f) => ({ path: f.path, data: f.data })) : undefined;
  let created;
  try {
    created = await runtime.createSession(spec.modelBytes, spec.providers, externalData);
  } catch (error) {
    const cause = ServingError.from(error);
    throw new ServingError(cause.code, `${describeServable(spec.model, spec.version)}: ${cause.message}`, { ...details, ...(cause.data ? { data: cause.data } : {}) }, { cause });
  }
  const ort = await runtime.module();
  let servable: OnnxServable;
  try {
    servable = new OnnxServable({ id, ort, session: created.session, provider: created.provider, queue, ...(spec.batching ? { batching: spec.batching } : {}) });
    if (spec.batching) assertBatchable(id, servable.signature);
  } catch (error) {
    await created.session.release();
    throw error;
  }
  try {
    await warmUp(servable, spec);
  } catch (error) {
    await servable.release();
    throw error;
  }
  return { servable, skipped: created.skipped };
}

/** Runs the configured warm-up; a failing warm-up fails the load (as in TF Serving). */
async function warmUp(servable: OnnxServable, spec: RunnerLoadSpec): Promise<void> {
  if (spec.warmupRuns <= 0) return;
  const { id } = servable;
  const inputs = spec.warmup ? parseWarmup(id, spec.warmup) : syntheticInputs(servable.signature);
  try {
    validatePredictInputs(id, servable.signature, inputs);
    for (let i = 0; i < spec.warmupRuns; i += 1) await servable.run(inputs);
  } catch (error) {
    const cause = ServingError.from(error, { model: id.name, version: id.version });
    throw new ServingError('FAILED_PRECONDITION', `${describeServable(id.name, id.version)}: warm-up failed: ${cause.message}`, { model: id.name, version: id.version }, { cause });
  }
}
