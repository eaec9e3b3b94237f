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
import { ONNX_MODEL_FILE, WARMUP_FILE } from '../sources/manifest.js';

export interface LoadedServable {
  readonly servable: OnnxServable;
  readonly skipped: readonly string[];
  /** Set when the warm-up was skipped (synthetic inputs the model rejects): why, and the fix. */
  readonly warmupSkipped?: string;
  /** How long the warm-up took (0 without one). */
  readonly warmupMs: number;
}

export async function loadOnnxServable(runtime: OrtRuntime, queue: RunQueue, spec: RunnerLoadSpec): Promise<LoadedServable> {
  const id = { name: spec.model, version: spec.version };
  const details = { model: spec.model, version: spec.version };
  const file = (path: string) => spec.files.find((f) => f.path === path)?.data;
  const modelBytes = file(ONNX_MODEL_FILE);
  if (!modelBytes) throw new ServingError('INVALID_ARGUMENT', `${describeServable(spec.model, spec.version)} has no ${ONNX_MODEL_FILE}`, details);
  const externalData = spec.externalData.length ? spec.files.filter((f) => spec.externalData.includes(f.path)).map((f) => ({ path: f.path, data: f.data })) : undefined;
  const warmup = file(WARMUP_FILE);
  let created;
  try {
    created = await runtime.createSession(modelBytes, spec.providers, externalData);
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
  let warmupSkipped: string | undefined;
  const warmupStarted = performance.now();
  try {
    warmupSkipped = warmup ? await warmUpFromFile(servable, warmup, spec.warmupRuns) : await warmUpSynthetic(servable, spec.warmupRuns);
  } catch (error) {
    await servable.release();
    throw error;
  }
  const warmupMs = spec.warmupRuns > 0 ? performance.now() - warmupStarted : 0;
  return { servable, skipped: created.skipped, warmupMs, ...(warmupSkipped ? { warmupSkipped } : {}) };
}

/** With a `warmup.json`, the warm-up is the version's own: one that fails fails the load (as in TF Serving). */
async function warmUpFromFile(servable: OnnxServable, warmup: Uint8Array, runs: number): Promise<undefined> {
  if (runs <= 0) return undefined;
  const { id } = servable;
  const inputs = parseWarmup(id, warmup);
  try {
    validatePredictInputs(id, servable.signature, inputs);
    for (let i = 0; i < runs; i += 1) await servable.run(inputs);
  } catch (error) {
    const cause = ServingError.from(error, { model: id.name, version: id.version });
    throw new ServingError('FAILED_PRECONDITION', `${describeServable(id.name, id.version)}: warm-up from ${WARMUP_FILE} failed: ${cause.message}`, { model: id.name, version: id.version }, { cause });
  }
  return undefined;
}

/**
 * Without one, zero-filled inputs shaped from the signature are tried, with the first symbolic
 * dimension 1 (a batch) and the others 1, then 64, then 512 (a model may need a minimum length,
 * e.g. a padding or a convolution window). When none runs, the warm-up is skipped, not the
 * version: the returned message says why and how to give the version a `warmup.json`.
 */
async function warmUpSynthetic(servable: OnnxServable, runs: number): Promise<string | undefined> {
  if (runs <= 0) return undefined;
  const { id } = servable;
  let lastError: ServingError | undefined;
  for (const size of SYNTHETIC_SIZES) {
    const inputs = syntheticInputs(servable.signature, size);
    try {
      for (let i = 0; i < runs; i += 1) await servable.run(inputs);
      return undefined;
    } catch (error) {
      lastError = ServingError.from(error, { model: id.name, version: id.version });
    }
  }
  return `${describeServable(id.name, id.version)}: warm-up skipped: zero-filled inputs shaped from the signature (symbolic dimensions ${SYNTHETIC_SIZES.join(', ')}) did not run (${lastError?.message}). Add a ${WARMUP_FILE} beside model.onnx with inputs that run: { "inputs": { "<name>": { "type": "float32", "dims": [1, 512], "data": [...] } } } (README, "Warm-up")`;
}

const SYNTHETIC_SIZES = [1, 64, 512] as const;
