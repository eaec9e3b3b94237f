/**
 * Vocabulary lookup: keys typed by the user looked up in the `vocab` table servable, on the
 * version or label chosen in a select built from `status()` like the VAD one.
 */
import type { Serving } from 'browserving';
import { byId } from './dom.js';
import { TargetSelect } from './target-select.js';

export class LookupPanel {
  readonly target = new TargetSelect(byId<HTMLSelectElement>('lookup-target'));

  constructor(serving: Serving, onError: (message: string) => void) {
    byId('lookup-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const keys = byId<HTMLInputElement>('keys').value.split(/\s+/).filter(Boolean);
      serving.lookup({ model: 'vocab', ...this.target.target, keys }).then(
        ({ values, version }) => (byId('lookup-out').textContent = `v${version}: ${keys.map((k, i) => `${k}→${JSON.stringify(values[i])}`).join('  ')}`),
        (error) => onError(`lookup: ${error?.code ?? ''} ${error?.message ?? error}`),
      );
    });
  }
}
