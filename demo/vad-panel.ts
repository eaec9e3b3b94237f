/**
 * Voice activity: Silero VAD on real input. The speech sample made at set-up runs through the
 * chosen version frame by frame and is charted against where the speech really is (shaded), with
 * the audio to listen to and a playhead; the microphone streams into a rolling ten-second chart.
 */
import { isServingError, type Serving } from 'browserving';
import { byId, formatDuration, h } from './dom.js';
import { LineChart, type Point } from './line-chart.js';
import { Microphone } from './microphone.js';
import { loadSpeechSample, type SpeechSample } from './speech-sample.js';
import { TargetSelect } from './target-select.js';
import { FRAME, SAMPLE_RATE, VadStream } from './vad-stream.js';

/** One run over the speech sample: the probability of each frame, at the frame's centre (s). */
export interface VadRun {
  readonly version: number;
  readonly target: string;
  readonly frames: readonly Point[];
  readonly ms: number;
}

const THRESHOLD = 0.5;
const MIC_WINDOW_S = 10;

export class VadPanel {
  readonly target: TargetSelect;
  readonly #serving: Serving;
  readonly #sampleBase: string;
  readonly #chart = new LineChart(byId('vad-chart') as unknown as SVGSVGElement);
  readonly #micChart = new LineChart(byId('mic-chart') as unknown as SVGSVGElement);
  readonly #audio = byId<HTMLAudioElement>('sample-audio');
  #sample: Promise<SpeechSample> | undefined;
  #lastRun: VadRun | undefined;
  #running = false;
  #microphone: Microphone | undefined;

  constructor(serving: Serving, sampleBase: string, onError: (message: string) => void) {
    this.#serving = serving;
    this.#sampleBase = sampleBase;
    this.target = new TargetSelect(byId<HTMLSelectElement>('vad-target'), 'label:stable');
    const report = (work: () => Promise<unknown>) => () => work().catch((e) => onError(describe(e)));
    byId('run-sample').addEventListener('click', report(() => this.runSample()));
    byId('mic').addEventListener('click', report(() => this.#toggleMicrophone()));
    this.#audio.addEventListener('play', () => this.#followPlayhead());
    this.#drawSample(undefined, []);
    this.#micChart.render(micChartData([], []));
  }

  /** The last run over the speech sample. */
  get lastRun(): VadRun | undefined {
    return this.#lastRun;
  }

  /** Runs the whole sample through the chosen version, as fast as it answers, and charts it. */
  async runSample(): Promise<VadRun> {
    if (this.#running) throw new Error('the speech sample is already running');
    this.#running = true;
    const button = byId<HTMLButtonElement>('run-sample');
    button.disabled = true;
    try {
      const sample = await this.#loadSample();
      const stream = new VadStream(this.#serving);
      const target = this.target.target;
      const frames: Point[] = [];
      const started = performance.now();
      let version = 0;
      for (let at = 0; at + FRAME <= sample.samples.length; at += FRAME) {
        const frame = await stream.push(sample.samples.subarray(at, at + FRAME), target);
        version = frame.version;
        frames.push({ x: (at + FRAME / 2) / SAMPLE_RATE, y: frame.probability });
      }
      const run: VadRun = { version, target: this.target.description, frames, ms: performance.now() - started };
      this.#lastRun = run;
      this.#drawSample(sample, frames);
      byId('vad-summary').replaceChildren(...summary(run, sample));
      byId('vad-panel').dataset.version = String(version);
      return run;
    } finally {
      this.#running = false;
      button.disabled = false;
    }
  }

  #loadSample(): Promise<SpeechSample> {
    this.#sample ??= loadSpeechSample(this.#sampleBase).then((sample) => {
      this.#audio.src = sample.url;
      byId('sample-source').textContent = sample.source === 'espeak-ng' ? 'spoken by espeak-ng' : 'a synthetic voice (set-up had no espeak-ng)';
      return sample;
    });
    this.#sample.catch(() => (this.#sample = undefined));
    return this.#sample;
  }

  #drawSample(sample: SpeechSample | undefined, frames: readonly Point[], cursor?: number): void {
    const duration = sample ? sample.samples.length / sample.sampleRate : 10;
    this.#chart.render({
      x: [0, duration],
      y: [0, 1],
      formatX: (x) => `${x} s`,
      formatY: (y) => y.toFixed(1),
      bands: (sample?.segments ?? []).filter((se) => se.kind === 'speech').map((se) => ({ from: se.startMs / 1000, to: se.endMs / 1000, className: 'band-speech', label: 'speech' })),
      rules: [{ y: THRESHOLD, className: 'threshold', label: 'threshold 0.5' }],
      series: [
        { name: 'level', className: 'level', area: true, points: sample ? envelope(sample.samples) : [] },
        { name: 'probability', className: 'probability', points: frames },
      ],
      ...(cursor !== undefined ? { cursor } : {}),
      empty: 'run the speech sample to see Silero react',
    });
  }

  #followPlayhead(): void {
    let last = 0;
    const tick = (now: number) => {
      if (now - last > 60) {
        last = now;
        void this.#sample?.then((sample) => this.#drawSample(sample, this.#lastRun?.frames ?? [], this.#audio.currentTime));
      }
      if (!this.#audio.paused && !this.#audio.ended) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  }

  async #toggleMicrophone(): Promise<void> {
    const button = byId<HTMLButtonElement>('mic');
    if (this.#microphone) {
      await this.#microphone.close();
      this.#microphone = undefined;
      button.textContent = 'Start microphone';
      byId('mic-panel').dataset.state = 'off';
      return;
    }
    const stream = new VadStream(this.#serving);
    const probabilities: Point[] = [];
    const levels: Point[] = [];
    const queue: Float32Array[] = [];
    let heard = 0;
    let busy = false;
    const status = byId('mic-status');
    const drain = async () => {
      if (busy) return;
      busy = true;
      try {
        for (let frame = queue.shift(); frame; frame = queue.shift()) {
          const t = (heard += FRAME) / SAMPLE_RATE;
          const { probability } = await stream.push(frame, this.target.target);
          probabilities.push({ x: t, y: probability });
          levels.push({ x: t, y: Math.min(1, rms(frame) * 4) });
          while (probabilities[0] && probabilities[0].x < t - MIC_WINDOW_S) probabilities.shift(), levels.shift();
          const speaking = probability > THRESHOLD;
          status.dataset.speech = String(speaking);
          status.textContent = `${speaking ? 'speech' : 'silence'} · p = ${probability.toFixed(2)}`;
          this.#micChart.render(micChartData(probabilities, levels));
        }
      } catch (error) {
        status.textContent = describe(error);
      } finally {
        busy = false;
      }
    };
    this.#microphone = await Microphone.open('./frame-capture.worklet.js', (frame) => {
      // A prediction slower than real time must not build an ever-growing backlog: keep the newest second.
      queue.push(frame);
      if (queue.length > SAMPLE_RATE / FRAME) queue.splice(0, queue.length - SAMPLE_RATE / FRAME);
      void drain();
    });
    button.textContent = 'Stop microphone';
    byId('mic-panel').dataset.state = 'on';
    status.textContent = `listening to ${this.#microphone.label}…`;
  }
}

function micChartData(probabilities: readonly Point[], levels: readonly Point[]) {
  const end = Math.max(MIC_WINDOW_S, probabilities.at(-1)?.x ?? 0);
  return {
    x: [end - MIC_WINDOW_S, end] as const,
    y: [0, 1] as const,
    formatX: (x: number) => `${x} s`,
    formatY: (y: number) => y.toFixed(1),
    rules: [{ y: THRESHOLD, className: 'threshold', label: 'threshold 0.5' }],
    series: [
      { name: 'level', className: 'level', area: true, points: levels },
      { name: 'probability', className: 'probability', points: probabilities },
    ],
    empty: 'microphone off',
  };
}

/** The loudness of each frame, scaled so the loudest reads 0.9: the grey area under the probability. */
function envelope(samples: Float32Array): Point[] {
  const points: Point[] = [];
  for (let at = 0; at + FRAME <= samples.length; at += FRAME) points.push({ x: (at + FRAME / 2) / SAMPLE_RATE, y: rms(samples.subarray(at, at + FRAME)) });
  const peak = Math.max(...points.map((p) => p.y)) || 1;
  return points.map((p) => ({ x: p.x, y: (0.9 * p.y) / peak }));
}

function rms(frame: Float32Array): number {
  let sum = 0;
  for (const v of frame) sum += v * v;
  return Math.sqrt(sum / frame.length);
}

/** Where the run heard speech, as time spans (pauses under 250 ms bridged, as between words), next to where the sample has it. */
function summary(run: VadRun, sample: SpeechSample): (Node | string)[] {
  const spans: [number, number][] = [];
  for (const f of run.frames) {
    if (f.y <= THRESHOLD) continue;
    const last = spans.at(-1);
    if (last && f.x - last[1] < 0.25) last[1] = f.x;
    else spans.push([f.x, f.x]);
  }
  const detected = spans.map(([from, to]) => `${from.toFixed(1)}–${to.toFixed(1)} s`);
  const truth = sample.segments.filter((se) => se.kind === 'speech').map((se) => `${(se.startMs / 1000).toFixed(1)}–${(se.endMs / 1000).toFixed(1)} s`);
  return [
    h('b', {}, `silero v${run.version}`), ` (${run.target}) · ${run.frames.length} frames in ${formatDuration(run.ms)} · `,
    'speech heard at ', h('b', {}, detected.join(', ') || 'nowhere'), ` · spoken at ${truth.join(', ')}`,
  ];
}

function describe(error: unknown): string {
  if (isServingError(error)) return `${error.code}: ${error.message}`;
  if (error instanceof Error) return `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}`;
  return String(error);
}
