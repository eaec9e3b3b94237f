/**
 * Entry point of a runner worker with onnxruntime-web's WASM-only build: used for versions whose
 * execution providers do not include WebGPU, so such pages never download the 28 MB WebGPU-capable
 * .wasm (the WASM-only one is 14 MB). Otherwise the same as runner.worker.ts.
 */
import * as ort from 'onnxruntime-web/wasm';
import { startRunner } from '../src/runner/start-runner.js';

startRunner(ort);
