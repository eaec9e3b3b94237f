/**
 * The one place that decides which Chromium the tests and benchmarks drive:
 * 1. `BROWSERVING_CHROMIUM` (a path to a Chromium/Chrome executable);
 * 2. Playwright's own Chromium, when `npx playwright install chromium` has put one in its cache;
 * 3. Debian's `/usr/bin/chromium`;
 * otherwise, `ensureChromium()` installs Debian's package when it may (root with apt-get),
 * and fails with the exact command to run when it may not.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { SetupError, say } from './ensure.mjs';

const SYSTEM_CHROMIUM = '/usr/bin/chromium';

/** Flags that work in containers and keep the browser off the network. */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--enable-blink-features=ForceEagerMeasureMemory'];
/** Adds a WebGPU adapter backed by SwiftShader (software, slow, but real) on machines without a GPU. */
export const WEBGPU_ARGS = ['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader'];

function playwrightChromium() {
  try {
    const { chromium } = createRequire(import.meta.url)('playwright-core');
    const path = chromium.executablePath();
    return path && existsSync(path) ? path : undefined;
  } catch {
    return undefined;
  }
}

/** The executable to launch, or undefined when none is installed. */
export function findChromium() {
  const fromEnv = process.env.BROWSERVING_CHROMIUM;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new SetupError(`BROWSERVING_CHROMIUM=${fromEnv} does not exist`);
    return fromEnv;
  }
  return playwrightChromium() ?? (existsSync(SYSTEM_CHROMIUM) ? SYSTEM_CHROMIUM : undefined);
}

/** Like findChromium, but installs Debian's chromium when possible; throws how to install one otherwise. */
export function ensureChromium() {
  const found = findChromium();
  if (found) return found;
  const howTo = 'apt-get install -y chromium (as root), or set BROWSERVING_CHROMIUM=/path/to/chrome';
  const isRoot = process.getuid?.() === 0;
  const hasApt = spawnSync('sh', ['-c', 'command -v apt-get'], { encoding: 'utf8' }).status === 0;
  if (!isRoot || !hasApt) throw new SetupError(`no Chromium found. Install one: ${howTo}`);
  say('no Chromium found: running `apt-get install -y chromium`');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let result = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], { stdio: 'inherit', env });
  if (result.status !== 0) {
    spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
    result = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], { stdio: 'inherit', env });
  }
  if (result.status !== 0 || !existsSync(SYSTEM_CHROMIUM)) throw new SetupError(`installing chromium failed. Run: ${howTo}`);
  return SYSTEM_CHROMIUM;
}
