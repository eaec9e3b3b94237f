import { describe, expect, it } from 'vitest';
import { ServingError } from '../../core/serving-error.js';
import type { Signature, TensorData } from '../../protocol.js';
import { planPredictValidation, validatePredictInputs } from '../signature-validation.js';

const id = { name: 'encoder', version: 3 };

/** features: float32 [batch, 4]; tokens: int64 [batch, seq]; scale: float32 scalar. */
const signature: Signature = {
  inputs: [
    { name: 'features', type: 'float32', shape: ['batch', 4] },
    { name: 'tokens', type: 'int64', shape: ['batch', 'seq'] },
    { name: 'scale', type: 'float32', shape: [] },
  ],
  outputs: [
    { name: 'logits', type: 'float32', shape: ['batch', 2] },
    { name: 'hidden', type: 'float32', shape: ['batch', null] },
  ],
};

function validInputs(batch = 2, seq = 5): Record<string, TensorData> {
  return {
    features: { type: 'float32', data: new Float32Array(batch * 4), dims: [batch, 4] },
    tokens: { type: 'int64', data: new BigInt64Array(batch * seq), dims: [batch, seq] },
    scale: { type: 'float32', data: new Float32Array([1]), dims: [] },
  };
}

const planned = planPredictValidation(id, signature);

/**
 * The ServingError `validatePredictInputs` throws; fails the test when it does not throw, or when
 * the validation planned for the signature (the runner's hot path) does not throw the same error.
 */
function rejectionOf(inputs: unknown, outputs?: unknown): ServingError {
  let fromPlan: unknown;
  try {
    planned(inputs, outputs);
  } catch (error) {
    fromPlan = error;
  }
  try {
    validatePredictInputs(id, signature, inputs, outputs);
  } catch (error) {
    expect(error).toBeInstanceOf(ServingError);
    expect(fromPlan, 'the planned validation throws the same error').toMatchObject({ code: (error as ServingError).code, message: (error as ServingError).message });
    return error as ServingError;
  }
  throw new Error('validatePredictInputs accepted the request');
}

function expectInvalid(error: ServingError, field: { input?: string; output?: string }, messagePart: RegExp): void {
  expect(error.code).toBe('INVALID_ARGUMENT');
  expect(error.model).toBe('encoder');
  expect(error.version).toBe(3);
  expect(error.message).toContain('model "encoder" version 3');
  if (field.input !== undefined) {
    expect(error.input).toBe(field.input);
    expect(error.message).toContain(`"${field.input}"`);
  }
  if (field.output !== undefined) {
    expect(error.output).toBe(field.output);
    expect(error.message).toContain(`"${field.output}"`);
  }
  expect(error.message).toMatch(messagePart);
}

describe('validatePredictInputs', () => {
  it('accepts a request that matches the signature, with any consistent value of each symbolic dimension', () => {
    expect(() => validatePredictInputs(id, signature, validInputs(2, 5))).not.toThrow();
    expect(() => validatePredictInputs(id, signature, validInputs(1, 9), ['logits'])).not.toThrow();
    expect(() => validatePredictInputs(id, signature, validInputs(0, 0), ['logits', 'hidden'])).not.toThrow();
  });

  it('rejects inputs that are not an object of named tensors', () => {
    for (const inputs of [null, undefined, 'features', [validInputs().features]]) {
      const error = rejectionOf(inputs);
      expectInvalid(error, {}, /inputs must be an object/);
      expect(error.input).toBeUndefined();
    }
  });

  it('rejects an unknown input name, listing the inputs the model has', () => {
    const error = rejectionOf({ ...validInputs(), featurez: validInputs().features });
    expectInvalid(error, { input: 'featurez' }, /unknown input "featurez" \(inputs: features, tokens, scale\)/);
  });

  it('rejects a request that leaves an input out', () => {
    const { tokens: _omitted, ...rest } = validInputs();
    expectInvalid(rejectionOf(rest), { input: 'tokens' }, /missing input "tokens"/);
  });

  it('reports a missing input named like an Object.prototype member as missing, not as malformed', () => {
    const proto: Signature = { inputs: [{ name: 'constructor', type: 'float32', shape: [1] }], outputs: [] };
    let error: unknown;
    try {
      validatePredictInputs(id, proto, {});
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', input: 'constructor' });
    expect((error as Error).message).toMatch(/missing input "constructor"/);
  });

  it('rejects an input that is not a { type, data, dims } object', () => {
    expectInvalid(rejectionOf({ ...validInputs(), scale: 1.5 }), { input: 'scale' }, /must be a \{ type, data, dims \} object, got number/);
    expectInvalid(rejectionOf({ ...validInputs(), scale: null }), { input: 'scale' }, /got null/);
  });

  it('rejects dims that are not non-negative integers', () => {
    for (const dims of [undefined, [2, -4], [2, 1.5], ['2', 4]]) {
      const inputs = { ...validInputs(), features: { type: 'float32', data: new Float32Array(8), dims } };
      expectInvalid(rejectionOf(inputs), { input: 'features' }, /dims must be an array of non-negative integers/);
    }
  });

  it('rejects a wrong dtype, naming the expected one', () => {
    const inputs = { ...validInputs(), features: { type: 'float64', data: new Float64Array(8), dims: [2, 4] } };
    expectInvalid(rejectionOf(inputs), { input: 'features' }, /has type float64, expected float32/);
  });

  it('rejects a dtype that does not exist', () => {
    const inputs = { ...validInputs(), features: { type: 'float', data: new Float32Array(8), dims: [2, 4] } };
    expectInvalid(rejectionOf(inputs), { input: 'features' }, /unknown type "float"/);
  });

  it('rejects data that is a plain array instead of the typed array the dtype needs', () => {
    const inputs = { ...validInputs(), features: { type: 'float32', data: [0, 0, 0, 0, 0, 0, 0, 0], dims: [2, 4] } };
    expectInvalid(rejectionOf(inputs), { input: 'features' }, /data must be a Float32Array for type float32, got Array/);
  });

  it('rejects a typed array of the wrong class (int64 needs BigInt64Array, not Int32Array)', () => {
    const inputs = { ...validInputs(), tokens: { type: 'int64', data: new Int32Array(10), dims: [2, 5] } };
    expectInvalid(rejectionOf(inputs), { input: 'tokens' }, /data must be a BigInt64Array for type int64, got Int32Array/);
  });

  it('rejects a wrong rank, quoting the dims given and the shape expected', () => {
    const inputs = { ...validInputs(), features: { type: 'float32', data: new Float32Array(8), dims: [8] } };
    expectInvalid(rejectionOf(inputs), { input: 'features' }, /has rank 1 \(dims \[8\]\), expected rank 2 \(shape \[batch, 4\]\)/);
    const scalar = { ...validInputs(), scale: { type: 'float32', data: new Float32Array(1), dims: [1] } };
    expectInvalid(rejectionOf(scalar), { input: 'scale' }, /has rank 1 .* expected rank 0/);
  });

  it('rejects a fixed dimension of the wrong size', () => {
    const inputs = { ...validInputs(), features: { type: 'float32', data: new Float32Array(10), dims: [2, 5] } };
    expectInvalid(rejectionOf(inputs), { input: 'features' }, /dimension 1 is 5, expected 4 \(shape \[batch, 4\]\)/);
  });

  it('rejects data whose length does not match the product of dims', () => {
    const inputs = { ...validInputs(), features: { type: 'float32', data: new Float32Array(7), dims: [2, 4] } };
    expectInvalid(rejectionOf(inputs), { input: 'features' }, /has 7 elements but dims \[2, 4\] need 8/);
  });

  it('rejects a symbolic dimension that has different sizes in different inputs', () => {
    const inputs = { ...validInputs(2, 5), tokens: { type: 'int64', data: new BigInt64Array(15), dims: [3, 5] } };
    expectInvalid(rejectionOf(inputs), { input: 'tokens' }, /dimension 0 \("batch"\) is 3 but input "features" has batch = 2/);
  });

  it('rejects an unknown requested output, listing the outputs the model has', () => {
    const error = rejectionOf(validInputs(), ['logits', 'probs']);
    expectInvalid(error, { output: 'probs' }, /unknown output "probs" \(outputs: logits, hidden\)/);
    expect(error.input).toBeUndefined();
  });

  it('rejects an empty or non-array list of outputs', () => {
    expectInvalid(rejectionOf(validInputs(), []), {}, /outputs must be a non-empty array/);
    expectInvalid(rejectionOf(validInputs(), 'logits'), {}, /outputs must be a non-empty array/);
  });

  it('checks that a string tensor holds only strings', () => {
    const sig: Signature = { inputs: [{ name: 'text', type: 'string', shape: [2] }], outputs: [] };
    expect(() => validatePredictInputs(id, sig, { text: { type: 'string', data: ['a', 'b'], dims: [2] } })).not.toThrow();
    expect(() => validatePredictInputs(id, sig, { text: { type: 'string', data: ['a', 2], dims: [2] } })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', input: 'text', message: expect.stringMatching(/data must be a string\[\]/) }),
    );
  });
});

describe('planPredictValidation', () => {
  it('accepts what the full validation accepts: symbolic dimensions shared, requested outputs known', () => {
    expect(() => planned(validInputs(2, 5))).not.toThrow();
    expect(() => planned(validInputs(7, 1), ['logits'])).not.toThrow();
    expect(() => validatePredictInputs(id, signature, validInputs(7, 1), ['logits'])).not.toThrow();
  });

  it('hands a disagreeing symbolic dimension to the full validation, which names it', () => {
    const inputs = validInputs(2, 5);
    inputs.tokens = { type: 'int64', data: new BigInt64Array(15), dims: [3, 5] };
    expect(() => planned(inputs)).toThrow(/dimension 0 \("batch"\) is 3 but input "features" has batch = 2/);
  });
});
