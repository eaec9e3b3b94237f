/**
 * The dashboard's speech sample, made at set-up and not committed (public/models/ is ignored):
 *   public/models/samples/speech.wav   16 kHz mono 16-bit PCM, Silero VAD's input rate
 *   public/models/samples/speech.json  { source, sampleRate, segments: [{ kind, startMs, endMs, text? }] }
 *
 * Pauses and utterances alternate, and the JSON says where each lies, so a test can hold the VAD's
 * probabilities against them. The voice comes from, in order:
 * 1. espeak-ng, when it is on the PATH, or can be installed (root with apt-get, as
 *    scripts/browser.mjs does for chromium): two spoken sentences;
 * 2. otherwise a formant synthesiser written here: a glottal pulse train at a gliding pitch through
 *    vowel formant resonators, in syllables and words. It is not speech, but it is voiced the way
 *    speech is, and Silero VAD reacts to it (`source: "synthetic"` says which one was made).
 * `BROWSERVING_SPEECH=synthetic` forces the second. A faint noise floor runs through the whole
 * sample, so the pauses are a quiet room rather than digital zeros. Idempotent.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { say } from './ensure.mjs';

export const SAMPLE_RATE = 16000;
const STAMP_VALUE = 'browserving-speech/1';
const SENTENCES = ['Browserving serves models inside the browser.', 'Voice activity detection runs in a web worker.'];
/** Pause before each utterance and after the last one, in ms. */
const PAUSES_MS = [1000, 1500, 1200];
const NOISE_FLOOR = 0.002;
const PEAK = 0.6;

/** Writes the sample into `dir` unless one of this format is there already. */
export function ensureSpeechSample(dir) {
  const wav = join(dir, 'speech.wav');
  const json = join(dir, 'speech.json');
  if (existsSync(wav) && existsSync(json) && JSON.parse(readFileSync(json, 'utf8')).stamp === STAMP_VALUE) return;
  const forced = process.env.BROWSERVING_SPEECH === 'synthetic';
  const espeak = forced ? undefined : findEspeak();
  const utterances = espeak ? SENTENCES.map((text) => ({ text, samples: speak(espeak, text) })) : syntheticUtterances();
  say(espeak ? 'writing the speech sample with espeak-ng (public/models/samples)' : `writing a synthetic speech sample (public/models/samples)${forced ? '' : ': espeak-ng is not available'}`);
  const { samples, segments } = assemble(utterances);
  mkdirSync(dir, { recursive: true });
  writeFileSync(wav, encodeWav(samples));
  writeFileSync(json, JSON.stringify({ stamp: STAMP_VALUE, source: espeak ? 'espeak-ng' : 'synthetic', sampleRate: SAMPLE_RATE, segments }, null, 2));
}

/** espeak-ng's path; installs Debian's package when running as root with apt-get. */
function findEspeak() {
  const which = () => spawnSync('sh', ['-c', 'command -v espeak-ng'], { encoding: 'utf8' }).stdout.trim() || undefined;
  const found = which();
  if (found) return found;
  const isRoot = process.getuid?.() === 0;
  const hasApt = spawnSync('sh', ['-c', 'command -v apt-get'], { encoding: 'utf8' }).status === 0;
  if (!isRoot || !hasApt) return undefined;
  say('espeak-ng not found: running `apt-get install -y espeak-ng` for the speech sample');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'espeak-ng'], { stdio: ['ignore', 'inherit', 'inherit'], env }).status === 0;
  if (!install()) {
    spawnSync('apt-get', ['update'], { stdio: ['ignore', 'inherit', 'inherit'], env });
    install();
  }
  return which();
}

/** One sentence from espeak-ng, resampled to 16 kHz, trimmed to where the voice is. */
function speak(espeak, text) {
  const dir = mkdtempSync(join(tmpdir(), 'browserving-speech-'));
  try {
    const file = join(dir, 'out.wav');
    const result = spawnSync(espeak, ['-v', 'en-us', '-s', '150', '-w', file, text], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`espeak-ng failed: ${result.stderr}`);
    const { rate, samples } = decodeWav(readFileSync(file));
    return trim(normalise(resample(samples, rate, SAMPLE_RATE)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Pause, utterance, pause, … with the noise floor over everything; segments in ms. */
function assemble(utterances) {
  const pauses = PAUSES_MS.map((ms) => Math.round((ms * SAMPLE_RATE) / 1000));
  const total = pauses.reduce((a, b) => a + b, 0) + utterances.reduce((a, u) => a + u.samples.length, 0);
  const samples = new Float32Array(total);
  const random = seededRandom(7);
  for (let i = 0; i < total; i++) samples[i] = NOISE_FLOOR * (random() * 2 - 1);
  const segments = [];
  const ms = (n) => Math.round((n * 1000) / SAMPLE_RATE);
  let at = 0;
  utterances.forEach((u, i) => {
    segments.push({ kind: 'silence', startMs: ms(at), endMs: ms(at + pauses[i]) });
    at += pauses[i];
    for (let j = 0; j < u.samples.length; j++) samples[at + j] += u.samples[j];
    segments.push({ kind: 'speech', startMs: ms(at), endMs: ms(at + u.samples.length), text: u.text });
    at += u.samples.length;
  });
  segments.push({ kind: 'silence', startMs: ms(at), endMs: ms(total) });
  return { samples, segments };
}

// ───────────────────────────── the synthetic voice ─────────────────────────────

/** Formants (Hz) of a few vowels, after Peterson & Barney. */
const VOWELS = [[730, 1090, 2440], [270, 2290, 3010], [300, 870, 2240], [530, 1840, 2480], [570, 840, 2410], [660, 1720, 2410]];
const BANDWIDTHS = [80, 100, 140];

function syntheticUtterances() {
  const random = seededRandom(11);
  return [
    { text: '(synthetic voice: 6 words)', samples: syntheticSentence([3, 2, 4, 2, 3, 3], random) },
    { text: '(synthetic voice: 7 words)', samples: syntheticSentence([2, 3, 2, 4, 1, 3, 2], random) },
  ];
}

/** Words of `syllables[i]` syllables; each syllable a vowel of ~170 ms, words 90 ms apart. */
function syntheticSentence(syllables, random) {
  const parts = [];
  const count = syllables.reduce((a, b) => a + b, 0);
  let syllable = 0;
  for (const word of syllables) {
    for (let s = 0; s < word; s++, syllable++) {
      const f0 = 150 - (40 * syllable) / count + 15 * Math.sin(syllable * 1.7);
      parts.push(vowel(VOWELS[Math.floor(random() * VOWELS.length)], 0.14 + 0.06 * random(), f0, random));
    }
    parts.push(new Float32Array(Math.round(0.09 * SAMPLE_RATE)));
  }
  parts.pop();
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return normalise(out);
}

/** One voiced vowel: a glottal pulse train (with jitter) through three formant resonators, faded in and out. */
function vowel(formants, seconds, f0, random) {
  const n = Math.round(seconds * SAMPLE_RATE);
  const source = new Float32Array(n);
  let phase = 0;
  for (let i = 0; i < n; i++) {
    const pitch = f0 * (1 + 0.1 * (i / n)) * (1 + 0.01 * (random() - 0.5));
    phase += pitch / SAMPLE_RATE;
    if (phase >= 1) phase -= 1;
    // Rosenberg-like glottal flow derivative: a rise, then a sharp closure; plus breath noise.
    source[i] = (phase < 0.6 ? Math.sin((Math.PI * phase) / 0.6) : -Math.sin((Math.PI * (phase - 0.6)) / 0.4)) + 0.05 * (random() - 0.5);
  }
  let out = source;
  formants.forEach((f, k) => (out = resonate(out, f, BANDWIDTHS[k])));
  const fade = Math.round(0.025 * SAMPLE_RATE);
  for (let i = 0; i < n; i++) out[i] *= Math.min(1, i / fade, (n - 1 - i) / fade);
  return out;
}

/** A two-pole resonator (Klatt's formant filter) at `frequency` with `bandwidth`, unit gain at DC. */
function resonate(input, frequency, bandwidth) {
  const T = 1 / SAMPLE_RATE;
  const c = -Math.exp(-2 * Math.PI * bandwidth * T);
  const b = 2 * Math.exp(-Math.PI * bandwidth * T) * Math.cos(2 * Math.PI * frequency * T);
  const a = 1 - b - c;
  const out = new Float32Array(input.length);
  let y1 = 0;
  let y2 = 0;
  for (let i = 0; i < input.length; i++) {
    const y = a * input[i] + b * y1 + c * y2;
    out[i] = y;
    y2 = y1;
    y1 = y;
  }
  return out;
}

// ───────────────────────────── samples ─────────────────────────────

function normalise(samples) {
  let peak = 0;
  for (const s of samples) peak = Math.max(peak, Math.abs(s));
  return peak === 0 ? samples : samples.map((s) => (s * PEAK) / peak);
}

/** Drops leading and trailing samples below 2 % of the peak (espeak-ng pads its output with silence). */
function trim(samples) {
  let peak = 0;
  for (const s of samples) peak = Math.max(peak, Math.abs(s));
  const loud = (s) => Math.abs(s) > 0.02 * peak;
  const first = samples.findIndex(loud);
  const last = samples.findLastIndex(loud);
  return first < 0 ? samples : samples.slice(first, last + 1);
}

/** Windowed-sinc resampling, low-passed below the lower Nyquist frequency. */
function resample(samples, from, to) {
  if (from === to) return samples;
  const ratio = from / to;
  const cutoff = Math.min(1, to / from) * 0.95;
  const half = 16;
  const out = new Float32Array(Math.floor(samples.length / ratio));
  for (let n = 0; n < out.length; n++) {
    const t = n * ratio;
    const centre = Math.floor(t);
    let sum = 0;
    for (let k = centre - half + 1; k <= centre + half; k++) {
      if (k < 0 || k >= samples.length) continue;
      const x = t - k;
      const sinc = x === 0 ? 1 : Math.sin(Math.PI * cutoff * x) / (Math.PI * cutoff * x);
      const window = 0.5 + 0.5 * Math.cos((Math.PI * x) / half);
      sum += samples[k] * cutoff * sinc * window;
    }
    out[n] = sum;
  }
  return out;
}

/** A deterministic PRNG (mulberry32), so the sample is the same on every machine. */
function seededRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Reads a PCM WAV's first channel (16-bit or 32-bit float) as floats in [-1, 1]. */
function decodeWav(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 12;
  let format;
  while (offset + 8 <= bytes.byteLength) {
    const id = bytes.toString('ascii', offset, offset + 4);
    // A writer that streams may leave a placeholder size: never read past the file.
    const size = Math.min(view.getUint32(offset + 4, true), bytes.byteLength - offset - 8);
    if (id === 'fmt ') {
      format = { code: view.getUint16(offset + 8, true), channels: view.getUint16(offset + 10, true), rate: view.getUint32(offset + 12, true), bits: view.getUint16(offset + 22, true) };
    } else if (id === 'data' && format) {
      const step = (format.bits / 8) * format.channels;
      const samples = new Float32Array(Math.floor(size / step));
      for (let i = 0; i < samples.length; i++) {
        const at = offset + 8 + i * step;
        samples[i] = format.code === 3 ? view.getFloat32(at, true) : view.getInt16(at, true) / 32768;
      }
      return { rate: format.rate, samples };
    }
    offset += 8 + size + (size % 2);
  }
  throw new Error('not a PCM WAV file');
}

function encodeWav(samples) {
  const data = Buffer.alloc(samples.length * 2);
  samples.forEach((s, i) => data.writeInt16LE(Math.round(Math.max(-1, Math.min(1, s)) * 32767), i * 2));
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVEfmt ', 8, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(SAMPLE_RATE, 24);
  header.writeUInt32LE(SAMPLE_RATE * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}
