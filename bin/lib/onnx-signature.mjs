/**
 * Reads an ONNX version's signature the way the runtime will see it: by creating an
 * onnxruntime-web session (WASM backend, in Node) from the version's files and reading its
 * input and output metadata. A version ORT cannot load fails here, naming the file, instead of
 * failing later in every browser that tries to serve it.
 *
 * The conversion mirrors `signatureOf` in `src/runner/onnx-servable.ts`, so the manifest
 * shows what `getModelMetadata()` will report.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CliError } from './cli-error.mjs';
import { ONNX_MODEL_FILE, TENSOR_TYPES } from './repository-format.mjs';

/**
 * @typedef {import('../../src/repository.js').TensorSpec} TensorSpec
 * @typedef {import('../../src/repository.js').Signature} Signature
 * @typedef {typeof import('onnxruntime-web')} Ort
 */

/** @type {Promise<Ort> | undefined} */
let ortModule;

/** onnxruntime-web, imported on first use so that table-only repositories never load it. */
function ort() {
  ortModule ??= import('onnxruntime-web').then(
    (module) => {
      // One thread: no worker threads to start (or to keep the process alive) for a metadata read.
      module.env.wasm.numThreads = 1;
      module.env.logLevel = 'error';
      return module;
    },
    (error) => {
      // An optional peer dependency: browser users of the library never need it, the CLI does.
      throw new CliError(`reading an ONNX model's signature needs onnxruntime-web, which is not installed (${error.message}): npm install --save-dev onnxruntime-web`);
    },
  );
  return ortModule;
}

/**
 * The signature of the ONNX model in `dir`: `model.onnx` plus its external-data files, passed to
 * ORT as the runtime passes them.
 * Rejects with a CliError naming `model.onnx` when ORT cannot create a session from it.
 * @param {string} dir
 * @param {readonly string[]} externalDataPaths  relative to `dir`, `/`-separated
 * @param {(message: string) => void} warn  told about inputs or outputs the signature cannot describe exactly
 * @returns {Promise<Signature>}
 */
export async function readOnnxSignature(dir, externalDataPaths, warn) {
  const { InferenceSession } = await ort();
  const modelPath = join(dir, ONNX_MODEL_FILE);
  const externalData = await Promise.all(
    externalDataPaths.map(async (path) => ({ path, data: await readFile(join(dir, ...path.split('/'))) })),
  );
  let session;
  try {
    session = await InferenceSession.create(await readFile(modelPath), {
      executionProviders: ['wasm'],
      ...(externalData.length ? { externalData } : {}),
    });
  } catch (error) {
    throw new CliError(`${modelPath} is not a model onnxruntime-web can load: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  try {
    return {
      inputs: session.inputMetadata.map((m) => tensorSpec(m, `${modelPath}: input`, warn)),
      outputs: session.outputMetadata.map((m) => tensorSpec(m, `${modelPath}: output`, warn)),
    };
  } finally {
    await session.release();
  }
}

/**
 * @param {import('onnxruntime-web').InferenceSession.ValueMetadata} metadata
 * @param {string} at
 * @param {(message: string) => void} warn
 * @returns {TensorSpec}
 */
function tensorSpec(metadata, at, warn) {
  if (!metadata.isTensor) {
    warn(`${at} "${metadata.name}" is not a tensor; the signature lists it as float32 [] (as the runtime reports it)`);
    return { name: metadata.name, type: 'float32', shape: [] };
  }
  const known = /** @type {readonly string[]} */ (TENSOR_TYPES).includes(metadata.type);
  if (!known) {
    warn(`${at} "${metadata.name}" has element type ${metadata.type}, which browserving does not support; the signature lists it as float32 (as the runtime reports it)`);
  }
  const type = known ? /** @type {TensorSpec['type']} */ (metadata.type) : 'float32';
  return { name: metadata.name, type, shape: metadata.shape.map(normaliseDim) };
}

/**
 * ORT reports an unknown dimension as a negative number or 2^32 − 1; the signature says `null`.
 * Symbolic dimensions (`"batch"`) stay as they are.
 * @param {number | string} dim
 * @returns {number | string | null}
 */
function normaliseDim(dim) {
  if (typeof dim === 'string') return dim;
  return dim < 0 || dim >= 2 ** 31 ? null : dim;
}
