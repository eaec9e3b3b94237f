/**
 * Storage: what the offline-first artifact store holds (`storage.usage()` and `storage.list()`):
 * the origin's usage against its quota, whether the storage is persistent (and a button to ask
 * for it), the store's budget, and each stored version's bytes with a button that deletes it.
 * A deleted version that is serving keeps serving; it downloads again on its next load.
 */
import type { Serving, StorageUsage, StoredVersion } from 'browserving';
import { byId, formatBytes, formatClock, h, replace } from './dom.js';

export class StoragePanel {
  readonly #serving: Serving;
  readonly #onError: (message: string) => void;
  #refreshing: Promise<void> | undefined;

  constructor(serving: Serving, onError: (message: string) => void) {
    this.#serving = serving;
    this.#onError = onError;
    byId('persist').addEventListener('click', () => void this.#askPersistence());
  }

  /** Reads usage and the stored versions and redraws; calls made while one runs share it. */
  refresh(): Promise<void> {
    this.#refreshing ??= Promise.all([this.#serving.storage.usage(), this.#serving.storage.list()])
      .then(([usage, stored]) => this.#render(usage, stored))
      .finally(() => (this.#refreshing = undefined));
    return this.#refreshing;
  }

  #render(usage: StorageUsage, stored: readonly StoredVersion[]): void {
    const quota = usage.originQuota;
    const used = usage.originUsage ?? usage.bytes;
    const percent = quota ? Math.min(100, (100 * used) / quota) : 0;
    byId('quota-fill').style.width = `${Math.max(percent, used > 0 ? 0.5 : 0)}%`;
    replace(byId('storage-summary'),
      h('span', {}, h('b', {}, formatBytes(usage.bytes)), ` in the store (${usage.mode === 'opfs' ? 'OPFS files, IndexedDB records' : usage.mode === 'indexeddb' ? 'IndexedDB' : 'memory only'})`),
      h('span', {}, `origin: ${formatBytes(used)} of ${quota ? formatBytes(quota) : 'unknown quota'}${quota ? ` (${percent.toFixed(percent < 1 ? 3 : 1)} %)` : ''}`),
      h('span', { 'data-persisted': String(usage.persisted) }, `persistent: ${usage.persisted ? 'yes' : 'no (the browser may clear it under pressure)'}`),
      h('span', {}, `budget: ${usage.budgetBytes === null ? 'none (the origin quota)' : formatBytes(usage.budgetBytes)}`),
      usage.warning && h('span', { class: 'warn' }, usage.warning),
    );
    byId<HTMLButtonElement>('persist').hidden = usage.persisted;
    const rows = [...stored].sort((a, b) => a.model.localeCompare(b.model) || b.version - a.version).map((v) => this.#row(v));
    byId('storage-table').querySelector('tbody')!.replaceChildren(...(rows.length ? rows : [h('tr', {}, h('td', { colspan: 6, class: 'muted' }, 'nothing stored'))]));
  }

  #row(v: StoredVersion): HTMLTableRowElement {
    const total = v.files.reduce((sum, f) => sum + f.size, 0);
    const remove = h('button', { class: 'small', title: `delete ${v.model} v${v.version} from the store` }, 'Delete');
    remove.addEventListener('click', () => {
      remove.disabled = true;
      this.#serving.storage.delete(v.model, v.version).catch((e) => this.#onError(String(e?.message ?? e))).finally(() => void this.refresh());
    });
    return h('tr', { 'data-model': v.model, 'data-version': v.version },
      h('td', {}, v.model), h('td', {}, `v${v.version}`),
      h('td', { class: 'num' }, v.complete ? formatBytes(v.bytes) : `${formatBytes(v.bytes)} of ${formatBytes(total)}`),
      h('td', { title: v.files.map((f) => `${f.path}: ${formatBytes(f.storedBytes)} of ${formatBytes(f.size)}`).join('\n') }, v.complete ? 'whole' : h('span', { class: 'warn' }, 'partial'), ` · ${v.files.length} file${v.files.length === 1 ? '' : 's'}`),
      h('td', {}, formatClock(v.lastUsedAt)),
      h('td', {}, remove));
  }

  async #askPersistence(): Promise<void> {
    const granted = await navigator.storage?.persist?.().catch(() => false);
    if (!granted) this.#onError('the browser did not make this origin\'s storage persistent (Chromium grants it to sites with engagement, bookmarks or installed apps)');
    await this.refresh();
  }
}
