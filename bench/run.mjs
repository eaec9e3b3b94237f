/**
 * `npm run bench`: measures browserving against raw onnxruntime-web side by side, in one run, in
 * headless Chromium (WASM provider), interleaving the systems round by round so machine noise
 * hits all alike. Systems: (a) raw ORT in a Web Worker with a minimal postMessage loop — the
 * floor; (b) ORT's own proxy worker (`env.wasm.proxy = true`) from the main thread;
 * (c) browserving `predict` — all three on ORT's WASM-only build, the one browserving's runners
 * load for the WASM provider. Then the runtime's life cycle (bench/lifecycle.mjs): memory around
 * a 64 MiB version, latency while another model loads and swaps, time to AVAILABLE in a new
 * runner; and serving over HTTP (bench/http.mjs): the Service Worker's hop, the offline start.
 * Writes bench/results/latest.json and latest.svg and refreshes the tables between the bench
 * markers in README.md. Targets are reported as ratios (bench/report.mjs), never asserted.
 *
 * Options: --quick (fewer rounds, for a smoke run); --only <name,…> (those scenarios only —
 * scenario names, `startup`, `download`, `memory`, `swap`, `new-runner`, `rest-hop`,
 * `offline-start` — printed, nothing written: for profiling).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDependencies, ensureLibraryBuild, main, root, say } from '../scripts/ensure.mjs';
import { targetsOf, updateReadme } from './report.mjs';

const quick = process.argv.includes('--quick');
const onlyAt = process.argv.indexOf('--only');
const only = onlyAt > 0 ? process.argv[onlyAt + 1]?.split(',') : undefined;
const RESULTS = join(root, 'bench', 'results');

await main(async () => {
  ensureDependencies();
  const { ensureModels, MODELS_DIR, writeManifest } = await import('../scripts/models.mjs');
  await ensureModels();
  const { ensureChromium, CHROMIUM_ARGS } = await import('../scripts/browser.mjs');
  const executablePath = ensureChromium();
  ensureLibraryBuild();
  const largeDir = join(MODELS_DIR, 'bench-large');
  if (!existsSync(join(largeDir, 'manifest.json'))) {
    say('generating the 64 MiB benchmark artifact (public/models/bench-large)');
    const { largeModel, writeModel } = await import('../scripts/onnx-models.mjs');
    await writeModel(join(largeDir, '1', 'model.onnx'), largeModel({ bytes: 64 * 1024 * 1024 }));
    writeManifest(largeDir);
  }

  const { GENERATED_MLPS } = await import('./scenarios.mjs');
  for (const [name, spec] of Object.entries(GENERATED_MLPS)) await ensureMlpRepository(join(MODELS_DIR, name), spec, writeManifest);

  const { startServer, defaultMounts } = await import('../scripts/serve.mjs');
  const server = await startServer({ mounts: { ...defaultMounts(), '/ort/': join(root, 'node_modules', 'onnxruntime-web', 'dist') } });
  const { chromium } = await import('playwright-core');
  const launch = { executablePath, args: [...CHROMIUM_ARGS, '--enable-blink-features=ForceEagerMeasureMemory'] };
  // A profile on disk, as every user has: an incognito context keeps IndexedDB and OPFS in memory, which is neither what
  // a user's store costs nor how it scales. BENCH_INCOGNITO=1 measures the incognito case.
  const incognito = process.env.BENCH_INCOGNITO === '1';
  const profile = incognito ? undefined : mkdtempSync(join(tmpdir(), 'browserving-bench-'));
  // Pages that need a context of their own (a fresh Service Worker, a page free of earlier scenarios) open in `browser`.
  const browser = await chromium.launch(launch);
  const context = incognito ? await browser.newContext() : await chromium.launchPersistentContext(profile, launch);
  try {
    const page = await context.newPage();
    page.on('pageerror', (e) => console.error('[page]', e.message));
    if (process.env.BENCH_CONSOLE) page.on('console', (m) => console.error('[console]', m.text()));
    await page.goto(`${server.url}/bench/`);
    await page.waitForFunction(() => window.benchReady === true);
    const runtime = await page.evaluate(() => window.bench.runtime());
    // Every system gets browserving's default thread count (ORT's own default); BENCH_THREADS overrides.
    const numThreads = Number(process.env.BENCH_THREADS ?? Math.max(1, Math.min(4, Math.ceil(runtime.hardwareConcurrency / 2))));
    const environment = { browser: `Chromium ${browser.version()}`, profile: incognito ? 'incognito' : 'on disk', ...runtime, wasmThreads: numThreads, date: new Date().toISOString(), quick };
    say(`benchmarking in ${environment.browser}, ${runtime.hardwareConcurrency} cores, crossOriginIsolated=${runtime.crossOriginIsolated}, ${numThreads} WASM threads`);

    const { scenarios, startup, download } = await import('./scenarios.mjs');
    const { memory, swap, newRunner } = await import('./lifecycle.mjs');
    const { restHop, offlineStart } = await import('./http.mjs');
    const { pipeline } = await import('./pipeline.mjs');
    const results = { environment, scenarios: {} };
    const options = { quick, numThreads, url: server.url, browser };
    for (const scenario of scenarios(options)) {
      if (only && !only.includes(scenario.name)) continue;
      say(`scenario ${scenario.name}`);
      results.scenarios[scenario.name] = await runScenario(page, scenario);
    }
    const measurements = [
      ['startup', 'startup', 'start-up: cold, warm, ORT create-from-buffer', startup],
      ['download', 'download', 'download into the store vs raw fetch (64 MiB)', download],
      ['memory', 'memory', 'memory before, with and after a 64 MiB version vs a raw ORT worker holding it', memory],
      ['swap', 'swap', 'Silero p99 steady vs while a second model loads and swaps versions', swap],
      ['new-runner', 'newRunner', 'time to AVAILABLE in a new runner from a warm store vs ORT from a buffer', newRunner],
      ['rest-hop', 'restHop', 'REST :predict through the Service Worker vs serving.handle() on the page vs serving.predict()', restHop],
      ['offline-start', 'offlineStart', 'navigation to first prediction: offline from the Service Worker\'s caches vs online', offlineStart],
      ['pipeline', 'pipeline', 'a 3-step pipeline predict vs the same three calls chained from the page', pipeline],
    ];
    for (const [name, key, what, measure] of measurements) {
      const skipped = only && !only.includes(name);
      if (!skipped) say(what);
      results[key] = skipped ? {} : await measure(page, options);
    }
    results.targets = targetsOf(results);
    if (only) {
      console.log(JSON.stringify(results, null, 2));
      return;
    }

    mkdirSync(RESULTS, { recursive: true });
    writeFileSync(join(RESULTS, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
    const { renderChart } = await import('./chart.mjs');
    writeFileSync(join(RESULTS, 'latest.svg'), renderChart(results));
    updateReadme(join(root, 'README.md'), results);
    for (const t of results.targets) say(`${t.met ? 'met   ' : 'MISSED'} ${t.name}: ${t.value.toFixed(2)} (target ${t.target})`);
    say('wrote bench/results/latest.json, bench/results/latest.svg and the README table');
  } finally {
    await context.close();
    await browser.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await server.close();
  }
});

/** Writes the MLP repository `dir` (versions 1…`spec.versions`, the same weights) unless it already matches `spec`. */
async function ensureMlpRepository(dir, spec, writeManifest) {
  const stamp = join(dir, '.generated');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === JSON.stringify(spec)) return;
  say(`generating a benchmark MLP, ${spec.inputSize} → ${spec.hidden} → ${spec.outputSize} (${dir})`);
  const { mlpModel, writeModel } = await import('../scripts/onnx-models.mjs');
  const bytes = mlpModel(spec);
  for (let version = 1; version <= spec.versions; version++) await writeModel(join(dir, String(version), 'model.onnx'), bytes);
  writeManifest(dir);
  writeFileSync(stamp, JSON.stringify(spec));
}

/** Sets every system up, warms it, then runs `rounds` rounds, rotating the order each round. */
async function runScenario(page, { systems, models, inputs, callers, perCaller, rounds, warmup }) {
  for (const s of systems) await page.evaluate(([key, kind, opts]) => window.bench.setup(key, kind, opts), [s.key, s.kind, s.options]);
  const collected = Object.fromEntries(systems.map((s) => [s.key, { latencies: [], seconds: 0, requests: 0 }]));
  try {
    for (const s of systems) await page.evaluate(([key, o]) => window.bench.run(key, o), [s.key, { models, inputs, callers, perCaller: warmup }]);
    const before = {};
    for (const s of systems) before[s.key] = await page.evaluate((key) => window.bench.metrics(key), s.key);
    for (let round = 0; round < rounds; round++) {
      const order = systems.map((_, i) => systems[(i + round) % systems.length]);
      for (const s of order) {
        const r = await page.evaluate(([key, o]) => window.bench.run(key, o), [s.key, { models, inputs, callers, perCaller }]);
        const c = collected[s.key];
        c.latencies.push(...r.latencies);
        c.seconds += r.seconds;
        c.requests += r.requests;
      }
    }
    const summary = {};
    for (const s of systems) {
      const c = collected[s.key];
      const sorted = c.latencies.sort((x, y) => x - y);
      const after = await page.evaluate((key) => window.bench.metrics(key), s.key);
      const runs = (metrics) => models.reduce((sum, name) => sum + (metrics?.models?.[name]?.runs ?? NaN), 0);
      const sessionRuns = runs(after) - runs(before[s.key]);
      summary[s.key] = {
        label: s.label,
        requests: c.requests,
        p50Ms: round3(sorted[Math.floor(0.5 * sorted.length)]),
        p99Ms: round3(sorted[Math.min(sorted.length - 1, Math.floor(0.99 * sorted.length))]),
        meanMs: round3(sorted.reduce((x, y) => x + y, 0) / sorted.length),
        throughputPerS: round3(c.requests / c.seconds),
        ...(Number.isFinite(sessionRuns) ? { sessionRuns } : {}),
      };
    }
    return { models, callers, perCaller, rounds, systems: summary };
  } finally {
    for (const s of systems) await page.evaluate((key) => window.bench.teardown(key), s.key);
  }
}

function round3(x) {
  return Math.round(x * 1000) / 1000;
}
