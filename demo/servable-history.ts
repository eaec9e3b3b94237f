/**
 * What the dashboard knows of each version, built from the events it has seen since start-up
 * (`createServing({ onEvent })` sees them from the first): every state the version reached and
 * when, where its download stands, and when its runner worker died or was replaced. `status()` answers are folded in too, so a state reached
 * while no event could arrive (a control worker restart) still shows, stamped with `updatedAt`.
 */
import type { DownloadProgress, ManagerState, ModelStatus, ModelVersionStatus, ServingEvent, ServingErrorJSON } from 'browserving';

export interface Transition {
  readonly state: ManagerState;
  readonly at: number;
  readonly error?: ServingErrorJSON;
}

export interface VersionDownload {
  readonly progress: DownloadProgress;
  readonly startedAt: number;
  /** When it reached `cached` or `failed`. */
  readonly endedAt?: number;
}

/** A runner event of the version: its worker `exited`, is `restarting`, `restarted`, or restarts `failed`. */
export interface RunnerMark {
  readonly state: Extract<ServingEvent, { type: 'runner' }>['runner']['state'];
  readonly at: number;
  readonly reason?: string;
}

export interface VersionRecord {
  readonly model: string;
  readonly version: number;
  readonly transitions: Transition[];
  readonly runnerMarks: RunnerMark[];
  download?: VersionDownload;
  status?: ModelVersionStatus;
}

export class ServableHistory {
  readonly #versions = new Map<string, VersionRecord>();
  readonly #models = new Map<string, ModelStatus>();

  /** Folds one event in; true when it changed what a version shows. */
  apply(event: ServingEvent, now = Date.now()): boolean {
    if (event.type === 'servable-state') {
      const { id, state, error, timestamp } = event.state;
      const record = this.#record(id.name, id.version);
      if (record.transitions.at(-1)?.state === state) return false;
      record.transitions.push({ state, at: timestamp, ...(error ? { error } : {}) });
      return true;
    }
    if (event.type === 'download' && event.progress.file === undefined) {
      const { model, version, state } = event.progress;
      const record = this.#record(model, version);
      const finished = state === 'cached' || state === 'failed';
      // A new download of the same version (after a delete, say) starts a new bar.
      const restarted = record.download?.endedAt !== undefined && !finished;
      const startedAt = restarted || !record.download ? now : record.download.startedAt;
      record.download = { progress: event.progress, startedAt, ...(finished ? { endedAt: now } : {}) };
      return true;
    }
    if (event.type === 'runner') {
      const { model, version, state, reason } = event.runner;
      this.#record(model, version).runnerMarks.push({ state, at: now, ...(reason ? { reason } : {}) });
      return true;
    }
    return false;
  }

  /** Folds a `status()` answer in: versions and states the events did not bring. */
  reconcile(status: ModelStatus): void {
    this.#models.set(status.model, status);
    for (const v of status.versions) {
      const record = this.#record(status.model, v.version);
      record.status = v;
      const last = record.transitions.at(-1);
      // Events and answers come over different channels: an answer older than the last event is not news.
      if (last?.state !== v.state && (!last || v.updatedAt > last.at)) record.transitions.push({ state: v.state, at: v.updatedAt, ...(v.error ? { error: v.error } : {}) });
    }
  }

  /** The last `status()` answer for `model`. */
  model(model: string): ModelStatus | undefined {
    return this.#models.get(model);
  }

  /** Every version of `model` seen so far, highest first. */
  versions(model: string): VersionRecord[] {
    return [...this.#versions.values()].filter((r) => r.model === model).sort((a, b) => b.version - a.version);
  }

  #record(model: string, version: number): VersionRecord {
    const key = `${model}@${version}`;
    let record = this.#versions.get(key);
    if (!record) {
      record = { model, version, transitions: [], runnerMarks: [] };
      this.#versions.set(key, record);
    }
    return record;
  }
}
