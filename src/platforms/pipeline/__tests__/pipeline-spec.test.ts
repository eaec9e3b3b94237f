import { describe, expect, it } from 'vitest';
import { ServingError } from '../../../core/serving-error.js';
import { neededSteps, parsePipeline, readOutputs } from '../pipeline-spec.js';

const WHERE = 'model "p" version 1';

const CLASSIFY = {
  steps: [
    { name: 'tokenize', model: 'tok', predict: { text: 'inputs.text' } },
    { name: 'classify', model: 'cls', label: 'stable', predict: { ids: 'tokenize.ids' } },
    { name: 'names', model: 'labels', version: 2, lookup: 'classify.label_id', default: '?' },
    { name: 'count', model: 'tok', method: 'count', args: { text: 'inputs.text' } },
  ],
  outputs: { label: 'names.values', scores: 'classify.scores', words: 'count.n' },
};

function parseError(json: unknown, self?: string): ServingError {
  try {
    parsePipeline(json, WHERE, self);
  } catch (error) {
    expect(error).toBeInstanceOf(ServingError);
    return error as ServingError;
  }
  throw new Error('parsed');
}

describe('pipeline.json', () => {
  it('parses steps of the three kinds, their references and the outputs', () => {
    const spec = parsePipeline(CLASSIFY, WHERE);
    expect(spec.steps.map((s) => [s.name, s.kind])).toEqual([['tokenize', 'predict'], ['classify', 'predict'], ['names', 'lookup'], ['count', 'method']]);
    expect(spec.steps[1]).toMatchObject({ model: 'cls', label: 'stable', inputs: { ids: { from: 'tokenize', name: 'ids' } } });
    expect(spec.steps[2]).toMatchObject({ version: 2, keys: { from: 'classify', name: 'label_id' }, default: '?' });
    expect(spec.outputs.label).toEqual({ from: 'names', name: 'values' });
    expect(spec.signature).toBeUndefined();
  });

  it('a method step may take no tensors', () => {
    const spec = parsePipeline({ steps: [{ name: 'now', model: 'clock', method: 'now' }, { name: 'twice', model: 'clock', method: 'now', args: {} }], outputs: { t: 'now.t' } }, WHERE);
    expect(spec.steps.map((s) => s.kind === 'method' && s.args)).toEqual([{}, {}]);
  });

  it('runs only the steps the requested outputs need, in file order', () => {
    const spec = parsePipeline(CLASSIFY, WHERE);
    expect(neededSteps(spec, ['scores'], WHERE).steps.map((s) => s.name)).toEqual(['tokenize', 'classify']);
    expect(neededSteps(spec, ['words'], WHERE).steps.map((s) => s.name)).toEqual(['count']);
    expect(neededSteps(spec, undefined, WHERE).steps).toHaveLength(4);
    expect(() => neededSteps(spec, ['nope'], WHERE)).toThrow(/has no output "nope" \(outputs: label, scores, words\)/);
    // A predict step is asked only for the outputs that are read.
    const needed = neededSteps(spec, ['scores'], WHERE);
    expect(Object.fromEntries([...readOutputs(needed.steps, needed.outputs)].map(([step, names]) => [step, [...names]]))).toEqual({ tokenize: ['ids'], classify: ['scores'] });
  });

  it('reads an optional signature', () => {
    const spec = parsePipeline({ ...CLASSIFY, signature: { inputs: [{ name: 'text', type: 'string', shape: [1] }], outputs: [{ name: 'label', type: 'string', shape: [null] }] } }, WHERE);
    expect(spec.signature?.inputs[0]).toEqual({ name: 'text', type: 'string', shape: [1] });
    expect(parseError({ ...CLASSIFY, signature: { inputs: [{ name: 'text', type: 'text', shape: [1] }], outputs: [] } }).message).toMatch(/"signature".inputs\[0\]: must be \{ name, type/);
  });

  it('refuses what cannot run, naming the place and the fix', () => {
    const cases: [unknown, RegExp][] = [
      [[], /must be an object with "steps" and "outputs"/],
      [{ steps: [], outputs: {} }, /"steps": must be a non-empty array/],
      [{ steps: [{ name: 'a', model: 'm', predict: { x: 'b.y' } }, { name: 'b', model: 'm', predict: { x: 'inputs.x' } }], outputs: { y: 'b.y' } }, /steps\[0\].predict.x: "b.y" refers to "b", which is not an earlier step \(steps before it: none\)/],
      [{ steps: [{ name: 'a', model: 'm', predict: { x: 'inputs' } }], outputs: { y: 'a.y' } }, /must be a reference "inputs.<name>" or "<step>.<output>", got "inputs"/],
      [{ steps: [{ name: 'a', model: 'm', predict: { x: 'inputs.x' } }, { name: 'a', model: 'm', predict: { x: 'inputs.x' } }], outputs: { y: 'a.y' } }, /"a" is the name of an earlier step too/],
      [{ steps: [{ name: 'inputs', model: 'm', predict: { x: 'inputs.x' } }], outputs: { y: 'a.y' } }, /steps\[0\].name: must be a name .*not "inputs"/],
      [{ steps: [{ name: 'a', model: 'm', predict: { x: 'inputs.x' }, lookup: 'inputs.k' }], outputs: { y: 'a.y' } }, /exactly one of "predict", "lookup" or "method" .*has predict and lookup/],
      [{ steps: [{ name: 'a', model: 'm', version: 1, label: 'x', predict: { x: 'inputs.x' } }], outputs: { y: 'a.y' } }, /give "version" or "label", not both/],
      [{ steps: [{ name: 'a', model: '', predict: { x: 'inputs.x' } }], outputs: { y: 'a.y' } }, /steps\[0\].model: must name the model/],
      [{ steps: [{ name: 'a', model: 'm', method: 'lookup', args: { k: 'inputs.k' } }], outputs: { y: 'a.y' } }, /use "lookup" as the step kind/],
      [{ steps: [{ name: 'a', model: 'm', predict: { x: 'inputs.x' } }], outputs: { y: 'c.y' } }, /"outputs".y: "c.y" refers to "c", which is not an earlier step \(steps before it: a\)/],
      [{ steps: [{ name: 'a', model: 'm', predict: { x: 'inputs.x' } }] }, /"outputs": must be an object of name → reference/],
      [{ steps: [{ name: 'a', model: 'm', lable: 'stable', predict: { x: 'inputs.x' } }], outputs: { y: 'a.y' } }, /steps\[0\].lable: is not a field of a step \(fields: name, model, version, label,/],
      [{ steps: [{ name: 'a', model: 'm', predict: { x: 'inputs.x' } }], outputs: { y: 'a.y' }, output: {} }, /"output": is not a field of a pipeline/],
      [{ steps: [{ name: 'a', model: 'm', lookup: 'inputs.k', default: ['x'] }], outputs: { y: 'a.values' } }, /steps\[0\].default: must be a string, a number or a boolean/],
      [{ steps: [{ name: 'a', model: 'm', predict: { x: 'inputs.x' }, default: 1 }], outputs: { y: 'a.y' } }, /steps\[0\].default: is for lookup steps/],
      [{ steps: [{ name: 'a', model: 'p', predict: { x: 'inputs.x' } }], outputs: { y: 'a.y' } }, /steps\[0\].model: "p" is this pipeline's own model/],
    ];
    for (const [json, message] of cases) {
      const error = parseError(json, 'p');
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(error.message).toMatch(message);
      expect(error.message.startsWith(`${WHERE}: pipeline.json`)).toBe(true);
    }
  });
});
