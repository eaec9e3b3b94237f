/**
 * browserving as a consumer gets it: `npm pack` (and a git install), installed into a fresh Vite
 * app, built with zero warnings, run in Chromium — ORT's pthread workers included (the page is
 * cross-origin isolated, so ORT uses threads). And what a consumer does most often by mistake:
 * bundling the workers as iife, Vite's default worker format.
 */
import { test, expect, type Page } from '@playwright/test';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MODELS_DIR } from '../scripts/models.mjs';
import { startServer } from '../scripts/serve.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const VITE_VERSION = JSON.parse(readFileSync(join(ROOT, 'node_modules/vite/package.json'), 'utf8')).version as string;

test.describe.configure({ timeout: 240_000 });

function sh(command: string, args: string[], cwd: string): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' } });
  const output = `${result.stdout}\n${result.stderr}`;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status}):\n${output}`);
  return output;
}

/** A fresh Vite app depending on browserving as `spec` (a tarball or git URL), built; returns its dist dir and the build's output. */
function consumerApp(spec: string, workerFormat: 'es' | 'iife'): { dist: string; buildOutput: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'browserving-consumer-'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies: { browserving: spec }, devDependencies: { vite: VITE_VERSION } }));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><html><head><meta charset="utf-8"><title>consumer</title></head><body><script type="module" src="/main.js"></script></body></html>');
  writeFileSync(join(dir, 'main.js'), `import { createServing, isServingError } from 'browserving';
window.run = async (basePath) => {
  try {
    // Two threads: ORT's pthread workers must start from the bundled runner.
    const serving = await createServing({ models: [{ name: 'vad', basePath }], executionProviders: ['wasm'], pollIntervalMs: 0, startupTimeoutMs: 20000, wasm: { numThreads: 2 } });
    const r = await serving.predict({ model: 'vad', inputs: {
      input: { type: 'float32', dims: [1, 512], data: new Float32Array(512) },
      state: { type: 'float32', dims: [2, 1, 128], data: new Float32Array(256) },
      sr: { type: 'int64', dims: [], data: BigInt64Array.from([16000n]) },
    } });
    const threads = serving.runtime.wasmThreads;
    await serving.close();
    return { version: r.version, dims: r.outputs.output.dims, threads };
  } catch (e) {
    return { error: isServingError(e) ? e.code + ': ' + e.message : String(e) };
  }
};
window.ready = true;
`);
  writeFileSync(join(dir, 'vite.config.js'), `import { defineConfig } from 'vite';\nexport default defineConfig({ worker: { format: '${workerFormat}' } });\n`);
  sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], dir);
  // Vite itself, not through npx: npm's own notices are not the build's warnings.
  const buildOutput = sh(process.execPath, [join(dir, 'node_modules/vite/bin/vite.js'), 'build'], dir);
  return { dist: join(dir, 'dist'), buildOutput, dir };
}

/** Serves the app with COOP/COEP beside the model repository and runs predict in it. */
interface RunResult {
  readonly version?: number;
  readonly dims?: number[];
  readonly threads?: number;
  readonly error?: string;
}

async function runIn(page: Page, dist: string): Promise<RunResult & { ms: number; isolated: boolean }> {
  const server = await startServer({ port: 0, mounts: { '/models/': MODELS_DIR, '/': dist } });
  try {
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
    const started = Date.now();
    const result = await page.evaluate(() => (window as unknown as { run: (p: string) => Promise<RunResult> }).run('/models/silero'));
    return { ...result, ms: Date.now() - started, isolated: await page.evaluate(() => crossOriginIsolated) };
  } finally {
    await server.close();
  }
}

function warningsIn(output: string): string[] {
  return output.split('\n').filter((line) => /warn|\(!\)|doesn't exist at build time/i.test(line) && !/Unknown user config/.test(line));
}

let tarball: string;
const scratch = mkdtempSync(join(tmpdir(), 'browserving-pack-'));

test.beforeAll(() => {
  // dist/ is built by the test command; pack it as it is.
  sh('npm', ['pack', '--ignore-scripts', '--pack-destination', scratch, '--silent'], ROOT);
  tarball = join(scratch, readdirSync(scratch).find((f) => f.endsWith('.tgz'))!);
});

test.afterAll(() => rmSync(scratch, { recursive: true, force: true }));

test('npm pack → a fresh Vite app: installs no runtime dependency, builds with zero warnings, predicts with ORT threads', async ({ page }) => {
  const app = consumerApp(`file:${tarball}`, 'es');
  try {
    expect(warningsIn(app.buildOutput)).toEqual([]);
    // Nothing but browserving itself (and the app's own vite) was installed for it.
    const lock = JSON.parse(readFileSync(join(app.dir, 'package-lock.json'), 'utf8'));
    const installed = Object.keys(lock.packages).filter((p) => p.startsWith('node_modules/') && !lock.packages[p].dev);
    expect(installed).toEqual(['node_modules/browserving']);
    const r = await runIn(page, app.dist);
    expect(r).toMatchObject({ version: 2, dims: [1, 1], isolated: true });
    expect(r.threads).toBeGreaterThanOrEqual(2);
  } finally {
    rmSync(app.dir, { recursive: true, force: true });
  }
});

test('a git install builds dist/ itself (prepare) and works the same', async ({ page }) => {
  // The committed tree, as `npm install git+file://…` (or github:…) clones it.
  const app = consumerApp(`git+file://${ROOT}`, 'es');
  try {
    expect(warningsIn(app.buildOutput)).toEqual([]);
    expect(await runIn(page, app.dist)).toMatchObject({ version: 2, dims: [1, 1] });
  } finally {
    rmSync(app.dir, { recursive: true, force: true });
  }
});

test("workers bundled as iife (Vite's default worker format) serve too, ORT's threads included: no hang", async ({ page }) => {
  // Before runner workers, ORT's pthread workers booted the whole serving worker from an iife
  // bundle and the page hung 120 s; a runner now stays out of a pthread worker's way.
  const app = consumerApp(`file:${tarball}`, 'iife');
  try {
    const r = await runIn(page, app.dist);
    expect(r).toMatchObject({ version: 2, threads: 2, isolated: true });
    expect(r.ms).toBeLessThan(20_000);
  } finally {
    rmSync(app.dir, { recursive: true, force: true });
  }
});

mkdirSync(scratch, { recursive: true });
