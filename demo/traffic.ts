/**
 * Requests to watch the metrics move: a steady background load (about 20 requests a second
 * spread over the served models, until stopped) and single requests that fail on purpose, so
 * the error counters have something to count.
 */
import type { Serving } from 'browserving';

const INTERVAL_MS = 50;

export class Traffic {
  readonly #serving: Serving;
  readonly #models: readonly string[];
  #timer: ReturnType<typeof setInterval> | undefined;
  #turn = 0;
  #failures = 0;

  constructor(serving: Serving, models: readonly string[]) {
    this.#serving = serving;
    this.#models = models;
  }

  get running(): boolean {
    return this.#timer !== undefined;
  }

  start(): void {
    this.#timer ??= setInterval(() => {
      const model = this.#models[this.#turn++ % this.#models.length];
      // Failures are counted by the metrics; the load itself has nothing to report.
      if (model) this.#request(model).catch(() => undefined);
    }, INTERVAL_MS);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Sends one request that fails: in turn, a version that does not exist (NOT_FOUND) and an input of the wrong shape (INVALID_ARGUMENT). Resolves with the error code. */
  async fail(): Promise<string> {
    const wrongShape = this.#failures++ % 2 === 1 && this.#models.includes('silero');
    const model = wrongShape ? 'silero' : this.#models[0] ?? 'silero';
    try {
      if (wrongShape) {
        await this.#serving.predict({ model, inputs: { input: { type: 'float32', dims: [1, 512], data: new Float32Array(512) }, state: { type: 'float32', dims: [3], data: new Float32Array(3) }, sr: { type: 'int64', dims: [], data: BigInt64Array.from([16000n]) } } });
      } else {
        await this.#serving.predict({ model, version: 999, inputs: {} });
      }
      return 'OK';
    } catch (error) {
      return (error as { code?: string }).code ?? String(error);
    }
  }

  async #request(model: string): Promise<void> {
    if (model === 'silero') {
      await this.#serving.predict({
        model,
        inputs: {
          input: { type: 'float32', dims: [1, 576], data: Float32Array.from({ length: 576 }, () => 0.01 * (Math.random() - 0.5)) },
          state: { type: 'float32', dims: [2, 1, 128], data: new Float32Array(256) },
          sr: { type: 'int64', dims: [], data: BigInt64Array.from([16000n]) },
        },
      });
    } else if (model === 'mlp') {
      await this.#serving.predict({ model, inputs: { x: { type: 'float32', dims: [1, 16], data: Float32Array.from({ length: 16 }, Math.random) } } });
    } else if (model === 'vocab') {
      await this.#serving.lookup({ model, keys: ['serving', 'model', 'browser'] });
    }
  }
}
