/**
 * A line chart in plain SVG: series as polylines (or filled areas), shaded x-bands, horizontal
 * reference lines, and axes with round ticks. Drawn at the element's pixel size (so text is not
 * stretched) and redrawn when that size changes. No charting dependency: a page this small
 * needs scales, ticks and `<polyline points>`, nothing more.
 */
import { s } from './dom.js';

export interface Point {
  readonly x: number;
  readonly y: number;
}

export interface Series {
  /** Also the CSS class of its path, and the legend's text. */
  readonly name: string;
  readonly className: string;
  readonly points: readonly Point[];
  /** Filled down to y = 0 instead of a line. */
  readonly area?: boolean;
  /** Draw a dot on each point (sparse series). */
  readonly dots?: boolean;
}

export interface ChartData {
  readonly series: readonly Series[];
  readonly x: readonly [number, number];
  /** Lower and upper bound of y; the upper one grows to fit the data when `fitY`. */
  readonly y: readonly [number, number];
  readonly fitY?: boolean;
  readonly formatX: (x: number) => string;
  readonly formatY: (y: number) => string;
  readonly bands?: readonly { readonly from: number; readonly to: number; readonly className: string; readonly label?: string }[];
  readonly rules?: readonly { readonly y: number; readonly className: string; readonly label: string }[];
  /** Vertical marker, e.g. an audio playhead. */
  readonly cursor?: number;
  /** Shown in the middle when there is nothing to plot. */
  readonly empty?: string;
}

const MARGIN = { top: 10, right: 12, bottom: 22, left: 52 };

export class LineChart {
  readonly #svg: SVGSVGElement;
  #data: ChartData | undefined;

  constructor(svg: SVGSVGElement) {
    this.#svg = svg;
    new ResizeObserver(() => this.#draw()).observe(svg);
  }

  render(data: ChartData): void {
    this.#data = data;
    this.#draw();
  }

  #draw(): void {
    const data = this.#data;
    if (!data) return;
    const width = Math.max(200, this.#svg.clientWidth || 600);
    const height = Math.max(80, this.#svg.clientHeight || 180);
    this.#svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
    const [x0, x1] = data.x;
    const maxY = data.fitY ? Math.max(data.y[1], ...data.series.flatMap((se) => se.points.map((p) => p.y))) : data.y[1];
    const yTicks = niceTicks(data.y[0], maxY, 4);
    const y0 = data.y[0];
    const y1 = yTicks.at(-1) ?? maxY;
    const plotW = width - MARGIN.left - MARGIN.right;
    const plotH = height - MARGIN.top - MARGIN.bottom;
    const sx = (x: number) => MARGIN.left + ((x - x0) / (x1 - x0 || 1)) * plotW;
    const sy = (y: number) => MARGIN.top + plotH - ((y - y0) / (y1 - y0 || 1)) * plotH;
    const clampX = (x: number) => Math.min(Math.max(x, x0), x1);

    const parts: SVGElement[] = [];
    for (const band of data.bands ?? []) {
      const from = sx(clampX(band.from));
      parts.push(s('rect', { class: band.className, x: from, y: MARGIN.top, width: Math.max(0, sx(clampX(band.to)) - from), height: plotH }));
      if (band.label) parts.push(s('text', { class: 'band-label', x: from + 4, y: MARGIN.top + 11 }, band.label));
    }
    for (const tick of yTicks) {
      parts.push(s('line', { class: 'grid', x1: MARGIN.left, x2: width - MARGIN.right, y1: sy(tick), y2: sy(tick) }));
      parts.push(s('text', { class: 'tick', x: MARGIN.left - 6, y: sy(tick) + 4, 'text-anchor': 'end' }, data.formatY(tick)));
    }
    for (const tick of niceTicks(x0, x1, Math.max(2, Math.floor(plotW / 90)))) {
      if (tick < x0 || tick > x1) continue;
      parts.push(s('text', { class: 'tick', x: sx(tick), y: height - 6, 'text-anchor': 'middle' }, data.formatX(tick)));
    }
    parts.push(s('line', { class: 'axis', x1: MARGIN.left, x2: width - MARGIN.right, y1: sy(y0), y2: sy(y0) }));
    for (const rule of data.rules ?? []) {
      parts.push(s('line', { class: rule.className, x1: MARGIN.left, x2: width - MARGIN.right, y1: sy(rule.y), y2: sy(rule.y) }));
      parts.push(s('text', { class: 'rule-label', x: width - MARGIN.right - 4, y: sy(rule.y) - 4, 'text-anchor': 'end' }, rule.label));
    }
    for (const series of data.series) {
      const points = series.points.filter((p) => p.x >= x0 && p.x <= x1 && Number.isFinite(p.y));
      if (points.length === 0) continue;
      const coords = points.map((p) => `${sx(p.x).toFixed(1)},${sy(Math.min(p.y, y1)).toFixed(1)}`);
      if (series.area) {
        const base = sy(y0).toFixed(1);
        parts.push(s('polygon', { class: `series ${series.className}`, points: `${sx(points[0]!.x).toFixed(1)},${base} ${coords.join(' ')} ${sx(points.at(-1)!.x).toFixed(1)},${base}` }));
      } else {
        parts.push(s('polyline', { class: `series ${series.className}`, 'data-series': series.name, points: coords.join(' ') }));
      }
      if (series.dots) for (const c of coords) {
        const [cx, cy] = c.split(',');
        parts.push(s('circle', { class: `dot ${series.className}`, cx, cy, r: 2.5 }));
      }
    }
    if (data.cursor !== undefined && data.cursor >= x0 && data.cursor <= x1) {
      parts.push(s('line', { class: 'cursor', x1: sx(data.cursor), x2: sx(data.cursor), y1: MARGIN.top, y2: MARGIN.top + plotH }));
    }
    if (data.empty && data.series.every((se) => se.points.length === 0)) {
      parts.push(s('text', { class: 'empty', x: MARGIN.left + plotW / 2, y: MARGIN.top + plotH * 0.3, 'text-anchor': 'middle' }, data.empty));
    }
    this.#svg.replaceChildren(...parts);
  }
}

/** Round tick values (1, 2 or 5 × 10^n apart) covering [from, to], about `count` of them. */
export function niceTicks(from: number, to: number, count: number): number[] {
  const span = to - from;
  if (!(span > 0)) return [from, from + 1];
  const raw = span / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((st) => st >= raw) ?? 10 * magnitude;
  const ticks: number[] = [];
  for (let t = Math.ceil(from / step) * step; t <= Math.ceil(to / step) * step + step / 2; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}
