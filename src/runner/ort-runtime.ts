/**
 * OrtRuntime: a runner's one onnxruntime-web instance.
 *
 * - The ORT module is given by the runner's entry point: `onnxruntime-web` (WebGPU + WASM, a 28 MB
 *   .wasm) or `onnxruntime-web/wasm` (WASM only, 14 MB), each built into a chunk of its own
 *   (vite.config.ts): ORT's threaded WASM starts pthread workers from the script that contains
 *   ORT, and they must not boot a runner.
 * - `env` is configured once, before the first session: ORT reads it at initialisation and a
 *   failed WASM initialisation cannot be retried in the same worker.
 * - Sessions are created on the first execution provider of the preference list that works,
 *   trying each explicitly, so the provider actually used — and why earlier ones were skipped —
 *   is known and reported (ORT's own list fallback is silent about both).
 */
import type * as Ort from 'onnxruntime-web';
import { ServingError } from '../core/serving-error.js';
import type { ExecutionProvider, RuntimeInfo } from '../protocol.js';

export type OrtModule = typeof Ort;

/** The part of a GPUDevice this runtime uses (the WebGPU types are not part of the TS DOM lib). */
export interface GPUDeviceLike {
  readonly lost: Promise<{ readonly reason?: string; readonly message?: string }>;
  destroy(): void;
}

/**
 * y = Identity(x), float32 [1]: the smallest model that proves the WASM runtime starts.
 * Bytes of the ONNX ModelProto (ir_version 8, opset 13), written out by hand.
 */
const PROBE_MODEL = onnxIdentityModel();

export interface OrtRuntimeOptions {
  readonly numThreads?: number;
  /** URL prefix ending in `/` where ORT's `.wasm`/`.mjs` files are; by default the bundler-resolved URLs are used. */
  readonly wasmPaths?: string;
}

export interface CreatedSession {
  readonly session: Ort.InferenceSession;
  readonly provider: ExecutionProvider;
  /** Why preferred providers were skipped, e.g. `webgpu: no WebGPU adapter`. */
  readonly skipped: readonly string[];
}

export class OrtRuntime {
  readonly #options: OrtRuntimeOptions;
  readonly #ort: OrtModule;
  #module: Promise<OrtModule> | undefined;
  #webgpu: Promise<{ adapter?: unknown; reason?: string; name?: string }> | undefined;
  #creating: Promise<unknown> = Promise.resolve();

  constructor(ort: OrtModule, options: OrtRuntimeOptions = {}) {
    this.#ort = ort;
    this.#options = options;
  }

  /** The configured ORT module (imported and configured on first use). */
  module(): Promise<OrtModule> {
    this.#module ??= Promise.resolve(this.#ort).then((ort) => {
      ort.env.wasm.proxy = false;
      ort.env.wasm.numThreads = this.#options.numThreads ?? defaultThreadCount();
      if (this.#options.wasmPaths !== undefined) ort.env.wasm.wasmPaths = this.#options.wasmPaths;
      ort.env.logLevel = 'error';
      return ort;
    });
    return this.#module;
  }

  /**
   * Creates a session from model bytes on the first provider in `providers` that works.
   * Rejects with INVALID_ARGUMENT when no provider can create it (the message lists each
   * provider's reason) — with a working WASM backend, that means the artifact is not a model
   * this runtime can load.
   */
  createSession(bytes: Uint8Array, providers: readonly ExecutionProvider[], externalData?: { path: string; data: Uint8Array }[]): Promise<CreatedSession> {
    // One creation at a time: ORT initialises a backend on its first session and rejects a
    // second, concurrent initialisation ("multiple calls to 'initWasm()'"), which would
    // silently push a concurrently loading version off its preferred provider.
    const created = this.#creating.then(() => this.#createSession(bytes, providers, externalData));
    this.#creating = created.catch(() => undefined);
    return created;
  }

  async #createSession(bytes: Uint8Array, providers: readonly ExecutionProvider[], externalData?: { path: string; data: Uint8Array }[]): Promise<CreatedSession> {
    const ort = await this.module();
    const skipped: string[] = [];
    for (const provider of providers) {
      if (provider === 'webgpu') {
        const gpu = await this.#webgpuAdapter(ort);
        if (gpu.reason) {
          skipped.push(`webgpu: ${gpu.reason}`);
          continue;
        }
      }
      try {
        const session = await ort.InferenceSession.create(bytes, {
          executionProviders: [provider],
          graphOptimizationLevel: 'all',
          // 3 = errors only: WebGPU session creation otherwise prints its node-assignment
          // warnings through console.error (env.logLevel does not reach them).
          logSeverityLevel: 3,
          ...(externalData ? { externalData } : {}),
        });
        if (provider === 'webgpu') this.#watchDevice(ort);
        return { session, provider, skipped };
      } catch (error) {
        skipped.push(`${provider}: ${(error as Error).message ?? String(error)}`);
      }
    }
    throw await this.#creationFailure(ort, skipped);
  }

  /**
   * Tells a runtime that cannot start from a model it cannot load: when every provider failed,
   * a built-in two-node model is tried on WASM. If that fails too, the runtime itself is broken
   * (its `.wasm` missing or not `application/wasm`, a CSP without 'wasm-unsafe-eval', an
   * initialisation that failed earlier — ORT never retries one): UNAVAILABLE naming the asset,
   * and this runner is of no further use. Otherwise the model is at fault: INVALID_ARGUMENT.
   */
  async #creationFailure(ort: OrtModule, skipped: readonly string[]): Promise<ServingError> {
    const reasons = skipped.join('; ');
    try {
      const probe = await ort.InferenceSession.create(PROBE_MODEL.slice(), { executionProviders: ['wasm'], logSeverityLevel: 3 });
      await probe.release();
    } catch (error) {
      this.broken = true;
      const asset = failedWasmAsset();
      return new ServingError(
        'UNAVAILABLE',
        `onnxruntime-web's WASM runtime could not start${asset ? `: ${asset}` : ''} (${(error as Error).message ?? String(error)}). ` +
          `Serve ORT's .mjs/.wasm files beside the worker scripts (or set wasm.wasmPaths), as application/wasm, and allow 'wasm-unsafe-eval' in the page's Content-Security-Policy; the next load starts a new runtime.`,
        { data: { runtimeFailure: true } },
      );
    }
    return new ServingError('INVALID_ARGUMENT', `no execution provider could create an inference session (${reasons})`);
  }

  /** Set once the runtime cannot start: the runner hosting it must be replaced. */
  broken = false;

  /** Called with a reason when the WebGPU device of this instance is lost. */
  onDeviceLost: ((reason: string) => void) | undefined;
  #deviceWatched = false;

  /** ORT creates its GPUDevice on the first WebGPU session; watching its `lost` promise is how a lost device is noticed. */
  #watchDevice(ort: OrtModule): void {
    if (this.#deviceWatched) return;
    this.#deviceWatched = true;
    void (async () => {
      const device = (await (ort.env.webgpu as { device?: Promise<GPUDeviceLike> | GPUDeviceLike }).device) as GPUDeviceLike | undefined;
      if (!device) return;
      this.device = device;
      const info = await device.lost;
      this.onDeviceLost?.(`WebGPU device lost (${info.reason ?? 'unknown'}${info.message ? `: ${info.message}` : ''})`);
    })().catch(() => undefined);
  }

  /** ORT's GPUDevice, once a WebGPU session exists. */
  device: GPUDeviceLike | undefined;

  /** What the runtime knows about itself so far (thread count and adapter once initialised). */
  async info(): Promise<RuntimeInfo> {
    const scope = globalThis as { crossOriginIsolated?: boolean; navigator?: { hardwareConcurrency?: number } };
    const base: RuntimeInfo = { crossOriginIsolated: scope.crossOriginIsolated === true, hardwareConcurrency: scope.navigator?.hardwareConcurrency ?? 1 };
    if (!this.#module) return base;
    const ort = await this.#module;
    const gpu = this.#webgpu ? await this.#webgpu : undefined;
    const threads = ort.env.wasm.numThreads;
    return {
      ...base,
      ortVersion: ort.env.versions.web ?? ort.env.versions.common,
      ...(typeof threads === 'number' ? { wasmThreads: threads } : {}),
      ...(gpu?.name ? { webgpuAdapter: gpu.name } : {}),
    };
  }

  /** Asks for a WebGPU adapter once; hands it to ORT so ORT does not ask again. */
  #webgpuAdapter(ort: OrtModule): Promise<{ adapter?: unknown; reason?: string; name?: string }> {
    this.#webgpu ??= (async () => {
      const gpu = (globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<unknown> } } }).navigator?.gpu;
      if (!gpu) return { reason: 'WebGPU is not supported in this context (navigator.gpu is undefined)' };
      let adapter: unknown;
      try {
        adapter = await gpu.requestAdapter();
      } catch (error) {
        return { reason: `requestAdapter() failed: ${(error as Error).message}` };
      }
      if (!adapter) return { reason: 'no WebGPU adapter is available' };
      (ort.env.webgpu as { adapter?: unknown }).adapter = adapter;
      const info = (adapter as { info?: { vendor?: string; architecture?: string; description?: string } }).info;
      const name = [info?.vendor, info?.architecture, info?.description].filter(Boolean).join(' ') || 'unknown adapter';
      return { adapter, name };
    })();
    return this.#webgpu;
  }
}

/**
 * Threads for the WASM backend when not configured: ORT's own default, min(4, ceil(cores / 2)),
 * when cross-origin isolated (threads need SharedArrayBuffer), else 1. Measured here (2 cores):
 * Silero VAD runs in 1.4 ms on 1 thread and 4 ms on 2 — for small models, threads that compete
 * with the page for the cores cost more than they give (`npm run bench`, BENCH_THREADS=1|2).
 */
export function defaultThreadCount(): number {
  const scope = globalThis as { crossOriginIsolated?: boolean; navigator?: { hardwareConcurrency?: number } };
  if (scope.crossOriginIsolated !== true) return 1;
  return Math.max(1, Math.min(4, Math.ceil((scope.navigator?.hardwareConcurrency ?? 1) / 2)));
}

/** A `.wasm` this worker requested that did not answer 200, from the Resource Timing entries. */
function failedWasmAsset(): string | undefined {
  const entries = (globalThis.performance?.getEntriesByType?.('resource') ?? []) as (PerformanceEntry & { responseStatus?: number })[];
  const failed = entries.filter((e) => /\.wasm(\?|$)/.test(e.name) && e.responseStatus !== undefined && e.responseStatus !== 200);
  const last = failed[failed.length - 1];
  return last ? `${last.name} answered HTTP ${last.responseStatus || 'error (no response)'}` : undefined;
}

/** Encodes y = Identity(x) (float32, shape [1]) as an ONNX ModelProto, field by field. */
function onnxIdentityModel(): Uint8Array {
  const bytes: number[] = [];
  const varint = (out: number[], n: number) => {
    while (n > 0x7f) {
      out.push((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    out.push(n);
  };
  const field = (out: number[], tag: number, body: number[] | string) => {
    const data = typeof body === 'string' ? [...new TextEncoder().encode(body)] : body;
    varint(out, (tag << 3) | 2);
    varint(out, data.length);
    out.push(...data);
  };
  const number = (out: number[], tag: number, n: number) => {
    varint(out, tag << 3);
    varint(out, n);
  };
  const message = (build: (out: number[]) => void) => {
    const out: number[] = [];
    build(out);
    return out;
  };
  // ValueInfoProto { name, type { tensor_type { elem_type FLOAT, shape { dim { dim_value 1 } } } } }
  const valueInfo = (name: string) => message((v) => {
    field(v, 1, name);
    field(v, 2, message((t) => field(t, 1, message((tt) => {
      number(tt, 1, 1);
      field(tt, 2, message((shape) => field(shape, 1, message((dim) => number(dim, 1, 1)))));
    }))));
  });
  number(bytes, 1, 8); // ir_version
  field(bytes, 8, message((opset) => number(opset, 2, 13))); // opset_import { version 13 }
  field(bytes, 7, message((graph) => {
    field(graph, 1, message((node) => {
      field(node, 1, 'x');
      field(node, 2, 'y');
      field(node, 4, 'Identity');
    }));
    field(graph, 2, 'probe');
    field(graph, 11, valueInfo('x'));
    field(graph, 12, valueInfo('y'));
  }));
  return Uint8Array.from(bytes);
}
