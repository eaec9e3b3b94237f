/**
 * The model repository format, from the runtime itself: `dist/repository.js`, built from
 * `src/repository.ts` with the library (`npm run build`). The CLI checks and writes manifests with
 * the same constants and the same `parseManifest` the browser runtime reads them with.
 *
 * A published package ships dist/; a clone builds it on `npm ci` (`prepare`), and `npm test`,
 * `npm start` and `npm run bench` rebuild it when src/ changed (scripts/ensure.mjs).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CliError } from './cli-error.mjs';

/** `BROWSERVING_DIST`, as in vite.config.ts: parallel work in one clone builds into other folders. */
const built = new URL(`../../${process.env.BROWSERVING_DIST || 'dist'}/repository.js`, import.meta.url);

if (!existsSync(built)) {
  throw new CliError(`${fileURLToPath(built)} is missing: the CLI reads the repository format from the library build; run \`npm run build\` (or \`npm run build:repository\`) in ${fileURLToPath(new URL('../..', import.meta.url))}`);
}

/** @type {typeof import('../../src/repository.js')} */
const format = await import(built.href);

export const {
  MANIFEST_FILE,
  MANIFEST_FORMAT,
  ONNX_MODEL_FILE,
  PLATFORM_NAME_PATTERN,
  TABLE_FILES,
  PIPELINE_FILE,
  TENSOR_TYPES,
  WARMUP_FILE,
  missingPlatformFiles,
  parseManifest,
  parsePipeline,
  platformOfFiles,
  isServingError,
  MAX_TABLE_SHARDS,
  buildTableShards,
  parseTableShard,
  parseTableShardPath,
  parseTableSource,
  tableShardPath,
} = format;

/**
 * Whether the runtime accepts `name` as a version label name.
 * @param {string} name
 */
export function isLabelName(name) {
  try {
    format.VersionLabels.validate('label', { [name]: 0 });
    return true;
  } catch (error) {
    if (format.isServingError(error)) return false;
    throw error;
  }
}
