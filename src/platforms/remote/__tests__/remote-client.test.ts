/**
 * RemoteClient against the test server (scripts/remote-server.mjs): real models run by
 * onnxruntime-web in Node behind TF Serving's REST API and KServe's v2 protocol, with faults.
 */
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-web';
import { readFileSync } from 'node:fs';
import type { RemoteEndpointConfig, TensorData } from '../../../protocol.js';
import { createRequestHandler } from '../../../http/handle.js';
import { ServingError } from '../../../core/serving-error.js';
import { RemoteClient } from '../remote-client.js';
import { startRemoteServer } from '../../../../scripts/remote-server.mjs';

const MODELS = fileURLToPath(new URL('../../../../public/models/', import.meta.url));
const ready = existsSync(`${MODELS}mlp/1/model.onnx`) && existsSync(`${MODELS}silero/2/model.onnx`);

interface TestServer {
  url: string;
  setFault(fault: { kind: string; times?: number; delayMs?: number; status?: number; message?: string; location?: string }): void;
  clearFault(): void;
  log: { requests: string[]; predictions: Record<string, number>; authorization: string[]; cookie: string[] };
  resetLog(): void;
  close(): Promise<void>;
}

let server: TestServer;
let local: ort.InferenceSession;

beforeAll(async () => {
  if (!ready) throw new Error('public/models is missing: run `node scripts/test.mjs --unit` (or npm test) once to write it');
  server = await startRemoteServer({ library: { createRequestHandler, ServingError }, models: { mlp: `${MODELS}mlp`, silero: `${MODELS}silero` } });
  ort.env.wasm.numThreads = 1;
  local = await ort.InferenceSession.create(readFileSync(`${MODELS}mlp/1/model.onnx`), { executionProviders: ['wasm'] });
}, 60_000);

afterAll(() => server?.close());

beforeEach(() => {
  server.clearFault();
  server.resetLog();
});

const rows = (n: number): TensorData => ({ type: 'float32', dims: [n, 16], data: Float32Array.from({ length: n * 16 }, (_, i) => Math.sin(i)) });
const config = (protocol: RemoteEndpointConfig['protocol'], extra: Partial<RemoteEndpointConfig> = {}): RemoteEndpointConfig => ({ url: server.url, protocol, ...extra });

async function expected(input: TensorData): Promise<Float32Array> {
  const result = await local.run({ x: new ort.Tensor('float32', input.data as Float32Array, input.dims) });
  return result.y!.data as Float32Array;
}

describe.each(['tfserving', 'kserve-v2'] as const)('%s', (protocol) => {
  it('lists versions and reads signatures from the endpoint', async () => {
    const silero = new RemoteClient(config(protocol), 'silero');
    expect((await silero.info()).versions).toEqual([2, 1]);
    const signature = await silero.signature(2);
    expect(signature?.inputs.map((i) => [i.name, i.type])).toEqual([['input', 'float32'], ['state', 'float32'], ['sr', 'int64']]);
    const mlp = await new RemoteClient(config(protocol), 'mlp').signature(1);
    expect(mlp?.inputs[0]).toMatchObject({ name: 'x', type: 'float32' });
    expect(mlp?.inputs[0]!.shape[1]).toBe(16);
  });

  it('predicts with a real model, the same numbers as a local session', async () => {
    const client = new RemoteClient(config(protocol), 'mlp');
    const signature = await client.signature(1);
    const input = rows(3);
    const outputs = await client.predict(1, { x: input }, { signature });
    expect(outputs.y!.dims).toEqual([3, 4]);
    const want = await expected(input);
    // TF Serving writes float32 in its shortest exact form and KServe's binary is bit-exact.
    expect([...(outputs.y!.data as Float32Array)]).toEqual([...want]);
  });

  it('runs a model with an int64 scalar input and a state (Silero v6)', async () => {
    const client = new RemoteClient(config(protocol), 'silero');
    const signature = await client.signature(2);
    const outputs = await client.predict(2, {
      input: { type: 'float32', dims: [1, 576], data: new Float32Array(576) },
      state: { type: 'float32', dims: [2, 1, 128], data: new Float32Array(256) },
      sr: { type: 'int64', dims: [], data: BigInt64Array.of(16000n) },
    }, { signature });
    expect(outputs.output!.dims).toEqual([1, 1]);
    expect(outputs.stateN!.dims).toEqual([2, 1, 128]);
  });

  it('maps the endpoint\'s errors: an unknown version is NOT_FOUND, a bad input INVALID_ARGUMENT', async () => {
    const client = new RemoteClient(config(protocol), 'mlp');
    await expect(client.signature(7)).rejects.toMatchObject({ code: 'NOT_FOUND', model: 'mlp', version: 7 });
    const wrong: TensorData = { type: 'float32', dims: [1, 3], data: new Float32Array(3) };
    await expect(client.predict(1, { x: wrong }, { signature: await client.signature(1) })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', model: 'mlp', version: 1, data: expect.objectContaining({ httpStatus: 400 }) });
  });

  it('is UNAVAILABLE when the endpoint is down, and typed on 5xx and on a malformed body', async () => {
    const client = new RemoteClient(config(protocol), 'mlp');
    const signature = await client.signature(1);
    // KServe's first predict asks GET /v2 for the binary extension: done here, so each fault hits a predict.
    await client.predict(1, { x: rows(1) }, { signature });
    server.setFault({ kind: 'down' });
    await expect(client.predict(1, { x: rows(1) }, { signature })).rejects.toMatchObject({ code: 'UNAVAILABLE', data: expect.objectContaining({ retryable: true }) });
    server.clearFault();
    server.setFault({ kind: 'status', status: 500, message: 'the GPU caught fire', times: 1 });
    const fivexx = client.predict(1, { x: rows(1) }, { signature });
    await expect(fivexx).rejects.toMatchObject({ code: 'UNAVAILABLE', data: expect.objectContaining({ httpStatus: 500 }) });
    await expect(fivexx).rejects.toThrow(/the GPU caught fire/);
    server.setFault({ kind: 'malformed', times: 1 });
    await expect(client.predict(1, { x: rows(1) }, { signature })).rejects.toMatchObject({ code: 'DATA_LOSS', model: 'mlp' });
    // The faults are over: the endpoint serves again.
    await expect(client.predict(1, { x: rows(1) }, { signature })).resolves.toHaveProperty('y');
  });

  it('gives up after remote.timeoutMs, and aborts with the caller\'s signal', async () => {
    const client = new RemoteClient(config(protocol, { timeoutMs: 200 }), 'mlp');
    const signature = await client.signature(1);
    server.setFault({ kind: 'slow', delayMs: 2000 });
    await expect(client.predict(1, { x: rows(1) }, { signature })).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED', message: expect.stringContaining('remote.timeoutMs (200 ms)') });
    const patient = new RemoteClient(config(protocol), 'mlp');
    const controller = new AbortController();
    const pending = patient.predict(1, { x: rows(1) }, { signature, signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'CANCELLED' });
  });

  it('sends headers only when configured, and never a cookie', async () => {
    await new RemoteClient(config(protocol), 'mlp').info();
    expect(server.log.authorization).toEqual([]);
    await new RemoteClient(config(protocol, { headers: { Authorization: 'Bearer t0ken' } }), 'mlp').info();
    expect(server.log.authorization).toEqual(['Bearer t0ken']);
    expect(server.log.cookie).toEqual([]);
  });
});

it('uses the binary tensor extension when the KServe server lists it', async () => {
  const client = new RemoteClient(config('kserve-v2'), 'mlp');
  await client.predict(1, { x: rows(2) }, { signature: await client.signature(1) });
  expect(server.log.requests).toContain('POST /v2/models/mlp/versions/1/infer application/octet-stream');
  const plain = new RemoteClient(config('kserve-v2', { binary: false }), 'mlp');
  server.resetLog();
  await plain.predict(1, { x: rows(2) }, { signature: await plain.signature(1) });
  expect(server.log.requests).toContain('POST /v2/models/mlp/versions/1/infer application/json');
});

it('contacts no origin but the configured one: a redirect elsewhere is refused, not followed', async () => {
  let elsewhere = 0;
  const other = createServer((_, res) => {
    elsewhere += 1;
    res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"model_version_status":[]}');
  });
  await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = other.address() as { port: number };
    server.setFault({ kind: 'redirect', location: `http://127.0.0.1:${port}` });
    await expect(new RemoteClient(config('tfserving'), 'mlp').info()).rejects.toMatchObject({ code: 'UNAVAILABLE', model: 'mlp' });
    expect(elsewhere).toBe(0);
  } finally {
    other.close();
  }
});

it('TF Serving: a model whose status lists no AVAILABLE version is not ready', async () => {
  const status = { model_version_status: [{ version: '2', state: 'LOADING', status: { error_code: 'OK', error_message: '' } }, { version: '1', state: 'END', status: { error_code: 'OK', error_message: '' } }] };
  const fetch = (async () => new Response(JSON.stringify(status), { status: 200 })) as unknown as typeof globalThis.fetch;
  const client = new RemoteClient({ url: 'http://tfs.test', protocol: 'tfserving' }, 'mlp', { fetch });
  await expect(client.ready(undefined)).rejects.toMatchObject({ code: 'UNAVAILABLE', model: 'mlp', message: expect.stringContaining('no AVAILABLE version') });
  await expect(client.ready(2)).rejects.toMatchObject({ code: 'UNAVAILABLE', version: 2 });
});

it('KServe: a binary answer whose Inference-Header-Content-Length CORS hides names that header as the cause, not the endpoint\'s data', async () => {
  const fetch = (async (url: string) => {
    if (String(url).endsWith('/v2')) return new Response(JSON.stringify({ name: 'kserve', version: '1', extensions: ['binary_tensor_data'] }));
    const header = new TextEncoder().encode('{"model_name":"mlp","outputs":[{"name":"y","datatype":"FP32","shape":[1,1],"parameters":{"binary_data_size":4}}]}');
    const body = new Uint8Array(header.byteLength + 4);
    body.set(header);
    // What a page sees of a cross-origin answer that does not expose the header: Content-Type, not the length.
    return new Response(body, { headers: { 'Content-Type': 'application/octet-stream' } });
  }) as unknown as typeof globalThis.fetch;
  const client = new RemoteClient({ url: 'http://kserve.test', protocol: 'kserve-v2' }, 'mlp', { fetch });
  const error = await client.predict(1, { x: rows(1) }, { signature: undefined }).then(() => undefined, (e: unknown) => e);
  expect(error).toMatchObject({ code: 'FAILED_PRECONDITION', model: 'mlp', version: 1, message: expect.stringContaining('Access-Control-Expose-Headers: Inference-Header-Content-Length') });
});
