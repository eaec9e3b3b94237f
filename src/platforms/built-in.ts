/**
 * The platforms every runtime has besides `onnx` (which the runner hosts natively): written
 * against the same contract an app's platform gets, looked up by name in both workers.
 */
import type { PlatformModule } from './platform.js';
import { pipelinePlatform } from './pipeline/pipeline-platform.js';
import { remotePlatform } from './remote/remote-platform.js';
import { tablePlatform } from './table/table-platform.js';

const BUILT_IN: Readonly<Record<string, PlatformModule>> = { table: tablePlatform, pipeline: pipelinePlatform, remote: remotePlatform };

/** The built-in module of `platform` (not `onnx`), or undefined for an app's platform. */
export function builtInPlatform(platform: string): PlatformModule | undefined {
  return Object.hasOwn(BUILT_IN, platform) ? BUILT_IN[platform] : undefined;
}

/** Built-in platforms whose servables never use onnxruntime-web: they run in the WASM-only runner and never start ORT. */
export function runsWithoutOrt(platform: string): boolean {
  return builtInPlatform(platform) !== undefined;
}
