import { describe, expect, it } from 'vitest';
import { ServingError } from '../../core/serving-error.js';
import type { Signature } from '../../protocol.js';
import { validateModelServerConfig } from '../../control/server-config.js';
import { assertBatchable, paddedBatchSize, validateBatchingConfig } from '../batching-options.js';

function thrownBy(fn: () => unknown): ServingError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ServingError);
    return error as ServingError;
  }
  throw new Error('did not throw');
}

describe('batching options', () => {
  it('fills in TF Serving defaults: no timeout, 10 enqueued batches, every size allowed, no variable-length padding', () => {
    expect(validateBatchingConfig('m', { maxBatchSize: 8 })).toEqual({
      maxBatchSize: 8,
      batchTimeoutMicros: 0,
      maxEnqueuedBatches: 10,
      allowedBatchSizes: [],
      padVariableLengthInputs: false,
    });
  });

  const invalid: [string, unknown, RegExp][] = [
    ['not an object', 8, /batching must be an object/],
    ['no maxBatchSize', {}, /maxBatchSize must be an integer ≥ 1/],
    ['zero maxBatchSize', { maxBatchSize: 0 }, /maxBatchSize/],
    ['fractional maxBatchSize', { maxBatchSize: 2.5 }, /maxBatchSize/],
    ['negative timeout', { maxBatchSize: 4, batchTimeoutMicros: -1 }, /batchTimeoutMicros must be an integer ≥ 0/],
    ['zero enqueued batches', { maxBatchSize: 4, maxEnqueuedBatches: 0 }, /maxEnqueuedBatches must be an integer ≥ 1/],
    ['empty allowed sizes', { maxBatchSize: 4, allowedBatchSizes: [] }, /allowedBatchSizes must be a non-empty array/],
    ['allowed sizes not increasing', { maxBatchSize: 4, allowedBatchSizes: [2, 2, 4] }, /strictly increasing/],
    ['allowed sizes decreasing', { maxBatchSize: 4, allowedBatchSizes: [4, 2] }, /strictly increasing/],
    ['last allowed size not maxBatchSize', { maxBatchSize: 8, allowedBatchSizes: [2, 4] }, /must end with maxBatchSize \(8\)/],
    ['allowed size not an integer', { maxBatchSize: 4, allowedBatchSizes: [1.5, 4] }, /allowedBatchSizes must be an integer/],
    ['padding flag not boolean', { maxBatchSize: 4, padVariableLengthInputs: 'yes' }, /padVariableLengthInputs must be a boolean/],
    ['unknown field (a typo)', { maxBatchSize: 4, batchTimeoutMs: 5 }, /unknown field "batchTimeoutMs"/],
  ];
  for (const [name, config, message] of invalid) {
    it(`rejects ${name} with INVALID_ARGUMENT naming the model and field`, () => {
      const error = thrownBy(() => validateBatchingConfig('mlp', config));
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(error.model).toBe('mlp');
      expect(error.message).toMatch(/^model "mlp": batching/);
      expect(error.message).toMatch(message);
    });
  }

  it('is validated with the server config, so a bad reloadConfig changes nothing', () => {
    const error = thrownBy(() => validateModelServerConfig({ models: [{ name: 'mlp', basePath: 'http://x/m', batching: { maxBatchSize: 4, allowedBatchSizes: [8] } }] }));
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', model: 'mlp' });
    expect(() => validateModelServerConfig({ models: [{ name: 'mlp', basePath: 'http://x/m', batching: { maxBatchSize: 4 } }] })).not.toThrow();
  });

  it('paddedBatchSize rounds up to the next allowed size, and leaves sizes alone when none are configured or the batch is larger', () => {
    const options = validateBatchingConfig('m', { maxBatchSize: 8, allowedBatchSizes: [2, 4, 8] });
    expect([1, 2, 3, 4, 5, 8].map((n) => paddedBatchSize(options, n))).toEqual([2, 2, 4, 4, 8, 8]);
    expect(paddedBatchSize(options, 11)).toBe(11);
    expect(paddedBatchSize(validateBatchingConfig('m', { maxBatchSize: 8 }), 3)).toBe(3);
  });

  describe('assertBatchable', () => {
    const id = { name: 'm', version: 3 };
    const sig = (inputShape: Signature['inputs'][number]['shape'], outputShape: Signature['outputs'][number]['shape']): Signature => ({
      inputs: [{ name: 'x', type: 'float32', shape: inputShape }],
      outputs: [{ name: 'y', type: 'float32', shape: outputShape }],
    });

    it('accepts a symbolic or unknown first dimension on every input and output', () => {
      expect(() => assertBatchable(id, sig(['batch', 4], ['batch', 2]))).not.toThrow();
      expect(() => assertBatchable(id, sig([null, 4], ['N']))).not.toThrow();
    });

    it('rejects a fixed first dimension or a scalar with FAILED_PRECONDITION naming the input or output', () => {
      expect(thrownBy(() => assertBatchable(id, sig([1, 512], ['batch'])))).toMatchObject({ code: 'FAILED_PRECONDITION', model: 'm', version: 3, input: 'x' });
      expect(thrownBy(() => assertBatchable(id, sig(['batch', 4], [])))).toMatchObject({ code: 'FAILED_PRECONDITION', output: 'y' });
      expect(thrownBy(() => assertBatchable(id, sig([1, 512], ['batch']))).message).toMatch(/no batch dimension \(shape \[1, 512\]/);
    });
  });
});
