/**
 * pipeline.json: what a `pipeline` version computes — steps that call other servables of the
 * runtime, and how tensors flow between them. Parsed and checked once, at load.
 *
 * ```json
 * {
 *   "signature": { "inputs": [{ "name": "text", "type": "string", "shape": [1] }],
 *                  "outputs": [{ "name": "label", "type": "string", "shape": [1] }] },
 *   "steps": [
 *     { "name": "tokenize", "model": "tokenizer", "predict": { "text": "inputs.text" } },
 *     { "name": "classify", "model": "sentiment", "label": "stable", "predict": { "ids": "tokenize.ids" } },
 *     { "name": "names", "model": "labels", "lookup": "classify.label_id", "default": "unknown" }
 *   ],
 *   "outputs": { "label": "names.values", "scores": "classify.scores" }
 * }
 * ```
 *
 * - A step calls one servable, named by `model` and `version` or `label` (neither: the latest),
 *   in one of three ways: `predict` (its inputs, each a reference), `lookup` (one reference whose
 *   elements are the keys; the step's one output is `values`, a tensor of the same dims), or
 *   `method` with `args` (references by argument name, or none; the method must return tensors).
 *   Unknown fields are refused (a misspelt "label" must not quietly mean the latest version).
 * - A reference is `inputs.<name>` (the pipeline's input) or `<step>.<output>` of an earlier
 *   step: the file order is a valid run order, so there are no cycles. Steps whose inputs are
 *   ready run at the same time; steps no requested output needs do not run.
 * - `outputs` names the pipeline's outputs. `signature` is optional: with it, requests are
 *   validated before any step runs and metadata reports it.
 */
import { ServingError } from '../../core/serving-error.js';
import { describeValue } from '../../core/describe-value.js';
import { isTensorType } from '../../loaders/tensor-types.js';
import type { Signature, TableValue } from '../../protocol.js';
import { PIPELINE_FILE } from '../../sources/manifest.js';

export { PIPELINE_FILE };

export interface TensorRef {
  /** `inputs`, or the name of an earlier step. */
  readonly from: string;
  readonly name: string;
}

interface StepBase {
  readonly name: string;
  readonly model: string;
  readonly version?: number;
  readonly label?: string;
}

export type PipelineStep =
  | (StepBase & { readonly kind: 'predict'; readonly inputs: Readonly<Record<string, TensorRef>> })
  | (StepBase & { readonly kind: 'lookup'; readonly keys: TensorRef; readonly default?: TableValue })
  | (StepBase & { readonly kind: 'method'; readonly method: string; readonly args: Readonly<Record<string, TensorRef>> });

export interface PipelineSpec {
  readonly steps: readonly PipelineStep[];
  readonly outputs: Readonly<Record<string, TensorRef>>;
  readonly signature?: Signature;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const STEP_KEYS = ['name', 'model', 'version', 'label', 'predict', 'lookup', 'default', 'method', 'args'];
const TOP_KEYS = ['steps', 'outputs', 'signature'];

/** The references a step reads. */
export function stepRefs(step: PipelineStep): TensorRef[] {
  if (step.kind === 'predict') return Object.values(step.inputs);
  if (step.kind === 'lookup') return [step.keys];
  return Object.values(step.args);
}

/** How a step is written in messages: `step "classify" ("sentiment" label "stable")`. */
export function describeStep(step: PipelineStep): string {
  const which = step.version !== undefined ? ` v${step.version}` : step.label !== undefined ? ` label "${step.label}"` : '';
  return `step "${step.name}" ("${step.model}"${which}, ${step.kind === 'method' ? `method ${step.method}` : step.kind})`;
}

/**
 * Parses pipeline.json's contents; INVALID_ARGUMENT naming the file, the place and the fix for
 * anything wrong (`where` prefixes every message: the version). `self`, the pipeline's own model,
 * may not be a step's model (it would call itself without end).
 */
export function parsePipeline(json: unknown, where: string, self?: string): PipelineSpec {
  const fail = (path: string, message: string): never => {
    throw new ServingError('INVALID_ARGUMENT', `${where}: ${PIPELINE_FILE} ${path}: ${message}`);
  };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return fail('', `must be an object with "steps" and "outputs", got ${describeValue(json)}`);
  const unknownKey = (object: object, allowed: readonly string[]) => Object.keys(object).find((k) => !allowed.includes(k));
  const strayTop = unknownKey(json, TOP_KEYS);
  if (strayTop !== undefined) return fail(`"${strayTop}"`, `is not a field of a pipeline (fields: ${TOP_KEYS.join(', ')})`);
  const { steps, outputs, signature } = json as Record<string, unknown>;
  if (!Array.isArray(steps) || steps.length === 0) return fail('"steps"', `must be a non-empty array of steps, got ${describeValue(steps)}`);
  const known = new Map<string, PipelineStep>();
  const ref = (value: unknown, path: string): TensorRef => {
    if (typeof value !== 'string' || !value.includes('.')) return fail(path, `must be a reference "inputs.<name>" or "<step>.<output>", got ${describeValue(value)}`);
    const dot = value.indexOf('.');
    const from = value.slice(0, dot);
    const name = value.slice(dot + 1);
    if (name === '') return fail(path, `"${value}" names no tensor after the dot`);
    if (from !== 'inputs' && !known.has(from)) {
      return fail(path, `"${value}" refers to "${from}", which is not an earlier step (steps before it: ${[...known.keys()].join(', ') || 'none'}); a step can read only the pipeline's inputs and the steps listed before it`);
    }
    return { from, name };
  };
  const refs = (value: unknown, path: string): Record<string, TensorRef> => {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || Object.keys(value).length === 0) return fail(path, `must be an object of name → reference, got ${describeValue(value)}`);
    return Object.fromEntries(Object.entries(value).map(([name, r]) => [name, ref(r, `${path}.${name}`)]));
  };
  steps.forEach((raw: unknown, i) => {
    const at = `steps[${i}]`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail(at, `must be an object, got ${describeValue(raw)}`);
    const s = raw as Record<string, unknown>;
    const stray = unknownKey(s, STEP_KEYS);
    if (stray !== undefined) return fail(`${at}.${stray}`, `is not a field of a step (fields: ${STEP_KEYS.join(', ')})`);
    if (typeof s.name !== 'string' || !NAME.test(s.name) || s.name === 'inputs') return fail(`${at}.name`, `must be a name (letters, digits, _ and -; not "inputs"), got ${describeValue(s.name)}`);
    if (known.has(s.name)) return fail(`${at}.name`, `"${s.name}" is the name of an earlier step too; step names must be unique`);
    if (typeof s.model !== 'string' || s.model === '') return fail(`${at}.model`, `must name the model the step calls, got ${describeValue(s.model)}`);
    if (s.model === self) return fail(`${at}.model`, `"${s.model}" is this pipeline's own model: a step cannot call the pipeline it is part of`);
    if (s.version !== undefined && s.label !== undefined) return fail(at, 'give "version" or "label", not both');
    if (s.version !== undefined && (typeof s.version !== 'number' || !Number.isSafeInteger(s.version) || s.version < 0)) return fail(`${at}.version`, `must be a version number, got ${describeValue(s.version)}`);
    if (s.label !== undefined && (typeof s.label !== 'string' || s.label === '')) return fail(`${at}.label`, `must be a label, got ${describeValue(s.label)}`);
    const kinds = (['predict', 'lookup', 'method'] as const).filter((k) => s[k] !== undefined);
    if (kinds.length !== 1) return fail(at, `must have exactly one of "predict", "lookup" or "method" (with "args"), has ${kinds.length ? kinds.join(' and ') : 'none'}`);
    const base: StepBase = { name: s.name, model: s.model, ...(s.version !== undefined ? { version: s.version as number } : {}), ...(s.label !== undefined ? { label: s.label as string } : {}) };
    let step: PipelineStep;
    if (s.default !== undefined && kinds[0] !== 'lookup') return fail(`${at}.default`, 'is for lookup steps');
    if (s.args !== undefined && kinds[0] !== 'method') return fail(`${at}.args`, 'is for method steps');
    if (kinds[0] === 'predict') step = { ...base, kind: 'predict', inputs: refs(s.predict, `${at}.predict`) };
    else if (kinds[0] === 'lookup') {
      if (s.default !== undefined && !['string', 'number', 'boolean'].includes(typeof s.default)) return fail(`${at}.default`, `must be a string, a number or a boolean (a tensor element), got ${describeValue(s.default)}`);
      step = { ...base, kind: 'lookup', keys: ref(s.lookup, `${at}.lookup`), ...(s.default !== undefined ? { default: s.default as TableValue } : {}) };
    } else {
      if (typeof s.method !== 'string' || s.method === '' || s.method === 'lookup') return fail(`${at}.method`, `must name a method of the servable (use "lookup" as the step kind for lookups), got ${describeValue(s.method)}`);
      // A method may take no tensors at all.
      step = { ...base, kind: 'method', method: s.method, args: s.args === undefined || (typeof s.args === 'object' && s.args !== null && !Array.isArray(s.args) && Object.keys(s.args).length === 0) ? {} : refs(s.args, `${at}.args`) };
    }
    known.set(step.name, step);
  });
  const out = refs(outputs, '"outputs"');
  return { steps: [...known.values()], outputs: out, ...(signature !== undefined ? { signature: parseSignature(signature, fail) } : {}) };
}

function parseSignature(value: unknown, fail: (path: string, message: string) => never): Signature {
  if (typeof value !== 'object' || value === null) return fail('"signature"', `must be { inputs: [...], outputs: [...] }, got ${describeValue(value)}`);
  const specs = (list: unknown, path: string) => {
    if (!Array.isArray(list)) return fail(path, `must be an array of { name, type, shape }, got ${describeValue(list)}`);
    return list.map((t: unknown, i) => {
      const spec = t as Record<string, unknown> | null;
      if (typeof spec?.name !== 'string' || !isTensorType(spec.type) || !Array.isArray(spec.shape) || !spec.shape.every((d) => d === null || typeof d === 'string' || (Number.isSafeInteger(d) && (d as number) >= 0))) {
        return fail(`${path}[${i}]`, `must be { name, type (a tensor type such as "float32" or "string"), shape (sizes, names or null) }, got ${describeValue(t)}`);
      }
      return { name: spec.name, type: spec.type, shape: spec.shape as (number | string | null)[] };
    });
  };
  const { inputs, outputs } = value as Record<string, unknown>;
  return { inputs: specs(inputs, '"signature".inputs'), outputs: specs(outputs, '"signature".outputs') };
}

/** The outputs of each step that later steps or `outputs` read (a predict step asks only for those). */
export function readOutputs(steps: readonly PipelineStep[], outputs: readonly (readonly [string, TensorRef])[]): Map<string, Set<string>> {
  const read = new Map<string, Set<string>>();
  const add = (r: TensorRef) => {
    if (r.from === 'inputs') return;
    let names = read.get(r.from);
    if (!names) read.set(r.from, (names = new Set()));
    names.add(r.name);
  };
  for (const step of steps) stepRefs(step).forEach(add);
  for (const [, r] of outputs) add(r);
  return read;
}

/**
 * The steps the requested outputs need, in file order (all of them when none are named).
 * INVALID_ARGUMENT for an output the pipeline does not have.
 */
export function neededSteps(spec: PipelineSpec, outputs: readonly string[] | undefined, where: string): { steps: PipelineStep[]; outputs: [string, TensorRef][] } {
  const names = outputs ?? Object.keys(spec.outputs);
  const selected: [string, TensorRef][] = names.map((name) => {
    const r = spec.outputs[name];
    if (!r) throw new ServingError('INVALID_ARGUMENT', `${where} has no output "${name}" (outputs: ${Object.keys(spec.outputs).join(', ')})`, { output: name });
    return [name, r];
  });
  const needed = new Set(selected.map(([, r]) => r.from));
  for (const step of [...spec.steps].reverse()) {
    if (needed.has(step.name)) for (const r of stepRefs(step)) needed.add(r.from);
  }
  return { steps: spec.steps.filter((s) => needed.has(s.name)), outputs: selected };
}
