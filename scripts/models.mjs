/**
 * Puts the demo's and the tests' model repository into public/models (not committed):
 * - `silero`: Silero VAD v5 (version 1, label `stable`) and v6 (version 2, label `canary`),
 *   copied from @ricky0123/vad-web — a real model that ships inside an npm package;
 * - `mlp`: a generated two-layer MLP with a batch dimension (scripts/onnx-models.mjs);
 * - `vocab`: a vocabulary table (table.txt, one token per line);
 * - `samples/`: not a model, the dashboard's speech sample (scripts/speech.mjs).
 * Each base path gets its manifest from the package's own CLI (`browserving manifest`).
 * Idempotent: does nothing when the repository is already complete.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureRepositoryBuild, root, say, SetupError } from './ensure.mjs';
import { ensureSpeechSample } from './speech.mjs';

export const MODELS_DIR = join(root, 'public', 'models');
const STAMP = join(MODELS_DIR, '.complete');
// 2: manifests name each version's platform (written by the CLI since platforms).
const STAMP_VALUE = 'browserving-models/2';

const SILERO_SOURCES = { 1: 'silero_vad_v5.onnx', 2: 'silero_vad_v6.onnx' };
export const VOCABULARY = ['[PAD]', '[UNK]', 'the', 'serving', 'model', 'version', 'browser', 'worker', 'tensor', 'label'];

export function sileroWarmup() {
  return {
    inputs: {
      input: { type: 'float32', dims: [1, 512], data: new Array(512).fill(0) },
      state: { type: 'float32', dims: [2, 1, 128], data: new Array(256).fill(0) },
      sr: { type: 'int64', dims: [], data: [16000] },
    },
  };
}

/**
 * Writes the manifest of `baseDir` with the CLI; `labels` as { name: version }; `platform` is
 * passed as `--platform` (the platform of version folders holding neither a model nor a table),
 * `shards` as `--shards` (every table version written as that many shards).
 * @param {string} baseDir
 * @param {Record<string, number>} [labels]
 * @param {{ platform?: string, shards?: number }} [options]
 */
export function writeManifest(baseDir, labels = {}, { platform, shards } = {}) {
  const args = [
    join(root, 'bin', 'browserving.mjs'),
    'manifest',
    baseDir,
    ...Object.entries(labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]),
    ...(platform === undefined ? [] : ['--platform', platform]),
    ...(shards === undefined ? [] : ['--shards', String(shards)]),
  ];
  const result = spawnSync(process.execPath, args, { encoding: 'utf8' });
  if (result.status !== 0) throw new SetupError(`browserving manifest ${baseDir} failed:\n${result.stderr}`);
}

export async function ensureModels() {
  // The CLI writes the manifests with the repository format from the library build.
  ensureRepositoryBuild();
  if (!existsSync(STAMP) || readFileSync(STAMP, 'utf8') !== STAMP_VALUE) await writeModels();
  ensureSpeechSample(join(MODELS_DIR, 'samples'));
}

async function writeModels() {
  say('writing the model repository into public/models (Silero VAD v5/v6, generated MLP, vocabulary table)');
  const { mlpModel } = await import('./onnx-models.mjs');
  const vadDist = join(root, 'node_modules', '@ricky0123', 'vad-web', 'dist');

  for (const [version, file] of Object.entries(SILERO_SOURCES)) {
    const from = join(vadDist, file);
    if (!existsSync(from)) throw new SetupError(`${from} is missing: run \`npm ci\``);
    const dir = join(MODELS_DIR, 'silero', version);
    mkdirSync(dir, { recursive: true });
    copyFileSync(from, join(dir, 'model.onnx'));
    writeFileSync(join(dir, 'warmup.json'), JSON.stringify(sileroWarmup()));
  }
  writeManifest(join(MODELS_DIR, 'silero'), { stable: 1, canary: 2 });

  mkdirSync(join(MODELS_DIR, 'mlp', '1'), { recursive: true });
  writeFileSync(join(MODELS_DIR, 'mlp', '1', 'model.onnx'), mlpModel());
  writeManifest(join(MODELS_DIR, 'mlp'));

  mkdirSync(join(MODELS_DIR, 'vocab', '1'), { recursive: true });
  writeFileSync(join(MODELS_DIR, 'vocab', '1', 'table.txt'), `${VOCABULARY.join('\n')}\n`);
  writeManifest(join(MODELS_DIR, 'vocab'));

  writeFileSync(STAMP, STAMP_VALUE);
}
