/**
 * Starts the control worker and runner workers.
 *
 * By default they are the `serving.worker.js`, `runner.worker.js` and `runner-wasm.worker.js` that ship beside the built
 * library. The library build (vite.config.ts) replaces each placeholder call with the literal
 * `new Worker(new URL('./<script>', import.meta.url), { type: 'module', name })`, the pattern
 * consumers' bundlers (Vite, webpack, Rollup) recognise and bundle with their own chunks. They are
 * placeholders in the source because the library build must not bundle the workers a second time.
 * Each worker's `name` is the Web Lock it holds for its life (src/core/life-lock.ts).
 */
declare const __BROWSERVING_SPAWN_CONTROL_WORKER__: (name: string) => Worker;
declare const __BROWSERVING_SPAWN_RUNNER_WORKER__: (name: string) => Worker;
declare const __BROWSERVING_SPAWN_RUNNER_WASM_WORKER__: (name: string) => Worker;

export function spawnControlWorker(name: string, url?: string | URL): Worker {
  if (url !== undefined) return new Worker(url, { type: 'module', name });
  return __BROWSERVING_SPAWN_CONTROL_WORKER__(name);
}

/**
 * A runner with onnxruntime-web's full build (`webgpu`: WebGPU + WASM) or its WASM-only build.
 * `urls` overrides the scripts (`runnerUrl` / `runnerWasmUrl` of createServing).
 */
export function spawnRunnerWorker(name: string, variant: 'webgpu' | 'wasm', urls: { webgpu?: string | URL; wasm?: string | URL } = {}): Worker {
  const url = urls[variant];
  if (url !== undefined) return new Worker(url, { type: 'module', name });
  return variant === 'wasm' ? __BROWSERVING_SPAWN_RUNNER_WASM_WORKER__(name) : __BROWSERVING_SPAWN_RUNNER_WORKER__(name);
}
