/**
 * npm's `prepare`: builds dist/ when the package is installed from git (npm installs the dev
 * dependencies first, then runs this) and after `npm ci` / `npm install` in a clone. A tarball
 * from `npm pack` already contains dist/ and never runs it. Skipped when the build tools are
 * absent (an install with --omit=dev).
 */
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
if (!existsSync(`${root}/node_modules/vite`)) {
  console.log('[browserving] prepare: no build tools installed, dist/ not built');
  process.exit(0);
}
const result = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
process.exit(result.status ?? 1);
