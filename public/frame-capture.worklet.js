/**
 * An AudioWorklet processor for the dashboard's microphone: takes the first channel of its input,
 * brings it to 16 kHz (averaging the samples that fall into each output sample, when the context
 * runs faster), and posts it to the page in frames of 512 samples, Silero VAD's frame.
 * A static file because `audioWorklet.addModule()` loads a script by URL.
 */
const TARGET_RATE = 16000;
const FRAME = 512;

class FrameCapture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.frame = new Float32Array(FRAME);
    this.filled = 0;
    this.step = Math.max(1, sampleRate / TARGET_RATE);
    this.position = 0;
    this.sum = 0;
    this.count = 0;
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!channel) return true;
    for (let i = 0; i < channel.length; i++) {
      this.sum += channel[i];
      this.count += 1;
      this.position += 1;
      if (this.position < this.step) continue;
      this.position -= this.step;
      this.frame[this.filled++] = this.sum / this.count;
      this.sum = 0;
      this.count = 0;
      if (this.filled === FRAME) {
        this.port.postMessage(this.frame, [this.frame.buffer]);
        this.frame = new Float32Array(FRAME);
        this.filled = 0;
      }
    }
    return true;
  }
}

registerProcessor('frame-capture', FrameCapture);
