/**
 * The built-in `pipeline` platform: a composite servable (TF Serving's "single composite
 * servable") whose version holds a `pipeline.json` (see pipeline-spec.ts). One `predict` runs the
 * whole graph in the pipeline's runner, calling each step's servable in its own runner directly
 * (`version.servables`), so intermediates never reach the page; the caller's deadline and
 * cancellation cover every step (an abort stops the steps in flight). Steps are resolved per
 * request: a step that names a label or the latest version follows a swap of that model.
 *
 * Errors: a step's failure keeps its code and names the pipeline, the step and the step's
 * servable; a missing pipeline input is INVALID_ARGUMENT naming it; a step answering without an
 * output the file reads is FAILED_PRECONDITION (fix pipeline.json). The pipeline holds nothing
 * but its file: its memory estimate is the file's size; its steps count as themselves.
 */
import { ServingError, describeServable, isServingError } from '../../core/serving-error.js';
import { describeValue } from '../../core/describe-value.js';
import { isTensorType } from '../../loaders/tensor-types.js';
import { inheritRequestDepth } from '../../core/request-depth.js';
import type { TableValue, TensorData } from '../../protocol.js';
import type { PlatformModule, PlatformServables } from '../platform.js';
import { PIPELINE_FILE, describeStep, neededSteps, parsePipeline, readOutputs, stepRefs, type PipelineSpec, type PipelineStep, type TensorRef } from './pipeline-spec.js';

type Tensors = Readonly<Record<string, TensorData>>;

/** Errors this pipeline made itself (already naming it): passed on as they are. */
const said = new WeakSet<ServingError>();

function own(error: ServingError): ServingError {
  said.add(error);
  return error;
}

export const pipelinePlatform: PlatformModule = {
  createLoader(version) {
    const where = `${describeServable(version.model, version.version)} (a pipeline)`;
    return {
      estimateResources: () => ({ bytes: version.files.reduce((sum, f) => sum + f.size, 0) }),
      async load() {
        const spec = parsePipeline(await version.readJson(PIPELINE_FILE), where, version.model);
        const details = { model: version.model, version: version.version };
        return {
          ...(spec.signature ? { signature: spec.signature } : {}),
          predict: (inputs, options) => runPipeline(spec, version.servables, inputs, options.outputs, options.signal, where, details),
          describe: () => describePipeline(spec),
        };
      },
    };
  },
};

/** Status and metadata: the graph and each part. */
function describePipeline(spec: PipelineSpec): Record<string, string | number> {
  const parts = Object.fromEntries(spec.steps.map((s) => [`step.${s.name}`, describeStep(s).replace(/^step "[^"]+" /, '')]));
  return { steps: spec.steps.map((s) => s.name).join(' → '), outputs: Object.keys(spec.outputs).join(', '), ...parts };
}

async function runPipeline(spec: PipelineSpec, servables: PlatformServables, inputs: Tensors, outputs: readonly string[] | undefined, signal: AbortSignal, where: string, details: { model: string; version: number }): Promise<Record<string, TensorData>> {
  const { steps, outputs: selected } = neededSteps(spec, outputs, where);
  const wanted = readOutputs(steps, selected);
  // One abort for every step: the caller's, or the first step's failure (the others stop).
  const controller = new AbortController();
  inheritRequestDepth(controller.signal, signal);
  const onAbort = () => controller.abort(signal.reason);
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  let firstFailure: unknown;
  const results = new Map<string, Promise<Tensors>>();
  const read = async (ref: TensorRef, reader: string): Promise<TensorData> => {
    if (ref.from === 'inputs') {
      const tensor = inputs[ref.name];
      if (!tensor) throw own(new ServingError('INVALID_ARGUMENT', `${where} needs input "${ref.name}" (read by ${reader}); the request has ${Object.keys(inputs).map((n) => `"${n}"`).join(', ') || 'no inputs'}`, { ...details, input: ref.name }));
      return tensor;
    }
    const answered = await results.get(ref.from)!;
    const tensor = answered[ref.name];
    if (!tensor) {
      throw own(new ServingError('FAILED_PRECONDITION', `${where}: step "${ref.from}" answered no output "${ref.name}", which ${reader} reads (it answered ${Object.keys(answered).map((n) => `"${n}"`).join(', ') || 'nothing'}); fix ${PIPELINE_FILE}`, { ...details, data: { step: ref.from } }));
    }
    return tensor;
  };
  try {
    for (const step of steps) {
      const running = (async () => {
        const reader = `step "${step.name}"`;
        const named = async (refs: Readonly<Record<string, TensorRef>>) => Object.fromEntries(await Promise.all(Object.entries(refs).map(async ([name, r]) => [name, await read(r, reader)] as const)));
        await Promise.all(stepRefs(step).map((r) => read(r, reader)));
        try {
          return await runStep(step, servables, named, read, [...(wanted.get(step.name) ?? [])], controller.signal, where, details);
        } catch (error) {
          throw stepError(step, error, where, details);
        }
      })();
      running.catch((error: unknown) => {
        // The first failure is the answer; the steps it stops fail with CANCELLED, which is not.
        if (!controller.signal.aborted) firstFailure ??= error;
        controller.abort(new ServingError('CANCELLED', 'another step of the pipeline failed'));
      });
      results.set(step.name, running);
    }
    const answer: Record<string, TensorData> = {};
    try {
      for (const [name, ref] of selected) answer[name] = await read(ref, `output "${name}"`);
    } catch (error) {
      throw firstFailure ?? error;
    }
    return answer;
  } finally {
    signal.removeEventListener('abort', onAbort);
    controller.abort(new ServingError('CANCELLED', 'the pipeline ended'));
    // Steps still running after a failure end on the abort; their rejections are answered already.
    for (const running of results.values()) running.catch(() => undefined);
  }
}

async function runStep(
  step: PipelineStep,
  servables: PlatformServables,
  named: (refs: Readonly<Record<string, TensorRef>>) => Promise<Record<string, TensorData>>,
  read: (ref: TensorRef, reader: string) => Promise<TensorData>,
  outputs: readonly string[],
  signal: AbortSignal,
  where: string,
  details: { model: string; version: number },
): Promise<Tensors> {
  const selector = { model: step.model, ...(step.version !== undefined ? { version: step.version } : {}), ...(step.label !== undefined ? { label: step.label } : {}) };
  // Only the outputs the pipeline reads are computed and sent.
  if (step.kind === 'predict') return (await servables.predict({ ...selector, inputs: await named(step.inputs), ...(outputs.length ? { outputs } : {}) }, { signal })).outputs;
  if (step.kind === 'method') {
    const { value } = await servables.call({ ...selector, method: step.method, args: await named(step.args) }, { signal });
    if (!isTensorRecord(value)) {
      throw new ServingError('FAILED_PRECONDITION', `method ${step.method} returned ${describeValue(value)}, not a record of { type, data, dims } tensors; a pipeline step's method must return tensors`);
    }
    return value;
  }
  const keysTensor = await read(step.keys, `step "${step.name}"`);
  // Keys from the request are the caller's; keys from a step are what pipeline.json wired up.
  const keys = tensorKeys(keysTensor, `${where}, ${describeStep(step)}`, details, step.keys.from === 'inputs' ? 'INVALID_ARGUMENT' : 'FAILED_PRECONDITION');
  const { values } = await servables.lookup({ ...selector, keys }, { signal });
  if (values.length !== keys.length) throw new ServingError('INTERNAL', `the table answered ${values.length} values for ${keys.length} keys`);
  return { values: valuesTensor(step, keys, values, keysTensor.dims) };
}

/** A step's failure as the pipeline's caller sees it: its code, naming the pipeline and the step. */
function stepError(step: PipelineStep, error: unknown, where: string, details: { model: string; version: number }): ServingError {
  const failure = ServingError.from(error);
  // The caller's own cancellation or deadline reads as itself; what the pipeline said already names it.
  if (((failure.code === 'CANCELLED' || failure.code === 'DEADLINE_EXCEEDED') && !failure.model) || said.has(failure)) return failure;
  // Pipelines calling each other in a circle: the one message, not one prefix per hop.
  if (failure.data?.depth !== undefined) return own(new ServingError(failure.code, failure.message, { ...details, data: failure.data }));
  // An output the step's servable does not have is named in pipeline.json, not by the caller.
  const code = failure.code === 'INVALID_ARGUMENT' && failure.output !== undefined ? 'FAILED_PRECONDITION' : failure.code;
  const fix = code !== failure.code ? `; fix ${PIPELINE_FILE}` : '';
  return own(new ServingError(code, `${where}, ${describeStep(step)}: ${failure.message}${fix}`, {
    ...details,
    ...(failure.input !== undefined ? { input: failure.input } : {}),
    data: { ...(failure.data ?? {}), step: step.name, stepModel: step.model, ...(failure.version !== undefined ? { stepVersion: failure.version } : {}) },
  }, { cause: isServingError(error) ? error : undefined }));
}

function isTensorRecord(value: unknown): value is Tensors {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  return Object.values(value).every((t: unknown) => {
    const tensor = t as TensorData | null;
    return typeof tensor === 'object' && tensor !== null && isTensorType(tensor.type) && Array.isArray(tensor.dims) && (ArrayBuffer.isView(tensor.data) || Array.isArray(tensor.data));
  });
}

/** A tensor's elements as lookup keys: strings, or integers. */
function tensorKeys(tensor: TensorData, where: string, details: { model: string; version: number }, code: 'INVALID_ARGUMENT' | 'FAILED_PRECONDITION'): string[] | number[] {
  if (tensor.type === 'string') return [...(tensor.data as readonly string[])];
  if (tensor.type.startsWith('int') || tensor.type.startsWith('uint')) {
    return Array.from(tensor.data as ArrayLike<number | bigint>, (k) => {
      const n = Number(k);
      if (!Number.isSafeInteger(n)) throw own(new ServingError(code, `${where}: key ${String(k)} is not a safe integer`, details));
      return n;
    });
  }
  throw own(new ServingError(code, `${where}: lookup keys must be a string or integer tensor, got ${tensor.type}`, details));
}

/** The looked-up values as one tensor of the keys' dims: strings, booleans, or numbers (int64 when all are integers, else float64). */
function valuesTensor(step: Extract<PipelineStep, { kind: 'lookup' }>, keys: readonly (string | number)[], values: readonly TableValue[], dims: readonly number[]): TensorData {
  const filled = values.map((v, i) => {
    if (v !== null) return v;
    if (step.default !== undefined) return step.default;
    throw new ServingError('FAILED_PRECONDITION', `key ${JSON.stringify(keys[i])} (position ${i}) is not in the table; give the step a "default" in ${PIPELINE_FILE} to use for keys the table does not have`);
  });
  if (filled.every((v) => typeof v === 'string')) return { type: 'string', data: filled as string[], dims: [...dims] };
  if (filled.every((v) => typeof v === 'boolean')) return { type: 'bool', data: Uint8Array.from(filled as boolean[], Number), dims: [...dims] };
  if (filled.every((v) => typeof v === 'number')) {
    const numbers = filled as number[];
    return numbers.every(Number.isSafeInteger)
      ? { type: 'int64', data: BigInt64Array.from(numbers, BigInt), dims: [...dims] }
      : { type: 'float64', data: Float64Array.from(numbers), dims: [...dims] };
  }
  throw new ServingError('FAILED_PRECONDITION', `the table's values must all be strings, all numbers or all booleans to become a tensor, got ${describeValue(filled.find((v) => typeof v !== typeof filled[0]) ?? filled[0])}`);
}
