/**
 * The data-plane contract between the main thread and a runner worker — types only.
 *
 * A runner is a dedicated Worker spawned by the main thread (on the control worker's request)
 * that hosts one onnxruntime-web instance and the servables given to it (ONNX, tables, an app's
 * platforms). Messages travel on
 * the runner's own Worker channel as plain structured data, tagged by `k`; tensor buffers are
 * transferred, never copied. No Comlink: one tagged message is the whole envelope.
 *
 * Worked sequences (who sends what, in which order):
 *
 *   start-up                 main: new Worker(runner.worker.js | runner-wasm.worker.js, { name })
 *                            runner: holds the Web Lock `name` for its whole life, then → { k: 'up' }
 *                            main: requests the same lock; it is granted only when the runner is gone
 *                            (terminated, crashed, out of memory, closed): that is how death is seen,
 *                            within milliseconds and without a heartbeat a long WASM run would starve.
 *
 *   load                     main → { k: 'load', id, spec } (model bytes transferred)
 *                            runner → { k: 'ok', id, value: LoadResult } | { k: 'err', id, error }
 *
 *   predict                  main → { k: 'p', id, s, i, o? }  (several in one task: { k: 'many', m: [...] })
 *                            runner → { k: 'ok', id, value: outputs, n? } | { k: 'err', id, error }
 *                                     | { k: 'moved', id } when `s` is not (or no longer) hosted,
 *                                       or is a remote servable whose endpoint failed while the
 *                                       control worker moved its model to the local version:
 *                            the client asks the control plane for the route again and re-sends.
 *   call                     main → { k: 'c', id, s, m, a }: `lookup`, or a method of a platform's servable
 *                            runner → { k: 'ok', id, value } | { k: 'err', id, error } | { k: 'moved', id, i: a }
 *   stream                   main → { k: 'sp', id, s, i, c }: start, with room for `c` results
 *                            runner → { k: 'si', id, value } per result, never more than the room
 *                            main → { k: 'sc', id, n }: room for `n` more, as the consumer takes them
 *                            runner → { k: 'ok', id, value: null } at the end | { k: 'err', id, error }
 *                                     | { k: 'moved', id, i } (only before the first result)
 *                            main → { k: 'x', id }: the consumer stopped (or its deadline passed):
 *                            the servable's signal aborts and its iterator is returned.
 *   cancel                   main → { k: 'x', id }: a request still queued leaves with CANCELLED.
 *
 *   unload (drain)           main removes the servable's routes first, so nothing new is sent;
 *                            main → { k: 'unload', id, s }: runner waits for the servable's
 *                            in-flight requests, releases the session → { k: 'ok', id };
 *                            main terminates the runner when it hosts nothing more.
 *
 *   death mid-request        runner dies with requests in flight → the lock is granted on the
 *                            main thread → every pending request of that runner rejects with
 *                            UNAVAILABLE (data.retryable = true) → the control worker is told
 *                            (`runnerExited`) and reloads the runner's versions in a new runner
 *                            from the artifact store (no network) → new routes are pushed.
 *   runner to runner         a servable made of others (a `pipeline`, an app's platform calling
 *                            `version.servables`) sends requests straight to the runners of the
 *                            servables it names, never through the page:
 *                            runner A → main { k: 'route', id, sel, fresh }: where does `sel` run?
 *                            main → runner B { k: 'connect', peer: A, port } the first time A needs B
 *                            main → runner A { k: 'routed', id, route, port? } (or error): A keeps
 *                            the route until main says { k: 'routes' } (the table changed);
 *                            A → B on the port: the same 'p' / 'c' / 'x' messages as main sends,
 *                            B → A on the port: the same replies ('moved' → A asks again, fresh).
 *                            B left hosting nothing after an unload → B → A on the port { k: 'bye' }
 *                            after its last reply: A's requests still pending there never ran and
 *                            are re-sent where the servable is now;
 *                            B gone → main → A { k: 'peer-gone', runner: B, died }: died — A's
 *                            requests to B fail UNAVAILABLE retryable; retired — A waits for B's
 *                            `bye` (at most 1 s) and re-sends as above;
 *                            A gone → main → B { k: 'disconnect', peer: A }.
 *
 *   fatal in the runner      a WebAssembly.RuntimeError (WASM abort) or a lost WebGPU device:
 *                            runner → { k: 'exit', reason } and closes itself; then as above.
 */
import type { BatchedRun } from '../batching/batching-session.js';
import type { BatchingOptions } from '../batching/batching-options.js';
import type { ServingErrorJSON } from '../core/serving-error.js';
import type { ServableApi } from '../platforms/platform.js';
import type { ServableSelector } from '../platforms/platform.js';
import type { ExecutionProvider, Route, RuntimeInfo, Signature, TensorData } from '../protocol.js';

/** What a runner needs to host one servable. */
export interface RunnerLoadSpec {
  /** `servableIdKey(id)`, e.g. `"vad"@2`: how predictions name the servable. */
  readonly key: string;
  readonly model: string;
  readonly version: number;
  /** `onnx`, `table`, or an app's platform (then `moduleUrl` is set). */
  readonly platform: string;
  /** The module of an app's platform. */
  readonly moduleUrl?: string;
  /** The model config's `platformConfig`. */
  readonly platformConfig?: unknown;
  /** The version's files (verified), by their path in the version folder: the model, its external data, side files. A `warmup.json` only when warm-up runs are configured. */
  readonly files: readonly { readonly path: string; readonly data: Uint8Array }[];
  /** ONNX versions: which of `files` are the model's external data. */
  readonly externalData: readonly string[];
  readonly providers: readonly ExecutionProvider[];
  readonly warmupRuns: number;
  readonly batching?: BatchingOptions;
  /** The main thread recycles the runner when one run takes longer (its callers: DEADLINE_EXCEEDED). */
  readonly maxRunMs?: number;
  /** ORT settings of the runner's instance; read by its first load. */
  readonly wasm: { readonly numThreads?: number; readonly wasmPaths?: string };
}

export interface RunnerLoadResult {
  /** What the servable answers. */
  readonly apis: readonly ServableApi[];
  /** Absent for a servable without tensors (a table, a platform's servable that declares none). */
  readonly signature?: Signature;
  /** ONNX servables: the provider the session runs on. */
  readonly provider?: ExecutionProvider;
  /** The servable's own facts (a table's type and size, what a platform's `describe()` says). */
  readonly description?: Readonly<Record<string, string | number | boolean>>;
  /** Why preferred providers were skipped. */
  readonly skipped: readonly string[];
  /** The runner's onnxruntime-web facts; absent when nothing it hosts has used ORT. */
  readonly runtime?: RuntimeInfo;
  /** Why the warm-up was skipped (synthetic inputs the model rejects), and the fix. */
  readonly warmupSkipped?: string;
  /** How long the warm-up runs took, ms (0 without warm-up). */
  readonly warmupMs: number;
}

export interface PredictMessage {
  readonly k: 'p';
  readonly id: number;
  /** The servable's key. */
  readonly s: string;
  readonly i: Readonly<Record<string, TensorData>>;
  readonly o?: readonly string[];
  /** Runner to runner: how many servables the request has come through (src/core/request-depth.ts). */
  readonly h?: number;
}

export interface CallMessage {
  readonly k: 'c';
  readonly id: number;
  readonly s: string;
  /** `lookup`, or the name of one of the servable's methods. */
  readonly m: string;
  readonly a: unknown;
  /** As in PredictMessage. */
  readonly h?: number;
}

export interface StreamMessage {
  readonly k: 'sp';
  readonly id: number;
  readonly s: string;
  readonly i: Readonly<Record<string, TensorData>>;
  /** Results the client has room for. */
  readonly c: number;
}

export interface StreamCreditMessage {
  readonly k: 'sc';
  readonly id: number;
  readonly n: number;
}

/** Fault injection, for tests and chaos drills. */
export type RunnerFault = 'close' | 'abort' | 'device-destroy' | 'hang';

export interface CancelMessage {
  readonly k: 'x';
  readonly id: number;
}

/** What the main thread's outbox coalesces: predictions and cancellations, in the order issued. */
export type DataMessage = PredictMessage | CallMessage | StreamMessage | StreamCreditMessage | CancelMessage;

export type ToRunner =
  | DataMessage
  | { readonly k: 'many'; readonly m: readonly DataMessage[] }
  | { readonly k: 'load'; readonly id: number; readonly spec: RunnerLoadSpec }
  | { readonly k: 'unload'; readonly id: number; readonly s: string }
  | { readonly k: 'fault'; readonly fault: RunnerFault; readonly ms?: number }
  /** Serve data messages from runner `peer` arriving on `port` (answers go back on it). */
  | { readonly k: 'connect'; readonly peer: string; readonly port: MessagePort }
  /** Runner `peer` is gone: forget its port, stop its requests. */
  | { readonly k: 'disconnect'; readonly peer: string }
  /** The answer to this runner's `route`: the route (and, the first time, a port to its runner), or why not. */
  | { readonly k: 'routed'; readonly id: number; readonly route?: Route; readonly port?: MessagePort; readonly error?: ServingErrorJSON }
  /** The routing table changed: routes this runner keeps are stale. */
  | { readonly k: 'routes' }
  /** A runner this one sends requests to is gone: `died` (crashed: its requests may have run) or retired (it drained first: they did not). */
  | { readonly k: 'peer-gone'; readonly runner: string; readonly died: boolean };

export type RunnerReply =
  | { readonly k: 'ok'; readonly id: number; readonly value: unknown; readonly n?: BatchedRun }
  | { readonly k: 'err'; readonly id: number; readonly error: ServingErrorJSON }
  /** One result of a stream; the stream goes on. */
  | { readonly k: 'si'; readonly id: number; readonly value: Record<string, TensorData> }
  /** The inputs come back (transferred) so the client can send them where the servable is now. */
  | { readonly k: 'moved'; readonly id: number; readonly i: unknown };

/** What a runner answers another runner on their port: the replies, and `bye` after its last one. */
export type PeerReply = RunnerReply | { readonly k: 'bye' } | { readonly k: 'many'; readonly m: readonly (RunnerReply | { readonly k: 'bye' })[] };

export type FromRunner =
  | RunnerReply
  | { readonly k: 'many'; readonly m: readonly RunnerReply[] }
  | { readonly k: 'up' }
  /** Instead of `up`: the runner cannot work at all (e.g. bundled as a classic worker); `reason` says how to fix it. */
  | { readonly k: 'fatal'; readonly reason: string }
  | { readonly k: 'exit'; readonly reason: string }
  /** This runner closed its port to `runner` (it said `bye`): a later route to it needs a new one. */
  | { readonly k: 'unlinked'; readonly runner: string }
  /** Where does `sel` run? (a servable of this runner calls another one); `fresh`: not from the table (after a `moved`). */
  | { readonly k: 'route'; readonly id: number; readonly sel: ServableSelector; readonly fresh: boolean };
