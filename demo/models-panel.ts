/**
 * The models panel: per model, its repository (versions found and aspired, last poll, errors),
 * and per version its state, labels, download progress bar (from the first byte, fed by the
 * version-level `download` events) and a timeline of the states it went through since the page
 * opened. Rows are kept and updated in place, so a bar's width moves instead of being redrawn.
 */
import type { ModelConfig } from 'browserving';
import { formatBytes, formatClock, formatDuration, formatRunner, h, replace, s } from './dom.js';
import type { RunnerMark, ServableHistory, Transition, VersionDownload, VersionRecord } from './servable-history.js';

interface Row {
  readonly element: HTMLTableRowElement;
  readonly state: HTMLElement;
  readonly labels: HTMLElement;
  readonly track: HTMLElement;
  readonly fill: HTMLElement;
  readonly progressText: HTMLElement;
  readonly timeline: SVGSVGElement;
  readonly timelineText: HTMLElement;
  readonly servedBy: HTMLElement;
}

interface ModelView {
  readonly repository: HTMLElement;
  readonly body: HTMLTableSectionElement;
  readonly rows: Map<number, Row>;
}

const TIMELINE_WIDTH = 1000;

export class ModelsPanel {
  readonly #views = new Map<string, ModelView>();
  readonly #history: ServableHistory;
  readonly #since: number;

  constructor(container: HTMLElement, models: readonly ModelConfig[], history: ServableHistory, since: number) {
    this.#history = history;
    this.#since = since;
    for (const model of models) {
      const repository = h('div', { class: 'repository' }, 'waiting for the first poll…');
      const body = h('tbody');
      const table = h('table', { class: 'versions' },
        h('thead', {}, h('tr', {}, ...['version', 'state', 'labels', 'download', `state timeline (since ${formatClock(since)})`, 'served by'].map((t) => h('th', {}, t)))),
        body);
      container.append(h('div', { class: 'model', 'data-model': model.name },
        h('div', { class: 'model-head' }, h('h3', {}, model.name), h('code', { class: 'base-path' }, model.basePath)),
        repository, table));
      this.#views.set(model.name, { repository, body, rows: new Map() });
    }
  }

  /** Brings every model's rows up to date with the history, as of `now`. */
  render(now = Date.now()): void {
    for (const [model, view] of this.#views) {
      this.#renderRepository(model, view, now);
      for (const record of this.#history.versions(model)) this.#renderRow(view, record, now);
      this.#orderRows(view);
    }
  }

  #renderRepository(model: string, view: ModelView, now: number): void {
    const repo = this.#history.model(model)?.repository;
    if (!repo) return;
    const labels = Object.entries(this.#history.model(model)?.labels ?? {});
    replace(view.repository,
      h('span', {}, `found: ${repo.versionsFound.join(', ') || 'none'}`),
      h('span', {}, `aspired: ${repo.versionsAspired.join(', ') || 'none'}`),
      h('span', {}, repo.lastPolledAt ? `polled ${formatDuration(Math.max(0, now - repo.lastPolledAt))} ago` : 'not polled yet'),
      labels.length > 0 && h('span', {}, `labels: ${labels.map(([l, v]) => `${l} → v${v}`).join(', ')}`),
      repo.fromCache && h('span', { class: 'warn' }, 'offline: serving the cached manifest'),
      repo.error && h('span', { class: 'error' }, `${repo.error.code}: ${repo.error.message}`),
    );
  }

  #renderRow(view: ModelView, record: VersionRecord, now: number): void {
    let row = view.rows.get(record.version);
    if (!row) {
      row = createRow(record);
      view.rows.set(record.version, row);
      view.body.append(row.element);
    }
    const last = record.transitions.at(-1);
    const state = last?.state ?? 'START';
    row.element.dataset.state = state;
    row.state.className = `state state-${state}${last?.error ? ' state-failed' : ''}`;
    replace(row.state, state, last?.error ? h('div', { class: 'error' }, `${last.error.code}: ${last.error.message}`) : null);
    row.labels.replaceChildren(...(record.status?.labels ?? []).map((l) => h('span', { class: 'chip' }, l)));
    renderDownload(row, record.download, now);
    renderTimeline(row, record.transitions, record.runnerMarks, this.#since, now);
    const d = record.status?.description;
    row.servedBy.textContent = d ? [d.provider ?? d.platform, d.runner ? formatRunner(String(d.runner)) : ''].filter(Boolean).join(' · ') : '';
  }

  #orderRows(view: ModelView): void {
    const ordered = [...view.rows.entries()].sort(([a], [b]) => b - a).map(([, r]) => r.element);
    if (ordered.some((el, i) => view.body.children[i] !== el)) view.body.append(...ordered);
  }
}

function createRow(record: VersionRecord): Row {
  const state = h('td');
  const labels = h('td');
  const fill = h('div', { class: 'progress-fill' });
  const track = h('div', { class: 'progress', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100, 'data-model': record.model, 'data-version': record.version }, fill);
  const progressText = h('div', { class: 'progress-text' }, 'no download yet');
  const timeline = s('svg', { class: 'timeline', viewBox: `0 0 ${TIMELINE_WIDTH} 12`, preserveAspectRatio: 'none', role: 'img' });
  const timelineText = h('div', { class: 'timeline-text' });
  const servedBy = h('td', { class: 'mono' });
  const element = h('tr', { 'data-model': record.model, 'data-version': record.version },
    h('td', { class: 'version' }, `v${record.version}`), state, labels,
    h('td', { class: 'download' }, track, progressText),
    h('td', { class: 'timeline-cell' }, timeline, timelineText), servedBy);
  return { element, state, labels, track, fill, progressText, timeline, timelineText, servedBy };
}

function renderDownload(row: Row, download: VersionDownload | undefined, now: number): void {
  if (!download) return;
  const { bytesDone, bytesTotal, state, error } = download.progress;
  const percent = bytesTotal > 0 ? Math.min(100, (100 * bytesDone) / bytesTotal) : state === 'cached' ? 100 : 0;
  row.fill.style.width = `${percent}%`;
  row.track.dataset.state = state;
  row.track.setAttribute('aria-valuenow', String(Math.round(percent)));
  const elapsed = (download.endedAt ?? now) - download.startedAt;
  const rate = state === 'downloading' && elapsed > 250 ? ` · ${formatBytes((bytesDone / elapsed) * 1000)}/s` : '';
  const took = download.endedAt !== undefined ? ` in ${formatDuration(elapsed)}` : '';
  row.progressText.textContent = error ? `failed: ${error.code}` : `${formatBytes(bytesDone)} / ${formatBytes(bytesTotal)} · ${state}${rate}${took}`;
}

/** One bar from `since` to `now`, a coloured segment per state (hover for when it began), a tick where its runner died. */
function renderTimeline(row: Row, transitions: readonly Transition[], marks: readonly RunnerMark[], since: number, now: number): void {
  const span = Math.max(1, now - since);
  const x = (at: number) => (Math.max(0, at - since) / span) * TIMELINE_WIDTH;
  const segments = transitions.map((t, i) => {
    const end = t.state === 'END' ? t.at + span / 200 : transitions[i + 1]?.at ?? now;
    const width = Math.max(2, x(end) - x(t.at));
    return s('rect', { class: `seg seg-${t.state}${t.error ? ' seg-failed' : ''}`, x: x(t.at), y: 0, width, height: 12 },
      s('title', {}, `${t.state} at ${formatClock(t.at)}${t.error ? ` (${t.error.code})` : ''}`));
  });
  const deaths = marks.filter((m) => m.state === 'exited' || m.state === 'failed').map((m) =>
    s('rect', { class: `runner-mark runner-${m.state}`, x: x(m.at) - 3, y: 0, width: 6, height: 12 }, s('title', {}, `runner ${m.state} at ${formatClock(m.at)}${m.reason ? `: ${m.reason}` : ''}`)));
  row.timeline.replaceChildren(s('rect', { class: 'seg-track', x: 0, y: 0, width: TIMELINE_WIDTH, height: 12 }), ...segments, ...deaths);
  const restarts = marks.filter((m) => m.state === 'restarted').length;
  row.timelineText.textContent = transitions.map((t, i) => {
    const next = transitions[i + 1]?.at;
    const lasted = t.state === 'END' ? '' : ` ${formatDuration((next ?? now) - t.at)}`;
    return `${t.state}${lasted}`;
  }).join(' → ') + (restarts ? ` · runner replaced ${restarts}×` : '');
}
