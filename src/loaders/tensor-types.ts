/**
 * Which JavaScript array holds each tensor element type, and the small helpers that follow
 * from it. One table, so that validation, warm-up and the wire format agree.
 */
import type { TensorData, TensorType, TypedArray } from '../protocol.js';

type ArrayConstructorOf = { new (length: number): TypedArray; readonly name: string };

const ARRAY_OF: Readonly<Record<Exclude<TensorType, 'string'>, ArrayConstructorOf>> = {
  float32: Float32Array,
  float64: Float64Array,
  float16: Uint16Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
  bool: Uint8Array,
};

export const TENSOR_TYPES: readonly TensorType[] = [...(Object.keys(ARRAY_OF) as TensorType[]), 'string'];

export function isTensorType(value: unknown): value is TensorType {
  return typeof value === 'string' && (TENSOR_TYPES as readonly string[]).includes(value);
}

/** Name of the array class `type` needs, e.g. `Float32Array` or `string[]`. */
export function arrayNameFor(type: TensorType): string {
  return type === 'string' ? 'string[]' : ARRAY_OF[type].name;
}

/** Whether `data` is the array `type` needs. float16 also accepts a native `Float16Array` where the platform has one. */
export function dataMatchesType(type: TensorType, data: unknown): boolean {
  if (type === 'string') return Array.isArray(data) && data.every((d) => typeof d === 'string');
  if (type === 'float16' && (globalThis as { Float16Array?: unknown }).Float16Array && data instanceof (globalThis as unknown as { Float16Array: ArrayConstructorOf }).Float16Array) return true;
  return data instanceof ARRAY_OF[type];
}

/** Name of what `data` is, for error messages: `Float32Array`, `Array`, `null`, `number`… */
export function describeData(data: unknown): string {
  if (data === null) return 'null';
  if (ArrayBuffer.isView(data) || Array.isArray(data)) return data.constructor.name;
  return typeof data === 'object' ? (data.constructor?.name ?? 'object') : typeof data;
}

export function isTypedArray(data: unknown): data is TypedArray {
  return ArrayBuffer.isView(data) && !(data instanceof DataView);
}

export function elementCount(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** A zero-filled tensor (empty strings for string tensors). */
export function zeroTensor(type: TensorType, dims: readonly number[]): TensorData {
  const n = elementCount(dims);
  const data = type === 'string' ? Array.from({ length: n }, () => '') : new ARRAY_OF[type](n);
  return { type, data, dims: [...dims] };
}

/** Builds a typed array of `type` from plain JSON numbers (as in a `warmup.json`). */
export function arrayFromJSON(type: TensorType, values: readonly unknown[]): TensorData['data'] {
  if (type === 'string') return values.map(String);
  const array = new ARRAY_OF[type](values.length);
  const big = type === 'int64' || type === 'uint64';
  values.forEach((v, i) => {
    (array as unknown as (number | bigint)[])[i] = big ? BigInt(v as number | string) : type === 'float16' ? float16Bits(Number(v)) : Number(v);
  });
  return array;
}

/** IEEE 754 half-precision bits of `value`, rounded to nearest even: a float16 tensor's Uint16Array holds bits, not numbers. */
function float16Bits(value: number): number {
  if (Number.isNaN(value)) return 0x7e00;
  const sign = value < 0 || Object.is(value, -0) ? 0x8000 : 0;
  const abs = Math.abs(value);
  // 65520 is halfway between the largest half (65504) and the next power of two; the tie rounds to even, i.e. to Infinity.
  if (abs >= 65520) return sign | 0x7c00;
  if (abs < 2 ** -14) return sign | roundHalfEven(abs * 2 ** 24);
  let exponent = Math.floor(Math.log2(abs));
  if (2 ** exponent > abs) exponent -= 1;
  else if (2 ** (exponent + 1) <= abs) exponent += 1;
  const mantissa = roundHalfEven((abs / 2 ** exponent - 1) * 1024);
  // A mantissa that rounds up to 1024 carries into the exponent, which the addition does by itself.
  return sign | (((exponent + 15) << 10) + mantissa);
}

function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const rest = x - floor;
  if (rest > 0.5 || (rest === 0.5 && floor % 2 === 1)) return floor + 1;
  return floor;
}

/** The distinct ArrayBuffers behind tensors' data, for `postMessage` transfer lists. SharedArrayBuffers are skipped (they are shared, not moved). */
export function transferablesOf(tensors: Iterable<TensorData>): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const tensor of tensors) {
    // Callers' inputs are not validated yet: anything may stand where a tensor should.
    const data = typeof tensor === 'object' && tensor !== null ? tensor.data : undefined;
    if (isTypedArray(data) && data.buffer instanceof ArrayBuffer) buffers.add(data.buffer);
  }
  return [...buffers];
}
