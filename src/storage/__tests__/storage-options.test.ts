import { describe, expect, it } from 'vitest';
import { validateServerOptions } from '../../control/server-config.js';

describe('storage options', () => {
  it('accepts the documented options', () => {
    expect(() => validateServerOptions({ storage: { enabled: true, chunkBytes: 1 << 20, budgetBytes: 5e8, persist: true, retry: { maxRetries: 0, backoffMs: 0 } } })).not.toThrow();
    for (const backend of ['auto', 'opfs', 'indexeddb'] as const) expect(() => validateServerOptions({ storage: { backend } })).not.toThrow();
  });

  it.each([
    [{ chunkBytes: 1000 }, /storage\.chunkBytes must be an integer ≥ 65536, got 1000/],
    [{ budgetBytes: -1 }, /storage\.budgetBytes must be a number ≥ 0/],
    [{ enabled: 'yes' }, /storage\.enabled must be a boolean/],
    [{ backend: 'idb' }, /storage\.backend must be "auto", "opfs" or "indexeddb", got "idb"/],
    [{ retry: { maxRetries: 1.5 } }, /storage\.retry\.maxRetries must be an integer ≥ 0/],
    [{ retry: { backoffMs: -5 } }, /storage\.retry\.backoffMs must be a number ≥ 0/],
  ])('rejects %j with INVALID_ARGUMENT naming the field', (storage, message) => {
    expect(() => validateServerOptions({ storage: storage as never })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(message) }));
  });
});
