/**
 * Checks a predict request against the servable's signature before anything runs, so that a
 * bad request fails with a precise INVALID_ARGUMENT naming the model, version and input — and
 * never reaches the engine, where it would fail obscurely or, worse, succeed wrongly.
 *
 * Checked, in order, per input: known name; nothing missing; a `{ type, data, dims }` object;
 * `dims` of non-negative integers; `type` equal to the signature's; `data` the array that type
 * needs; rank; every fixed dimension; element count equal to the product of `dims`. Across
 * inputs: a symbolic dimension (e.g. `batch`) has one value. Requested outputs must exist.
 */
import { ServingError, describeServable } from '../core/serving-error.js';
import type { ServableId } from '../core/servable-id.js';
import type { Signature, TensorData, TensorSpec } from '../protocol.js';
import { arrayNameFor, dataMatchesType, describeData, elementCount, isTensorType } from './tensor-types.js';
import { describeValue } from '../core/describe-value.js';

export function validatePredictInputs(id: ServableId, signature: Signature, inputs: unknown, outputs?: unknown): void {
  // Runs on every request: messages are only built once something fails.
  const fail = (message: string, detail: { input?: string; output?: string } = {}): never => {
    throw new ServingError('INVALID_ARGUMENT', `${describeServable(id.name, id.version)}: ${message}`, { model: id.name, version: id.version, ...detail });
  };
  if (typeof inputs !== 'object' || inputs === null || Array.isArray(inputs)) fail('inputs must be an object mapping input names to tensors');
  const given = inputs as Record<string, unknown>;
  const names = () => signature.inputs.map((s) => s.name).join(', ');
  for (const name of Object.keys(given)) {
    if (!signature.inputs.some((spec) => spec.name === name)) fail(`unknown input "${name}" (inputs: ${names()})`, { input: name });
  }
  const symbols = new Map<string, { input: string; size: number }>();
  for (const spec of signature.inputs) {
    if (!Object.hasOwn(given, spec.name)) fail(`missing input "${spec.name}" (inputs: ${names()})`, { input: spec.name });
    validateTensor(spec, given[spec.name], (message) => fail(`input "${spec.name}" ${message}`, { input: spec.name }));
    const dims = (given[spec.name] as TensorData).dims;
    spec.shape.forEach((dim, axis) => {
      if (typeof dim !== 'string') return;
      const seen = symbols.get(dim);
      const size = dims[axis]!;
      if (seen && seen.size !== size) {
        fail(`input "${spec.name}" dimension ${axis} ("${dim}") is ${size} but input "${seen.input}" has ${dim} = ${seen.size}`, { input: spec.name });
      }
      symbols.set(dim, { input: spec.name, size });
    });
  }
  if (outputs === undefined) return;
  if (!Array.isArray(outputs) || outputs.length === 0) fail('outputs must be a non-empty array of output names');
  const outputNames = signature.outputs.map((s) => s.name);
  for (const output of outputs as unknown[]) {
    if (typeof output !== 'string' || !outputNames.includes(output)) {
      fail(`unknown output "${String(output)}" (outputs: ${outputNames.join(', ')})`, { output: String(output) });
    }
  }
}

function validateTensor(spec: TensorSpec, tensor: unknown, fail: (message: string) => never): void {
  if (typeof tensor !== 'object' || tensor === null) fail(`must be a { type, data, dims } object, got ${describeData(tensor)}`);
  const { type, data, dims } = tensor as Partial<TensorData>;
  if (!Array.isArray(dims) || !dims.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    fail(`dims must be an array of non-negative integers, got ${describeValue(dims)}`);
  }
  if (!isTensorType(type)) fail(`has unknown type ${describeValue(type)}`);
  if (type !== spec.type) fail(`has type ${type}, expected ${spec.type}`);
  if (!dataMatchesType(spec.type, data)) fail(`data must be a ${arrayNameFor(spec.type)} for type ${spec.type}, got ${describeData(data)}`);
  const shape = formatShape(spec.shape);
  if (dims!.length !== spec.shape.length) fail(`has rank ${dims!.length} (dims [${dims!.join(', ')}]), expected rank ${spec.shape.length} (shape ${shape})`);
  spec.shape.forEach((expected, axis) => {
    if (typeof expected === 'number' && dims![axis] !== expected) {
      fail(`dimension ${axis} is ${dims![axis]}, expected ${expected} (shape ${shape})`);
    }
  });
  const count = elementCount(dims!);
  const length = (data as ArrayLike<unknown>).length;
  if (length !== count) fail(`has ${length} elements but dims [${dims!.join(', ')}] need ${count}`);
}

export function formatShape(shape: readonly (number | string | null)[]): string {
  return `[${shape.map((d) => (d === null ? '?' : String(d))).join(', ')}]`;
}

/**
 * Validation planned once per version: the returned check accepts a well-formed request with a
 * few comparisons against what the signature fixes (names, types, ranks, fixed and symbolic
 * dimensions, element counts, outputs) and, on the first doubt, runs `validatePredictInputs`,
 * which throws the precise INVALID_ARGUMENT. So the predict hot path pays no message building,
 * closure or map per request, and a bad request gets exactly the error it always got.
 */
export function planPredictValidation(id: ServableId, signature: Signature): (inputs: unknown, outputs?: unknown) => void {
  const specs = signature.inputs.map((spec) => ({
    name: spec.name,
    type: spec.type,
    shape: spec.shape,
  }));
  const outputNames = new Set(signature.outputs.map((o) => o.name));
  const wellFormed = (inputs: unknown, outputs: unknown): boolean => {
    if (typeof inputs !== 'object' || inputs === null || Array.isArray(inputs)) return false;
    if (Object.keys(inputs).length !== specs.length) return false;
    let symbols: Map<string, number> | undefined;
    for (const spec of specs) {
      if (!Object.hasOwn(inputs, spec.name)) return false;
      const tensor = (inputs as Record<string, unknown>)[spec.name] as Partial<TensorData> | null;
      if (typeof tensor !== 'object' || tensor === null || tensor.type !== spec.type || spec.type === 'string' || !dataMatchesType(spec.type, tensor.data)) return false;
      const dims = tensor.dims;
      if (!Array.isArray(dims) || dims.length !== spec.shape.length) return false;
      let count = 1;
      for (let axis = 0; axis < dims.length; axis += 1) {
        const dim = dims[axis] as unknown;
        const expected = spec.shape[axis];
        if (typeof dim !== 'number' || !Number.isSafeInteger(dim) || dim < 0) return false;
        if (typeof expected === 'number' && dim !== expected) return false;
        if (typeof expected === 'string') {
          symbols ??= new Map();
          const seen = symbols.get(expected);
          if (seen !== undefined && seen !== dim) return false;
          symbols.set(expected, dim);
        }
        count *= dim;
      }
      if ((tensor.data as ArrayLike<unknown>).length !== count) return false;
    }
    if (outputs === undefined) return true;
    return Array.isArray(outputs) && outputs.length > 0 && outputs.every((o) => typeof o === 'string' && outputNames.has(o));
  };
  return (inputs, outputs) => {
    if (!wellFormed(inputs, outputs)) validatePredictInputs(id, signature, inputs, outputs);
  };
}
