/**
 * Validation of the serving configuration. Every problem is an INVALID_ARGUMENT that names
 * the model and the field, raised before anything is applied: a bad `reloadConfig()` changes
 * nothing.
 */
import { validateBatchingConfig } from '../batching/batching-options.js';
import { validateModelVersionPolicy, DEFAULT_MODEL_VERSION_POLICY } from '../core/servable-version-policy.js';
import { ServingError } from '../core/serving-error.js';
import { VersionLabels } from '../core/version-labels.js';
import type { ExecutionProvider, ModelConfig, ModelServerConfig, ServerOptions, StorageOptions } from '../protocol.js';
import { MIN_CHUNK_BYTES } from '../storage/artifact-storage.js';
import { describeValue } from '../core/describe-value.js';
import { BUILTIN_PLATFORMS, PLATFORM_NAME_PATTERN } from '../sources/manifest.js';
import { validatePlacement } from './placement-config.js';

const PROVIDERS: readonly ExecutionProvider[] = ['webgpu', 'wasm'];

export function validateModelServerConfig(config: unknown): ModelServerConfig {
  const fail = (message: string, model?: string): never => {
    throw new ServingError('INVALID_ARGUMENT', message, model === undefined ? {} : { model });
  };
  if (typeof config !== 'object' || config === null || !Array.isArray((config as ModelServerConfig).models)) {
    fail('config.models must be an array of model configs');
  }
  const seen = new Set<string>();
  const models = (config as ModelServerConfig).models.map((raw, i): ModelConfig => {
    const m = raw as Partial<ModelConfig> | null;
    if (typeof m !== 'object' || m === null) return fail(`models[${i}] must be an object`);
    if (typeof m.name !== 'string' || m.name.trim() === '') return fail(`models[${i}].name must be a non-empty string`);
    const name = m.name;
    if (seen.has(name)) fail(`model "${name}" is configured twice`, name);
    seen.add(name);
    validatePlacement({ ...m, name });
    const policy = m.modelVersionPolicy ?? DEFAULT_MODEL_VERSION_POLICY;
    validateModelVersionPolicy(name, policy);
    if (m.versionLabels !== undefined) {
      if (typeof m.versionLabels !== 'object' || m.versionLabels === null) fail(`model "${name}": versionLabels must be an object of label → version`, name);
      VersionLabels.validate(name, m.versionLabels);
    }
    if (m.executionProviders !== undefined) validateProviders(m.executionProviders, `model "${name}": executionProviders`, name);
    if (m.warmupRuns !== undefined && !(Number.isSafeInteger(m.warmupRuns) && m.warmupRuns >= 0)) fail(`model "${name}": warmupRuns must be an integer ≥ 0`, name);
    if (m.batching !== undefined) validateBatchingConfig(name, m.batching);
    if (m.platformConfig !== undefined) {
      try {
        structuredClone(m.platformConfig);
      } catch (error) {
        fail(`model "${name}": platformConfig must be structured-cloneable (plain data), got ${describeValue(m.platformConfig)}: ${(error as Error).message}`, name);
      }
    }
    if (m.runnerGroup !== undefined && (typeof m.runnerGroup !== 'string' || m.runnerGroup === '')) fail(`model "${name}": runnerGroup must be a non-empty string, got ${describeValue(m.runnerGroup)}`, name);
    if (m.maxRunMs !== undefined && !(typeof m.maxRunMs === 'number' && m.maxRunMs > 0 && Number.isFinite(m.maxRunMs))) fail(`model "${name}": maxRunMs must be a positive number of milliseconds, got ${describeValue(m.maxRunMs)}`, name);
    return { ...m, name, modelVersionPolicy: policy };
  });
  return { models };
}

export function validateServerOptions(options: ServerOptions): void {
  const nonNegative = (value: unknown, field: string) => {
    if (value !== undefined && !(typeof value === 'number' && value >= 0 && !Number.isNaN(value))) {
      throw new ServingError('INVALID_ARGUMENT', `${field} must be a number ≥ 0, got ${describeValue(value)}`);
    }
  };
  nonNegative(options.pollIntervalMs, 'pollIntervalMs');
  nonNegative(options.maxConcurrentLoads, 'maxConcurrentLoads');
  nonNegative(options.maxLoadRetries, 'maxLoadRetries');
  nonNegative(options.loadRetryIntervalMs, 'loadRetryIntervalMs');
  nonNegative(options.maxRunnerRestarts, 'maxRunnerRestarts');
  nonNegative(options.runnerRestartBackoffMs, 'runnerRestartBackoffMs');
  nonNegative(options.resourceBudgetBytes, 'resourceBudgetBytes');
  nonNegative(options.wasm?.numThreads, 'wasm.numThreads');
  if (options.versionPolicy !== undefined && options.versionPolicy !== 'availability-preserving' && options.versionPolicy !== 'resource-preserving') {
    throw new ServingError('INVALID_ARGUMENT', `versionPolicy must be "availability-preserving" or "resource-preserving", got ${describeValue(options.versionPolicy)}`);
  }
  if (options.executionProviders !== undefined) validateProviders(options.executionProviders, 'executionProviders');
  if (options.storage !== undefined) validateStorageOptions(options.storage);
  if (options.platforms !== undefined) validatePlatforms(options.platforms);
}

/** `platforms`: name → module URL (absolute once it reaches the worker). */
export function validatePlatforms(platforms: unknown): Readonly<Record<string, string>> {
  const fail = (message: string): never => {
    throw new ServingError('INVALID_ARGUMENT', message);
  };
  if (typeof platforms !== 'object' || platforms === null || Array.isArray(platforms)) return fail(`platforms must be an object of platform name → module URL, got ${describeValue(platforms)}`);
  const resolved: Record<string, string> = {};
  for (const [name, url] of Object.entries(platforms)) {
    if (!PLATFORM_NAME_PATTERN.test(name)) fail(`platforms: "${name}" is not a platform name (lower-case letters, digits, - and _, starting with a letter)`);
    if ([...BUILTIN_PLATFORMS, 'remote'].includes(name)) fail(`platforms: "${name}" is built in; give your platform another name`);
    const href = url instanceof URL ? url.href : typeof url === 'string' && URL.canParse(url) ? new URL(url).href : undefined;
    if (!href) fail(`platforms.${name} must be the absolute URL of its module (e.g. new URL('./${name}-platform.js', import.meta.url)), got ${describeValue(url)}`);
    resolved[name] = href!;
  }
  return resolved;
}

function validateStorageOptions(storage: StorageOptions): void {
  const fail = (message: string): never => {
    throw new ServingError('INVALID_ARGUMENT', message);
  };
  if (typeof storage !== 'object' || storage === null) fail(`storage must be an object, got ${describeValue(storage)}`);
  if (storage.enabled !== undefined && typeof storage.enabled !== 'boolean') fail(`storage.enabled must be a boolean, got ${describeValue(storage.enabled)}`);
  if (storage.backend !== undefined && !['auto', 'opfs', 'indexeddb'].includes(storage.backend)) fail(`storage.backend must be "auto", "opfs" or "indexeddb", got ${describeValue(storage.backend)}`);
  if (storage.persist !== undefined && typeof storage.persist !== 'boolean') fail(`storage.persist must be a boolean, got ${describeValue(storage.persist)}`);
  if (storage.chunkBytes !== undefined && !(Number.isSafeInteger(storage.chunkBytes) && storage.chunkBytes >= MIN_CHUNK_BYTES)) {
    fail(`storage.chunkBytes must be an integer ≥ ${MIN_CHUNK_BYTES}, got ${describeValue(storage.chunkBytes)}`);
  }
  if (storage.budgetBytes !== undefined && !(typeof storage.budgetBytes === 'number' && storage.budgetBytes >= 0)) fail(`storage.budgetBytes must be a number ≥ 0, got ${describeValue(storage.budgetBytes)}`);
  const retry = storage.retry;
  if (retry === undefined) return;
  if (typeof retry !== 'object' || retry === null) fail(`storage.retry must be an object, got ${describeValue(retry)}`);
  if (retry.maxRetries !== undefined && !(Number.isSafeInteger(retry.maxRetries) && retry.maxRetries >= 0)) fail(`storage.retry.maxRetries must be an integer ≥ 0, got ${describeValue(retry.maxRetries)}`);
  if (retry.backoffMs !== undefined && !(typeof retry.backoffMs === 'number' && retry.backoffMs >= 0)) fail(`storage.retry.backoffMs must be a number ≥ 0, got ${describeValue(retry.backoffMs)}`);
}

function validateProviders(providers: unknown, field: string, model?: string): void {
  if (!Array.isArray(providers) || providers.length === 0 || !providers.every((p) => PROVIDERS.includes(p))) {
    throw new ServingError('INVALID_ARGUMENT', `${field} must be a non-empty list of ${PROVIDERS.map((p) => `"${p}"`).join(', ')}, got ${describeValue(providers)}`, model === undefined ? {} : { model });
  }
}
