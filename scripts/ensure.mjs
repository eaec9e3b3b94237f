/**
 * Set-up that `npm start`, `npm test` and `npm run bench` share, so that each works as the first
 * command typed on a fresh clone. Node built-ins only: this runs before `node_modules` exists.
 * Every step says what it did; a step that cannot be done fails with the exact command to run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('..', import.meta.url));

export function say(message) {
  console.log(`[browserving] ${message}`);
}

export class SetupError extends Error {}

/** Runs a command in the repository, inheriting stdio; throws naming the command when it fails. */
export function run(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', ...options });
  if (result.status !== 0) {
    throw new SetupError(`\`${[command, ...args].join(' ')}\` failed (exit ${result.status ?? result.signal})`);
  }
}

/** Installs npm dependencies when node_modules is missing or older than package-lock.json. */
export function ensureDependencies() {
  const marker = `${root}/node_modules/.package-lock.json`;
  const lock = `${root}/package-lock.json`;
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs) return;
  say(existsSync(marker) ? 'package-lock.json changed: running `npm ci`' : 'node_modules missing: running `npm ci`');
  try {
    run('npm', ['ci', '--no-audit', '--no-fund']);
  } catch (error) {
    throw new SetupError(`${error.message}. Run \`npm ci\` in ${root} and try again.`);
  }
}

/**
 * Builds dist/repository.js — the repository format the CLI (bin/) reads — when it is missing or
 * src/ changed since. `npm run build` builds it too; this is the quick path for what runs the CLI
 * before (or without) a full build: the model repository's manifests, the CLI's tests.
 */
export function ensureRepositoryBuild() {
  const built = `${root}/${process.env.BROWSERVING_DIST || 'dist'}/repository.js`;
  if (existsSync(built) && !newerThan(built, ['src', 'vite.config.ts', 'package-lock.json'])) return;
  say('building the repository format for the CLI into dist/repository.js (`npm run build:repository`)');
  run('npx', ['vite', 'build', '--mode', 'repository', '--logLevel', 'warn']);
}

/** Builds dist/ (worker, library, types, the CLI's repository format) when any source is newer than the last build. */
export function ensureLibraryBuild({ force = false } = {}) {
  const built = `${root}/${process.env.BROWSERVING_DIST ?? 'dist'}/index.js`;
  if (!force && existsSync(built) && !newerThan(built, ['src', 'workers', 'vite.config.ts', 'package-lock.json'])) return;
  say('building the library into dist/ (`npm run build`)');
  run('npm', ['run', '--silent', 'build']);
}

function newerThan(file, paths) {
  const since = statSync(file).mtimeMs;
  const result = spawnSync('find', [...paths, '-newermt', `@${Math.floor(since / 1000)}`, '-type', 'f', '-print', '-quit'], { cwd: root, encoding: 'utf8' });
  return result.stdout.trim() !== '';
}

/** Runs `main`, turning SetupError into one readable line and exit code 1. */
export async function main(body) {
  try {
    await body();
  } catch (error) {
    if (error instanceof SetupError) {
      console.error(`[browserving] ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
}
