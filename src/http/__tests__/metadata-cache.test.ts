import { beforeEach, describe, expect, it } from 'vitest';
import type { PredictRequest } from '../../client/serving-client.js';
import { ServingError } from '../../core/serving-error.js';
import type { MetricsSnapshot, ModelMetadata, ModelStatus, PredictResponse, ServingEvent, Signature } from '../../protocol.js';
import { createRequestHandler, type RequestHandler } from '../handle.js';
import type { ServingLike } from '../serving-like.js';
import { expectError, send } from './http-test-util.js';

const signatureOf = (width: number): Signature => ({
  inputs: [{ name: 'x', type: 'float32', shape: ['batch', width] }],
  outputs: [{ name: 'sum', type: 'float32', shape: ['batch'] }],
});

/** Rows of 3 values for odd versions, of 4 for even ones. */
const widthOf = (version: number) => (version % 2 === 1 ? 3 : 4);

/**
 * One model, `m`, whose only AVAILABLE version sums each row of `x`, of `widthOf(version)` values. `swap(v)` makes v the version served and, unless told to keep quiet, publishes
 * the servable-state events the runtime would.
 */
class SwappingServing implements ServingLike {
  readonly metadataCalls: { model: string; select: object }[] = [];
  readonly predictCalls: PredictRequest[] = [];
  readonly #listeners = new Set<(event: ServingEvent) => void>();
  #version = 1;
  readonly #labels: Record<string, number> = { stable: 1 };

  swap(version: number, { quietly = false } = {}): void {
    const old = this.#version;
    this.#version = version;
    if (quietly) return;
    this.#emit({ type: 'servable-state', state: { id: { name: 'm', version }, state: 'AVAILABLE', timestamp: 0 } });
    this.#emit({ type: 'servable-state', state: { id: { name: 'm', version: old }, state: 'END', timestamp: 0 } });
  }

  subscribe(listener: (event: ServingEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async metadata(model: string, select: { readonly version?: number; readonly label?: string } = {}): Promise<ModelMetadata> {
    this.metadataCalls.push({ model, select });
    const version = select.label !== undefined ? this.#labels[select.label]! : (select.version ?? this.#version);
    return { model, version, platform: 'onnx', apis: ['predict'], labels: [], signature: signatureOf(widthOf(version)) };
  }

  async predict(request: PredictRequest): Promise<PredictResponse> {
    this.predictCalls.push(request);
    const version = request.version ?? this.#version;
    if (version !== this.#version) throw new ServingError('NOT_FOUND', `model "m" version ${version} has been unloaded`, { model: 'm', version });
    const x = request.inputs.x!;
    const width = x.dims[1]!;
    if (width !== widthOf(version)) throw new ServingError('INVALID_ARGUMENT', `model "m" version ${version}: input "x" has ${width} columns, expected ${widthOf(version)}`, { model: 'm', version, input: 'x' });
    const data = x.data as Float32Array;
    const sums = Float32Array.from({ length: x.dims[0]! }, (_, r) => data.slice(r * width, (r + 1) * width).reduce((a, b) => a + b, 0));
    return { model: 'm', version, outputs: { sum: { type: 'float32', dims: [x.dims[0]!], data: sums } } };
  }

  async status(model: string): Promise<ModelStatus> {
    return { model, versions: [{ version: this.#version, state: 'AVAILABLE', labels: [], updatedAt: 0 }], labels: this.#labels };
  }

  async metrics(): Promise<MetricsSnapshot> {
    return { models: {}, runtime: { crossOriginIsolated: false, hardwareConcurrency: 1 } };
  }

  #emit(event: ServingEvent): void {
    for (const listener of this.#listeners) listener(event);
  }
}

const row = (width: number) => Array.from({ length: width }, (_, i) => i + 1);

describe('REST :predict and the model metadata', () => {
  let serving: SwappingServing;
  let handler: RequestHandler;

  beforeEach(() => {
    serving = new SwappingServing();
    handler = createRequestHandler(serving);
  });

  it('asks the runtime for a version\'s metadata once, not on every prediction', async () => {
    for (let i = 0; i < 3; i++) {
      const answer = await send(handler, 'POST', '/v1/models/m:predict', { instances: [{ x: row(3) }] });
      expect(answer.body).toEqual({ predictions: [6] });
    }
    expect(await send(handler, 'POST', '/v1/models/m/versions/1:predict', { instances: [{ x: row(3) }] })).toMatchObject({ status: 200 });
    expect(await send(handler, 'POST', '/v1/models/m/versions/1:predict', { instances: [{ x: row(3) }] })).toMatchObject({ status: 200 });
    expect(serving.metadataCalls).toEqual([{ model: 'm', select: {} }, { model: 'm', select: { version: 1 } }]);
    expect(serving.predictCalls).toHaveLength(5);
  });

  it('after a swap, the new version\'s signature reads the request and the new version runs it', async () => {
    expect((await send(handler, 'POST', '/v1/models/m:predict', { instances: [{ x: row(3) }] })).body).toEqual({ predictions: [6] });
    serving.swap(2);
    const answer = await send(handler, 'POST', '/v1/models/m:predict', { instances: [{ x: row(4) }] });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body).toEqual({ predictions: [10] });
    expect(serving.predictCalls.at(-1)?.version).toBe(2);
    // Rows of the old width no longer fit: version 2 refuses them, and no stale version 1 is asked.
    expectError(await send(handler, 'POST', '/v1/models/m:predict', { instances: [{ x: row(3) }] }), 400, /version 2: input "x" has 3 columns, expected 4/);
    expect(serving.predictCalls.map((p) => p.version)).toEqual([1, 2, 2]);
    expect(serving.metadataCalls).toEqual([{ model: 'm', select: {} }, { model: 'm', select: {} }]);
  });

  it('a kept version unloaded before the event saying so arrives: the prediction is made once more with fresh metadata', async () => {
    await send(handler, 'POST', '/v1/models/m:predict', { instances: [{ x: row(3) }] });
    serving.swap(3, { quietly: true });
    const answer = await send(handler, 'POST', '/v1/models/m:predict', { instances: [{ x: row(3) }] });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body).toEqual({ predictions: [6] });
    expect(serving.predictCalls.map((p) => p.version)).toEqual([1, 1, 3]);
    expect(serving.metadataCalls).toEqual([{ model: 'm', select: {} }, { model: 'm', select: {} }]);
  });

  it('an error other than NOT_FOUND is answered as it is, with no second prediction', async () => {
    await send(handler, 'POST', '/v1/models/m:predict', { instances: [{ x: row(3) }] });
    serving.swap(2, { quietly: true });
    serving.swap(1, { quietly: true });
    serving.predict = () => Promise.reject(new ServingError('RESOURCE_EXHAUSTED', 'model "m" version 1: the batch queue is full', { model: 'm', version: 1 }));
    expectError(await send(handler, 'POST', '/v1/models/m:predict', { instances: [{ x: row(3) }] }), 429);
    expect(serving.metadataCalls).toHaveLength(1);
  });

  it('a label is resolved by the runtime on every prediction: a label moves with no event', async () => {
    await send(handler, 'POST', '/v1/models/m/labels/stable:predict', { instances: [{ x: row(3) }] });
    await send(handler, 'POST', '/v1/models/m/labels/stable:predict', { instances: [{ x: row(3) }] });
    expect(serving.metadataCalls).toEqual([
      { model: 'm', select: { label: 'stable' } },
      { model: 'm', select: { label: 'stable' } },
    ]);
  });

  it('a failed metadata call is not kept', async () => {
    const metadata = serving.metadata.bind(serving);
    let fail = true;
    serving.metadata = async (model, select) => {
      if (fail) {
        fail = false;
        throw new ServingError('UNAVAILABLE', 'model "m" has no version AVAILABLE yet', { model });
      }
      return metadata(model, select);
    };
    expectError(await send(handler, 'POST', '/v1/models/m:predict', { instances: [{ x: row(3) }] }), 503);
    expect((await send(handler, 'POST', '/v1/models/m:predict', { instances: [{ x: row(3) }] })).body).toEqual({ predictions: [6] });
  });
});
