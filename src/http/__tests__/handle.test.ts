import { describe, expect, it } from 'vitest';
import { createRequestHandler } from '../handle.js';
import type { ServingLike } from '../serving-like.js';
import { FakeServing } from './fake-serving.js';
import { expectError, send } from './http-test-util.js';

const request = (path: string, init?: RequestInit) => new Request(`http://localhost${path}`, init);

describe('createRequestHandler routing', () => {
  it('answers null for paths that are not its own, and matches() agrees without a request', async () => {
    const handler = createRequestHandler(new FakeServing());
    for (const path of ['/', '/index.html', '/v1', '/v1models/doubler', '/v2models', '/v3/models/doubler', '/monitoring/prometheus', '/models/v1/x']) {
      expect(await handler(request(path)), path).toBeNull();
      expect(handler.matches(`http://localhost${path}`), path).toBe(false);
    }
    for (const path of ['/v1/models/doubler', '/V1/anything', '/v2', '/v2/health/live', '/monitoring/prometheus/metrics']) {
      expect(await handler(request(path)), path).not.toBeNull();
      expect(handler.matches(path), path).toBe(true);
    }
  });

  it('serves below basePath only', async () => {
    const handler = createRequestHandler(new FakeServing(), { basePath: '/serving/' });
    expect((await send(handler, 'GET', '/serving/v1/models/doubler')).status).toBe(200);
    expect((await send(handler, 'GET', '/serving/v2/health/live')).status).toBe(200);
    expect(await handler(request('/v1/models/doubler'))).toBeNull();
    expect(await handler(request('/servingv1/models/doubler'))).toBeNull();
    expect(handler.matches(new URL('http://localhost/serving/monitoring/prometheus/metrics'))).toBe(true);
    expect(() => createRequestHandler(new FakeServing(), { basePath: 'serving' })).toThrow(TypeError);
  });

  it('never rejects: whatever the request and whatever the runtime throws, the answer is {"error"} JSON', async () => {
    const throwing: ServingLike = {
      predict: () => {
        throw new TypeError('predict blew up synchronously');
      },
      status: () => Promise.reject(new Error('status failed')),
      metadata: () => Promise.reject('a bare string'),
      metrics: () => Promise.reject(null),
    };
    const handler = createRequestHandler(throwing);
    const requests: [string, string, BodyInit | undefined][] = [
      ['GET', '/v1/models/m', undefined],
      ['GET', '/v1/models/m/metadata', undefined],
      ['GET', '/v1/models', undefined],
      ['POST', '/v1/models/m:predict', '{"inputs": [1]}'],
      ['POST', '/v1/models/m:predict', '\u0000\uffff'],
      ['DELETE', '/v1/models/m', undefined],
      ['GET', '/v2/models/m', undefined],
      ['GET', '/v2/models/m/ready', undefined],
      ['POST', '/v2/models/m/infer', '{"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}]}'],
      ['POST', '/v2/models/m/infer', new Uint8Array([0xff, 0xfe, 0x00])],
      ['GET', '/monitoring/prometheus/metrics', undefined],
    ];
    for (const [method, path, body] of requests) {
      const response = await handler(request(path, { method, ...(body !== undefined ? { body } : {}) }));
      expect(response, `${method} ${path}`).not.toBeNull();
      expect(response!.status, `${method} ${path}`).toBeGreaterThanOrEqual(400);
      const json = (await response!.json()) as Record<string, unknown>;
      expect(Object.keys(json), `${method} ${path}`).toEqual(['error']);
      expect(typeof json.error).toBe('string');
    }
    expectError(await send(handler, 'GET', '/v1/models/m'), 500, /status failed/);
    expectError(await send(handler, 'POST', '/v2/models/m/infer', '{"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}]}'), 500, /predict blew up/);
  });

  it('passes the request signal to the runtime, so an aborted HTTP request cancels the prediction', async () => {
    const fake = new FakeServing(['doubler']);
    const handler = createRequestHandler(fake);
    const controller = new AbortController();
    await handler(request('/v1/models/doubler:predict', { method: 'POST', body: '{"inputs": [[1, 2, 3]]}', signal: controller.signal }));
    const signal = fake.predictCalls[0]!.signal!;
    expect(signal.aborted).toBe(false);
    controller.abort();
    expect(signal.aborted).toBe(true);
  });
});
