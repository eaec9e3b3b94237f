/**
 * Runtime: the facts `metrics().runtime` reports (ORT version, isolation, cores, WASM threads,
 * WebGPU adapter), the execution provider each version runs on with the reason earlier
 * providers were skipped, and the runner workers alive now (`debug.runners()`), each with a
 * button that terminates it as a crash would, to watch supervision restart it.
 */
import type { ModelConfig, RuntimeInfo, Serving } from 'browserving';
import { byId, formatRunner, h } from './dom.js';
import type { ServableHistory } from './servable-history.js';

export class RuntimePanel {
  readonly #serving: Serving;
  readonly #models: readonly ModelConfig[];
  readonly #history: ServableHistory;
  readonly #onError: (message: string) => void;

  constructor(serving: Serving, models: readonly ModelConfig[], history: ServableHistory, onError: (message: string) => void) {
    this.#serving = serving;
    this.#models = models;
    this.#history = history;
    this.#onError = onError;
  }

  render(runtime: RuntimeInfo): void {
    const runners = this.#serving.debug.runners();
    byId('runtime-facts').replaceChildren(...[
      ['onnxruntime-web', runtime.ortVersion ?? 'not loaded yet'],
      ['cross-origin isolated', runtime.crossOriginIsolated ? 'yes (threaded WASM possible)' : 'no (WASM runs single-threaded)'],
      ['cores', String(runtime.hardwareConcurrency)],
      ['WASM threads', runtime.wasmThreads === undefined ? '—' : String(runtime.wasmThreads)],
      ['WebGPU adapter', runtime.webgpuAdapter ?? 'none'],
      ['workers', `1 control (manager, sources, store) + ${runners.length} runner${runners.length === 1 ? '' : 's'} (one per loaded ONNX version)`],
    ].flatMap(([k, v]) => [h('dt', {}, k!), h('dd', { 'data-fact': k }, v!)]));
    this.#renderVersions();
    byId('runners-table').querySelector('tbody')!.replaceChildren(...(runners.length ? runners.map((r) => this.#runnerRow(r)) : [h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'no runner yet'))]));
  }

  #renderVersions(): void {
    const rows = this.#models.flatMap((m) => this.#history.versions(m.name)).filter((r) => r.status?.description).map((r) => {
      const d = r.status!.description!;
      return h('tr', { 'data-model': r.model, 'data-version': r.version },
        h('td', {}, `${r.model} v${r.version}`),
        h('td', {}, h('span', { class: `chip provider-${d.provider ?? d.platform}` }, String(d.provider ?? d.platform ?? '?'))),
        h('td', { class: 'fallback' }, d.providerFallback ? String(d.providerFallback) : d.platform === 'table' ? `a table (${String(d.tableType)}, ${String(d.size)} entries): no ORT in its runner` : '—'),
        h('td', { class: 'mono' }, d.runner ? formatRunner(String(d.runner)) : '—'),
        h('td', {}, d.restarts ? `${d.restarts} restart(s)${d.lastExit ? `: ${d.lastExit}` : ''}` : d.runnerState ? String(d.runnerState) : '—'));
    });
    byId('providers-table').querySelector('tbody')!.replaceChildren(...(rows.length ? rows : [h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'nothing loaded yet'))]));
  }

  #runnerRow(r: ReturnType<Serving['debug']['runners']>[number]): HTMLTableRowElement {
    const kill = h('button', { class: 'small', title: 'terminate this worker as a crash would; its versions are reloaded in a new runner' }, 'Terminate');
    kill.addEventListener('click', () => {
      kill.disabled = true;
      this.#serving.debug.fault(r.runner, 'terminate').catch((e) => this.#onError(String(e?.message ?? e)));
    });
    return h('tr', {}, h('td', { class: 'mono' }, formatRunner(r.runner)), h('td', {}, r.group ?? '—'), h('td', { class: 'mono' }, r.servables.join(', ')), h('td', { class: 'num' }, r.pending), h('td', {}, kill));
  }
}
