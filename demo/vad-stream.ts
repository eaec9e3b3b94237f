/**
 * Silero VAD over a stream of 16 kHz audio, one prediction per 512-sample frame (32 ms).
 *
 * Silero v5/v6 are stateful: each call takes the recurrent `state` the previous one returned,
 * and the frame preceded by the last 64 samples of the previous frame (the context window
 * Silero's own wrapper prepends, so the input is 576 samples). Without that context v5 reads
 * speech poorly and v6 not at all (probabilities ≈ 0). When the version answering changes (a
 * label moved, a version was published), the state and context start over: they belong to one
 * model.
 */
import type { Serving, VersionSelector } from 'browserving';

export const SAMPLE_RATE = 16000;
export const FRAME = 512;
const CONTEXT = 64;

export interface VadFrame {
  readonly probability: number;
  readonly version: number;
  /** Round-trip time of the prediction, ms. */
  readonly latencyMs: number;
}

export class VadStream {
  readonly #serving: Serving;
  #state = new Float32Array(2 * 128);
  #context = new Float32Array(CONTEXT);
  #version: number | undefined;

  constructor(serving: Serving) {
    this.#serving = serving;
  }

  /** Scores one 512-sample frame with the version `target` selects. Rejects with the prediction's ServingError. */
  async push(frame: Float32Array, target: Omit<VersionSelector, 'model'>): Promise<VadFrame> {
    const input = new Float32Array(CONTEXT + FRAME);
    input.set(this.#context, 0);
    input.set(frame.subarray(0, FRAME), CONTEXT);
    const started = performance.now();
    const response = await this.#serving.predict({
      model: 'silero',
      ...target,
      inputs: {
        input: { type: 'float32', dims: [1, CONTEXT + FRAME], data: input },
        state: { type: 'float32', dims: [2, 1, 128], data: this.#state.slice() },
        sr: { type: 'int64', dims: [], data: BigInt64Array.from([BigInt(SAMPLE_RATE)]) },
      },
    });
    const latencyMs = performance.now() - started;
    if (this.#version !== undefined && response.version !== this.#version) this.reset();
    this.#version = response.version;
    this.#state = Float32Array.from(response.outputs.stateN!.data as Float32Array);
    this.#context = frame.slice(FRAME - CONTEXT, FRAME);
    return { probability: (response.outputs.output!.data as Float32Array)[0]!, version: response.version, latencyMs };
  }

  /** Forgets the audio heard so far. */
  reset(): void {
    this.#state = new Float32Array(2 * 128);
    this.#context = new Float32Array(CONTEXT);
  }
}
