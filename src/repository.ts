/**
 * The model repository format as the `browserving` CLI needs it, built into `dist/repository.js`
 * (`vite build --mode repository`, part of `npm run build`) so that the CLI, plain JavaScript on
 * Node, writes and checks manifests with the runtime's own definitions rather than copies.
 *
 * Re-exports only. Nothing here may import the DOM, a worker or onnxruntime-web: the CLI runs it
 * on Node.
 */
export {
  BUILTIN_PLATFORMS,
  MANIFEST_FILE,
  MANIFEST_FORMAT,
  ONNX_MODEL_FILE,
  PLATFORM_NAME_PATTERN,
  TABLE_FILES,
  PIPELINE_FILE,
  WARMUP_FILE,
  missingPlatformFiles,
  parseManifest,
  platformOfFiles,
} from './sources/manifest.js';
export type { Manifest, ManifestFile, ManifestVersion } from './sources/manifest.js';
export { MAX_TABLE_SHARDS, buildTableShards, parseTableShard, parseTableShardPath, parseTableSource, tableShardPath } from './sources/table-shards.js';
export type { TableShardEntry } from './sources/table-shards.js';
export { VersionLabels } from './core/version-labels.js';
export { ServingError, isServingError } from './core/serving-error.js';
export { TENSOR_TYPES } from './loaders/tensor-types.js';
export { parsePipeline } from './platforms/pipeline/pipeline-spec.js';
export type { Signature, TensorSpec, TensorType } from './protocol.js';
