/**
 * Four builds, one file:
 * - `vite build --mode worker`: the serving worker as an app build into dist/ — app mode emits
 *   ORT's `.wasm` as a file (lib mode would inline 28 MB of base64) and puts ORT in a chunk of
 *   its own, which its pthread workers load.
 * - `vite build` (lib): the main-thread library into dist/index.js, comlink bundled, with the
 *   worker spawned through the literal `new Worker(new URL('./serving.worker.js', import.meta.url))`
 *   so a consumer's bundler follows it into dist/.
 * - `vite build --mode repository`: the repository format (src/repository.ts) into
 *   dist/repository.js, for the CLI (bin/), which runs on Node and writes manifests with it.
 * - `vite build --mode demo`: the demo page, built like a consumer would, from dist/.
 */
import { defineConfig, type Plugin } from 'vite';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
/** Where the library is built; BROWSERVING_DIST lets parallel work build and test side by side. */
const dist = process.env.BROWSERVING_DIST ?? 'dist';

/** Placeholder call → the worker script it spawns (src/client/spawn-worker.ts). */
const SPAWN_PLACEHOLDERS: Record<string, string> = {
  __BROWSERVING_SPAWN_CONTROL_WORKER__: './serving.worker.js',
  __BROWSERVING_SPAWN_RUNNER_WORKER__: './runner.worker.js',
  __BROWSERVING_SPAWN_RUNNER_WASM_WORKER__: './runner-wasm.worker.js',
};

const SW_URL_PLACEHOLDER = '__BROWSERVING_SERVICE_WORKER_URL__()';
const SW_URL_LITERAL = "new URL('./browserving.sw.js', import.meta.url)";

/**
 * The Service Worker's precache list: every file of the worker build (and the library module,
 * built next), and a build id hashed from their contents, which names the runtime cache.
 */
function serviceWorkerPrecache(): Plugin {
  return {
    name: 'browserving:sw-precache',
    apply: 'build',
    generateBundle(_options, bundle) {
      const sw = Object.values(bundle).find((file) => file.type === 'chunk' && file.name === 'browserving.sw');
      if (!sw || sw.type !== 'chunk') return this.error('browserving.sw not found in the worker build');
      const others = Object.values(bundle).filter((file) => file !== sw && !file.fileName.endsWith('.map'));
      const files = [...others.map((file) => file.fileName), 'index.js'].sort();
      const hash = createHash('sha256');
      for (const file of others) hash.update(file.fileName).update(file.type === 'chunk' ? file.code : file.fileName);
      const precache = JSON.stringify({ build: hash.digest('hex').slice(0, 12), files });
      if (!sw.code.includes('__BROWSERVING_PRECACHE__')) return this.error('__BROWSERVING_PRECACHE__ not found in browserving.sw');
      sw.code = sw.code.split('__BROWSERVING_PRECACHE__').join(precache);
    },
  };
}

/** Swaps each placeholder call after minification (keeping its argument), so the literal survives exactly as written. */
function workerSpawnLiteral(): Plugin {
  return {
    name: 'browserving:worker-spawn-literal',
    apply: 'build',
    generateBundle(_options, bundle) {
      for (const [placeholder, script] of Object.entries(SPAWN_PLACEHOLDERS)) {
        const call = new RegExp(`${placeholder}\\(([A-Za-z_$][\\w$]*)\\)`, 'g');
        let hits = 0;
        for (const chunk of Object.values(bundle)) {
          if (chunk.type !== 'chunk') continue;
          chunk.code = chunk.code.replace(call, (_match, name: string) => {
            hits++;
            return `new Worker(new URL('${script}', import.meta.url), { type: 'module', name: ${name} })`;
          });
        }
        if (hits === 0) this.error(`${placeholder}(name) not found in the library output`);
      }
      // The Service Worker's URL, as a literal a consumer's bundler follows (it emits the file).
      for (const chunk of Object.values(bundle)) {
        if (chunk.type === 'chunk') chunk.code = chunk.code.split(SW_URL_PLACEHOLDER).join(SW_URL_LITERAL);
      }
    },
  };
}

/**
 * ORT's bundles refer to themselves as `new URL('ort.bundle.min.mjs', import.meta.url)` (used only
 * under file: URLs, to start their pthread workers). Built into a chunk with another name, the
 * chunk itself is that file: `new URL(import.meta.url)` says so, and consumers' bundlers stop
 * warning that 'ort.bundle.min.mjs' does not exist at build time.
 */
function ortSelfReference(): Plugin {
  const selfReference = /\(\s*([`'"])ort(?:\.wasm)?\.bundle\.min\.mjs\1\s*,\s*import\.meta\.url\s*\)/g;
  return {
    name: 'browserving:ort-self-reference',
    apply: 'build',
    renderChunk(code) {
      return selfReference.test(code) ? { code: code.replace(selfReference, '(import.meta.url)'), map: null } : null;
    },
  };
}

/** COOP/COEP so that `crossOriginIsolated` is true and ORT's threaded WASM works. */
const isolationHeaders = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

export default defineConfig(({ mode }) => {
  if (mode === 'worker') {
    return {
      base: './',
      publicDir: false,
      plugins: [ortSelfReference(), serviceWorkerPrecache()],
      build: {
        outDir: dist,
        emptyOutDir: true,
        target: 'es2022',
        sourcemap: true,
        // Workers have no document: Vite's preload helper would turn a missing ORT chunk into
        // "window is not defined" instead of the failed import's own error.
        modulePreload: false,
        rollupOptions: {
          input: {
            'serving.worker': here('./workers/serving.worker.ts'),
            'runner.worker': here('./workers/runner.worker.ts'),
            'runner-wasm.worker': here('./workers/runner-wasm.worker.ts'),
            'browserving.sw': here('./workers/serving.sw.ts'),
          },
          preserveEntrySignatures: false,
          output: {
            format: 'es',
            // ORT in a chunk of its own: its pthread workers load the script that contains ORT,
            // which must not be a worker entry. Imported statically, so no preload helper either.
            codeSplitting: {
              groups: [
                { name: 'ort-wasm', test: /onnxruntime-web[\\/]dist[\\/]ort\.wasm\./ },
                { name: 'ort', test: /onnxruntime-web/ },
              ],
            },
            entryFileNames: '[name].js',
            chunkFileNames: '[name]-[hash].js',
            assetFileNames: '[name]-[hash][extname]',
          },
        },
      },
    };
  }
  if (mode === 'repository') {
    return {
      publicDir: false,
      build: {
        outDir: dist,
        emptyOutDir: false,
        target: 'node20',
        // Read by people debugging the CLI, never shipped to a browser.
        minify: false,
        lib: { entry: here('./src/repository.ts'), formats: ['es'], fileName: () => 'repository.js' },
      },
    };
  }
  if (mode === 'demo') {
    return {
      root: here('./demo'),
      base: './',
      publicDir: here('./public'),
      resolve: { alias: { browserving: here(`./${dist}/index.js`) } },
      worker: { format: 'es' },
      build: { outDir: here('./dist-demo'), emptyOutDir: true, target: 'es2022' },
      server: { headers: isolationHeaders },
      preview: { headers: isolationHeaders },
    };
  }
  return {
    base: './',
    publicDir: false,
    plugins: [workerSpawnLiteral()],
    build: {
      outDir: dist,
      emptyOutDir: false,
      target: 'es2022',
      sourcemap: true,
      lib: { entry: here('./src/index.ts'), formats: ['es'], fileName: () => 'index.js' },
    },
  };
});
