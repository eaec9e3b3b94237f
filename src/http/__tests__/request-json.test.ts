import { describe, expect, it } from 'vitest';
import { ServingError } from '../../core/serving-error.js';
import { flatJSON, nestedJSON, tensorFromNested } from '../json-tensor.js';
import { parseRequestJSON } from '../request-json.js';

describe('parseRequestJSON', () => {
  it('reads NaN, Infinity and -Infinity tokens outside strings, anywhere in the document', () => {
    expect(parseRequestJSON('{"a": [NaN, Infinity, -Infinity], "b": {"c": NaN}}')).toEqual({ a: [NaN, Infinity, -Infinity], b: { c: NaN } });
    expect(parseRequestJSON('NaN')).toBeNaN();
    expect(parseRequestJSON('[-Infinity,Infinity]')).toEqual([-Infinity, Infinity]);
  });

  it('leaves the tokens alone inside strings, escaped quotes and backslashes included', () => {
    expect(parseRequestJSON('["NaN", "x\\"NaN\\"", "\\\\", "Infinity", -Infinity]')).toEqual(['NaN', 'x"NaN"', '\\', 'Infinity', -Infinity]);
    expect(parseRequestJSON('{"NaN": NaN}')).toEqual({ NaN: NaN });
  });

  it('keeps integers beyond 2^53 exact as bigint, and every other number as a number', () => {
    expect(parseRequestJSON('[9007199254740993, -9223372036854775808, 18446744073709551615]')).toEqual([9007199254740993n, -9223372036854775808n, 18446744073709551615n]);
    expect(parseRequestJSON('[9007199254740991, 1.2345678901234567, 12345678901234567890.5, 1e300]')).toEqual([9007199254740991, 1.2345678901234567, 12345678901234567890.5, 1e300]);
    expect(parseRequestJSON('["12345678901234567890"]')).toEqual(['12345678901234567890']);
  });

  it('cannot be fooled into a NaN or a bigint by a string that looks like a placeholder', () => {
    expect(parseRequestJSON('["browserving-00000000-0000-0000-0000-000000000000:NaN", NaN]')).toEqual(['browserving-00000000-0000-0000-0000-000000000000:NaN', NaN]);
  });

  it('is INVALID_ARGUMENT "JSON Parse error" for anything else', () => {
    for (const text of ['', '   ', '{', '{"a": nan}', '[NaNa]', "{'a': 1}", '[1,]', '[Infinity', '"unterminated']) {
      let caught: unknown;
      try {
        parseRequestJSON(text);
      } catch (error) {
        caught = error;
      }
      expect(caught, text).toBeInstanceOf(ServingError);
      expect((caught as ServingError).code).toBe('INVALID_ARGUMENT');
      expect((caught as ServingError).message).toMatch(/^JSON Parse error/);
    }
  });
});

describe('json-tensor', () => {
  it('builds the typed array the type needs, with the shape the nesting gives', () => {
    expect(tensorFromNested([[1, 2], [3, 4]], 'int8', 'input "x"')).toEqual({ type: 'int8', dims: [2, 2], data: Int8Array.of(1, 2, 3, 4) });
    expect(tensorFromNested(7, 'uint64', 'input "x"')).toEqual({ type: 'uint64', dims: [], data: BigUint64Array.of(7n) });
    expect(tensorFromNested([[], []], 'float32', 'input "x"')).toEqual({ type: 'float32', dims: [2, 0], data: new Float32Array(0) });
    expect(tensorFromNested([true, false], 'bool', 'input "x"').data).toEqual(Uint8Array.of(1, 0));
  });

  it('refuses values out of range and values of the wrong kind, naming the input and the position', () => {
    expect(() => tensorFromNested([1, 300], 'uint8', 'input "x"')).toThrow(/input "x": 300 at \[1\] is out of the range of uint8 \(0..255\)/);
    expect(() => tensorFromNested([-1], 'uint64', 'input "x"')).toThrow(/out of the range of uint64/);
    expect(() => tensorFromNested([1, 0], 'bool', 'input "m"')).toThrow(/input "m" is bool, but holds 1 at \[0\]: expected true or false/);
    expect(() => tensorFromNested([[1], 2], 'float32', 'input "x"')).toThrow(/rectangular/);
    expect(() => tensorFromNested([1, [2]], 'float32', 'input "x"')).toThrow(/nested deeper/);
  });

  it('writes float32 with six digits when they read back exactly (else nine), a .0 on whole numbers, -0.0, and exact int64', () => {
    expect(nestedJSON({ type: 'float32', dims: [5], data: Float32Array.of(0.1, 1 / 3, 3, -0, 16777216) })).toBe('[0.1,0.333333343,3.0,-0.0,16777216.0]');
    expect(nestedJSON({ type: 'float64', dims: [2], data: Float64Array.of(0.1, 2) })).toBe('[0.1,2.0]');
    expect(flatJSON({ type: 'int64', dims: [2, 1], data: BigInt64Array.of(-(2n ** 63n), 2n ** 63n - 1n) })).toBe('[-9223372036854775808,9223372036854775807]');
    expect(nestedJSON({ type: 'float16', dims: [3], data: Uint16Array.of(0x3c00, 0x2e66, 0x7c00) })).toBe('[1.0,0.1,Infinity]');
    expect(nestedJSON({ type: 'string', dims: [], data: ['a"b'] })).toBe('"a\\"b"');
  });
});
