import { describe, expect, it } from 'vitest';
import { ServingError } from '../../../core/serving-error.js';
import { LookupTable } from '../lookup-table.js';

const id = { name: 'vocab', version: 7 };
const bytesOf = (text: string) => new TextEncoder().encode(text);

function lookupError(table: LookupTable, keys: unknown): ServingError {
  try {
    table.lookup(id, keys);
  } catch (error) {
    expect(error).toBeInstanceOf(ServingError);
    return error as ServingError;
  }
  throw new Error(`lookup(${JSON.stringify(keys)}) did not throw`);
}

describe('LookupTable', () => {
  describe('vocabulary from table.txt', () => {
    const table = LookupTable.parse(id, 'table.txt', bytesOf('<pad>\nhello\nworld\n'));

    it('has one entry per line, the trailing newline adding none', () => {
      expect(table.type).toBe('vocabulary');
      expect(table.size).toBe(3);
    });

    it('maps a string key to its line index and an integer key to its line', () => {
      expect(table.lookup(id, ['world', 'hello', '<pad>'])).toEqual([2, 1, 0]);
      expect(table.lookup(id, [1, 2, 0])).toEqual(['hello', 'world', '<pad>']);
    });

    it('answers null for a key or index that is not in the table', () => {
      expect(table.lookup(id, ['unknown', 'hello'])).toEqual([null, 1]);
      expect(table.lookup(id, [3, -1, 0])).toEqual([null, null, '<pad>']);
    });

    it('accepts CRLF line endings and a byte-order mark', () => {
      const crlf = LookupTable.parse(id, 'table.txt', new Uint8Array([0xef, 0xbb, 0xbf, ...bytesOf('a\r\nb\r\n')]));
      expect(crlf.size).toBe(2);
      expect(crlf.lookup(id, ['a', 'b'])).toEqual([0, 1]);
    });

    it('gives a duplicated line the index of its first occurrence', () => {
      const dup = LookupTable.parse(id, 'table.txt', bytesOf('x\ny\nx\n'));
      expect(dup.lookup(id, ['x'])).toEqual([0]);
      expect(dup.lookup(id, [2])).toEqual(['x']);
    });

    it('keeps an empty line as an entry', () => {
      const blank = LookupTable.parse(id, 'table.txt', bytesOf('a\n\nb'));
      expect(blank.size).toBe(3);
      expect(blank.lookup(id, ['b', ''])).toEqual([2, 1]);
    });
  });

  describe('table.json', () => {
    it('an array of strings is a vocabulary', () => {
      const table = LookupTable.parse(id, 'table.json', bytesOf('["cat", "dog", "bird"]'));
      expect(table.type).toBe('vocabulary');
      expect(table.size).toBe(3);
      expect(table.lookup(id, ['dog', 'fish'])).toEqual([1, null]);
      expect(table.lookup(id, [2])).toEqual(['bird']);
    });

    it('an object is a map from key to any JSON value; an integer key reads its decimal string', () => {
      const table = LookupTable.parse(id, 'table.json', bytesOf('{ "0": "cat", "1": "dog", "colour": { "r": 1 }, "tags": ["a"] }'));
      expect(table.type).toBe('map');
      expect(table.size).toBe(4);
      expect(table.lookup(id, ['colour', 'tags', '0', 'nope'])).toEqual([{ r: 1 }, ['a'], 'cat', null]);
      expect(table.lookup(id, [1, 0, 5])).toEqual(['dog', 'cat', null]);
    });

    it('does not answer inherited object properties as keys', () => {
      const table = LookupTable.parse(id, 'table.json', bytesOf('{ "a": 1 }'));
      expect(table.lookup(id, ['constructor', 'toString', '__proto__'])).toEqual([null, null, null]);
    });

    it('rejects a file that is not JSON, naming model, version and file', () => {
      expect(() => LookupTable.parse(id, 'table.json', bytesOf('{ nope'))).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT', model: 'vocab', version: 7, message: expect.stringMatching(/model "vocab" version 7: table\.json is not valid JSON/) }),
      );
    });

    it('rejects JSON that is neither an array of strings nor an object', () => {
      for (const text of ['[1, 2]', '"cat"', '3', 'null']) {
        expect(() => LookupTable.parse(id, 'table.json', bytesOf(text))).toThrow(
          expect.objectContaining({ code: 'INVALID_ARGUMENT', version: 7, message: expect.stringMatching(/must hold an array of strings or an object/) }),
        );
      }
    });
  });

  describe('bad keys', () => {
    const table = LookupTable.parse(id, 'table.txt', bytesOf('a\nb\n'));

    it('rejects a mix of strings and integers, naming the first bad position as keys[i]', () => {
      const mixed = lookupError(table, ['a', 'b', 1]);
      expect(mixed.code).toBe('INVALID_ARGUMENT');
      expect(mixed.input).toBe('keys[2]');
      expect(mixed.model).toBe('vocab');
      expect(mixed.version).toBe(7);
      expect(mixed.message).toMatch(/model "vocab" version 7: keys\[2\] is 1/);

      expect(lookupError(table, [0, 'a']).input).toBe('keys[1]');
    });

    it('rejects non-integer numbers and other values', () => {
      expect(lookupError(table, [0, 1.5]).input).toBe('keys[1]');
      expect(lookupError(table, [Number.NaN]).input).toBe('keys[0]');
      expect(lookupError(table, ['a', null]).input).toBe('keys[1]');
      expect(lookupError(table, [{}]).input).toBe('keys[0]');
    });

    it('rejects keys that are not an array', () => {
      const error = lookupError(table, 'a');
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(error.message).toMatch(/keys must be an array/);
      expect(error.input).toBeUndefined();
    });

    it('answers an empty list of keys with an empty list', () => {
      expect(table.lookup(id, [])).toEqual([]);
    });
  });
});
