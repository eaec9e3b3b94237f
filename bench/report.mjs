/**
 * What a benchmark run reports: the targets (ratios of systems measured side by side in the run,
 * each with its bound and whether it was met — reported, never asserted) and the tables
 * bench/run.mjs writes between the bench markers of README.md.
 */
import { readFileSync, writeFileSync } from 'node:fs';

const round3 = (x) => Math.round(x * 1000) / 1000;
const mib = (bytes) => (bytes / 1024 / 1024).toFixed(1);

/** The targets of the measurements present in `r` (a run with `--only` has some of them). */
export function targetsOf(r) {
  const targets = [];
  /** `target` is `≤ x` or `≥ x`. */
  const ratio = (name, value, target) => {
    if (!Number.isFinite(value)) return;
    const [op, bound] = target.split(' ');
    targets.push({ name, value: round3(value), target, met: op === '≤' ? value <= Number(bound) : value >= Number(bound) });
  };
  const { scenarios: s, startup, download, memory, swap, newRunner, offlineStart } = r;
  for (const [scenario, model] of [['silero-1', 'Silero'], ['small-mlp-1', 'small MLP']]) {
    const systems = s[scenario]?.systems;
    if (!systems) continue;
    ratio(`${model} predict p50, browserving / raw worker`, systems.browserving.p50Ms / systems.raw.p50Ms, '≤ 1.05');
    ratio(`${model} predict p50, browserving / ORT proxy`, systems.browserving.p50Ms / systems.proxy.p50Ms, '≤ 0.95');
  }
  const small32 = s['small-mlp-32']?.systems;
  if (small32) ratio('small MLP, 32 callers: throughput batched / unbatched', small32.batched.throughputPerS / small32.browserving.throughputPerS, '≥ 4');
  const mlp32 = s['mlp-32']?.systems;
  if (mlp32) ratio('MLP, 32 callers: batched rows/s / session-only ceiling (raw worker, 32-row batches)', mlp32.batched.throughputPerS / mlp32.ceiling.throughputPerS, '≥ 0.9');
  const two = s['two-models']?.systems;
  if (two) ratio('two models, total throughput: a runner each / one shared runner', two.runners.throughputPerS / two.shared.throughputPerS, '≥ 1.5');
  if (startup?.warm) ratio('warm start / ORT create-from-buffer + first run', startup.warm.medianMs / startup.ort.medianMs, '≤ 1.2');
  if (newRunner?.browserving) ratio('time to AVAILABLE in a new runner, warm store / ORT create-from-buffer', newRunner.browserving.medianMs / newRunner.raw.medianMs, '≤ 1.2');
  if (download?.store) {
    ratio('download into store / raw fetch throughput', download.store.mibPerS / download.raw.mibPerS, '≥ 0.9');
    if (download.store.peakHeapBytes) ratio('peak heap during load / artifact size', download.store.peakHeapBytes / download.bytes, '≤ 1.5');
  }
  if (memory?.beforeBytes) {
    ratio('memory after unloading the 64 MiB model / before loading it', memory.afterOverBefore, '≤ 1.05');
    ratio('memory the loaded 64 MiB model holds / raw ORT worker holding it', memory.heldOverRaw, '≤ 1.05');
  }
  if (swap?.steady) ratio('Silero p99 while another model loads and swaps / steady', swap.p99Ratio, '≤ 1.5');
  if (offlineStart?.online) ratio('navigation → first prediction, cold offline (Service Worker caches, store) / warm online', offlineStart.ratio, '≤ 1.1');
  return targets;
}

/**
 * The closed loops of a run as `[name, { callers, systems }]`: its scenarios, then REST `:predict`
 * through the Service Worker, `serving.handle()` and `serving.predict()` per model (`rest-<model>`).
 */
export function latencyTables(results) {
  const rest = Object.entries(results.restHop?.cases ?? {}).map(([name, c]) => [`rest-${name}`, c]);
  return [...Object.entries(results.scenarios), ...rest];
}

/** Rows of the measurements that are not closed loops on one system: browserving's figure, and the baseline's where there is one. */
function measurementRows({ scenarios, memory, swap, newRunner, restHop, offlineStart, pipeline }) {
  const rows = [];
  const two = scenarios['two-models']?.systems;
  if (two) {
    const ratio = (each, one) => round3(each.throughputPerS / one.throughputPerS);
    rows.push(`| two models, total throughput: a runner each / one shared runner — vs raw ORT, a worker each / one worker | ${ratio(two.runners, two.shared)} | ${ratio(two['raw-each'], two['raw-one'])} |`);
  }
  if (memory?.beforeBytes) {
    rows.push(`| memory before / with / after the 64 MiB model (MiB) | ${mib(memory.beforeBytes)} / ${mib(memory.loadedBytes)} / ${mib(memory.afterBytes)} | |`);
    rows.push(`| memory the loaded 64 MiB model holds (MiB) — vs a raw ORT worker holding it | ${mib(memory.heldBytes)} | ${mib(memory.rawHeldBytes)} |`);
  }
  if (swap?.steady) {
    rows.push(`| Silero p99 ms, steady / while a 17 MB model loads (${swap.loadMs} ms) and swaps versions (${swap.swapMs} ms) — vs raw ORT, new workers loading it | ${swap.steady.p99Ms} / ${swap.during.p99Ms} | ${swap.raw.steady.p99Ms} / ${swap.raw.during.p99Ms} |`);
  }
  if (newRunner?.browserving) {
    rows.push(`| time to AVAILABLE in a new runner, warm store (${newRunner.storeMode}), ms — vs ORT creating the session from a buffer | ${Math.round(newRunner.browserving.medianMs)} | ${Math.round(newRunner.raw.medianMs)} |`);
  }
  for (const [name, c] of Object.entries(restHop?.cases ?? {})) {
    const floor = c.swEchoFloor ? Math.round(c.swEchoFloor.p50Ms * 1000) : '';
    rows.push(`| ${name}: Service Worker hop (REST p50 through it − handle() p50), µs, and × predict() p50 — vs a Service Worker answering the same POST itself, p50 µs | ${c.hopUs} (${c.hopOverPredict}×) | ${floor} |`);
  }
  if (offlineStart?.online) {
    const { offline, online } = offlineStart;
    rows.push(`| navigation → first prediction (${offlineStart.model}), median ms over ${offlineStart.reps}: cold offline — vs warm online, same caches | ${offline.medianMs} | ${online.medianMs} |`);
  }
  if (pipeline?.pipeline) {
    rows.push(`| ${pipeline.steps}-step pipeline (tokenizer → ONNX → table), predict p50 / p99 ms — vs the same calls chained from the page | ${pipeline.pipeline.p50Ms} / ${pipeline.pipeline.p99Ms} | ${pipeline.chained.p50Ms} / ${pipeline.chained.p99Ms} |`);
  }
  return rows;
}

/** Replaces what lies between the bench markers of `readmePath` with the tables of `results`. */
export function updateReadme(readmePath, results) {
  const text = readFileSync(readmePath, 'utf8');
  const start = '<!-- bench:start -->';
  const end = '<!-- bench:end -->';
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i < 0 || j < i) return;
  const rows = [];
  for (const [name, s] of latencyTables(results)) {
    for (const sys of Object.values(s.systems)) rows.push(`| ${name} | ${sys.label} | ${sys.p50Ms} | ${sys.p99Ms} | ${Math.round(sys.throughputPerS)} | ${sys.sessionRuns ?? ''} |`);
  }
  const measurements = measurementRows(results);
  const e = results.environment;
  const table = [
    `Measured ${e.date.slice(0, 10)} in ${e.browser}, ${e.hardwareConcurrency} cores, crossOriginIsolated=${e.crossOriginIsolated}, ${e.wasmThreads} WASM threads${e.quick ? ' (quick run)' : ''}.`,
    '',
    '| scenario | system | p50 ms | p99 ms | req/s | session runs |',
    '|---|---|---:|---:|---:|---:|',
    ...rows,
    ...(measurements.length ? ['', '| measurement | browserving | baseline |', '|---|---:|---:|', ...measurements] : []),
    '',
    '| target | measured | target | |',
    '|---|---:|---|---|',
    ...results.targets.map((t) => `| ${t.name} | ${t.value} | ${t.target} | ${t.met ? 'met' : '**missed**'} |`),
  ].join('\n');
  writeFileSync(readmePath, `${text.slice(0, i + start.length)}\n${table}\n${text.slice(j)}`);
}
