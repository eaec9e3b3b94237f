/**
 * The `npm start` dashboard: imports browserving as a consumer app would (Vite resolves
 * `browserving` to dist/), serves the models in public/models, and shows what the runtime does
 * from its first event: versions and their states, downloads, latency, storage, runtime, VAD on
 * real speech, and the event log.
 *
 * Start-up: the panels exist before `createServing` is called, and `onEvent` feeds them from the
 * first event (`waitForModels: false`, so the page does not wait for the downloads it shows).
 * Then `status()` on every state or repository event (and every 2 s), `metrics()` every second,
 * storage every 5 s and after each finished download.
 */
import { createServing, isServingError, type Serving, type ServingEvent } from 'browserving';
import { readDashboardConfig, servingOptions } from './dashboard-config.js';
import { byId } from './dom.js';
import { EventLog } from './event-log.js';
import { LookupPanel } from './lookup-panel.js';
import { MetricsPanel } from './metrics-panel.js';
import { ModelsPanel } from './models-panel.js';
import { RuntimePanel } from './runtime-panel.js';
import { ServableHistory } from './servable-history.js';
import { StoragePanel } from './storage-panel.js';
import { Traffic } from './traffic.js';
import { VadPanel, type VadRun } from './vad-panel.js';

/** What the page exposes on `window` for the console and the e2e tests. */
export interface DashboardHandle {
  readonly serving: Serving;
  lastVadRun(): VadRun | undefined;
  runSample(): Promise<VadRun>;
}

const since = Math.round(performance.timeOrigin);
const config = readDashboardConfig(location.search);
const modelNames = config.models.map((m) => m.name);
const history = new ServableHistory();
const log = new EventLog(since);
const modelsPanel = new ModelsPanel(byId('models'), config.models, history, since);
byId('vad-panel').hidden = !modelNames.includes('silero');
byId('lookup-panel').hidden = !modelNames.includes('vocab');

/** Runs `work` at most once per `ms`, however often it is asked for. */
function coalesce(ms: number, work: () => void): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return () => {
    timer ??= setTimeout(() => {
      timer = undefined;
      work();
    }, ms);
  };
}

const renderModels = coalesce(50, () => {
  modelsPanel.render();
  renderOverall();
});
let refreshStatus: () => void = () => undefined;
let refreshStorage: () => void = () => undefined;

function onEvent(event: ServingEvent): void {
  log.add(event);
  if (history.apply(event)) renderModels();
  if (event.type === 'servable-state' || event.type === 'repository' || event.type === 'runner') refreshStatus();
  if (event.type === 'download' && !event.progress.file && (event.progress.state === 'cached' || event.progress.state === 'failed')) refreshStorage();
}

function renderOverall(): void {
  const versions = modelNames.flatMap((m) => history.versions(m));
  const count = (state: string) => versions.filter((v) => v.transitions.at(-1)?.state === state).length;
  const failed = versions.filter((v) => v.transitions.at(-1)?.error).length;
  const loading = count('START') + count('LOADING');
  const overall = byId('overall');
  overall.dataset.state = failed ? 'failed' : loading ? 'loading' : versions.length ? 'serving' : 'starting';
  overall.textContent = versions.length === 0 ? 'starting…'
    : `${count('AVAILABLE')} version${count('AVAILABLE') === 1 ? '' : 's'} serving${loading ? ` · ${loading} loading` : ''}${failed ? ` · ${failed} failed` : ''}`;
}

function describe(error: unknown): string {
  return isServingError(error) ? `${error.code}: ${error.message}` : String((error as Error)?.message ?? error);
}

async function main(): Promise<void> {
  const reportError = (message: string) => log.note(message, 'error');
  log.note(`createServing(): ${modelNames.join(', ')} from ${config.models[0]?.basePath?.replace(/[^/]+$/, '') ?? '—'}, polled every ${config.pollIntervalMs / 1000} s`);
  const serving = await createServing(servingOptions(config, onEvent));
  log.note('the control worker is up; models load in the background');
  document.body.dataset.started = 'true';

  const vad = new VadPanel(serving, config.samplePath, reportError);
  const lookup = new LookupPanel(serving, reportError);
  const storage = new StoragePanel(serving, reportError);
  const runtime = new RuntimePanel(serving, config.models, history, reportError);
  const metrics = new MetricsPanel(modelNames, since);
  const traffic = new Traffic(serving, modelNames);
  const dashboard: DashboardHandle = { serving, lastVadRun: () => vad.lastRun, runSample: () => vad.runSample() };
  Object.assign(window, { serving, dashboard });

  byId<HTMLInputElement>('traffic').addEventListener('change', (e) => ((e.target as HTMLInputElement).checked ? traffic.start() : traffic.stop()));
  byId('bad-request').addEventListener('click', () => void traffic.fail().then((code) => log.note(`a failing request on purpose: ${code}`, 'warn')));

  let statusBusy = false;
  refreshStatus = coalesce(100, () => {
    if (statusBusy) return void setTimeout(refreshStatus, 100);
    statusBusy = true;
    Promise.all(modelNames.map((m) => serving.status(m)))
      .then((answers) => {
        for (const status of answers) {
          history.reconcile(status);
          if (status.model === 'silero') vad.target.update(status);
          if (status.model === 'vocab') lookup.target.update(status);
        }
        renderModels();
      })
      .catch((e) => reportError(`status(): ${describe(e)}`))
      .finally(() => (statusBusy = false));
  });
  refreshStorage = coalesce(200, () => void storage.refresh().catch((e) => reportError(`storage: ${describe(e)}`)));

  const everySecond = () => {
    serving.metrics().then((m) => {
      metrics.update(m);
      runtime.render(m.runtime);
    }, (e) => reportError(`metrics(): ${describe(e)}`));
    renderModels();
  };
  refreshStatus();
  refreshStorage();
  everySecond();
  setInterval(everySecond, 1000);
  setInterval(refreshStatus, 2000);
  setInterval(refreshStorage, 5000);

  await serving.waitForModels();
  log.note('every configured model has settled');
  if (config.autorun && modelNames.includes('silero')) {
    await vad.runSample().catch((e) => reportError(`speech sample: ${describe(e)}`));
  }
  document.body.dataset.ready = 'true';
}

main().catch((e) => {
  log.note(`failed to start: ${describe(e)}`, 'error');
  document.body.dataset.ready = 'error';
});
