import { beforeEach, describe, expect, it } from 'vitest';
import { ServingError } from '../../core/serving-error.js';
import { createRequestHandler, type RequestHandler } from '../handle.js';
import { FakeServing, halfValue } from './fake-serving.js';
import { expectError, send } from './http-test-util.js';

let fake: FakeServing;
let handler: RequestHandler;

beforeEach(() => {
  fake = new FakeServing();
  handler = createRequestHandler(fake);
});

const lastCall = () => fake.predictCalls[fake.predictCalls.length - 1]!;
const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** BYTES elements as the extension lays them out, written here independently of the code under test. */
function byteElements(strings: string[]): Uint8Array {
  const parts = strings.flatMap((s) => {
    const utf8 = new TextEncoder().encode(s);
    return [bytesOf(Uint32Array.of(utf8.length)), utf8];
  });
  return concat(parts);
}

function concat(parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Posts a JSON header followed by binary blobs, as a client of the binary tensor extension does. */
async function inferBinary(path: string, header: unknown, blobs: Uint8Array[], headerLength?: string): Promise<Response> {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const request = new Request(`http://localhost${path}`, {
    method: 'POST',
    body: concat([json, ...blobs]),
    headers: { 'Content-Type': 'application/octet-stream', 'Inference-Header-Content-Length': headerLength ?? String(json.length) },
  });
  return (await handler(request))!;
}

/** Splits a binary response into its JSON header and each binary output's bytes, by name. */
async function readBinary(response: Response): Promise<{ header: { outputs: { name: string; parameters?: { binary_data_size?: number }; data?: unknown }[] } & Record<string, unknown>; blobs: Map<string, Uint8Array> }> {
  expect(response.headers.get('content-type')).toBe('application/octet-stream');
  const bytes = new Uint8Array(await response.arrayBuffer());
  const length = Number(response.headers.get('inference-header-content-length'));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(0, length)));
  const blobs = new Map<string, Uint8Array>();
  let at = length;
  for (const output of header.outputs) {
    const size = output.parameters?.binary_data_size;
    if (size === undefined) continue;
    blobs.set(output.name, bytes.slice(at, at + size));
    at += size;
  }
  expect(at).toBe(bytes.length);
  return { header, blobs };
}

describe('server endpoints', () => {
  it('GET /v2 lists the binary tensor extension; the name and version are configurable', async () => {
    expect((await send(handler, 'GET', '/v2')).body).toEqual({ name: 'browserving', version: 'unknown', extensions: ['binary_tensor_data'] });
    const named = createRequestHandler(fake, { server: { name: 'edge', version: '1.2.3' } });
    expect((await send(named, 'GET', '/v2')).body).toEqual({ name: 'edge', version: '1.2.3', extensions: ['binary_tensor_data'] });
  });

  it('live is 200 true; ready is 200 true only when every model has an AVAILABLE version', async () => {
    expect(await send(handler, 'GET', '/v2/health/live')).toMatchObject({ status: 200, body: { live: true } });
    expect(await send(handler, 'GET', '/v2/health/ready')).toMatchObject({ status: 400, body: { ready: false } });
    const healthy = createRequestHandler(new FakeServing(['doubler', 'multi']));
    expect(await send(healthy, 'GET', '/v2/health/ready')).toMatchObject({ status: 200, body: { ready: true } });
    fake.failNext(new ServingError('UNAVAILABLE', 'restarting'));
    expect(await send(createRequestHandler(fake), 'GET', '/v2/health/ready')).toMatchObject({ status: 400, body: { ready: false } });
  });
});

describe('model endpoints', () => {
  it('model metadata: versions as strings, platform onnx_onnxv1, datatypes, -1 for variable sizes', async () => {
    expect((await send(handler, 'GET', '/v2/models/multi')).body).toEqual({
      name: 'multi',
      versions: ['1'],
      platform: 'onnx_onnxv1',
      inputs: [{ name: 'a', datatype: 'FP32', shape: [-1, 2] }, { name: 'b', datatype: 'INT64', shape: [-1] }],
      outputs: [{ name: 'sum', datatype: 'FP32', shape: [-1, 2] }, { name: 'b_twice', datatype: 'INT64', shape: [-1] }],
    });
    const v1 = await send(handler, 'GET', '/v2/models/doubler/versions/1');
    expect(v1.body).toMatchObject({ name: 'doubler', versions: ['2', '1'], inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }] });
    expect((await send(handler, 'GET', '/v2/models/text')).body).toMatchObject({ inputs: [{ datatype: 'BYTES' }] });
  });

  it('model ready: per model and per version', async () => {
    expect(await send(handler, 'GET', '/v2/models/doubler/ready')).toMatchObject({ status: 200, body: { name: 'doubler', ready: true } });
    expect(await send(handler, 'GET', '/v2/models/doubler/versions/1/ready')).toMatchObject({ status: 200, body: { name: 'doubler', ready: true } });
    expect(await send(handler, 'GET', '/v2/models/doubler/versions/9/ready')).toMatchObject({ status: 400, body: { name: 'doubler', ready: false } });
    expect(await send(handler, 'GET', '/v2/models/broken/ready')).toMatchObject({ status: 400, body: { ready: false } });
    expectError(await send(handler, 'GET', '/v2/models/nope/ready'), 404, /nope/);
  });

  it('errors: unknown model or version 404, bad version 400, wrong method 405, unknown path 404', async () => {
    expectError(await send(handler, 'GET', '/v2/models/nope'), 404);
    expectError(await send(handler, 'GET', '/v2/models/doubler/versions/9'), 404, /version 9/);
    expectError(await send(handler, 'GET', '/v2/models/doubler/versions/v1'), 400, /"v1" is not a version number/);
    const wrongMethod = await send(handler, 'GET', '/v2/models/doubler/infer');
    expectError(wrongMethod, 405, /use POST/);
    expect(wrongMethod.headers.get('allow')).toBe('POST');
    expectError(await send(handler, 'POST', '/v2/health/live', {}), 405);
    expectError(await send(handler, 'GET', '/v2/repository/index'), 404, /no such endpoint/);
  });
});

describe('POST …/infer, JSON', () => {
  it("answers the spec's example exactly (model_name, model_version, id, outputs)", async () => {
    const request = { id: '42', parameters: {}, inputs: [{ name: 'input0', shape: [2, 2], datatype: 'UINT32', data: [1, 2, 3, 4] }], outputs: [{ name: 'output0' }] };
    const answer = await send(handler, 'POST', '/v2/models/mymodel/infer', request);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ model_name: 'mymodel', model_version: '1', id: '42', outputs: [{ name: 'output0', shape: [3, 2], datatype: 'FP32', data: [1.0, 1.1, 2.0, 2.1, 3.0, 3.1] }] });
    expect(answer.text).toContain('"data":[1.0,1.1,2.0,2.1,3.0,3.1]');
    expect(lastCall().inputs.input0).toEqual({ type: 'uint32', dims: [2, 2], data: Uint32Array.of(1, 2, 3, 4) });
  });

  it('reads nested data row-major, and returns every output in model order when none are requested', async () => {
    const body = '{"inputs": [{"name": "a", "shape": [2, 2], "datatype": "FP32", "data": [[1, 2], [3, 4]]}, {"name": "b", "shape": [2], "datatype": "INT64", "data": [10, 2305843009213693953]}]}';
    const answer = await send(handler, 'POST', '/v2/models/multi/versions/1/infer', body);
    expect(lastCall()).toMatchObject({ model: 'multi', version: 1 });
    expect(lastCall().inputs.b!.data).toEqual(BigInt64Array.of(10n, 2n ** 61n + 1n));
    expect(answer.body).toMatchObject({ model_name: 'multi', model_version: '1', outputs: [{ name: 'sum', shape: [2, 2], datatype: 'FP32' }, { name: 'b_twice', datatype: 'INT64' }] });
    expect(answer.body).not.toHaveProperty('id');
    expect(answer.text).toContain('"data":[20,4611686018427387906]');
  });

  it('returns only the requested outputs, and passes the request on to the runtime', async () => {
    const answer = await send(handler, 'POST', '/v2/models/multi/infer', {
      inputs: [{ name: 'a', shape: [1, 2], datatype: 'FP32', data: [1, 2] }, { name: 'b', shape: [1], datatype: 'INT64', data: [3] }],
      outputs: [{ name: 'b_twice' }],
    });
    expect(lastCall().outputs).toEqual(['b_twice']);
    expect(answer.body).toEqual({ model_name: 'multi', model_version: '1', outputs: [{ name: 'b_twice', shape: [1], datatype: 'INT64', data: [6] }] });
  });

  it('carries BOOL, BYTES and a scalar output', async () => {
    const logic = await send(handler, 'POST', '/v2/models/logic/infer', { inputs: [{ name: 'mask', shape: [3], datatype: 'BOOL', data: [true, false, true] }] });
    expect((logic.body as { outputs: unknown }).outputs).toEqual([
      { name: 'not', shape: [3], datatype: 'BOOL', data: [false, true, false] },
      { name: 'count', shape: [], datatype: 'INT32', data: [2] },
    ]);
    const text = await send(handler, 'POST', '/v2/models/text/infer', { inputs: [{ name: 'text', shape: [2], datatype: 'BYTES', data: ['hi', 'thére'] }], outputs: [{ name: 'upper' }] });
    expect((text.body as { outputs: unknown }).outputs).toEqual([{ name: 'upper', shape: [2], datatype: 'BYTES', data: ['HI', 'THÉRE'] }]);
  });

  it('is 400 for malformed requests and data that does not fit, 404/503 from the runtime', async () => {
    const x = (over: Record<string, unknown>) => ({ inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3], ...over }] });
    const cases: [string, unknown, number, RegExp][] = [
      ['doubler', '{"inputs": [', 400, /JSON Parse error/],
      ['doubler', { inputs: 'x' }, 400, /"inputs" must be a list/],
      ['doubler', x({ datatype: 'FLOAT' }), 400, /datatype must be one of BOOL/],
      ['doubler', x({ shape: [1, -3] }), 400, /shape must be a list of non-negative integers/],
      ['doubler', x({ data: [1, 2] }), 400, /data holds 2 elements, but shape \[1, 3\] needs 3/],
      ['doubler', x({ data: [1, 'two', 3] }), 400, /is float32, but holds "two" at data\[1\]/],
      ['doubler', x({ data: undefined }), 400, /neither "data" nor parameters.binary_data_size/],
      ['doubler', x({ datatype: 'INT32' }), 400, /input "x" must be float32, got int32/],
      ['doubler', { id: 7, ...x({}) }, 400, /"id" must be a string/],
      ['doubler', { ...x({}), outputs: [{ name: 'y', parameters: { binary_data: 'yes' } }] }, 400, /binary_data must be true or false/],
      ['doubler', { ...x({}), parameters: { binary_data_output: 1 } }, 400, /binary_data_output must be true or false/],
      ['half', { inputs: [{ name: 'h', shape: [1], datatype: 'FP16', data: [1] }] }, 400, /FP16 has no JSON form/],
      ['nope', x({}), 404, /nope/],
      ['broken', x({}), 503, /no available version/],
    ];
    for (const [model, body, status, message] of cases) expectError(await send(handler, 'POST', `/v2/models/${model}/infer`, body), status, message);
    expectError(await send(handler, 'POST', '/v2/models/doubler/versions/9/infer', x({})), 404, /version 9/);
  });
});

describe('POST …/infer, binary tensor extension', () => {
  it('round-trips float32: binary input, binary output requested per output', async () => {
    const x = Float32Array.of(1, 2, 3, 0.5, -1, 1e-3);
    const response = await inferBinary('/v2/models/doubler/infer', { inputs: [{ name: 'x', shape: [2, 3], datatype: 'FP32', parameters: { binary_data_size: 24 } }], outputs: [{ name: 'y', parameters: { binary_data: true } }] }, [bytesOf(x)]);
    expect(response.status).toBe(200);
    const { header, blobs } = await readBinary(response);
    expect(header).toEqual({ model_name: 'doubler', model_version: '2', outputs: [{ name: 'y', shape: [2, 3], datatype: 'FP32', parameters: { binary_data_size: 24 } }] });
    expect(new Float32Array(blobs.get('y')!.buffer)).toEqual(x.map((v) => 2 * v));
    expect(lastCall().inputs.x).toEqual({ type: 'float32', dims: [2, 3], data: x });
  });

  it('round-trips int64 exactly, mixing a JSON input and a binary one, with binary_data_output for every output', async () => {
    const b = BigInt64Array.of(2n ** 62n - 1n, -(2n ** 40n));
    const response = await inferBinary(
      '/v2/models/multi/infer',
      {
        parameters: { binary_data_output: true },
        inputs: [
          { name: 'a', shape: [2, 2], datatype: 'FP32', data: [1, 2, 3, 4] },
          { name: 'b', shape: [2], datatype: 'INT64', parameters: { binary_data_size: 16 } },
        ],
      },
      [bytesOf(b)],
    );
    const { header, blobs } = await readBinary(response);
    expect(header.outputs.map((o) => [o.name, o.parameters?.binary_data_size])).toEqual([['sum', 16], ['b_twice', 16]]);
    expect(new BigInt64Array(blobs.get('b_twice')!.buffer)).toEqual(b.map((v) => 2n * v));
    expect(lastCall().inputs.b!.data).toEqual(b);
  });

  it('round-trips BOOL as one byte per element; binary_data: false on an output overrides binary_data_output', async () => {
    const response = await inferBinary(
      '/v2/models/logic/infer',
      { parameters: { binary_data_output: true }, inputs: [{ name: 'mask', shape: [4], datatype: 'BOOL', parameters: { binary_data_size: 4 } }], outputs: [{ name: 'not' }, { name: 'count', parameters: { binary_data: false } }] },
      [Uint8Array.of(1, 0, 0, 1)],
    );
    const { header, blobs } = await readBinary(response);
    expect(Array.from(blobs.get('not')!)).toEqual([0, 1, 1, 0]);
    expect(header.outputs[1]).toEqual({ name: 'count', shape: [], datatype: 'INT32', data: [2] });
    expect(lastCall().inputs.mask).toEqual({ type: 'bool', dims: [4], data: Uint8Array.of(1, 0, 0, 1) });
  });

  it('round-trips BYTES: a 4-byte little-endian length, then the UTF-8 bytes, per element', async () => {
    const strings = ['héllo', '', 'x'];
    const input = byteElements(strings);
    const response = await inferBinary('/v2/models/text/infer', { inputs: [{ name: 'text', shape: [3], datatype: 'BYTES', parameters: { binary_data_size: input.length } }], outputs: [{ name: 'upper', parameters: { binary_data: true } }, { name: 'echo_bytes', parameters: { binary_data: true } }] }, [input]);
    const { blobs } = await readBinary(response);
    expect(lastCall().inputs.text!.data).toEqual(strings);
    expect(blobs.get('upper')).toEqual(byteElements(['HÉLLO', '', 'X']));
    expect(blobs.get('echo_bytes')).toEqual(input);
  });

  it('carries FP16 as half-precision bits, and is 400 for an FP16 output asked for as JSON', async () => {
    const h = Uint16Array.of(0x3c00, 0xc000, 0x3800);
    const response = await inferBinary('/v2/models/half/infer', { inputs: [{ name: 'h', shape: [3], datatype: 'FP16', parameters: { binary_data_size: 6 } }], outputs: [{ name: 'h2', parameters: { binary_data: true } }] }, [bytesOf(h)]);
    const { blobs } = await readBinary(response);
    expect(Array.from(new Uint16Array(blobs.get('h2')!.buffer), halfValue)).toEqual([2, -4, 1]);
    const json = await inferBinary('/v2/models/half/infer', { inputs: [{ name: 'h', shape: [3], datatype: 'FP16', parameters: { binary_data_size: 6 } }] }, [bytesOf(h)]);
    expect(json.status).toBe(400);
    expect(await json.json()).toEqual({ error: expect.stringMatching(/FP16, which has no JSON form/) });
  });

  it('is 400 for binary data that does not add up', async () => {
    const f = (size: number) => ({ inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', parameters: { binary_data_size: size } }] });
    const twelve = new Uint8Array(12);
    const cases: [Response, RegExp][] = [
      [await inferBinary('/v2/models/doubler/infer', f(12), [twelve], '9999'), /Inference-Header-Content-Length must be a byte count/],
      [await inferBinary('/v2/models/doubler/infer', f(12), [twelve], 'ten'), /Inference-Header-Content-Length/],
      [await inferBinary('/v2/models/doubler/infer', f(12), [twelve, new Uint8Array(3)]), /3 bytes of binary data after the JSON header belong to no input/],
      [await inferBinary('/v2/models/doubler/infer', f(16), [twelve]), /reaches past the 12 bytes/],
      [await inferBinary('/v2/models/doubler/infer', f(8), [new Uint8Array(8)]), /8 bytes of binary data, but FP32 of shape \[1, 3\] takes 12/],
      [await inferBinary('/v2/models/text/infer', { inputs: [{ name: 'text', shape: [1], datatype: 'BYTES', parameters: { binary_data_size: 6 } }] }, [Uint8Array.of(9, 0, 0, 0, 65, 66)]), /says 9 bytes, but only 2 remain/],
      [await inferBinary('/v2/models/text/infer', { inputs: [{ name: 'text', shape: [2], datatype: 'BYTES', parameters: { binary_data_size: 5 } }] }, [byteElements(['a'])]), /holds 1 BYTES elements, but its shape needs 2/],
      [await inferBinary('/v2/models/text/infer', { inputs: [{ name: 'text', shape: [1], datatype: 'BYTES', parameters: { binary_data_size: 5 } }] }, [Uint8Array.of(1, 0, 0, 0, 0xff)]), /not UTF-8 text/],
    ];
    for (const [response, message] of cases) {
      expect(response.status).toBe(400);
      expect((await response.json()).error).toMatch(message);
    }
  });
});
