/**
 * The client-side codecs read the answers of real servers: the bodies here are written by hand
 * from PROTOCOLS.md (TF Serving's api_rest.md, KServe's inference_rest.md), not by our server code.
 */
import { describe, expect, it } from 'vitest';
import { decodePredict, encodePredict, errorForStatus, readModelInfo, readSignature } from '../remote-protocol.js';

const where = { endpoint: 'https://tfs.example', model: 'vad' };
const utf8 = (text: string) => new TextEncoder().encode(text);

describe('TF Serving answers', () => {
  it('reads the AVAILABLE versions of a model status, int64 versions as strings', () => {
    const status = { model_version_status: [
      { version: '2', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } },
      { version: '1', state: 'END', status: { error_code: 'OK', error_message: '' } },
      { version: '3', state: 'LOADING', status: { error_code: 'OK', error_message: '' } },
    ] };
    expect(readModelInfo('tfserving', status, where)).toEqual({ versions: [2] });
  });

  it('reads the serving_default signature of the metadata, -1 as a variable dimension', () => {
    const metadata = { model_spec: { name: 'vad', signature_name: '', version: '2' }, metadata: { signature_def: { signature_def: { serving_default: {
      inputs: { input: { dtype: 'DT_FLOAT', tensor_shape: { dim: [{ size: '-1', name: '' }, { size: '512', name: '' }], unknown_rank: false }, name: 'input:0' } },
      outputs: { output: { dtype: 'DT_INT64', tensor_shape: { dim: [{ size: '-1', name: 'batch' }, { size: '1', name: '' }], unknown_rank: false }, name: 'output:0' } },
      method_name: 'tensorflow/serving/predict', defaults: {} } } } } };
    expect(readSignature('tfserving', metadata, where)).toEqual({
      inputs: [{ name: 'input', type: 'float32', shape: [null, 512] }],
      outputs: [{ name: 'output', type: 'int64', shape: ['batch', 1] }],
    });
  });

  it('a tensor of unknown rank fails with FAILED_PRECONDITION naming it, not with every answer later read as DATA_LOSS', () => {
    const tensor = (rank: 'known' | 'unknown') => ({ dtype: 'DT_FLOAT', tensor_shape: rank === 'known' ? { dim: [{ size: '-1', name: '' }], unknown_rank: false } : { unknown_rank: true } });
    const metadata = (input: 'known' | 'unknown', output: 'known' | 'unknown') => ({ metadata: { signature_def: { signature_def: { serving_default: { inputs: { x: tensor(input) }, outputs: { y: tensor(output) } } } } } });
    expect(() => readSignature('tfserving', metadata('unknown', 'known'), where)).toThrow(expect.objectContaining({ code: 'FAILED_PRECONDITION', input: 'x', message: expect.stringContaining('input "x" of its serving_default signature has unknown rank') }));
    expect(() => readSignature('tfserving', metadata('known', 'unknown'), where)).toThrow(expect.objectContaining({ code: 'FAILED_PRECONDITION', message: expect.stringContaining('output "y"') }));
  });

  it('sends the columnar format and reads a bare tensor for one output, NaN and exact int64 included', () => {
    const request = encodePredict('tfserving', '/v1/models/vad:predict', { x: { type: 'float32', dims: [1, 2], data: Float32Array.of(0.5, -1) } }, undefined, false, where);
    expect(JSON.parse(request.body as string)).toEqual({ inputs: { x: [[0.5, -1.0]] } });
    const signature = { inputs: [], outputs: [{ name: 'y', type: 'int64' as const, shape: [null] }] };
    const outputs = decodePredict('tfserving', utf8('{"outputs": [9007199254740993, -1]}'), null, signature, undefined, where);
    expect(outputs.y).toEqual({ type: 'int64', dims: [2], data: BigInt64Array.of(9007199254740993n, -1n) });
    const floats = decodePredict('tfserving', utf8('{"outputs": {"a": [NaN, Infinity], "b": 3.5}}'), null, { inputs: [], outputs: [{ name: 'a', type: 'float32', shape: [2] }, { name: 'b', type: 'float64', shape: [] }] }, ['b'], where);
    expect(Object.keys(floats)).toEqual(['b']);
    expect(floats.b).toEqual({ type: 'float64', dims: [], data: Float64Array.of(3.5) });
  });

  it('calls a body that is not the protocol DATA_LOSS, without quoting tensor data', () => {
    const signature = { inputs: [], outputs: [{ name: 'y', type: 'float32' as const, shape: [null] }] };
    const cut = () => decodePredict('tfserving', utf8('{"outputs": [[0.123456, '), null, signature, undefined, where);
    expect(cut).toThrow(expect.objectContaining({ code: 'DATA_LOSS' }));
    expect(() => cut()).toThrow(/not JSON/);
    expect(() => decodePredict('tfserving', utf8('{"outputs": ["secret-value"]}'), null, signature, undefined, where)).toThrow(expect.objectContaining({ code: 'DATA_LOSS' }));
    expect(() => decodePredict('tfserving', utf8('{"predictions": [1]}'), null, signature, undefined, where)).toThrow(/without "outputs"/);
  });
});

describe('KServe v2 answers', () => {
  it('reads versions as strings, and a model without versions as unversioned version 1', () => {
    expect(readModelInfo('kserve-v2', { name: 'm', versions: ['1', '3'], platform: 'onnx_onnxv1', inputs: [], outputs: [] }, where)).toEqual({ versions: [3, 1] });
    expect(readModelInfo('kserve-v2', { name: 'm', platform: 'onnx_onnxv1', inputs: [], outputs: [] }, where)).toEqual({ versions: [1], unversioned: true });
  });

  it('reads the signature with -1 as variable', () => {
    const body = { name: 'm', versions: ['1'], platform: 'onnx_onnxv1', inputs: [{ name: 'input0', datatype: 'UINT32', shape: [-1, 2] }], outputs: [{ name: 'output0', datatype: 'FP32', shape: [3, 2] }] };
    expect(readSignature('kserve-v2', body, where)).toEqual({ inputs: [{ name: 'input0', type: 'uint32', shape: [null, 2] }], outputs: [{ name: 'output0', type: 'float32', shape: [3, 2] }] });
  });

  it('sends JSON tensors and reads the spec example answer', () => {
    const request = encodePredict('kserve-v2', '/v2/models/mymodel/infer', { input0: { type: 'uint32', dims: [2, 2], data: Uint32Array.of(1, 2, 3, 4) } }, ['output0'], false, where);
    expect(JSON.parse(request.body as string)).toEqual({ inputs: [{ name: 'input0', shape: [2, 2], datatype: 'UINT32', data: [1, 2, 3, 4] }], outputs: [{ name: 'output0' }] });
    const answer = '{"model_name":"mymodel","model_version":"1","id":"42","outputs":[{"name":"output0","shape":[3,2],"datatype":"FP32","data":[1.0,1.1,2.0,2.1,3.0,3.1]}]}';
    const outputs = decodePredict('kserve-v2', utf8(answer), null, undefined, undefined, where);
    expect(outputs.output0!.dims).toEqual([3, 2]);
    expect([...(outputs.output0!.data as Float32Array)]).toEqual([1, 1.1, 2, 2.1, 3, 3.1].map(Math.fround));
  });

  it('sends and reads the binary tensor extension, laid out as the spec says', () => {
    const request = encodePredict('kserve-v2', '/v2/models/m/infer', { x: { type: 'float32', dims: [2], data: Float32Array.of(1, 2) }, s: { type: 'string', dims: [1], data: ['hé'] } }, undefined, true, where);
    const body = request.body as Uint8Array;
    const headerLength = Number(request.headers['Inference-Header-Content-Length']);
    const header = JSON.parse(new TextDecoder().decode(body.subarray(0, headerLength)));
    expect(header.inputs).toEqual([
      { name: 'x', shape: [2], datatype: 'FP32', parameters: { binary_data_size: 8 } },
      { name: 's', shape: [1], datatype: 'BYTES', parameters: { binary_data_size: 7 } },
    ]);
    expect(header.parameters).toEqual({ binary_data_output: true });
    expect([...body.subarray(headerLength, headerLength + 8)]).toEqual([...new Uint8Array(Float32Array.of(1, 2).buffer)]);
    expect([...body.subarray(headerLength + 8)]).toEqual([3, 0, 0, 0, 0x68, 0xc3, 0xa9]);

    const json = utf8('{"model_name":"m","model_version":"1","outputs":[{"name":"h","datatype":"FP16","shape":[1],"parameters":{"binary_data_size":2}},{"name":"b","datatype":"BOOL","shape":[2],"data":[true,false]}]}');
    const answer = new Uint8Array(json.byteLength + 2);
    answer.set(json);
    answer.set([0x00, 0x3c], json.byteLength); // 1.0 in half precision, little-endian
    const outputs = decodePredict('kserve-v2', answer, String(json.byteLength), undefined, undefined, where);
    expect(outputs.h).toEqual({ type: 'float16', dims: [1], data: Uint16Array.of(0x3c00) });
    expect(outputs.b).toEqual({ type: 'bool', dims: [2], data: Uint8Array.of(1, 0) });
  });

  it('refuses float16 as JSON, naming the input', () => {
    expect(() => encodePredict('kserve-v2', '/p', { h: { type: 'float16', dims: [1], data: Uint16Array.of(0) } }, undefined, false, where)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', input: 'h' }));
  });
});

describe('errors', () => {
  it('maps HTTP status and {"error"} to the canonical code, keeping the message', () => {
    const cases: [number, string][] = [[400, 'INVALID_ARGUMENT'], [404, 'NOT_FOUND'], [429, 'RESOURCE_EXHAUSTED'], [499, 'CANCELLED'], [503, 'UNAVAILABLE'], [504, 'DEADLINE_EXCEEDED'], [500, 'UNAVAILABLE'], [502, 'UNAVAILABLE'], [401, 'FAILED_PRECONDITION'], [501, 'FAILED_PRECONDITION']];
    for (const [status, code] of cases) {
      const error = errorForStatus(status, '{"error": "Servable not found"}', { ...where, version: 2 });
      expect(error, `HTTP ${status}`).toMatchObject({ code, model: 'vad', version: 2, data: expect.objectContaining({ httpStatus: status }) });
      expect(error.message).toContain('Servable not found');
    }
    expect(errorForStatus(502, '<html>bad gateway</html>', where).message).toContain('HTTP 502 for model "vad" with no {"error"} body');
    expect(errorForStatus(500, '{"error":"x"}', where).data?.retryable).toBe(true);
  });
});
