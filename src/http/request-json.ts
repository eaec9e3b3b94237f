/**
 * Request bodies read as TF Serving reads them: JSON, plus the bare tokens `NaN`, `Infinity` and
 * `-Infinity` (rapidjson's `kParseNanAndInfFlag`), with integers beyond 2^53 kept exact as
 * `bigint` (an int64 input must not lose its low digits on the way in).
 *
 * `JSON.parse` knows neither, so a text that may hold them is rewritten first by a scanner that
 * copies string literals untouched (a `"NaN"` inside a string stays a string) and replaces, outside
 * strings only: `Infinity` → `1e999` and `-Infinity` → `-1e999` (which JSON.parse reads as
 * ±Infinity), `NaN` and every integer literal beyond `Number.MAX_SAFE_INTEGER` → a string placeholder that
 * starts with a fresh random nonce, turned back into `NaN` or a `bigint` by the reviver. The nonce
 * is unguessable, so no string a client sends can pass for a placeholder. Texts without such
 * tokens — most of them — go straight to `JSON.parse`.
 *
 * A text that is not JSON (after the rewrite) is INVALID_ARGUMENT `JSON Parse error: …`.
 */
import { ServingError } from '../core/serving-error.js';

const MAY_NEED_REWRITE = /NaN|Infinity|\d{16}/;
const NUMBER = /-?\d+(\.\d+)?([eE][+-]?\d+)?/y;

/** Parses a request body; rejects with INVALID_ARGUMENT when it is empty or not JSON. */
export function parseRequestJSON(text: string): unknown {
  if (text.trim() === '') throw new ServingError('INVALID_ARGUMENT', 'JSON Parse error: The document is empty');
  if (!MAY_NEED_REWRITE.test(text)) return parse(text);
  const nonce = `browserving-${crypto.randomUUID()}:`;
  const rewritten = rewriteTokens(text, nonce);
  return parse(rewritten, (_key, value: unknown) => {
    if (typeof value !== 'string' || !value.startsWith(nonce)) return value;
    const token = value.slice(nonce.length);
    return token === 'NaN' ? NaN : BigInt(token);
  });
}

function parse(text: string, reviver?: (key: string, value: unknown) => unknown): unknown {
  try {
    return JSON.parse(text, reviver);
  } catch (error) {
    throw new ServingError('INVALID_ARGUMENT', `JSON Parse error: ${(error as Error).message}`);
  }
}

/** `text` with the non-JSON tokens and long integers outside string literals replaced (see the file's comment). */
function rewriteTokens(text: string, nonce: string): string {
  const out: string[] = [];
  let copiedUpTo = 0;
  const replace = (from: number, to: number, replacement: string) => {
    out.push(text.slice(copiedUpTo, from), replacement);
    copiedUpTo = to;
  };
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      i = endOfString(text, i);
    } else if (c === 'N' && text.startsWith('NaN', i)) {
      replace(i, i + 3, `"${nonce}NaN"`);
      i += 3;
    } else if (c === 'I' && text.startsWith('Infinity', i)) {
      replace(i, i + 8, '1e999');
      i += 8;
    } else if (c === '-' && text.startsWith('-Infinity', i)) {
      replace(i, i + 9, '-1e999');
      i += 9;
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      NUMBER.lastIndex = i;
      const match = NUMBER.exec(text);
      if (!match) {
        i += 1;
        continue;
      }
      const literal = match[0];
      const isInteger = match[1] === undefined && match[2] === undefined;
      if (isInteger && literal.replace('-', '').length > 15 && !Number.isSafeInteger(Number(literal))) replace(i, i + literal.length, `"${nonce}${literal}"`);
      i += literal.length;
    } else {
      i += 1;
    }
  }
  out.push(text.slice(copiedUpTo));
  return out.join('');
}

/** Index just past the string literal opening at `start` (or the text's end when it is not closed). */
function endOfString(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length) {
    const c = text[i];
    if (c === '\\') i += 2;
    else if (c === '"') return i + 1;
    else i += 1;
  }
  return text.length;
}
