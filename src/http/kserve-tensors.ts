/**
 * Tensors in KServe's Open Inference Protocol v2: datatype names, and the binary tensor data
 * extension's byte layout.
 *
 * Binary layout (little-endian, row-major, no padding): each element in its native size; BOOL one
 * byte (1 true, 0 false); FP16 the half-precision bits; BYTES, per element, a 4-byte little-endian
 * unsigned length then that many bytes. String tensors hold text, so BYTES elements must be UTF-8
 * (other bytes are INVALID_ARGUMENT, not silently altered).
 *
 * Typed arrays use the platform's byte order, which is little-endian on every platform a browser
 * runs on; a big-endian one is refused with INTERNAL rather than answered with swapped bytes.
 */
import { ServingError } from '../core/serving-error.js';
import { elementCount } from '../loaders/tensor-types.js';
import type { TensorData, TensorType, TypedArray } from '../protocol.js';

export type KServeDatatype = 'BOOL' | 'UINT8' | 'UINT16' | 'UINT32' | 'UINT64' | 'INT8' | 'INT16' | 'INT32' | 'INT64' | 'FP16' | 'FP32' | 'FP64' | 'BYTES';

export const DATATYPE_OF: Readonly<Record<TensorType, KServeDatatype>> = {
  bool: 'BOOL',
  uint8: 'UINT8',
  uint16: 'UINT16',
  uint32: 'UINT32',
  uint64: 'UINT64',
  int8: 'INT8',
  int16: 'INT16',
  int32: 'INT32',
  int64: 'INT64',
  float16: 'FP16',
  float32: 'FP32',
  float64: 'FP64',
  string: 'BYTES',
};

const TYPE_OF = new Map<string, TensorType>(Object.entries(DATATYPE_OF).map(([type, datatype]) => [datatype, type as TensorType]));

type FixedType = Exclude<TensorType, 'string'>;
const ARRAY_OF: Readonly<Record<FixedType, { new (buffer: ArrayBuffer): TypedArray; readonly BYTES_PER_ELEMENT: number }>> = {
  bool: Uint8Array,
  uint8: Uint8Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  uint64: BigUint64Array,
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  float16: Uint16Array,
  float32: Float32Array,
  float64: Float64Array,
};

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The tensor type of a v2 datatype name, or `undefined` for a name the protocol does not have. */
export function tensorTypeOf(datatype: unknown): TensorType | undefined {
  return typeof datatype === 'string' ? TYPE_OF.get(datatype) : undefined;
}

/** Reads one tensor's binary data; INVALID_ARGUMENT when its size does not fit `dims`. `what` names it in errors. */
export function tensorFromBytes(bytes: Uint8Array, type: TensorType, dims: readonly number[], what: string): TensorData {
  requireLittleEndian();
  const count = elementCount(dims);
  if (type === 'string') return { type, dims: [...dims], data: readByteElements(bytes, count, what) };
  const array = ARRAY_OF[type];
  const expected = count * array.BYTES_PER_ELEMENT;
  if (bytes.byteLength !== expected) {
    throw new ServingError('INVALID_ARGUMENT', `${what}: ${bytes.byteLength} bytes of binary data, but ${DATATYPE_OF[type]} of shape [${dims.join(', ')}] takes ${expected}`);
  }
  // slice(): a copy of its own, aligned for the typed array and not sharing the request's buffer.
  const data = new array(bytes.slice().buffer);
  if (type === 'bool') (data as Uint8Array).forEach((b, i, all) => (all[i] = b ? 1 : 0));
  return { type, dims: [...dims], data };
}

/** A tensor's binary data, laid out as the extension says. */
export function tensorBytes(tensor: TensorData): Uint8Array {
  requireLittleEndian();
  if (tensor.type === 'string') return writeByteElements(tensor.data as readonly string[]);
  const data = tensor.data as TypedArray;
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function readByteElements(bytes: Uint8Array, count: number, what: string): string[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: string[] = [];
  let at = 0;
  while (at < bytes.byteLength) {
    if (at + 4 > bytes.byteLength) throw new ServingError('INVALID_ARGUMENT', `${what}: BYTES element ${out.length} is cut off in its 4-byte length`);
    const length = view.getUint32(at, true);
    at += 4;
    if (at + length > bytes.byteLength) throw new ServingError('INVALID_ARGUMENT', `${what}: BYTES element ${out.length} says ${length} bytes, but only ${bytes.byteLength - at} remain`);
    try {
      out.push(UTF8.decode(bytes.subarray(at, at + length)));
    } catch {
      throw new ServingError('INVALID_ARGUMENT', `${what}: BYTES element ${out.length} is not UTF-8 text, which a string tensor cannot hold (onnxruntime-web passes strings to the model as UTF-8)`);
    }
    at += length;
  }
  if (out.length !== count) throw new ServingError('INVALID_ARGUMENT', `${what}: the binary data holds ${out.length} BYTES elements, but its shape needs ${count}`);
  return out;
}

function writeByteElements(strings: readonly string[]): Uint8Array {
  const encoder = new TextEncoder();
  const encoded = strings.map((s) => encoder.encode(s));
  const out = new Uint8Array(encoded.reduce((sum, e) => sum + 4 + e.byteLength, 0));
  const view = new DataView(out.buffer);
  let at = 0;
  for (const e of encoded) {
    view.setUint32(at, e.byteLength, true);
    out.set(e, at + 4);
    at += 4 + e.byteLength;
  }
  return out;
}

function requireLittleEndian(): void {
  if (!LITTLE_ENDIAN) throw new ServingError('INTERNAL', 'binary tensor data needs a little-endian platform, and this one is big-endian');
}
