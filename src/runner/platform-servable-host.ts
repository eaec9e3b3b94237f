/**
 * PlatformServableHost: a platform's servable (the built-in `table`, or an app's platform module)
 * hosted by a runner, behind the HostedServable the runner's data plane calls.
 *
 * `loadPlatformServable` resolves the platform's module (built in, or imported from its URL),
 * gives its loader the version — the transferred files, the model config's `platformConfig`,
 * sessions on the runner's onnxruntime-web instance — and wraps the servable `load()` returns:
 * its APIs are read from what it has, its `predict` outputs are checked to be tensors, every
 * failure becomes a ServingError (`platformError`), and `release()` calls the loader's `unload()`
 * and then releases the ONNX sessions it made.
 */
import { ServingError, describeServable } from '../core/serving-error.js';
import type { ServableId } from '../core/servable-id.js';
import { isTensorType } from '../loaders/tensor-types.js';
import { importPlatform } from '../platforms/import-platform.js';
import { platformError } from '../platforms/platform-error.js';
import { builtInPlatform } from '../platforms/built-in.js';
import { servableApis, type PlatformLoader, type PlatformModule, type PlatformOnnxSession, type PlatformServable, type PlatformServables, type PlatformVersion, type ServableApi } from '../platforms/platform.js';
import type { Signature, TensorData } from '../protocol.js';
import type { RunnerLoadSpec } from '../protocol/runner.js';
import type { HostedServable, RunResult } from './hosted-servable.js';
import { OnnxServable } from './onnx-servable.js';
import type { OrtRuntime } from './ort-runtime.js';
import type { RunQueue } from './run-queue.js';

export interface PlatformHostDeps {
  /** The runner's onnxruntime-web instance, made on first use. */
  readonly runtime: () => OrtRuntime;
  readonly queue: RunQueue;
  /** The runtime's other servables, reached runner to runner. */
  readonly servables: PlatformServables;
}

/** Loads the version with its platform's loader. Rejects with FAILED_PRECONDITION when the module cannot be used, or with what the loader threw. */
export async function loadPlatformServable(spec: RunnerLoadSpec, deps: PlatformHostDeps): Promise<PlatformServableHost> {
  const where = { platform: spec.platform, model: spec.model, version: spec.version };
  const module = await platformModule(spec);
  const sessions: PlatformOnnxSession[] = [];
  const version = platformVersion(spec, deps, sessions);
  let loader: PlatformLoader;
  let servable: PlatformServable;
  const signal = new AbortController().signal;
  try {
    loader = module.createLoader(version);
    servable = await loader.load({ signal });
  } catch (error) {
    await Promise.allSettled(sessions.map((s) => s.release()));
    throw platformError(error, { ...where, call: 'load()' });
  }
  const apis = typeof servable === 'object' && servable !== null ? servableApis(servable) : [];
  if (apis.length === 0) {
    await Promise.allSettled([loader.unload?.(), ...sessions.map((s) => s.release())]);
    throw new ServingError(
      'FAILED_PRECONDITION',
      `${describeServable(spec.model, spec.version)}: platform "${spec.platform}" loaded a servable with nothing to call: load() must resolve to an object with predict, stream, lookup or methods`,
      { model: spec.model, version: spec.version },
    );
  }
  return new PlatformServableHost({ name: spec.model, version: spec.version }, spec.platform, servable, apis, async () => {
    try {
      await loader.unload?.();
    } finally {
      await Promise.allSettled(sessions.map((s) => s.release()));
    }
  });
}

async function platformModule(spec: RunnerLoadSpec): Promise<PlatformModule> {
  const builtIn = builtInPlatform(spec.platform);
  if (builtIn) return builtIn;
  if (!spec.moduleUrl) throw new ServingError('INTERNAL', `${describeServable(spec.model, spec.version)}: platform "${spec.platform}" was placed on a runner without its module URL`, { model: spec.model, version: spec.version });
  return importPlatform({ platform: spec.platform, model: spec.model, version: spec.version, worker: 'runner worker' }, spec.moduleUrl);
}

/** The version as the runner's loader sees it: reads come from the transferred files. */
function platformVersion(spec: RunnerLoadSpec, deps: PlatformHostDeps, sessions: PlatformOnnxSession[]): PlatformVersion {
  const files = new Map(spec.files.map((f) => [f.path, f.data]));
  const details = { model: spec.model, version: spec.version };
  const read = async (path: string): Promise<Uint8Array> => {
    const data = files.get(path);
    if (!data) throw new ServingError('NOT_FOUND', `${describeServable(spec.model, spec.version)} has no file "${path}" (files: ${[...files.keys()].join(', ')})`, { ...details, data: { path } });
    return data;
  };
  const readText = async (path: string) => new TextDecoder().decode(await read(path));
  return {
    model: spec.model,
    version: spec.version,
    platform: spec.platform,
    files: spec.files.map((f) => ({ path: f.path, size: f.data.byteLength })),
    config: spec.platformConfig,
    servables: deps.servables,
    read,
    readText,
    async readJson(path) {
      const text = await readText(path);
      try {
        return JSON.parse(text) as unknown;
      } catch (error) {
        throw new ServingError('INVALID_ARGUMENT', `${describeServable(spec.model, spec.version)}: ${path} is not valid JSON: ${(error as Error).message}`, details);
      }
    },
    async createOnnxSession(model, options = {}) {
      const runtime = deps.runtime();
      const created = await runtime.createSession(model, spec.providers, options.externalData ? options.externalData.map((f) => ({ path: f.path, data: f.data })) : undefined);
      const servable = new OnnxServable({ id: { name: spec.model, version: spec.version }, ort: await runtime.module(), session: created.session, provider: created.provider, queue: deps.queue });
      let released = false;
      const session: PlatformOnnxSession = {
        signature: servable.signature,
        run: async (inputs, runOptions = {}) => (await servable.run(inputs, runOptions.outputs, runOptions.signal)).outputs,
        release: async () => {
          if (released) return;
          released = true;
          await servable.release();
        },
      };
      sessions.push(session);
      return session;
    },
  };
}

export class PlatformServableHost implements HostedServable {
  readonly signature?: Signature;
  /** A platform's call starts at once, but may look at its signal: it always gets one. */
  readonly startsAtOnce = false;
  /** The platform's code may still hold what it returned (a decoder feeding an output back in): results are copied. */
  readonly transfersResults = false;
  readonly #servable: PlatformServable;
  readonly #release: () => Promise<void>;

  constructor(
    readonly id: ServableId,
    readonly platform: string,
    servable: PlatformServable,
    readonly apis: readonly ServableApi[],
    release: () => Promise<void>,
  ) {
    this.#servable = servable;
    this.#release = release;
    if (servable.signature) this.signature = servable.signature;
  }

  async run(inputs: Readonly<Record<string, TensorData>>, outputs?: readonly string[], signal = new AbortController().signal): Promise<RunResult> {
    try {
      const result = await this.#servable.predict!(inputs, { signal, ...(outputs ? { outputs } : {}) });
      return { outputs: this.#tensors(result, 'predict()') };
    } catch (error) {
      throw this.#failure(error, 'predict()');
    }
  }

  async call(method: string, args: unknown, signal: AbortSignal): Promise<unknown> {
    const call = method === 'lookup' ? 'lookup()' : `${method}()`;
    try {
      if (method === 'lookup') return await this.#servable.lookup!(args as (string | number)[], { signal });
      return await this.#servable.methods![method]!.call(this.#servable.methods, args, { signal });
    } catch (error) {
      throw this.#failure(error, call);
    }
  }

  stream(inputs: Readonly<Record<string, TensorData>>, signal: AbortSignal): AsyncIterator<Readonly<Record<string, TensorData>>> {
    let iterator: AsyncIterator<Readonly<Record<string, TensorData>>>;
    try {
      iterator = this.#servable.stream!(inputs, { signal })[Symbol.asyncIterator]();
    } catch (error) {
      throw this.#failure(error, 'stream()');
    }
    return {
      next: async () => {
        try {
          const step = await iterator.next();
          return step.done ? step : { done: false, value: this.#tensors(step.value, 'stream()') };
        } catch (error) {
          throw this.#failure(error, 'stream()');
        }
      },
      return: async () => {
        try {
          return (await iterator.return?.()) ?? { done: true, value: undefined };
        } catch (error) {
          throw this.#failure(error, 'stream() (while stopping)');
        }
      },
    };
  }

  describe(): Readonly<Record<string, string | number | boolean>> {
    try {
      return this.#servable.describe?.() ?? {};
    } catch {
      return {};
    }
  }

  release(): Promise<void> {
    return this.#release();
  }

  #failure(error: unknown, call: string): ServingError {
    return platformError(error, { platform: this.platform, model: this.id.name, version: this.id.version, call });
  }

  /** A result must be a record of tensors: anything else is the platform's fault, said as such. */
  #tensors(value: unknown, call: string): Record<string, TensorData> {
    const fail = (why: string): never => {
      throw new ServingError('INTERNAL', `${describeServable(this.id.name, this.id.version)}: platform "${this.platform}" returned from ${call} ${why}`, { model: this.id.name, version: this.id.version });
    };
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('something that is not a record of { type, data, dims } tensors');
    for (const [name, tensor] of Object.entries(value as Record<string, TensorData>)) {
      if (typeof tensor !== 'object' || tensor === null || !isTensorType(tensor.type) || !Array.isArray(tensor.dims) || !ArrayBuffer.isView(tensor.data) && !Array.isArray(tensor.data)) {
        fail(`an output "${name}" that is not a { type, data, dims } tensor`);
      }
    }
    return value as Record<string, TensorData>;
  }
}
