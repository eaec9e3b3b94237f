/**
 * The speech sample `npm start` makes at set-up (scripts/speech.mjs): a 16 kHz mono 16-bit WAV of
 * utterances between pauses, and a JSON file saying where each lies, which the VAD chart shades
 * as the ground truth.
 */

export interface SampleSegment {
  readonly kind: 'speech' | 'silence';
  readonly startMs: number;
  readonly endMs: number;
  readonly text?: string;
}

export interface SpeechSample {
  readonly url: string;
  /** `espeak-ng`, or `synthetic` when set-up had no espeak-ng (a formant-synthesised voice). */
  readonly source: string;
  readonly sampleRate: number;
  readonly samples: Float32Array;
  readonly segments: readonly SampleSegment[];
}

/** Fetches and decodes the sample under `base`; rejects with a readable Error when set-up has not made it. */
export async function loadSpeechSample(base: string): Promise<SpeechSample> {
  const url = `${base}speech.wav`;
  const [wav, meta] = await Promise.all([fetch(url), fetch(`${base}speech.json`)]);
  if (!wav.ok || !meta.ok) throw new Error(`the speech sample is missing (${url}: HTTP ${wav.status}); \`npm start\` makes it`);
  const { source, sampleRate, segments } = (await meta.json()) as { source: string; sampleRate: number; segments: SampleSegment[] };
  const samples = decodePcm16(new DataView(await wav.arrayBuffer()));
  return { url, source, sampleRate, samples, segments };
}

/** The first channel of a 16-bit PCM WAV as floats in [-1, 1]. */
function decodePcm16(view: DataView): Float32Array {
  const tag = (at: number) => String.fromCharCode(view.getUint8(at), view.getUint8(at + 1), view.getUint8(at + 2), view.getUint8(at + 3));
  if (tag(0) !== 'RIFF' || tag(8) !== 'WAVE') throw new Error('the speech sample is not a WAV file');
  let channels = 1;
  for (let at = 12; at + 8 <= view.byteLength;) {
    const size = Math.min(view.getUint32(at + 4, true), view.byteLength - at - 8);
    if (tag(at) === 'fmt ') {
      if (view.getUint16(at + 8, true) !== 1 || view.getUint16(at + 22, true) !== 16) throw new Error('the speech sample is not 16-bit PCM');
      channels = view.getUint16(at + 10, true);
    } else if (tag(at) === 'data') {
      const samples = new Float32Array(Math.floor(size / (2 * channels)));
      for (let i = 0; i < samples.length; i++) samples[i] = view.getInt16(at + 8 + i * 2 * channels, true) / 32768;
      return samples;
    }
    at += 8 + size + (size % 2);
  }
  throw new Error('the speech sample has no audio data');
}
