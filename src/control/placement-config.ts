/**
 * Validation of a model's `placement` and `remote` config (see `ModelConfig`): every problem is
 * an INVALID_ARGUMENT naming the model and the field, with the fix where there is one.
 */
import { describeValue } from '../core/describe-value.js';
import { ServingError } from '../core/serving-error.js';
import type { ModelConfig } from '../protocol.js';

const PLACEMENTS = ['local', 'prefer-local', 'remote', 'prefer-remote'] as const;
const PROTOCOLS = ['tfserving', 'kserve-v2'] as const;
const CREDENTIALS = ['omit', 'same-origin', 'include'] as const;

/** Checks `placement` and `remote` of one model config; INVALID_ARGUMENT naming the model and field. */
export function validatePlacement(config: Partial<ModelConfig> & { name: string }): void {
  const { name, placement = 'local', remote } = config;
  const fail = (message: string): never => {
    throw new ServingError('INVALID_ARGUMENT', `model "${name}": ${message}`, { model: name });
  };
  if (!(PLACEMENTS as readonly unknown[]).includes(placement)) fail(`placement must be one of ${PLACEMENTS.map((p) => `"${p}"`).join(', ')}, got ${describeValue(placement)}`);
  if (placement !== 'local' && remote === undefined) fail(`placement "${placement}" needs a remote endpoint: remote: { url: 'https://…', protocol: 'tfserving' | 'kserve-v2' }`);
  if (placement !== 'remote' && (typeof config.basePath !== 'string' || !URL.canParse(config.basePath))) {
    fail(`basePath must be an absolute URL, got ${describeValue(config.basePath)}${placement === 'local' && remote !== undefined ? ' (or set placement: "remote" to serve it from its remote endpoint only)' : ''}`);
  }
  if (remote === undefined) return;
  if (typeof remote !== 'object' || remote === null) fail(`remote must be an object { url, protocol }, got ${describeValue(remote)}`);
  const url = typeof remote.url === 'string' && URL.canParse(remote.url) ? new URL(remote.url) : undefined;
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) fail(`remote.url must be an absolute http(s) URL of the endpoint's root (e.g. https://tfs.example.com:8501), got ${describeValue(remote.url)}`);
  if (!(PROTOCOLS as readonly unknown[]).includes(remote.protocol)) fail(`remote.protocol must be "tfserving" or "kserve-v2", got ${describeValue(remote.protocol)}`);
  if (remote.model !== undefined && (typeof remote.model !== 'string' || remote.model === '')) fail(`remote.model must be a non-empty string, got ${describeValue(remote.model)}`);
  if (remote.headers !== undefined && (typeof remote.headers !== 'object' || remote.headers === null || !Object.values(remote.headers).every((v) => typeof v === 'string'))) fail(`remote.headers must be an object of header name → string, got ${describeValue(remote.headers)}`);
  if (remote.credentials !== undefined && !(CREDENTIALS as readonly unknown[]).includes(remote.credentials)) fail(`remote.credentials must be one of ${CREDENTIALS.map((c) => `"${c}"`).join(', ')}, got ${describeValue(remote.credentials)}`);
  if (remote.timeoutMs !== undefined && !(typeof remote.timeoutMs === 'number' && remote.timeoutMs > 0)) fail(`remote.timeoutMs must be a positive number of milliseconds, got ${describeValue(remote.timeoutMs)}`);
  if (remote.probeIntervalMs !== undefined && !(typeof remote.probeIntervalMs === 'number' && remote.probeIntervalMs >= 0)) fail(`remote.probeIntervalMs must be a number ≥ 0, got ${describeValue(remote.probeIntervalMs)}`);
  if (remote.binary !== undefined && typeof remote.binary !== 'boolean') fail(`remote.binary must be true or false, got ${describeValue(remote.binary)}`);
}
