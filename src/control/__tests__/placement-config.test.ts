import { describe, expect, it } from 'vitest';
import { validateModelServerConfig } from '../server-config.js';

const check = (model: Record<string, unknown>) => () => validateModelServerConfig({ models: [{ name: 'm', ...model }] });
const remote = { url: 'https://tfs.example:8501', protocol: 'tfserving' };

describe('placement and remote in the model config', () => {
  it('accepts a remote-only model without a basePath, and prefer-* with both', () => {
    expect(check({ placement: 'remote', remote })).not.toThrow();
    expect(check({ placement: 'prefer-local', remote, basePath: 'https://cdn.example/m' })).not.toThrow();
    expect(check({ placement: 'prefer-remote', remote: { ...remote, protocol: 'kserve-v2', headers: { Authorization: 'Bearer x' }, credentials: 'include', timeoutMs: 500 }, basePath: 'https://cdn.example/m' })).not.toThrow();
  });

  it('names the model and the field of each mistake, with the fix', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ placement: 'cloud', remote }, /model "m": placement must be one of "local", "prefer-local", "remote", "prefer-remote", got "cloud"/],
      [{ placement: 'remote' }, /placement "remote" needs a remote endpoint: remote: \{ url/],
      [{ placement: 'prefer-local', remote }, /basePath must be an absolute URL/],
      [{ remote }, /or set placement: "remote"/],
      [{ placement: 'remote', remote: { ...remote, url: '/v1' } }, /remote.url must be an absolute http\(s\) URL/],
      [{ placement: 'remote', remote: { ...remote, url: 'ftp://x' } }, /remote.url must be an absolute http\(s\) URL/],
      [{ placement: 'remote', remote: { ...remote, protocol: 'grpc' } }, /remote.protocol must be "tfserving" or "kserve-v2", got "grpc"/],
      [{ placement: 'remote', remote: { ...remote, headers: { a: 1 } } }, /remote.headers must be an object of header name → string/],
      [{ placement: 'remote', remote: { ...remote, credentials: 'always' } }, /remote.credentials must be one of/],
      [{ placement: 'remote', remote: { ...remote, timeoutMs: 0 } }, /remote.timeoutMs must be a positive number/],
    ];
    for (const [model, message] of cases) expect(check(model), JSON.stringify(model)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', model: 'm', message: expect.stringMatching(message) }));
  });
});
