/**
 * The microphone as a stream of 512-sample frames at 16 kHz: `getUserMedia`, an AudioContext,
 * and the `frame-capture` AudioWorklet (public/frame-capture.worklet.js) that resamples and
 * frames the audio off the main thread. Echo cancellation, noise suppression and gain control
 * are off: VAD should hear the room as it is.
 */

export class Microphone {
  readonly #stream: MediaStream;
  readonly #context: AudioContext;

  private constructor(stream: MediaStream, context: AudioContext) {
    this.#stream = stream;
    this.#context = context;
  }

  /**
   * Asks for the microphone and starts calling `onFrame` with each frame. Rejects with the
   * browser's own error (NotAllowedError when refused, NotFoundError without a microphone).
   */
  static async open(workletUrl: string, onFrame: (frame: Float32Array) => void): Promise<Microphone> {
    if (!navigator.mediaDevices?.getUserMedia) throw new Error('this page cannot use a microphone (getUserMedia needs a secure context: https or localhost)');
    const stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false } });
    // Chromium resamples the microphone into a 16 kHz context; the worklet resamples when the browser would not.
    const context = createContext();
    try {
      await context.audioWorklet.addModule(workletUrl);
      const capture = new AudioWorkletNode(context, 'frame-capture');
      capture.port.onmessage = (event: MessageEvent<Float32Array>) => onFrame(event.data);
      context.createMediaStreamSource(stream).connect(capture);
      await context.resume();
      return new Microphone(stream, context);
    } catch (error) {
      for (const track of stream.getTracks()) track.stop();
      await context.close().catch(() => undefined);
      throw error;
    }
  }

  /** The device's name, as the browser reports it. */
  get label(): string {
    return this.#stream.getAudioTracks()[0]?.label || 'microphone';
  }

  async close(): Promise<void> {
    for (const track of this.#stream.getTracks()) track.stop();
    await this.#context.close().catch(() => undefined);
  }
}

function createContext(): AudioContext {
  try {
    return new AudioContext({ sampleRate: 16000 });
  } catch {
    return new AudioContext();
  }
}
