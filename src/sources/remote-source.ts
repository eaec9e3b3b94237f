/**
 * RemoteSource: the versions of models placed on a remote endpoint (`placement: 'remote'`),
 * read from the endpoint itself — TF Serving's model status (AVAILABLE versions), KServe's model
 * metadata (`versions`) — and aspired as the model version policy selects them (TF Serving's
 * Source, with the endpoint as the file system).
 *
 * - Each model is asked on `configure()` and then every `remote.probeIntervalMs` (default: the
 *   server's `pollIntervalMs`; 0 asks once). An aspired version is `{ platform: 'remote' }`: its
 *   loader places the `remote` platform's servable on a runner, which talks to the endpoint.
 * - An endpoint that cannot be reached changes nothing: versions already aspired stay aspired
 *   (and serving, as far as the endpoint lets them); the failure is in `status(model).error`.
 * - A model removed from the config gets an empty aspired list (unloading its versions).
 */
import type { AspiredVersionsCallback, Source } from '../core/source.js';
import { ServingError } from '../core/serving-error.js';
import { selectAspiredVersions, type ModelVersionPolicy } from '../core/servable-version-policy.js';
import { RemoteClient } from '../platforms/remote/remote-client.js';
import type { RemoteEndpointConfig, RepositoryStatus } from '../protocol.js';
import type { VersionLocation } from './repository-source.js';

export interface RemoteModel {
  readonly name: string;
  readonly remote: RemoteEndpointConfig;
  readonly modelVersionPolicy: ModelVersionPolicy;
}

interface Entry {
  readonly config: RemoteModel;
  readonly client: RemoteClient;
  timer?: ReturnType<typeof setTimeout>;
  status: RepositoryStatus;
  polling?: Promise<void>;
}

export class RemoteSource implements Source<VersionLocation> {
  readonly #pollIntervalMs: number;
  readonly #fetch: typeof fetch | undefined;
  readonly #onStatus: (model: string, status: RepositoryStatus) => void;
  readonly #models = new Map<string, Entry>();
  #callback: AspiredVersionsCallback<VersionLocation> | undefined;
  #stopped = false;

  constructor(options: { pollIntervalMs: number; fetch?: typeof fetch; onStatus?: (model: string, status: RepositoryStatus) => void }) {
    this.#pollIntervalMs = options.pollIntervalMs;
    this.#fetch = options.fetch;
    this.#onStatus = options.onStatus ?? (() => {});
  }

  setAspiredVersionsCallback(callback: AspiredVersionsCallback<VersionLocation>): void {
    this.#callback = callback;
  }

  /** Replaces the set of remote models; resolves once each new or changed one has been asked once. */
  async configure(models: readonly RemoteModel[]): Promise<void> {
    const next = new Map(models.map((m) => [m.name, m]));
    for (const [name, entry] of this.#models) {
      if (JSON.stringify(next.get(name)) === JSON.stringify(entry.config)) continue;
      clearTimeout(entry.timer);
      this.#models.delete(name);
      if (!next.has(name)) this.#callback?.(name, []);
    }
    const polls: Promise<void>[] = [];
    for (const model of models) {
      if (this.#models.has(model.name)) continue;
      const entry: Entry = {
        config: model,
        client: new RemoteClient(model.remote, model.remote.model ?? model.name, { name: model.name, ...(this.#fetch ? { fetch: this.#fetch } : {}) }),
        status: { basePath: model.remote.url, versionsFound: [], versionsAspired: [] },
      };
      this.#models.set(model.name, entry);
      polls.push(this.#poll(entry));
    }
    await Promise.all(polls);
  }

  /** What the last poll of `model` found; undefined for a model that is not remote. */
  status(model: string): RepositoryStatus | undefined {
    return this.#models.get(model)?.status;
  }

  /** Asks every model's endpoint now. */
  async pollAll(): Promise<void> {
    await Promise.all([...this.#models.values()].map((entry) => entry.polling ?? this.#poll(entry)));
  }

  stop(): void {
    this.#stopped = true;
    for (const entry of this.#models.values()) clearTimeout(entry.timer);
  }

  #poll(entry: Entry): Promise<void> {
    clearTimeout(entry.timer);
    entry.polling = this.#read(entry).finally(() => {
      entry.polling = undefined;
      const interval = entry.config.remote.probeIntervalMs ?? this.#pollIntervalMs;
      if (!this.#stopped && interval > 0 && this.#models.get(entry.config.name) === entry) entry.timer = setTimeout(() => void this.#poll(entry), interval);
    });
    return entry.polling;
  }

  async #read(entry: Entry): Promise<void> {
    const { name, modelVersionPolicy, remote } = entry.config;
    try {
      const { versions } = await entry.client.info();
      if (this.#models.get(name) !== entry) return;
      const aspired = selectAspiredVersions(modelVersionPolicy, versions);
      entry.status = { basePath: entry.client.endpoint, versionsFound: versions, versionsAspired: aspired, lastPolledAt: Date.now() };
      this.#callback?.(
        name,
        aspired.map((version) => ({ id: { name, version }, data: { model: name, versionUrl: remote.url, entry: { version, platform: 'remote', files: [] } } })),
      );
    } catch (error) {
      const failure = ServingError.from(error, { model: name }, 'UNAVAILABLE');
      entry.status = { ...entry.status, lastPolledAt: Date.now(), error: failure.toJSON() };
    }
    this.#onStatus(name, entry.status);
  }
}
