/**
 * A `<select>` of what a request may address — the latest version, each label, each version —
 * rebuilt from every `status()` answer, so a version published while the page is open appears
 * (disabled until it is AVAILABLE) and a label that moved says where it points now. The choice
 * the user made is kept while it still exists.
 */
import type { ModelStatus, VersionSelector } from 'browserving';
import { h } from './dom.js';

export type Target = Omit<VersionSelector, 'model'>;

export class TargetSelect {
  readonly #select: HTMLSelectElement;
  /** The user's last choice, or the page's default: chosen again whenever it exists (a label appears with the first poll). */
  #wanted: string;
  #signature = '';

  constructor(select: HTMLSelectElement, preferred = 'latest') {
    this.#select = select;
    this.#wanted = preferred;
    select.replaceChildren(h('option', { value: preferred }, preferred.replace(':', ' ')));
    select.addEventListener('change', () => (this.#wanted = select.value));
  }

  update(status: ModelStatus): void {
    const available = status.versions.filter((v) => v.state === 'AVAILABLE').map((v) => v.version);
    const options = [
      { value: 'latest', text: `latest${available.length ? ` (v${Math.max(...available)})` : ' (none available yet)'}`, disabled: available.length === 0 },
      ...Object.entries(status.labels).sort(([a], [b]) => a.localeCompare(b)).map(([label, version]) => ({ value: `label:${label}`, text: `label ${label} → v${version}`, disabled: !available.includes(version) })),
      ...status.versions.map((v) => ({ value: `version:${v.version}`, text: `version ${v.version} · ${v.state}`, disabled: v.state !== 'AVAILABLE' })),
    ];
    const signature = JSON.stringify(options);
    if (signature === this.#signature) return;
    this.#signature = signature;
    this.#select.replaceChildren(...options.map((o) => h('option', { value: o.value, disabled: o.disabled }, o.text)));
    if (options.some((o) => o.value === this.#wanted)) this.#select.value = this.#wanted;
  }

  /** The selector for the current choice. */
  get target(): Target {
    const [kind, value] = this.#select.value.split(':');
    if (kind === 'label' && value) return { label: value };
    if (kind === 'version' && value) return { version: Number(value) };
    return {};
  }

  /** `label stable`, `version 3`, `latest`: what was chosen, as a person would say it. */
  get description(): string {
    return this.#select.value.replace(':', ' ');
  }

}
