/**
 * Playwright drives real headless Chromium (resolved by scripts/browser.mjs) against pages served
 * by scripts/serve.mjs with COOP/COEP. Two projects:
 * - `wasm`: the default flags; Chromium has no WebGPU adapter here, so this is also the fallback path;
 * - `webgpu`: adds SwiftShader's WebGPU adapter and runs the WebGPU specs (`*.webgpu.spec.ts`).
 * Two workers (`BROWSERVING_E2E_WORKERS` to change): each serves the pages from a server of its
 * own (a worker fixture in e2e/fixtures.ts), so one test's faults and request log never reach
 * another's; every test starts its own runtime in a fresh context, so tests of one file spread over
 * the workers too. Most of a test's time is waiting (workers starting, polls, swaps), so two share
 * the 2 cores well.
 */
import { defineConfig } from '@playwright/test';
import { CHROMIUM_ARGS, WEBGPU_ARGS, findChromium } from './scripts/browser.mjs';

const executablePath = findChromium();

export default defineConfig({
  testDir: 'e2e',
  timeout: 90_000,
  expect: { timeout: 30_000 },
  workers: Number(process.env.BROWSERVING_E2E_WORKERS || 2),
  fullyParallel: true,
  forbidOnly: !!process.env.CI,
  retries: 0,
  reporter: [['list'], ['json']],
  // Parallel runs in one clone (BROWSERVING_TEST_OUTPUT=<name>) keep their artifacts apart.
  outputDir: process.env.BROWSERVING_TEST_OUTPUT ? `test-results-${process.env.BROWSERVING_TEST_OUTPUT}` : 'test-results',
  use: {
    trace: 'retain-on-failure',
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
