/**
 * The few DOM and formatting helpers the dashboard's panels share: element and SVG creation
 * (text is always set as text, never parsed as HTML), and how bytes, durations and times read.
 */

type Attributes = Record<string, string | number | boolean | undefined>;
/** What may be given as children: absent ones (`null`, `undefined`, `false`, `''`) are left out, so conditions can be inline. */
export type Child = Node | string | number | null | undefined | false;

/** An HTML element with attributes (`class`, `data-*`, …; `false`/`undefined` are left out) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Attributes = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  setAttributes(element, attributes);
  element.append(...nodes(children));
  return element;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** An SVG element, like `h`. */
export function s<K extends keyof SVGElementTagNameMap>(tag: K, attributes: Attributes = {}, ...children: Child[]): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG_NS, tag);
  setAttributes(element, attributes);
  element.append(...nodes(children));
  return element;
}

/** The element with `id`; throws naming it when the page lacks it (a broken index.html, not a runtime condition). */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`the page has no #${id}`);
  return element as T;
}

/** Replaces `element`'s children, leaving absent ones out as `h` does. */
export function replace(element: Element, ...children: Child[]): void {
  element.replaceChildren(...nodes(children));
}

function setAttributes(element: Element, attributes: Attributes): void {
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? '' : String(value));
  }
}

function nodes(children: Child[]): (Node | string)[] {
  return children.filter((c): c is Node | string | number => c !== null && c !== undefined && c !== false && c !== '').map((c) => (typeof c === 'number' ? String(c) : c));
}

/** `1.2 MB`, `512 kB`, `0 B` (decimal units, as storage quotas are reported). */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return '—';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

/** `850 ms`, `2.4 s`, `3 min 05 s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.floor((ms % 60_000) / 1000);
  return minutes < 60 ? `${minutes} min ${String(seconds).padStart(2, '0')} s` : `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}

/** `14:03:27` in the page's locale. */
export function formatClock(at: number): string {
  return new Date(at).toLocaleTimeString(undefined, { hour12: false });
}

/** `0.42 ms`, `12.3 ms`. */
export function formatMs(ms: number): string {
  return `${ms < 10 ? ms.toFixed(2) : ms.toFixed(1)} ms`;
}

/** A runner worker's name without the common prefix and most of its UUID: `runner 39192020`. */
export function formatRunner(name: string): string {
  const id = /([0-9a-f]{8})-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.exec(name);
  return id ? `runner ${id[1]}` : name.replace(/^browserving-/, '');
}
