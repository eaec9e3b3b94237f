/**
 * Platforms: what a servable can be (TF Serving's `model_platform` → SourceAdapter → Loader).
 *
 * A manifest names each version's platform. Built in: `onnx` (an onnxruntime-web session) and
 * `table` (a lookup table). An app adds its own by module URL, in the config:
 *
 * ```ts
 * createServing({
 *   platforms: { tokenizer: new URL('./tokenizer-platform.js', import.meta.url) },
 *   models: [{ name: 'tok', basePath: '/models/tok', platformConfig: { lowercase: true } }],
 * });
 * ```
 *
 * The module runs inside the workers (a platform's servables live in runner workers, like ONNX
 * ones), so it is plain ES module code with no access to the page. It exports `createLoader`:
 *
 * ```ts
 * export function createLoader(version: PlatformVersion): PlatformLoader {
 *   return {
 *     estimateResources: async () => ({ bytes: version.files.reduce((n, f) => n + f.size, 0) }),
 *     load: async () => {
 *       const vocab = version.readJson('vocab.json') as string[];
 *       return { methods: { encode: (text) => vocab.indexOf(String(text)) } };
 *     },
 *   };
 * }
 * ```
 *
 * Contract (who calls what, where):
 * - `createLoader` is called once in the control worker, where only `estimateResources()` is
 *   called (before the version is loaded, to reserve its memory; `read*` fetch the file from the
 *   artifact store), and once in the runner that hosts the version, where `load()` and later
 *   `unload()` are called, never concurrently. The two loaders share no state.
 * - `load()` resolves to the servable. What it answers is what it has: `predict` (tensors in and
 *   out, validated first against `signature` when it declares one), `stream` (results step by
 *   step: `predictStream` on the client), `lookup` (keys → values), and `methods` reachable with
 *   `serving.call({ model, method, args })`.
 * - Every call gets an AbortSignal that aborts on the caller's cancellation or deadline.
 * - A thrown ServingError (or any error whose `name` is `"ServingError"` with a canonical
 *   `code`) reaches the caller with its code; anything else becomes INTERNAL naming the platform.
 * - The servable never manages its own lifecycle: `unload()` is called once its requests in
 *   flight have finished; the runner is then terminated when it hosts nothing else, which
 *   returns its memory to the browser.
 */
import type { ResourceAllocation } from '../core/loader.js';
import { ServingError, describeServable } from '../core/serving-error.js';
import type { Signature, TableValue, TensorData } from '../protocol.js';

/** What a servable answers; `call:<method>` for each of its methods. */
export type ServableApi = 'predict' | 'stream' | 'lookup' | `call:${string}`;

/** Passed to every servable call. */
export interface PlatformCallOptions {
  /** Aborts when the caller cancels or its deadline passes: stop work and return (or throw) promptly. */
  readonly signal: AbortSignal;
}

export interface PlatformPredictOptions extends PlatformCallOptions {
  /** Outputs the caller asked for; all when absent. */
  readonly outputs?: readonly string[];
}

/** A servable of a user platform (or of the built-in `table`). Every member is optional; at least one of `predict`, `stream`, `lookup`, `methods`. */
export interface PlatformServable {
  /** Inputs and outputs of `predict`/`stream`; when present, requests are validated against it and metadata reports it. */
  readonly signature?: Signature;
  predict?(inputs: Readonly<Record<string, TensorData>>, options: PlatformPredictOptions): Promise<Readonly<Record<string, TensorData>>> | Readonly<Record<string, TensorData>>;
  /** Results one step at a time; the runner pulls the next one only when the client has room for it (back-pressure). */
  stream?(inputs: Readonly<Record<string, TensorData>>, options: PlatformCallOptions): AsyncIterable<Readonly<Record<string, TensorData>>>;
  lookup?(keys: readonly (string | number)[], options: PlatformCallOptions): Promise<readonly TableValue[]> | readonly TableValue[];
  /** Methods of its own, by name: `serving.call({ model, method, args })`. `args` and the result are structured-cloneable. */
  readonly methods?: Readonly<Record<string, (args: unknown, options: PlatformCallOptions) => unknown>>;
  /** Facts for status and metadata (e.g. `{ vocabulary: 30522 }`). */
  describe?(): Readonly<Record<string, string | number | boolean>>;
}

/** One session of the runner's onnxruntime-web instance, for platforms that run ONNX models of their own (a decoder loop, say). */
export interface PlatformOnnxSession {
  readonly signature: Signature;
  /** Runs after the runner's other runs (one at a time per ORT instance, as WebGPU requires). */
  run(inputs: Readonly<Record<string, TensorData>>, options?: { readonly outputs?: readonly string[]; readonly signal?: AbortSignal }): Promise<Record<string, TensorData>>;
  release(): Promise<void>;
}

/** Which version of another model a servable calls: `version`, or `label`, or neither for the latest. */
export interface ServableSelector {
  readonly model: string;
  readonly version?: number;
  readonly label?: string;
}

/**
 * The other servables of this runtime, as a servable calls them (TF Serving's composite
 * servables hold handles on others the same way). Requests go straight from this runner to the
 * runner of the servable they name — never through the page — with the caller's signal; a
 * servable swapped meanwhile answers from its new version (its old one finishes what it started).
 * Answers carry the version that answered.
 */
export interface PlatformServables {
  predict(request: ServableSelector & { readonly inputs: Readonly<Record<string, TensorData>>; readonly outputs?: readonly string[] }, options: PlatformCallOptions): Promise<{ readonly version: number; readonly outputs: Record<string, TensorData> }>;
  lookup(request: ServableSelector & { readonly keys: readonly (string | number)[] }, options: PlatformCallOptions): Promise<{ readonly version: number; readonly values: TableValue[] }>;
  call(request: ServableSelector & { readonly method: string; readonly args?: unknown }, options: PlatformCallOptions): Promise<{ readonly version: number; readonly value: unknown }>;
}

/** A version of a platform's model, as its loader sees it. */
export interface PlatformVersion {
  readonly model: string;
  readonly version: number;
  readonly platform: string;
  /** Every file of the version (manifest order), with its size. */
  readonly files: readonly { readonly path: string; readonly size: number }[];
  /** The model config's `platformConfig` (structured-cloned). */
  readonly config: unknown;
  /** A file's bytes, verified against the manifest's size and SHA-256. Rejects with NOT_FOUND for a path the version does not have. */
  read(path: string): Promise<Uint8Array>;
  /** `read`, decoded as UTF-8. */
  readText(path: string): Promise<string>;
  /** `read`, parsed as JSON; INVALID_ARGUMENT naming the file when it is not JSON. */
  readJson(path: string): Promise<unknown>;
  /** Creates a session on the runner's onnxruntime-web instance, with the model's `executionProviders`. Only in `load()`. */
  createOnnxSession(model: Uint8Array, options?: { readonly externalData?: readonly { readonly path: string; readonly data: Uint8Array }[] }): Promise<PlatformOnnxSession>;
  /** The runtime's other servables, for a servable made of others (the built-in `pipeline` is one). Usable from `load()` on, in the runner; in the control worker (`estimateResources`) calls reject with FAILED_PRECONDITION. */
  readonly servables: PlatformServables;
}

/** TF Serving's Loader, for one version of a platform's model. */
export interface PlatformLoader {
  /** Memory the version will hold once loaded. @defaultValue the sum of its file sizes */
  estimateResources?(): Promise<ResourceAllocation> | ResourceAllocation;
  load(options: PlatformCallOptions): Promise<PlatformServable>;
  /** Frees what `load` made; called once requests in flight have finished. */
  unload?(): Promise<void> | void;
}

/** What a platform module exports. */
export interface PlatformModule {
  createLoader(version: PlatformVersion): PlatformLoader;
}

/** The APIs a platform servable answers, from what it has. */
export function servableApis(servable: PlatformServable): ServableApi[] {
  const apis: ServableApi[] = [];
  if (typeof servable.predict === 'function') apis.push('predict');
  if (typeof servable.stream === 'function') apis.push('stream');
  if (typeof servable.lookup === 'function') apis.push('lookup');
  for (const [name, method] of Object.entries(servable.methods ?? {})) if (typeof method === 'function') apis.push(`call:${name}`);
  return apis;
}

/** How a caller reaches an API. */
function callOf(api: ServableApi): string {
  return api === 'predict' ? 'predict()' : api === 'stream' ? 'predictStream()' : api === 'lookup' ? 'lookup()' : `call({ method: ${JSON.stringify(api.slice(5))} })`;
}

/** INVALID_ARGUMENT for a request the servable does not answer, saying what it does answer. */
export function unansweredError(model: string, version: number, apis: readonly ServableApi[], asked: ServableApi): ServingError {
  const what = apis.length === 1 && apis[0] === 'lookup' ? 'is a lookup table' : apis.includes('predict') && asked !== 'stream' ? 'is a model' : 'does not answer it';
  return new ServingError('INVALID_ARGUMENT', `${describeServable(model, version)} ${what}: ${callOf(asked)} cannot be used with it; use ${apis.map(callOf).join(' or ')}`, { model, version });
}
