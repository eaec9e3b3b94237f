/** Renders bench/results/latest.json as one SVG: throughput and p50 per scenario and system, then the targets and the life-cycle figures. */
import { latencyTables } from './report.mjs';

const COLORS = { sw: '#bf8700', handle: '#8250df', predict: '#0969da', raw: '#6e7781', ceiling: '#6e7781', 'raw-each': '#6e7781', 'raw-one': '#afb8c1', proxy: '#bf8700', browserving: '#0969da', runners: '#0969da', batched: '#1a7f37', shared: '#8250df' };
const mib = (bytes) => (bytes / 1024 / 1024).toFixed(1);
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');

export function renderChart(results) {
  const width = 1000;
  const rowH = 22;
  const left = 330;
  const barMax = 360;
  const parts = [];
  let y = 30;
  parts.push(`<text x="20" y="${y}" font-size="16" font-weight="bold">browserving vs onnxruntime-web — ${esc(results.environment.browser)}, ${results.environment.hardwareConcurrency} cores, ${results.environment.wasmThreads} WASM threads</text>`);
  y += 14;
  for (const [name, scenario] of latencyTables(results)) {
    y += 26;
    parts.push(`<text x="20" y="${y}" font-size="13" font-weight="bold">${esc(name)}: ${scenario.callers} caller(s) — throughput (req/s), p50 latency</text>`);
    const systems = Object.entries(scenario.systems);
    const max = Math.max(...systems.map(([, s]) => s.throughputPerS));
    for (const [key, s] of systems) {
      y += rowH;
      const w = Math.max(1, (s.throughputPerS / max) * barMax);
      parts.push(`<text x="30" y="${y}" font-size="12">${esc(s.label)}</text>`);
      parts.push(`<rect x="${left}" y="${y - 13}" width="${w.toFixed(1)}" height="16" fill="${COLORS[key] ?? '#8250df'}"/>`);
      parts.push(`<text x="${left + w + 6}" y="${y}" font-size="12">${Math.round(s.throughputPerS)} req/s · p50 ${s.p50Ms} ms · p99 ${s.p99Ms} ms</text>`);
    }
  }
  y += 34;
  parts.push(`<text x="20" y="${y}" font-size="13" font-weight="bold">Targets (ratio; green = met)</text>`);
  for (const t of results.targets) {
    y += rowH;
    parts.push(`<text x="30" y="${y}" font-size="12" fill="${t.met ? '#1a7f37' : '#cf222e'}">${t.met ? '✔' : '✘'} ${esc(t.name)}: ${t.value} (target ${esc(t.target)})</text>`);
  }
  const s = results.startup;
  if (s?.ort) {
    y += 30;
    parts.push(`<text x="20" y="${y}" font-size="13" font-weight="bold">Time to first prediction (median ms): ORT from buffer ${s.ort.medianMs} · browserving cold ${s.cold.medianMs} · warm ${s.warm.medianMs}${s.storage ? '' : ' (no artifact store)'}</text>`);
  }
  const d = results.download;
  if (d?.raw) {
    y += 24;
    parts.push(`<text x="20" y="${y}" font-size="13" font-weight="bold">64 MiB download: raw fetch ${d.raw.mibPerS} MiB/s · into the store ${d.store.mibPerS} MiB/s (${esc(d.store.measured)})</text>`);
  }
  for (const line of lifecycleLines(results)) {
    y += 24;
    parts.push(`<text x="20" y="${y}" font-size="13" font-weight="bold">${esc(line)}</text>`);
  }
  y += 20;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" font-family="system-ui, sans-serif"><rect width="100%" height="100%" fill="white"/>${parts.join('')}</svg>\n`;
}

function lifecycleLines({ memory, swap, newRunner, restHop, offlineStart }) {
  const lines = [];
  if (memory?.beforeBytes) lines.push(`Memory, 64 MiB model (MiB): before ${mib(memory.beforeBytes)} · loaded ${mib(memory.loadedBytes)} · after unloading ${mib(memory.afterBytes)}; it holds ${mib(memory.heldBytes)} (raw ORT ${mib(memory.rawHeldBytes)})`);
  if (swap?.steady) lines.push(`Silero p99 ms: steady ${swap.steady.p99Ms} · while a second model loads and swaps versions ${swap.during.p99Ms} (raw ORT: ${swap.raw.steady.p99Ms} · ${swap.raw.during.p99Ms})`);
  if (newRunner?.browserving) lines.push(`Time to AVAILABLE in a new runner, warm store (median ms): ${Math.round(newRunner.browserving.medianMs)} · raw ORT from a buffer ${Math.round(newRunner.raw.medianMs)}`);
  for (const [name, c] of Object.entries(restHop?.cases ?? {})) lines.push(`Service Worker hop, ${name}: ${c.hopUs} µs (REST p50 through it − handle() p50) · ${c.hopOverPredict}× predict() p50${c.swEchoFloor ? ` · a SW answering itself ${Math.round(c.swEchoFloor.p50Ms * 1000)} µs` : ''}`);
  if (offlineStart?.online) lines.push(`Navigation → first prediction (median ms): cold offline ${offlineStart.offline.medianMs} · warm online ${offlineStart.online.medianMs}`);
  return lines;
}
