/**
 * Tensors as JSON, both ways, for both protocols.
 *
 * Reading: TF Serving's dense nested lists, whose nesting gives the shape (`[[1, 2], [3, 4]]` is
 * [2, 2], a bare value a scalar; the first element of each list sets the size of its level and
 * every other list must match it), and KServe's row-major `data` (flat or nested any way) with an
 * explicit shape. Each element must be what the tensor's type holds: a number for floats (NaN and
 * ±Infinity included), an integer within range for integer types (a `bigint` from
 * `parseRequestJSON` for int64 beyond 2^53), `true`/`false` for bool, a string or `{"b64": "…"}`
 * for string. Anything else is INVALID_ARGUMENT naming the tensor and the element's position.
 * Arrays are built by `arrayFromJSON`, the one table of which array holds which type.
 *
 * Writing: floats as TF Serving writes them (six significant digits when they read back exactly,
 * else nine for float32; the shortest exact form for float64 and float16; a `.0` on whole numbers; `NaN`,
 * `Infinity`, `-Infinity` as bare tokens), int64 exactly, bool as `true`/`false`, strings as JSON
 * strings or, with `bytes`, as `{"b64": "…"}`.
 *
 * String tensors hold text (onnxruntime-web passes them to the model as UTF-8), so `b64` values
 * must decode to UTF-8 text: other bytes are INVALID_ARGUMENT rather than silently altered.
 */
import { describeValue } from '../core/describe-value.js';
import { ServingError } from '../core/serving-error.js';
import { arrayFromJSON, elementCount } from '../loaders/tensor-types.js';
import type { TensorData, TensorType } from '../protocol.js';

type Element = number | bigint | string;

const INTEGER_RANGE: Partial<Readonly<Record<TensorType, readonly [bigint, bigint]>>> = {
  int8: [-(2n ** 7n), 2n ** 7n - 1n],
  uint8: [0n, 2n ** 8n - 1n],
  int16: [-(2n ** 15n), 2n ** 15n - 1n],
  uint16: [0n, 2n ** 16n - 1n],
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
};

// ignoreBOM: a leading U+FEFF is part of the value, not a marker to drop.
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A JSON object (not an array, not null). */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `{"b64": "<string>"}` and nothing else: TF Serving's form of binary string data. */
export function isB64Object(value: unknown): value is { b64: string } {
  return isJsonObject(value) && typeof value.b64 === 'string' && Object.keys(value).length === 1;
}

/** Reads TF Serving's nested lists as a tensor of `type`; `what` names it in errors (`input "x"`). */
export function tensorFromNested(value: unknown, type: TensorType, what: string): TensorData {
  const dims = denseShape(value);
  const leaves: unknown[] = [];
  collectLeaves(value, dims, 0, leaves, what, []);
  const elements = leaves.map((leaf, i) => checkElement(leaf, type, what, () => positionIn(dims, i)));
  return { type, dims, data: arrayFromJSON(type, elements) };
}

/** Reads row-major `data` (flat, or nested any way) as a tensor of `type` and shape `dims`. */
export function tensorFromFlat(value: unknown, type: TensorType, dims: readonly number[], what: string): TensorData {
  if (!Array.isArray(value)) throw new ServingError('INVALID_ARGUMENT', `${what}: data must be a list, got ${describeValue(value)}`);
  const leaves = (value as unknown[]).flat(Infinity);
  const expected = elementCount(dims);
  if (leaves.length !== expected) {
    throw new ServingError('INVALID_ARGUMENT', `${what}: data holds ${leaves.length} elements, but shape [${dims.join(', ')}] needs ${expected}`);
  }
  const elements = leaves.map((leaf, i) => checkElement(leaf, type, what, () => `data[${i}]`));
  return { type, dims: [...dims], data: arrayFromJSON(type, elements) };
}

/** The whole tensor as nested lists (a scalar as a bare value). `bytes` writes strings as `{"b64": …}`. */
export function nestedJSON(tensor: TensorData, bytes = false): string {
  const out: string[] = [];
  writeNested(tensor.dims, stridesOf(tensor.dims), 0, 0, elementWriter(tensor, bytes), out);
  return out.join('');
}

/** One JSON text per index of dimension 0 (the tensor must have rank ≥ 1). */
export function rowsJSON(tensor: TensorData, bytes = false): string[] {
  const strides = stridesOf(tensor.dims);
  const write = elementWriter(tensor, bytes);
  return Array.from({ length: tensor.dims[0] ?? 0 }, (_, row) => {
    const out: string[] = [];
    writeNested(tensor.dims, strides, 1, row * strides[0]!, write, out);
    return out.join('');
  });
}

/** The elements as one flat, row-major JSON list. */
export function flatJSON(tensor: TensorData): string {
  const write = elementWriter(tensor, false);
  return `[${Array.from({ length: tensor.data.length }, (_, i) => write(i)).join(',')}]`;
}

/** Decodes a `b64` value into the text a string tensor holds; INVALID_ARGUMENT when it is not base64 of UTF-8. */
export function decodeB64Text(b64: string, where: string): string {
  let binary: string;
  try {
    binary = atob(b64);
  } catch {
    throw new ServingError('INVALID_ARGUMENT', `${where}: Unable to base64 decode ${describeValue(b64)}`);
  }
  try {
    return UTF8.decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
  } catch {
    throw new ServingError('INVALID_ARGUMENT', `${where}: the b64 value decodes to bytes that are not UTF-8 text, which a string tensor cannot hold (onnxruntime-web passes strings to the model as UTF-8)`);
  }
}

/** Base64 of the UTF-8 bytes of `text`. */
export function encodeB64Text(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = '';
  // In slices: spreading a whole large array into fromCharCode overflows the call stack.
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** The shape the first element of each list implies (TF Serving's `GetDenseTensorShape`). */
function denseShape(value: unknown): number[] {
  const dims: number[] = [];
  let level = value;
  while (Array.isArray(level)) {
    dims.push(level.length);
    if (level.length === 0) break;
    level = level[0];
  }
  return dims;
}

function collectLeaves(value: unknown, dims: readonly number[], level: number, out: unknown[], what: string, path: number[]): void {
  const at = () => (path.length === 0 ? 'the top level' : path.map((p) => `[${p}]`).join(''));
  if (!Array.isArray(value)) {
    if (level !== dims.length) {
      throw new ServingError('INVALID_ARGUMENT', `${what}: ${describeValue(value)} at ${at()} is nested ${level} deep, but the first element of each list makes the tensor's rank ${dims.length}: tensors must be rectangular`);
    }
    out.push(value);
    return;
  }
  if (level >= dims.length) {
    throw new ServingError('INVALID_ARGUMENT', `${what}: the list at ${at()} is nested deeper than the tensor's rank ${dims.length} (set by the first element of each list): tensors must be rectangular`);
  }
  if (value.length !== dims[level]) {
    throw new ServingError('INVALID_ARGUMENT', `${what}: the list at ${at()} has ${value.length} elements, but the first list at its level has ${dims[level]}: tensors must be rectangular`);
  }
  for (let i = 0; i < value.length; i += 1) {
    path.push(i);
    collectLeaves(value[i], dims, level + 1, out, what, path);
    path.pop();
  }
}

/** The element as `arrayFromJSON` takes it for `type`, or INVALID_ARGUMENT naming where it is. */
function checkElement(leaf: unknown, type: TensorType, what: string, where: () => string): Element {
  switch (type) {
    case 'float32':
    case 'float64':
    case 'float16':
      if (typeof leaf === 'number') return leaf;
      if (typeof leaf === 'bigint') return Number(leaf);
      break;
    case 'bool':
      if (typeof leaf === 'boolean') return leaf ? 1 : 0;
      break;
    case 'string':
      if (typeof leaf === 'string') return leaf;
      if (isB64Object(leaf)) return decodeB64Text(leaf.b64, `${what} at ${where()}`);
      break;
    default: {
      const integer = typeof leaf === 'bigint' ? leaf : typeof leaf === 'number' && Number.isInteger(leaf) ? BigInt(leaf) : undefined;
      if (integer === undefined) break;
      const [min, max] = INTEGER_RANGE[type]!;
      if (integer < min || integer > max) {
        throw new ServingError('INVALID_ARGUMENT', `${what}: ${integer} at ${where()} is out of the range of ${type} (${min}..${max})`);
      }
      return type === 'int64' || type === 'uint64' ? integer : Number(integer);
    }
  }
  throw new ServingError('INVALID_ARGUMENT', `${what} is ${type}, but holds ${describeValue(leaf)} at ${where()}: expected ${EXPECTED[type]}`);
}

const EXPECTED: Readonly<Record<TensorType, string>> = {
  float32: 'a number',
  float64: 'a number',
  float16: 'a number',
  int8: 'an integer',
  uint8: 'an integer',
  int16: 'an integer',
  uint16: 'an integer',
  int32: 'an integer',
  uint32: 'an integer',
  int64: 'an integer',
  uint64: 'an integer',
  bool: 'true or false',
  string: 'a string or {"b64": "..."}',
};

function positionIn(dims: readonly number[], index: number): string {
  if (dims.length === 0) return 'the top level';
  const parts: number[] = [];
  for (let d = dims.length - 1; d >= 0; d -= 1) {
    parts.unshift(index % dims[d]!);
    index = Math.floor(index / dims[d]!);
  }
  return parts.map((p) => `[${p}]`).join('');
}

function stridesOf(dims: readonly number[]): number[] {
  const strides = new Array<number>(dims.length);
  let stride = 1;
  for (let d = dims.length - 1; d >= 0; d -= 1) {
    strides[d] = stride;
    stride *= dims[d]!;
  }
  return strides;
}

function writeNested(dims: readonly number[], strides: readonly number[], level: number, offset: number, write: (i: number) => string, out: string[]): void {
  if (level === dims.length) {
    out.push(write(offset));
    return;
  }
  out.push('[');
  for (let k = 0; k < dims[level]!; k += 1) {
    if (k > 0) out.push(',');
    writeNested(dims, strides, level + 1, offset + k * strides[level]!, write, out);
  }
  out.push(']');
}

function elementWriter(tensor: TensorData, bytes: boolean): (i: number) => string {
  const data = tensor.data as ArrayLike<number | bigint | string>;
  switch (tensor.type) {
    case 'float32':
      return (i) => formatFloat32(data[i] as number);
    case 'float64':
      return (i) => formatDecimal(data[i] as number, String(data[i]));
    case 'float16': {
      // A Uint16Array holds half-precision bits; a native Float16Array holds the numbers.
      const value = tensor.data instanceof Uint16Array ? (i: number) => halfToNumber(data[i] as number) : (i: number) => data[i] as number;
      return (i) => formatFloat16(value(i));
    }
    case 'bool':
      return (i) => (data[i] ? 'true' : 'false');
    case 'string':
      return bytes ? (i) => `{"b64":"${encodeB64Text(data[i] as string)}"}` : (i) => JSON.stringify(data[i]);
    default:
      return (i) => String(data[i]);
  }
}

function formatFloat32(value: number): string {
  if (!Number.isFinite(value)) return formatDecimal(value, '');
  let short = Number(value.toPrecision(6));
  if (Math.fround(short) !== value) short = Number(value.toPrecision(9));
  return formatDecimal(value, String(short));
}

/** The fewest significant digits (five always suffice) that read back as the same half-precision value. */
function formatFloat16(value: number): string {
  if (!Number.isFinite(value)) return formatDecimal(value, '');
  const bits = halfBits(value);
  for (let digits = 1; digits < 5; digits += 1) {
    const short = Number(value.toPrecision(digits));
    if (halfBits(short) === bits) return formatDecimal(value, String(short));
  }
  return formatDecimal(value, String(Number(value.toPrecision(5))));
}

function halfBits(value: number): number {
  return (arrayFromJSON('float16', [value]) as Uint16Array)[0]!;
}

function formatDecimal(value: number, text: string): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'Infinity';
  if (value === -Infinity) return '-Infinity';
  if (Object.is(value, -0)) return '-0.0';
  return /[.e]/.test(text) ? text : `${text}.0`;
}

function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}
