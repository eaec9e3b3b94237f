/**
 * Shared e2e helpers: a scratch model repository per test (served under /repos/ by
 * scripts/serve.mjs, so tests can publish and remove versions while the page polls), the
 * harness page that imports dist/ as a plain static server would serve it, and helpers that
 * bring a ServingError back from the page with its fields intact.
 */
import { test as base, expect, type Page } from '@playwright/test';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MODELS_DIR, VOCABULARY, sileroWarmup, writeManifest } from '../scripts/models.mjs';
import { startServer } from '../scripts/serve.mjs';
import type { Serving, CreateServingOptions } from '../src/index.js';
import type * as Browserving from '../src/index.js';

const REPOS = fileURLToPath(new URL('./.repos/', import.meta.url));

declare global {
  interface Window {
    browserving: typeof Browserving;
    serving: Serving;
    harnessReady: boolean;
  }
}

/** A model repository on disk that the test server serves at `url`. */
export class Repo {
  constructor(readonly dir: string, readonly url: string) {}

  /** Copies version `from` of a prepared model (public/models/<model>) into this repo as `version`. */
  addVersion(model: string, version: number, from: { model: string; version: number }): void {
    const target = join(this.dir, model, String(version));
    mkdirSync(target, { recursive: true });
    cpSync(join(MODELS_DIR, from.model, String(from.version)), target, { recursive: true });
  }

  writeFile(model: string, version: number, file: string, bytes: Uint8Array | string): void {
    const target = join(this.dir, model, String(version));
    mkdirSync(target, { recursive: true });
    writeFileSync(join(target, file), bytes);
  }

  /** Replaces a file and updates its size and SHA-256 in the manifest: valid bytes as far as the manifest knows. */
  forgeFile(model: string, version: number, file: string, bytes: Uint8Array): void {
    this.writeFile(model, version, file, bytes);
    const manifestPath = join(this.dir, model, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    const entry = manifest.versions.find((v: { version: number }) => v.version === version).files.find((f: { path: string }) => f.path === file);
    entry.size = bytes.byteLength;
    entry.sha256 = createHash('sha256').update(bytes).digest('hex');
    writeFileSync(manifestPath, JSON.stringify(manifest));
  }

  removeFile(model: string, version: number, file: string): void {
    rmSync(join(this.dir, model, String(version), file), { force: true });
  }

  removeVersion(model: string, version: number): void {
    rmSync(join(this.dir, model, String(version)), { recursive: true, force: true });
  }

  /**
   * (Re)writes `<model>/manifest.json` with the package CLI. `platform` names the platform of the
   * version folders that hold neither a `model.onnx` nor a table file (the CLI's `--platform`):
   * versions of a platform the test registers. `shards` writes every table version as that many
   * shards (the CLI's `--shards`).
   */
  publish(model: string, labels: Record<string, number> = {}, options: { platform?: string; shards?: number } = {}): void {
    writeManifest(join(this.dir, model), labels, options);
  }

  basePath(model: string): string {
    return `${this.url}${model}`;
  }
}

export interface PageError {
  readonly name: string;
  readonly code?: string;
  readonly message: string;
  readonly model?: string;
  readonly version?: number;
  readonly label?: string;
  readonly input?: string;
  readonly output?: string;
}

/** The Silero VAD inputs for one 512-sample frame (a 440 Hz tone when `tone`, else silence), built in the page. */
export const SILERO_FRAME = `(tone) => ({
  input: { type: 'float32', dims: [1, 512], data: Float32Array.from({ length: 512 }, (_, i) => tone ? 0.5 * Math.sin(2 * Math.PI * 440 * i / 16000) : 0) },
  state: { type: 'float32', dims: [2, 1, 128], data: new Float32Array(256) },
  sr: { type: 'int64', dims: [], data: BigInt64Array.from([16000n]) },
})`;

/**
 * Each Playwright worker serves the pages from a server of its own (scripts/serve.mjs, in the
 * worker's process, on a free port): its fault injection, request log and resets are that
 * worker's alone, so workers run side by side without seeing each other's faults.
 */
export const test = base.extend<{ repo: Repo; harness: Page }, { server: { url: string } }>({
  server: [
    async ({}, use) => {
      const server = await startServer({ port: 0 });
      await use(server);
      await server.close();
    },
    { scope: 'worker' },
  ],
  baseURL: async ({ server }, use) => use(server.url.replace(/\/$/, '')),
  repo: async ({}, use, testInfo) => {
    const name = `${testInfo.project.name}-${testInfo.titlePath.slice(1).join('-')}`.replace(/[^a-z0-9-]+/gi, '_').slice(0, 120);
    const dir = join(REPOS, name);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    await use(new Repo(dir, `/repos/${name}/`));
    rmSync(dir, { recursive: true, force: true });
  },
  harness: async ({ page, request }, use) => {
    await request.post('/__control/reset');
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto('/e2e/');
    await page.waitForFunction(() => window.harnessReady === true);
    await use(page);
    await page.evaluate(() => window.serving?.close()).catch(() => undefined);
    expect(errors, 'uncaught errors in the page').toEqual([]);
  },
});

export { expect };

/** Starts `window.serving` in the page; rejects with the page's error when it cannot start. */
export async function startServing(page: Page, options: CreateServingOptions): Promise<void> {
  await page.evaluate(async (o) => {
    window.serving = await window.browserving.createServing(o);
  }, options as never);
}

/** Runs `body` in the page; resolves with the ServingError it rejected with (fields intact), or fails if it did not reject. */
export async function pageError(page: Page, body: string, arg?: unknown): Promise<PageError> {
  const result = await page.evaluate(
    async ({ body, arg }) => {
      try {
        // eslint-disable-next-line no-new-func
        await (0, eval)(body)(arg);
        return { resolved: true as const };
      } catch (e) {
        const error = e as Record<string, unknown>;
        return {
          resolved: false as const,
          isServingError: e instanceof window.browserving.ServingError,
          error: Object.fromEntries(['name', 'code', 'message', 'model', 'version', 'label', 'input', 'output'].map((k) => [k, error[k]]).filter(([, v]) => v !== undefined)),
        };
      }
    },
    { body, arg },
  );
  expect(result.resolved, `expected ${body.slice(0, 80)}… to reject`).toBe(false);
  if (result.resolved) throw new Error('unreachable');
  expect(result.isServingError, `rejected with a ServingError: ${JSON.stringify(result.error)}`).toBe(true);
  return result.error as unknown as PageError;
}

export { VOCABULARY, sileroWarmup };
