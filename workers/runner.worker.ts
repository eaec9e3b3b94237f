/**
 * Entry point of a runner worker with onnxruntime-web's full build (WebGPU and WASM): one ORT
 * instance and the servables placed on it, spoken to in tagged messages on this worker's own
 * channel (src/protocol/runner.ts). runner-wasm.worker.ts is the same with the WASM-only build.
 */
import * as ort from 'onnxruntime-web';
import { startRunner } from '../src/runner/start-runner.js';

startRunner(ort);
