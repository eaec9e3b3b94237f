/**
 * The model repository layout the runtime reads, as the CLI needs it.
 *
 * The CLI runs on Node without a build step, so it cannot import the TypeScript sources. These
 * few constants are copies: the originals are in `src/sources/manifest.ts` (file names, format,
 * `kindOfFiles`), `src/core/version-labels.ts` (label names) and `src/loaders/tensor-types.ts`
 * (tensor types). `bin/__tests__/cli.test.ts` fails when a copy drifts from its original.
 */

export const MANIFEST_FORMAT = 'browserving-manifest/1';
export const MANIFEST_FILE = 'manifest.json';
export const ONNX_MODEL_FILE = 'model.onnx';
export const WARMUP_FILE = 'warmup.json';
export const TABLE_FILES = Object.freeze(['table.txt', 'table.json']);

/**
 * Files larger than this get per-segment SHA-256 digests of this size in the manifest. The CLI's
 * own choice: the runtime reads the size from the manifest and stores such a file in chunks of
 * one segment.
 */
export const SEGMENT_BYTES = 4 * 1024 * 1024;

/** Version label names: letters, digits, `_ . -`, not starting with a digit. */
export const LABEL_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** Element types a signature may name (`TensorType` in `src/protocol.ts`). */
export const TENSOR_TYPES = Object.freeze(['float32', 'float64', 'float16', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'bool', 'string']);

/**
 * The servable kind a version's file list implies, or undefined when it holds no known servable.
 * @param {readonly string[]} paths  relative to the version folder
 * @returns {'onnx' | 'table' | undefined}
 */
export function kindOfFiles(paths) {
  if (paths.includes(ONNX_MODEL_FILE)) return 'onnx';
  if (TABLE_FILES.some((f) => paths.includes(f))) return 'table';
  return undefined;
}
