/**
 * FakeServing: a `ServingLike` over a few in-memory models that compute for real, with the
 * status, metadata and errors the runtime gives (NOT_FOUND for an unknown model, version or
 * label; UNAVAILABLE when no version is AVAILABLE; INVALID_ARGUMENT for inputs that do not fit
 * the signature, as the runner checks them). Every predict call is recorded; `failNext()` makes
 * the next call of any method reject with a given error.
 *
 * Models:
 * - `doubler` v2, v1 (labels stable → 1, canary → 2): x float32 [batch, 3] → y = 2x
 * - `vad` v2 AVAILABLE, v1 END (PROTOCOLS.md's status and metadata examples): input [?, 512] → output [?, 1] (row mean)
 * - `multi` v1: a float32 [batch, 2], b int64 [batch] → sum = a + b (per row), b_twice = 2b
 * - `sensors` v1 (TF Serving's REST doc example): tag string [batch], signal int32 [batch, 5],
 *   sensor float32 [batch, 2, 2] → total float32 [batch], tag_bytes string [batch] (upper-cased tag)
 * - `text` v1: text string [batch] → upper, echo_bytes (the same strings)
 * - `logic` v3: mask bool [n] → not bool [n], count int32 [] (a scalar)
 * - `half` v1: h float16 [?] → h2 = 2h
 * - `mymodel` v1 (the KServe spec's example): input0 uint32 [2, 2] → output0 float32 [3, 2]
 * - `broken` v2 END with DATA_LOSS, v1 END: nothing AVAILABLE
 * - `vocab` v1: a lookup table (no signature)
 */
import type { PredictRequest } from '../../client/serving-client.js';
import type { ErrorCode } from '../../core/serving-error.js';
import { ServingError } from '../../core/serving-error.js';
import { arrayFromJSON } from '../../loaders/tensor-types.js';
import type { MetricsSnapshot, ModelMetadata, ModelStatus, ModelVersionStatus, PredictResponse, Signature, TensorData, TensorType } from '../../protocol.js';
import type { ServingLike } from '../serving-like.js';

type Outputs = Record<string, TensorData>;

interface FakeModel {
  readonly versions: readonly Pick<ModelVersionStatus, 'version' | 'state' | 'error'>[];
  readonly labels?: Readonly<Record<string, number>>;
  readonly signature?: Signature;
  readonly compute?: (inputs: Readonly<Record<string, TensorData>>) => Outputs;
}

const f32 = (dims: number[], values: number[]): TensorData => ({ type: 'float32', dims, data: Float32Array.from(values) });
const spec = (name: string, type: TensorType, shape: (number | string | null)[]) => ({ name, type, shape });
const available = (...versions: number[]) => versions.map((version) => ({ version, state: 'AVAILABLE' as const }));
const numbers = (t: TensorData) => Array.from(t.data as ArrayLike<number>);

const MODELS: Readonly<Record<string, FakeModel>> = {
  doubler: {
    versions: available(2, 1),
    labels: { stable: 1, canary: 2 },
    signature: { inputs: [spec('x', 'float32', ['batch', 3])], outputs: [spec('y', 'float32', ['batch', 3])] },
    compute: ({ x }) => ({ y: f32([...x!.dims], numbers(x!).map((v) => 2 * v)) }),
  },
  vad: {
    versions: [{ version: 2, state: 'AVAILABLE' }, { version: 1, state: 'END' }],
    signature: { inputs: [spec('input', 'float32', [null, 512])], outputs: [spec('output', 'float32', [null, 1])] },
    compute: ({ input }) => {
      const rows = input!.dims[0]!;
      const values = numbers(input!);
      return { output: f32([rows, 1], Array.from({ length: rows }, (_, r) => values.slice(r * 512, (r + 1) * 512).reduce((a, b) => a + b, 0) / 512)) };
    },
  },
  multi: {
    versions: available(1),
    signature: {
      inputs: [spec('a', 'float32', ['batch', 2]), spec('b', 'int64', ['batch'])],
      outputs: [spec('sum', 'float32', ['batch', 2]), spec('b_twice', 'int64', ['batch'])],
    },
    compute: ({ a, b }) => {
      const bs = b!.data as BigInt64Array;
      return {
        sum: f32([...a!.dims], numbers(a!).map((v, i) => v + Number(bs[Math.floor(i / 2)]!))),
        b_twice: { type: 'int64', dims: [...b!.dims], data: bs.map((v) => 2n * v) },
      };
    },
  },
  sensors: {
    versions: available(1),
    signature: {
      inputs: [spec('tag', 'string', ['batch']), spec('signal', 'int32', ['batch', 5]), spec('sensor', 'float32', ['batch', 2, 2])],
      outputs: [spec('total', 'float32', ['batch']), spec('tag_bytes', 'string', ['batch'])],
    },
    compute: ({ tag, signal, sensor }) => {
      const tags = tag!.data as readonly string[];
      const sum = (t: TensorData, row: number, per: number) => numbers(t).slice(row * per, (row + 1) * per).reduce((x, y) => x + y, 0);
      return {
        total: f32([tags.length], tags.map((_, r) => sum(signal!, r, 5) + sum(sensor!, r, 4))),
        tag_bytes: { type: 'string', dims: [tags.length], data: tags.map((t) => t.toUpperCase()) },
      };
    },
  },
  text: {
    versions: available(1),
    signature: { inputs: [spec('text', 'string', ['batch'])], outputs: [spec('upper', 'string', ['batch']), spec('echo_bytes', 'string', ['batch'])] },
    compute: ({ text }) => {
      const strings = text!.data as readonly string[];
      return { upper: { type: 'string', dims: [...text!.dims], data: strings.map((s) => s.toUpperCase()) }, echo_bytes: { type: 'string', dims: [...text!.dims], data: [...strings] } };
    },
  },
  logic: {
    versions: available(3),
    signature: { inputs: [spec('mask', 'bool', ['n'])], outputs: [spec('not', 'bool', ['n']), spec('count', 'int32', [])] },
    compute: ({ mask }) => {
      const bits = mask!.data as Uint8Array;
      return { not: { type: 'bool', dims: [...mask!.dims], data: bits.map((b) => (b ? 0 : 1)) }, count: { type: 'int32', dims: [], data: Int32Array.of(bits.filter((b) => b).length) } };
    },
  },
  half: {
    versions: available(1),
    signature: { inputs: [spec('h', 'float16', [null])], outputs: [spec('h2', 'float16', [null])] },
    compute: ({ h }) => ({ h2: { type: 'float16', dims: [...h!.dims], data: arrayFromJSON('float16', Array.from(h!.data as Uint16Array, (bits) => 2 * halfValue(bits))) } }),
  },
  mymodel: {
    versions: available(1),
    signature: { inputs: [spec('input0', 'uint32', [2, 2])], outputs: [spec('output0', 'float32', [3, 2])] },
    compute: () => ({ output0: f32([3, 2], [1.0, 1.1, 2.0, 2.1, 3.0, 3.1]) }),
  },
  broken: {
    versions: [
      { version: 2, state: 'END', error: { name: 'ServingError', code: 'DATA_LOSS', message: 'model "broken" version 2: model.onnx: SHA-256 mismatch' } },
      { version: 1, state: 'END' },
    ],
  },
  vocab: { versions: available(1) },
};

/** The value of half-precision bits (enough of IEEE 754 for the test's normal numbers). */
export function halfValue(bits: number): number {
  const exponent = (bits >> 10) & 0x1f;
  const value = exponent === 0 ? (bits & 0x3ff) * 2 ** -24 : (1 + (bits & 0x3ff) / 1024) * 2 ** (exponent - 15);
  return bits & 0x8000 ? -value : value;
}

export class FakeServing implements ServingLike {
  /** Every predict request, in call order. */
  readonly predictCalls: PredictRequest[] = [];
  readonly #models: Readonly<Record<string, FakeModel>>;
  readonly #counts = new Map<string, { requests: number; errors: Partial<Record<ErrorCode, number>> }>();
  #failWith: unknown;

  /** Serves every model above, or only those named. */
  constructor(only?: readonly string[]) {
    this.#models = only ? Object.fromEntries(only.map((name) => [name, MODELS[name]!])) : MODELS;
  }

  /** The next call, of any method, rejects with `error`. */
  failNext(error: unknown): void {
    this.#failWith = error;
  }

  async status(model: string): Promise<ModelStatus> {
    this.#maybeFail();
    const m = this.#model(model);
    const labels = m.labels ?? {};
    return {
      model,
      versions: m.versions.map((v) => ({ ...v, labels: Object.keys(labels).filter((l) => labels[l] === v.version), updatedAt: 0 })),
      labels,
    };
  }

  async metadata(model: string, select: { readonly version?: number; readonly label?: string } = {}): Promise<ModelMetadata> {
    this.#maybeFail();
    const m = this.#model(model);
    const version = this.#resolve(model, m, select);
    const labels = Object.entries(m.labels ?? {}).filter(([, v]) => v === version).map(([l]) => l);
    if (!m.signature) return { model, version, platform: 'table', apis: ['lookup'], labels, description: { tableType: 'vocabulary', size: 3 } };
    return { model, version, platform: 'onnx', apis: ['predict'], labels, signature: m.signature };
  }

  async predict(request: PredictRequest): Promise<PredictResponse> {
    this.predictCalls.push(request);
    try {
      this.#maybeFail();
      const m = this.#model(request.model);
      const version = this.#resolve(request.model, m, request);
      if (!m.signature || !m.compute) throw new ServingError('FAILED_PRECONDITION', `model "${request.model}" is a lookup table: use lookup()`, { model: request.model });
      checkInputs(request.model, m.signature, request.inputs);
      const all = m.compute(request.inputs);
      const wanted = request.outputs ?? Object.keys(all);
      for (const name of wanted) if (!(name in all)) throw new ServingError('INVALID_ARGUMENT', `model "${request.model}" has no output "${name}"`, { model: request.model, output: name });
      this.#count(request.model);
      return { model: request.model, version, outputs: Object.fromEntries(wanted.map((name) => [name, all[name]!])) };
    } catch (error) {
      if (request.model in this.#models) this.#count(request.model, (error as ServingError).code);
      throw error;
    }
  }

  async metrics(): Promise<MetricsSnapshot> {
    this.#maybeFail();
    const models = Object.fromEntries(
      Object.keys(this.#models).map((name) => {
        const c = this.#counts.get(name) ?? { requests: 0, errors: {} };
        return [name, { requests: c.requests, errors: { ...c.errors }, runs: c.requests, latency: { count: 0, meanMs: 0, p50Ms: 0, p99Ms: 0 } }];
      }),
    );
    return { models, runtime: { crossOriginIsolated: false, hardwareConcurrency: 1 } };
  }

  #count(model: string, error?: ErrorCode): void {
    const c = this.#counts.get(model) ?? { requests: 0, errors: {} };
    c.requests += 1;
    if (error) c.errors[error] = (c.errors[error] ?? 0) + 1;
    this.#counts.set(model, c);
  }

  #maybeFail(): void {
    if (this.#failWith === undefined) return;
    const error = this.#failWith;
    this.#failWith = undefined;
    throw error;
  }

  #model(name: string): FakeModel {
    const m = this.#models[name];
    if (!m) throw new ServingError('NOT_FOUND', `model "${name}" is not served`, { model: name });
    return m;
  }

  #resolve(model: string, m: FakeModel, select: { readonly version?: number; readonly label?: string }): number {
    const serving = m.versions.filter((v) => v.state === 'AVAILABLE').map((v) => v.version);
    if (select.label !== undefined) {
      const version = m.labels?.[select.label];
      if (version === undefined) throw new ServingError('NOT_FOUND', `model "${model}" has no label "${select.label}"`, { model, label: select.label });
      return version;
    }
    if (select.version !== undefined) {
      if (!serving.includes(select.version)) throw new ServingError('NOT_FOUND', `model "${model}" version ${select.version} is not available`, { model, version: select.version });
      return select.version;
    }
    if (serving.length === 0) throw new ServingError('UNAVAILABLE', `model "${model}" has no available version`, { model });
    return Math.max(...serving);
  }
}

/** The runner's checks, in short: every input present with its type, rank and fixed sizes; data as long as its dims say. */
function checkInputs(model: string, signature: Signature, inputs: Readonly<Record<string, TensorData>>): void {
  for (const name of Object.keys(inputs)) {
    if (!signature.inputs.some((s) => s.name === name)) throw new ServingError('INVALID_ARGUMENT', `model "${model}" has no input "${name}"`, { model, input: name });
  }
  for (const s of signature.inputs) {
    const t = inputs[s.name];
    if (!t) throw new ServingError('INVALID_ARGUMENT', `model "${model}": missing input "${s.name}"`, { model, input: s.name });
    if (t.type !== s.type) throw new ServingError('INVALID_ARGUMENT', `model "${model}": input "${s.name}" must be ${s.type}, got ${t.type}`, { model, input: s.name });
    const fits = t.dims.length === s.shape.length && s.shape.every((d, i) => typeof d !== 'number' || d === t.dims[i]);
    if (!fits) throw new ServingError('INVALID_ARGUMENT', `model "${model}": input "${s.name}" has dims [${t.dims.join(', ')}], the signature says [${s.shape.join(', ')}]`, { model, input: s.name });
    if (t.data.length !== t.dims.reduce((a, b) => a * b, 1)) throw new ServingError('INVALID_ARGUMENT', `model "${model}": input "${s.name}" data length does not match its dims`, { model, input: s.name });
  }
}
