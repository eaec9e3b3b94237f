/**
 * The event log, from start-up (it is fed by `createServing({ onEvent })`, which sees the first
 * event): every state a version reaches, when a version's download is queued, starts and ends
 * (not every progress tick), repository polls that changed something, runner and control-worker restarts, and the
 * dashboard's own errors. Newest at the bottom; the oldest go past 1000 entries.
 */
import type { RepositoryStatus, ServingEvent } from 'browserving';
import { byId, formatBytes, formatClock, h } from './dom.js';

const MAX_ENTRIES = 1000;

type Kind = 'state' | 'download' | 'repository' | 'runner' | 'control' | 'page';

interface Entry {
  readonly kind: Kind;
  readonly text: string;
  readonly level?: 'error' | 'warn';
  readonly data?: Record<string, string | number>;
}

export class EventLog {
  readonly #list = byId('event-log');
  readonly #since: number;
  /** The last download state and repository summary logged, so repeats are not. */
  readonly #seen = new Map<string, string>();

  constructor(since: number) {
    this.#since = since;
    for (const box of document.querySelectorAll<HTMLInputElement>('#event-filters input[type=checkbox]')) {
      box.addEventListener('change', () => this.#list.classList.toggle(`hide-${box.value}`, !box.checked));
    }
  }

  add(event: ServingEvent, at = Date.now()): void {
    const entry = this.#describe(event);
    if (entry) this.#append(entry, at);
  }

  /** Something the page itself wants to say (a failed action, start-up). */
  note(text: string, level?: 'error' | 'warn'): void {
    this.#append({ kind: 'page', text, ...(level ? { level } : {}) }, Date.now());
  }

  #describe(event: ServingEvent): Entry | undefined {
    switch (event.type) {
      case 'servable-state': {
        const { id, state, error } = event.state;
        return { kind: 'state', level: error ? 'error' : undefined, text: `${id.name} v${id.version} ${state}${error ? ` — ${error.code}: ${error.message}` : ''}`, data: { model: id.name, version: id.version, state } };
      }
      case 'download': {
        const p = event.progress;
        // One line when a version's download is queued, starts, and ends; files and ticks are the bars' business.
        const key = `${p.model}@${p.version}`;
        const previous = this.#seen.get(key);
        const started = p.state === 'downloading' && previous === 'queued';
        if (p.file !== undefined || !(p.state === 'queued' || started || p.state === 'cached' || p.state === 'failed')) return undefined;
        this.#seen.set(key, p.state);
        const what = started ? 'started' : p.state === 'failed' ? `failed at ${formatBytes(p.bytesDone)} of ${formatBytes(p.bytesTotal)}` : `${p.state} (${formatBytes(p.bytesTotal)})`;
        return { kind: 'download', level: p.error ? 'error' : undefined, text: `${p.model} v${p.version} download ${what}${p.error ? ` — ${p.error.code}: ${p.error.message}` : ''}`, data: { model: p.model, version: p.version, state: p.state } };
      }
      case 'repository': {
        const summary = repositorySummary(event.status);
        if (this.#seen.get(`repo:${event.model}`) === summary) return undefined;
        this.#seen.set(`repo:${event.model}`, summary);
        return { kind: 'repository', level: event.status.error ? 'warn' : undefined, text: `${event.model}: ${summary}`, data: { model: event.model } };
      }
      case 'runner': {
        const r = event.runner;
        return { kind: 'runner', level: r.state === 'failed' ? 'error' : 'warn', text: `${r.model} v${r.version} runner ${r.state}${r.reason ? `: ${r.reason}` : ''} (restarts: ${r.restarts})${r.error ? ` — ${r.error.code}: ${r.error.message}` : ''}`, data: { model: r.model, version: r.version, state: r.state } };
      }
      case 'control':
        return { kind: 'control', level: event.state === 'exited' ? 'error' : 'warn', text: `control worker ${event.state}: ${event.reason}`, data: { state: event.state } };
      default:
        return undefined;
    }
  }

  #append(entry: Entry, at: number): void {
    const stick = this.#list.scrollTop + this.#list.clientHeight >= this.#list.scrollHeight - 8;
    const data = Object.fromEntries(Object.entries(entry.data ?? {}).map(([k, v]) => [`data-${k}`, v]));
    this.#list.append(h('li', { class: `entry kind-${entry.kind}${entry.level ? ` level-${entry.level}` : ''}`, 'data-kind': entry.kind, ...data },
      h('time', { title: formatClock(at) }, `+${((at - this.#since) / 1000).toFixed(3)} s`),
      h('span', { class: 'kind' }, entry.kind),
      h('span', { class: 'text' }, entry.text)));
    while (this.#list.childElementCount > MAX_ENTRIES) this.#list.firstElementChild!.remove();
    if (stick) this.#list.scrollTop = this.#list.scrollHeight;
  }
}

function repositorySummary(status: RepositoryStatus): string {
  if (status.error) return `poll failed — ${status.error.code}: ${status.error.message}${status.fromCache ? ' (serving the cached manifest)' : ''}`;
  return `versions found ${status.versionsFound.join(', ') || 'none'}, aspired ${status.versionsAspired.join(', ') || 'none'}${status.fromCache ? ' (from the cached manifest)' : ''}`;
}
