/**
 * TF Serving REST, KServe v2 and Prometheus answered by a real runtime in Chromium through
 * `serving.handle(request)` (what a Service Worker will mount): real models compute the answers.
 */
import { test, expect, startServing } from './fixtures.js';
import { mlpModel, mlpReference, twoOutputModel } from '../scripts/onnx-models.mjs';

test('TF Serving REST and KServe v2 requests are answered by the real models; Prometheus counts them', async ({ harness, repo }) => {
  repo.writeFile('mlp', 1, 'model.onnx', mlpModel({ seed: 1 }));
  repo.publish('mlp');
  repo.writeFile('two', 1, 'model.onnx', twoOutputModel());
  repo.publish('two');
  await startServing(harness, {
    models: [{ name: 'mlp', basePath: repo.basePath('mlp') }, { name: 'two', basePath: repo.basePath('two') }],
    executionProviders: ['wasm'],
    pollIntervalMs: 0,
  });
  const row = Array.from({ length: 16 }, (_, i) => (i - 8) / 4);
  const r = await harness.evaluate(async (row) => {
    const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
      const response = await window.serving!.handle(new Request(`${location.origin}${path}`, { method, headers, ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}) }));
      return response ? { status: response.status, body: await response.json().catch(() => null) } : null;
    };
    return {
      status: await call('GET', '/v1/models/mlp'),
      metadata: await call('GET', '/v1/models/mlp/metadata'),
      rows: await call('POST', '/v1/models/mlp:predict', { instances: [row, row] }),
      columns: await call('POST', '/v1/models/two/versions/1:predict', { inputs: { x: [[1, 2, 3]] } }),
      tokens: await call('POST', '/v1/models/two:predict', '{"instances": [[NaN, Infinity, -Infinity]]}'),
      missing: await call('POST', '/v1/models/nope:predict', { instances: [row] }),
      malformed: await call('POST', '/v1/models/mlp:predict', '{"instances": ['),
      wrongWidth: await call('POST', '/v1/models/mlp:predict', { instances: [[1, 2]] }),
      v2meta: await call('GET', '/v2/models/mlp'),
      v2ready: await call('GET', '/v2/models/mlp/ready'),
      v2infer: await call('POST', '/v2/models/mlp/infer', { id: '42', inputs: [{ name: 'x', shape: [1, 16], datatype: 'FP32', data: row }] }),
      notOurs: await call('GET', '/index.html'),
      prometheus: await window.serving!.metrics({ format: 'prometheus' }),
    };
  }, row);
  expect(r.status).toEqual({ status: 200, body: { model_version_status: [{ version: '1', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } }] } });
  expect(r.metadata!.body.model_spec).toEqual({ name: 'mlp', signature_name: '', version: '1' });
  expect(r.metadata!.body.metadata.signature_def.signature_def.serving_default.inputs.x.dtype).toBe('DT_FLOAT');
  const expected = Array.from(mlpReference(Float32Array.from(row), 1, { seed: 1 }));
  expect(r.rows!.status).toBe(200);
  expect(r.rows!.body.predictions).toHaveLength(2);
  r.rows!.body.predictions[1].forEach((v: number, i: number) => expect(v).toBeCloseTo(expected[i]!, 4));
  expect(r.columns).toEqual({ status: 200, body: { outputs: { double: [[2, 4, 6]], negated: [[-1, -2, -3]] } } });
  expect(r.tokens!.status).toBe(200);
  expect(r.missing!.status).toBe(404);
  expect(r.missing!.body.error).toMatch(/nope/);
  expect(r.malformed!.status).toBe(400);
  expect(r.wrongWidth!.status).toBe(400);
  expect(r.wrongWidth!.body.error).toMatch(/input "x"/);
  expect(r.v2meta).toMatchObject({ status: 200, body: { name: 'mlp', versions: ['1'], platform: 'onnx_onnxv1', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 16] }] } });
  expect(r.v2ready).toEqual({ status: 200, body: { name: 'mlp', ready: true } });
  expect(r.v2infer).toMatchObject({ status: 200, body: { model_name: 'mlp', model_version: '1', id: '42', outputs: [{ name: 'y', datatype: 'FP32', shape: [1, 4] }] } });
  r.v2infer!.body.outputs[0].data.forEach((v: number, i: number) => expect(v).toBeCloseTo(expected[i]!, 4));
  expect(r.notOurs).toBeNull();
  // The exposition names TF Serving's metric and counts what this test did.
  const count = (status: string) => Number(new RegExp(`^:tensorflow:serving:request_count\\{model_name="mlp",status="${status}"\\} (\\d+)$`, 'm').exec(r.prometheus)?.[1] ?? NaN);
  expect(count('OK')).toBe(2);
  expect(r.prometheus).toMatch(/^# TYPE :tensorflow:serving:request_latency histogram$/m);
  expect(count('INVALID_ARGUMENT')).toBe(1);
  expect(r.prometheus).toMatch(/^:tensorflow:serving:request_latency_count\{model_name="mlp",API="predict",entrypoint="REST",model_version="1"\} 1$/m);
  expect(r.prometheus).toMatch(/^:tensorflow:serving:request_latency_count\{model_name="mlp",API="infer",entrypoint="REST",model_version="1"\} 1$/m);
});

test('the Prometheus text also has JS request latency, load and warm-up latency, batch sizes, runner restarts and store bytes', async ({ harness, repo }) => {
  repo.writeFile('mlp', 1, 'model.onnx', mlpModel({ seed: 1 }));
  repo.publish('mlp');
  await startServing(harness, {
    models: [{ name: 'mlp', basePath: repo.basePath('mlp'), warmupRuns: 1, batching: { maxBatchSize: 8 } }],
    executionProviders: ['wasm'],
    pollIntervalMs: 0,
  });
  const text = await harness.evaluate(async () => {
    const x = () => ({ x: { type: 'float32' as const, dims: [1, 16], data: new Float32Array(16) } });
    await Promise.all(Array.from({ length: 4 }, () => window.serving!.predict({ model: 'mlp', inputs: x() })));
    const [runner] = window.serving!.debug.runners();
    await window.serving!.debug.fault(runner!.runner, 'terminate');
    while (window.serving!.debug.runners()[0]?.runner === runner!.runner || window.serving!.debug.runners().length === 0) await new Promise((r) => setTimeout(r, 20));
    await window.serving!.predict({ model: 'mlp', inputs: x() });
    return window.serving!.metrics({ format: 'prometheus' });
  });
  const value = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? NaN);
  expect(value(/^:tensorflow:serving:request_latency_count\{model_name="mlp",API="predict",entrypoint="JS",model_version="1"\} (\d+)$/m)).toBe(5);
  // Loaded twice (start, then the restart): the counter adds both loads.
  expect(value(/^:tensorflow:cc:saved_model:load_latency\{model_path="[^"]*\/mlp\/1\/"\} (\d+)$/m)).toBeGreaterThan(0);
  expect(value(/^:tensorflow:serving:model_warmup_latency_count\{model_path="[^"]*\/mlp\/1\/",status="OK"\} (\d+)$/m)).toBe(2);
  expect(value(/^:tensorflow:serving:batching:processed_batch_size_count\{model_name="mlp"\} (\d+)$/m)).toBeGreaterThanOrEqual(2);
  expect(value(/^:tensorflow:serving:batching:processed_batch_size_sum\{model_name="mlp"\} (\d+)$/m)).toBe(5);
  expect(value(/^:browserving:runner_restarts\{model_name="mlp",model_version="1"\} (\d+)$/m)).toBe(1);
  expect(value(/^:browserving:artifact_store_bytes (\d+)$/m)).toBeGreaterThan(1000);
});
