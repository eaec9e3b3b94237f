import { beforeEach, describe, expect, it } from 'vitest';
import { ServingError } from '../../core/serving-error.js';
import { createRequestHandler, type RequestHandler } from '../handle.js';
import { FakeServing } from './fake-serving.js';
import { expectError, send } from './http-test-util.js';

let fake: FakeServing;
let handler: RequestHandler;

beforeEach(() => {
  fake = new FakeServing();
  handler = createRequestHandler(fake);
});

const lastCall = () => fake.predictCalls[fake.predictCalls.length - 1]!;

describe('GET /v1/models/{name} (status)', () => {
  it('answers the shape of PROTOCOLS.md: versions as strings, states, OK status', async () => {
    const answer = await send(handler, 'GET', '/v1/models/vad');
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      model_version_status: [
        { version: '2', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } },
        { version: '1', state: 'END', status: { error_code: 'OK', error_message: '' } },
      ],
    });
  });

  it("gives a failed version's canonical code and message", async () => {
    const answer = await send(handler, 'GET', '/v1/models/broken');
    expect((answer.body as { model_version_status: unknown[] }).model_version_status[0]).toEqual({
      version: '2',
      state: 'END',
      status: { error_code: 'DATA_LOSS', error_message: 'model "broken" version 2: model.onnx: SHA-256 mismatch' },
    });
  });

  it('narrows to one version by /versions/{v} and by /labels/{l}', async () => {
    const byVersion = await send(handler, 'GET', '/v1/models/doubler/versions/1');
    expect(byVersion.body).toEqual({ model_version_status: [{ version: '1', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } }] });
    const byLabel = await send(handler, 'GET', '/v1/models/doubler/labels/canary');
    expect(byLabel.body).toEqual({ model_version_status: [{ version: '2', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } }] });
  });

  it('matches routes case-insensitively and URL-decodes the model name', async () => {
    expect((await send(handler, 'GET', '/V1/Models/doubler/VERSIONS/2')).status).toBe(200);
    expect((await send(handler, 'GET', '/v1/models/%64oubler')).status).toBe(200);
    expectError(await send(handler, 'GET', '/v1/models/%E0%A4%A'), 400, /Failed to decode model name/);
  });

  it('is 404 for an unknown model, version or label', async () => {
    expectError(await send(handler, 'GET', '/v1/models/nope'), 404, /nope/);
    expectError(await send(handler, 'GET', '/v1/models/doubler/versions/9'), 404, /Could not find version 9 of model doubler/);
    expectError(await send(handler, 'GET', '/v1/models/doubler/labels/beta'), 404, /label "beta"/);
  });

  it('is 400 "Malformed request" for a version that is not digits, a bad label, a wrong method', async () => {
    expectError(await send(handler, 'GET', '/v1/models/doubler/versions/abc'), 400, /^Malformed request: GET \/v1\/models\/doubler\/versions\/abc$/);
    expectError(await send(handler, 'GET', '/v1/models/doubler/labels/not-a-label'), 400, /Malformed request/);
    expectError(await send(handler, 'GET', '/v1/models/doubler:predict'), 400, /Malformed request: GET/);
    expectError(await send(handler, 'POST', '/v1/models/doubler', {}), 400, /Malformed request: POST/);
    expectError(await send(handler, 'GET', '/v1/models/doubler/versions/99999999999999999999'), 400, /Failed to convert version/);
  });
});

describe('GET /v1/models (extension)', () => {
  it("lists every model with its versions' status", async () => {
    const answer = await send(handler, 'GET', '/v1/models');
    const models = (answer.body as { models: { name: string; model_version_status: unknown[] }[] }).models;
    expect(models.map((m) => m.name)).toEqual(['broken', 'doubler', 'half', 'logic', 'multi', 'mymodel', 'sensors', 'text', 'vad', 'vocab']);
    expect(models.find((m) => m.name === 'vad')!.model_version_status).toHaveLength(2);
  });
});

describe('GET …/metadata', () => {
  it('answers the shape of PROTOCOLS.md for the latest version: DT_* dtypes, sizes as strings, -1 unknown', async () => {
    const answer = await send(handler, 'GET', '/v1/models/vad/metadata');
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      model_spec: { name: 'vad', signature_name: '', version: '2' },
      metadata: {
        signature_def: {
          signature_def: {
            serving_default: {
              inputs: { input: { dtype: 'DT_FLOAT', tensor_shape: { dim: [{ size: '-1', name: '' }, { size: '512', name: '' }], unknown_rank: false }, name: 'input' } },
              outputs: { output: { dtype: 'DT_FLOAT', tensor_shape: { dim: [{ size: '-1', name: '' }, { size: '1', name: '' }], unknown_rank: false }, name: 'output' } },
              method_name: 'tensorflow/serving/predict',
              defaults: {},
            },
          },
        },
      },
    });
  });

  it('resolves /versions and /labels, keeps symbolic dimension names, names int64 and string dtypes', async () => {
    const v1 = await send(handler, 'GET', '/v1/models/doubler/versions/1/metadata');
    expect((v1.body as { model_spec: unknown }).model_spec).toEqual({ name: 'doubler', signature_name: '', version: '1' });
    const stable = await send(handler, 'GET', '/v1/models/doubler/labels/stable/metadata');
    expect((stable.body as { model_spec: { version: string } }).model_spec.version).toBe('1');
    const sig = (path: string) => send(handler, 'GET', path).then((a) => (a.body as { metadata: { signature_def: { signature_def: { serving_default: { inputs: Record<string, { dtype: string; tensor_shape: { dim: unknown[] } }> } } } } }).metadata.signature_def.signature_def.serving_default);
    expect((await sig('/v1/models/doubler/metadata')).inputs.x!.tensor_shape.dim).toEqual([{ size: '-1', name: 'batch' }, { size: '3', name: '' }]);
    expect((await sig('/v1/models/multi/metadata')).inputs.b!.dtype).toBe('DT_INT64');
    expect((await sig('/v1/models/sensors/metadata')).inputs.tag!.dtype).toBe('DT_STRING');
  });

  it('is 400 for a servable without a signature', async () => {
    expectError(await send(handler, 'GET', '/v1/models/vocab/metadata'), 400, /table servable, which has no signature_def/);
  });
});

describe('POST …:predict', () => {
  it('row format, one input and one output: a bare value per row, floats written as TF Serving does', async () => {
    const answer = await send(handler, 'POST', '/v1/models/doubler:predict', { instances: [[1, 2, 3], [4, 5, 0.1]] });
    expect(answer.status).toBe(200);
    expect(answer.text).toBe('{"predictions":[[2.0,4.0,6.0],[8.0,10.0,0.2]]}');
    const x = lastCall().inputs.x!;
    expect(x.dims).toEqual([2, 3]);
    expect(x.data).toBeInstanceOf(Float32Array);
  });

  it('columnar format, one input: the tensor bare or named; one output: the tensor bare', async () => {
    expect((await send(handler, 'POST', '/v1/models/doubler:predict', { inputs: [[1, 2, 3]] })).text).toBe('{"outputs":[[2.0,4.0,6.0]]}');
    expect((await send(handler, 'POST', '/v1/models/doubler:predict', { inputs: { x: [[1, 2, 3]] } })).text).toBe('{"outputs":[[2.0,4.0,6.0]]}');
  });

  it('row format, several inputs and outputs: an object per row, int64 as BigInt64Array and exact', async () => {
    const body = '{"instances":[{"a":[1,2],"b":10},{"a":[3,4],"b":9007199254740993}]}';
    const answer = await send(handler, 'POST', '/v1/models/multi:predict', body);
    expect(answer.text).toBe('{"predictions":[{"sum":[11.0,12.0],"b_twice":20},{"sum":[9007199250000000.0,9007199250000000.0],"b_twice":18014398509481986}]}');
    const b = lastCall().inputs.b!;
    expect(b.data).toEqual(BigInt64Array.of(10n, 9007199254740993n));
    expect(b.dims).toEqual([2]);
  });

  it('columnar format, several inputs and outputs: an object of tensors', async () => {
    const answer = await send(handler, 'POST', '/v1/models/multi:predict', { inputs: { a: [[1, 2]], b: [5] } });
    expect(answer.body).toEqual({ outputs: { sum: [[6, 7]], b_twice: [10] } });
  });

  it("reads TF Serving's REST doc example the same in row and columnar format", async () => {
    const row = {
      instances: [
        { tag: 'foo', signal: [1, 2, 3, 4, 5], sensor: [[1, 2], [3, 4]] },
        { tag: 'bar', signal: [3, 4, 1, 2, 5], sensor: [[4, 5], [6, 8]] },
      ],
    };
    const columnar = { inputs: { tag: ['foo', 'bar'], signal: [[1, 2, 3, 4, 5], [3, 4, 1, 2, 5]], sensor: [[[1, 2], [3, 4]], [[4, 5], [6, 8]]] } };
    const byRow = await send(handler, 'POST', '/v1/models/sensors:predict', row);
    const rowInputs = lastCall().inputs;
    const byColumn = await send(handler, 'POST', '/v1/models/sensors:predict', columnar);
    expect(lastCall().inputs).toEqual(rowInputs);
    expect(rowInputs.sensor!.dims).toEqual([2, 2, 2]);
    expect(rowInputs.signal!.data).toEqual(Int32Array.of(1, 2, 3, 4, 5, 3, 4, 1, 2, 5));
    expect(byRow.body).toEqual({ predictions: [{ total: 25, tag_bytes: { b64: btoa('FOO') } }, { total: 38, tag_bytes: { b64: btoa('BAR') } }] });
    expect(byColumn.body).toEqual({ outputs: { total: [25, 38], tag_bytes: [{ b64: btoa('FOO') }, { b64: btoa('BAR') }] } });
  });

  it('takes {"b64": …} as a string value (also as a bare instance) and writes *_bytes outputs as b64', async () => {
    const answer = await send(handler, 'POST', '/v1/models/text:predict', { instances: [{ b64: btoa('hello') }, 'wörld'] });
    expect(lastCall().inputs.text!.data).toEqual(['hello', 'wörld']);
    const utf8b64 = btoa(String.fromCharCode(...new TextEncoder().encode('wörld')));
    expect(answer.body).toEqual({ predictions: [{ upper: 'HELLO', echo_bytes: { b64: 'aGVsbG8=' } }, { upper: 'WÖRLD', echo_bytes: { b64: utf8b64 } }] });
    expectError(await send(handler, 'POST', '/v1/models/text:predict', { instances: [{ b64: '!!!' }] }), 400, /base64/);
    expectError(await send(handler, 'POST', '/v1/models/text:predict', { instances: [{ b64: btoa('\xff\xfe') }] }), 400, /not UTF-8/);
  });

  it('accepts NaN, Infinity and -Infinity tokens, writes them back the same, and leaves them alone inside strings', async () => {
    const answer = await send(handler, 'POST', '/v1/models/doubler:predict', '{"instances": [[NaN, Infinity, -Infinity]]}');
    expect(answer.status).toBe(200);
    expect(Array.from(lastCall().inputs.x!.data as Float32Array)).toEqual([NaN, Infinity, -Infinity]);
    expect(answer.text).toBe('{"predictions":[[NaN,Infinity,-Infinity]]}');
    const strings = await send(handler, 'POST', '/v1/models/text:predict', '{"instances": ["NaN", "-Infinity \\"NaN\\""]}');
    expect(lastCall().inputs.text!.data).toEqual(['NaN', '-Infinity "NaN"']);
    expect(strings.status).toBe(200);
  });

  it('runs the version named by /versions/{v} or /labels/{l}, else the latest', async () => {
    await send(handler, 'POST', '/v1/models/doubler/versions/1:predict', { inputs: [[1, 2, 3]] });
    expect(lastCall().version).toBe(1);
    await send(handler, 'POST', '/v1/models/doubler/labels/stable:predict', { inputs: [[1, 2, 3]] });
    expect(lastCall().version).toBe(1);
    await send(handler, 'POST', '/v1/models/doubler:predict', { inputs: [[1, 2, 3]] });
    expect(lastCall().version).toBe(2);
  });

  it('takes signature_name absent or serving_default, and is 400 for any other', async () => {
    expect((await send(handler, 'POST', '/v1/models/doubler:predict', { signature_name: 'serving_default', inputs: [[1, 2, 3]] })).status).toBe(200);
    expectError(await send(handler, 'POST', '/v1/models/doubler:predict', { signature_name: 'classify_x', inputs: [[1, 2, 3]] }), 400, /"classify_x" not found/);
    expectError(await send(handler, 'POST', '/v1/models/doubler:predict', { signature_name: 7, inputs: [[1, 2, 3]] }), 400, /signature_name/);
  });

  it('writes a scalar output in the columnar format, and is 400 for it in the row format', async () => {
    expect((await send(handler, 'POST', '/v1/models/logic:predict', { inputs: [true, false, true] })).text).toBe('{"outputs":{"not":[false,true,false],"count":2}}');
    expectError(await send(handler, 'POST', '/v1/models/logic:predict', { instances: [true, false] }), 400, /output "count" is a scalar/);
  });

  it('is 400 for malformed bodies, before the runtime is asked anything', async () => {
    const cases: [string, RegExp][] = [
      ['{"instances": [[1, 2, 3]', /^JSON Parse error/],
      ['', /The document is empty/],
      ['[1, 2]', /Is not object/],
      ['{"instances": [[1,2,3]], "inputs": [[1,2,3]]}', /only one of 'inputs' or 'instances'/],
      ['{"signature_name": "serving_default"}', /Missing 'inputs' or 'instances' key/],
      ['{"instances": []}', /No values in 'instances'/],
      ['{"instances": {"x": 1}}', /'instances' to be a list/],
    ];
    for (const [body, message] of cases) expectError(await send(handler, 'POST', '/v1/models/doubler:predict', body), 400, message);
    expect(fake.predictCalls).toHaveLength(0);
  });

  it('is 400 for values that do not fit the signature: wrong dtype, out of range, ragged, unknown or missing inputs', async () => {
    const cases: [string, unknown, RegExp][] = [
      ['doubler', { instances: [['a', 'b', 'c']] }, /input "x" is float32, but holds "a" at \[0\]\[0\]: expected a number/],
      ['multi', { inputs: { a: [[1, 2]], b: [1.5] } }, /input "b" is int64, but holds 1.5/],
      ['sensors', { inputs: { tag: ['t'], signal: [[1, 2, 3, 4, 2147483648]], sensor: [[[1, 2], [3, 4]]] } }, /2147483648 at \[0\]\[4\] is out of the range of int32/],
      ['doubler', { instances: [[1, 2, 3], [4, 5]] }, /rectangular/],
      ['multi', { inputs: { a: [[1, 2]], c: [1] } }, /no input "c"/],
      ['multi', { instances: [[1, 2]] }, /several inputs/],
      ['multi', { instances: [{ a: [1, 2], b: 1 }, { a: [1, 2] }] }, /every instance must name the same inputs/],
      ['multi', { inputs: { a: [[1, 2]] } }, /missing input "b"/],
      ['doubler', { inputs: [[1, 2]] }, /dims \[1, 2\]/],
    ];
    for (const [model, body, message] of cases) expectError(await send(handler, 'POST', `/v1/models/${model}:predict`, body), 400, message);
  });

  it("maps the runtime's rejections to TF Serving's HTTP statuses", async () => {
    expectError(await send(handler, 'POST', '/v1/models/nope:predict', { inputs: [1] }), 404, /nope/);
    expectError(await send(handler, 'POST', '/v1/models/doubler/versions/7:predict', { inputs: [[1, 2, 3]] }), 404, /version 7/);
    expectError(await send(handler, 'POST', '/v1/models/broken:predict', { inputs: [1] }), 503, /no available version/);
    const statuses: [ServingError['code'], number][] = [['RESOURCE_EXHAUSTED', 429], ['DEADLINE_EXCEEDED', 504], ['CANCELLED', 499], ['FAILED_PRECONDITION', 400], ['INTERNAL', 500], ['DATA_LOSS', 500]];
    for (const [code, status] of statuses) {
      fake.failNext(new ServingError(code, `it failed with ${code}`));
      expectError(await send(handler, 'POST', '/v1/models/doubler:predict', { inputs: [[1, 2, 3]] }), status, new RegExp(`it failed with ${code}`));
    }
    fake.failNext(new TypeError('something broke'));
    expectError(await send(handler, 'GET', '/v1/models/doubler'), 500, /something broke/);
  });

  it('is 501 for :classify and :regress', async () => {
    expectError(await send(handler, 'POST', '/v1/models/doubler:classify', { examples: [] }), 501, /classify is not implemented/);
    expectError(await send(handler, 'POST', '/v1/models/doubler/versions/1:regress', { examples: [] }), 501, /regress is not implemented/);
  });
});
