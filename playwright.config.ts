/**
 * Playwright drives real headless Chromium (resolved by scripts/browser.mjs) against pages served
 * by scripts/serve.mjs with COOP/COEP. Two projects:
 * - `wasm`: the default flags; Chromium has no WebGPU adapter here, so this is also the fallback path;
 * - `webgpu`: adds SwiftShader's WebGPU adapter and runs the WebGPU specs (`*.webgpu.spec.ts`).
 * One worker: the tests share one server whose fault injection is global, and ORT's threaded
 * WASM already uses every core.
 */
import { defineConfig } from '@playwright/test';
import { CHROMIUM_ARGS, WEBGPU_ARGS, findChromium } from './scripts/browser.mjs';

const PORT = Number(process.env.BROWSERVING_TEST_PORT || 4174);
const executablePath = findChromium();

export default defineConfig({
  testDir: 'e2e',
  timeout: 90_000,
  expect: { timeout: 30_000 },
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  reporter: [['list'], ['json']],
  // Parallel runs on other ports (BROWSERVING_TEST_PORT) keep their artifacts apart.
  outputDir: process.env.BROWSERVING_TEST_PORT ? `test-results-${PORT}` : 'test-results',
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    trace: 'retain-on-failure',
  },
  webServer: {
    command: `node scripts/serve.mjs --port ${PORT}`,
    url: `http://127.0.0.1:${PORT}/__control/log`,
    reuseExistingServer: !process.env.CI,
    stdout: 'ignore',
  },
  projects: [
    {
      name: 'wasm',
      testIgnore: /\.webgpu\.spec\.ts$/,
      use: { launchOptions: { executablePath, args: CHROMIUM_ARGS } },
    },
    {
      name: 'webgpu',
      testMatch: /\.webgpu\.spec\.ts$/,
      use: { launchOptions: { executablePath, args: [...CHROMIUM_ARGS, ...WEBGPU_ARGS] } },
    },
  ],
});
