/**
 * `npm start`: installs what is missing, builds the library and the demo (a consumer-style Vite
 * build of demo/ against dist/), and serves it with cross-origin isolation on PORT (default 5173).
 */
import { SetupError, ensureDependencies, ensureLibraryBuild, main, run, say } from './ensure.mjs';

await main(async () => {
  ensureDependencies();
  const { ensureModels } = await import('./models.mjs');
  await ensureModels();
  ensureLibraryBuild();
  say('building the demo into dist-demo/');
  run('npx', ['vite', 'build', '--mode', 'demo', '--logLevel', 'warn']);
  const { startServer, defaultMounts } = await import('./serve.mjs');
  const port = Number(process.env.PORT ?? 5173);
  const host = process.env.HOST ?? '127.0.0.1';
  const { url } = await startServer({ port, host, mounts: defaultMounts() }).catch((error) => {
    if (error.code === 'EADDRINUSE') throw new SetupError(`port ${port} on ${host} is already in use (another \`npm start\`?): stop it, or pick another port: PORT=${port + 1} npm start`);
    throw error;
  });
  say(`demo: ${url}/  (Ctrl-C stops it)`);
});
